"""E-mail intake (邮件接入): ``flask --app app mail ingest PATH [--process CODE]``.

PATH is one ``.eml`` file or a Maildir: each message in ``new/`` is read and
moved to ``cur/`` (flag ``S`` when handled, ``F`` when refused, so a person
can find the refused ones), so running the command again never reads one twice.

A message whose subject holds the number of an existing ticket is a reply:
when its sender may add to that ticket (:func:`may_reply`: the bare From
address is the ticket's customer's e-mail, in any letter case) its text
becomes a note on that ticket, and a pending ticket is resumed (docs/pending.md).
Anyone else's message, and any message without a number, opens a ticket of
``--process`` with channel ``email``, through ``engine.create`` like every ticket; a stranger's "reply" says in the new
ticket's note which ticket it quoted, and the quoted ticket is not touched
(see docs/mail.md). The subject fills the first single-line text field of the
first step and the body its first multi-line text field, passing over fields with
readers (``x-readers``), which intake may not set (each cut to the field's
``maxLength``); if the step requires anything else the message is
refused, naming those fields. The customer is found or created by the sender's
address (name: the display name) and the address is also kept in the note.
Attachments are stored like uploads, linked to the ticket (no field) and
listed in the note; a file the default allow-list refuses (a program, a web
page, a type not recognised) is listed as not stored. Both channels act as
the system user of ``channels``.

Before any of this (issue 22): a message read before adds nothing (:mod:`intakelog`, its id
claimed in the transaction of its ticket or note), automatic mail (:mod:`loops`: bounces,
auto-replies) is dropped, and a reply naming one of our Message-IDs finds its ticket. Every
message leaves one row in the intake log.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from peewee import IntegrityError

from workflows.i18n import cli_gettext
from workflows.intake import channels, intakelog, loops, mailparse, mailstore
from workflows.intake.mailparse import Mail
from workflows.people import customer_emails, customers
from workflows.processes import documents as docs
from workflows.storage import uploads
from workflows.storage.db import database
from workflows.storage.models import Ticket, utcnow
from workflows.subscribers import mail as outgoing
from workflows.tickets import engine, pending
from workflows.tickets.access import unreadable_outside
from workflows.tickets.errors import Conflict, EngineError, Invalid

mail_cli = AppGroup("mail", help="E-mail intake (邮件接入).")
NUMBER = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Z0-9]{0,7}\d{12,}(?![A-Za-z0-9])")


class Refused(Exception):
    """A message that cannot become a ticket or a note; the reason is printed as is."""


def read(raw: bytes) -> Mail:
    """One message as a good mail client reads it (charsets, parts, S/MIME, forwards): docs/mail.md."""
    return mailparse.parse(raw)


def replied_ticket(subject: str) -> Ticket | None:
    """The existing ticket whose number the subject holds, if any."""
    found = NUMBER.findall(subject)
    return Ticket.get_or_none(Ticket.number.in_(found)) if found else None


def bare(address: str | None) -> str:
    """An address as compared: the addr-spec only, trimmed, in lower case."""
    return (address or "").strip().lower()


def may_reply(ticket: Ticket, mail: Mail) -> bool:
    """Whether the sender may add to ``ticket`` by mail: the one From address is its customer's.

    Only the real address counts, never the display name (``"a@x" <evil@y>`` is
    evil@y). Users have no e-mail address, so the customer (or the customer it
    was merged into) is the only one who can be recognised; staff answer in the app.
    """
    address = bare(mail.address)
    if not address or not mail.sole_sender or ticket.customer is None:
        return False
    kept = customers.resolve(ticket.customer)
    known = {bare(c.email) for c in (ticket.customer, kept) if c is not None}
    known.update(customer_emails.emails_of(kept) if kept is not None else ())
    return address in known - {""}


def stranger(mail: Mail) -> str:
    """Why a sender was not recognised, for the intake line."""
    if not mail.sole_sender:
        return "an unrecognisable sender (a malformed From, or several addresses)"
    return f"an unknown sender <{bare(mail.address)}>"


def _attach(ticket: Ticket, files: list) -> list[str]:
    """Store the files like uploads, linked to the ticket; a line each for the note (one not stored says why).

    Forwarded messages, inline images and parts not stored: :mod:`workflows.intake.mailstore`.
    """
    actor = channels.system_user()
    return [mailstore.keep(ticket, actor, item) for item in files]


def _header(mail: Mail, quoted: Ticket | None = None) -> str:
    sender = f"{mail.sender} <{mail.address}>" if mail.sender else f"<{mail.address}>"
    header = f"E-mail from {sender}\nSubject: {mail.subject}"
    if quoted is not None:
        header += (f"\nThis message quotes ticket {quoted.number}, but its sender is not that ticket's customer:"
                   f" it was not added to {quoted.number} (unknown sender).")
    return header


def append(ticket: Ticket, mail: Mail, mid: str = "") -> str:
    """A reply: its text (and files) as a note on the ticket; whoever holds it is notified.

    A pending ticket (waiting for this customer) is resumed in the same transaction
    (``pending.resume_for_customer``): the note and the resume are kept or lost together.
    """
    if not mail.body and not mail.files:
        raise Refused(f"the reply to {ticket.number} has no text and no attachment")
    with uploads.action():  # a failed note takes its stored files with it
        ticket = Ticket.get_by_id(ticket.id)  # read in the transaction: the resume writes it
        if mid:  # first: of two workers reading this message, the second waits here and fails
            intakelog.record(mid, mail.address, mail.subject, "appended", "the sender is its customer", ticket)
        lines = _attach(ticket, mail.files)
        text = "\n\n".join(p for p in (_header(mail), mail.body, "\n".join(lines)) if p)
        channels.note(ticket, text, notify=True)
        resumed = _resume(ticket)
    return f"appended {ticket.number}: the sender is its customer" + ("; resumed it" if resumed else "")


def _resume(ticket: Ticket) -> bool:
    """End the ticket's wait for the customer, if it waits; a handler's concurrent save refuses the message."""
    if ticket.status != "pending":
        return False
    try:
        return pending.resume_for_customer(ticket, utcnow())
    except Conflict:
        raise Refused(f"{ticket.number} changed while the reply was added; read the message again") from None


def mapped_fields(version) -> tuple[str | None, str | None]:
    """The first step's first editable single-line and multi-line text fields that intake may set.

    A field with readers (``x-readers``) is hidden to the system user intake acts as: the engine would
    refuse the message for it, so it is passed over for the next text field.
    """
    spec = docs.compiled(version, version.document["steps"][0]["key"]).spec
    modes = spec.modes({}, unreadable_outside(version))
    open_fields = [k for k, f in spec.fields.items() if modes.get(k) in ("editable", "required")]
    text = next((k for k in open_fields if spec.fields[k].type.name == "text"), None)
    area = next((k for k in open_fields if spec.fields[k].type.name == "textarea"), None)
    return text, area


def _fit(version, key: str, value: str) -> str:
    limit = version.document["schema"]["properties"][key].get("maxLength")
    return value[:limit] if limit else value


def ticket_data(version, mail: Mail) -> tuple[dict, bool]:
    """The ticket data the message gives, and whether the body found a field."""
    text, area = mapped_fields(version)
    data = {}
    if text and mail.subject:
        data[text] = _fit(version, text, mail.subject)
    if area and mail.body:
        data[area] = _fit(version, area, mail.body)
    return data, bool(area and mail.body)


def _missing(version, error: Invalid, gettext) -> str:
    """One line naming each field the engine refused, with its label and why."""
    props = version.document["schema"]["properties"]
    parts = [f"{key} ({props.get(key, {}).get('title', key)}): {'; '.join(m.render(gettext) for m in msgs)}"
             for key, msgs in error.fields.items()]
    return f"{error.msg.render(gettext)} {', '.join(parts)}"


def create(mail: Mail, process: str, gettext, quoted: Ticket | None = None, mid: str = "") -> str:
    """A new ticket of ``process`` with channel ``email``, plus a note with the sender and any files.

    ``quoted``: the ticket a stranger's message named; the note says so, and
    nothing of that ticket (its content, its handler) is involved.
    """
    version = docs.get_version(process)
    if version is None:
        raise Refused(f"no published process {process}")
    data, body_used = ticket_data(version, mail)
    customer = {"name": (mail.sender or mail.address)[:100], "phone": None, "email": bare(mail.address)}
    try:
        with uploads.action():
            claimed = mid and intakelog.record(mid, mail.address, mail.subject, "created",
                                               f"quotes {quoted.number}" if quoted is not None else "")
            ticket = engine.create(channels.system_user(), process, data, channel="email", customer=customer,
                                   transition=channels.first_transition(version, data))
            if claimed:
                intakelog.link(claimed, ticket)
                acknowledge(ticket, mail, mid)
            lines = _attach(ticket, mail.files)
            body = "" if body_used else mail.body
            channels.note(ticket, "\n\n".join(p for p in (_header(mail, quoted), body, "\n".join(lines)) if p))
    except Invalid as error:
        raise Refused(_missing(version, error, gettext)) from None
    except EngineError as error:
        raise Refused(error.msg.render(gettext)) from None
    if quoted is None:
        return f"created {ticket.number}"
    return f"created {ticket.number}: quotes {quoted.number} from {stranger(mail)}"


def acknowledge(ticket: Ticket, mail: Mail, mid: str) -> None:
    """The acknowledgement the process's ``notify_customer.created`` queued answers this message (RFC 3834).

    A sender who asks for no automatic answer (``X-Auto-Response-Suppress``) gets none: it is kept as dropped.
    """
    outgoing.mark_replies(ticket, mail.message_id if not mid.startswith("sha256:") else "")
    if loops.suppresses_reply(mail.auto_headers):
        outgoing.withhold_replies(ticket, "the sender asked for no automatic answer (X-Auto-Response-Suppress)")


def ingest(raw: bytes, process: str | None, gettext) -> str:
    """One message, logged once whatever becomes of it: read before, automatic, a note or a new ticket; the line.

    A message whose id a committed reading already claimed adds nothing; of two concurrent
    readings the claim's unique index lets one commit (docs/mail.md, "Duplicates").
    """
    mail = read(raw)
    mid = intakelog.identity(mail.message_id, raw, mail.subject, mail.body)
    if intakelog.seen(mid):
        intakelog.record(mid, mail.address, mail.subject, "duplicate", "read before")
        return f"duplicate: {mid}: read before, nothing added"
    try:
        return route(mail, mid, process, gettext)
    except IntegrityError:
        if not intakelog.seen(mid):
            raise
        intakelog.record(mid, mail.address, mail.subject, "duplicate", "read by another worker at the same time")
        return f"duplicate: {mid}: read by another worker at the same time, nothing added"
    except Refused as reason:
        intakelog.record(mid, mail.address, mail.subject, "refused", str(reason))
        raise


def route(mail: Mail, mid: str, process: str | None, gettext) -> str:
    """Automatic mail is dropped; a note on the ticket its customer answers, else a new ticket.

    Who may reply is decided before anything is written (Zammad's rule: a
    follow-up from an unknown sender opens a new ticket). The ticket is named by
    the subject's number, else by our own Message-ID in In-Reply-To/References.
    """
    why = loops.reason(mail.auto_headers, mail.address, mail.subject)
    if why:
        with database.atomic():
            intakelog.record(mid, mail.address, mail.subject, "dropped", why)
        return f"dropped: automatic mail ({why})"
    ticket = replied_ticket(mail.subject) or intakelog.threaded_ticket(mail.in_reply_to, mail.references)
    if ticket is not None and may_reply(ticket, mail):
        return append(ticket, mail, mid)
    if not process:
        if ticket is not None:
            raise Refused(f"quotes {ticket.number} from {stranger(mail)}; no --process for a new ticket")
        raise Refused("no ticket number in the subject, and no --process for a new ticket")
    return create(mail, process, gettext, quoted=ticket, mid=mid)


def _one(raw: bytes, name: str, process: str | None, gettext) -> tuple[str, bool]:
    try:
        return ingest(raw, process, gettext), True
    except Refused as reason:
        return f"refused: {name}: {reason}", False
    except (LookupError, ValueError) as error:  # e.g. an unknown charset
        intakelog.record(intakelog.identity("", raw, "", ""), "", name, "refused", f"cannot read: {error}")
        return f"refused: {name}: cannot read the message: {error}", False


def maildir(path: Path, process: str | None, gettext):
    """Each message of ``new/``, oldest name first, moved to ``cur/`` once handled or refused."""
    (path / "cur").mkdir(exist_ok=True)
    for entry in sorted((path / "new").iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        line, ok = _one(entry.read_bytes(), entry.name, process, gettext)
        base = entry.name.split(":2,")[0]
        os.replace(entry, path / "cur" / f"{base}:2,{'S' if ok else 'F'}")
        yield line, ok


def ingest_path(path: str, process: str | None, gettext) -> list[tuple[str, bool]]:
    """An .eml file or a Maildir directory; one (line, handled) pair per message."""
    target = Path(path)
    if target.is_dir():
        if not (target / "new").is_dir():
            return [(f"refused: {path}: not a Maildir (no new/ directory)", False)]
        return list(maildir(target, process, gettext))
    return [_one(target.read_bytes(), target.name, process, gettext)]


@mail_cli.command("ingest")
@click.argument("path", type=click.Path(exists=True))
@click.option("--process", default=None, help="Process code for messages that open a new ticket.")
@click.option("--lang", default=None, help="zh or en (default: from LANG).")
def ingest_command(path: str, process: str | None, lang: str | None):
    """Read an .eml file or a Maildir's new/ messages; exit 1 if any was refused."""
    with database.connection_context():
        results = ingest_path(path, process, cli_gettext(lang))
    for line, _ok in results:
        click.echo(line)
    if not all(ok for _line, ok in results):
        sys.exit(1)
