"""``/tickets/export.csv`` and ``/tickets/export.xlsx``: the workspace list, as filtered, as a file.

The query string is the workspace's (scope, filters, sort), read by the same
form, so the file holds what the list shows, every page of it. Both answers
stream: CSV row by row, XLSX from openpyxl's write-only workbook (rows go to
its temporary file as they come, then the finished file is sent in chunks).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import UTC

from flask import Blueprint, Response, abort, request, stream_with_context
from flask_babel import format_datetime, get_locale, gettext
from flask_login import current_user, login_required

from workflows.reporting.exports import Vocabulary, export_rows, xlsx_text
from workflows.reporting.queries import SORTS, scope_condition
from workflows.storage.models import utcnow
from workflows.tickets.errors import EngineError, Forbidden

from .common.inputs import date_errors
from .common.labels import CHANNELS, PRIORITIES, STATUSES
from .common.lists import FilterForm

bp = Blueprint("exports", __name__)
CHUNK = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}


def vocabulary() -> Vocabulary:
    """Headers and labels in the request's language; times in the app's time zone (Asia/Shanghai)."""
    headers = {"number": gettext("Ticket number"), "type": gettext("Type"), "step": gettext("Step"),
               "status": gettext("Status"), "priority": gettext("Priority"), "assignee": gettext("Handler"),
               "creator": gettext("Created by"), "customer": gettext("Customer"), "phone": gettext("Phone"),
               "channel": gettext("Channel"), "created": gettext("Created"), "closed": gettext("Closed at")}
    return Vocabulary(headers, statuses={k: str(v) for k, v in STATUSES.items()},
                      priorities={k: str(v) for k, v in PRIORITIES.items()},
                      channels={k: str(v) for k, v in CHANNELS.items()},
                      yes_no=YES_NO.get(get_locale().language, YES_NO["en"]), closed_step=gettext("Closed"),
                      when=lambda moment: format_datetime(moment.replace(tzinfo=UTC), "yyyy-MM-dd HH:mm"))


def rows() -> tuple[Iterator[list[str]], str]:
    """The export's rows and a file name stem; 403 for a scope the role may not list, 400 for a bad one."""
    user, scope = current_user.user, request.args.get("scope", "mine")
    try:
        scope_condition(user, scope)
    except Forbidden:
        abort(403)
    except EngineError:
        abort(400)
    form = FilterForm(request.args)
    form.fill_choices()
    form.validate()
    problem = date_errors(form, "created_from", "created_to")
    if problem:  # a file cannot show the error at its field, and leaving it out would export more
        abort(400, description=problem)
    sort = form.sort.data if form.sort.data in SORTS else "newest"
    filters = form.filters()
    stem = f"tickets-{filters.process + '-' if filters.process else ''}{utcnow():%Y%m%d}"
    return export_rows(user, scope, filters, vocabulary(), sort), stem


def attachment(body, mimetype: str, filename: str) -> Response:
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def csv_lines(data: Iterator[list[str]]) -> Iterator[str]:
    """UTF-8 with a BOM (so Excel reads the Chinese right), one encoded line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff"
    for row in data:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def xlsx_chunks(data: Iterator[list[str]]) -> Iterator[bytes]:
    """A write-only workbook (constant memory), saved to a temporary file, then read out in chunks."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(gettext("Tickets"))
    for row in data:
        sheet.append([xlsx_text(cell) for cell in row])
    with tempfile.TemporaryFile() as file:
        book.save(file)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


@bp.get("/tickets/export.csv")
@login_required
def tickets_csv():
    data, stem = rows()
    return attachment((line.encode("utf-8") for line in csv_lines(data)), "text/csv; charset=utf-8", f"{stem}.csv")


@bp.get("/tickets/export.xlsx")
@login_required
def tickets_xlsx():
    data, stem = rows()
    return attachment(xlsx_chunks(data), XLSX, f"{stem}.xlsx")
