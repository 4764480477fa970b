"""Call registration (来电登记) at /call, and /call?phone=NUMBER for a softphone's screen-pop.

Looks the caller up, shows the chosen process's first step, and hands the
submission to ``engine.create``; errors come back at their fields with what
was typed kept. The ticket types offered, their order and the default are the
admin's choice and the agent's last ticket (``workflows.processes.calltypes``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workflows.people import roster
from workflows.processes import calltypes
from workflows.processes import documents as docs
from workflows.reporting.queries import caller_history, customer_by_phone
from workflows.storage.models import Customer, Process, ProcessVersion, Ticket
from workflows.tickets import engine
from workflows.tickets import preview as computing
from workflows.tickets.access import unreadable
from workflows.tickets.assignment import Context, offered
from workflows.tickets.errors import EngineError, Forbidden, NotFound

from .common.labels import CHANNELS, PRIORITIES
from .common.submit import preview, submit

bp = Blueprint("calls", __name__)


def caller(phone: str | None) -> tuple[Customer | None, list[Ticket], int]:
    """The customer with this phone in any spelling (merged ones resolved), their last tickets and how many."""
    customer = customer_by_phone(current_user.user, phone)  # like /customers/ID: only customers one may see
    if customer is None:
        return None, [], 0
    return (customer, *caller_history(current_user.user, customer.id))  # only tickets the agent may open


def choices(version, step: dict) -> dict[str, list]:
    """People the agent may pick as next handler, per transition of the first step."""
    steps, people = {s["key"]: s for s in version.document["steps"]}, {}
    for transition in step.get("transitions", []):
        target = steps.get(transition["to"])
        if target is not None and "assignee" in target:  # a countersign step's signers are no pick
            found = offered(target["assignee"], Context(version.document["code"], target, current_user.user,
                                                         current_user.user))
            if found:
                people[transition["to"]] = found
    return people


def page(version, processes: list[Process], form=None, status: int = 200, values: dict | None = None):
    """The page with ``version``'s first step; ``processes``: the ticket types offered, in order."""
    values = values if values is not None else request.args
    first = version.document["steps"][0] if version else None
    if version is not None and form is None:
        form = docs.compiled(version, first["key"]).form_class(None, data={},
                                                               dictionaries=roster.with_people(docs.dictionary_indexes()),
                                                               unreadable=unreadable(current_user.user, version))
    customer, tickets, count = caller(values.get("phone"))
    return render_template("calls/register.html", processes=processes, version=version, step=first, form=form,
                           people=choices(version, first) if version else {}, values=values, customer=customer,
                           history=tickets, history_count=count, channels=CHANNELS, priorities=PRIORITIES,
                           dictionaries=docs.dictionary_indexes()), status


def chosen_version() -> tuple[ProcessVersion | None, list[Process]]:
    """The latest version of the type asked for, else of the agent's last, else of the admin's first; and the
    types offered. A type that is not offered is refused with 404 (``calltypes.choose``)."""
    offer = calltypes.offered()
    try:
        process = calltypes.choose(offer, request.values.get("process"), current_user.user)
    except NotFound:
        abort(404)
    return (docs.get_version(process.code) if process else None), offer


@bp.get("/call")
@login_required
def register():
    return page(*chosen_version())


@bp.post("/call", endpoint="submit")
@login_required
def submit_call():
    """The first step's form and the caller through the one submission; the page again if anything is refused."""
    version, offer = chosen_version()
    if version is None:
        abort(404)
    try:
        ticket, submission = submit(docs.compiled(version, version.document["steps"][0]["key"]), {},
                                    lambda data, files: _create(version, data, files), refusals=(EngineError,),
                                    unreadable=unreadable(current_user.user, version))
    except Forbidden:
        abort(403)
    if ticket is None:
        if submission.message:
            flash(submission.message)
        return page(version, offer, submission.form, submission.status, request.form)
    return redirect(url_for("calls.register", created=ticket.number, process=version.document["code"]))


@bp.post("/call/preview")
@login_required
def preview_call():
    """The call form's computed fields as typed so far (the page's live preview)."""
    version, _ = chosen_version()
    if version is None:
        abort(404)
    compiled = docs.compiled(version, version.document["steps"][0]["key"])
    return preview(compiled, {}, lambda values: computing.for_call(current_user.user, version, values),
                   unreadable(current_user.user, version))


def _create(version, data: dict, files: dict):
    transition = request.form.get("transition") or None
    return engine.create(
        current_user.user, version.document["code"], data, files=files,
        priority=request.form.get("priority") or None, channel=request.form.get("channel") or None,
        customer={"name": request.form.get("customer_name", ""), "phone": request.form.get("phone", "")},
        transition=transition, assignee=request.form.get(f"assignee_{transition}") or None)
