"""Bulk actions on the workspace list (``POST /tickets/bulk``): assign, transfer, tag, wait, resume or close.

The work is ``workflows.tickets.bulk.run``: each ticket one engine call, so one transaction
and one history event; a ticket the engine refuses is named on the result page with the
engine's reason, and the others stay done. Nothing here decides who may do what; the checkbox
carries "NUMBER:VERSION", the version the list showed, so a ticket someone changed meanwhile
is refused like a stale page would be. This module reads the form and draws the result.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from workflows.tickets import bulk
from workflows.tickets.bulk import ACTIONS, MOST

from . import pending

bp = Blueprint("bulk", __name__)
TITLES = {"assign": _l("Assign to someone"), "transfer": _l("Transfer"), "tag": _l("Add a tag"),
          "wait": _l("Wait for the customer"), "resume": _l("Resume"), "close": _l("Close")}
NEEDS = {"assign": "assignee", "transfer": "assignee", "tag": "tag"}  # the input each action cannot do without


@bp.app_context_processor
def helpers():
    return {"pending_panel": pending.panel, "bulk_actions": ACTIONS, "bulk_titles": TITLES}


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


def reason_of(outcome: bulk.Outcome) -> str | None:
    """The engine's message and each field's, as the ticket page flashes them; None when done."""
    return " ".join(m.render(gettext) for m in outcome.messages) or None


def options_for(action: str) -> dict:
    """The action's inputs from the form; 400 naming the input an action cannot do without."""
    options = {key: (request.form.get(key) or "").strip() or None for key in ("comment", "assignee", "tag")}
    needed = NEEDS.get(action)
    if needed and not options[needed]:
        abort(400, description=gettext("%(field)s: this field is required for this action.", field=needed))
    if action == "wait":
        options["until"] = pending.until_input(request.form.get("until"))
    return options


def safe_next(text: str) -> str:
    """A path of this site to go back to; anything else (another host, ``//x``, ``/\\x``) is the workspace."""
    return text if text.startswith("/") and text[1:2] not in ("/", "\\") else "/"


@bp.post("/tickets/bulk")
@login_required
def act():
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400, description=gettext("action: choose one of %(actions)s.", actions=", ".join(ACTIONS)))
    found = bulk.run(current_user.user, action, selected(), options_for(action))
    outcomes = [{"number": o.number, "reason": reason_of(o), "changed": o.changed} for o in found]
    done = sum(o["reason"] is None for o in outcomes)
    return render_template("home/bulk_result.html", action=action, title=TITLES[action], outcomes=outcomes,
                           done=done, back=safe_next(request.form.get("next", "")))
