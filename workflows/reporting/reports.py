"""Ticket reports (工单报表) for supervisors (their team) and admins (everything).

Every figure is aggregated by the database (GROUP BY; the p90s as
:mod:`workflows.reporting.reportp90` says); Python only merges the aggregate rows.
Durations are whole seconds, stored on the ticket (``Ticket.timed``); days,
weeks (Monday to Sunday) and months are those of Asia/Shanghai (+08:00), and
so are the dates of the time range, both ends included.

Which tickets: a supervisor's report holds the tickets created by or assigned
to someone of their department subtree (the workspace's "team" tab), an
admin's every ticket; agents and handlers may not open reports (Forbidden).
The process, priority, channel and tag filters narrow the tickets. The department,
role and agent filters narrow the people: a ticket's person is its *creator*
(the agent who registered it; closed tickets have no assignee), an event's
person is its *actor*. Grouping by agent or department uses the same person.

Metrics of each group (and of the total row):

- created: tickets created in the group (by ``created_at``).
- closed: tickets closed in the group (by ``closed_at``; a reopened ticket has none).
- open at end: tickets open at the end of the group's period (the range's end
  for the non-time groups): created before it and not closed before it,
  counted as open now - created since + closed since.
- resolution rate: closed / created (None when nothing was created).
- The *cohort* of a group is its tickets by the basis the filter chooses:
  created (default) or closed in the group. Over the cohort:
  - first response: ``first_response_at - created_at`` (the first action by
    someone other than the creator), average and p90, tickets with one.
  - resolution: ``closed_at - created_at``, average and p90, closed tickets.
  - SLA breaches: tickets with ``overdue_at`` set, or that got an "overdue"
    notification (closing clears ``overdue_at``, the notification stays);
    breach rate = breaches / cohort.
  - satisfaction: average score and the count of each score 1..5.
- p90: nearest rank, the value at rank ceil(0.9 n) in ascending order.

Per step (events of the range by the people kept: a supervisor's team, narrowed by
the department, role and agent filters; on tickets the other filters keep):
dwell time is the time from entering a step (create, advance, return or
reopen into it) to leaving it (advance, return or close out of it);
transfers stay at the step. Average per step, the slowest step has the
highest; returns count the return events out of each step.

Per agent (the same events, by actor):
handled = actions taken (every event), open = open tickets assigned to them
now, average handling time = their average dwell over the steps they left.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from peewee import SQL, Expression, fn

from formbuilder import Msg
from formbuilder.fieldtypes import YEARS
from formbuilder.messages import N_
from workflows.people.org import subtree, team_ids
from workflows.reporting import reportp90 as p90
from workflows.reporting import reportsql as sql
from workflows.reporting.queries import equal_filters, process_condition, scope_condition
from workflows.reporting.reportwork import (
    StepFigures,
    Workload,
    mean,
    step_labels,
    steps,
    user_names,
    workload,
)
from workflows.storage.models import (
    Department,
    Notification,
    Process,
    Ticket,
    TicketEvent,
    User,
)
from workflows.tickets.errors import Forbidden, Invalid
from workflows.tickets.tags import tag_condition

UNITS = sql.UNITS
DIMENSIONS = (*UNITS, "agent", "department", "process", "step")
BASES = ("created", "closed")
VIEWERS = ("supervisor", "admin")  # the roles that see reports (a supervisor's of their team only)
#: The longest range a report covers: ten years of days is already 3,660 rows, and
#: a range of centuries would be hundreds of thousands (and end past year 9999).
MAX_DAYS = 3660
#: The local days a range may start and end on (the years date fields hold).
FIRST_DAY, LAST_DAY = date(YEARS[0], 1, 1), date(YEARS[1], 12, 31)


@dataclass(frozen=True)
class ReportFilters:
    """The report's criteria; None leaves one out. ``start`` and ``end`` are local dates, both included."""

    start: date
    end: date
    basis: str = "created"
    process: str | None = None
    department: str | None = None
    role: str | None = None
    agent: str | None = None
    priority: str | None = None
    channel: str | None = None
    tag: str | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        """The range as naive UTC, end excluded."""
        return (datetime.combine(self.start, time()) - sql.LOCAL_OFFSET,
                datetime.combine(self.end + timedelta(days=1), time()) - sql.LOCAL_OFFSET)


@dataclass
class Figures:
    created: int = 0
    closed: int = 0
    open_end: int = 0
    cohort: int = 0
    first_response_avg: float | None = None
    first_response_p90: int | None = None
    resolution_avg: float | None = None
    resolution_p90: int | None = None
    breaches: int = 0
    rating_avg: float | None = None
    ratings: list[int] = field(default_factory=lambda: [0] * 5)

    @property
    def resolution_rate(self) -> float | None:
        return self.closed / self.created if self.created else None

    @property
    def breach_rate(self) -> float | None:
        return self.breaches / self.cohort if self.cohort else None

    def is_empty(self) -> bool:
        return not (self.created or self.closed or self.open_end or self.cohort)


@dataclass
class Group:
    key: tuple
    labels: tuple[str, ...]
    figures: Figures


@dataclass
class Report:
    dims: tuple[str, ...]
    filters: ReportFilters
    rows: list[Group]
    total: Figures
    steps: list[StepFigures]
    workload: list[Workload]

    @property
    def slowest(self) -> StepFigures | None:
        timed = [s for s in self.steps if s.dwell_avg is not None]
        return max(timed, key=lambda s: s.dwell_avg) if timed else None


def report(viewer: User, filters: ReportFilters, dims: tuple[str, ...] = ("day",)) -> Report:
    """The report of the tickets ``viewer`` oversees; Forbidden for agents and handlers."""
    scope = _scope(viewer)
    _check(filters, dims)
    with sql.reading():
        return _report(viewer, scope, filters, dims)


def _report(viewer: User, scope: Expression | None, filters: ReportFilters, dims: tuple[str, ...]) -> Report:
    where = _ticket_where(scope, filters)
    rows, total = _figures(where, filters, dims)
    events = _ticket_where(None, replace(filters, department=None, role=None, agent=None))
    people = [ids for ids in (_people(filters), report_team(viewer)) if ids is not None]
    moves = sql.moves(events, [TicketEvent.actor.in_(ids) for ids in people], *filters.bounds())
    pairs = sql.dwell_pairs(moves)
    return Report(dims, filters, _groups(rows, dims, filters), total, steps(pairs),
                  workload(events, people, pairs, filters.bounds()))


def agent_monthly(viewer: User, start: date | datetime, end: date | datetime) -> Report:
    """The monthly per-agent report (grouped by month, then agent).

    Dates are local days, both included; datetimes are local wall times with
    the end excluded, so ``(datetime(2026, 6, 1), datetime(2026, 7, 1))`` is June.
    """
    if isinstance(end, datetime):
        end = (end - timedelta(microseconds=1)).date()
    start = start.date() if isinstance(start, datetime) else start
    return report(viewer, ReportFilters(start, end), ("month", "agent"))


def can_view_reports(user: User) -> bool:
    """Supervisors see reports of their team's tickets, admins of all; agents and handlers see none."""
    return user.role in VIEWERS


def _scope(viewer: User) -> Expression | None:
    if not can_view_reports(viewer):
        raise Forbidden(Msg(N_("Only supervisors and admins may see reports.")))
    return None if viewer.role == "admin" else scope_condition(viewer, "team")


def report_team(viewer: User) -> list[int] | None:
    """The people whose work a supervisor's per-step and per-agent figures show (None: an admin's, everyone)."""
    return None if viewer.role == "admin" else sorted(team_ids(viewer) or {viewer.id})


def _check(filters: ReportFilters, dims: tuple[str, ...]) -> None:
    """Dimensions known, at most one time unit and it comes first; a sane basis and range."""
    units = [d for d in dims if d in UNITS]
    bad = any(d not in DIMENSIONS for d in dims) or len(units) > 1 or (units and dims[0] not in UNITS)
    if bad or filters.basis not in BASES or filters.end < filters.start:
        raise Invalid(Msg(N_("Not a valid report.")))
    if not FIRST_DAY <= filters.start <= filters.end <= LAST_DAY or (filters.end - filters.start).days >= MAX_DAYS:
        msg = Msg(N_("start and end: a range of at most %(days)s days within the years %(first)s to %(last)s."),
                  {"days": MAX_DAYS, "first": YEARS[0], "last": YEARS[1]})
        raise Invalid(msg, {"start": [msg], "end": [msg]})


def _people(filters: ReportFilters):
    """Ids of the users the department, role and agent filters keep, as a subquery (None: everyone)."""
    if not (filters.department or filters.role or filters.agent):
        return None
    query = User.select(User.id)
    if filters.department:
        top = Department.select(Department.id).where(Department.code == filters.department).scalar()
        query = query.where(User.department.in_(sorted(subtree(top))))
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.agent:
        query = query.where(User.username == filters.agent)
    return query


def _ticket_where(scope: Expression | None, filters: ReportFilters) -> list[Expression]:
    """Conditions on ``ticket`` for the viewer's scope and the ticket filters (people: the creator)."""
    where = ([] if scope is None else [scope]) + equal_filters(filters, "priority", "channel")
    if filters.process:
        where.append(process_condition(filters.process))
    if filters.tag:
        where.append(tag_condition(filters.tag))
    people = _people(filters)
    if people is not None:
        where.append(Ticket.creator.in_(people))
    return where


def _grouped(dims, moment, where, *values, filters: ReportFilters | None = None) -> dict[tuple, tuple]:
    """{key: values} of the tickets under ``where``, grouped by ``dims`` (time units of ``moment``)."""
    keys = sql.group_keys(dims, moment, _span(filters))
    query = sql.tickets([*keys, *values], dims, where)
    query = query.group_by(*keys) if keys else query
    return {row[:len(keys)]: row[len(keys):] for row in query.tuples()}


def _in(column, start: datetime, end: datetime) -> Expression:
    return sql.selective((column >= start) & (column < end))


def _span(filters: ReportFilters | None) -> tuple[date, date] | None:
    return (filters.start, filters.end) if filters else None


def _figures(where: list[Expression], filters: ReportFilters,
             dims: tuple[str, ...]) -> tuple[dict[tuple, Figures], Figures]:
    """Every ticket figure per group key, and the total row.

    The groups split the tickets, so the total's counts and averages are sums
    of the groups' (no second pass over the tickets); only its p90s need their
    own query. With the created basis the cohort is the created tickets, so
    one grouped query gives both.
    """
    start, end = filters.bounds()
    found: dict[tuple, Figures] = {} if dims else {(): Figures()}
    count = fn.COUNT(SQL("*"))
    basis = Ticket.created_at if filters.basis == "created" else Ticket.closed_at
    cohort = [*where, _in(basis, start, end)]
    sums, timed = _cohort(found, dims, basis, cohort, filters)
    if filters.basis != "created":
        for key, (n,) in _grouped(dims, Ticket.created_at, [*where, _in(Ticket.created_at, start, end)],
                                  count, filters=filters).items():
            found.setdefault(key, Figures()).created = n
    for key, (n,) in _grouped(dims, Ticket.closed_at, [*where, _in(Ticket.closed_at, start, end)], count,
                              filters=filters).items():
        found.setdefault(key, Figures()).closed = n
    for figures in found.values() if filters.basis == "created" else ():
        figures.created = figures.cohort
    if dims:
        p90.groups(found, dims, basis, (where, cohort), (filters.start, filters.end, start, end), timed)
    open_end = _open_end(found, dims, filters, where)
    total = _total(found.values(), sums) if dims else found[()]
    p90.total(total, cohort, [n for _, n in sums])
    total.open_end = open_end
    return found, total


AVERAGED = ("first_response_avg", "resolution_avg", "rating_avg")


def _cohort(found: dict[tuple, Figures], dims: tuple[str, ...], basis, where: list[Expression],
            filters: ReportFilters) -> tuple[list[list[int]], dict[tuple, tuple[int, int]]]:
    """Durations, SLA breaches and satisfaction of the tickets the basis puts in each group.

    Returns the [sum, count] behind each average of :data:`AVERAGED`, summed
    over the groups, for the total row; and each group's count of tickets with
    a first response and with a resolution (the p90s' ranks).
    """
    overdue = Notification.select(SQL("1")).where(Notification.ticket == Ticket.id, Notification.kind == "overdue")
    keys = sql.group_keys(dims, basis, _span(filters))
    query, score = sql.with_rating(sql.tickets([], dims, where))
    averaged = [Ticket.first_response_seconds, Ticket.resolution_seconds, score]
    values = [fn.COUNT(SQL("*")), sql.count_if(Ticket.overdue_at.is_null(False) | fn.EXISTS(overdue)),
              *[f(v) for v in averaged for f in (fn.SUM, fn.COUNT)],
              *[sql.count_if(score == n) for n in range(1, 6)]]
    query = query.select(*keys, *values)
    sums, timed = [[0, 0] for _ in AVERAGED], {}
    for row in (query.group_by(*keys) if keys else query).tuples():
        figures = found.setdefault(tuple(row[:len(keys)]), Figures())
        n, breaches, *rest = row[len(keys):]
        figures.cohort, figures.breaches, figures.ratings = n, int(breaches or 0), [int(s or 0) for s in rest[6:]]
        timed[tuple(row[:len(keys)])] = (int(rest[1] or 0), int(rest[3] or 0))
        for i, attribute in enumerate(AVERAGED):
            total, count = int(rest[2 * i] or 0), int(rest[2 * i + 1] or 0)
            setattr(figures, attribute, mean(total, count))
            sums[i][0], sums[i][1] = sums[i][0] + total, sums[i][1] + count
    return sums, timed


def _total(groups, sums: list[list[int]]) -> Figures:
    """The total row of the groups' figures: counts added, averages from the summed sums and counts."""
    total = Figures()
    for figures in groups:
        for attribute in ("created", "closed", "cohort", "breaches"):
            setattr(total, attribute, getattr(total, attribute) + getattr(figures, attribute))
        total.ratings = [a + b for a, b in zip(total.ratings, figures.ratings, strict=True)]
    for attribute, (seconds, n) in zip(AVERAGED, sums, strict=True):
        setattr(total, attribute, mean(seconds, n))
    return total


def _open_end(found: dict[tuple, Figures], dims: tuple[str, ...], filters: ReportFilters,
              where: list[Expression]) -> int:
    """Open tickets at the end of each period: open now - created since + closed since; returns the range's.

    A pending ticket (waiting for the customer) is not closed: it counts as open.

    Counted from now backwards, so a report of recent weeks reads recent rows
    only; each earlier period end adds back what its period closed and takes
    off what it created (a loop over the aggregate rows, not over tickets).
    """
    rest = tuple(d for d in dims if d not in UNITS)
    _, end = filters.bounds()
    count = fn.COUNT(SQL("*"))
    parts = [_grouped(rest, None, [*where, condition], count)
             for condition in map(sql.selective, (Ticket.status.in_(("open", "pending")), Ticket.created_at >= end,
                                                   Ticket.closed_at >= end))]
    keys = set().union(*parts) | {key[len(dims) - len(rest):] for key in found}
    unit = dims[0] if len(dims) > len(rest) else None
    periods = _periods(filters, unit) if unit else [()]
    at_end = 0
    for key in keys:
        n = parts[0].get(key, (0,))[0] - parts[1].get(key, (0,))[0] + parts[2].get(key, (0,))[0]
        at_end += n
        for period in reversed(periods):
            figures = found.get((*period, *key))
            if n:
                (figures := found.setdefault((*period, *key), Figures())).open_end = n
            if figures is not None and unit:
                n += figures.closed - figures.created
    return at_end


def _periods(filters: ReportFilters, unit: str) -> list[tuple[str]]:
    """The keys of the days, weeks or months the range covers, in order."""
    return [(key,) for key, _ in sql.period_edges(filters.start, filters.end, unit)]


def _groups(found: dict[tuple, Figures], dims: tuple[str, ...], filters: ReportFilters) -> list[Group]:
    """The rows in order, labelled; a report by one time unit shows its empty periods too."""
    if len(dims) == 1 and dims[0] in UNITS:
        return [Group(key, key, found.get(key, Figures())) for key in _periods(filters, dims[0])]
    names = _names(dims, found)
    rows = [Group(key, tuple(names[d].get(v, "" if v is None else str(v)) for d, v in zip(dims, key, strict=True)),
                  figures) for key, figures in found.items() if not figures.is_empty()]
    return sorted(rows, key=lambda g: tuple(v if d in UNITS else g.labels[i] for i, (d, v) in
                                            enumerate(zip(dims, g.key, strict=True))))


def _names(dims: tuple[str, ...], found: dict[tuple, Figures]) -> dict[str, dict]:
    """Display names of the keys of each dimension, one query per dimension."""
    names: dict[str, dict] = {}
    for i, dim in enumerate(dims):
        values = {key[i] for key in found if key[i] is not None}
        if dim == "agent":
            names[dim] = user_names(values)
        elif dim == "department":
            names[dim] = dict(Department.select(Department.id, Department.name)
                              .where(Department.id.in_(values)).tuples()) if values else {}
        elif dim == "process":
            names[dim] = dict(Process.select(Process.id, Process.name).where(Process.id.in_(values)).tuples()
                              ) if values else {}
        else:
            names[dim] = step_labels() if dim == "step" else {v: v for v in values}
    return names


