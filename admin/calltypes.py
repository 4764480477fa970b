"""The call page's ticket types (``/admin/call-types``): which published processes agents register, in order.

One form, no script: a checkbox per published process, a position number per row and an up and a down
button on each offered row (a button saves the form as shown with that row moved). The rule and the
setting are :mod:`workflows.processes.calltypes`; a save is one transaction with its audit entry. Access is
decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from workflows.processes import calltypes
from workflows.storage.models import Process
from workflows.tickets.errors import Invalid

MOVES = ("up", "down")


@dataclass
class Row:
    process: Process
    offered: bool
    position: str  # as shown in the position box


def stored_rows() -> list[Row]:
    """The offered processes in the call page's order, then the others by name."""
    offer = calltypes.offered()
    codes = {process.code for process in offer}
    rest = [process for process in calltypes.published() if process.code not in codes]
    return [Row(p, True, str(place)) for place, p in enumerate(offer, start=1)] + [Row(p, False, "") for p in rest]


def posted_rows(form: MultiDict) -> list[Row]:
    """The stored rows as the admin left them in the refused form: what was typed is kept."""
    offer = set(form.getlist("offer"))
    return [Row(row.process, row.process.code in offer, form.get(f"position-{row.process.code}", ""))
            for row in stored_rows()]


def _place(form: MultiDict, code: str, errors: dict[str, str]) -> int | None:
    text = form.get(f"position-{code}", "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return int(text)
    if text:
        errors[f"position-{code}"] = gettext("Enter the position as a whole number, e.g. 1.")
    return None


def posted_order(form: MultiDict) -> tuple[list[str], dict[str, str]]:
    """The checked codes ordered by their positions (rows without one keep the order they came in), then the
    ``move`` button applied; and the refused fields with their messages."""
    errors: dict[str, str] = {}
    offer = form.getlist("offer")
    places = [_place(form, code, errors) for code in offer]
    order = sorted(range(len(offer)), key=lambda i: (places[i] is None, places[i] or 0, i))
    codes = [offer[i] for i in order]
    direction, _, code = form.get("move", "").partition(":")
    if form.get("move") and (direction not in MOVES or code not in codes):
        errors["move"] = gettext("Only a ticket type that is offered can be moved.")
    elif form.get("move"):
        at = codes.index(code)
        other = at - 1 if direction == "up" else at + 1
        if 0 <= other < len(codes):
            codes[at], codes[other] = codes[other], codes[at]
    return codes, errors


class CallTypesMixin:
    """Routes of the admin home's view: the call page's ticket types."""

    @expose("/call-types", methods=("GET",))
    def call_types(self):
        return self._call_types_page(stored_rows())

    @expose("/call-types", methods=("POST",))
    def save_call_types(self):
        codes, errors = posted_order(request.form)
        if not errors:
            try:
                calltypes.save(current_user.user, codes)
            except Invalid as error:
                errors["offer"] = "; ".join(message.render(gettext) for message in error.fields["offer"])
        if errors:
            return self._call_types_page(posted_rows(request.form), errors, 422)
        flash(gettext("The call page's ticket types are saved."), "success")
        return redirect(url_for(".call_types"))

    def _call_types_page(self, rows: list[Row], errors: dict[str, str] | None = None, status: int = 200):
        return self.render("admin/call_types.html", rows=rows, errors=errors or {},
                           never_saved=calltypes.chosen() is None), status
