"""Dwell p90 per step for the flow diagram coloured by time (issue 23, docs/insight.md).

The events that left a step (advance, return, close, timeout) in the period hold their dwell
(``ticket_event.dwell_seconds``, migration 0015); per step, the p90 is the nearest rank
(the value at rank ceil(0.9 n) in ascending order), computed by the database exactly as the
reports' (``reportsql.p90``). The people are the reports' too: a supervisor's figures are the
events of their team's people, an admin's everyone's; agents and handlers are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from peewee import SQL, fn

from workflows.reporting import reportsql as sql
from workflows.reporting.heatmap import latest_version, utc
from workflows.reporting.queries import process_condition
from workflows.reporting.reports import _scope, report_team
from workflows.storage.models import Ticket, TicketEvent, User

LEVELS = 5  # colour levels of the diagram, 1 (fastest) to 5 (the slowest step)


@dataclass
class StepDwell:
    key: str
    name: str
    left: int = 0  # events that left the step in the period
    p90: int | None = None  # seconds
    level: int = 0  # 0: no figure; 1..LEVELS by p90 against the slowest


@dataclass
class FlowDwell:
    process: str
    document: dict
    steps: list[StepDwell]

    @property
    def bottleneck(self) -> StepDwell | None:
        """The step with the highest p90 (the first in the flow when two tie)."""
        timed = [s for s in self.steps if s.p90 is not None]
        return max(timed, key=lambda s: s.p90) if timed else None


def _events(viewer: User, process: str, first: date, last: date):
    """The leaving events with a dwell in the local days ``first`` to ``last``, on the process, by the kept people."""
    when = sql.selective((TicketEvent.created_at >= utc(first))
                         & (TicketEvent.created_at < utc(last + timedelta(days=1))))
    query = (TicketEvent.select().join(Ticket)
             .where(process_condition(process), TicketEvent.action.in_(TicketEvent.LEAVES), when,
                    TicketEvent.dwell_seconds.is_null(False)))
    team = report_team(viewer)
    return query if team is None else query.where(TicketEvent.actor.in_(team))


def flow_dwell(viewer: User, process: str, first: date, last: date) -> FlowDwell | None:
    """Each step of the process's latest version with its p90 dwell; None for an unknown process."""
    _scope(viewer)
    version = latest_version(process)
    if version is None:
        return None
    steps = [StepDwell(str(s["key"]), str(s.get("name") or s["key"])) for s in version.document.get("steps", [])]
    by_key = {s.key: s for s in steps}
    counted = _events(viewer, process, first, last).select(TicketEvent.from_step, fn.COUNT(SQL("*")))
    for key, n in counted.group_by(TicketEvent.from_step).tuples():
        if key in by_key:
            by_key[key].left = n
    for key, value in sql.p90(_events(viewer, process, first, last), [TicketEvent.from_step],
                              TicketEvent.dwell_seconds):
        if key in by_key:
            by_key[key].p90 = int(value)
    _levels(steps)
    return FlowDwell(process, version.document, steps)


def _levels(steps: list[StepDwell]) -> None:
    """Level 1..LEVELS by the share of the slowest p90 (the slowest is LEVELS); 0 without a figure."""
    top = max((s.p90 for s in steps if s.p90 is not None), default=0)
    for s in steps:
        if s.p90 is not None:
            s.level = max(1, -(-s.p90 * LEVELS // top)) if top else 1
