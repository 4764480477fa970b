"""Bulk actions on the workspace list (``POST /tickets/bulk``): wait or resume the selected tickets.

Each ticket is one ``engine.act`` call, so one transaction: a ticket the engine refuses (not
its handler, a step without ``allow_wait``, changed since the list was read, not pending) is
named on the result page with the engine's reason, and the others stay done. Nothing here
decides who may do what; the checkbox carries "NUMBER:VERSION", the version the list showed,
so a ticket someone changed meanwhile is refused like a stale page would be.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_required

from workflows.tickets import engine
from workflows.tickets.errors import EngineError

from . import pending

bp = Blueprint("bulk", __name__)
ACTIONS = ("wait", "resume")
MOST = 100  # tickets in one request: two list pages' worth


@dataclass
class Outcome:
    """One selected ticket and what became of it (``reason`` None: done)."""

    number: str
    reason: str | None = None


@bp.app_context_processor
def helpers():
    return {"pending_panel": pending.panel, "bulk_actions": ACTIONS}


def selected() -> list[tuple[str, int | None]]:
    """The checked (number, version) pairs, each ticket once; 400 naming ``tickets`` for none or too many."""
    pairs: dict[str, int | None] = {}
    for value in request.form.getlist("tickets"):
        number, colon, version = value.strip().rpartition(":")
        if not colon:  # no version: the engine refuses it, naming ``version``
            number, version = version, ""
        pairs.setdefault(number, int(version) if version.isdigit() else None)
    if not pairs or len(pairs) > MOST:
        abort(400, description=gettext("tickets: choose between 1 and %(most)s tickets.", most=MOST))
    return list(pairs.items())


def reason_of(error: EngineError) -> str:
    """The engine's message and each field's, as the ticket page flashes them."""
    return error.msg.render(gettext) + "".join(
        f" {m.render(gettext)}" for messages in error.fields.values() for m in messages)


def one(action: str, number: str, version: int | None, options: dict) -> Outcome:
    """One ticket, its own transaction: the engine's refusal becomes the outcome's reason."""
    try:
        engine.act(current_user.user, number, action, version=version, **options)
    except EngineError as error:
        return Outcome(number, reason_of(error))
    return Outcome(number)


@bp.post("/tickets/bulk")
@login_required
def act():
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400, description=gettext("action: choose wait or resume."))
    options = {"comment": (request.form.get("comment") or "").strip() or None}
    if action == "wait":
        options["until"] = pending.until_input(request.form.get("until"))
    outcomes = [one(action, number, version, options) for number, version in selected()]
    back = request.form.get("next", "")
    back = back if back.startswith("/") and back[1:2] not in ("/", "\\") else "/"  # no other site
    done = sum(o.reason is None for o in outcomes)
    return render_template("home/bulk_result.html", action=action, outcomes=outcomes, done=done, back=back)
