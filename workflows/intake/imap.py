"""IMAP intake (issue 22): the worker polls the mailboxes configured in the admin (docs/imap.md).

Each unseen message of a mailbox's folder is read with ``BODY.PEEK[]`` (reading does not mark it,
so a crash leaves it unseen for the next poll) and goes through :func:`workflows.intake.mailin._one`,
the same path as ``flask --app app mail ingest``, in its own transaction. Then it is marked:
handled -> ``\\Seen`` (or moved to the mailbox's folder), refused or unreadable -> ``\\Seen \\Flagged``
left in place for a person, so it is never retried forever and never stops the messages after it.

Exactly once across workers: a worker first takes the mailbox with one conditional UPDATE
(``locked_by``/``locked_until``, the lease, as :mod:`workflows.subscribers.webhooks` takes deliveries)
and renews the lease before each message; a worker that lost it stops. A message that was ingested
but not yet marked when a worker died is read again after the lease: the mail intake's Message-ID
claim (``mail_intake.claim``, unique) makes that second reading add nothing.

``imap-tools`` (kept, on PyPI since 2017) gives the connection classes (SSL, STARTTLS, plain), the
error types, UTF-7 folder names and MOVE with its copy-and-delete fallback; flags are stored with a plain
``UID STORE`` because its ``flag()`` also expunges the folder.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError
from peewee import InterfaceError, OperationalError

from workflows.i18n import cli_gettext
from workflows.intake import mailin
from workflows.storage.db import database
from workflows.storage.models import Mailbox, utcnow

LEASE = timedelta(minutes=5)  # renewed before each message; a message takes far less
BATCH = 50  # messages per mailbox per poll; the rest wait for the next round
TIMEOUT = 30  # seconds per IMAP network operation
RESULT_MAX = 2000
SECURITY = ("ssl", "starttls", "none")
AFTER = ("seen", "move")
CONNECTION_ERRORS = (ImapToolsError, imaplib.IMAP4.error, OSError, ValueError)  # ssl.SSLError is an OSError
log = logging.getLogger(__name__)


@dataclass
class Poll:
    """What one poll of one mailbox did: a line per message, counts, and the error that stopped it."""

    name: str
    lines: list[str] = field(default_factory=list)
    handled: int = 0
    refused: int = 0
    error: str | None = None

    def summary(self) -> str:
        text = f"{self.handled} handled, {self.refused} refused"
        return f"error: {self.error} ({text})" if self.error else text


# -- claiming: one worker at a time per mailbox ---------------------------------------------------------

def _free(now: datetime):
    return Mailbox.locked_until.is_null() | (Mailbox.locked_until < now)


def _due(now: datetime):
    return (Mailbox.active == True) & (Mailbox.next_poll_at <= now) & _free(now)  # noqa: E712


def take(mailbox_id: int, worker: str, now: datetime, due_only: bool = True) -> bool:
    """One conditional UPDATE, committed at once: True if this worker now holds the mailbox."""
    condition = _due(now) if due_only else (Mailbox.active == True) & _free(now)  # noqa: E712
    changed = (Mailbox.update(locked_by=worker, locked_until=now + LEASE)
               .where(Mailbox.id == mailbox_id, condition).execute())
    return changed == 1


def renew(mailbox: Mailbox, worker: str) -> bool:
    """Extend the lease before the next message; False if another worker has taken the mailbox since."""
    changed = (Mailbox.update(locked_until=utcnow() + LEASE)
               .where(Mailbox.id == mailbox.id, Mailbox.locked_by == worker).execute())
    return changed == 1


def release(mailbox: Mailbox, worker: str, poll: Poll) -> None:
    """Record the outcome and the next due time, and give the mailbox up (only its holder writes)."""
    now = utcnow()
    text = "\n".join([poll.summary(), *poll.lines])
    (Mailbox.update(locked_by=None, locked_until=None, last_poll_at=now, last_ok=poll.error is None,
                    last_result=text[:RESULT_MAX], next_poll_at=now + timedelta(seconds=mailbox.poll_every))
     .where(Mailbox.id == mailbox.id, Mailbox.locked_by == worker).execute())


# -- the IMAP side ----------------------------------------------------------------------------------------

def connect(mailbox: Mailbox):
    """A logged-in imap-tools mailbox on the configured folder; certificates are verified (not imaplib's default)."""
    context = ssl.create_default_context()
    if mailbox.security == "ssl":
        client = MailBox(mailbox.host, mailbox.port, timeout=TIMEOUT, ssl_context=context)
    elif mailbox.security == "starttls":
        client = MailBoxStartTls(mailbox.host, mailbox.port, timeout=TIMEOUT, ssl_context=context)
    else:
        client = MailBoxUnencrypted(mailbox.host, mailbox.port, timeout=TIMEOUT)
    try:
        return client.login(mailbox.username, mailbox.password, initial_folder=mailbox.folder or "INBOX")
    except BaseException:
        client.client.shutdown()  # a refused login or folder leaves no open socket behind
        raise


def fetch_raw(client, uid: str) -> bytes | None:
    """The message's exact bytes, without setting \\Seen (BODY.PEEK); None if it is gone."""
    status, data = client.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.error(f"FETCH {uid}: {status} {data!r}")
    return next((item[1] for item in data if isinstance(item, tuple)), None)


def store(client, uid: str, flags: str) -> None:
    status, data = client.client.uid("STORE", uid, "+FLAGS", f"({flags})")
    if status != "OK":
        raise imaplib.IMAP4.error(f"STORE {uid}: {status} {data!r}")


def mark(client, mailbox: Mailbox, uid: str, handled: bool) -> None:
    """Handled: \\Seen, or moved; refused: \\Seen \\Flagged, left in the folder for a person."""
    if not handled:
        store(client, uid, "\\Seen \\Flagged")
        return
    store(client, uid, "\\Seen")
    if mailbox.after == "move" and mailbox.move_to:
        client.move(uid, mailbox.move_to)


def problem(error: BaseException, mailbox: Mailbox) -> str:
    """The error for the admin, never with the password in it."""
    text = f"{type(error).__name__}: {error}"
    return text.replace(mailbox.password, "***") if mailbox.password else text


# -- one message, one mailbox ------------------------------------------------------------------------------

def ingest_one(raw: bytes, label: str, process: str | None, gettext) -> tuple[str, bool]:
    """The mail intake's own path, in its own transaction; a database failure stops the poll (raised).

    Any other failure is the message's problem: it is refused (and flagged), the others go on.
    """
    try:
        with database.atomic():
            return mailin._one(raw, label, process, gettext)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:  # noqa: BLE001 - one broken message must not stop the mailbox
        log.exception("IMAP intake: %s", label)
        return f"refused: {label}: cannot read the message: {type(error).__name__}: {error}", False


def poll_mailbox(mailbox: Mailbox, worker: str, gettext) -> Poll:
    """Read the unseen messages of a mailbox this worker holds; each is ingested, then marked."""
    poll = Poll(mailbox.name)
    try:
        with connect(mailbox) as client:
            for uid in client.uids(AND(seen=False))[:BATCH]:
                if not renew(mailbox, worker):
                    poll.error = "the lease was lost to another worker"
                    break
                _message(client, mailbox, uid, gettext, poll)
    except CONNECTION_ERRORS as error:
        poll.error = problem(error, mailbox)
    return poll


def _message(client, mailbox: Mailbox, uid: str, gettext, poll: Poll) -> None:
    raw = fetch_raw(client, uid)
    if raw is None:
        return
    line, handled = ingest_one(raw, f"{mailbox.name} UID {uid}", mailbox.process, gettext)
    mark(client, mailbox, uid, handled)
    poll.lines.append(line)
    if handled:
        poll.handled += 1
    else:
        poll.refused += 1


def poll_held(mailbox_id: int, worker: str, gettext) -> Poll:
    """Poll a mailbox this worker has just taken, and release it whatever happens."""
    mailbox = Mailbox.get_by_id(mailbox_id)
    poll = Poll(mailbox.name)
    try:
        poll = poll_mailbox(mailbox, worker, gettext)
    finally:
        release(mailbox, worker, poll)
    return poll


def poll_due(worker: str, gettext=None, names: list[str] | None = None, due_only: bool = True) -> list[Poll]:
    """Poll each active mailbox that is due (or each named one, due or not) and free of other workers."""
    gettext = gettext or cli_gettext(None)
    now = utcnow()
    query = Mailbox.select(Mailbox.id).where(Mailbox.active == True)  # noqa: E712
    if names is not None:
        query = query.where(Mailbox.name.in_(names))
    ids = [row[0] for row in query.order_by(Mailbox.next_poll_at, Mailbox.id).tuples()]  # read all first (SQLite)
    return [poll_held(mailbox_id, worker, gettext) for mailbox_id in ids if take(mailbox_id, worker, now, due_only)]


def counts(polls: list[Poll]) -> dict[str, int]:
    """The worker's round summary: messages handled and refused, mailboxes that failed."""
    return {"imap_handled": sum(p.handled for p in polls), "imap_refused": sum(p.refused for p in polls),
            "imap_errors": sum(p.error is not None for p in polls)}


@mailin.mail_cli.command("poll")
@click.option("--mailbox", "names", multiple=True, help="Poll only this mailbox (by name; repeatable).")
@click.option("--lang", default=None, help="zh or en (default: from LANG).")
def poll_command(names: tuple[str, ...], lang: str | None):
    """Poll the active IMAP mailboxes now (due or not); exit 1 if any message was refused or a mailbox failed."""
    from workflows.subscribers.worker import worker_id

    with database.connection_context():
        unknown = [n for n in names if not Mailbox.select().where(Mailbox.name == n).exists()]
        if unknown:
            raise click.BadParameter(f"no mailbox named {', '.join(unknown)}", param_hint="--mailbox")
        active = {row.name for row in Mailbox.select(Mailbox.name).where(Mailbox.active == True)}  # noqa: E712
        inactive = [n for n in names if n not in active]
        polls = poll_due(worker_id(), cli_gettext(lang), list(names) or None, due_only=False)
    polled = {poll.name for poll in polls}
    busy = sorted(n for n in (names or active) if n in active and n not in polled)
    _report(polls, inactive, busy)
    if any(p.error or p.refused for p in polls):
        sys.exit(1)


def _report(polls: list[Poll], inactive: list[str], busy: list[str]) -> None:
    """One line per mailbox (and one per message it read), for ``mail poll``."""
    for name in inactive:
        click.echo(f"{name}: inactive, not polled")
    for name in busy:
        click.echo(f"{name}: not polled, another worker is polling it")
    for poll in polls:
        click.echo(f"{poll.name}: {poll.summary()}")
        for line in poll.lines:
            click.echo(f"  {line}")
