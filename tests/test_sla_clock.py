"""The ticket's clock on both databases: per-priority SLAs, working-time due dates over a weekend, the
2026 National Day and Spring Festival with their 补班 days, warnings, timeouts, pauses and dwell.

The helpers here (a format 2 return-goods flow, the cn_workdays calendar, a fixed clock) serve
tests/test_pending.py and tests/test_sla_workers.py too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import example
from test_engine import REGISTER, fresh

from workflows.calendars import store
from workflows.processes import documents as docs
from workflows.storage.models import Ticket, TicketEvent
from workflows.tickets import engine, timing

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = [["09:00", "12:00"], ["13:30", "18:00"]]  # 7.5 working hours
CALENDAR = {"format": 2, "code": "cn_workdays", "name": "中国工作日", "timezone": "Asia/Shanghai",
            "hours": {d: DAY for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []},
            "holidays": "cn"}


def cst(text: str) -> datetime:
    """A Shanghai wall-clock time ``YYYY-MM-DD HH:MM`` as naive UTC, as tickets store times."""
    wall = datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
    return wall.astimezone(UTC).replace(tzinfo=None)


def flow(approve: dict | None = None, warehouse: dict | None = None) -> dict:
    """The return-goods process as format 2, with ``approve`` / ``warehouse`` keys set on those steps."""
    doc = example("return_goods.process.json")
    doc["format"] = 2
    steps = {s["key"]: s for s in doc["steps"]}
    steps["approve"].update(approve or {})
    steps["warehouse"].update(warehouse or {})
    return doc


def publish(doc: dict, calendar: bool = True) -> None:
    if calendar:
        store.save_calendar(CALENDAR)
    docs.save_process(doc, publish=True)


class Clock:
    """The engine's ``utcnow``, set by the test."""

    def __init__(self, monkeypatch, at: datetime):
        self.now = at
        monkeypatch.setattr(engine, "utcnow", lambda: self.now)

    def set(self, at: datetime) -> datetime:
        self.now = at
        return at


MONDAY = cst("2026-12-07 10:00")


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch, MONDAY)


def create(users, priority: str | None = None) -> Ticket:
    return fresh(engine.create(users["agent"], "return_goods", dict(REGISTER), priority=priority))


PER_PRIORITY = {"minutes": {"urgent": 30, "high": 120, "normal": 480}}


def test_per_priority_sla_and_a_priority_without_one(world, clock):
    publish(flow({"sla": PER_PRIORITY}), calendar=False)
    now = clock.now
    for priority, minutes in (("urgent", 30), ("high", 120), ("normal", 480)):
        ticket = create(world, priority)
        assert (ticket.due_at, ticket.next_check_at) == (now + timedelta(minutes=minutes),) * 2
    low = create(world, "low")
    assert (low.due_at, low.warn_at, low.next_check_at) == (None, None, None)


CALENDAR_CASES = [  # entered (Shanghai), minutes, due (Shanghai)
    ("2026-12-04 17:00", 120, "2026-12-07 10:00"),  # Friday evening, over the weekend
    ("2026-12-04 11:00", 480, "2026-12-07 11:30"),  # lunch break counted out: 1 + 4.5 h Friday, 2.5 h Monday
    ("2026-12-05 10:00", 30, "2026-12-07 09:30"),  # entered on a Saturday: the clock starts Monday
    ("2026-09-30 17:00", 120, "2026-10-08 10:00"),  # National Day, 1 to 7 October 2026
    ("2026-10-09 17:00", 120, "2026-10-10 10:00"),  # Saturday 10 October is a make-up working day (补班)
    ("2026-09-18 17:00", 120, "2026-09-20 10:00"),  # Sunday 20 September too
    ("2026-02-13 17:00", 120, "2026-02-14 10:00"),  # Saturday 14 February: 补班 before the Spring Festival
    ("2026-02-14 17:00", 120, "2026-02-24 10:00"),  # Spring Festival, 15 to 23 February 2026
]


@pytest.mark.parametrize(("entered", "minutes", "due"), CALENDAR_CASES)
def test_calendar_sla_in_working_time(world, entered, minutes, due):
    store.save_calendar(CALENDAR)
    step = {"key": "s", "sla": {"minutes": minutes, "calendar": "cn_workdays"}}
    ticket = Ticket(priority="normal", status="open")
    timing.enter(ticket, step, cst(entered))
    assert ticket.due_at == cst(due) and ticket.next_check_at == cst(due)


def test_warning_and_timeout_times(world):
    store.save_calendar(CALENDAR)
    step = {"key": "s", "sla": {"minutes": 450, "calendar": "cn_workdays", "warn": 0.8},
            "timeout": {"minutes": 60 * 24 * 7, "to": "$end"}}  # no calendar: plain days
    ticket = Ticket(priority="normal", status="open")
    timing.enter(ticket, step, cst("2026-12-04 09:00"))
    assert ticket.due_at == cst("2026-12-04 18:00")  # one working day
    assert ticket.warn_at == cst("2026-12-04 16:30")  # 360 working minutes
    assert ticket.timeout_at == cst("2026-12-11 09:00") and ticket.next_check_at == ticket.warn_at
    ticket.warned_at = ticket.warn_at
    timing.schedule(ticket)
    assert ticket.next_check_at == ticket.due_at
    ticket.overdue_at = ticket.due_at
    timing.schedule(ticket)
    assert ticket.next_check_at == ticket.timeout_at


def test_timeout_in_working_time(world):
    store.save_calendar(CALENDAR)
    step = {"key": "s", "timeout": {"minutes": 900, "to": "$end", "calendar": "cn_workdays"}}
    ticket = Ticket(priority="normal", status="open")
    timing.enter(ticket, step, cst("2026-09-30 09:00"))
    assert ticket.due_at is None and ticket.timeout_at == cst("2026-10-08 18:00")  # two working days


def wait(world, ticket: Ticket, until: datetime | None = None) -> Ticket:
    engine.act(world[ticket.assignee.username], ticket.number, "wait", version=ticket.version,
               comment="等客户补充照片", until=until)
    return fresh(ticket)


def resume(world, ticket: Ticket) -> Ticket:
    engine.act(world[ticket.assignee.username], ticket.number, "resume", version=ticket.version)
    return fresh(ticket)


WAITS = [  # entered, waited, resumed (Shanghai), due before, due after
    ("2026-12-04 10:00", "2026-12-04 16:00", "2026-12-07 11:00", "2026-12-07 10:30", "2026-12-07 16:00"),
    ("2026-12-04 10:00", "2026-12-05 09:00", "2026-12-06 20:00", "2026-12-07 10:30", "2026-12-07 10:30"),
    ("2026-09-30 10:00", "2026-09-30 17:00", "2026-10-08 10:00", "2026-10-08 10:30", "2026-10-08 14:00"),
    ("2026-10-09 10:00", "2026-10-09 17:00", "2026-10-12 09:00", "2026-10-10 10:30", "2026-10-12 11:30"),
]


@pytest.mark.parametrize(("entered", "waited", "resumed", "before", "after"), WAITS)
def test_a_wait_moves_the_due_time_by_the_paused_working_time(world, clock, entered, waited, resumed, before, after):
    """Resumed on Monday 11:00 after waiting from Friday 16:00: 2 h Friday + 2 h Monday paused; a wait
    over the weekend only pauses nothing; over National Day only the working hours around it count."""
    publish(flow({"sla": {"minutes": 480, "calendar": "cn_workdays", "warn": 0.5}, "allow_wait": True}))
    clock.set(cst(entered))
    ticket = create(world)
    assert ticket.due_at == cst(before)
    clock.set(cst(waited))
    ticket = wait(world, ticket)
    assert (ticket.status, ticket.pending_since, ticket.pending_until, ticket.next_check_at) == (
        "pending", cst(waited), None, None)
    clock.set(cst(resumed))
    ticket = resume(world, ticket)
    assert (ticket.status, ticket.due_at, ticket.pending_since) == ("open", cst(after), None)
    paused = store.worktime("cn_workdays").seconds_between(cst(waited), cst(resumed))
    assert ticket.warn_at == store.worktime("cn_workdays").add(cst(entered), 240 + paused / 60)
    assert ticket.next_check_at == min(ticket.warn_at, ticket.due_at)


def test_a_ticket_already_overdue_keeps_its_due_time(world, clock):
    publish(flow({"sla": {"minutes": 60}, "allow_wait": True}), calendar=False)
    ticket = create(world)
    Ticket.update(overdue_at=ticket.due_at).where(Ticket.id == ticket.id).execute()
    clock.set(clock.now + timedelta(hours=3))
    ticket = resume(world, wait(world, fresh(ticket)))
    assert ticket.due_at == ticket.overdue_at and ticket.next_check_at is None


def test_the_timeout_runs_on_while_pending(world, clock):
    publish(flow({"allow_wait": True, "sla": {"minutes": 60},
                  "timeout": {"minutes": 600, "to": "$end", "label": "10 小时无回复自动结单"}}), calendar=False)
    ticket = create(world)
    timeout_at = ticket.timeout_at
    clock.set(clock.now + timedelta(minutes=30))
    ticket = wait(world, ticket, until=clock.now + timedelta(hours=20))
    assert ticket.next_check_at == timeout_at  # before the end of the wait, and the SLA is stopped
    clock.set(clock.now + timedelta(hours=2))
    ticket = resume(world, ticket)
    assert ticket.timeout_at == timeout_at and ticket.due_at == ticket.entered_at + timedelta(hours=3)


def test_dwell_counts_working_seconds_of_the_steps_calendar(world, clock):
    publish(flow({"sla": {"minutes": 480, "calendar": "cn_workdays"}}))
    clock.set(cst("2026-12-04 17:00"))
    ticket = create(world)
    clock.set(cst("2026-12-07 10:00"))
    engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version, data={"approval": "approve"},
               transition="warehouse")
    left = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "advance")
    assert left.dwell_seconds == 2 * 3600  # Friday 17-18 and Monday 9-10; the warehouse step has no calendar
    assert timing.dwell(fresh(ticket), "warehouse", cst("2026-12-04 17:00"), cst("2026-12-07 10:00")) == 65 * 3600


def test_a_rule_that_raises_the_priority_moves_the_due_time_with_it(world, clock):
    """A VIP caller made urgent by an automation rule on creation gets the urgent SLA, not the normal one."""
    from test_automation import rule

    publish(flow({"sla": {**PER_PRIORITY, "warn": 0.5}}), calendar=False)
    rule("VIP 加急", actions=[{"type": "set_priority", "priority": "urgent"}])
    ticket = create(world)
    assert ticket.priority == "urgent"
    assert (ticket.due_at, ticket.warn_at, ticket.next_check_at) == (
        clock.now + timedelta(minutes=30), clock.now + timedelta(minutes=15), clock.now + timedelta(minutes=15))


def test_a_new_priority_keeps_the_working_time_already_waited_out():
    """Due 480 + 60 waited minutes after entry at normal; urgent makes it 30 + the same 60."""
    from workflows.storage.models import Ticket
    from workflows.tickets import timing

    entered = datetime(2026, 12, 7, 1, 0)
    ticket = Ticket(status="open", priority="urgent", entered_at=entered, due_at=entered + timedelta(minutes=540))
    timing.reprioritised(ticket, {"sla": PER_PRIORITY}, "normal")
    assert ticket.due_at == entered + timedelta(minutes=90) == ticket.next_check_at
    timing.reprioritised(ticket, {"sla": PER_PRIORITY}, "urgent")  # the same priority again changes nothing
    assert ticket.due_at == entered + timedelta(minutes=90)
