"""Ticket reports (工单报表) for supervisors (their team) and admins (everything).

Every figure is aggregated by the database (GROUP BY, and ROW_NUMBER/COUNT
windows for the p90s); Python only merges the aggregate rows. Durations are in
seconds; days, weeks (Monday to Sunday) and months are those of Asia/Shanghai
(+08:00), and so are the dates of the time range, both ends included.

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

from peewee import JOIN, SQL, Expression, fn

from formbuilder import Msg
from formbuilder.messages import N_

from . import reportsql as sql
from .errors import Forbidden, Invalid
from .models import Department, Notification, Process, ProcessVersion, Rating, Ticket, TicketEvent, User
from .org import subtree, team_ids
from .queries import scope_condition
from .reportwork import StepFigures, Workload, mean, step_labels, steps, user_names, workload
from .tags import tag_condition

UNITS = ("day", "week", "month")
DIMENSIONS = (*UNITS, "agent", "department", "process", "step")
BASES = ("created", "closed")


Owner = User.alias("owner")


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
    where = _ticket_where(scope, filters)
    rows, total = _figures(where, filters, dims)
    events = _ticket_where(None, replace(filters, department=None, role=None, agent=None))
    people = [ids for ids in (_people(filters), _team(viewer)) if ids is not None]
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


def _scope(viewer: User) -> Expression | None:
    if viewer.role == "admin":
        return None
    if viewer.role != "supervisor":
        raise Forbidden(Msg(N_("Only supervisors and admins may see reports.")))
    return scope_condition(viewer, "team")


def _team(viewer: User) -> list[int] | None:
    """The people whose work a supervisor's per-step and per-agent figures show (None: an admin's, everyone)."""
    return None if viewer.role == "admin" else sorted(team_ids(viewer) or {viewer.id})


def _check(filters: ReportFilters, dims: tuple[str, ...]) -> None:
    """Dimensions known, at most one time unit and it comes first; a sane basis and range."""
    units = [d for d in dims if d in UNITS]
    bad = any(d not in DIMENSIONS for d in dims) or len(units) > 1 or (units and dims[0] not in UNITS)
    if bad or filters.basis not in BASES or filters.end < filters.start:
        raise Invalid(Msg(N_("Not a valid report.")))


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
    where = [] if scope is None else [scope]
    if filters.process:
        versions = ProcessVersion.select(ProcessVersion.id).join(Process).where(Process.code == filters.process)
        where.append(Ticket.process_version.in_(versions))
    if filters.priority:
        where.append(Ticket.priority == filters.priority)
    if filters.channel:
        where.append(Ticket.channel == filters.channel)
    if filters.tag:
        where.append(tag_condition(filters.tag))
    people = _people(filters)
    if people is not None:
        where.append(Ticket.creator.in_(people))
    return where


def _keys(dims: tuple[str, ...], moment, filters: ReportFilters | None) -> list:
    """The GROUP BY expressions of ``dims``; time units bucket ``moment``, which lies in the filters' range."""
    people = {"agent": Ticket.creator, "department": Owner.department, "process": ProcessVersion.process,
              "step": Ticket.step}
    return [sql.bucket(moment, d, sql.period_edges(filters.start, filters.end, d) if filters else None)
            if d in UNITS else people[d] for d in dims]


def _tickets(columns: list, dims: tuple[str, ...], where: list[Expression]):
    """SELECT ``columns`` FROM ticket, joined to what the dimensions need, under ``where``."""
    query = Ticket.select(*columns)
    if "department" in dims:
        query = query.join_from(Ticket, Owner, on=(Ticket.creator == Owner.id))
    if "process" in dims:
        query = query.join_from(Ticket, ProcessVersion, on=(Ticket.process_version == ProcessVersion.id))
    return query.where(*where) if where else query


def _grouped(dims, moment, where, *values, filters: ReportFilters | None = None) -> dict[tuple, tuple]:
    """{key: values} of the tickets under ``where``, grouped by ``dims`` (time units of ``moment``)."""
    keys = _keys(dims, moment, filters)
    query = _tickets([*keys, *values], dims, where)
    query = query.group_by(*keys) if keys else query
    return {row[:len(keys)]: row[len(keys):] for row in query.tuples()}


def _in(column, start: datetime, end: datetime) -> Expression:
    return sql.selective((column >= start) & (column < end))


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
    sums = _cohort(found, dims, basis, cohort, filters)
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
        _p90s(found, dims, basis, cohort, filters)
    open_end = _open_end(found, dims, filters, where)
    total = _total(found.values(), sums) if dims else found[()]
    _total_p90s(total, cohort, sums)
    total.open_end = open_end
    return found, total


FIRST_RESPONSE = (Ticket.first_response_at, Ticket.created_at)
RESOLUTION = (Ticket.closed_at, Ticket.created_at)
AVERAGED = ("first_response_avg", "resolution_avg", "rating_avg")
P90S = ((Ticket.first_response_at, "first_response_p90"), (Ticket.closed_at, "resolution_p90"))  # as AVERAGED


def _cohort(found: dict[tuple, Figures], dims: tuple[str, ...], basis, where: list[Expression],
            filters: ReportFilters) -> list[list[int]]:
    """Durations, SLA breaches and satisfaction of the tickets the basis puts in each group.

    Returns the [sum, count] behind each average of :data:`AVERAGED`, summed
    over the groups, for the total row.
    """
    overdue = Notification.select(SQL("1")).where(Notification.ticket == Ticket.id, Notification.kind == "overdue")
    averaged = [sql.seconds(*FIRST_RESPONSE), sql.seconds(*RESOLUTION), Rating.score]
    values = [fn.COUNT(SQL("*")), sql.count_if(Ticket.overdue_at.is_null(False) | fn.EXISTS(overdue)),
              *[f(v) for v in averaged for f in (fn.SUM, fn.COUNT)],
              *[sql.count_if(Rating.score == score) for score in range(1, 6)]]
    keys = _keys(dims, basis, filters)
    query = _tickets([*keys, *values], dims, where).join_from(Ticket, Rating, JOIN.LEFT_OUTER)
    sums = [[0, 0] for _ in AVERAGED]
    for row in (query.group_by(*keys) if keys else query).tuples():
        figures = found.setdefault(tuple(row[:len(keys)]), Figures())
        n, breaches, *rest = row[len(keys):]
        figures.cohort, figures.breaches, figures.ratings = n, int(breaches or 0), [int(s or 0) for s in rest[6:]]
        for i, attribute in enumerate(AVERAGED):
            total, timed = int(rest[2 * i] or 0), int(rest[2 * i + 1] or 0)
            setattr(figures, attribute, mean(total, timed))
            sums[i][0], sums[i][1] = sums[i][0] + total, sums[i][1] + timed
    return sums


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


def _p90s(found: dict[tuple, Figures], dims: tuple[str, ...], basis, where: list[Expression],
          filters: ReportFilters) -> None:
    """The p90 first response and resolution of each group's cohort (a window query each)."""
    keys = _keys(dims, basis, filters)
    for later, attribute in P90S:
        timed = _tickets([], dims, [*where, later.is_null(False)])
        for *key, value in sql.p90(timed, keys, sql.seconds(later, Ticket.created_at)):
            setattr(found.setdefault(tuple(key), Figures()), attribute, int(value))


def _total_p90s(total: Figures, where: list[Expression], sums: list[list[int]]) -> None:
    """The total row's p90s: the count of timed tickets is known from the averages, so the rank is too.

    With the rank known the database keeps only the top tenth while it reads
    (ORDER BY ... DESC LIMIT 1 OFFSET), not a sort of every ticket.
    """
    for (later, attribute), (_, n) in zip(P90S, sums, strict=False):
        timed = _tickets([], (), [*where, later.is_null(False)])
        total_value = sql.p90_of(timed, sql.seconds(later, Ticket.created_at), n)
        setattr(total, attribute, total_value)


def _open_end(found: dict[tuple, Figures], dims: tuple[str, ...], filters: ReportFilters,
              where: list[Expression]) -> int:
    """Open tickets at the end of each period: open now - created since + closed since; returns the range's.

    Counted from now backwards, so a report of recent weeks reads recent rows
    only; each earlier period end adds back what its period closed and takes
    off what it created (a loop over the aggregate rows, not over tickets).
    """
    rest = tuple(d for d in dims if d not in UNITS)
    _, end = filters.bounds()
    count = fn.COUNT(SQL("*"))
    parts = [_grouped(rest, None, [*where, condition], count)
             for condition in map(sql.selective, (Ticket.status == "open", Ticket.created_at >= end,
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


