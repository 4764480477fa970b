"""The demo's sample tickets: a working day of the three demo processes, played through the engine.

``python app.py`` and ``flask demo`` (unless ``--no-tickets``) call :func:`seed_tickets` after the
organisation and the processes, so whoever logs in as a demo user finds work of their own instead
of empty lists. Nothing here writes a ticket row: every sample is created and moved by the same
calls the pages make (``engine.create`` / ``act``, ``collab`` notes and their @mentions, the customer's rating
and progress-page reply, mail intake for an e-mailed file, the SLA sweep for the overdue marks),
so histories, handlers, signatures, notifications and attachments are all real.

Times: the samples happened over the last week. The engine's clock is its module's ``utcnow``
(the name the SLA tests set too); :func:`clock` sets it, and the rating's and reply's, to each
action's moment while that action runs. Rows that take the database's default time instead (a
note, a notification, an upload) are dated back to the action's moment right after it: the one
direct write here, and only of times. The scripts are in ``samples.py`` and ``samples_it.py``; docs/demo.md
lists them.

Idempotent: sample tickets are only added to a database without any ticket, so a second run (or
a database with real work) adds nothing.
"""

from __future__ import annotations

import email.message
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta, timezone
from io import BytesIO

from peewee import Select, fn
from werkzeug.datastructures import FileStorage

from workflows.demo import samples
from workflows.demo.scripts import Sample, Step
from workflows.intake import mailin
from workflows.storage import uploads
from workflows.storage.db import database
from workflows.storage.models import Attachment, Notification, Ticket, TicketEvent, User, utcnow
from workflows.tickets import collab, engine, feedback, notes, replies, sla
from workflows.tickets.errors import EngineError

CST = timezone(timedelta(hours=8))  # the demo's call centre works on Beijing time
#: Signs the rating and progress links the samples use in-process; never shown, so any constant does.
LINK_SECRET = "liuzhuan-demo-links"


def moment(text: str, now: datetime) -> datetime:
    """A sample's time as naive UTC: ``-25m`` / ``-3h`` before ``now``, else a day and a Beijing time (``-2d 09:12``,
    ``+1d 22:00``)."""
    if text[-1] in "mh":
        return now - timedelta(minutes=int(text[1:-1]) * (60 if text[-1] == "h" else 1))
    day, clock_time = text.split()
    local = now.replace(tzinfo=UTC).astimezone(CST).date() + timedelta(days=int(day[:-1]))
    wall = datetime.combine(local, time.fromisoformat(clock_time), CST)
    return wall.astimezone(UTC).replace(tzinfo=None)


def timeline(sample: Sample, now: datetime) -> list[datetime]:
    """The moments of the sample's creation and actions, in order, a minute apart at least, none after ``now``."""
    moments, last = [], None
    for text in [sample.at, *(step.at for step in sample.then)]:
        at = moment(text, now)
        at = max(at, last + timedelta(minutes=1)) if last is not None else at
        moments.append(min(at, now - timedelta(seconds=1)))
        last = at
    return moments


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    """The engine (and the rating's and reply's) clock stopped at ``at`` while one sample action runs."""
    modules = (engine, feedback, replies)
    saved = [module.utcnow for module in modules]
    for module in modules:
        module.utcnow = lambda: at
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.utcnow = original


STAMPED = (TicketEvent, Notification, Attachment)  # rows an action may write with the database's default time


def _last_ids() -> tuple[int, ...]:
    """The newest id of each of ``STAMPED``, in one query."""
    newest = [fn.COALESCE(model.select(fn.MAX(model.id)), 0) for model in STAMPED]
    return tuple(Select(columns=newest).bind(database).tuples()[0])


def _date_back(marks: tuple[int, int, int], at: datetime) -> None:
    """Rows the action wrote with the database's default (real) time take the action's moment."""
    for model, mark in zip(STAMPED, marks, strict=True):
        model.update(created_at=at).where(model.id > mark, model.created_at > at).execute()


# Tiny valid files made here, so the demo ships no binaries: a PNG of one colour, a one-page PDF, a text file.
def png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A ``size`` x ``size`` PNG of one colour (a stand-in for a customer's photo)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pdf(line: str) -> bytes:
    """A one-page PDF showing ``line`` (ASCII), with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 40 100 Td ({line}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 200] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def upload(name: str) -> FileStorage:
    """One of the samples' files (``samples.FILES``): a colour makes a PNG, a text ending ``.pdf`` its PDF's line."""
    spec = samples.FILES[name]
    if isinstance(spec, tuple):
        return FileStorage(BytesIO(png(spec)), name, content_type="image/png")
    if name.endswith(".pdf"):
        return FileStorage(BytesIO(pdf(spec)), name, content_type="application/pdf")
    return FileStorage(BytesIO(spec.encode("utf-8")), name, content_type="text/plain")


def _files(files: dict[str, list[str]] | None) -> dict | None:
    return {field: [upload(name) for name in names] for field, names in files.items()} if files else None


def resolved(value: object, now: datetime, at: datetime | None = None) -> object:
    """A sample's value with its dates made relative to the day of seeding: ``@date -20d``, ``@time +1d 22:00``,
    and ``@now``, the moment of the action (a time received)."""
    if isinstance(value, dict):
        return {key: resolved(item, now, at) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item, now, at) for item in value]
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    if value.startswith("@date "):
        return moment(value[6:] + " 12:00", now).date().isoformat()
    instant = at if value == "@now" else moment(value[6:], now)
    return instant.replace(tzinfo=UTC, microsecond=0).astimezone(CST).isoformat()


class Run:
    """One seeding: the users by name, the samples' ticket numbers by key, the real time it started."""

    def __init__(self, now: datetime):
        self.now, self.at, self.numbers = now, now, {}
        self.users = {user.username: user for user in User.select()}

    def actor(self, who: str, number: str) -> User:
        """``who`` by name, or ``@``: whoever holds the ticket now (a round robin or least-loaded pick decided it)."""
        if who != "@":
            return self.users[who]
        assignee = engine.load(number).assignee_id
        return next(user for user in self.users.values() if user.id == assignee)

    def create(self, sample: Sample) -> None:
        ticket = engine.create(self.users[sample.by], sample.process, resolved(sample.data, self.now),
                               priority=sample.priority, customer=sample.customer, channel=sample.channel,
                               assignee=sample.assignee, files=_files(sample.files))
        self.numbers[sample.key] = ticket.number

    def act(self, sample: Sample, step: Step) -> None:
        """One of the sample's later actions, by its kind."""
        number = self.numbers[sample.key]
        actor = self.actor(step.who, number) if step.action not in CUSTOMER else None
        handler = ACTIONS.get(step.action, Run.engine_action)
        handler(self, actor, number, sample, step)

    def engine_action(self, actor: User, number: str, sample, step: Step) -> None:
        options = resolved(dict(step.options), self.now, self.at)
        if "until" in options:
            options["until"] = moment(options["until"], self.now)
        files = _files(options.pop("files", None))
        engine.act(actor, number, step.action, version=engine.load(number).version, files=files, **options)

    def note(self, actor: User, number: str, sample, step: Step) -> None:
        """A note; its ``files`` go in as the note box puts a pasted file (uploaded, then linked in the text)."""
        files = [notes.upload(actor, number, upload(name)) for name in step.options.get("files", ())]
        links = [notes.inserted(attachment, f"/attachments/{attachment.key}") for attachment in files]
        text = "\n\n".join([step.options["text"], *links])
        collab.add_note(actor, number, text)

    def rate(self, actor, number: str, sample, step: Step) -> None:
        """The customer's rating through the link the closing mail and SMS carry."""
        token = feedback.rating_link_token(engine.load(number), LINK_SECRET)
        feedback.rate(token, step.options["score"], step.options.get("comment"), LINK_SECRET)

    def reply(self, actor, number: str, sample, step: Step) -> None:
        """The customer's reply on the progress page."""
        token = feedback.progress_token(engine.load(number), LINK_SECRET)
        replies.reply(token, step.options["text"], LINK_SECRET)

    def mail(self, actor, number: str, sample, step: Step) -> None:
        """The customer answers by e-mail with files: mail intake makes it a note with the attachments."""
        message = email.message.EmailMessage()
        message["From"] = f"{sample.customer['name']} <{sample.customer['email']}>"
        message["To"] = "service@liuzhuan.example"
        message["Subject"] = f"Re: {number} {step.options['subject']}"
        message.set_content(step.options["text"])
        for name in step.options["files"]:
            file = upload(name)
            maintype, subtype = file.mimetype.split("/")
            message.add_attachment(file.stream.read(), maintype=maintype, subtype=subtype, filename=name)
        mailin.ingest(message.as_bytes(), None, lambda text: text)


CUSTOMER = ("rate", "reply", "mail")  # actions of the customer, who is no user
ACTIONS = {"note": Run.note, "rate": Run.rate, "reply": Run.reply, "mail": Run.mail}


def plan(now: datetime) -> list[tuple[datetime, int, int]]:
    """Every sample's creation and actions as (moment, sample, index), in the order they happened."""
    return sorted((at, i, j) for i, sample in enumerate(samples.SAMPLES)
                  for j, at in enumerate(timeline(sample, now)))


def _play(run: Run, sample: Sample, index: int, at: datetime) -> None:
    """The sample's creation (``index`` 0) or its action ``index``, on the demo's clock stopped at ``at``."""
    run.at = at
    with clock(at):
        marks = _last_ids()
        try:
            run.create(sample) if index == 0 else run.act(sample, sample.then[index - 1])
        except EngineError as error:  # a script that no longer fits its process: say which (for developers)
            fields = {name: [str(msg) for msg in msgs] for name, msgs in error.fields.items()}
            raise RuntimeError(f"sample ticket {sample.key}, action {index}: {error} {fields}") from error
        _date_back(marks, at)


def seed_tickets(now: datetime | None = None) -> list[str]:
    """Play the samples through the engine in one transaction, then the SLA sweep; only into a database
    without tickets (a second run, or real work, adds nothing)."""
    if Ticket.select().exists():
        return ["sample tickets: none added (the database holds tickets already)"]
    run = Run(now or utcnow())
    with uploads.action():  # one transaction: all the samples or none, their files too
        for at, i, j in plan(run.now):
            _play(run, samples.SAMPLES[i], j, at)
        sla.sweep(run.now)  # what the worker would have done by now: overdue marks, warnings, escalations
    return [f"sample tickets: {len(run.numbers)} added (docs/demo.md lists them by user)"]
