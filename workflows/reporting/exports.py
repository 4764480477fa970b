"""Ticket-list exports (CSV, XLSX): the workspace list's rows, every page of them, as flat cells.

An export is the same query as the list the user filtered (``queries.ticket_list``),
read in keyset batches so a million-row export never sits in memory. For a
single ticket type the process's own fields become columns, their values
flattened to the labels people read (dictionary and option labels, not codes),
and only the fields the reader may see on each ticket (``access.visible_fields``).
Every cell goes through :func:`safe_cell`, so a value typed by a caller cannot
become a spreadsheet formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from formbuilder.display import text_of
from formbuilder.fieldtypes import classify
from formbuilder.tabletext import table_export
from workflows.people import phones, roster
from workflows.processes import documents as docs
from workflows.reporting.queries import Filters, overseen_ids, step_names, ticket_list
from workflows.storage.models import Attachment, Ticket, User
from workflows.tickets.access import every_field, filter_data, sees_all, unreadable, visible_fields

BATCH = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = ("number", "type", "step", "status", "priority", "assignee", "creator", "customer", "phone",
                "channel", "created", "closed")


@dataclass
class Vocabulary:
    """The words of one export in the reader's language, given by the web layer (no Flask in here)."""

    headers: Mapping[str, str]  # BASE_COLUMNS key -> header
    statuses: Mapping[str, str] = field(default_factory=dict)
    priorities: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    yes_no: tuple[str, str] = ("Yes", "No")
    closed_step: str = "Closed"
    when: Callable[[datetime], str] = lambda moment: moment.strftime("%Y-%m-%d %H:%M")


def xlsx_text(cell):
    """The cell without the control characters XML 1.0 cannot hold (openpyxl raises on them: a broken file)."""
    return ILLEGAL_CHARACTERS_RE.sub("", cell) if isinstance(cell, str) else cell


def safe_cell(value: object) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ tab or CR is defused with a quote (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def field_columns(filters: Filters, user: User) -> dict[str, dict]:
    """key -> schema of the process's fields, from its latest version, when the filter names one process.

    A field ``user`` may never read (``x-readers``) has no column at all, not an empty one: its name
    is no business of theirs either.
    """
    if not filters.process:
        return {}
    version = docs.latest_version(filters.process)
    if version is None:
        return {}
    hidden = unreadable(user, version)
    return {k: v for k, v in version.document["schema"]["properties"].items() if k not in hidden}


def header(vocabulary: Vocabulary, columns: Mapping[str, dict]) -> list[str]:
    return [safe_cell(vocabulary.headers[k]) for k in BASE_COLUMNS] + [
        safe_cell(schema.get("title", key)) for key, schema in columns.items()]


def export_rows(user: User, scope: str, filters: Filters, vocabulary: Vocabulary, sort: str = "newest",
                batch: int | None = None) -> Iterator[list[str]]:
    """The header, then one row per ticket of the list, fetched ``batch`` rows at a time.

    Raises Forbidden/EngineError before the first row when the scope is not the user's.
    """
    columns, batch = field_columns(filters, user), batch or BATCH
    page = ticket_list(user, scope, filters, None, sort, batch)
    fields_of = _FieldRule(user)
    yield header(vocabulary, columns)
    while True:
        extra = _field_cells(page.tickets, columns, fields_of, vocabulary) if columns else {}
        for ticket in page.tickets:
            yield _base_cells(ticket, page.users, vocabulary) + extra.get(ticket.id, [])
        if page.next_cursor is None:
            return
        page = ticket_list(user, scope, filters, page.next_cursor, sort, batch)


def _base_cells(ticket: Ticket, users: Mapping[int, User], vocabulary: Vocabulary) -> list[str]:
    document, customer = ticket.process_version.document, ticket.customer if ticket.customer_id else None
    step = vocabulary.closed_step if ticket.status == "closed" else step_names(ticket.process_version).get(
        ticket.step, ticket.step)
    assignee, creator = users.get(ticket.assignee_id), users.get(ticket.creator_id)
    cells = [ticket.number, document["name"], step, vocabulary.statuses.get(ticket.status, ticket.status),
             vocabulary.priorities.get(ticket.priority, ticket.priority), assignee.name if assignee else "",
             creator.name if creator else "", customer.name if customer else "",
             phones.display(customer.phone) if customer else "",  # as the pages show it (docs/phones.md)
             vocabulary.channels.get(ticket.channel, ticket.channel) if ticket.channel else "",
             vocabulary.when(ticket.created_at), vocabulary.when(ticket.closed_at) if ticket.closed_at else ""]
    return [safe_cell(cell) for cell in cells]


class _FieldRule:
    """``access.visible_fields`` for many tickets: the overseer's answer (every field) is known once.

    ``oversees(reader, member)`` holds exactly for the members ``queries.overseen_ids`` lists (and for
    everyone, for admins), so those tickets skip the per-ticket look-ups; the rest ask access itself.
    The fields the reader may not read (``x-readers``) are known once per process version.
    """

    def __init__(self, user: User):
        self.user = user
        self.overseen = None if user.role == "admin" else overseen_ids(user)
        self.unreadable: dict[int, frozenset[str]] = {}

    def __call__(self, ticket: Ticket) -> set[str] | None:
        if self.overseen is None or sees_all(self.user, ticket, self.overseen.__contains__):
            version = ticket.process_version
            if version.id not in self.unreadable:
                self.unreadable[version.id] = unreadable(self.user, version)
            return every_field(self.user, ticket, self.unreadable[version.id])
        return visible_fields(self.user, ticket)


def _field_cells(tickets: list[Ticket], columns: Mapping[str, dict], fields_of: _FieldRule,
                 vocabulary: Vocabulary) -> dict[int, list[str]]:
    """ticket id -> the process field cells the reader may see (blank where hidden): two queries per batch."""
    ids = [t.id for t in tickets]
    data = dict(Ticket.select(Ticket.id, Ticket.data).where(Ticket.id.in_(ids)).tuples()) if ids else {}
    files = dict(Attachment.select(Attachment.key, Attachment.filename).where(Attachment.ticket.in_(ids)).tuples()
                 ) if ids else {}
    dictionaries, cells = roster.with_people(docs.dictionary_indexes()), {}
    for ticket in tickets:
        ticket.data = data.get(ticket.id) or {}
        shown = filter_data(ticket.data, fields_of(ticket))
        properties = ticket.process_version.document["schema"]["properties"]
        cells[ticket.id] = [safe_cell(flatten(properties.get(key, schema), shown.get(key), dictionaries, files,
                                              vocabulary.yes_no)) for key, schema in columns.items()]
    return cells


def flatten(schema: dict, value: object, dictionaries, files: Mapping[str, str], yes_no: tuple[str, str]) -> str:
    """One stored value as one cell: yes/no for booleans, a detail table's rows one a line, else the type's
    export value (attachments: their file names, ratings: the number), else its text (labels for codes,
    lists joined with "、")."""
    if value is True or value is False:
        return yes_no[0] if value else yes_no[1]
    kind = classify(schema)
    if kind is not None and kind.name == "table":  # its cell needs the schema: a numbered row a line
        return table_export(schema, value, dictionaries, files, yes_no)
    cell = kind.export(value, files) if kind is not None and kind.export is not None else None
    return text_of(kind, schema, value, dictionaries) if cell is None else cell  # total: any value reads as text
