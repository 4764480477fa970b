"""Working-time calendars in the admin (工作日历): list, a friendly form, the JSON, import and export.

The form writes a weekday's hours as ``09:00-12:00, 13:30-18:00``, the closed days one
date a line and the open days as ``2027-01-02 mon``; it becomes the document the JSON
view shows, checked as a whole by ``formbuilder.calendars``, every problem shown at its
field with its JSON path. Each save is one transaction with its audit entry
(:func:`workflows.calendars.store.save_calendar`); a refused one re-renders with 422.
Access is decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext
from flask_login import current_user

from workflows.calendars import store
from workflows.calendars.worktime import WEEKDAYS
from workflows.processes.documents import DocumentError
from workflows.storage.models import Calendar

from .versions import parse, rendered

DEFAULT_HOURS = [["09:00", "12:00"], ["13:30", "18:00"]]
DEFAULT = {"format": 2, "code": "", "name": "", "timezone": "Asia/Shanghai",
           "hours": {d: DEFAULT_HOURS if d not in ("sat", "sun") else [] for d in WEEKDAYS}, "holidays": "cn"}
SEPARATORS = re.compile(r"[\s,，;；、]+")


def stored(code: str) -> Calendar:
    return store.get(code) or abort(404)


# -- the form as text, and back ------------------------------------------------------------------------

def hours_text(spans: list) -> str:
    return ", ".join("-".join(span) for span in spans or [] if isinstance(span, list))


def _spans(text: str) -> list[list[str]]:
    """``09:00-12:00, 13:30-18:00`` as intervals; a piece without a dash stays one item (the check names it)."""
    return [[part.strip() for part in re.split(r"\s*[-–~～至]\s*", piece, maxsplit=1)]
            for piece in re.split(r"[,，;；、]+", text or "") if piece.strip()]


def _open_days(text: str) -> list[dict]:
    days = []
    for line in (text or "").splitlines():
        parts = SEPARATORS.split(line.strip())
        if parts and parts[0]:
            days.append({"date": parts[0], **({"as": parts[1].lower()} if len(parts) > 1 else {})})
    return days


def from_form(form, code: str | None) -> dict:
    """The calendar document the form describes (``code`` fixed when editing)."""
    document = {"format": 2, "code": code if code is not None else form.get("code", "").strip(),
                "name": form.get("name", "").strip(), "timezone": form.get("timezone", "").strip(),
                "hours": {d: _spans(form.get(f"hours_{d}", "")) for d in WEEKDAYS}}
    if form.get("holidays") == "cn":
        document["holidays"] = "cn"
    closed = [d for d in SEPARATORS.split(form.get("closed", "")) if d]
    if closed:
        document["closed"] = closed
    if _open_days(form.get("open", "")):
        document["open"] = _open_days(form.get("open", ""))
    return document


def form_values(document: dict) -> dict:
    """The form's text boxes for ``document`` (the inverse of :func:`from_form`)."""
    hours = document.get("hours") if isinstance(document.get("hours"), dict) else {}
    return {"code": document.get("code", ""), "name": document.get("name", ""),
            "timezone": document.get("timezone", ""), "cn": document.get("holidays") == "cn",
            **{f"hours_{d}": hours_text(hours.get(d)) for d in WEEKDAYS},
            "closed": "\n".join(str(d) for d in document.get("closed") or []),
            "open": "\n".join(f"{o.get('date', '')} {o.get('as', '')}".strip() for o in document.get("open") or []
                              if isinstance(o, dict))}


def field_of(path: str) -> str:
    """The form field a problem's JSON path belongs to (``""``: the form as a whole)."""
    parts = path.split("/")[1:]
    if parts[:1] == ["hours"] and len(parts) > 1:
        return f"hours_{parts[1]}"
    return parts[0] if parts and parts[0] in ("code", "name", "timezone", "holidays", "closed", "open", "hours") \
        else ""


def by_field(problems) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for problem in problems:
        grouped.setdefault(field_of(problem.path), []).append(problem.render(gettext))
    return grouped


class CalendarsView(BaseView):
    @expose("/")
    def index(self):
        return self._index_page()

    def _index_page(self, problems: list[str] | None = None):
        rows = [(row, store.unknown_years(row.document)) for row in store.rows()]
        return self.render("admin/calendars.html", rows=rows, problems=problems or [])

    @expose("/import", methods=("POST",))
    def import_document(self):
        """Create or replace a calendar from an uploaded document; an identical one changes nothing."""
        upload = request.files.get("file")
        document, problems = parse(upload.read().decode("utf-8", errors="replace") if upload else "")
        if not problems:
            try:
                row = store.save_calendar(document, current_user.user, "calendar.import")
            except DocumentError as error:
                problems = rendered(error.problems)
        if problems:
            return self._index_page(problems), 422
        flash(gettext("Imported calendar %(code)s.", code=row.code), "success")
        return redirect(url_for(".edit", code=row.code))

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if request.method == "GET":
            return self._form_page(None, DEFAULT)
        return self._save(None, from_form(request.form, None), "calendar.create")

    @expose("/<code>/", methods=("GET", "POST"))
    def edit(self, code: str):
        row = stored(code)
        if request.method == "GET":
            return self._form_page(row, row.document)
        return self._save(row, from_form(request.form, code), "calendar.save")

    @expose("/<code>/json", methods=("POST",))
    def json(self, code: str):
        """Save the JSON view's document; its code must stay the calendar's."""
        row = stored(code)
        text = request.form.get("document", "")
        document, problems = parse(text)
        if not problems and (not isinstance(document, dict) or document.get("code") != code):
            problems = ["/code: " + gettext("the code must stay '%(code)s'", code=code)]
        if problems:
            return self._form_page(row, row.document, json_problems=problems, json_text=text), 422
        return self._save(row, document, "calendar.save", from_json=text)

    @expose("/<code>/export")
    def export(self, code: str):
        row = stored(code)
        return Response(store.dumps(row.document) + "\n", mimetype="application/json",
                        headers={"Content-Disposition": f"attachment; filename={code}.calendar.json"})

    def _save(self, row: Calendar | None, document: dict, action: str, from_json: str | None = None):
        try:
            saved = store.save_calendar(document, current_user.user, action, expect_new=row is None)
        except DocumentError as error:
            if from_json is not None:
                return self._form_page(row, row.document, json_problems=rendered(error.problems),
                                       json_text=from_json), 422
            return self._form_page(row, document, problems=error.problems), 422
        flash(gettext("Calendar %(code)s saved.", code=saved.code), "success")
        return redirect(url_for(".edit", code=saved.code))

    def _form_page(self, row: Calendar | None, document: dict, problems=(), json_problems=(), json_text=None):
        return self.render("admin/calendar.html", row=row, values=form_values(document), weekdays=WEEKDAYS,
                           errors=by_field(problems), problems=rendered(problems),
                           json_problems=list(json_problems), unknown=store.unknown_years(document),
                           json_text=json_text if json_text is not None else store.dumps(row.document) if row else "")
