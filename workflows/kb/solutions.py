"""Closing with a solution (issue 23): the article a ticket was solved with, required by a step if it says so.

A process asks for it with the step key ``x-solution`` (``"required"`` or ``"optional"``) on a step
that may close the ticket (a ``$end`` transition); the meta-schema accepts the key in format 1 and 2
documents (docs/kb.md, "Suggestions and solutions"). The rule lives here and is one of the engine's
``LEAVING`` guards, so every path that closes through a step (page, API, bulk close) is refused
without a chosen article. The SLA worker's moves ask the same guards (``sla.move``): a ``timeout`` to ``$end``
at a step that requires a solution waits for one too (docs/kb.md says to use ``"optional"`` there).

The choice is one :class:`TicketSolution` per ticket, made by whoever may act on the open ticket:
a published article they may read, or a new article drafted from the ticket ("new article from this
ticket": its visible fields and notes, created by an editor and submitted to review at once).
"""

from __future__ import annotations

from formbuilder import Msg
from formbuilder.display import display
from formbuilder.messages import N_
from formbuilder.tables import is_table
from workflows.processes import documents as docs
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Article, Ticket, TicketEvent, TicketSolution, User, utcnow
from workflows.storage.prepared import Prepared
from workflows.tickets.access import can_act, filter_data, visible_fields
from workflows.tickets.errors import Conflict, Forbidden, Invalid

KEY = "x-solution"
POLICIES = ("required", "optional")
END = "$end"
TITLE = 200


def policy(ticket: Ticket) -> str | None:
    """``"required"``, ``"optional"`` or None: what the ticket's current step says of a solution."""
    step = next((s for s in ticket.process_version.document["steps"] if s["key"] == ticket.step), None)
    value = step.get(KEY) if step else None
    return value if value in POLICIES else None


_CURRENT = Prepared(lambda ticket_id: TicketSolution.select(TicketSolution, Article).join(Article)
                    .where(TicketSolution.ticket == ticket_id).limit(1), int)  # every ticket page: built once


def current(ticket: Ticket) -> TicketSolution | None:
    """The ticket's chosen solution, with its article."""
    return _CURRENT.first(ticket.id)


def guard(ticket: Ticket, transition: dict) -> dict[str, list[Msg]]:
    """The engine's ``LEAVING`` check: closing from a step that requires a solution needs one chosen."""
    if transition.get("to") != END or policy(ticket) != "required" or current(ticket) is not None:
        return {}
    return {"solution": [Msg(N_("Choose a solution article before closing: this step requires one."))]}


def install(leaving: list) -> None:
    """Add :func:`guard` to the engine's ``LEAVING`` once (the engine calls this on every load)."""
    if not any((getattr(g, "__module__", ""), getattr(g, "__qualname__", "")) == (__name__, "guard") for g in leaving):
        leaving.append(guard)


def _open_for(actor: User, number: str) -> Ticket:
    """The ticket ``number``, open, and ``actor`` its handler (or who may act on it): else refused."""
    from workflows.tickets.engine import load  # the engine installs this module's guard: imported late

    ticket = load(number)
    if not can_act(actor, ticket):
        raise Forbidden(Msg(N_("You are not the handler of this ticket.")))
    if ticket.status != "open":
        raise Conflict(Msg(N_("This action does not apply to a ticket that is %(status)s."),
                           {"status": ticket.status}))
    return ticket


def _article(actor: User, number: str, ticket: Ticket) -> Article:
    """A published article ``actor`` may read, or one drafted from this very ticket; else Invalid naming it."""
    from workflows.kb import articles  # K1's module

    article = Article.get_or_none(Article.number == (number or "").strip().upper())
    usable = article is not None and (
        (article.status == "published" and articles.readable(actor, article))
        or (article.source_ticket_id == ticket.id and article.status in ("draft", "review", "published")))
    if not usable:
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")),
                      {"article": [Msg(N_("Choose a published article you may read."))]})
    return article


def choose(actor: User, number: str, article_number: str) -> TicketSolution:
    """Record ``article_number`` as ticket ``number``'s solution (replacing an earlier choice); one transaction."""
    with database.atomic():
        ticket = _open_for(actor, number)
        return _record(actor, ticket, _article(actor, article_number, ticket))


def _record(actor: User, ticket: Ticket, article: Article) -> TicketSolution:
    before = current(ticket)
    TicketSolution.delete().where(TicketSolution.ticket == ticket).execute()
    chosen = TicketSolution.create(ticket=ticket, article=article, chosen_by=actor, created_at=utcnow())
    audit.record(actor, "ticket.solution", ticket.number, before.article.number if before else None,
                 article.number)
    return chosen


def draft_text(actor: User, ticket: Ticket, headings: tuple[str, str, str]) -> tuple[str, str]:
    """A new article's title and Markdown body from what ``actor`` sees of ``ticket``: fields, then notes.

    ``headings``: the problem, the notes and the source ticket, in the actor's language (the view's).
    """
    data = filter_data(ticket.data or {}, visible_fields(actor, ticket))
    properties, dictionaries = ticket.process_version.document["schema"]["properties"], docs.dictionary_indexes()
    lines = [(schema.get("title", key), display(schema, data[key], dictionaries))
             for key, schema in properties.items() if key in data and _is_text(schema)]
    lines = [(label, text) for label, text in lines if text]
    notes = [e.comment for e in TicketEvent.select(TicketEvent.comment).where(
        TicketEvent.ticket == ticket, TicketEvent.action == "note").order_by(TicketEvent.id) if e.comment]
    first = next((text for _, text in lines if len(text) > 3), ticket.process_version.document["name"])
    title = first.splitlines()[0][:TITLE]
    body = [f"## {headings[0]}", "", *(f"- **{label}**: {text}" for label, text in lines)]
    body += ["", f"## {headings[1]}", "", *(f"{n}\n" for n in notes)] if notes else []
    body += ["", f"{headings[2]}: [{ticket.number}](/tickets/{ticket.number})"]
    return title, "\n".join(body).strip() + "\n"


def _is_text(schema: dict) -> bool:
    """Fields that read as text in an article: not files, not detail tables."""
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    return schema.get("format") != "attachment" and items.get("format") != "attachment" and not is_table(schema)


def from_ticket(actor: User, number: str, headings: tuple[str, str, str]) -> Article:
    """"New article from this ticket": drafted from its visible fields and notes, submitted to review at once,
    and recorded as the ticket's solution; one transaction (editors only: ``articles.create`` refuses others)."""
    from workflows.kb import articles  # K1's module

    with database.atomic():
        ticket = _open_for(actor, number)
        title, body = draft_text(actor, ticket, headings)
        article = articles.create(actor, title=title, body=body, source_ticket=ticket)
        articles.submit(actor, article.number)
        article = Article.get_by_id(article.id)
        _record(actor, ticket, article)
        return article


def per_article(viewer: User, limit: int = 50) -> list[tuple[Article, int]]:
    """Tickets per solution article, most first: the report (supervisors their team's tickets, admins all)."""
    from peewee import fn

    from workflows.reporting.queries import scope_condition
    from workflows.reporting.reports import can_view_reports

    if not can_view_reports(viewer):
        raise Forbidden(Msg(N_("Only supervisors and admins may see reports.")))
    count = fn.COUNT(TicketSolution.id)
    query = (Article.select(Article, count.alias("tickets")).join(TicketSolution)
             .join(Ticket, on=(TicketSolution.ticket == Ticket.id)))
    scope = None if viewer.role == "admin" else scope_condition(viewer, "team")
    query = query.where(scope) if scope is not None else query
    rows = query.group_by(Article.id).order_by(count.desc(), Article.number).limit(limit)
    return [(article, article.tickets) for article in rows]

