"""Ask the index: tickets whose text a reader may see matches a query, best first.

The database finds and ranks candidate parts (SQLite FTS5 ``bm25``, PostgreSQL
``ts_rank`` over a GIN index) among the tickets the caller's condition allows (what
the reader may read, the list's scope and filters); then each candidate whose only
matching parts are fields is kept only if one of those fields is among
``access.visible_fields`` for this reader and ticket: the one rule every output uses,
so a hidden field's text never finds a ticket for someone who may not see it.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import Cast, Expression, Field, ForeignKeyField, Value, fn
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from workflows.search import common
from workflows.search.common import postgres
from workflows.search.index import FIELD
from workflows.search.tokens import runs
from workflows.storage.db import database
from workflows.storage.models import BaseModel, ProcessVersion, SearchPart, Ticket, User
from workflows.tickets.access import every_field, sees_all, unreadable, visible_fields

CANDIDATES = 1000  # matching parts the database ranks and returns for one query
RESULTS = 200  # tickets a list ranks at most; further matches by number or phone follow, newest first
LONGEST = 200  # characters of a query read: a pasted page must not become a thousand-term query
SHORT = 2  # fewer characters than this (after trimming) is no query for similar tickets
OPEN = ("open", "pending")


class _Fts(FTS5Model):
    """SQLite: the FTS5 table over ``search_part.terms`` (migration 0018), read only here."""

    rowid = RowIDField()
    terms = SearchField()

    class Meta:
        database = database
        table_name = "search_fts"


class _Vectors(BaseModel):
    """PostgreSQL: ``search_part`` with its generated ``vector`` column (migration 0018), read only here."""

    ticket = ForeignKeyField(Ticket)
    part = Field()
    vector = Field()

    class Meta:
        table_name = "search_part"


def fts5_query(groups: list[list[str]], any_term: bool) -> str:
    """FTS5 syntax: each run a quoted phrase; the last word a prefix (the user may still be typing)."""
    phrases = [f'"{" ".join(g)}"' for g in groups]
    if groups and len(groups[-1]) == 1 and groups[-1][0].isascii():
        phrases[-1] += "*"
    return (" OR " if any_term else " AND ").join(phrases)


def tsquery(groups: list[list[str]], any_term: bool) -> str:
    """PostgreSQL tsquery text (cast, not parsed): each run a ``<->`` phrase, the last word a prefix."""
    phrases = [" <-> ".join(f"'{t}'" for t in g) for g in groups]
    if groups and len(groups[-1]) == 1 and groups[-1][0].isascii():
        phrases[-1] += ":*"
    return (" | " if any_term else " & ").join(f"({p})" for p in phrases)


def _candidates(text: str, narrow: Callable | None, any_term: bool,
                candidates: int = CANDIDATES) -> list[tuple[int, str]]:
    """(ticket id, part) of the best matching parts among the tickets ``narrow`` keeps, best first.

    ``any_term`` (similar tickets): each term on its own, the rare ones ranked over the whole history,
    topped up from the most recent parts holding any term when they find too few (``common``).
    """
    groups = runs(text[:LONGEST])
    if not groups:
        return []
    if not any_term:
        return _matching(groups, False, narrow, candidates)
    terms = [[t] for t in dict.fromkeys(t for g in groups for t in g)]
    return common.any_term(terms, lambda g: _query(g, True),
                           lambda g, recent: _matching(g, True, narrow, candidates, recent), candidates)


def _query(groups: list[list[str]], any_term: bool) -> str:
    return tsquery(groups, any_term) if postgres() else fts5_query(groups, any_term)


def _matching(groups: list[list[str]], any_term: bool, narrow: Callable | None, candidates: int,
              recent: bool = False) -> list[tuple[int, str]]:
    """One ranked query; ``recent``: only the most recent matching parts are ranked (``common.recent``)."""
    text = _query(groups, any_term)
    if recent:
        rows = _recent(text)
    elif postgres():
        query = Cast(Value(text), "tsquery")
        rows = (_Vectors.select(_Vectors.ticket, _Vectors.part).join(Ticket, on=(_Vectors.ticket == Ticket.id))
                .where(Expression(_Vectors.vector, "@@", query))
                .order_by(fn.ts_rank(_Vectors.vector, query).desc(), Ticket.id.desc()))
    else:
        rows = (SearchPart.select(SearchPart.ticket, SearchPart.part).join(_Fts, on=(_Fts.rowid == SearchPart.id))
                .switch(SearchPart).join(Ticket, on=(SearchPart.ticket == Ticket.id))
                .where(_Fts.match(text)).order_by(_Fts.bm25(), Ticket.id.desc()))
    rows = narrow(rows) if narrow is not None else rows
    return list(rows.limit(candidates).tuples())


def _recent(text: str):
    """Parts among the most recent ``common.WINDOW`` matching ``text``, ranked."""
    found = common.recent(text, postgres(), _Fts, _Vectors)
    return (SearchPart.select(SearchPart.ticket, SearchPart.part).join(found, on=(found.c.key == SearchPart.id))
            .switch(SearchPart).join(Ticket, on=(SearchPart.ticket == Ticket.id))
            .order_by(found.c.score, Ticket.id.desc()))


def _readable(reader: User):
    """``access.can_read`` as a condition (the lists' own); imported late: the lists import this module."""
    from workflows.reporting.queries import _readable as readable

    return readable(reader)


class _Fields:
    """``access.visible_fields`` for the candidates of one query, as exports ask it for many tickets.

    Tickets whose handler the reader oversees (admins: every ticket) get the "sees all" answer with the
    fields the reader may not read (``x-readers``) known once per process version; the rest ask access.
    """

    def __init__(self, reader: User):
        from workflows.reporting.queries import overseen_ids  # the lists import this module

        self.reader = reader
        self.overseen = None if reader.role == "admin" else overseen_ids(reader)
        self.hidden: dict[int, frozenset[str]] = {}

    def __call__(self, ticket: Ticket) -> set[str] | None:
        if self.overseen is None or sees_all(self.reader, ticket, self.overseen.__contains__):
            version = ticket.process_version
            if version.id not in self.hidden:
                self.hidden[version.id] = unreadable(self.reader, version)
            return every_field(self.reader, ticket, self.hidden[version.id])
        return visible_fields(self.reader, ticket)


def _sees(fields_of: _Fields, ticket: Ticket, parts: set[str]) -> bool:
    """Whether the reader sees one of the matching ``parts``: notes and the customer go with the ticket."""
    if any(not p.startswith(FIELD) for p in parts):
        return True
    fields = fields_of(ticket)
    return fields is None or any(p[len(FIELD):] in fields for p in parts)


def _loaded(ids: list[int]) -> dict[int, Ticket]:
    """The tickets ``ids`` with their process versions attached: two queries, however many."""
    tickets = {t.id: t for t in Ticket.select().where(Ticket.id.in_(ids))}
    wanted = {t.process_version_id for t in tickets.values()}
    versions = {v.id: v for v in ProcessVersion.select().where(ProcessVersion.id.in_(wanted))} if wanted else {}
    for ticket in tickets.values():
        ticket.process_version = versions[ticket.process_version_id]
    return tickets


def ranked(reader: User, text: str, narrow: Callable | None = None, *, any_term: bool = False,
           limit: int = RESULTS, candidates: int = CANDIDATES) -> list[int]:
    """Ids of tickets matching ``text`` in what ``reader`` may see, best first, at most ``limit``.

    Only tickets ``reader`` may read are candidates; ``narrow`` takes the candidate query (joined
    with ``Ticket``) and returns it narrowed further: a list's scope and filters. ``any_term``: a
    ticket matching some of the words counts (similar tickets); else every word must match (the search box).
    ``candidates``: matching parts the database ranks (fewer for the suggestions panel, which shows five).
    """
    readable = _readable(reader)

    def narrowed(query):
        query = query.where(readable) if readable is not None else query
        return narrow(query) if narrow is not None else query

    found: dict[int, set[str]] = {}
    for ticket, part in _candidates(text, narrowed, any_term, candidates):
        found.setdefault(ticket, set()).add(part)
    if not found:
        return []
    tickets, fields_of, kept = _loaded(list(found)), _Fields(reader), []
    for ticket_id, parts in found.items():
        if ticket_id in tickets and _sees(fields_of, tickets[ticket_id], parts):
            kept.append(ticket_id)
            if len(kept) == limit:
                break
    return kept


def similar_open(user: User, text: str, *, limit: int = 5) -> list[Ticket]:
    """Open or pending tickets ``user`` may read whose visible text is like ``text``, best first (the call page).

    Any of the words counts, ranked by how well they match; empty for an empty or too short text.
    """
    if len((text or "").strip()) < SHORT:
        return []
    ids = ranked(user, text, lambda query: query.where(Ticket.status.in_(OPEN)), any_term=True, limit=limit)
    tickets = _loaded(ids) if ids else {}
    return [tickets[i] for i in ids if i in tickets]
