"""Per-step and per-person figures of the reports: dwell times, returns and workload.

They come from the events that left a step in the range (see
:func:`reportsql.dwell_pairs`), summed by step or by person; see
:mod:`workflows.reporting.reports` for the definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import SQL, Expression, fn

from workflows.reporting import reportsql as sql
from workflows.storage.models import Process, ProcessVersion, Ticket, TicketEvent, User

ACTIONS = ("create", "advance", "return", "transfer", "close", "reopen")
ACTIONS += ("sign",)  # each signer's part at a countersign step is their work (docs/countersign.md)


@dataclass
class StepFigures:
    step: str
    label: str
    left: int
    dwell_avg: float | None
    returns: int


@dataclass
class Workload:
    user_id: int
    username: str
    name: str
    handled: int
    open: int
    handling_avg: float | None


def rounded(value) -> float | None:
    """An average as a float (PostgreSQL gives Decimal), rounded to the millisecond or hundredth of a point."""
    return None if value is None else round(float(value), 3)


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {uid: name or username for uid, username, name in
            User.select(User.id, User.username, User.name).where(User.id.in_(ids)).tuples()}


def step_labels() -> dict[str, str]:
    """Step key -> name(s) in the latest version of each process (one query)."""
    names: dict[str, list[str]] = {}
    latest = ProcessVersion.select(ProcessVersion.document).join(Process).where(
        ProcessVersion.number == Process.latest_version)
    for (document,) in latest.tuples():
        for step in document["steps"]:
            names.setdefault(step["key"], [])
            if step["name"] not in names[step["key"]]:
                names[step["key"]].append(step["name"])
    return {key: " / ".join(found) for key, found in names.items()}


def summed(pairs: list[tuple], index: int) -> dict:
    """The dwell pairs added up by step (``index`` 0) or by person (1): [events, timed, seconds, returns]."""
    out: dict = {}
    for row in pairs:
        sums = out.setdefault(row[index], [0, 0, 0, 0])
        for i, value in enumerate(row[2:]):
            sums[i] += int(value or 0)
    return out


def mean(total: int, count: int) -> float | None:
    return rounded(total / count) if count else None


def steps(pairs: list[tuple]) -> list[StepFigures]:
    labels = step_labels()
    steps = [StepFigures(step, labels.get(step, step), n, mean(total, timed), returns)
             for step, (n, timed, total, returns) in summed(pairs, 0).items()]
    return sorted(steps, key=lambda s: s.label)


def workload(where: list[Expression], people: list, pairs: list[tuple],
             bounds: tuple[datetime, datetime]) -> list[Workload]:
    """Actions taken in the range, open (or pending) tickets assigned now and average handling time, per person."""
    start, end = bounds
    in_range = sql.selective((TicketEvent.created_at >= start) & (TicketEvent.created_at < end))
    events = TicketEvent.select(TicketEvent.actor, fn.COUNT(SQL("*")))
    events = events.join(Ticket).where(*where) if where else events
    handled = dict(events.where(TicketEvent.action.in_(ACTIONS), in_range,
                                *[TicketEvent.actor.in_(ids) for ids in people]).group_by(TicketEvent.actor).tuples())
    open_now = dict(Ticket.select(Ticket.assignee, fn.COUNT(SQL("*")))
                    .where(Ticket.status.in_(("open", "pending")), Ticket.assignee.is_null(False), *where,
                           *[Ticket.assignee.in_(ids) for ids in people])
                    .group_by(Ticket.assignee).tuples())
    timing = {actor: mean(total, timed) for actor, (_, timed, total, _) in summed(pairs, 1).items()}
    ids = (set(handled) | set(open_now)) - {None}
    people = {uid: (username, name) for uid, username, name in
              User.select(User.id, User.username, User.name).where(User.id.in_(ids)).tuples()} if ids else {}
    rows = [Workload(uid, *people[uid], handled.get(uid, 0), open_now.get(uid, 0), timing.get(uid)) for uid in ids]
    return sorted(rows, key=lambda w: (-w.handled, w.username))
