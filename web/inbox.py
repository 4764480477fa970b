"""In-app notifications (消息提醒) at /inbox: one sentence per kind, marked read one by one or all at once.

A user only ever reads or marks their own notifications; anyone else's id is a 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from peewee import JOIN

from formbuilder.messages import N_
from workflows.reporting.queries import cursor_id
from workflows.storage.models import Notification, Ticket
from workflows.subscribers import inbox as notices
from workflows.tickets.errors import EngineError

bp = Blueprint("inbox", __name__)
PAGE = 50
SENTENCES = {
    "assigned": N_("Ticket %(number)s was assigned to you."),
    "returned": N_("Ticket %(number)s was returned to you."),
    "transferred": N_("Ticket %(number)s was transferred to you."),
    "overdue": N_("Ticket %(number)s is overdue."),
    "sla_warning": N_("Ticket %(number)s has used most of its SLA."),
    "escalated": N_("Ticket %(number)s is overdue and was escalated to you."),
    "mentioned": N_("You were mentioned on ticket %(number)s."),
    "cc": N_("You were CC'd on ticket %(number)s."),
    "closed": N_("Your ticket %(number)s was closed."),
    "reopened": N_("Ticket %(number)s was reopened and is back with you."),
    "reply": N_("The customer replied on ticket %(number)s."),
    "children_closed": N_("The child tickets of %(number)s are all closed: it may move on."),
}
SHOWS = ("all", "unread")


def unread() -> int:
    """The current user's unread notifications (0 when anonymous), counted once per request."""
    if not current_user.is_authenticated:
        return 0
    if "lz_unread" not in g:
        g.lz_unread = notices.unread_count(current_user.user.id)
    return g.lz_unread


def _page(show: str, cursor: str | None) -> tuple[list[Notification], str | None]:
    query = (Notification.select(Notification, Ticket.id, Ticket.number).join(Ticket, JOIN.LEFT_OUTER)
             .where(Notification.user == current_user.user.id))
    if show == "unread":
        query = query.where(Notification.read_at.is_null())
    if cursor:
        try:
            query = query.where(Notification.id < cursor_id(cursor))
        except EngineError as error:
            abort(400, description=error.msg.render(gettext))
    items = list(query.order_by(Notification.id.desc()).limit(PAGE + 1))
    return items[:PAGE], str(items[PAGE - 1].id) if len(items) > PAGE else None


@bp.get("/inbox")
@login_required
def index():
    show = request.args.get("show") if request.args.get("show") in SHOWS else "all"
    items, next_cursor = _page(show, request.args.get("cursor"))
    return render_template("inbox/index.html", items=items, show=show, sentences=SENTENCES,
                           next_url=url_for("inbox.index", show=show, cursor=next_cursor) if next_cursor else None,
                           first_url=url_for("inbox.index", show=show) if request.args.get("cursor") else None)


def _back():
    show = request.form.get("show")
    return redirect(url_for("inbox.index", show=show if show in SHOWS else None))


@bp.post("/inbox/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    if not notices.mark_read(current_user.user.id, notification_id):
        abort(404)
    return _back()


@bp.post("/inbox/read-all")
@login_required
def mark_all_read():
    if notices.mark_all_read(current_user.user.id):
        flash(gettext("All notifications are marked read."))
    return _back()


def init_app(app) -> None:
    app.jinja_env.globals["lz_unread"] = unread
    app.register_blueprint(bp)
