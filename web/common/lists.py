"""The ticket-list pieces several pages share: the filter form, the rows, a page read with its errors as 4xx.

The workspace (``web/home.py``), the customer page, the reports' filters and the
list exports lay their lists out with these; the lists themselves come from
``workflows.reporting.queries``, the same query the API uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from workflows.reporting.dashboard import due_state
from workflows.reporting.queries import Filters, TicketPage, published_processes, step_names
from workflows.storage.models import Tag, Ticket, User, utcnow
from workflows.storage.prepared import Prepared
from workflows.tickets.errors import EngineError, Forbidden

from .inputs import DayField
from .labels import PRIORITIES

PAGE = 50
SORT_LABELS = {"newest": _l("Newest first"), "due": _l("Due soonest"), "priority": _l("Most urgent"),
               "updated": _l("Recently updated")}


def options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class FilterForm(FlaskForm):
    """The list filters, read from the query string (a GET form: nothing to protect with CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search: number, phone, customer or any text"))  # full text over what the reader sees
    status = SelectField(_l("Status"), default="open",
                         choices=options([("open", _l("Open")), ("pending", _l("Pending")), ("closed", _l("Closed")),
                                          ("", _l("Any status"))]))
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


_TAG_NAMES = Prepared(lambda: Tag.select(Tag.name).order_by(Tag.name))  # every list page: text built once


def tag_options() -> list[SelectChoice]:
    """Every tag, managed or free, for the list and report filters (one small query)."""
    return options([("", _l("Any tag"))] + [(n, n) for (n,) in _TAG_NAMES.tuples()])


@dataclass
class Row:
    """One ticket as the list shows it."""

    ticket: Ticket
    process: str
    step: str
    assignee: User | None
    timing: str | None  # "overdue", "soon" or None: workflows.reporting.dashboard.due_state


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
