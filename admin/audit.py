"""The audit log, read-only: every admin change, newest first, as Flask-Admin's peewee ``ModelView``.

The list (time, actor, action, target and a one-line summary of before/after) is the
generated one, with filters on action, actor and time and a search on the target; the
record's page (``/admin/audit/<id>``) shows the whole before and after, pretty-printed.
Nothing is created, edited, deleted or exported here: the disabled routes Flask-Admin
registers anyway answer a redirect to the list (admins) or the admin refusal (everyone
else), and the model writes refuse as well. Every value reaches the page as text, escaped
by autoescape. Access is decided by the admin package's AdminOnly mixin (composed in
``admin.init_app``).
"""

from __future__ import annotations

import json

from flask import abort
from flask_admin import expose
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee import filters as peewee_filters
from flask_admin.contrib.peewee.tools import parse_like_term
from flask_admin.model.base import ViewArgs
from flask_babel import format_datetime, gettext, to_utc
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from peewee import JOIN

from workflows.storage.models import AuditEntry, User

PAGE = 50
SHORT = 60  # characters of one value in the list's summary
KEYS = 3  # changed keys the summary names before "…"
MAX_OFFSET = 2**31  # rows: a page beyond this is no page of an audit log (and no database overflow)


def with_actor():
    """Entries with their actor (None when the user is gone), in one query."""
    return AuditEntry.select(AuditEntry, User).join(User, JOIN.LEFT_OUTER, on=AuditEntry.actor == User.id)


def pretty(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def summary(before: object, after: object) -> str:
    """Before → after in one line: of two objects, the top-level keys that differ (the first three)."""
    if before is None and after is None:
        return "—"
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in {**before, **after} if before.get(k, ...) != after.get(k, ...)]
        parts = [f"{k}: {short(before[k]) if k in before else '—'} → {short(after[k]) if k in after else '—'}"
                 for k in keys[:KEYS]]
        return "; ".join(parts + (["…"] if len(keys) > KEYS else [])) or "—"
    return f"{'—' if before is None else short(before)} → {'—' if after is None else short(after)}"


# --- Filters: each value is checked before it reaches the query (a bad one is flashed and ignored) ----------------


class ActorEquals(peewee_filters.FilterEqual):
    """The actor by username; a subquery, so the list's own join to the user stays the only one."""

    def apply(self, query, value):
        return query.where(AuditEntry.actor.in_(User.select(User.id).where(User.username == value)))


class ActorContains(peewee_filters.FilterLike):
    def apply(self, query, value):
        return query.where(AuditEntry.actor.in_(User.select(User.id).where(User.username ** parse_like_term(value))))


def utc(moment):
    """A time typed in the reader's time zone (as the list shows them), in UTC as stored; ValueError if none."""
    try:
        return to_utc(moment)
    except OverflowError as error:  # the first hours of year 1 east of UTC
        raise ValueError(str(error)) from None


class After(peewee_filters.DateTimeGreaterFilter):
    def clean(self, value):
        return utc(super().clean(value))

    def operation(self):
        return _l("after")


class Before(peewee_filters.DateTimeSmallerFilter):
    def clean(self, value):
        return utc(super().clean(value))

    def operation(self):
        return _l("before")


class Between(peewee_filters.DateTimeBetweenFilter):
    def clean(self, value):
        return [utc(part) for part in super().clean(value)]

    def validate(self, value):
        try:
            return super().validate(value) and bool(self.clean(value))
        except ValueError:
            return False


def _when(view, context, entry, name):
    return format_datetime(entry.created_at)


def _who(view, context, entry, name):
    return entry.actor.username if entry.actor_id is not None and entry.actor else "—"


def _code(view, context, entry, name):
    return Markup("<code>{}</code>").format(getattr(entry, name))


def _changes(view, context, entry, name):
    return summary(entry.before, entry.after)


def _details(view, context, entry, name):
    return Markup('<a href="{}">{}</a>').format(view.get_url(".detail", entry_id=entry.id), gettext("Details"))


class AuditView(ModelView):
    can_create = can_edit = can_delete = False
    can_export = False
    can_view_details = False  # the record's page is ``detail`` below: the whole before/after, pretty-printed
    can_set_page_size = False
    column_display_actions = False
    page_size = PAGE
    list_template = "admin/audit.html"

    column_list = ("created_at", "actor", "action", "target", "changes", "details")
    column_labels = {"created_at": _l("When"), "actor": _l("Who"), "action": _l("Action"), "target": _l("Target"),
                     "changes": _l("Changes"), "details": ""}
    column_formatters = {"created_at": _when, "actor": _who, "action": _code, "target": _code,
                         "changes": _changes, "details": _details}
    column_sortable_list = ("created_at", "action", "target")
    column_default_sort = [("created_at", True), ("id", True)]  # newest first; the id orders equal times
    column_searchable_list = ("target",)
    column_filters = (
        peewee_filters.FilterEqual(AuditEntry.action, _l("Action")),
        peewee_filters.FilterLike(AuditEntry.action, _l("Action")),
        ActorEquals(AuditEntry.actor, _l("Who")), ActorContains(AuditEntry.actor, _l("Who")),
        peewee_filters.FilterEmpty(AuditEntry.actor, _l("Who")),  # the command line's entries, a deleted user's
        After(AuditEntry.created_at, _l("When")), Before(AuditEntry.created_at, _l("When")),
        Between(AuditEntry.created_at, _l("When")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(AuditEntry, *args, **kwargs)

    # The list keeps the endpoint it had as a hand-written view (``audit.index``, linked from the record's page):
    # Flask-Admin's ``index_view`` is not exposed itself, and its own links to ``.index_view`` are sent here.
    def index_view(self):
        return super().index_view()

    @expose("/")
    def index(self):
        return self.index_view()

    def get_url(self, endpoint, **kwargs):
        return super().get_url(".index" if endpoint == ".index_view" else endpoint, **kwargs)

    def get_query(self):
        return with_actor()

    def search_placeholder(self):
        return gettext("Target")

    def get_empty_list_message(self):
        return gettext("No changes recorded.")

    # --- Any query string gives a page: no negative or overflowing page, no sort by an unsortable column (a NUL
    # anywhere is refused before any view, web/common/inputs.py; a bad filter value is flashed and ignored).

    def _get_column_by_idx(self, idx):
        column = super()._get_column_by_idx(idx)
        return column if column is not None and column[0] in self._sortable_columns else None

    def _get_list_extra_args(self) -> ViewArgs:
        args = super()._get_list_extra_args()
        page = min(max(args.page or 0, 0), MAX_OFFSET // PAGE)
        sort = args.sort if self._get_column_by_idx(args.sort) is not None else None
        return args.clone(page=page, sort=sort, filters=args.filters)  # (clone would make no filters None)

    # --- Read-only all the way down: nothing here writes a row, whatever reaches these.

    def create_model(self, form):
        abort(403)

    def update_model(self, form, model):
        abort(403)

    def delete_model(self, model):
        abort(403)

    @expose("/<int:entry_id>")
    def detail(self, entry_id: int):
        entry = (entry_id < 2**63 and with_actor().where(AuditEntry.id == entry_id).first()) or abort(404)
        return self.render("admin/audit_entry.html", entry=entry, format_datetime=format_datetime,
                           before=None if entry.before is None else pretty(entry.before),
                           after=None if entry.after is None else pretty(entry.after))
