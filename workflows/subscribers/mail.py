"""Customer e-mail: templates per event, an outbox written in the action's transaction, sent by the worker.

Like webhooks (:mod:`workflows.subscribers.webhooks`), a user's action never waits for, nor fails
because of, the mail server: :func:`on_action` and :func:`queue` only write
:class:`EmailMessage` rows inside the caller's transaction (a rolled-back action
queues nothing), and the worker sends them after commit with the same claim/lease
pattern, back-off and attempt limit.

A process opts in per event in its document::

    "notify_customer": {"created": true, "steps": ["warehouse"], "closed": true}

Templates are admin-written text, so placeholders are plain ``{name}`` substitutions
of a fixed set of strings: ``{number.__class__}`` or ``{number[0]}`` are not
placeholders and stay as typed (no ``str.format``, which would read attributes).

Every message says it is automatic (RFC 3834 ``Auto-Submitted``: ``auto-replied`` for the acknowledgement of
a customer's mail, else ``auto-generated``) and keeps the Message-ID chosen when queued, so a reply finds
its ticket; past ``MAIL_RATE_LIMIT`` (``"10/3600"``) messages to one address it is queued as ``dropped``
and never sent, so two auto-responders cannot ping-pong with us (docs/mail.md, "Loops").

Configuration (app config, else environment): ``MAIL_HOST`` (127.0.0.1), ``MAIL_PORT``
(25), ``MAIL_TLS`` (STARTTLS), ``MAIL_SSL`` (SMTP over TLS), ``MAIL_USER``,
``MAIL_PASSWORD``, ``MAIL_FROM``, and ``BASE_URL`` for the progress link.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from peewee import fn

from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import EmailMessage, EmailTemplate, Ticket, User, utcnow
from workflows.subscribers.webhooks import BATCH, ERROR_MAX, LEASE, MAX_ATTEMPTS, backoff
from workflows.tickets import feedback

if TYPE_CHECKING:
    from workflows.tickets.events import Acted

TEMPLATE_EVENTS = ("created", "step", "closed")
PLACEHOLDERS = ("number", "status", "step", "process", "link", "customer")
STATUSES = ("pending", "sending", "sent", "failed", "dropped")  # dropped: over the rate limit, never sent
RATE_LIMIT = (10, 3600)  # at most this many messages per recipient address per that many seconds (MAIL_RATE_LIMIT)
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
TIMEOUT = 10  # seconds per SMTP conversation
STATUS_NAMES = {"open": "处理中", "closed": "已办结"}
GREETING = "{customer} 您好：\n\n您的「{process}」工单 {number} "
FOOTER = "\n\n此邮件由系统自动发送，请勿直接回复。"
DEFAULTS = {  # the seed of migration 0011; used when a template row is missing
    "created": ("您的工单 {number} 已受理", GREETING + "已受理，当前处理步骤：{step}。\n查看处理进度：{link}" + FOOTER),
    "step": ("您的工单 {number} 有新进展：{step}",
             GREETING + "已进入「{step}」，状态：{status}。\n查看处理进度：{link}" + FOOTER),
    "closed": ("您的工单 {number} 已办结",
               GREETING + "已处理完毕。\n查看处理结果：{link}" + FOOTER),
}
SLOT = re.compile(r"\{([A-Za-z_]+)\}")
ANY_BRACES = re.compile(r"\{[^{}]*\}")
ADDRESS = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
log = logging.getLogger(__name__)


def config(name: str, default=None):
    """App config when inside the app, else the environment: the engine also runs from scripts and tests."""
    if has_app_context() and current_app.config.get(name) is not None:
        return current_app.config[name]
    return os.environ.get(name, default)


def _flag(name: str) -> bool:
    value = config(name, False)
    return value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)


# -- templates --------------------------------------------------------------------------------------

def render(text: str, values: dict[str, str]) -> str:
    """Replace each ``{name}`` of PLACEHOLDERS by its string; anything else stays literally as written."""
    return SLOT.sub(lambda m: values[m.group(1)] if m.group(1) in PLACEHOLDERS else m.group(0), text)


def unknown_placeholders(text: str) -> list[str]:
    """Brace groups that are not placeholders, for the admin to correct (they would be sent as typed)."""
    return [m.group(0) for m in ANY_BRACES.finditer(text or "")
            if not (SLOT.fullmatch(m.group(0)) and m.group(0)[1:-1] in PLACEHOLDERS)]


def template(event: str) -> tuple[str, str]:
    """(subject, body) of ``event``: the stored row, else the built-in default."""
    row = EmailTemplate.get_or_none(EmailTemplate.event == event)
    return (row.subject, row.body) if row is not None else DEFAULTS[event]


def progress_link(ticket: Ticket) -> str:
    """The customer's absolute progress URL; empty when no secret is configured to sign it."""
    secret = config("SECRET_KEY")
    if not secret:
        log.warning("mail: no SECRET_KEY, so no progress link for ticket %s", ticket.number)
        return ""
    base = str(config("BASE_URL", DEFAULT_BASE_URL)).rstrip("/")
    return f"{base}/p/{feedback.progress_token(ticket, secret)}"


def values(ticket: Ticket) -> dict[str, str]:
    """The placeholder values: plain strings only, so a template can reach nothing else."""
    document = ticket.process_version.document
    names = {step["key"]: step["name"] for step in document["steps"]}
    customer = ticket.customer if ticket.customer_id else None
    return {"number": ticket.number, "status": STATUS_NAMES.get(ticket.status, ticket.status),
            "step": names.get(ticket.step, STATUS_NAMES["closed"] if ticket.status == "closed" else ""),
            "process": document["name"], "link": progress_link(ticket),
            "customer": (customer.name if customer is not None else "") or "客户"}


def compose(ticket: Ticket, subject: str, body: str) -> tuple[str, str]:
    """Render both texts for ``ticket``; the subject is one header line."""
    filled = values(ticket)
    return " ".join(render(subject, filled).split()), render(body, filled)


# -- queueing (inside the caller's transaction) ------------------------------------------------------

def valid_address(address: str | None) -> bool:
    return bool(address) and len(address) <= 320 and ADDRESS.match(address) is not None


def customer_address(ticket: Ticket) -> str | None:
    """The customer's e-mail, if the ticket has a customer with a plausible one (the column may not exist yet)."""
    if not ticket.customer_id:
        return None
    address = (getattr(ticket.customer, "email", None) or "").strip()
    return address if valid_address(address) else None


def rate_limit() -> tuple[int, int]:
    """(messages, seconds) per recipient: ``MAIL_RATE_LIMIT`` as ``"10/3600"``, else :data:`RATE_LIMIT`."""
    text = str(config("MAIL_RATE_LIMIT", "") or "")
    count, _, seconds = text.partition("/")
    if count.strip().isdigit() and seconds.strip().isdigit() and int(seconds) > 0:
        return int(count), int(seconds)
    return RATE_LIMIT


def over_limit(to: str, now: datetime) -> bool:
    """Whether ``to`` already had its share of messages in the window (dropped ones do not count).

    So two auto-responders answering each other cannot make us ping-pong: past the limit our
    messages to that address are written as ``dropped`` (the outbox shows them) and never sent.
    """
    count, seconds = rate_limit()
    recent = EmailMessage.select().where(fn.LOWER(EmailMessage.to_addr) == to.lower(),
                                         EmailMessage.created_at >= now - timedelta(seconds=seconds),
                                         EmailMessage.status != "dropped")
    return recent.count() >= count


def queue(to: str, subject: str, body: str, ticket: Ticket | None = None, event: str | None = None,
          auto_submitted: str = "auto-generated") -> EmailMessage:
    """Write one pending message (``dropped`` over the rate limit); call it INSIDE the action's transaction.

    Its Message-ID is chosen now and kept, so a reply naming it finds the ticket (docs/mail.md).
    """
    to = (to or "").strip()
    if not valid_address(to):
        raise ValueError(f"not an e-mail address: {to!r}")
    now = utcnow()
    status, error = "pending", None
    if over_limit(to, now):
        status, error = "dropped", "rate limit: {} messages per address per {} s".format(*rate_limit())
        log.warning("e-mail to %s dropped: %s", to, error)
    return EmailMessage.create(to_addr=to, subject=" ".join(subject.split())[:998], body=body, ticket=ticket,
                               event=event, status=status, last_error=error, next_attempt_at=now, created_at=now,
                               message_id=new_message_id(), auto_submitted=auto_submitted)


def new_message_id() -> str:
    """An RFC 5322 Message-ID in our sender's domain."""
    sender = config("MAIL_FROM", "liuzhuan@localhost")
    return make_msgid(domain=Address(addr_spec=sender).domain or "localhost")


def mark_replies(ticket: Ticket, in_reply_to: str) -> int:
    """The messages just queued for ``ticket`` (its acknowledgement) answer a customer's mail: ``auto-replied``.

    RFC 3834: an automatic answer to a message says ``Auto-Submitted: auto-replied`` and names the
    message it answers, so the customer's mail program threads it and their robots stay silent.
    """
    ids = re.findall(r"<[^<>\s]+>", in_reply_to or "")
    return (EmailMessage.update(auto_submitted="auto-replied", in_reply_to=ids[0][:255] if ids else None)
            .where(EmailMessage.ticket == ticket, EmailMessage.event == "ticket.created").execute())


def withhold_replies(ticket: Ticket, why: str) -> int:
    """The acknowledgement just queued for ``ticket`` is not sent: kept as ``dropped`` with ``why`` (in the outbox)."""
    return (EmailMessage.update(status="dropped", last_error=why[:ERROR_MAX])
            .where(EmailMessage.ticket == ticket, EmailMessage.event == "ticket.created",
                   EmailMessage.status == "pending").execute())


def queue_template(ticket: Ticket, template_or_text: str, subject: str | None = None,
                   event: str | None = None) -> EmailMessage | None:
    """Queue a customer e-mail from a template event name, or from a body text (with ``subject``).

    For the automation rules' "send a templated e-mail" action. None when the customer
    has no usable address.
    """
    address = customer_address(ticket)
    if address is None:
        return None
    if template_or_text in TEMPLATE_EVENTS:
        stored_subject, body = template(template_or_text)
        subject = subject or stored_subject
    else:
        body, subject = template_or_text, subject or template("step")[0]
    subject, body = compose(ticket, subject, body)
    return queue(address, subject, body, ticket, event or template_or_text[:40])


def template_for(event: str, ticket: Ticket) -> str | None:
    """Which template, if any, the process's ``notify_customer`` setting asks for after ``event``."""
    setting = ticket.process_version.document.get("notify_customer") or {}
    if event == "ticket.created":
        return "created" if setting.get("created") else None
    if event == "ticket.closed":
        return "closed" if setting.get("closed") else None
    if event in ("ticket.advanced", "ticket.returned") and ticket.step in (setting.get("steps") or []):
        return "step"
    return None


def on_action(event: Acted) -> EmailMessage | None:
    """Subscriber of every engine action, in its transaction: queue the customer's e-mail if asked for."""
    name = template_for(event.name, event.ticket)
    if name is None:
        return None
    return queue_template(event.ticket, name, event=event.name)


# -- sending (the worker, outside any transaction) ---------------------------------------------------

def mime(message: EmailMessage) -> MimeMessage:
    """The RFC 5322 message: UTF-8 subject and plain-text body."""
    sender = config("MAIL_FROM", "liuzhuan@localhost")
    mail = MimeMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, message.to_addr, message.subject
    mail["Message-ID"] = message.message_id or new_message_id()
    mail["Auto-Submitted"] = message.auto_submitted or "auto-generated"  # RFC 3834: robots do not answer
    mail["X-Auto-Response-Suppress"] = "All"  # Exchange's way of saying the same
    if message.in_reply_to:
        mail["In-Reply-To"] = mail["References"] = message.in_reply_to
    mail.set_content(message.body, charset="utf-8")
    return mail


def _smtp() -> smtplib.SMTP:
    """A connected, logged-in SMTP session as configured."""
    host, port = config("MAIL_HOST", "127.0.0.1"), int(config("MAIL_PORT", 25))
    session = (smtplib.SMTP_SSL if _flag("MAIL_SSL") else smtplib.SMTP)(host, port, timeout=TIMEOUT)
    if _flag("MAIL_TLS") and not _flag("MAIL_SSL"):
        session.starttls()
    if config("MAIL_USER"):
        session.login(config("MAIL_USER"), config("MAIL_PASSWORD", ""))
    return session


def send(message: EmailMessage) -> str | None:
    """Hand one message to the SMTP server; the error text, or None when accepted."""
    try:
        with _smtp() as session:
            session.send_message(mime(message))
        return None
    except smtplib.SMTPResponseException as error:
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"SMTP {error.smtp_code}: {text}"
    except smtplib.SMTPRecipientsRefused as error:
        return f"recipient refused: {error.recipients}"
    except (smtplib.SMTPException, OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


def _due(now: datetime):
    """Claimable rows: pending and due, or ``sending`` whose worker's lease ran out."""
    pending = (EmailMessage.status == "pending") & (EmailMessage.next_attempt_at <= now)
    return pending | ((EmailMessage.status == "sending") & (EmailMessage.locked_until < now))


def _take(message_id: int, worker_id: str, now: datetime) -> bool:
    """One conditional UPDATE, committed at once: True if this worker won the row."""
    changed = (EmailMessage.update(status="sending", locked_by=worker_id, locked_until=now + LEASE)
               .where(EmailMessage.id == message_id, _due(now)).execute())
    return changed == 1


def claim(worker_id: str, limit: int = BATCH, now: datetime | None = None) -> list[EmailMessage]:
    """Take up to ``limit`` due messages for ``worker_id``, never one another worker holds (as webhooks.claim)."""
    now = now or utcnow()
    candidates = (EmailMessage.select(EmailMessage.id).where(_due(now))
                  .order_by(EmailMessage.next_attempt_at, EmailMessage.id).limit(limit * 4))
    taken: list[int] = []
    for message_id in [row[0] for row in candidates.tuples()]:  # all ids first: see webhooks.claim
        if len(taken) < limit and _take(message_id, worker_id, now):
            taken.append(message_id)
    return list(EmailMessage.select().where(EmailMessage.id.in_(taken)).order_by(EmailMessage.id)) if taken else []


def record(message: EmailMessage, worker_id: str, error: str | None, now: datetime | None = None) -> str:
    """Store one attempt's outcome (only by the row's holder); ``sent``, ``pending`` (retry) or ``failed``."""
    now, attempts = now or utcnow(), message.attempts + 1
    fields = {"attempts": attempts, "locked_by": None, "locked_until": None}
    if error is None:
        fields.update(status="sent", sent_at=now, last_error=None)
    else:
        fields.update(status="failed" if attempts >= MAX_ATTEMPTS else "pending", last_error=error[:ERROR_MAX],
                      next_attempt_at=now + backoff(attempts))
    (EmailMessage.update(fields)
     .where(EmailMessage.id == message.id, EmailMessage.locked_by == worker_id, EmailMessage.status == "sending")
     .execute())
    return fields["status"]


def send_due(worker_id: str, limit: int = BATCH, now: datetime | None = None) -> dict[str, int]:
    """Send every message due now, batch by batch, outside any transaction; counts of outcomes."""
    counts = {"sent": 0, "pending": 0, "failed": 0}
    while batch := claim(worker_id, limit, now):
        for message in batch:
            error = send(message)
            if error is not None:
                log.warning("e-mail %s to %s: %s", message.id, message.to_addr, error)
            counts[record(message, worker_id, error, now)] += 1
    return counts


def retry_now(message_id: int) -> bool:
    """Make a pending or failed message due at once (the admin's "retry now")."""
    changed = (EmailMessage.update(status="pending", next_attempt_at=utcnow())
               .where(EmailMessage.id == message_id, EmailMessage.status.in_(("pending", "failed"))).execute())
    return changed == 1


# The admin's side: each change is one transaction with its audit entry (the view only asks).

def save_template(actor: User, event: str, subject: str, body: str) -> None:
    """Write an event's template (creating its row if missing); the audit entry keeps the text it replaced."""
    with database.atomic():
        row = EmailTemplate.get_or_none(EmailTemplate.event == event)
        subject_before, body_before = (row.subject, row.body) if row else DEFAULTS[event]
        row = row or EmailTemplate(event=event)
        row.subject, row.body, row.updated_at = subject, body, utcnow()
        row.save()
        audit.record(actor, "mail.template", f"mail_template:{event}", {"subject": subject_before, "body": body_before},
                     {"subject": subject, "body": body})


def retry_audited(actor: User, message: EmailMessage) -> bool:
    """The admin's "retry now" (:func:`retry_now`) with its audit entry; False when there was nothing to retry."""
    with database.atomic():
        done = retry_now(message.id)
        if done:
            audit.record(actor, "mail.retry", f"email:{message.id}", None, {"to": message.to_addr})
    return done
