"""The p90 first response and resolution times of the report's groups and of its total row.

p90 is the nearest rank: the value at rank ceil(0.9 n) in ascending order.
The durations are the ticket's stored ``first_response_seconds`` and
``resolution_seconds``. Each group's count n is known from the averages, so
the rank is known before the p90 query runs; how it is found depends on the
grouping:

- the total row: ``ORDER BY ... DESC LIMIT 1 OFFSET n - rank`` keeps only the
  top tenth while the tickets are read, instead of sorting them all;
- by agent (alone or within days, weeks or months), up to :data:`WALKED`
  groups: the same query per group, which the (creator, duration, created_at)
  index answers by walking that agent's durations from the top and stopping
  at the rank: no sort at all, which keeps the monthly per-agent report linear;
- any other grouping: ROW_NUMBER and COUNT windows, a sort per duration.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from peewee import SQL, ColumnBase, Expression

from workflows.reporting import reportsql as sql
from workflows.storage.models import Ticket

P90S = ((Ticket.first_response_seconds, "first_response_p90"), (Ticket.resolution_seconds, "resolution_p90"))
WALKED = 64


def total(figures, where: list[Expression], counts: list[int]) -> None:
    """The p90s of the tickets under ``where``; ``counts``: how many have each duration."""
    for (column, attribute), n in zip(P90S, counts, strict=False):
        setattr(figures, attribute, ranked(sql.tickets([], (), [*where, column.is_null(False)]), column, n))


def ranked(query, value: ColumnBase, n: int) -> int | None:
    """The p90 of ``value`` over ``query``'s ``n`` rows, counted from the top; None when ``n`` is 0."""
    if not n:
        return None
    top = query.select(value.alias("v")).order_by(SQL("v").desc()).limit(1).offset(n - math.ceil(0.9 * n))
    found = top.scalar()
    return None if found is None else int(found)


def groups(found: dict, dims: tuple[str, ...], basis, where: tuple[list, list],
           bounds: tuple[date, date, datetime, datetime], counts: dict[tuple, tuple[int, int]]) -> None:
    """The p90s of each group, into ``found[key]``.

    ``where``: the ticket conditions without and with the range on ``basis``;
    ``bounds``: the range as local days and as UTC times; ``counts``: each
    group's number of tickets with each duration.
    """
    rest = [d for d in dims if d not in sql.UNITS]
    if rest == ["agent"] and len(counts) <= WALKED:
        _walked(found, dims, basis, where[0], bounds, counts)
        return
    keys = sql.group_keys(dims, basis, bounds[:2])
    for column, attribute in P90S:
        timed = sql.tickets([], dims, [*where[1], column.is_null(False)])
        for *key, value in sql.p90(timed, keys, column):
            setattr(found[tuple(key)], attribute, int(value))


def _walked(found: dict, dims: tuple[str, ...], basis, where: list, bounds: tuple,
            counts: dict[tuple, tuple[int, int]]) -> None:
    """One ranked query per (period, agent) group and duration, on the agent's duration index."""
    first_day, last_day, start, end = bounds
    unit = dims[0] if dims[0] in sql.UNITS else None
    edges = sql.period_edges(first_day, last_day, unit) if unit else [((), start)]
    periods = {(key,) if unit else key: (max(at, start), edges[i + 1][1] if i + 1 < len(edges) else end)
               for i, (key, at) in enumerate(edges)}
    moment = sql.unindexed(basis)  # walk the agent's duration index, not the basis' time index
    for key, ns in counts.items():
        lower, upper = periods[key[:-1]]
        kept = [*where, Ticket.creator == key[-1], moment >= lower, moment < upper]
        for (column, attribute), n in zip(P90S, ns, strict=True):
            setattr(found[key], attribute, ranked(sql.tickets([], (), [*kept, column.is_null(False)]), column, n))
