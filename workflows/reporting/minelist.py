"""The list asked for most, its SQL text built once per shape: "mine", newest first, narrowed at most by the
status "open", a process and a step (issue 24).

Every workspace opens on it and API clients poll it (the list of the Redmine comparison). Its statement, a
union of four lookups, 32 columns and a join, took peewee more CPU to write than the database to run:
about 40 % of an API list on PostgreSQL. Here a :class:`~workflows.storage.prepared.Prepared` query per
shape (which statuses, whether a process, a step, a cursor) is only re-bound. Any other list (another
scope, sort, status or filter, a search, a malformed cursor) goes the general way, ``queries._page``,
which reads the same rows (``tests/test_lists.py`` compares them).
"""

from __future__ import annotations

import functools
from dataclasses import replace

from workflows.reporting import queries
from workflows.storage.models import Ticket, User, utcnow
from workflows.storage.prepared import Prepared

_PAGES: dict[tuple, Prepared] = {}  # at most 2 x 2 x 2 x 2 shapes
_NEWEST = queries.SEGMENTS["newest"][0]


def applies(scope: str, filters: queries.Filters | None, cursor: str | None, sort: str) -> bool:
    """Whether the list is of a shape built once: anything else, an odd cursor included, goes the general way."""
    filters = filters or queries.Filters()
    if scope != "mine" or sort != "newest" or filters.status not in (None, "open"):
        return False
    if replace(filters, status=None, process=None, step=None) != queries.Filters():
        return False
    return not cursor or (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18)


def page(user: User, filters: queries.Filters | None, cursor: str | None, page_size: int) -> queries.TicketPage:
    """The page as ``queries._page`` gives it, from the shape's prepared statement."""
    filters = filters or queries.Filters()
    narrowed = [value for value in (filters.process, filters.step) if value]
    args = [user.id, *narrowed, *([int(cursor)] if cursor else []), page_size + 1]
    shape = (queries.statuses_of(filters), bool(filters.process), bool(filters.step), bool(cursor))
    rows = _prepared(*shape).rows(*args)
    return queries.page_of([(ticket, _NEWEST) for ticket in rows], page_size)


def _prepared(statuses: tuple[str, ...] | None, process: bool, step: bool, after: bool) -> Prepared:
    key = (statuses, process, step, after)
    if key not in _PAGES:
        kinds = [int, *[str] * (process + step), *[int] * after, int]
        _PAGES.setdefault(key, Prepared(functools.partial(_build, *key), *kinds))
    return _PAGES[key]


def _build(statuses, process: bool, step: bool, after: bool, uid, *args):
    """The query ``queries._page`` would run for this shape, its values the ``Prepared`` arguments."""
    args = list(args)
    filters = queries.Filters(status="open" if statuses else None, process=args.pop(0) if process else None,
                              step=args.pop(0) if step else None)
    query = queries.filtered(queries.list_select().where(queries.mine_condition(User(id=uid), statuses)),
                             filters, utcnow())  # the time is read only by the overdue filter, not of this shape
    if after:
        query = query.where(Ticket.id < args.pop(0))
    return query.order_by(*_NEWEST.order()).limit(args.pop(0))
