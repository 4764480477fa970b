"""Problem insight (``/reports/insight``, issue 23, docs/insight.md): the monthly heat map of a dictionary field,
the flow diagram coloured by each step's dwell p90, and (admins) the spike alert of the field.

The routes live on the reports blueprint (``web/reports.py`` imports this module) and follow its rule:
supervisors (their team) and admins; agents and handlers get 403. The figures come from
``workflows.reporting.heatmap``, ``dwell`` and ``spikes``; this module reads the query string and
lays the page out. The diagram is ``formbuilder.diagram.flow_svg`` with each step box's fill set by
its dwell level (the markup it draws is ours and its texts escaped, so the fill is set by pattern).
"""

from __future__ import annotations

import re
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import IntegerField, StringField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from formbuilder.diagram import flow_svg
from formbuilder.diagram_marks import translated
from workflows.reporting import dwell as dwell_figures
from workflows.reporting import heatmap as heat
from workflows.reporting import spikes
from workflows.reporting.queries import published_processes
from workflows.reporting.reports import can_view_reports
from workflows.reporting.reportsql import LOCAL_OFFSET
from workflows.storage.models import utcnow
from workflows.tickets.errors import EngineError, Forbidden

from .reports import bp, duration

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
HEAT_LEVELS = 5
#: One step box of flow_svg (no current step: every step box is white, the end node grey).
NODE = re.compile(r'<g class="lz-flow-node"><title>([^<]*)</title><rect ([^>]*) fill="#fff"')
DWELL_FILLS = ("#ffffff", "#e3f2e6", "#fff3c4", "#ffe0b3", "#ffcdc9", "#f4a8a8")  # level 0..5, dark text on all


class WatchForm(FlaskForm):
    """The admin's spike alert of one (process, field): a POST with CSRF."""

    type = StringField(validators=[InputRequired()])
    field = StringField(validators=[InputRequired()])
    share = IntegerField(_l("Rise over the average (%)"), default=200, validators=[NumberRange(1, 10000)])
    weeks = IntegerField(_l("Weeks averaged"), default=4, validators=[NumberRange(1, 12)])
    min_count = IntegerField(_l("At least this many tickets in the week"), default=10,
                             validators=[NumberRange(1, 100000)])
    save = SubmitField(_l("Watch this field"))
    stop = SubmitField(_l("Stop watching"))


def _month(text: str | None) -> date:
    """``YYYY-MM`` (default: this local month); 400 naming the field otherwise."""
    if not text:
        return (utcnow() + LOCAL_OFFSET).date().replace(day=1)
    found = MONTH.match(text)
    if not found or not 1 <= int(found[2]) <= 12:
        abort(400, description=gettext("month: a month as YYYY-MM."))
    return date(int(found[1]), int(found[2]), 1)


def _choices(user) -> tuple[list[tuple[str, str]], str, list[heat.FieldChoice], str | None]:
    """(processes, the chosen one, its fields the user may see, the chosen field); 400 for a wrong one."""
    processes = [(v.document["code"], v.document["name"]) for v in published_processes()]
    process = request.args.get("type") or (processes[0][0] if processes else "")
    if processes and process not in dict(processes):
        abort(400, description=gettext("type: not a published process."))
    offered = heat.fields(user, process) if processes else []
    key = request.args.get("field") or (offered[0].key if offered else None)
    if key is not None and key not in {f.key for f in offered}:
        abort(400, description=gettext("field: not a dictionary field you may see."))
    return processes, process, offered, key


def heat_level(count: int, top: int) -> int:
    """0 for none, else 1..HEAT_LEVELS by the share of the busiest cell."""
    return 0 if not count or not top else max(1, -(-count * HEAT_LEVELS // top))


def coloured_flow(flow: dwell_figures.FlowDwell) -> Markup:
    """The process diagram with each step box filled by its dwell level and its p90 in the tooltip."""
    steps = iter(flow.steps)

    def fill(found: re.Match) -> str:
        step = next(steps, None)
        if step is None:
            return found[0]
        tip = escape(f"\n{gettext('Dwell p90')}: {duration(step.p90)}")  # found[1] is escaped already
        return (f'<g class="lz-flow-node lz-dwell-{step.level}"><title>{found[1]}{tip}</title>'
                f'<rect {found[2]} fill="{DWELL_FILLS[step.level]}"')

    svg = flow_svg(flow.document, end_label=gettext("End"), words=translated(gettext))
    return Markup(NODE.sub(fill, svg))


@bp.route("/reports/insight")
@login_required
def insight():
    user = current_user.user
    if not can_view_reports(user):
        abort(403)
    month = _month(request.args.get("month"))
    processes, process, offered, key = _choices(user)
    try:
        found = heat.heatmap(user, process, key, month) if key else None
        first, last = heat.month_bounds(month)
        flow = dwell_figures.flow_dwell(user, process, first, last) if process else None
    except Forbidden:
        abort(403)
    except EngineError as error:
        abort(400, description=error.msg.render(gettext))
    watch = spikes.watch_of(process, key) if key else None
    form = WatchForm(formdata=None, obj=watch, type=process, field=key)
    return render_template("reports/insight.html", processes=processes, process=process, offered=offered,
                           field=key, month=month, heat=found, level=heat_level, flow=flow,
                           diagram=coloured_flow(flow) if flow else None, duration=duration, watch=watch,
                           form=form, fills=DWELL_FILLS)


@bp.route("/reports/insight/watch", methods=["POST"])
@login_required
def watch_field():
    """Watch a field for spikes, or stop (admins only); the setting is audited by ``spikes.set_watch``."""
    user = current_user.user
    if user.role != "admin":
        abort(403)
    form = WatchForm()
    if not form.validate():
        name = next(iter(form.errors))
        abort(400, description=f"{name}: {form.errors[name][0]}")
    process, key = form.type.data, form.field.data
    if key not in {f.key for f in heat.fields(user, process)}:
        abort(400, description=gettext("field: not a dictionary field you may see."))
    config = None if form.stop.data else {"share": form.share.data, "weeks": form.weeks.data,
                                          "min_count": form.min_count.data}
    spikes.set_watch(process, key, config, user)
    flash(gettext("Spike alert saved.") if config else gettext("Spike alert stopped."), "success")
    return redirect(url_for("reports.insight", type=process, field=key))
