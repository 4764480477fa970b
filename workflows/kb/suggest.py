"""Suggestions while a description is typed (issue 23): knowledge-base articles and similar closed tickets.

The call page and the ticket page ask this as the agent types. Both halves use the ticket search's engine
(``workflows.search.tokens`` bigrams, SQLite FTS5 / PostgreSQL tsvector) and its rules:

- articles: only published ones the reader may read (``kb.search.search_articles``), those holding every
  word first; a typed sentence rarely holds only an article's words, so the list is topped up with
  articles matching *any* of its terms (ranked by how well), each checked with ``articles.readable`` again;
- closed tickets: ``workflows.search.query.ranked`` narrowed to closed tickets, as ``similar_open`` narrows
  to open ones, so only tickets the reader may open are candidates and a candidate found only through a
  field the reader may not see (``access.visible_fields``, ``x-readers``) is dropped.
"""

from __future__ import annotations

from formbuilder.display import display
from workflows.processes import documents as docs
from workflows.search.query import LONGEST, SHORT, _loaded, ranked
from workflows.storage.models import Article, Ticket, User
from workflows.tickets.access import filter_data, visible_fields

LIMIT = 5
#: Matching parts the database ranks for the closed tickets: a panel of five needs far fewer than a list's 1000,
#: and loading (and checking the fields of) each candidate is most of an answer's time.
CANDIDATES = 100


def suggest(reader: User, text: str, *, ticket: Ticket | None = None,
            limit: int = LIMIT) -> tuple[list[Article], list[Ticket]]:
    """Articles ``reader`` may read and closed tickets they may open like ``text`` (and ``ticket``'s visible text).

    ``ticket``: the ticket whose page asks; its own visible text joins what was typed (typed text first,
    since a query reads ``LONGEST`` characters), and it is never suggested to itself.
    """
    text = " ".join(part for part in ((text or "").strip(), ticket_text(reader, ticket)) if part)[:LONGEST]
    if len(text.strip()) < SHORT:
        return [], []
    return articles_like(reader, text, limit), closed_like(reader, text, ticket.id if ticket else None, limit)


def ticket_text(reader: User, ticket: Ticket | None) -> str:
    """The text of ``ticket``'s fields ``reader`` may see (``access.visible_fields``), as the page shows them."""
    if ticket is None:
        return ""
    data = filter_data(ticket.data or {}, visible_fields(reader, ticket))
    properties, dictionaries = ticket.process_version.document["schema"]["properties"], docs.dictionary_indexes()
    parts = [display(schema, data[key], dictionaries) for key, schema in properties.items()
             if key in data and schema.get("type") == "string" and data[key]]
    return " ".join(p for p in parts if p)


def closed_like(reader: User, text: str, skip: int | None, limit: int) -> list[Ticket]:
    """Closed tickets ``reader`` may open whose visible text is like ``text``, best first."""
    ids = [i for i in ranked(reader, text, lambda query: query.where(Ticket.status == "closed"), any_term=True,
                             limit=limit + 1, candidates=CANDIDATES) if i != skip][:limit]
    found = _loaded(ids) if ids else {}  # with their process versions: the excerpts read them
    return [found[i] for i in ids if i in found]


def articles_like(reader: User | None, text: str, limit: int) -> list[Article]:
    """Published articles ``reader`` may read: those with every word first, then those with any of them."""
    from workflows.kb import articles, search  # imported late: the knowledge base's own modules import much

    found = list(search.search_articles(reader, text, limit=limit))
    if len(found) < limit:
        seen = {a.id for a in found}
        more = search.search_articles(reader, text, limit=limit + len(found), any_term=True)
        found += [a for a in more if a.id not in seen and articles.readable(reader, a)][:limit - len(found)]
    return found[:limit]
