"""Tags on the ticket page: the badges, the add form and the remove buttons, and their POST routes.

The rules (who may tag, which names are allowed) live in ``workflows.tickets.tags``;
this module only turns forms into calls and errors into flashed messages.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from workflows.storage.db import database
from workflows.storage.models import Ticket, User
from workflows.tickets import engine, tags
from workflows.tickets.access import can_read
from workflows.tickets.errors import EngineError, Forbidden, NotFound

bp = Blueprint("tagging", __name__)


def panel(ticket: Ticket) -> dict:
    """What the ticket page's tag section shows to the current user."""
    user = current_user.user
    return {"badges": [tags.badge(tag) for tag in tags.held(ticket)], "can_tag": tags.may_tag(user, ticket),
            "suggestions": tags.managed(), "free": tags.free_allowed()}


@bp.app_context_processor
def helpers() -> dict:
    return {"tag_panel": panel, "tag_badge": tags.badge}


def _change(number: str, change: Callable[[Ticket, str, User], bool], done: str, nothing: str):
    """Run ``change(ticket, the form's tag, user)`` in one transaction; 404/403 as the ticket page, errors flashed."""
    try:
        ticket = engine.load(number)
    except NotFound:
        abort(404)
    if not can_read(current_user.user, ticket):
        abort(403)
    try:
        with database.atomic():
            changed = change(ticket, request.form.get("tag", ""), current_user.user)
    except Forbidden:
        abort(403)
    except EngineError as error:
        flash(error.msg.render(gettext) + "".join(
            f" {m.render(gettext)}" for messages in error.fields.values() for m in messages))
    else:
        flash(done if changed else nothing)
    return redirect(url_for("tickets.detail", number=number))


@bp.post("/tickets/<number>/tags")
@login_required
def add(number: str):
    return _change(number, tags.add, gettext("Tag added."), gettext("The ticket already has this tag."))


@bp.post("/tickets/<number>/tags/remove")
@login_required
def remove(number: str):
    return _change(number, tags.remove, gettext("Tag removed."), gettext("The ticket does not have this tag."))
