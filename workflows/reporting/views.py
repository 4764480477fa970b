"""Saved views of the workspace list, and the list's chosen columns (issue 21, docs/workspace.md).

A view is the list's query (scope, filters, sort, columns) under a name. It is its owner's;
a supervisor (or admin) may share it with their team, the users of their department's
subtree (``org.team_ids``' team), who see and pick it but may not change it. Each change is
one transaction with its audit entry. Another user's personal view is as unknown as a
missing one (404), so its name is told to nobody.

Columns: the list's own (type, step, status ...) and the process fields (``f.<key>``); a
field's cell holds its value only where the reader may see that field on that ticket
(``access.visible_fields``, as exports do), else nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.people import org, roster
from workflows.processes import documents as docs
from workflows.reporting.exports import flatten
from workflows.reporting.queries import SORTS, overseen_ids, tabs
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Attachment, ProcessVersion, SavedView, Ticket, User, utcnow
from workflows.storage.prepared import Prepared
from workflows.tickets.access import every_field, filter_data, sees_all, unreadable, visible_fields
from workflows.tickets.errors import Forbidden, Invalid, NotFound

NAME_LENGTH = 60
SHARERS = ("supervisor", "admin")
QUERY_KEYS = ("scope", "status", "type", "step", "priority", "tag", "overdue", "created_from", "created_to",
              "sort", "q", "cols")
VALUE_LENGTH = 200
COLUMNS = ("process", "step", "status", "priority", "assignee", "customer", "created", "updated", "due")
DEFAULT_COLUMNS = ("process", "step", "status", "priority", "assignee", "customer", "created", "due")
FIELD_PREFIX = "f."
FIELD_KEY = re.compile(r"f\.[A-Za-z0-9_$-]{1,64}")
MOST_COLUMNS = 16
NOTHING_SAVED = N_("Nothing was saved: see the fields.")


def _invalid(field: str, msgid: str, **values) -> Invalid:
    return Invalid(Msg(NOTHING_SAVED), {field: [Msg(msgid, values)]})


# --- Columns -------------------------------------------------------------------------------------------------------

def parse_columns(text: str | None) -> list[str] | None:
    """The ``cols`` parameter ("process,step,f.model") as a list; None when absent or empty (the default set).

    Invalid (field ``cols``) for an unknown column or too many: the page answers 400 naming it.
    """
    keys = [k.strip() for k in (text or "").split(",") if k.strip()]
    if not keys:
        return None
    if len(keys) > MOST_COLUMNS:
        raise _invalid("cols", N_("Choose at most %(most)s columns."), most=MOST_COLUMNS)
    for key in keys:
        if key not in COLUMNS and not FIELD_KEY.fullmatch(key):
            raise _invalid("cols", N_("No column %(key)s."), key=key)
    return list(dict.fromkeys(keys))


def field_choices(user: User, versions: list[ProcessVersion]) -> dict[str, str]:
    """``f.<key>`` -> title of the fields of ``versions`` the user may ever read (``x-readers``), in form order.

    A field nobody lets the user read has no column to choose: its name is no business of theirs.
    """
    found: dict[str, list[str]] = {}
    for version in versions:
        hidden = unreadable(user, version)
        for key, schema in version.document["schema"]["properties"].items():
            titles = found.setdefault(FIELD_PREFIX + key, []) if key not in hidden else None
            if titles is not None and schema.get("title", key) not in titles:
                titles.append(schema.get("title", key))
    return {key: " / ".join(titles) for key, titles in found.items()}


class FieldRule:
    """``access.visible_fields`` for a page of tickets: an overseer's "every field" answer is known once."""

    def __init__(self, user: User):
        self.user = user
        self.overseen = None if user.role == "admin" else overseen_ids(user)
        self.hidden: dict[int, frozenset[str]] = {}

    def __call__(self, ticket: Ticket) -> set[str] | None:
        if self.overseen is None or sees_all(self.user, ticket, self.overseen.__contains__):
            version = ticket.process_version
            if version.id not in self.hidden:
                self.hidden[version.id] = unreadable(self.user, version)
            return every_field(self.user, ticket, self.hidden[version.id])
        return visible_fields(self.user, ticket)


def field_cells(user: User, tickets: list[Ticket], keys: list[str],
                yes_no: tuple[str, str] = ("Yes", "No")) -> dict[int, dict[str, str]]:
    """ticket id -> {``f.<key>``: text} for the chosen field columns, only where the reader may see the field.

    Two queries for the page (data, attachment names) besides the visibility look-ups; no field
    column chosen, no query at all.
    """
    fields = [k[len(FIELD_PREFIX):] for k in keys if k.startswith(FIELD_PREFIX)]
    ids = [t.id for t in tickets]
    if not fields or not ids:
        return {}
    data = dict(Ticket.select(Ticket.id, Ticket.data).where(Ticket.id.in_(ids)).tuples())
    files = dict(Attachment.select(Attachment.key, Attachment.filename).where(Attachment.ticket.in_(ids)).tuples())
    dictionaries, rule, cells = roster.with_people(docs.dictionary_indexes()), FieldRule(user), {}
    for ticket in tickets:
        ticket.data = data.get(ticket.id) or {}
        shown = filter_data(ticket.data, rule(ticket))
        properties = ticket.process_version.document["schema"]["properties"]
        cells[ticket.id] = {FIELD_PREFIX + key: flatten(properties[key], shown[key], dictionaries, files, yes_no)
                            for key in fields if key in shown and key in properties and shown[key] not in (None, "")}
    return cells


# --- Saved views ---------------------------------------------------------------------------------------------------

def clean_query(user: User, raw: Mapping[str, str]) -> dict[str, str]:
    """The list parameters a view keeps, checked: a scope the user may open, a known sort, known columns."""
    query = {k: str(v).strip()[:VALUE_LENGTH] for k, v in raw.items() if k in QUERY_KEYS and str(v).strip()}
    if query.get("scope", "mine") not in tabs(user):
        raise _invalid("scope", N_("Your role may not list %(scope)s tickets."), scope=query.get("scope"))
    if query.get("sort", "newest") not in SORTS:
        raise _invalid("sort", N_("sort must be newest, due, priority or updated."))
    columns = parse_columns(query.get("cols"))
    if columns is not None:
        query["cols"] = ",".join(columns)
    return query


def _name(name: str | None) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise _invalid("name", N_("Enter a name."))
    if len(text) > NAME_LENGTH:
        raise _invalid("name", N_("A name has at most %(most)s characters."), most=NAME_LENGTH)
    return text


def _team(owner: User, shared: bool) -> int | None:
    """The department a shared view goes to: the owner's; only supervisors and admins share."""
    if not shared:
        return None
    if owner.role not in SHARERS:
        raise _invalid("shared", N_("Only supervisors share views with their team."))
    if owner.department_id is None:
        raise _invalid("shared", N_("You belong to no department: there is no team to share with."))
    return owner.department_id


def _unique(owner: User, name: str, view_id: int | None = None) -> None:
    query = SavedView.select().where(SavedView.owner == owner.id, SavedView.name == name)
    if view_id is not None:
        query = query.where(SavedView.id != view_id)
    if query.exists():
        raise _invalid("name", N_("You have a view of this name already."))


def snapshot(view: SavedView) -> dict:
    return {"name": view.name, "query": view.query, "shared": view.department_id is not None}


def create(owner: User, name: str, query: Mapping[str, str], shared: bool = False) -> SavedView:
    """A new view of ``owner``'s; Invalid naming ``name``, ``shared``, ``scope``, ``sort`` or ``cols``."""
    name, query, team = _name(name), clean_query(owner, query), _team(owner, shared)
    with database.atomic():
        _unique(owner, name)
        view = SavedView.create(owner=owner, name=name, query=query, department=team)
        audit.record(owner, "view.create", f"view:{view.id}", None, snapshot(view))
    return view


def _owned(user: User, view_id: int) -> SavedView:
    """The view to change: 404 if the user cannot see it, 403 if they see it (shared) but do not own it."""
    view = visible(user, view_id)
    if view.owner_id != user.id:
        raise Forbidden(Msg(N_("Only its owner may change a view.")))
    return view


def update(user: User, view_id: int, *, name: str | None = None, query: Mapping[str, str] | None = None,
           shared: bool | None = None) -> SavedView:
    """Rename, save the current list into, or (un)share the user's own view; what is None stays."""
    with database.atomic():
        view = _owned(user, view_id)
        before = snapshot(view)
        if name is not None:
            view.name = _name(name)
            _unique(user, view.name, view.id)
        if query is not None:
            view.query = clean_query(user, query)
        if shared is not None:
            view.department = _team(user, shared)
        view.updated_at = utcnow()
        view.save()
        audit.record(user, "view.update", f"view:{view.id}", before, snapshot(view))
    return view


def delete(user: User, view_id: int) -> None:
    with database.atomic():
        view = _owned(user, view_id)
        before = snapshot(view)
        view.delete_instance()
        audit.record(user, "view.delete", f"view:{view_id}", before, None)


def _ancestors(department_id: int | None) -> set[int]:
    """The user's department and those above it: a view shared with any of them reaches the user."""
    tree = {d: parent for d, (parent, _) in org.department_tree().items()}
    found: set[int] = set()
    while department_id is not None and department_id not in found:
        found.add(department_id)
        department_id = tree.get(department_id)
    return found


def _seen_by(user: User):
    return _seen(user.id, *_ancestors(user.department_id))


def _seen(owner: int, *teams: int):
    condition = SavedView.owner == owner
    return condition | SavedView.department.in_(list(teams)) if teams else condition


_LISTED: dict[int, Prepared] = {}  # by how many departments share views with the reader: the tree's depth at most


def _listed(teams: int) -> Prepared:
    """The workspace's views query for a reader under ``teams`` departments: its text built once (issue 24)."""
    if teams not in _LISTED:
        _LISTED[teams] = Prepared(lambda owner, *departments: (
            SavedView.select(SavedView, User).join(User, on=(SavedView.owner == User.id))
            .where(_seen(owner, *departments)).order_by(SavedView.name)), int, *[int] * teams)
    return _LISTED[teams]


def views_for(user: User) -> list[SavedView]:
    """The user's own views, then those shared with their team by others, each with its owner, by name."""
    teams = _ancestors(user.department_id)
    rows = _listed(len(teams)).rows(user.id, *teams)
    return sorted(rows, key=lambda v: v.owner_id != user.id)


def visible(user: User, view_id: int) -> SavedView:
    """One view the user may pick; NotFound for any other (another's personal view included)."""
    view = SavedView.select().where(SavedView.id == view_id, _seen_by(user)).first()
    if view is None:
        raise NotFound(Msg(N_("No view %(id)s."), {"id": view_id}))
    return view
