"""The workspace (``/``): my, my team's or all tickets, with open counts, filters and keyset pages.

The lists come from ``workflows.queries``, the same query the API uses; this
module only reads the filter form and lays the rows out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from workflows.dashboard import due_state, figures
from workflows.errors import EngineError, Forbidden
from workflows.models import Tag, Ticket, User, utcnow
from workflows.queries import SORTS, Filters, TicketPage, counts, published_processes, step_names, tabs, ticket_list

from .inputs import DayField
from .labels import PRIORITIES

bp = Blueprint("home", __name__)
PAGE = 50
TAB_LABELS = {"mine": _l("My tickets"), "team": _l("Team tickets"), "all": _l("All tickets")}
SORT_LABELS = {"newest": _l("Newest first"), "due": _l("Due soonest"), "priority": _l("Most urgent")}


def options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class FilterForm(FlaskForm):
    """The list filters, read from the query string (a GET form: nothing to protect with CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Ticket number, phone or customer"))
    status = SelectField(_l("Status"), default="open",
                         choices=options([("open", _l("Open")), ("closed", _l("Closed")), ("", _l("Any status"))]))
    type = SelectField(_l("Type"), default="")  # the process; Form.process is taken
    step = SelectField(_l("Step"), default="")
    priority = SelectField(_l("Priority"), default="",
                           choices=options([("", _l("Any priority")), *PRIORITIES.items()]))
    tag = SelectField(_l("Tag"), default="")
    overdue = BooleanField(_l("Overdue only"))
    created_from = DayField(_l("Created from"), validators=[Optional()])
    created_to = DayField(_l("Created until"), validators=[Optional()])
    sort = SelectField(_l("Sort"), default="newest", choices=options(SORT_LABELS.items()))

    def fill_choices(self) -> None:
        """Processes and steps of the published versions (one query)."""
        versions = published_processes()
        self.type.choices = options([("", _l("Any type"))] + [(v.document["code"], v.document["name"])
                                                                 for v in versions])
        steps: dict[str, list[str]] = {}
        for version in versions:
            for key, name in step_names(version).items():
                names = steps.setdefault(key, [])
                if name not in names:
                    names.append(name)
        self.step.choices = options([("", _l("Any step"))] + [(k, " / ".join(names)) for k, names in steps.items()])
        self.tag.choices = tag_options()

    def filters(self) -> Filters:
        """The criteria of the fields that are valid; a wrong one is shown with its error and left out."""
        def ok(field):
            return field.data if not field.errors else None

        return Filters(status=ok(self.status) or None, process=ok(self.type) or None, step=ok(self.step) or None,
                       priority=ok(self.priority) or None, overdue=bool(self.overdue.data),
                       created_from=ok(self.created_from), created_to=ok(self.created_to),
                       q=(self.q.data or "").strip() or None, tag=ok(self.tag) or None)


def tag_options() -> list[SelectChoice]:
    """Every tag, managed or free, for the list and report filters (one small query)."""
    return options([("", _l("Any tag"))] + [(n, n) for (n,) in Tag.select(Tag.name).order_by(Tag.name).tuples()])


@dataclass
class Row:
    """One ticket as the list shows it."""

    ticket: Ticket
    process: str
    step: str
    assignee: User | None
    timing: str | None  # "overdue", "soon" or None: workflows.dashboard.due_state


def rows(page: TicketPage, closed_label: str) -> list[Row]:
    now = utcnow()
    return [Row(t, t.process_version.document["name"],
                closed_label if t.status == "closed" else step_names(t.process_version).get(t.step, t.step),
                page.users.get(t.assignee_id), due_state(t, now)) for t in page.tickets]


def page_or_abort(read: Callable[[str | None, int], TicketPage]) -> TicketPage:
    """``read(cursor, PAGE)``; 403 for a scope the role may not open, 400 for a forged cursor."""
    try:
        return read(request.args.get("cursor"), PAGE)
    except Forbidden:
        abort(403)
    except EngineError as error:  # the message names the parameter (cursor, sort)
        abort(400, description=error.msg.render(gettext))


def link_args(**changes) -> dict:
    """The current query string with ``changes``; a change to None drops the key."""
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    args.update(changes)
    return {k: v for k, v in args.items() if v is not None}


@bp.route("/")
@login_required
def index():
    user = current_user.user
    scope = request.args.get("scope", "mine")
    form = FilterForm(request.args)
    form.fill_choices()
    form.validate()
    sort = form.sort.data if form.sort.data in SORTS else "newest"
    filters = form.filters()
    page = page_or_abort(lambda cursor, size: ticket_list(user, scope, filters, cursor, sort, size))
    next_url = url_for("home.index", **link_args(cursor=page.next_cursor)) if page.next_cursor else None
    return render_template("home/index.html", scope=scope, tabs=tabs(user), counts=counts(user), form=form,
                           rows=rows(page, gettext("Closed")), next_url=next_url, labels=TAB_LABELS,
                           priorities=PRIORITIES, link_args=link_args, dashboard=figures(user))
