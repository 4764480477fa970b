"""Live stamps: small digests of what one reader sees, which open pages poll to learn that something changed.

A page (the workspace list, a ticket, the inbox badge in every page's menu)
asks ``GET /live`` every few seconds; the answer is computed from the database
alone (no state in any process), so any gunicorn worker on any host answers it,
and its ETag makes an unchanged answer a bodiless 304 (docs/live.md).

Each stamp is built from what the reader may already see: the rows of the list
page they have open (the same scope, filters and sort as the page, so the same
permission), their own notifications, and a ticket only if they may read it
(``access.can_read``), with the name of its last actor.
"""

from __future__ import annotations

import hashlib

from peewee import JOIN, fn

from workflows.reporting import queries
from workflows.storage.models import Customer, Notification, Ticket, TicketEvent, User, utcnow
from workflows.storage.prepared import Prepared
from workflows.tickets.access import can_read

ROW_FIELDS = (Ticket.id, Ticket.number, Ticket.version, Ticket.status, Ticket.step, Ticket.assignee,
              Ticket.priority, Ticket.overdue_at, Ticket.due_at)


def digest(*parts) -> str:
    """A short, stable digest of ``parts``: enough to tell two states apart, nothing readable in it."""
    return hashlib.blake2s("|".join(map(str, parts)).encode(), digest_size=6).hexdigest()


def row_digest(ticket: Ticket) -> str:
    """What a list row shows that an action or the SLA sweep may change (the sweep bumps no version)."""
    return digest(ticket.version, ticket.status, ticket.step, ticket.assignee_id, ticket.priority,
                  ticket.overdue_at is not None, ticket.due_at)


DEFAULT = queries.Filters(status="open")  # the workspace as it opens: open tickets, newest first, first page
PAGE = 50  # web.common.lists.PAGE: the rows the workspace shows

# Every idle page asks these, every few seconds: their SQL text is built once (workflows/storage/prepared.py),
# which halves a poll's cost; each still reads the database.
_UNREAD = Prepared(lambda uid: Notification.select(fn.COUNT(Notification.id), fn.MAX(Notification.id))
                   .where(Notification.user == uid, Notification.read_at.is_null()), int)
_MINE_ROWS = Prepared(lambda uid: queries.filtered(
    Ticket.select(*ROW_FIELDS).where(queries.mine_condition(User(id=uid), queries.UNRESOLVED)), DEFAULT, utcnow())
                      .order_by(*queries.SEGMENTS["newest"][0].order()).limit(PAGE), int)
_MINE_COUNT = Prepared(lambda uid: Ticket.select(fn.COUNT(Ticket.id))
                       .where(Ticket.status.in_(queries.UNRESOLVED),
                              queries.mine_condition(User(id=uid), queries.UNRESOLVED)), int)


def inbox(user_id: int) -> dict:
    """The reader's unread notifications: the count and the newest id, from the (user, read_at, id) index."""
    count, newest = _UNREAD.tuples(user_id)[0]
    return {"unread": count, "newest": newest or 0}


def list_rows(user: User, scope: str, filters: queries.Filters, sort: str, cursor: str | None,
              size: int) -> dict[str, str]:
    """The page of ``scope`` the reader has open, as ``{number: row digest}``.

    The same condition, filters, sort and cursor as ``queries.ticket_list`` (so
    ``Forbidden`` for a scope the role may not open), reading only the columns a
    row's digest needs: no field data, no process document, no users.
    """
    if sort not in queries.SORTS:
        sort = "newest"
    if (scope, filters, sort, cursor, size) == ("mine", DEFAULT, "newest", None, PAGE):
        return {t.number: row_digest(t) for t in _MINE_ROWS.rows(user.id)}
    condition = queries.scope_condition(user, scope, queries.statuses_of(filters))
    query = Ticket.select(*ROW_FIELDS)
    if filters.q:  # a vague text filter reads the customer joined
        query = query.join(Customer, JOIN.LEFT_OUTER)
    if condition is not None:
        query = query.where(condition)
    query = queries.filtered(query, filters, utcnow())
    return {t.number: row_digest(t) for t, _ in queries._read(query, queries.SEGMENTS[sort], cursor, size)}


def list_stamp(user: User, scope: str, filters: queries.Filters, sort: str, cursor: str | None,
               size: int) -> dict:
    """The open page's rows and the open counts of the reader's tabs (the workspace shows both)."""
    return {"rows": list_rows(user, scope, filters, sort, cursor, size), "counts": counts(user)}


def counts(user: User) -> dict[str, int]:
    """``queries.counts`` (the tabs' open tickets), each as one ``COUNT(id)`` rather than a count of a subquery."""
    found = {}
    for scope in queries.tabs(user):
        if scope == "mine":
            found[scope] = _MINE_COUNT.tuples(user.id)[0][0]
            continue
        query = Ticket.select(fn.COUNT(Ticket.id)).where(Ticket.status.in_(queries.UNRESOLVED))
        condition = queries.scope_condition(user, scope, queries.UNRESOLVED)
        found[scope] = (query.where(condition) if condition is not None else query).scalar()
    return found


def rendered_list(tickets: list[Ticket], counts: dict[str, int]) -> dict:
    """The same stamp from the rows a page has just rendered: the baseline the page compares with."""
    return {"rows": {t.number: row_digest(t) for t in tickets}, "counts": counts}


_NEWEST_EVENT = Prepared(lambda ticket_id: TicketEvent.select(fn.MAX(TicketEvent.id))
                         .where(TicketEvent.ticket == ticket_id), int)


def ticket_state(ticket: Ticket) -> str:
    """A ticket's version and its newest history row (a note or a tag bumps no version): the (ticket, id) index."""
    newest = _NEWEST_EVENT.tuples(ticket.id)[0][0] or 0
    return f"{ticket.version}.{newest}"


def ticket_stamp(user: User, number: str) -> dict | None:
    """The ticket's state and who acted on it last, or None when the reader may not read it (or it is unknown).

    None for both, so the answer says nothing about tickets the reader cannot open.
    """
    ticket = Ticket.get_or_none(Ticket.number == number)
    if ticket is None or not can_read(user, ticket):
        return None
    last = (TicketEvent.select(TicketEvent.actor).where(TicketEvent.ticket == ticket.id)
            .order_by(TicketEvent.id.desc()).first())
    actor = User.get_or_none(User.id == last.actor_id) if last and last.actor_id else None
    return {"state": ticket_state(ticket), "actor": actor.name if actor else None,
            "by_me": bool(actor and actor.id == user.id)}
