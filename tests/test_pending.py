"""Pending (等待客户回复) on both databases: the wait and resume actions in the engine and the API, the
worker's resume at ``until`` and a customer's reply, each resuming once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_api import Api
from test_concurrency import run_together
from test_engine import fresh
from test_sla_clock import MONDAY, Clock, create, flow, publish

from workflows.intake.channels import SYSTEM_USERNAME
from workflows.storage.db import database
from workflows.storage.models import Ticket, TicketEvent
from workflows.tickets import engine, pending, sla
from workflows.tickets.errors import Conflict, EngineError, Forbidden, Invalid

WAITING = {"sla": {"minutes": 240}, "allow_wait": True}


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch, MONDAY)


@pytest.fixture
def waiting(world, clock):
    publish(flow(WAITING), calendar=False)
    return create(world)


def act(ticket: Ticket, action: str, who=None, **options):
    ticket = fresh(ticket)
    return engine.act(who or ticket.assignee, ticket.number, action, version=ticket.version, **options)


def resumes(ticket: Ticket) -> list[tuple[str | None, str | None]]:
    rows = TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "resume")
    return [(row.actor.username if row.actor_id else None, row.comment) for row in rows]


def test_a_step_without_allow_wait_refuses(world, clock):
    publish(flow({"sla": {"minutes": 240}}), calendar=False)
    with pytest.raises(Conflict):
        act(create(world), "wait", comment="等客户")


def test_the_reason_is_required_and_until_must_be_a_future_time(waiting, clock):
    with pytest.raises(Invalid) as missing:
        act(waiting, "wait", comment="  ")
    assert list(missing.value.fields) == ["comment"]
    for bad in ("tomorrow", "2026-12-08T10:00", "2026-12-08", 12, clock.now - timedelta(minutes=1),
                (clock.now - timedelta(minutes=1)).isoformat() + "Z"):
        with pytest.raises(EngineError) as refused:
            act(waiting, "wait", comment="", until=bad)
        assert refused.value.status == 400 and set(refused.value.fields) == {"until", "comment"}, bad
    assert fresh(waiting).status == "open" and fresh(waiting).version == waiting.version


def test_only_who_may_act_waits_and_each_action_in_its_status(waiting, world):
    with pytest.raises(Forbidden):
        act(waiting, "wait", who=world["wh1"], comment="等客户")
    with pytest.raises(Conflict):
        act(waiting, "resume")
    act(waiting, "wait", comment="等客户", until="2027-01-04T09:00:00+08:00")
    ticket = fresh(waiting)
    assert (ticket.status, ticket.pending_until, ticket.next_check_at) == ("pending",) + (ticket.pending_until,) * 2
    assert str(ticket.pending_until) == "2027-01-04 01:00:00"
    with pytest.raises(Conflict):
        act(waiting, "wait", comment="再等")
    with pytest.raises(Conflict):
        act(waiting, "advance", data={"approval": "approve"}, transition="warehouse")
    act(waiting, "resume", comment="客户来电")
    assert fresh(waiting).status == "open" and resumes(waiting) == [(fresh(waiting).assignee.username, "客户来电")]


def test_a_customer_reply_resumes_as_a_system_event(waiting, clock):
    with database.atomic():
        assert pending.resume_for_customer(fresh(waiting), clock.now) is False
    act(waiting, "wait", comment="等客户")
    with database.atomic():
        ticket = fresh(waiting)
        assert pending.resume_for_customer(ticket, clock.now + timedelta(hours=1)) is True
        assert ticket.status == "open" and ticket.version == waiting.version + 2
    assert resumes(waiting) == [(SYSTEM_USERNAME, "客户已回复。")]
    assert fresh(waiting).due_at == waiting.due_at + timedelta(hours=1)


def test_the_worker_resumes_at_until(waiting, clock):
    until = clock.now + timedelta(hours=2)
    act(waiting, "wait", comment="等客户", until=until)
    assert sla.sweep(until - timedelta(seconds=1)).by_kind["resumed"] == []
    assert sla.sweep(until).by_kind["resumed"] == [waiting.number]
    ticket = fresh(waiting)
    assert (ticket.status, ticket.due_at, ticket.next_check_at) == ("open", waiting.due_at + timedelta(hours=2),
                                                                     ticket.due_at)
    assert resumes(waiting) == [(SYSTEM_USERNAME, "等待时间已到。")]
    assert sla.sweep(until + timedelta(hours=1)).by_kind["resumed"] == []


def test_a_reply_and_the_worker_racing_resume_once(waiting, clock):
    until = clock.now + timedelta(hours=2)
    act(waiting, "wait", comment="等客户", until=until)

    def reply_or_sweep(i):
        if i % 2:
            return sla.sweep(until).by_kind["resumed"]
        with database.atomic():
            return pending.resume_for_customer(fresh(waiting), until)

    results = run_together(4, reply_or_sweep)
    assert not any(isinstance(r, Exception) for r in results), results
    assert len(resumes(waiting)) == 1 and fresh(waiting).status == "open"


@pytest.fixture
def api(client, world, clock):
    publish(flow(WAITING), calendar=False)
    return Api(client)


def test_the_api_waits_and_resumes(api, world, clock):
    number = api("POST", "/tickets", "agent", json={"process": "return_goods", "data": fresh_register()}).json["number"]
    handler = Ticket.get(Ticket.number == number).assignee.username
    bad = api.act(handler, number, "wait", comment="等客户", until="next week")
    assert bad.status_code == 400 and list(bad.json["fields"]) == ["until"]
    past = api.act(handler, number, "wait", comment="等客户", until="2020-01-01T00:00:00Z")
    assert past.status_code == 400 and list(past.json["fields"]) == ["until"]
    missing = api.act(handler, number, "wait", until="2027-01-04T09:00:00+08:00")
    assert missing.status_code == 422 and list(missing.json["fields"]) == ["comment"]
    waited = api.act(handler, number, "wait", comment="等客户", until="2027-01-04T09:00:00+08:00")
    assert waited.status_code == 200 and waited.json["status"] == "pending", waited.json
    assert waited.json["history"][-1]["action"] == "wait"
    resumed = api.act(handler, number, "resume")
    assert resumed.status_code == 200 and resumed.json["status"] == "open"
    again = api.act(handler, number, "resume")
    assert again.status_code == 409


def fresh_register() -> dict:
    from test_engine import REGISTER

    return dict(REGISTER)


def test_a_pending_ticket_still_counts_as_its_handlers_work_for_least_loaded(world, clock):
    """Waiting for the customer does not free the handler: least_loaded counts pending tickets as open."""
    publish(flow(None, WAITING), calendar=False)

    def to_warehouse() -> Ticket:
        ticket = create(world)
        act(ticket, "advance", data={"approval": "approve"}, transition="warehouse")
        return fresh(ticket)

    first = to_warehouse()
    act(first, "wait", comment="等客户寄回")
    assert fresh(first).status == "pending"
    second = to_warehouse()
    assert {first.assignee.username, second.assignee.username} == {"wh1", "wh2"}  # not both to the same
