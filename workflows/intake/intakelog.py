"""The mail intake's log and its memory (issue 22, docs/mail.md "Duplicates"): one row per message read.

A message is known by its Message-ID; one without gets a stable hash of From, Date, Subject
and body, so the same file read twice is the same message. The reading that counts (created,
appended, dropped) holds the id as its unique ``claim``, inserted first in the transaction
that writes the ticket or note: a second worker reading the same message at the same time
waits on that insert and fails it, its transaction is rolled back whole, and it logs a
duplicate. Replies find their ticket by our own Message-IDs (:func:`threaded_ticket`).
"""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32

from peewee import JOIN

from workflows.storage.models import EmailMessage, MailIntake, Ticket, utcnow

OUTCOMES = ("created", "appended", "dropped", "duplicate", "refused")
IDS = re.compile(r"<[^<>\s]+>")
LIMITS = {"message_id": 255, "sender": 320, "subject": 255, "reason": 255}


def identity(message_id: str, raw: bytes, subject: str, body: str) -> str:
    """The message's id: its Message-ID (angle brackets dropped), else ``sha256:`` of From, Date, Subject, body."""
    found = IDS.findall(message_id or "")
    if found:
        return found[0][1:-1][:255]
    if (message_id or "").strip():
        return message_id.strip()[:255]
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    parts = [str(headers.get("from") or ""), str(headers.get("date") or ""), subject or "", body or ""]
    return "sha256:" + hashlib.sha256("\x00".join(p.strip() for p in parts).encode("utf-8", "replace")).hexdigest()


def seen(message_id: str) -> bool:
    """Whether a reading of this message already counted."""
    return MailIntake.select().where(MailIntake.claim == message_id).exists()


def _cut(name: str, value: str | None) -> str:
    """Text a database takes: undecoded bytes of raw 8-bit headers (surrogates) read as UTF-8, cut to fit."""
    text = (value or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text[:LIMITS[name]]


def record(message_id: str, sender: str, subject: str, outcome: str, reason: str = "",
           ticket: Ticket | None = None) -> MailIntake:
    """Write one log row; created, appended and dropped claim the id (call it inside their transaction)."""
    claim = message_id if outcome in ("created", "appended", "dropped") else None
    return MailIntake.create(message_id=_cut("message_id", message_id), claim=claim and _cut("message_id", claim),
                             sender=_cut("sender", sender), subject=_cut("subject", subject),
                             received_at=utcnow(), outcome=outcome, reason=_cut("reason", reason), ticket=ticket)


def link(row: MailIntake, ticket: Ticket) -> None:
    """The claimed row names the ticket once it exists (same transaction)."""
    MailIntake.update(ticket=ticket).where(MailIntake.id == row.id).execute()


def referenced_ids(in_reply_to: str, references: str) -> list[str]:
    """The Message-IDs a reply names, the one it answers first, without angle brackets."""
    ids = [m[1:-1] for m in IDS.findall(in_reply_to or "")]
    ids += [m[1:-1] for m in reversed(IDS.findall(references or "")) if m[1:-1] not in ids]
    return ids[:50]


def threaded_ticket(in_reply_to: str, references: str) -> Ticket | None:
    """The ticket one of our own messages (named by In-Reply-To or References) was about, or None."""
    ids = referenced_ids(in_reply_to, references)
    if not ids:
        return None
    wanted = [f"<{i}>" for i in ids]
    rows = {row.message_id: row.ticket_id for row in EmailMessage.select(EmailMessage.message_id, EmailMessage.ticket)
            .where(EmailMessage.message_id.in_(wanted), EmailMessage.ticket.is_null(False))}
    for key in wanted:  # the message answered directly wins over older references
        if key in rows:
            return Ticket.get_or_none(Ticket.id == rows[key])
    return None


def latest(limit: int = 200, outcome: str | None = None) -> list[MailIntake]:
    """The newest rows first (of one outcome if given), with their tickets, for the admin's read-only page."""
    query = (MailIntake.select(MailIntake, Ticket).join(Ticket, JOIN.LEFT_OUTER, on=MailIntake.ticket == Ticket.id)
             .order_by(MailIntake.received_at.desc(), MailIntake.id.desc()).limit(limit))
    return list(query.where(MailIntake.outcome == outcome) if outcome else query)
