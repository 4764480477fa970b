"""The workspace (``/``): my, my team's or all tickets, with open counts, filters and keyset pages.

The lists come from ``workflows.reporting.queries``, the same query the API uses; the
filter form and the rows are ``web/common/lists.py``, shared with the other list pages.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from workflows.reporting.dashboard import figures
from workflows.reporting.queries import SORTS, counts, tabs, ticket_list

from .common.labels import PRIORITIES
from .common.lists import FilterForm, page_or_abort, rows

bp = Blueprint("home", __name__)
TAB_LABELS = {"mine": _l("My tickets"), "team": _l("Team tickets"), "all": _l("All tickets")}


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
