"""The reports page (``/reports``, 工单报表) and its CSV and XLSX exports, for supervisors and admins.

The figures come from ``workflows.reporting.reports`` (which refuses agents and
handlers); this module reads the filter form, draws the charts and lays the
tables out. An export takes the same query string as the page.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Blueprint, Response, abort, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from openpyxl import Workbook
from wtforms import SelectField
from wtforms.validators import Optional

from workflows.reporting.exports import FORMULA_STARTS, xlsx_text
from workflows.reporting.queries import published_processes
from workflows.reporting.reports import (
    FIRST_DAY,
    MAX_DAYS,
    UNITS,
    Report,
    ReportFilters,
    can_view_reports,
    report,
    report_team,
)
from workflows.reporting.reportsql import LOCAL_OFFSET
from workflows.storage.models import Department, User, utcnow
from workflows.tickets.errors import EngineError, Forbidden

from .common import charts
from .common.inputs import DayField, date_errors
from .common.labels import CHANNELS, PRIORITIES
from .common.lists import options, tag_options

bp = Blueprint("reports", __name__)
DEFAULT_DAYS = 30
GROUPS = {"day": _l("Day"), "week": _l("Week"), "month": _l("Month"), "agent": _l("Agent"),
          "department": _l("Department"), "process": _l("Type"), "step": _l("Step")}
ROLES = {"admin": _l("Admin"), "supervisor": _l("Supervisor"), "agent": _l("Agent"), "handler": _l("Handler")}


class ReportForm(FlaskForm):
    """The report's filters, read from the query string (a GET form: nothing to protect with CSRF)."""

    class Meta:
        csrf = False

    start = DayField(_l("From"), validators=[Optional()])
    end = DayField(_l("Until"), validators=[Optional()])
    basis = SelectField(_l("Durations of tickets"), default="created",
                        choices=options([("created", _l("created in the period")),
                                         ("closed", _l("closed in the period"))]))
    group = SelectField(_l("Group by"), default="day", choices=options(GROUPS.items()))
    type = SelectField(_l("Type"), default="")  # the process; Form.process is taken
    department = SelectField(_l("Department"), default="")
    role = SelectField(_l("Role"), default="", choices=options([("", _l("Any role")), *ROLES.items()]))
    agent = SelectField(_l("Agent"), default="")
    priority = SelectField(_l("Priority"), default="", choices=options([("", _l("Any priority")), *PRIORITIES.items()]))
    channel = SelectField(_l("Channel"), default="", choices=options([("", _l("Any channel")), *CHANNELS.items()]))
    tag = SelectField(_l("Tag"), default="")

    def fill_choices(self, viewer: User) -> None:
        """Processes, departments and the people the viewer oversees (a few small queries)."""
        self.type.choices = options([("", _l("Any type"))] + [(v.document["code"], v.document["name"])
                                                                 for v in published_processes()])
        departments = Department.select(Department.code, Department.name).order_by(Department.code).tuples()
        self.department.choices = options([("", _l("Any department")), *departments])
        people, team = User.select(User.username, User.name).order_by(User.username), report_team(viewer)
        if team is not None:
            people = people.where(User.id.in_(team))
        self.agent.choices = options([("", _l("Anyone"))] + [(u, f"{n} ({u})") for u, n in people.tuples()])
        self.tag.choices = tag_options()

    def _span(self, start: date, end: date) -> tuple[date, date]:
        """The range, its start moved up to at most MAX_DAYS before its end (the start field says so)."""
        start = max(start, FIRST_DAY)  # the default start, a month before an end in early 1900
        if (end - start).days < MAX_DAYS:
            return start, end
        self.start.errors = [*self.start.errors, gettext("A report covers at most %(days)s days.", days=MAX_DAYS)]
        return end - timedelta(days=MAX_DAYS - 1), end

    def filters(self, today: date) -> ReportFilters:
        """The criteria of the valid fields; a wrong one is shown with its error and left out."""
        def ok(field):
            return (field.data or None) if not field.errors else None

        end = ok(self.end) or today
        start = ok(self.start) or end - timedelta(days=DEFAULT_DAYS - 1)
        start, end = self._span(min(start, end), max(start, end))
        return ReportFilters(start, end, ok(self.basis) or "created", process=ok(self.type),
                             department=ok(self.department), role=ok(self.role), agent=ok(self.agent),
                             priority=ok(self.priority), channel=ok(self.channel), tag=ok(self.tag))


def _read(export: bool = False) -> tuple[ReportForm, Report]:
    """The form of the query string and its report; 403 for agents and handlers, 400 for a refused one.

    A file cannot show a wrong date at its field: an export answers 400 naming it instead.
    """
    user = current_user.user
    if not can_view_reports(user):
        abort(403)
    form = ReportForm(request.args)
    form.fill_choices(user)
    form.validate()
    today = (utcnow() + LOCAL_OFFSET).date()
    group = form.group.data if not form.group.errors else "day"
    filters = form.filters(today)
    problem = date_errors(form, "start", "end") if export else None
    if problem:
        abort(400, description=problem)
    form.start.data, form.end.data = filters.start, filters.end  # show the range the report covers
    try:
        return form, report(user, filters, (group,))
    except Forbidden:
        abort(403)
    except EngineError as error:
        abort(400, description=error.msg.render(gettext))


def duration(seconds: float | None) -> str:
    """A duration for people: 2d 3h, 1h 05m, 4m 10s."""
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def step_label(label: str) -> str:
    return gettext("Closed") if label == "$end" else label


def row_label(group) -> str:
    return " / ".join(step_label(str(x)) for x in group.labels) or "—"


def _charts(result: Report) -> list:
    """A line chart of the periods, or a bar chart of the groups; and the average dwell per step."""
    labels = [row_label(g) for g in result.rows]
    if result.dims[0] in UNITS:
        series = [(gettext("Tickets created"), [g.figures.created for g in result.rows]),
                  (gettext("Tickets closed"), [g.figures.closed for g in result.rows]),
                  (gettext("Open at end"), [g.figures.open_end for g in result.rows])]
        drawn = [charts.line_chart(gettext("Tickets per period"), labels, series)]
    else:
        drawn = [charts.bar_chart(gettext("Tickets created"), labels, [g.figures.created for g in result.rows])]
    if result.steps:
        hours = [None if s.dwell_avg is None else s.dwell_avg / 3600 for s in result.steps]
        drawn.append(charts.bar_chart(gettext("Average dwell per step (hours)"), [s.label for s in result.steps],
                                      hours))
    return drawn


@bp.route("/reports")
@login_required
def index():
    form, result = _read()
    args = {k: v for k, v in request.args.items() if v}
    return render_template("reports/index.html", form=form, report=result, charts=_charts(result),
                           group_label=GROUPS[result.dims[0]], duration=duration, percent=percent,
                           row_label=row_label, csv_url=url_for("reports.export_csv", **args),
                           xlsx_url=url_for("reports.export_xlsx", **args))


def _headers(result: Report) -> list[str]:
    return [str(GROUPS[d]) for d in result.dims] + [
        gettext("Tickets created"), gettext("Tickets closed"), gettext("Open at end"), gettext("Resolution rate"),
        gettext("First response avg (s)"), gettext("First response p90 (s)"), gettext("Resolution avg (s)"),
        gettext("Resolution p90 (s)"), gettext("SLA breaches"), gettext("Breach rate"), gettext("Satisfaction avg"),
        *[gettext("%(score)s stars", score=s) for s in range(1, 6)]]


def _figures_row(figures) -> list:
    f = figures
    return [f.created, f.closed, f.open_end, f.resolution_rate, f.first_response_avg, f.first_response_p90,
            f.resolution_avg, f.resolution_p90, f.breaches, f.breach_rate, f.rating_avg, *f.ratings]


def sections(result: Report) -> list[tuple[str, list[list]]]:
    """The report as tables (name, header + rows): the groups with the total, the steps, the agents."""
    groups = [[*map(step_label, map(str, g.labels)), *_figures_row(g.figures)] for g in result.rows]
    total = [gettext("Total"), *[""] * (len(result.dims) - 1), *_figures_row(result.total)]
    steps = [[gettext("Step"), gettext("Left the step"), gettext("Average dwell (s)"), gettext("Returns")]] + [
        [s.label, s.left, s.dwell_avg, s.returns] for s in result.steps]
    agents = [[gettext("Username"), gettext("Name"), gettext("Handled"), gettext("Open now"),
               gettext("Average handling (s)")]] + [
        [w.username, w.name, w.handled, w.open, w.handling_avg] for w in result.workload]
    return [(gettext("Report"), [_headers(result), *groups, total]), (gettext("Steps"), steps),
            (gettext("Agents"), agents)]


def safe(value):
    """A cell a spreadsheet shows as text (numbers stay numbers): see ``workflows.reporting.exports.safe_cell``."""
    value = xlsx_text(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _filename(result: Report, ext: str) -> str:
    return f"report-{result.filters.start:%Y%m%d}-{result.filters.end:%Y%m%d}.{ext}"


@bp.route("/reports/export.csv")
@login_required
def export_csv():
    """UTF-8 with a BOM, so Excel reads the Chinese names right; the sections follow each other."""
    _, result = _read(export=True)

    def lines():
        yield "\ufeff"
        for n, (_, rows) in enumerate(sections(result)):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            if n:
                writer.writerow([])
            writer.writerows([[safe(v) for v in row] for row in rows])
            yield buffer.getvalue()

    disposition = f'attachment; filename="{_filename(result, "csv")}"'
    return Response(lines(), mimetype="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})


@bp.route("/reports/export.xlsx")
@login_required
def export_xlsx():
    """One sheet per section, written by openpyxl's write-only (streaming) workbook."""
    _, result = _read(export=True)
    book = Workbook(write_only=True)
    for name, rows in sections(result):
        sheet = book.create_sheet(name[:31])
        for row in rows:
            sheet.append([safe(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=_filename(result, "xlsx"),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


from . import insight  # noqa: E402,F401 - /reports/insight: its routes are on this blueprint (issue 23)
