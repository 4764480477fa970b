"""The workflow engine on both databases: actions, assignment, rules, versions, SLA."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta

import pytest
from conftest import ENGINE_PEOPLE, example

from workflows.people import org
from workflows.processes import documents as docs
from workflows.storage.models import Notification, Ticket, TicketEvent, User, utcnow, whole_seconds
from workflows.tickets import engine
from workflows.tickets.engine import Conflict, Forbidden, Invalid, NotFound
from workflows.tickets.present import ticket_view

REGISTER = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "门坏了"}
WAREHOUSE = {"received": True, "received_at": "2026-11-22T10:00:00+08:00", "as_described": "yes"}
FINANCE = {"refund_amount": 19.99, "refund_channels": ["original"]}
PEOPLE = ENGINE_PEOPLE


def fresh(ticket: Ticket) -> Ticket:
    return engine.load(ticket.number)


def new_ticket(users, who="agent", **kwargs) -> Ticket:
    return engine.create(users[who], "return_goods", dict(REGISTER), **kwargs)


def advance(users, who, ticket, data=None, **kwargs) -> Ticket:
    ticket = fresh(ticket)
    return engine.act(users[who], ticket.number, kwargs.pop("action", "advance"), version=ticket.version,
                      data=data, **kwargs)


def to_warehouse(users) -> Ticket:
    ticket = new_ticket(users)
    return advance(users, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")


def events(ticket) -> list[tuple]:
    return [(e.action, e.from_step, e.to_step) for e in TicketEvent.select().where(TicketEvent.ticket == ticket)
            .order_by(TicketEvent.id)]


def test_create_numbers_and_first_transition(world):
    ticket = fresh(new_ticket(world))
    assert re.fullmatch(r"TH\d{8}0001", ticket.number)
    assert (ticket.step, ticket.status, ticket.creator.username) == ("approve", "open", "agent")
    assert ticket.data == REGISTER and ticket.due_at == ticket.entered_at + timedelta(minutes=240)
    assert events(ticket) == [("create", "register", "approve")]
    assert fresh(new_ticket(world)).number.endswith("0002")


def test_round_robin_cycles_through_the_role_in_a_fixed_order(world):
    supervisors = [u for u, role, _ in PEOPLE if role == "supervisor"]
    picked = [fresh(new_ticket(world)).assignee.username for _ in range(len(supervisors) + 1)]
    assert picked == supervisors + supervisors[:1]


def test_least_loaded_picks_the_department_member_with_fewest_open_tickets(world):
    picked = [fresh(to_warehouse(world)).assignee.username for _ in range(4)]
    assert picked == ["wh1", "wh2", "wh_lead", "wh1"]


def test_manual_pick_needs_a_candidate(world):
    ticket = to_warehouse(world)
    handler = fresh(ticket).assignee.username
    with pytest.raises(Invalid) as missing:
        advance(world, handler, ticket, WAREHOUSE)
    assert list(missing.value.fields) == ["assignee"]
    with pytest.raises(Invalid) as outsider:
        advance(world, handler, ticket, WAREHOUSE, assignee="agent")
    assert list(outsider.value.fields) == ["assignee"]
    advance(world, handler, ticket, WAREHOUSE, assignee="fin2")
    assert (fresh(ticket).step, fresh(ticket).assignee.username) == ("finance", "fin2")


def test_the_whole_flow_to_close(world):
    ticket = to_warehouse(world)
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, FINANCE, action="close")
    closed = fresh(ticket)
    assert (closed.status, closed.step, closed.assignee, closed.closed_at is not None) == ("closed", "$end", None, True)
    assert [e[0] for e in events(ticket)] == ["create", "advance", "advance", "close"]


def test_return_goes_back_to_the_handler_who_sent_it(world):
    ticket = to_warehouse(world)
    approver = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "advance").actor.username
    handler = fresh(ticket).assignee.username
    with pytest.raises(Invalid) as no_reason:
        advance(world, handler, ticket, action="return")
    assert list(no_reason.value.fields) == ["comment"]
    advance(world, handler, ticket, action="return", comment="照片不清楚")
    back = fresh(ticket)
    assert (back.step, back.assignee.username) == ("approve", approver)
    assert events(ticket)[-1] == ("return", "warehouse", "approve")
    advance(world, approver, ticket, action="return", comment="请补充订单号")
    assert (fresh(ticket).step, fresh(ticket).assignee.username) == ("register", "agent")


def test_a_when_guarded_transition_is_refused_when_data_does_not_match(world):
    ticket = new_ticket(world)
    approver = fresh(ticket).assignee.username
    with pytest.raises(Invalid) as refused:
        advance(world, approver, ticket, {"approval": "reject", "reject_reason": "过期"}, transition="warehouse")
    assert list(refused.value.fields) == ["transition"]
    assert fresh(ticket).version == 1 and len(events(ticket)) == 1


def test_rejecting_closes_the_ticket(world):
    ticket = new_ticket(world)
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "reject", "reject_reason": "超过七天"},
            transition="$end")
    assert fresh(ticket).status == "closed"


@pytest.mark.parametrize(("who", "allowed"), [("wh_lead", True), ("admin", True), ("sup", False), ("fin1", False)])
def test_who_may_act_besides_the_assignee(world, who, allowed):
    ticket = to_warehouse(world)
    assert fresh(ticket).assignee.username == "wh1"  # least loaded, lowest id: never one of ``who``
    if allowed:
        advance(world, who, ticket, WAREHOUSE, assignee="fin1")
        assert fresh(ticket).step == "finance"
    else:
        with pytest.raises(Forbidden):
            advance(world, who, ticket, WAREHOUSE, assignee="fin1")


def test_a_stale_version_is_a_conflict(world):
    ticket = to_warehouse(world)
    handler = fresh(ticket).assignee
    with pytest.raises(Conflict):
        engine.act(handler, ticket.number, "advance", version=1, data=WAREHOUSE, assignee="fin1")


def test_transfer_only_where_allowed_and_with_a_comment(world):
    ticket = new_ticket(world)
    with pytest.raises(Conflict):
        advance(world, fresh(ticket).assignee.username, ticket, action="transfer", assignee="sup2", comment="x")
    ticket = to_warehouse(world)
    handler = fresh(ticket).assignee.username
    with pytest.raises(Invalid):
        advance(world, handler, ticket, action="transfer", assignee="wh2")
    other = "wh2" if handler != "wh2" else "wh1"
    advance(world, handler, ticket, action="transfer", assignee=other, comment="我休假")
    assert (fresh(ticket).step, fresh(ticket).assignee.username) == ("warehouse", other)


def test_reopen_returns_to_the_last_step_and_handler(world):
    ticket = to_warehouse(world)
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, FINANCE, action="close")
    with pytest.raises(Forbidden):
        advance(world, "agent", ticket, action="reopen")
    advance(world, "fin_lead", ticket, action="reopen", comment="客户未收到退款")
    reopened = fresh(ticket)
    assert (reopened.status, reopened.step, reopened.assignee.username) == ("open", "finance", "fin1")


def test_actions_on_the_wrong_status_conflict(world):
    ticket = new_ticket(world)
    with pytest.raises(Conflict):
        advance(world, "admin", ticket, action="reopen")


def test_unknown_process_and_ticket(world):
    with pytest.raises(NotFound):
        engine.create(world["agent"], "nosuch", {})
    with pytest.raises(NotFound):
        engine.act(world["agent"], "TH000", "advance", version=1)


def test_handlers_cannot_create(world):
    with pytest.raises(Forbidden):
        new_ticket(world, who="wh1")


def test_invalid_data_names_every_field_and_saves_nothing(world):
    with pytest.raises(Invalid) as error:
        engine.create(world["agent"], "return_goods", {"order_no": "bad no", "purchase_date": 20261101},
                      priority="whenever")
    assert set(error.value.fields) == {"order_no", "purchase_date", "source", "category", "model", "defect",
                                       "priority"}
    assert Ticket.select().count() == 0 and TicketEvent.select().count() == 0


ASSIGNEES = {
    "format": 1, "code": "assignees", "name": "分派", "number_prefix": "FP",
    "schema": {"type": "object", "properties": {"note": {"type": "string"}}},
    "steps": [
        {"key": "s1", "name": "一", "fields": {"note": "editable"}, "assignee": {"type": "creator"},
         "transitions": [{"to": "s2", "label": "下一步"}]},
        {"key": "s2", "name": "二", "fields": {}, "assignee": {"type": "previous"},
         "transitions": [{"to": "s3", "label": "下一步"}]},
        {"key": "s3", "name": "三", "fields": {}, "assignee": {"type": "user", "value": "wh2"},
         "transitions": [{"to": "s4", "label": "下一步"}]},
        {"key": "s4", "name": "四", "fields": {}, "assignee": {"type": "choose", "value": "finance"},
         "transitions": [{"to": "s5", "label": "下一步"}]},
        {"key": "s5", "name": "五", "fields": {}, "assignee": {"type": "choose"},
         "transitions": [{"to": "s6", "label": "下一步"}]},
        {"key": "s6", "name": "六", "fields": {}, "assignee": {"type": "role", "value": "agent", "pick": "manual"},
         "transitions": [{"to": "$end", "label": "结束"}]},
    ],
}


def test_every_assignee_type(world):
    docs.save_process(copy.deepcopy(ASSIGNEES), publish=True)
    ticket = engine.create(world["agent2"], "assignees", {"note": "x"})
    assert fresh(ticket).assignee.username == "agent2"                     # previous: who sent it
    advance(world, "agent2", ticket)
    assert fresh(ticket).assignee.username == "wh2"                        # user
    with pytest.raises(Invalid):
        advance(world, "wh2", ticket, assignee="agent")                    # choose within finance
    advance(world, "wh2", ticket, assignee="fin_lead")
    advance(world, "fin_lead", ticket, assignee="wh_lead")                 # choose anyone
    advance(world, "wh_lead", ticket, assignee="agent")                    # role + manual
    assert (fresh(ticket).step, fresh(ticket).assignee.username) == ("s6", "agent")


def test_creator_assignee(world):
    doc = copy.deepcopy(ASSIGNEES)
    doc["steps"][1]["assignee"] = {"type": "creator"}
    docs.save_process(doc, publish=True)
    assert fresh(engine.create(world["sup"], "assignees", {})).assignee.username == "sup"


def test_open_tickets_keep_their_version_when_a_new_one_is_published(world):
    old = to_warehouse(world)
    doc = example("return_goods.process.json")
    doc["steps"] = [s for s in doc["steps"] if s["key"] != "warehouse"]
    doc["steps"][1]["transitions"][0]["to"] = "finance"
    doc["schema"]["properties"]["refund"] = doc["schema"]["properties"].pop("refund_amount")
    doc["steps"][2]["fields"]["refund"] = doc["steps"][2]["fields"].pop("refund_amount")
    docs.save_process(doc, publish=True)
    new = new_ticket(world)
    assert (fresh(old).process_version.number, fresh(new).process_version.number) == (1, 2)
    advance(world, fresh(old).assignee.username, old, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", old, FINANCE, action="close")
    assert fresh(old).status == "closed" and fresh(old).data["refund_amount"] == 19.99
    advance(world, fresh(new).assignee.username, new, {"approval": "approve"}, transition="finance",
            assignee="fin2")
    with pytest.raises(Invalid):
        advance(world, "fin2", new, FINANCE, action="close")
    advance(world, "fin2", new, {"refund": 5, "refund_channels": ["coupon"]}, action="close")
    assert fresh(new).status == "closed"


def test_what_each_reader_sees(world):
    ticket = to_warehouse(world)
    approver = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "advance").actor
    handler = fresh(ticket).assignee

    def seen(user):
        return set(ticket_view(user, fresh(ticket))["data"])

    assert seen(handler) == {"order_no", "category", "model", "defect", "approval"}
    assert seen(world["agent"]) == set(REGISTER)
    assert seen(approver) == set(REGISTER) | {"approval"} if approver.username != "sup" else True
    assert seen(world["admin"]) == set(REGISTER) | {"approval"} and seen(world["wh_lead"]) == seen(world["admin"])
    assert ticket_view(world["agent"], fresh(ticket))["transitions"] == []
    assert ticket_view(handler, fresh(ticket))["transitions"] == [{"to": "finance", "label": "转财务退款"}]


def test_hidden_fields_are_absent_from_the_history_too(world):
    ticket = to_warehouse(world)
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    view = ticket_view(world["agent"], fresh(ticket))
    assert all(set(event["changes"]) <= set(REGISTER) for event in view["history"])
    assert "received" not in str(view)


def test_sla_sweep_marks_once_and_notifies_assignee_and_manager(world):
    from workflows.tickets.sla import sweep

    ticket = to_warehouse(world)
    handler = fresh(ticket).assignee
    later = fresh(ticket).due_at + timedelta(minutes=1)
    assert sweep(later - timedelta(minutes=2)) == []
    assert sweep(later) == [ticket.number] and sweep(later) == []
    notified = {n.user.username for n in Notification.select().where(Notification.kind == "overdue")}
    assert notified == {handler.username, "wh_lead"} if handler.username != "wh_lead" else {"wh_lead"}
    advance(world, handler.username, ticket, action="transfer", assignee="wh2" if handler.username != "wh2"
            else "wh1", comment="交接")
    assert fresh(ticket).overdue_at is not None and sweep(later + timedelta(days=9)) == []


def test_first_response_is_the_first_action_by_someone_else(world):
    ticket = new_ticket(world)
    assert fresh(ticket).first_response_at is None
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    assert fresh(ticket).first_response_at is not None
    assert utcnow() - fresh(ticket).first_response_at < timedelta(minutes=1)


def test_users_of_the_team(world):
    assert org.team_ids(world["sup"]) == {world[u].id for u in ("sup", "sup2", "agent", "agent2")}
    assert org.manager_chain(world["wh1"].department_id) == [world["wh_lead"].id]
    assert User.select().count() == len(PEOPLE)


def test_the_duration_columns_follow_first_response_close_and_reopen(world):
    """first_response_seconds / resolution_seconds are written with the timestamps they derive from."""
    ticket = to_warehouse(world)
    responded = fresh(ticket)
    assert responded.first_response_seconds == whole_seconds(responded.created_at, responded.first_response_at)
    assert responded.first_response_seconds is not None and responded.resolution_seconds is None
    advance(world, responded.assignee.username, ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, FINANCE, action="close")
    closed = fresh(ticket)
    assert closed.resolution_seconds == whole_seconds(closed.created_at, closed.closed_at) >= 0
    advance(world, "fin_lead", ticket, action="reopen", comment="客户未收到退款")
    assert fresh(ticket).resolution_seconds is None
    assert fresh(ticket).first_response_seconds == closed.first_response_seconds


def test_whole_seconds_cuts_each_time_to_the_second():
    start = datetime(2026, 3, 1, 10, 0, 0, 999000)
    assert whole_seconds(start, start + timedelta(microseconds=2000)) == 1
    assert whole_seconds(start, None) is None and whole_seconds(None, start) is None


def test_leaving_events_hold_their_dwell_by_the_history_rule(world):
    """The engine writes each advance/return/close with the seconds since the ticket's previous move (a transfer
    is not one); the rule read off the history (TicketEvent.dwelt) gives the same figures."""
    ticket = to_warehouse(world)
    handler = fresh(ticket).assignee.username
    advance(world, handler, ticket, action="return", comment="照片不清楚")
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    handler = fresh(ticket).assignee.username
    other = "wh2" if handler != "wh2" else "wh1"
    advance(world, handler, ticket, action="transfer", assignee=other, comment="交接")
    advance(world, other, ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, FINANCE, action="close")
    advance(world, "fin_lead", ticket, action="reopen", comment="客户未收到退款")
    advance(world, "fin1", ticket, FINANCE, action="close")
    rows = list(TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id))
    leaving = [e for e in rows if e.action in TicketEvent.LEAVES]
    assert [e.action for e in leaving] == ["advance", "return", "advance", "advance", "close", "close"]
    for event in leaving:
        moves = [e for e in rows if e.id < event.id and e.action in TicketEvent.MOVES]
        assert event.dwell_seconds == whole_seconds(moves[-1].created_at, event.created_at) >= 0
    transfer = next(e for e in rows if e.action == "transfer")
    assert transfer.dwell_seconds is None
