"""The monthly heat map (issue 23, docs/insight.md): tickets per value of a dictionary field x week.

For one process, one of its dictionary-backed single-value fields (``x-dictionary``, type string)
and one local (+08:00) month: the tickets created in that month, grouped by the field's value and
the ISO week (its Monday) of their creation. Weeks are cut at the month's edges: a week that
starts in the previous month counts only its days of this month, so the columns add up to
the month. The database groups (``Ticket.data[field]`` as text, the week as a CASE over the
month's week starts, the same as the reports): Python only lays the few rows out.

Who sees it is the reports' rule (``reports.can_view_reports``): a supervisor their team's tickets,
an admin every ticket; agents and handlers are refused. A field the reader may not read
(``x-readers``) is not offered, and the counts only read the versions where they may read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from peewee import SQL, fn

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.processes import documents as docs
from workflows.reporting import reportsql as sql
from workflows.reporting.reports import FIRST_DAY, LAST_DAY, _scope
from workflows.storage.models import Process, ProcessVersion, Ticket, User
from workflows.tickets import access
from workflows.tickets.errors import Invalid

OTHER = ""  # a value no longer in the dictionary keeps its stored text as its label


@dataclass(frozen=True)
class FieldChoice:
    key: str
    title: str
    dictionary: str


@dataclass
class HeatRow:
    value: str
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class HeatMap:
    process: str
    field: FieldChoice
    month: date
    weeks: list[str]  # each week's Monday, ISO date (may be in the previous month)
    rows: list[HeatRow] = field(default_factory=list)

    @property
    def week_totals(self) -> list[int]:
        return [sum(r.counts[i] for r in self.rows) for i in range(len(self.weeks))]

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)

    @property
    def top(self) -> int:
        return max((c for r in self.rows for c in r.counts), default=0)


def dictionary_fields(schema: dict) -> dict[str, FieldChoice]:
    """The single-value dictionary fields of a version's schema, in form order."""
    found = {}
    for key, spec in (schema.get("properties") or {}).items():
        if isinstance(spec, dict) and spec.get("x-dictionary") and spec.get("type") == "string":
            found[key] = FieldChoice(key, str(spec.get("title") or key), str(spec["x-dictionary"]))
    return found


def latest_version(process: str) -> ProcessVersion | None:
    return (ProcessVersion.select().join(Process)
            .where(Process.code == process, ProcessVersion.number == Process.latest_version).first())


def fields(viewer: User, process: str) -> list[FieldChoice]:
    """The fields ``viewer`` may chart for ``process``: dictionary fields of its latest version they may read."""
    _scope(viewer)
    version = latest_version(process)
    if version is None:
        return []
    hidden = access.unreadable(viewer, version)
    return [f for key, f in dictionary_fields(version.document["schema"]).items() if key not in hidden]


def readable_versions(viewer: User | None, process: str, key: str) -> list[int]:
    """Ids of the versions of ``process`` holding dictionary field ``key`` that ``viewer`` may read (None: all)."""
    versions = ProcessVersion.select().join(Process).where(Process.code == process)
    return [v.id for v in versions if key in dictionary_fields(v.document["schema"])
            and (viewer is None or key not in access.unreadable(viewer, v))]


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last local day of ``month``'s month."""
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def utc(day: date) -> datetime:
    """The naive UTC start of local ``day``."""
    return datetime.combine(day, time()) - sql.LOCAL_OFFSET


def grouped(where: list, versions: list[int], key: str, first: date, last: date) -> list[tuple[str, str, int]]:
    """(week Monday, value, count) of the tickets created on local days ``first`` to ``last`` under ``where``."""
    if not versions:
        return []
    edges = sql.period_edges(first, last, "week")
    week = sql.bucket(Ticket.created_at, "week", edges)
    value = Ticket.data[key].as_text()
    created = sql.selective((Ticket.created_at >= utc(first)) & (Ticket.created_at < utc(last + timedelta(days=1))))
    query = (Ticket.select(week, value, fn.COUNT(SQL("*")))
             .where(*where, created, Ticket.process_version.in_(versions), value.is_null(False)))
    # by position: PostgreSQL would not see a parameterised ``data ->> %s`` as the selected expression
    return [(w, v, n) for w, v, n in query.group_by(SQL("1"), SQL("2")).tuples()]


def heatmap(viewer: User, process: str, key: str, month: date) -> HeatMap:
    """The heat map ``viewer`` may see; Forbidden for agents and handlers, Invalid naming a wrong field or month."""
    scope = _scope(viewer)
    choice = next((f for f in fields(viewer, process) if f.key == key), None)
    if choice is None:
        raise Invalid(Msg(N_("field: not a dictionary field you may see.")), {"field": [Msg(N_("Not offered."))]})
    if not FIRST_DAY <= month <= LAST_DAY:
        raise Invalid(Msg(N_("month: out of range.")), {"month": [Msg(N_("Out of range."))]})
    first, last = month_bounds(month)
    weeks = [w for w, _ in sql.period_edges(first, last, "week")]
    rows = grouped([] if scope is None else [scope], readable_versions(viewer, process, key), key, first, last)
    return HeatMap(process, choice, first, weeks, _rows(rows, weeks, choice.dictionary))


def _rows(found: list[tuple[str, str, int]], weeks: list[str], dictionary: str) -> list[HeatRow]:
    """One row per value, labelled by the dictionary, the busiest first (then by label)."""
    index = docs.dictionary_indexes().get(dictionary)
    labels = index.items if index is not None else {}
    rows: dict[str, HeatRow] = {}
    for week, value, n in found:
        item = labels.get(value)
        row = rows.setdefault(value, HeatRow(value, item.label if item else value, [0] * len(weeks)))
        row.counts[weeks.index(week)] += n
    return sorted(rows.values(), key=lambda r: (-r.total, r.label, r.value))
