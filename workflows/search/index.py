"""Keep the search index in step with tickets: one row per part of a ticket a reader may or may not see.

Parts follow the visibility rule (``workflows/tickets/access``), so a query can keep
only the parts its reader sees: ``f:<key>`` holds a field's value as text (option and
dictionary labels too, a detail table's cells, its files' names), ``notes`` the
comments of the ticket's history (notes, return reasons) and the names of the notes'
files, ``customer`` the caller's name and company. Everything here runs inside the
caller's transaction: the index commits or rolls back with the action.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from peewee import JOIN

from formbuilder.display import display
from formbuilder.tables import is_table
from formbuilder.tabletext import table_text
from workflows.people import roster
from workflows.processes import documents as docs
from workflows.search import common
from workflows.search.tokens import joined
from workflows.storage.db import database
from workflows.storage.models import (
    Attachment,
    Customer,
    ProcessVersion,
    SearchPart,
    Ticket,
    TicketEvent,
)

FIELD, NOTES, CUSTOMER = "f:", "notes", "customer"
BATCH = 500  # tickets per query when many are indexed at once (the backfill, `flask search reindex`)


def loose(value: Any) -> list[str]:
    """Every string and number inside a stored value (a table's cells, a list's items), as stored."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, dict):
        return [t for v in value.values() for t in loose(v)]
    if isinstance(value, list):
        return [t for v in value for t in loose(v)]
    return [str(value)]


def field_text(schema: dict, value: Any, dictionaries, names: dict[str, str]) -> str:
    """What a reader reads (labels, a table's cells, file names) and what was stored (codes, order numbers)."""
    try:
        shown = table_text(schema, value, dictionaries, names) if is_table(schema) else display(schema, value,
                                                                                                  dictionaries)
    except Exception:  # noqa: BLE001 - a value no display reads still has its stored text, and search never fails an action
        shown = ""
    return " ".join([shown, *loose(value)])


def parts_of(ticket: dict, schema: dict, comments: list[str], files: list[tuple[str | None, str, str]],
             customer: str, dictionaries) -> dict[str, str]:
    """The index terms of one ticket by part; empty parts are left out. ``files``: (field, key, name)."""
    names = {key: name for _, key, name in files}
    texts: dict[str, list[str]] = {NOTES: list(comments), CUSTOMER: [customer]}
    properties = schema.get("properties", {})
    for key, value in (ticket["data"] or {}).items():
        texts.setdefault(FIELD + key, []).append(field_text(properties.get(key, {}), value, dictionaries, names))
    for field, _, filename in files:
        texts.setdefault(FIELD + field if field else NOTES, []).append(filename)
    found = {part: joined(" ".join(t for t in text if t)) for part, text in texts.items()}
    return {part: terms for part, terms in found.items() if terms}


def _gather(ids: list[int]) -> dict[int, dict[str, str]]:
    """The parts of the tickets ``ids``, in four queries whatever their number."""
    columns = (Ticket.id, Ticket.data, Ticket.process_version, Customer.name, Customer.company)
    rows = list(Ticket.select(*columns).join(Customer, JOIN.LEFT_OUTER, on=(Ticket.customer == Customer.id))
                .where(Ticket.id.in_(ids)).dicts())
    versions = {v.id: v.document["schema"] for v in ProcessVersion.select(ProcessVersion.id, ProcessVersion.document)
                .where(ProcessVersion.id.in_({r["process_version"] for r in rows}))}
    comments: dict[int, list[str]] = {}
    for ticket, comment in (TicketEvent.select(TicketEvent.ticket, TicketEvent.comment)
                            .where(TicketEvent.ticket.in_(ids), TicketEvent.comment.is_null(False)).tuples()):
        comments.setdefault(ticket, []).append(comment)
    files: dict[int, list[tuple[str | None, str, str]]] = {}
    for ticket, *file in (Attachment.select(Attachment.ticket, Attachment.field, Attachment.key, Attachment.filename)
                          .where(Attachment.ticket.in_(ids)).tuples()):
        files.setdefault(ticket, []).append(tuple(file))
    dictionaries = roster.with_people(docs.dictionary_indexes())
    return {r["id"]: parts_of(r, versions[r["process_version"]], comments.get(r["id"], []), files.get(r["id"], []),
                              " ".join(t for t in (r["name"], r["company"]) if t), dictionaries) for r in rows}


def reindex(ids: Iterable[int]) -> int:
    """Bring the index rows of the tickets ``ids`` up to date; only parts whose terms changed are rewritten.

    Returns how many parts were written. The caller's transaction holds it (the action's, or the CLI's batch).
    """
    ids = sorted(set(ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        wanted = _gather(batch)
        stored = {(t, p): terms for t, p, terms in SearchPart.select(SearchPart.ticket, SearchPart.part,
                                                                     SearchPart.terms)
                  .where(SearchPart.ticket.in_(batch)).tuples()}
        fresh = {(t, p): terms for t, parts in wanted.items() for p, terms in parts.items()}
        stale = [key for key, terms in stored.items() if fresh.get(key) != terms]
        for ticket, part in stale:
            SearchPart.delete().where(SearchPart.ticket == ticket, SearchPart.part == part).execute()
        rows = [{"ticket": t, "part": p, "terms": terms} for (t, p), terms in fresh.items()
                if stored.get((t, p)) != terms]
        for start_row in range(0, len(rows), 1000):
            SearchPart.insert_many(rows[start_row:start_row + 1000]).execute()
        written += len(rows)
    return written


def reindex_fields(ticket: Ticket, keys: Iterable[str], extra: dict[str, str] | None = None) -> bool:
    """Rewrite the parts of the changed fields ``keys`` from the ticket in hand (data, version), in one
    statement: an action that changed only fields needs none of the reads of :func:`reindex` (issue 24).

    ``extra``: other parts' terms by part (an action's notes, :func:`notes_terms`), in the same statement.
    Returns False, writing nothing, when one of the fields holds files (their names come from the
    attachments): the caller then reindexes the whole ticket.
    """
    properties = ticket.process_version.document["schema"].get("properties", {})
    keys = [k for k in keys if k in properties]
    if any(_holds_files(properties[k]) for k in keys):
        return False
    dictionaries, data = roster.with_people(docs.dictionary_indexes()), ticket.data or {}
    terms = {FIELD + k: joined(field_text(properties[k], data[k], dictionaries, {})) if k in data else ""
             for k in keys} | (extra or {})
    if empty := [part for part, text in terms.items() if not text]:
        SearchPart.delete().where(SearchPart.ticket == ticket.id, SearchPart.part.in_(empty)).execute()
    if rows := [(ticket.id, part, text) for part, text in terms.items() if text]:
        _write(rows, upsert=True)
    return True


def _write(rows: list[tuple[int, str, str]], upsert: bool = False) -> None:
    """(ticket, part, terms) rows in one statement whose text is made by joining strings, not by peewee's
    query builder (issue 24: building an insert's SQL cost more than running it). ``upsert``: a part
    already there takes the new terms."""
    mark = "%s" if common.postgres() else "?"
    sql = ("INSERT INTO search_part (ticket_id, part, terms) VALUES "
           + ", ".join([f"({mark}, {mark}, {mark})"] * len(rows)))
    if upsert:
        sql += " ON CONFLICT (ticket_id, part) DO UPDATE SET terms = excluded.terms"
    database.execute_sql(sql, [value for row in rows for value in row])


def notes_terms(ticket: int) -> str:
    """The notes part's terms (the comments, then the files without a field, as :func:`_gather` reads them)
    in one read: with :func:`reindex_fields`' ``extra``, an action with a comment rewrites it exactly."""
    mark = "%s" if common.postgres() else "?"
    return joined(" ".join(text for _, _, text in database.execute_sql(
        f"SELECT 0, id, comment FROM ticket_event WHERE ticket_id = {mark} AND comment IS NOT NULL "
        f"UNION ALL SELECT 1, id, filename FROM attachment WHERE ticket_id = {mark} AND field IS NULL "
        "ORDER BY 1, 2", (ticket, ticket)).fetchall() if text))


def index_created(ticket: Ticket, comment: str | None) -> bool:
    """A new ticket's parts from the ticket in hand (data, version, customer) in one insert: it has no rows
    yet, and nothing to read back. False, writing nothing, when a field holds files (their names come
    from the attachments): the caller then indexes it by :func:`reindex`."""
    schema = ticket.process_version.document["schema"]
    properties = schema.get("properties", {})
    if any(_holds_files(properties.get(key, {})) for key, value in (ticket.data or {}).items() if value):
        return False
    customer = ticket.customer if ticket.customer_id is not None else None
    name = " ".join(t for t in (customer.name, customer.company) if t) if customer is not None else ""
    parts = parts_of({"data": ticket.data}, schema, [comment] if comment else [], [], name,
                     roster.with_people(docs.dictionary_indexes()))
    if parts:
        _write([(ticket.id, part, terms) for part, terms in parts.items()])
    return True


def _holds_files(schema: Any) -> bool:
    """Whether a field (or a table's column) takes files: ``x-accept`` anywhere in its schema."""
    if isinstance(schema, dict):
        return "x-accept" in schema or any(_holds_files(v) for v in schema.values())
    return isinstance(schema, list) and any(_holds_files(v) for v in schema)


def reindex_ticket(ticket: Ticket | int) -> int:
    """One ticket's index rows, after an action, a note or a change of its customer."""
    return reindex([ticket if isinstance(ticket, int) else ticket.id])


def reindex_customer(customer_id: int) -> int:
    """The tickets of a customer whose name changed (or who was merged into another)."""
    ids = [i for (i,) in Ticket.select(Ticket.id).where(Ticket.customer == customer_id).tuples()]
    return reindex(ids)


def reindex_all(batch: int = 2000) -> int:
    """Every ticket, in id order, a batch at a time (the migration's backfill and ``flask search reindex``)."""
    written, last = 0, 0
    while True:
        ids = [i for (i,) in Ticket.select(Ticket.id).where(Ticket.id > last).order_by(Ticket.id).limit(batch)
               .tuples()]
        if not ids:
            return written
        written += reindex(ids)
        last = ids[-1]
