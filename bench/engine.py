"""Benchmark: a ticket created and advanced one step through the engine vs the same writes in plain peewee.

The engine side is what every path runs: ``engine.create`` by an agent (the
caller found by phone), then ``engine.act(..., "advance")`` by the supervisor
the round-robin picked. The floor performs the rows the engine writes, traced
once with peewee's query log, with plain peewee and nothing else: per ticket
one transaction for the create (daily number counter, assignment cursor,
ticket, notification, event) and one for the advance (versioned ticket update,
assignment cursor, notification, event). Blocks of tickets alternate between
the sides; the figure is the median of the paired block ratios (target <= 1.3, issue 24; it was 1.5).

Run ``python -m bench.engine [--quick] [--db sqlite|postgresql|both] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import logging
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bench.http import DATA  # the register step's values, as the HTTP floor posts them
from bench.results import Figure
from bench.seeding import ROOT, bulk, customer_rows, migrated, phone_of, resequence
from workflows.storage import db as lzdb
from workflows.storage.models import (
    AssignmentCursor,
    Customer,
    CustomerPhone,
    Notification,
    Ticket,
    TicketEvent,
    TicketSequence,
    User,
    utcnow,
)
from workflows.tickets import engine

APPROVAL = {"approval": "approve"}
CUSTOMERS = 300
TARGET = 1.3  # engine / floor, at most


@dataclass
class World:
    """What both sides share, read once: the actors, the validated data and the ids the floor writes."""

    agent: User
    users: dict[int, User]
    version: int
    data: dict
    approved: dict
    supervisors: list[int]
    warehouse: list[int]
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


def world() -> World:
    """Seed customers, push one ticket through the engine to learn the stored data, read the actors."""
    customers, phones = customer_rows(1, CUSTOMERS)
    with lzdb.database.atomic():
        bulk(Customer, customers)
        bulk(CustomerPhone, phones)
    resequence()
    agent = User.get(User.username == "agent")
    users = {u.id: u for u in User.select()}
    ticket = engine.create(agent, "return_goods", DATA, customer={"phone": phone_of(1)}, channel="phone")
    done = engine.act(users[ticket.assignee_id], ticket.number, "advance", version=ticket.version, data=APPROVAL)
    return World(agent, users, ticket.process_version_id, ticket.data, done.data,
                 [u.id for u in users.values() if u.role == "supervisor"],
                 [u.id for u in users.values() if u.department_id == done.assignee.department_id])


def through_engine(w: World) -> None:
    """One ticket as an agent registers it and its approver passes it on."""
    phone = phone_of(next(w.counter) % CUSTOMERS + 1)
    ticket = engine.create(w.agent, "return_goods", DATA, customer={"phone": phone}, channel="phone")
    engine.act(w.users[ticket.assignee_id], ticket.number, "advance", version=ticket.version, data=APPROVAL)


def _number() -> str:
    """The daily counter, as ``workflows.tickets.numbers`` takes it: the floor writes the same rows."""
    day = utcnow().strftime("%Y%m%d")
    TicketSequence.insert(prefix="FL", day=day, value=0).on_conflict_ignore().execute()
    TicketSequence.update(value=TicketSequence.value + 1).where(TicketSequence.prefix == "FL",
                                                                TicketSequence.day == day).execute()
    value = TicketSequence.select(TicketSequence.value).where(TicketSequence.prefix == "FL",
                                                              TicketSequence.day == day).scalar()
    return f"FL{day}{value:04d}"


def _writes(ticket: int, number: str, action: str, steps: tuple[str, str], actor: int, who: tuple, data: dict) -> None:
    """The cursor, notification and event rows that follow every create or advance."""
    AssignmentCursor.update(last_user=who[1]).where(AssignmentCursor.scope == f"return_goods:{steps[1]}").execute()
    Notification.insert(user=who[1], ticket=ticket, kind="assigned", message=f"{number}: {action}").execute()
    TicketEvent.insert(ticket=ticket, action=action, from_step=steps[0], to_step=steps[1], actor=actor,
                       assignee_before=who[0], assignee_after=who[1], diff=data).execute()


def through_floor(w: World) -> None:
    """The same ticket's rows, written with plain peewee: one transaction for the create, one for the advance."""
    n = next(w.counter)
    approver, receiver = w.supervisors[n % len(w.supervisors)], w.warehouse[n % len(w.warehouse)]
    now = utcnow()
    with lzdb.database.atomic():
        number = _number()
        ticket = Ticket.insert(number=number, process_version=w.version, step="approve", assignee=approver,
                               creator=w.agent.id, customer=n % CUSTOMERS + 1, channel="phone", data=w.data,
                               created_at=now, updated_at=now, entered_at=now,
                               due_at=now + timedelta(minutes=240)).execute()
        _writes(ticket, number, "create", ("register", "approve"), w.agent.id, (None, approver), w.data)
    with lzdb.database.atomic():
        now = utcnow()
        Ticket.update(step="warehouse", assignee=receiver, data=w.approved, version=2, updated_at=now, entered_at=now,
                      due_at=now + timedelta(minutes=4320), first_response_at=now).where(
            Ticket.id == ticket, Ticket.version == 1).execute()
        _writes(ticket, number, "advance", ("approve", "warehouse"), approver, (approver, receiver), APPROVAL)


def timed(run: Callable[[World], None], w: World, n: int) -> float:
    """Seconds per ticket over ``n`` tickets."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        run(w)
    return (time.perf_counter() - start) / n


def measure(w: World, block: int, rounds: int, blocks: int) -> tuple[list[float], list[float]]:
    """Per-block seconds per ticket of each side, paired; who goes first alternates between rounds."""
    timed(through_engine, w, block)  # warm-up: compiled steps, prepared caches
    timed(through_floor, w, block)
    sides: dict[str, list[float]] = {"engine": [], "floor": []}
    for i in range(rounds):
        order = ("engine", "floor") if i % 2 == 0 else ("floor", "engine")
        for _ in range(blocks):
            for side in order:
                sides[side].append(timed(through_engine if side == "engine" else through_floor, w, block))
    return sides["engine"], sides["floor"]


class _Count(logging.Handler):
    """Counts the statements peewee logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.seen += 1


def statements(run: Callable[[World], None], w: World, n: int = 10) -> float:
    """SQL statements per ticket of one side, from peewee's query log."""
    logger, counter = logging.getLogger("peewee"), _Count()
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        for _ in range(n):
            run(w)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return counter.seen / n


def profile(w: World, n: int = 40, top: int = 25) -> str:
    """Where the engine side spends its time: cProfile over ``n`` tickets, project functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(timed, through_engine, w, n)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"(workflows|formbuilder)/", top)
    return "\n".join(line.replace(str(ROOT) + "/", "") for line in out.getvalue().splitlines())


def run(kind: str, quick: bool, want_profile: bool = False) -> tuple[Figure, str]:
    """Engine / floor on a fresh database of ``kind``; the profile text when asked for or over the target."""
    drops: list = []
    try:
        migrated(kind, drops)
        with lzdb.database.connection_context():
            w = world()
            eng, flo = measure(w, 10 if quick else 25, 3 if quick else 5, 2 if quick else 4)
            ratio = statistics.median(e / f for e, f in zip(eng, flo, strict=True))
            text = profile(w) if want_profile or ratio > TARGET else ""
            counts = statements(through_engine, w), statements(through_floor, w)
        value = (f"{statistics.median(eng) * 1000:.2f} ms vs {statistics.median(flo) * 1000:.2f} ms per ticket, "
                 f"{counts[0]:.0f} vs {counts[1]:.0f} SQL statements ({len(eng)} blocks)")
        return Figure("engine", kind, "create + advance", value, ratio, TARGET), text
    finally:
        for drop in drops:
            drop()


def bench(kinds: list[str], quick: bool, want_profile: bool = False) -> tuple[list[Figure], str]:
    figures, notes = [], []
    for kind in kinds:
        figure, text = run(kind, quick, want_profile)
        print(figure.line(), flush=True)
        figures.append(figure)
        if text:
            notes.append(f"Engine profile on {kind} (cProfile, 40 tickets, project functions by cumulative time):"
                         "\n\n```\n" + text.strip() + "\n```")
    return figures, "\n\n".join(notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--profile", action="store_true", help="print the engine side's cProfile even when on target")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    _, notes = bench(kinds, args.quick, args.profile)
    if notes:
        print(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
