"""The SQL pieces of the reports that SQLite and PostgreSQL spell differently.

Times are stored as naive UTC; the business day runs in Asia/Shanghai, which
has no daylight saving time, so a fixed +8 hours shift gives the local day,
ISO week (by its Monday) and month of a timestamp. Durations are read from
the whole seconds stored on tickets and events (``models.whole_seconds``), so
both databases give the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from peewee import JOIN, SQL, Case, ColumnBase, NodeList, PostgresqlDatabase, Select, fn

from workflows.storage.db import database
from workflows.storage.models import ProcessVersion, Rating, Ticket, TicketEvent, User

LOCAL_OFFSET = timedelta(hours=8)
UNITS = ("day", "week", "month")
Owner = User.alias("owner")


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


FEW_PERIODS = 16


def bucket(column: ColumnBase, unit: str, edges: list[tuple[str, datetime]] | None = None) -> ColumnBase:
    """The local day ('2026-01-31'), week (its Monday's date) or month ('2026-01') of ``column``, as text.

    ``edges`` are the (key, UTC start) of the periods ``column`` is known to
    fall in; when there are few, comparing against their starts replaces
    formatting a date on every row (a third of a monthly report's time on
    SQLite). Literals, not parameters, as below.
    """
    if edges and len(edges) <= FEW_PERIODS:
        whens = [(column < _literal(start), _literal(key))
                 for (key, _), (_, start) in zip(edges, edges[1:], strict=False)]
        return Case(None, [*whens, (column.is_null(False), _literal(edges[-1][0]))])
    if is_postgres():
        local = column + SQL("INTERVAL '8 hours'")
        # Literals, not parameters: PostgreSQL must see that the GROUP BY is the selected expression.
        if unit == "week":
            return fn.to_char(fn.date_trunc(SQL("'week'"), local), SQL("'YYYY-MM-DD'")).coerce(False)
        return fn.to_char(local, SQL("'YYYY-MM'" if unit == "month" else "'YYYY-MM-DD'")).coerce(False)
    if unit == "week":  # 'weekday 0' goes forward to Sunday (or stays), six days back is the Monday
        return fn.date(column, "+8 hours", "weekday 0", "-6 days").coerce(False)  # text, not a datetime
    return fn.strftime("%Y-%m" if unit == "month" else "%Y-%m-%d", column, "+8 hours").coerce(False)


def _literal(value: str | datetime) -> SQL:
    """A key or a timestamp we made (digits, dashes, colons, a space) as an SQL string literal."""
    text = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value
    if not set(text) <= set("0123456789-: "):
        raise ValueError(f"not a period key or timestamp: {text!r}")
    return SQL(f"'{text}'")


# PostgreSQL's planner, for the report's transaction alone: random pages cost little more than sequential ones
# (the SSDs a server has), so a month's range of the time index beats reading every ticket (at 10M tickets the
# default 4 chose a parallel scan of the whole table, 8 % of it wanted); and a month's rows sort in memory
# (the default 4 MB spilled 820k rows to disk). Local to the transaction: other statements keep the defaults.
PLANNER = "SELECT set_config('random_page_cost', '1.1', true), set_config('work_mem', '64MB', true)"


@contextmanager
def reading() -> Iterator[None]:
    """PostgreSQL: the report's statements in one transaction planned as :data:`PLANNER` says. SQLite: as
    they are (its write transactions are IMMEDIATE: a report must not hold the writers' lock)."""
    if not is_postgres():
        yield
        return
    with database.atomic():
        database.execute_sql(PLANNER)
        yield


def period_edges(start: date, end: date, unit: str) -> list[tuple[str, datetime]]:
    """(key, start as naive UTC) of each day, week or month from local day ``start`` to ``end``, in order."""
    edges: dict[str, datetime] = {}
    for day in (start + timedelta(days=i) for i in range((end - start).days + 1)):
        edges.setdefault(python_bucket(day, unit), datetime.combine(day, time()) - LOCAL_OFFSET)
    return list(edges.items())


def python_bucket(day: date, unit: str) -> str:
    """The key :func:`bucket` gives to any time of the local ``day``."""
    if unit == "month":
        return day.strftime("%Y-%m")
    if unit == "week":
        day -= timedelta(days=day.weekday())
    return day.isoformat()


def group_keys(dims: tuple[str, ...], moment, span: tuple[date, date] | None) -> list:
    """The GROUP BY expressions of ``dims``; time units bucket ``moment``, which lies in the local days ``span``."""
    people = {"agent": Ticket.creator, "department": Owner.department, "process": ProcessVersion.process,
              "step": Ticket.step}
    return [bucket(moment, d, period_edges(*span, d) if span else None) if d in UNITS else people[d] for d in dims]


def tickets(columns: list, dims: tuple[str, ...], where: list):
    """SELECT ``columns`` FROM ticket, joined to what the dimensions need, under ``where``."""
    query = Ticket.select(*columns)
    if "department" in dims:
        query = query.join_from(Ticket, Owner, on=(Ticket.creator == Owner.id))
    if "process" in dims:
        query = query.join_from(Ticket, ProcessVersion, on=(Ticket.process_version == ProcessVersion.id))
    return query.where(*where) if where else query


def with_rating(query: Select) -> tuple[Select, ColumnBase]:
    """``query`` (over ``ticket``) with each ticket's rating, and the column of its score.

    PostgreSQL: a lateral read of the rating index per ticket (``OFFSET 0`` keeps the planner from making it
    a join again). A hash join built the month's tickets into one table and probed it with every rating; at
    10M tickets that table (54 MB) no longer fits the CPU's caches, and the report's largest statement grew
    17x for 10x the rows (issue 24). Index reads in ticket order grow with the month's tickets alone.
    SQLite: the join (its planner reads the index per ticket already).
    """
    if not is_postgres():
        return query.join_from(Ticket, Rating, JOIN.LEFT_OUTER), Rating.score
    rated = Rating.select(Rating.score).where(Rating.ticket == Ticket.id).offset(0).alias("rated")
    return query.join_from(Ticket, rated, JOIN.LEFT_LATERAL, on=SQL("true")), rated.c.score


def selective(condition):
    """``condition``, marked for SQLite's planner as keeping few rows.

    Without it SQLite may read a whole GROUP BY key's index (every ticket, to
    skip a sort) rather than the range of a time index: its statistics do not
    tell how few tickets a range holds. PostgreSQL's do.
    """
    return condition if is_postgres() else fn.likelihood(condition, SQL("0.05"))


def unindexed(column: ColumnBase) -> ColumnBase:
    """``column`` as a term SQLite will not use an index for (unary plus), so it picks the index the other terms
    name; PostgreSQL, which plans by its statistics, gets the column."""
    return column if is_postgres() else NodeList((SQL("+"), column), glue="")


def count_if(condition) -> ColumnBase:
    return fn.SUM(Case(None, [(condition, 1)], 0))


def p90(query, keys: list[ColumnBase], value: ColumnBase) -> list[tuple]:
    """(*key, p90 of ``value``) per group of ``query``'s rows, by the nearest-rank rule.

    The p90 is the value at rank ceil(0.9 n) in ascending order: ROW_NUMBER and
    COUNT windows number each group's rows and the outer query keeps the first
    row with 10 * rank >= 9 * n. No percentile_cont, which SQLite lacks.
    """
    rows = query.select(*[k.alias(f"k{i}") for i, k in enumerate(keys)], value.alias("v")).alias("r")
    partition = [rows.c[f"k{i}"] for i in range(len(keys))] or None  # each value computed once, then ranked
    inner = Select([rows], [*(partition or []), rows.c.v,
                            fn.ROW_NUMBER().over(partition_by=partition, order_by=[rows.c.v]).alias("rn"),
                            fn.COUNT(SQL("*")).over(partition_by=partition).alias("n")]).alias("q")
    columns = [inner.c[f"k{i}"] for i in range(len(keys))]
    outer = Select([inner], [*columns, fn.MIN(inner.c.v)]).where(inner.c.rn * 10 >= inner.c.n * 9)
    if columns:
        outer = outer.group_by(*columns)
    return [row for row in outer.bind(database).tuples() if row[-1] is not None]  # no rows: one NULL


def moves(where: list, actors: list, start: datetime, end: datetime):
    """The events that left a step in the range (by the people kept, on the tickets kept), with their dwell.

    Each leaving event holds its dwell (``ticket_event.dwell_seconds``), so
    this reads the (action, created_at, actor, from_step, dwell) index only.
    """
    when = selective((TicketEvent.created_at >= start) & (TicketEvent.created_at < end))
    query = TicketEvent.select(TicketEvent.action, TicketEvent.from_step, TicketEvent.actor,
                               TicketEvent.dwell_seconds.alias("span"))
    query = query.join(Ticket).where(*where) if where else query
    return query.where(TicketEvent.action.in_(TicketEvent.LEAVES), when, *actors).alias("m")


def dwell_pairs(moves) -> list[tuple]:
    """(from_step, actor, leaving events, timed ones, their seconds summed, returns): one pass over the moves.

    The per-step and per-person figures are both sums of these few rows, so
    the costly part (finding each move's entry time) runs once, not twice.
    """
    span = moves.c.span
    query = Select([moves], [moves.c.from_step, moves.c.actor_id, fn.COUNT(SQL("*")), fn.COUNT(span), fn.SUM(span),
                             count_if(moves.c.action == "return")])
    return list(query.group_by(moves.c.from_step, moves.c.actor_id).bind(database).tuples())
