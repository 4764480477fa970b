"""The supervisor's dashboard on the workspace: open, overdue, due soon, created today, queues per step.

Everything is counted by the database: one query for the four figures
(conditional counts over the scope's tickets) and one GROUP BY for the step
queues; the few process versions those queues name are kept per configuration stamp.
Supervisors see their team (the list's "team" scope), admins everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from peewee import Case, Expression, fn

from workflows.reporting.queries import overdue_condition, scope_condition, versions_by_id
from workflows.storage.models import Ticket, User, utcnow

DUE_SOON = timedelta(hours=2)  # a ticket due sooner than this is "due soon", on the list and the dashboard
LOCAL = ZoneInfo("Asia/Shanghai")
ROLES = {"supervisor": "team", "admin": "all"}


@dataclass(frozen=True)
class Dashboard:
    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    created_today: int = 0
    queues: list[tuple[str, str, int]] = field(default_factory=list)  # process name, step name, open tickets


def due_state(ticket: Ticket, now: datetime) -> str | None:
    """The list's badge of one ticket: overdue (flagged by the SLA sweep, or past due), soon, or None.

    "soon" is due within DUE_SOON, as the dashboard counts; a closed ticket is neither, whatever its times.
    """
    if ticket.status != "open":
        return None
    if ticket.overdue_at is not None or (ticket.due_at is not None and ticket.due_at < now):
        return "overdue"
    if ticket.due_at is not None and ticket.due_at - now <= DUE_SOON:
        return "soon"
    return None


def shows_dashboard(user: User) -> bool:
    return user.role in ROLES


def day_start(now: datetime) -> datetime:
    """The start of ``now``'s day in Shanghai, as naive UTC like every stored time."""
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL)
    start = datetime.combine(local.date(), time(), tzinfo=LOCAL)
    return start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _count(condition: Expression):
    return fn.COUNT(Case(None, [(condition, 1)]))


def figures(user: User, now: datetime | None = None) -> Dashboard | None:
    """The dashboard of ``user``'s scope at ``now`` (naive UTC); None for roles without one."""
    if not shows_dashboard(user):
        return None
    scope = scope_condition(user, ROLES[user.role])
    row = four(scope, now or utcnow()).tuples().get()
    return Dashboard(*(value or 0 for value in row), queues=queues(scope))


def four(scope: Expression | None, now: datetime):
    """Open, overdue, due soon, created today: one query over the open tickets and today's only, by the
    status and creation indexes, not every ticket the team ever had (a service team's whole history was
    read at each workspace page of its supervisors)."""
    is_open = Ticket.status == "open"
    overdue = is_open & overdue_condition(now)
    soon = is_open & Ticket.overdue_at.is_null() & (Ticket.due_at >= now) & (Ticket.due_at < now + DUE_SOON)
    today = (Ticket.created_at >= day_start(now)) & (Ticket.created_at < day_start(now) + timedelta(days=1))
    query = Ticket.select(_count(is_open), _count(overdue), _count(soon), _count(today)).where(is_open | today)
    return query.where(scope) if scope is not None else query


def queues(scope: Expression | None) -> list[tuple[str, str, int]]:
    """Open tickets per (process, step), largest queue first; versions of one process add up."""
    query = (Ticket.select(Ticket.process_version, Ticket.step, fn.COUNT(Ticket.id))
             .where(Ticket.status == "open").group_by(Ticket.process_version, Ticket.step))
    rows = list((query.where(scope) if scope is not None else query).tuples())
    versions = versions_by_id({r[0] for r in rows})
    totals: dict[tuple[str, str], int] = {}
    for version_id, step, count in rows:
        document = versions[version_id].document
        name = next((s["name"] for s in document["steps"] if s["key"] == step), step)
        totals[(document["name"], name)] = totals.get((document["name"], name), 0) + count
    return sorted(((p, s, n) for (p, s), n in totals.items()), key=lambda item: (-item[2], item[0], item[1]))
