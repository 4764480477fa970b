"""Countersign steps (会签 / 或签) in the engine: each mode, transfer and return of a part, candidates, lists."""

from __future__ import annotations

import pytest

from workflows.people import org
from workflows.processes import documents as docs
from workflows.reporting.queries import ticket_list
from workflows.storage.models import Signature, Ticket, TicketEvent, User
from workflows.tickets import engine, signing
from workflows.tickets.access import signs
from workflows.tickets.errors import Conflict, Forbidden, Invalid

AGREE = {"properties": {"verdict": {"const": "agree"}}, "required": ["verdict"]}
REJECT = {"properties": {"verdict": {"not": {"const": "agree"}}}, "required": ["verdict"]}


def sign_process(mode: str = "all", ratio: float | None = None, of: dict | None = None, code: str = "purchase",
                 allow_transfer: bool | str = True) -> dict:
    """A format 2 process whose second step is a countersign of ``of`` (finance and warehouse by default)."""
    sign = {"mode": mode, "of": of or {"type": "department", "value": ["finance", "warehouse"]},
            "decision": "verdict", "pass": "agree"}
    if ratio is not None:
        sign["ratio"] = ratio
    return {
        "format": 2, "code": code, "name": "采购审批", "number_prefix": "CG",
        "schema": {"type": "object", "properties": {
            "item": {"type": "string", "title": "物品"},
            "verdict": {"type": "string", "title": "意见",
                        "oneOf": [{"const": "agree", "title": "同意"}, {"const": "reject", "title": "不同意"},
                                  {"const": "abstain", "title": "弃权"}]},
            "remark": {"type": "string", "title": "说明"},
        }},
        "steps": [
            {"key": "apply", "name": "申请", "fields": {"item": "required"}, "assignee": {"type": "creator"},
             "transitions": [{"to": "review", "label": "提交会签"}]},
            {"key": "review", "name": "会签", "fields": {"item": "readonly", "verdict": "required",
                                                         "remark": "editable"},
             "sign": sign, "allow_return": True, "allow_transfer": allow_transfer,
             "transitions": [{"to": "$end", "label": "通过", "when": AGREE},
                             {"to": "apply", "label": "驳回", "when": REJECT}]},
        ],
    }


def publish(document: dict):
    _, version = docs.save_process(document, publish=True)
    return version


def start(world, document: dict | None = None, who: str = "agent") -> Ticket:
    publish(document or sign_process())
    code = (document or {}).get("code", "purchase")
    return engine.create(world[who], code, {"item": "服务器"}, transition="review")


def fresh(ticket: Ticket) -> Ticket:
    return engine.load(ticket.number)


def sign(world, who: str, ticket: Ticket, verdict: str = "agree", **kwargs) -> Ticket:
    data = {"verdict": verdict, **kwargs.pop("data", {})}
    return engine.act(world[who], ticket.number, "sign", version=fresh(ticket).version, data=data, **kwargs)


def parts(ticket: Ticket) -> dict[str, str]:
    rows = Signature.select().where(Signature.ticket == ticket.id).order_by(Signature.id)
    return {row.signer.username: row.state for row in rows}


def actions(ticket: Ticket) -> list[str]:
    return [e.action for e in TicketEvent.select().where(TicketEvent.ticket == ticket.id).order_by(TicketEvent.id)]


SIGNERS = ["wh1", "wh2", "wh_lead", "fin1", "fin2", "fin_lead"]  # by id: warehouse's people were created first


def test_entering_gives_every_candidate_of_the_listed_departments_a_part(world):
    ticket = start(world)
    assert ticket.assignee_id is None and ticket.step == "review"
    assert parts(ticket) == {name: "waiting" for name in SIGNERS}
    assert signing.tally(signing.moves.step_of(ticket.process_version, "review"),
                         list(signing.round_of(ticket)))["needed"] == 6


def test_all_passes_when_every_signer_agrees(world):
    ticket = start(world)
    for name in SIGNERS[:-1]:
        assert sign(world, name, ticket).status == "open"
    done = sign(world, SIGNERS[-1], ticket, data={"remark": "可以"}, comment="同意采购")
    assert done.status == "closed" and done.data["verdict"] == "agree"
    assert actions(done) == ["create"] + ["sign"] * 6 + ["close"]
    last = Signature.get(Signature.signer == world["fin_lead"].id)
    assert (last.data, last.comment, last.decision) == ({"verdict": "agree", "remark": "可以"}, "同意采购", "agree")
    assert "remark" not in done.data  # a signer's other values stay on their signature


def test_all_fails_at_the_first_other_choice_and_releases_the_rest(world):
    ticket = start(world)
    sign(world, "wh1", ticket)
    done = sign(world, "fin1", ticket, "reject", comment="预算不足")
    assert done.step == "apply" and done.assignee_id == world["agent"].id and done.data["verdict"] == "reject"
    assert parts(done) == {"wh1": "signed", "wh2": "released", "wh_lead": "released", "fin1": "signed",
                           "fin2": "released", "fin_lead": "released"}
    with pytest.raises(Conflict):  # released: the step was decided
        sign(world, "wh2", ticket)


def test_any_passes_at_the_first_pass(world):
    ticket = start(world, sign_process("any"))
    sign(world, "fin2", ticket, "reject")
    done = sign(world, "wh2", ticket)
    assert done.status == "closed" and done.data["verdict"] == "agree"
    assert sorted(state for state in parts(done).values()) == ["released"] * 4 + ["signed"] * 2


def test_any_fails_when_every_signer_chose_otherwise(world):
    ticket = start(world, sign_process("any", of={"type": "department", "value": "finance"}))
    sign(world, "fin1", ticket, "abstain")
    sign(world, "fin2", ticket, "reject")
    done = sign(world, "fin_lead", ticket, "reject")
    assert done.step == "apply" and done.data["verdict"] == "abstain"  # the first other choice


def test_ratio_passes_at_its_share(world):
    ticket = start(world, sign_process("ratio", 0.5))  # 3 of 6
    for name in ("wh1", "fin1"):
        assert sign(world, name, ticket).status == "open"
    sign(world, "fin2", ticket, "reject")
    done = sign(world, "fin_lead", ticket)
    assert done.status == "closed"


def test_ratio_fails_once_out_of_reach(world):
    ticket = start(world, sign_process("ratio", 0.6))  # 4 of 6: three rejections leave it out of reach
    sign(world, "wh1", ticket, "reject")
    assert sign(world, "wh2", ticket, "reject").step == "review"
    done = sign(world, "fin1", ticket, "reject")
    assert done.step == "apply" and done.data["verdict"] == "reject"


def test_advance_close_and_a_second_signature_are_refused(world):
    ticket = start(world)
    with pytest.raises(Conflict):
        engine.act(world["admin"], ticket.number, "advance", version=ticket.version, data={"verdict": "agree"})
    with pytest.raises(Conflict):
        engine.act(world["admin"], ticket.number, "close", version=ticket.version)
    sign(world, "wh1", ticket)
    with pytest.raises(Conflict):
        sign(world, "wh1", ticket)


def test_a_non_signer_is_refused(world):
    ticket = start(world)
    for name in ("agent2", "sup", "admin"):  # an admin reads it but signs for nobody
        with pytest.raises(Forbidden):
            sign(world, name, ticket)


def test_bad_data_names_the_field_and_saves_nothing(world):
    ticket = start(world)
    with pytest.raises(Invalid) as error:
        engine.act(world["wh1"], ticket.number, "sign", version=ticket.version, data={"verdict": "maybe"})
    assert "verdict" in error.value.fields
    with pytest.raises(Invalid) as error:
        engine.act(world["wh1"], ticket.number, "sign", version=ticket.version, data={})
    assert "verdict" in error.value.fields
    with pytest.raises(Invalid) as error:
        engine.act(world["wh1"], ticket.number, "sign", version=ticket.version,
                   data={"verdict": "agree", "item": "别的"})
    assert "item" in error.value.fields  # read-only at the step
    assert parts(ticket)["wh1"] == "waiting" and fresh(ticket).version == ticket.version


def test_a_stale_page_version_does_not_stop_a_signer(world):
    ticket = start(world)
    sign(world, "wh1", ticket)
    done = engine.act(world["wh2"], ticket.number, "sign", version=ticket.version, data={"verdict": "agree"})
    assert parts(done)["wh2"] == "signed"


def test_transfer_hands_over_one_part(world):
    ticket = start(world, sign_process(of={"type": "department", "value": ["finance"]}))
    sign(world, "fin1", ticket)
    with pytest.raises(Invalid):  # fin1 has a part already
        engine.act(world["fin2"], ticket.number, "transfer", version=ticket.version, assignee="fin1", comment="x")
    with pytest.raises(Invalid):  # not a candidate of sign.of
        engine.act(world["fin2"], ticket.number, "transfer", version=ticket.version, assignee="wh1", comment="x")
    with pytest.raises(Invalid):  # fin_lead has a part too
        engine.act(world["fin2"], ticket.number, "transfer", version=ticket.version, assignee="fin_lead",
                   comment="x")
    org.create_user("fin3", "password1", "handler", "finance")  # a candidate now, with no part in this round
    engine.act(world["fin2"], ticket.number, "transfer", version=ticket.version, assignee="fin3", comment="请代签")
    rows = [(r.signer.username, r.state) for r in Signature.select().where(Signature.ticket == ticket.id)
            .order_by(Signature.id)]
    assert rows == [("fin1", "signed"), ("fin2", "released"), ("fin_lead", "waiting"), ("fin3", "waiting")]
    sign(world | {"fin3": User.get(User.username == "fin3")}, "fin3", ticket)
    assert sign(world, "fin_lead", ticket).status == "closed"
    assert not signs(world["fin2"], fresh(ticket))


def test_transfer_to_anyone(world):
    document = sign_process(of={"type": "department", "value": "finance"}, allow_transfer="anyone")
    ticket = start(world, document)
    engine.act(world["fin2"], ticket.number, "transfer", version=ticket.version, assignee="wh1", comment="代签")
    sign(world, "wh1", ticket)
    assert parts(ticket)["wh1"] == "signed"


def test_return_sends_the_whole_ticket_back_and_a_new_round_starts_later(world):
    ticket = start(world)
    sign(world, "wh1", ticket)
    back = engine.act(world["fin1"], ticket.number, "return", version=fresh(ticket).version, comment="材料不全")
    assert back.step == "apply" and back.assignee_id == world["agent"].id
    assert set(parts(back).values()) == {"signed", "released"}
    again = engine.act(world["agent"], ticket.number, "advance", version=back.version, data={}, transition="review")
    waiting = signing.round_of(again).where(Signature.state == "waiting").count()
    assert waiting == 6  # everyone signs again, wh1 included


def test_no_candidate_fails_the_move_naming_the_step(world):
    publish(sign_process(of={"type": "role", "value": ["nobody_role"]}))
    with pytest.raises(Invalid) as error:
        engine.create(world["agent"], "purchase", {"item": "x"}, transition="review")
    assert "assignee" in error.value.fields
    assert Ticket.select().count() == 0


def test_several_roles_are_candidates_together(world):
    ticket = start(world, sign_process(of={"type": "role", "value": ["supervisor", "agent"]}))
    assert sorted(parts(ticket)) == sorted(["sup", "sup2", "agent", "agent2", "wh_lead", "fin_lead"])


def test_a_list_of_departments_for_an_ordinary_assignee_picks_over_the_union(world):
    document = sign_process()
    review = document["steps"][1]
    del review["sign"]
    review["assignee"] = {"type": "department", "value": ["finance", "warehouse"], "pick": "round_robin"}
    publish(document)
    picked = [engine.create(world["agent"], "purchase", {"item": str(i)}).assignee.username for i in range(7)]
    assert picked == SIGNERS + SIGNERS[:1]


def test_a_signer_finds_it_in_my_tickets_until_signed(db, world):
    ticket = start(world)
    mine = [t.number for t in ticket_list(world["fin2"], "mine").tickets]
    assert mine == [ticket.number]
    sign(world, "fin2", ticket)
    assert [t.number for t in ticket_list(world["fin2"], "mine").tickets] == []
    assert signs(world["fin1"], fresh(ticket))


def test_signers_read_the_ticket_and_see_the_step_fields(world):
    from workflows.tickets.access import can_read, visible_fields

    ticket = start(world)
    assert can_read(world["fin1"], ticket) and not can_read(world["agent2"], ticket)
    assert visible_fields(world["fin1"], ticket) == {"item"}  # through the step: fin1 handled no other
    sign(world, "fin1", ticket)
    assert can_read(world["fin1"], fresh(ticket))  # a signed part is a handled step


def test_a_new_user_of_the_department_gets_no_part_in_a_running_round(world):
    ticket = start(world)
    org.create_user("fin3", "password1", "handler", "finance")
    assert "fin3" not in parts(ticket)


def test_each_signature_counts_as_its_signers_work(world):
    from datetime import timedelta

    from workflows.reporting.reportwork import workload
    from workflows.storage.models import utcnow

    ticket = start(world, sign_process(of={"type": "department", "value": "finance"}))
    for name in ("fin1", "fin2", "fin_lead"):
        sign(world, name, ticket)
    now = utcnow()
    rows = {w.username: w.handled for w in workload([], [], [], (now - timedelta(hours=1), now + timedelta(hours=1)))}
    assert (rows["fin1"], rows["fin2"]) == (1, 1)
    assert rows["fin_lead"] == 2  # their signature and the step's move (close) that it decided
    leaving = TicketEvent.get(TicketEvent.ticket == ticket.id, TicketEvent.action == "close")
    assert leaving.from_step == "review" and leaving.dwell_seconds is not None  # the step's dwell, as for any step


def test_the_supervisor_of_a_waiting_signer_reads_it(world):
    from workflows.tickets.access import can_read, visible_fields

    ticket = start(world, sign_process(of={"type": "role", "value": ["handler"]}))  # wh1, wh2, fin1, fin2
    assert can_read(world["fin_lead"], ticket) and "item" in visible_fields(world["fin_lead"], ticket)
    assert not can_read(world["agent2"], ticket)
    assert ticket.number in [t.number for t in ticket_list(world["fin_lead"], "team").tickets]
    with pytest.raises(Forbidden):  # reading is not signing
        sign(world, "fin_lead", ticket)


def test_the_deciding_signer_names_the_next_handler_picked_by_hand(world):
    document = sign_process(of={"type": "department", "value": "finance"})
    document["steps"][1]["transitions"][0]["to"] = "buy"
    document["steps"].append({"key": "buy", "name": "采购", "fields": {"item": "readonly"},
                              "assignee": {"type": "department", "value": "warehouse", "pick": "manual"},
                              "transitions": [{"to": "$end", "label": "完成"}]})
    ticket = start(world, document)
    sign(world, "fin1", ticket)
    sign(world, "fin2", ticket)
    with pytest.raises(Invalid) as error:  # the step would be decided, but nobody is named for the next one
        sign(world, "fin_lead", ticket)
    assert "assignee" in error.value.fields and parts(ticket)["fin_lead"] == "waiting"
    done = sign(world, "fin_lead", ticket, assignee={"buy": "wh2", "apply": ""})  # the page's form: one per target
    assert (done.step, done.assignee.username) == ("buy", "wh2")


def test_a_return_or_reopen_into_the_sign_step_starts_a_new_round_without_a_handler(world):
    document = sign_process(of={"type": "department", "value": "finance"})
    document["steps"][1]["transitions"][0]["to"] = "buy"
    document["steps"].append({"key": "buy", "name": "采购", "fields": {"item": "readonly"}, "allow_return": True,
                              "assignee": {"type": "user", "value": "wh1"},
                              "transitions": [{"to": "$end", "label": "完成"}]})
    ticket = start(world, document)
    for name in ("fin1", "fin2", "fin_lead"):
        ticket = sign(world, name, ticket)
    assert (ticket.step, ticket.assignee.username) == ("buy", "wh1")
    back = engine.act(world["wh1"], ticket.number, "return", version=ticket.version, comment="再议")
    assert back.step == "review" and back.assignee_id is None
    assert signing.round_of(back).where(Signature.state == "waiting").count() == 3
    assert sign(world, "fin1", back).step == "review"
