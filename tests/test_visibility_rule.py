"""The visibility table of ``docs/visibility.md`` against the engine, relation by relation (issue 16).

The world: ``agent`` registers ticket T, the admin approves it, ``wh1`` handles the
warehouse step and sends it to ``fin1`` at the finance step; ``wh2`` is CC'd and
``fin2`` @mentioned by the creator; ``sup`` manages the creator, ``fin_lead`` the
current handler, ``wh_lead`` only a past handler. Each row of the table names what
the relation may read and the steps whose fields it sees; the test works out those
fields from the compiled steps and asks ``access`` for the same.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT
from test_engine import FINANCE, REGISTER, WAREHOUSE, advance, fresh

from workflows.processes import documents as docs
from workflows.storage.models import TicketEvent
from workflows.tickets import collab, engine, tags
from workflows.tickets.access import ALL, HANDLING, can_read, visible_fields
from workflows.tickets.errors import Forbidden, Invalid

TABLE = ROOT / "docs" / "visibility.md"
RELATIONS = {  # the table's relation -> who holds it in this world
    "admin": "admin", "creator": "agent", "current handler": "fin1", "past handler": "wh1", "CC'd": "wh2",
    "@mentioned": "fin2", "supervisor chain of the current handler": "fin_lead",
    "supervisor chain of the creator": "sup", "anyone else (colleague, other team, unrelated supervisor)": "wh_lead",
}


def table() -> dict[str, tuple[bool, set[str]]]:
    """relation -> (may read, the step words of its last column), read from the document."""
    rows = {}
    for line in TABLE.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] in ("yes", "no"):
            rows[cells[0]] = (cells[1] == "yes", {w.strip() for w in cells[2].split(",")})
    return rows


@pytest.fixture
def at_finance(world):
    ticket = engine.create(world["agent"], "return_goods", dict(REGISTER), customer={"name": "王先生",
                                                                                    "phone": "13800000000"})
    ticket = advance(world, "admin", ticket, {"approval": "approve"}, transition="warehouse", assignee="wh1")
    if ticket.assignee_id != world["wh1"].id:
        ticket = advance(world, "admin", ticket, action="transfer", assignee="wh1", comment="to wh1")
    ticket = advance(world, "wh1", ticket, WAREHOUSE, assignee="fin1")
    collab.add_cc(world["agent"], ticket.number, "wh2")
    collab.add_note(world["agent"], ticket.number, "@fin2 请看一下")
    return fresh(ticket)


def expected(ticket, user, words: set[str]) -> set[str] | None:
    if "all" in words:
        return ALL
    steps = set()
    steps |= {ticket.process_version.document["steps"][0]["key"]} if "creation" in words else set()
    steps |= {ticket.step} if "current" in words and ticket.status == "open" else set()
    if "handled" in words:
        rows = TicketEvent.select(TicketEvent.from_step).where(
            TicketEvent.ticket == ticket, TicketEvent.actor == user, TicketEvent.action.in_(HANDLING))
        steps |= {step for (step,) in rows.tuples()}
    fields = set()
    for key in steps:
        fields |= set(docs.compiled(ticket.process_version, key).spec.visible(ticket.data))
    return fields


def test_the_table_names_every_relation():
    assert set(table()) == set(RELATIONS)


def test_each_relation_reads_and_sees_what_the_table_says(world, at_finance):
    for relation, (reads, words) in table().items():
        user = world[RELATIONS[relation]]
        assert can_read(user, at_finance) is reads, relation
        if reads:
            assert visible_fields(user, at_finance) == expected(at_finance, user, words), relation


def test_a_cc_sees_no_field_of_the_current_step(world, at_finance):
    """Defect 1: a CC'd user used to get every field of the current step (here the refund)."""
    assert visible_fields(world["wh2"], at_finance) == set()
    assert visible_fields(world["fin2"], at_finance) == set()


@pytest.mark.parametrize("who", ["agent", "fin1", "wh1", "fin_lead", "sup"])
def test_adding_yourself_never_widens_what_you_see(world, at_finance, who):
    """Defect 1: self-CC, a note @mentioning yourself and a tag leave your fields as they were."""
    user, number = world[who], at_finance.number
    before = visible_fields(user, at_finance)
    for add in (lambda: collab.add_cc(user, number, who), lambda: collab.add_note(user, number, f"@{who} 备注"),
                lambda: tags.add(fresh(at_finance), "自己", user)):
        try:
            add()
        except (Forbidden, Invalid):
            pass  # not everyone may CC or tag: then nothing changed either
        assert visible_fields(user, fresh(at_finance)) == before, who


def test_the_creators_supervisor_sees_the_same_open_or_closed(world, at_finance):
    """Defect 11: nothing of an open ticket at another team's step, everything once closed; now the creator's view."""
    creation = set(docs.compiled(at_finance.process_version, "register").spec.visible(at_finance.data))
    assert visible_fields(world["sup"], at_finance) == creation
    closed = advance(world, "fin1", at_finance, FINANCE, transition="$end")
    assert closed.status == "closed"
    assert visible_fields(world["sup"], fresh(closed)) == creation
    assert "refund_amount" not in visible_fields(world["sup"], fresh(closed))


def test_a_transfer_stays_within_the_steps_candidates(world):
    """Defect 11: transfer went to any active user; now only to someone the step's assignee rule names."""
    ticket = engine.create(world["agent"], "return_goods", dict(REGISTER))
    ticket = advance(world, "admin", ticket, {"approval": "approve"}, transition="warehouse")
    holder, other = ("wh1", "wh2") if fresh(ticket).assignee.username == "wh1" else ("wh2", "wh1")
    for outsider in ("fin1", "agent"):
        with pytest.raises(Invalid) as refused:
            advance(world, holder, ticket, action="transfer", assignee=outsider, comment="换人")
        assert set(refused.value.fields) == {"assignee"}
    assert fresh(ticket).assignee.username == holder
    assert advance(world, holder, ticket, action="transfer", assignee=other, comment="换人").assignee_id == \
        world[other].id


def _answer(world, who, number, action, version) -> tuple[str, str]:
    try:
        engine.act(world[who], number, action, version=version, comment="x")
    except Exception as error:  # noqa: BLE001 - the kind and text of the answer are what is compared
        return type(error).__name__, str(error)
    return "ok", ""


@pytest.mark.parametrize("action", ["reopen", "advance", "return", "transfer", "close"])
def test_an_outsider_learns_nothing_of_state_from_an_action(world, at_finance, action):
    """Defect 8: permission first, so the answer is the same whatever the ticket's status and version."""
    answers = {_answer(world, "wh_lead", at_finance.number, action, v) for v in (at_finance.version, 999)}
    done = advance(world, "fin1", at_finance, FINANCE, transition="$end")
    answers |= {_answer(world, "wh_lead", done.number, action, v) for v in (done.version, 999)}
    assert len(answers) == 1 and next(iter(answers))[0] == "Forbidden", answers


def test_the_table_is_where_the_docs_say():
    assert re.search(r"\| relation \| may read \| sees the fields of \|", TABLE.read_text("utf-8"))
