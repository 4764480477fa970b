"""Saved views from the workspace (``/views``): save the list as it is, rename, save into, share, delete.

The rules (whose view, who may share, which query a view may hold) and the writes with their
audit entries are ``workflows.reporting.views``; a refusal answers its status (400/422 bad
input naming the field, 403 a teammate's shared view, 404 a view the user cannot see). Picking
a view is a link to the workspace with the view's query (``home.view_link``), no POST.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, abort, redirect, request
from flask_babel import gettext
from flask_login import current_user, login_required

from workflows.reporting import views
from workflows.tickets.errors import EngineError

bp = Blueprint("views", __name__)


def refuse(error: EngineError):
    """Abort with the error's status; the description names each field at fault, as "name: message"."""
    parts = [f"{field}: {m.render(gettext)}" for field, found in error.fields.items() for m in found]
    abort(error.status, description=" ".join(parts) or error.msg.render(gettext))


def query_of_form() -> dict[str, str]:
    """The list's query string the page put into the form's ``query`` (its first value per key)."""
    found: dict[str, str] = {}
    for key, value in parse_qsl(request.form.get("query", ""), keep_blank_values=False):
        found.setdefault(key, value)
    return found


def shared_of_form() -> bool:
    return request.form.get("shared") in ("1", "on", "true")


def back_to(view) -> object:
    from .home import view_link  # home imports this module's blueprint users; a late import keeps them apart

    return redirect(view_link(current_user.user, view))


@bp.post("/views")
@login_required
def create():
    try:
        view = views.create(current_user.user, request.form.get("name", ""), query_of_form(), shared_of_form())
    except EngineError as error:
        refuse(error)
    return back_to(view)


@bp.post("/views/<int:view_id>/rename")
@login_required
def rename(view_id: int):
    try:
        view = views.update(current_user.user, view_id, name=request.form.get("name", ""))
    except EngineError as error:
        refuse(error)
    return back_to(view)


@bp.post("/views/<int:view_id>/save")
@login_required
def save(view_id: int):
    """Save the list as it is now into the view, and its sharing as the checkbox says."""
    try:
        view = views.update(current_user.user, view_id, query=query_of_form(), shared=shared_of_form())
    except EngineError as error:
        refuse(error)
    return back_to(view)


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete(view_id: int):
    try:
        views.delete(current_user.user, view_id)
    except EngineError as error:
        refuse(error)
    return redirect("/")
