"""Inserts and keyed updates re-bound from SQL text built once per shape (issue 24), on both databases."""

from __future__ import annotations

import peewee
import pytest
from test_engine import new_ticket

from workflows.storage import fastwrite
from workflows.storage.models import Notification, Ticket, TicketEvent


@pytest.fixture
def builds(monkeypatch):
    """How many times peewee generated an INSERT or an UPDATE statement's text."""
    counts = {"insert": 0, "update": 0}
    original_insert, original_update = peewee.Insert._generate_insert, peewee.Update.__sql__

    def insert(self, *args, **kwargs):
        counts["insert"] += 1
        return original_insert(self, *args, **kwargs)

    def update(self, *args, **kwargs):
        counts["update"] += 1
        return original_update(self, *args, **kwargs)

    monkeypatch.setattr(peewee.Insert, "_generate_insert", insert)
    monkeypatch.setattr(peewee.Update, "__sql__", update)
    fastwrite._INSERTS.clear()
    fastwrite._UPDATES.clear()
    return counts


def event(ticket: Ticket, **fields) -> TicketEvent:
    return TicketEvent.create(ticket=ticket, action="comment", actor=ticket.creator_id, **fields)


def test_a_new_rows_insert_text_is_built_once_and_writes_what_peewee_would(world, builds):
    ticket = new_ticket(world)
    before = builds["insert"]
    first, second = event(ticket, diff={"a": [1, "甲"]}, comment="一"), event(ticket, diff={"b": None}, comment="二")
    assert builds["insert"] == before + 1  # the second row of the same shape re-bound the first one's text
    assert first.id and second.id == first.id + 1
    rows = {e.id: e for e in TicketEvent.select().where(TicketEvent.id.in_([first.id, second.id]))}
    assert rows[first.id].diff == {"a": [1, "甲"]} and rows[first.id].comment == "一"
    assert rows[second.id].diff == {"b": None} and rows[second.id].comment == "二"
    assert rows[second.id].created_at == second.created_at
    assert first.dirty_fields == [] and not first.is_dirty()


def test_a_shape_is_the_columns_and_which_values_become_sql(world, builds):
    ticket = new_ticket(world)
    before = builds["insert"]
    event(ticket, diff={"x": 1})
    event(ticket, diff={"x": 1}, comment="more columns")
    event(ticket, diff={"x": 2}, comment="again")
    assert builds["insert"] == before + 2


def test_an_sql_expression_as_a_value_keeps_peewees_path(world, builds):
    ticket = new_ticket(world)
    before = builds["insert"]
    for n in range(2):
        Notification.create(user=ticket.assignee_id, ticket=ticket, kind="assigned",
                            message=peewee.fn.lower(f"HELLO {n}"))
    assert builds["insert"] == before + 2  # not re-bound: the message is an SQL expression, not a parameter
    assert sorted(n.message for n in Notification.select().where(Notification.ticket == ticket,
                                                                  Notification.message.startswith("hello"))) \
        == ["hello 0", "hello 1"]


def test_a_keyed_update_changes_only_the_row_it_names_and_counts_it(world, builds):
    ticket = new_ticket(world)
    builds["update"] = 0
    values = {Ticket.priority: "urgent", Ticket.data: {**ticket.data, "note": "加急"}}
    assert fastwrite.update(Ticket, values, {Ticket.id: ticket.id, Ticket.version: ticket.version + 5}) == 0
    assert fastwrite.update(Ticket, values, {Ticket.id: ticket.id, Ticket.version: ticket.version}) == 1
    assert fastwrite.update(Ticket, {Ticket.priority: "low", Ticket.data: {}},
                            {Ticket.id: ticket.id, Ticket.version: ticket.version}) == 1
    assert builds["update"] == 1
    stored = Ticket.get_by_id(ticket.id)
    assert stored.priority == "low" and stored.data == {}


def test_the_engine_builds_no_insert_or_update_text_once_warm(world, builds):
    from workflows.tickets import engine
    users = world
    new_ticket(world)
    warm = dict(builds)
    ticket = new_ticket(world)
    engine.act(users[ticket.assignee.username], ticket.number, "advance", version=ticket.version,
               data={"approval": "approve"})
    second = new_ticket(world)
    before = dict(builds)
    engine.act(users[second.assignee.username], second.number, "advance", version=second.version,
               data={"approval": "approve"})
    assert builds == before, (warm, before, builds)


def test_a_shape_whose_parameters_differ_from_peewees_stays_on_peewees_path(world, builds, monkeypatch):
    ticket = new_ticket(world)
    before = builds["insert"]
    original = fastwrite._params
    monkeypatch.setattr(fastwrite, "_params", lambda values: original(values)[::-1])  # as if peewee changed
    rows = [event(ticket, diff={"n": n}, comment=f"c{n}") for n in range(3)]
    assert builds["insert"] == before + 3  # never re-bound: every row went through peewee
    assert [e.diff for e in TicketEvent.select().where(TicketEvent.id.in_([r.id for r in rows]))
            .order_by(TicketEvent.id)] == [{"n": 0}, {"n": 1}, {"n": 2}]
