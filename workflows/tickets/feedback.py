"""What the customer sees without logging in: the rating link (工单评价) and the progress page.

Both are reached through signed tokens over the ticket id, so a link cannot be
guessed or bent to another ticket, and nothing needs storing per link. The
salts keep the two apart: a progress link is not a rating link. The progress
view is built from a whitelist (step names, times, ``x-public`` fields), so
notes, comments, actors and other fields never reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from peewee import IntegrityError

from formbuilder import Msg, readers
from formbuilder.display import display
from formbuilder.messages import N_
from workflows.people import roster
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Rating, Ticket, TicketEvent, utcnow
from workflows.storage.prepared import Prepared
from workflows.subscribers import webhooks
from workflows.tickets.errors import Conflict, Invalid, NotFound
from workflows.tickets.present import END

RATING, PROGRESS = "rating", "progress"
SCORES = range(1, 6)
COMMENT_MAX = 2000


def _serializer(salt: str, secret: str | None = None) -> URLSafeSerializer:
    return URLSafeSerializer(secret or current_app.config["SECRET_KEY"], salt=salt)


def rating_link_token(ticket: Ticket, secret: str | None = None) -> str:
    return _serializer(RATING, secret).dumps(ticket.id)


def progress_token(ticket: Ticket, secret: str | None = None) -> str:
    return _serializer(PROGRESS, secret).dumps(ticket.id)


def ticket_for(token: str, salt: str, secret: str | None = None) -> Ticket:
    """The ticket a token was signed for; NotFound for a tampered, foreign or stale token alike."""
    try:
        ticket_id = _serializer(salt, secret).loads(token)
    except BadSignature:
        raise NotFound(Msg(N_("This link is not valid."))) from None
    ticket = Ticket.get_or_none(Ticket.id == ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None:
        raise NotFound(Msg(N_("This link is not valid.")))
    return ticket


_RATING = Prepared(lambda ticket_id: Rating.select().where(Rating.ticket == ticket_id).limit(1), int)


def rating_of(ticket: Ticket) -> Rating | None:
    """The ticket's rating: every ticket page asks, so its text is built once (issue 24)."""
    return _RATING.first(ticket.id)


def may_rate(ticket: Ticket, rating: Rating | None) -> bool:
    """A customer rates a closed ticket, once: ``rating`` is the one it has (:func:`rating_of`)."""
    return ticket.status == "closed" and rating is None


def check_rateable(ticket: Ticket) -> None:
    """Conflict, saying why, unless :func:`may_rate`: the ticket is still open, or was rated."""
    if ticket.status != "closed":
        raise Conflict(Msg(N_("This ticket is still being handled; it can be rated once it is closed.")))
    if not may_rate(ticket, rating_of(ticket)):
        raise Conflict(Msg(N_("This ticket has already been rated. Thank you!")))


def _checked(score: object, comment: str | None) -> tuple[int, str | None]:
    try:
        value = int(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = None
    if value not in SCORES:
        raise Invalid(Msg(N_("The rating was not saved: see the fields.")),
                      {"score": [Msg(N_("Choose a score from 1 to 5."))]})
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        raise Invalid(Msg(N_("The rating was not saved: see the fields.")),
                      {"comment": [Msg(N_("At most %(max)s characters."), {"max": COMMENT_MAX})]})
    return value, text or None


def rate(token: str, score: object, comment: str | None = None, secret: str | None = None) -> Rating:
    """Store the customer's one rating of a closed ticket, in one transaction.

    The unique ticket column settles a race between two submissions: the loser gets Conflict.
    """
    ticket = ticket_for(token, RATING, secret)
    value, text = _checked(score, comment)
    try:
        with database.atomic():
            check_rateable(Ticket.get_by_id(ticket.id))
            rating = Rating.create(ticket=ticket, score=value, comment=text, created_at=utcnow())
            webhooks.enqueue("ticket.rated", ticket, {"rating": {"score": value, "comment": text}})
            return rating
    except IntegrityError:
        raise Conflict(Msg(N_("This ticket has already been rated. Thank you!"))) from None


@dataclass
class Progress:
    """The customer-safe view of a ticket."""

    number: str
    process: str
    status: str
    steps: list[tuple[str | None, datetime]]  # step name (None: closed) and when the ticket entered it
    fields: list[tuple[str, str]]  # label and display text of the x-public fields


def progress(ticket: Ticket, yes_no: tuple[str, str] = ("Yes", "No")) -> Progress:
    document = ticket.process_version.document
    return Progress(ticket.number, document["name"], ticket.status, _steps(ticket), public_fields(ticket, yes_no))


def _steps(ticket: Ticket) -> list[tuple[str | None, datetime]]:
    """Each step the ticket entered and when, from the history's step columns only (no comments, no actors)."""
    names = {s["key"]: s["name"] for s in ticket.process_version.document["steps"]}
    first = ticket.process_version.document["steps"][0]["key"]
    entries, current = [(names.get(first, first), ticket.created_at)], first
    rows = (TicketEvent.select(TicketEvent.to_step, TicketEvent.created_at)
            .where(TicketEvent.ticket == ticket).order_by(TicketEvent.id).tuples())
    for to_step, at in rows:
        if to_step and to_step != current:
            entries.append((None if to_step == END else names.get(to_step, to_step), at))
            current = to_step
    return entries


def public_fields(ticket: Ticket, yes_no: tuple[str, str] = ("Yes", "No")) -> list[tuple[str, str]]:
    """The fields the ticket's own process version marks ``"x-public": true``, with display labels.

    Attachments are left out: their files are for signed-in readers only. So is a field with
    ``x-readers``, even if also ``x-public``: the customer is no reader.
    """
    properties = ticket.process_version.document["schema"]["properties"]
    dictionaries, shown = roster.with_people(docs.dictionary_indexes()), []
    for key, schema in properties.items():
        value = ticket.data.get(key)
        if not readers.is_public(schema) or value in (None, "", []) or _is_attachment(schema):
            continue
        text = (yes_no[0] if value else yes_no[1]) if isinstance(value, bool) else display(schema, value, dictionaries)
        shown.append((schema.get("title", key), text))
    return shown


def _is_attachment(schema: dict) -> bool:
    return schema.get("type") == "array" and schema.get("items", {}).get("format") == "attachment"
