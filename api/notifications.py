"""The caller's own notifications: a keyset-paged list, newest first, and marking them read.

Anyone else's notification id answers 404, as in the web inbox. ``text`` is
the inbox's sentence in the request's language; ``message`` is what was stored.
"""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext
from peewee import JOIN

from formbuilder import Msg
from formbuilder.messages import N_
from web.inbox import SENTENCES
from workflows.reporting.queries import cursor_id
from workflows.storage.models import Notification, Ticket
from workflows.subscribers import inbox as notices
from workflows.tickets.errors import NotFound
from workflows.tickets.present import stamp

from . import bp

PAGE = 50


def notification_json(n: Notification) -> dict:
    number = n.ticket.number if n.ticket_id else None
    text = gettext(SENTENCES[n.kind], number=number) if n.kind in SENTENCES and number else n.message
    return {"id": n.id, "kind": n.kind, "ticket": number, "message": n.message, "text": text,
            "created_at": stamp(n.created_at), "read_at": stamp(n.read_at)}


def _cursor() -> int | None:
    """The previous page's last id; a 400 naming ``cursor`` for any other text (``queries.cursor_id``)."""
    cursor = request.args.get("cursor")
    return cursor_id(cursor) if cursor else None


@bp.get("/notifications")
def notifications():
    """``?unread=1`` for unread ones only; ``?cursor=`` is the previous page's ``next_cursor``."""
    query = (Notification.select(Notification, Ticket.id, Ticket.number).join(Ticket, JOIN.LEFT_OUTER)
             .where(Notification.user == g.api_user.id))
    if request.args.get("unread") in ("1", "true"):
        query = query.where(Notification.read_at.is_null())
    cursor = _cursor()
    if cursor is not None:
        query = query.where(Notification.id < cursor)
    items = list(query.order_by(Notification.id.desc()).limit(PAGE + 1))
    next_cursor = str(items[PAGE - 1].id) if len(items) > PAGE else None
    unread = notices.unread_count(g.api_user.id)
    return jsonify(items=[notification_json(n) for n in items[:PAGE]], next_cursor=next_cursor, unread=unread)


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int):
    """Idempotent: marking an already read notification keeps its first read time."""
    if not notices.mark_read(g.api_user.id, notification_id):
        raise NotFound(Msg(N_("No notification %(id)s."), {"id": notification_id}))
    row = (Notification.select(Notification, Ticket.id, Ticket.number).join(Ticket, JOIN.LEFT_OUTER)
           .where(Notification.id == notification_id).get())
    return jsonify(notification_json(row))


@bp.post("/notifications/read-all")
def mark_all_read():
    return jsonify(marked=notices.mark_all_read(g.api_user.id))
