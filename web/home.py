"""The workspace (``/``): my, my team's or all tickets, with open counts, filters, keyset pages,
saved views, chosen columns and the bulk bar (docs/workspace.md).

The lists come from ``workflows.reporting.queries``, the same query the API uses; the
filter form and the rows are ``web/common/lists.py``, shared with the other list pages;
saved views and the process-field cells (only what the reader may see on each ticket) are
``workflows.reporting.views``.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from workflows.people.org import active_users, team_ids
from workflows.reporting import views
from workflows.reporting.dashboard import figures
from workflows.reporting.queries import SORTS, counts, published_processes, tabs, ticket_list
from workflows.storage.models import SavedView, User
from workflows.tickets.errors import EngineError
from workflows.tickets.tags import managed

from .common.labels import PRIORITIES
from .common.lists import FilterForm, page_or_abort, rows

bp = Blueprint("home", __name__)
TAB_LABELS = {"mine": _l("My tickets"), "team": _l("Team tickets"), "all": _l("All tickets")}
COLUMN_LABELS = {"process": _l("Type"), "step": _l("Step"), "status": _l("Status"), "priority": _l("Priority"),
                 "assignee": _l("Handler"), "customer": _l("Customer"), "created": _l("Created"),
                 "updated": _l("Updated"), "due": _l("Due")}
PEOPLE = 500  # the bulk bar's name suggestions


def link_args(**changes) -> dict:
    """The current query string with ``changes``; a change to None drops the key."""
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    args.update(changes)
    return {k: v for k, v in args.items() if v is not None}


def view_link(user: User, view: SavedView) -> str:
    """The workspace with the view's query; a scope the reader may not open (a teammate's "team") is left out."""
    query = {k: v for k, v in view.query.items() if k != "scope" or v in tabs(user)}
    return url_for("home.index", view=view.id, **query)


def chosen_columns(user: User) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The columns to draw as (key, label), and every field column the user may choose (``f.<key>``: title).

    A field column the user may not read on any published version is dropped, label and all.
    """
    try:
        keys = views.parse_columns(request.args.get("cols")) or list(views.DEFAULT_COLUMNS)
    except EngineError as error:
        abort(400, description="cols: " + " ".join(m.render(gettext) for f in error.fields.values() for m in f))
    fields = views.field_choices(user, published_processes())
    labels = {**{k: str(v) for k, v in COLUMN_LABELS.items()}, **fields}
    return [(k, labels[k]) for k in keys if k in labels], fields


def current_view(user: User) -> SavedView | None:
    """The view named by ``?view=`` if the user may pick it; another's personal view is simply not shown."""
    text = request.args.get("view", "")
    if not (text.isascii() and text.isdigit() and len(text) < 12):
        return None
    try:
        return views.visible(user, int(text))
    except EngineError:
        return None


def bulk_choices(user: User) -> dict:
    """The bulk bar's suggestions: the active people of the user's team (an admin's: everyone), and the admin's tags.

    Only suggestions: any username may be typed, and the engine decides whom a ticket may go to.
    """
    people = active_users()  # by username, kept per configuration stamp: no statement of its own
    if user.role != "admin":
        team = team_ids(user) or {user.id}
        people = [u for u in people if u.id in team]
    return {"bulk_people": [(u.username, u.name) for u in people[:PEOPLE]],
            "bulk_tags": [t.name for t in managed()], "may_assign": user.role in ("admin", "supervisor")}


@bp.route("/")
@login_required
def index():
    user = current_user.user
    if len(request.args.getlist("cols")) > 1:  # the column picker's checkboxes: one "cols" a column
        return redirect(url_for("home.index", **link_args(cols=",".join(request.args.getlist("cols")))))
    scope = request.args.get("scope", "mine")
    form = FilterForm(request.args)
    form.fill_choices()
    form.validate()
    sort = form.sort.data if form.sort.data in SORTS else "newest"
    filters = form.filters()
    columns, field_choices = chosen_columns(user)
    page = page_or_abort(lambda cursor, size: ticket_list(user, scope, filters, cursor, sort, size))
    cells = views.field_cells(user, page.tickets, [k for k, _ in columns], (gettext("Yes"), gettext("No")))
    next_url = url_for("home.index", **link_args(cursor=page.next_cursor)) if page.next_cursor else None
    return render_template("home/index.html", scope=scope, tabs=tabs(user), counts=counts(user), form=form,
                           rows=rows(page, gettext("Closed")), next_url=next_url, labels=TAB_LABELS,
                           priorities=PRIORITIES, link_args=link_args, dashboard=figures(user),
                           columns=columns, cells=cells, column_labels=COLUMN_LABELS, field_choices=field_choices,
                           saved_views=views.views_for(user), view=current_view(user), view_link=view_link,
                           may_share=user.role in views.SHARERS and user.department_id is not None,
                           **bulk_choices(user))
