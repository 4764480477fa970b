"""The SLA worker's sweep on both databases: only what is due, and warnings, escalations and timeouts each
firing once even with two workers sweeping at the same moment; the index range it reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from peewee import PostgresqlDatabase
from playhouse.shortcuts import model_to_dict
from test_concurrency import run_together
from test_engine import WAREHOUSE, fresh
from test_sla_clock import MONDAY, Clock, create, flow, publish

from workflows.intake.channels import SYSTEM_USERNAME
from workflows.storage.db import database
from workflows.storage.models import Notification, Ticket, TicketEvent, utcnow
from workflows.tickets import engine, sla


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch, MONDAY)


def events(ticket: Ticket, action: str) -> list[TicketEvent]:
    return list(TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == action))


def two_workers(now) -> list:
    """Two sweeps at one barrier, each on its own connection; every kind's numbers, summed."""
    results = run_together(2, lambda i: sla.sweep(now).by_kind)
    assert not any(isinstance(r, Exception) for r in results), results
    return {kind: sorted(sum((r[kind] for r in results), [])) for kind in sla.KINDS}


def test_the_sweep_leaves_tickets_whose_check_is_ahead_alone(world, clock):
    publish(flow({"sla": {"minutes": 60, "warn": 0.5}, "allow_wait": True}), calendar=False)
    due, *later = [create(world) for _ in range(3)]
    Ticket.update(next_check_at=clock.now).where(Ticket.id == due.id).execute()
    rows = [model_to_dict(fresh(t), recurse=False) for t in later]
    swept = sla.sweep(clock.now + timedelta(minutes=29))
    assert swept.by_kind["warned"] == [] and swept == []  # the due one's warning is not due yet: re-scheduled
    assert fresh(due).next_check_at == due.warn_at
    assert [model_to_dict(fresh(t), recurse=False) for t in later] == rows
    assert TicketEvent.select().where(TicketEvent.action.not_in(("create",))).count() == 0


def test_a_warning_fires_once_with_two_workers(world, clock):
    publish(flow({"sla": {"minutes": 100, "warn": 0.8}}), calendar=False)
    ticket = create(world)
    assert two_workers(ticket.warn_at - timedelta(seconds=1))["warned"] == []
    assert two_workers(ticket.warn_at)["warned"] == [ticket.number]
    assert two_workers(ticket.warn_at + timedelta(minutes=5))["warned"] == []
    [warn] = events(ticket, "warn")
    assert warn.actor.username == SYSTEM_USERNAME and warn.comment.startswith("时限已用 80%")
    notices = Notification.select().where(Notification.kind == "sla_warning")
    assert [n.user_id for n in notices] == [ticket.assignee_id]
    assert fresh(ticket).version == ticket.version and fresh(ticket).next_check_at == ticket.due_at


def to_warehouse(world) -> Ticket:
    ticket = create(world)
    engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version, data={"approval": "approve"},
               transition="warehouse")
    return fresh(ticket)


def test_overdue_and_the_managers_escalation_fire_once_with_two_workers(world, clock):
    publish(flow(warehouse={"sla": {"minutes": 60, "escalate": {"notify": "manager"}}}), calendar=False)
    ticket = to_warehouse(world)
    assert ticket.assignee.username == "wh1"
    done = two_workers(ticket.due_at)
    assert (done["overdue"], done["escalated"]) == ([ticket.number], [ticket.number])
    assert two_workers(ticket.due_at + timedelta(hours=5)) == {kind: [] for kind in sla.KINDS}
    [escalate] = events(ticket, "escalate")
    assert escalate.actor.username == SYSTEM_USERNAME
    assert escalate.comment == f"已超时：已通知处理人的主管 {world['wh_lead'].name}。"
    escalated = Notification.select().where(Notification.kind == "escalated")
    assert [n.user.username for n in escalated] == ["wh_lead"]
    assert Notification.select().where(Notification.kind == "overdue").count() == 2  # wh1 and wh_lead, as before
    assert fresh(ticket).next_check_at is None


def test_escalation_to_a_step_moves_the_ticket_once(world, clock):
    publish(flow({"sla": {"minutes": 60, "escalate": {"to": "warehouse"}}}), calendar=False)
    ticket = create(world)
    at = ticket.due_at + timedelta(seconds=30)
    assert two_workers(at)["escalated"] == [ticket.number]
    moved = fresh(ticket)
    assert (moved.step, moved.assignee.username, moved.version) == ("warehouse", "wh1", ticket.version + 1)
    assert (moved.entered_at, moved.overdue_at, moved.due_at) == (at, None, at + timedelta(minutes=4320))
    [escalate] = events(ticket, "escalate")
    assert (escalate.from_step, escalate.to_step, escalate.actor.username) == ("approve", "warehouse", SYSTEM_USERNAME)
    assert escalate.dwell_seconds == 3630 and escalate.comment == "已超时：升级至「仓库收货」。"
    assert Notification.select().where(Notification.kind == "assigned", Notification.user == moved.assignee).count()


TIMEOUTS = {"approve": {"timeout": {"minutes": 120, "to": "warehouse", "label": "2 小时未审批, 转仓库"},
                        "allow_wait": True},
            "warehouse": {"timeout": {"minutes": 60 * 24 * 7, "to": "$end", "label": "7 天无回复自动结单"},
                          "allow_wait": True}}


def test_timeouts_to_a_step_and_to_the_end_fire_once_with_two_workers(world, clock):
    publish(flow(TIMEOUTS["approve"], TIMEOUTS["warehouse"]), calendar=False)
    ticket = create(world)
    assert two_workers(ticket.timeout_at - timedelta(minutes=1))["timed_out"] == []
    assert two_workers(ticket.timeout_at)["timed_out"] == [ticket.number]
    moved = fresh(ticket)
    [timeout] = events(ticket, "timeout")
    assert (moved.step, timeout.from_step, timeout.to_step, timeout.comment) == (
        "warehouse", "approve", "warehouse", "2 小时未审批, 转仓库")
    clock.set(moved.entered_at + timedelta(hours=1))
    engine.act(moved.assignee, moved.number, "wait", version=moved.version, comment="等客户寄回")
    assert two_workers(moved.timeout_at)["timed_out"] == [ticket.number]  # pending time counts for a timeout
    closed = fresh(ticket)
    assert (closed.status, closed.step, closed.closed_at, closed.next_check_at) == (
        "closed", "$end", moved.timeout_at, None)
    assert [e.comment for e in events(ticket, "timeout")] == ["2 小时未审批, 转仓库", "7 天无回复自动结单"]
    engine.act(world["admin"], ticket.number, "reopen", version=closed.version, comment="客户回来了")
    assert fresh(ticket).step == "warehouse" and fresh(ticket).status == "open"


def test_a_pending_ticket_is_not_overdue_while_it_waits(world, clock):
    publish(flow({"sla": {"minutes": 60}, "allow_wait": True}), calendar=False)
    ticket = create(world)
    engine.act(ticket.assignee, ticket.number, "wait", version=ticket.version, comment="等客户")
    assert sla.sweep(ticket.due_at + timedelta(hours=3)) == []
    clock.set(ticket.due_at + timedelta(hours=3))
    waited = fresh(ticket)
    engine.act(waited.assignee, waited.number, "resume", version=waited.version)
    assert fresh(ticket).due_at == ticket.due_at + timedelta(hours=4)
    assert sla.sweep(ticket.due_at + timedelta(hours=4)) == [ticket.number]


def test_an_advance_restarts_the_clock_and_a_step_without_sla_has_nothing_due(world, clock):
    publish(flow({"sla": {"minutes": 60, "warn": 0.5}}, {"sla": {"minutes": 4320}}), calendar=False)
    ticket = to_warehouse(world)
    engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version, data=dict(WAREHOUSE),
               assignee="fin1")
    at_finance = fresh(ticket)
    assert (at_finance.warn_at, at_finance.due_at) == (None, clock.now + timedelta(minutes=1440))
    engine.act(at_finance.assignee, ticket.number, "close", version=at_finance.version,
               data={"refund_amount": 1, "refund_channels": ["original"]})
    assert fresh(ticket).next_check_at is None


def plan(query) -> str:
    sql, params = query.sql()
    postgres = isinstance(database.obj, PostgresqlDatabase)
    with database.atomic():
        if postgres:
            database.execute_sql("SET LOCAL enable_seqscan = off")  # a tiny table: show what the index can do
        rows = database.execute_sql(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql, params).fetchall()
        return "\n".join(str(row[-1]) for row in rows)


def test_the_sweep_reads_a_range_of_the_next_check_index(world, clock):
    found = plan(sla.due_query(clock.now))
    assert "ticket_next_check_at" in found and ("SEARCH" in found or "Index" in found), found
    assert "Seq Scan" not in found and "SCAN ticket" not in found, found


def test_the_worker_once_with_sla(world, clock, runner):
    publish(flow({"sla": {"minutes": 100, "warn": 0.8}}), calendar=False)
    ticket = create(world)
    past = utcnow() - timedelta(minutes=1)  # the worker's clock is the real one
    Ticket.update(warn_at=past, next_check_at=past).where(Ticket.id == ticket.id).execute()
    result = runner.invoke(args=["worker", "--once", "--sla"])
    assert result.exit_code == 0 and "SLA: 1 warned" in result.output, result.output
    assert runner.invoke(args=["sla", "sweep"]).output.strip() == "0 ticket(s) newly overdue"


@pytest.mark.parametrize("kind", ["warn", "due"])
def test_an_action_meanwhile_is_not_lost(world, clock, kind):
    """The sweep marks without a version bump: a handler's action on the version they read still saves."""
    publish(flow({"sla": {"minutes": 60, "warn": 0.5}}), calendar=False)
    ticket = create(world)
    sla.sweep(ticket.warn_at if kind == "warn" else ticket.due_at)
    engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version, data={"approval": "approve"},
               transition="warehouse")
    assert fresh(ticket).step == "warehouse"


def test_a_guard_that_holds_the_step_holds_the_timeout_too(world, clock, monkeypatch):
    """Open ``wait`` children hold a parent at its step (engine.LEAVING): the sweep looks again later."""
    publish(flow(TIMEOUTS["approve"]), calendar=False)
    ticket = create(world)
    monkeypatch.setattr(engine, "LEAVING", [lambda t, transition: {"children": ["held"]}])
    assert sla.sweep(ticket.timeout_at).by_kind["timed_out"] == []
    held = fresh(ticket)
    assert (held.step, held.next_check_at) == ("approve", ticket.timeout_at + sla.RETRY)
    monkeypatch.setattr(engine, "LEAVING", [])
    assert sla.sweep(held.next_check_at).by_kind["timed_out"] == [ticket.number]


def test_catch_up_gives_old_rows_a_next_check(world, clock):
    publish(flow({"sla": {"minutes": 60}}), calendar=False)
    old, ahead = create(world), create(world)
    past = clock.now - timedelta(minutes=5)
    Ticket.update(due_at=past, next_check_at=None).where(Ticket.id == old.id).execute()
    assert sla.sweep(clock.now) == [] and sla.catch_up(clock.now) == 1
    assert fresh(old).next_check_at == past and fresh(ahead).next_check_at == ahead.due_at
    assert sla.sweep(clock.now) == [old.number]


def test_the_timeline_shows_the_workers_moves_as_the_systems_in_the_readers_language(app, world, clock):
    """A timeout is the system's move with the rule's words, not the intake user's (docs/sla.md)."""
    publish(flow(TIMEOUTS["approve"], TIMEOUTS["warehouse"]), calendar=False)
    ticket = create(world)
    assert sla.sweep(ticket.timeout_at).by_kind["timed_out"] == [ticket.number]
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": "password1"}).status_code == 302
    for language, said in (("zh-CN", "超时自动流转"), ("en", "took the timeout transition")):
        html = client.get(f"/tickets/{ticket.number}", headers={"Accept-Language": language}).get_data(as_text=True)
        entry = html[html.index(said) - 200:html.index(said) + 200]
        assert "2 小时未审批, 转仓库" in html and ("系统" in entry or "System" in entry), entry


def test_a_timeout_into_a_countersign_step_gives_each_signer_one_part(world, clock):
    """The worker's move runs the step-entry hooks once, as the engine's moves do."""
    from workflows.storage.models import Signature

    sign = {"mode": "all", "of": {"type": "department", "value": "warehouse"}, "decision": "as_described",
            "pass": "yes"}
    publish(flow(TIMEOUTS["approve"], {"sign": sign}), calendar=False)
    ticket = create(world)
    assert two_workers(ticket.timeout_at)["timed_out"] == [ticket.number]
    parts = Signature.select().where(Signature.ticket == ticket.id, Signature.step == "warehouse")
    assert sorted(p.signer.username for p in parts) == ["wh1", "wh2", "wh_lead"]


def test_a_return_after_the_managers_escalation_goes_to_the_step_before(world, clock):
    """Notifying the manager leaves the ticket where it is: a return still goes back to where it came from."""
    publish(flow(warehouse={"sla": {"minutes": 60, "escalate": {"notify": "manager"}}}), calendar=False)
    ticket = to_warehouse(world)
    assert two_workers(ticket.due_at)["escalated"] == [ticket.number]
    waiting = fresh(ticket)
    engine.act(waiting.assignee, waiting.number, "return", version=waiting.version, comment="资料不全")
    back = fresh(ticket)
    assert back.step == "approve" and not [e for e in events(ticket, "escalate") if e.dwell_seconds is not None]
