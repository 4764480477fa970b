"""Peewee models. Schema changes go through ``workflows/storage/migrations``.

Process documents follow SpiffWorkflow's split: a :class:`Process` holds the
editable draft, each :class:`ProcessVersion` is an immutable published spec.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    DeferredForeignKey,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    TextField,
)

from workflows.storage import fastwrite
from workflows.storage.db import database


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class DocumentField(TextField):
    """A JSON document stored as text, verbatim.

    Not JSONB: PostgreSQL's JSONB reorders object keys, and in a process
    document the order of ``properties`` is the order of the form's fields.
    """

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False

    def save(self, force_insert=False, only=None):
        """A new row's INSERT re-binds SQL text generated once per shape (``fastwrite``); the rest is peewee's."""
        if self._pk is None and only is None and self._meta.auto_increment:
            return fastwrite.save_new(self)
        return super().save(force_insert, only)


class Dictionary(BaseModel):
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    document = DocumentField()
    revision = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)


class Process(BaseModel):
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    draft = DocumentField(null=True)
    draft_updated_at = DateTimeField(null=True)
    latest_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class ProcessVersion(BaseModel):
    process = ForeignKeyField(Process, backref="versions", on_delete="RESTRICT")
    number = IntegerField()
    document = DocumentField()
    published_at = DateTimeField(default=utcnow)
    published_by = CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("process", "number"), True),)


class User(BaseModel):
    username = CharField(max_length=64, unique=True)
    name = CharField(max_length=100)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=16)
    department = DeferredForeignKey("Department", null=True, backref="members")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    session_version = IntegerField(default=0)  # bumped by a password change: older sessions are logged out


class Department(BaseModel):
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=100)
    parent = ForeignKeyField("self", null=True, backref="children")
    manager = ForeignKeyField(User, null=True, backref="managed")


class ApiToken(BaseModel):
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = CharField(max_length=100, default="")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)


class Customer(BaseModel):
    """A caller. ``phone`` is the primary phone, normalised; every phone (it too) is a :class:`CustomerPhone`.

    A customer merged into another keeps its row (old links and audit entries name it)
    and points at the kept one through ``merged_into``.
    """

    name = CharField(max_length=100, default="")
    phone = CharField(max_length=32, null=True, index=True)
    email = CharField(max_length=254, null=True, index=True)
    company = CharField(max_length=200, null=True)
    level = CharField(max_length=16, default="normal")  # workflows.people.customers.LEVELS
    region = CharField(max_length=100, null=True)
    notes = TextField(null=True)
    merged_into = ForeignKeyField("self", null=True, backref="merged")
    created_at = DateTimeField(default=utcnow)


class Ticket(BaseModel):
    """A ticket pins the process version it was created with (the spec it reads)."""

    number = CharField(max_length=40, unique=True)
    process_version = ForeignKeyField(ProcessVersion, on_delete="RESTRICT")
    step = CharField(max_length=64)
    status = CharField(max_length=16, default="open")
    priority = CharField(max_length=16, default="normal")
    assignee = ForeignKeyField(User, null=True, backref="assigned")
    creator = ForeignKeyField(User, backref="created")
    customer = ForeignKeyField(Customer, null=True, backref="tickets")
    channel = CharField(max_length=32, null=True)
    data = JSONField(default=dict)
    version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    entered_at = DateTimeField(default=utcnow)
    due_at = DateTimeField(null=True)
    overdue_at = DateTimeField(null=True)
    first_response_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    # Whole seconds from created_at to first_response_at / closed_at, kept by timed() (as Zammad's
    # first_response_in_min / close_in_min): reports find a p90 by walking an index in duration order.
    first_response_seconds = IntegerField(null=True)
    resolution_seconds = IntegerField(null=True)
    # Format 2 (issue 19). Pending: since when, and until when (the worker resumes it then).
    pending_since = DateTimeField(null=True)
    pending_until = DateTimeField(null=True)
    # SLA warning (sla.warn) and the step's timeout: when due, and when the warning was sent.
    warn_at = DateTimeField(null=True)
    warned_at = DateTimeField(null=True)
    timeout_at = DateTimeField(null=True)
    # The earliest time the SLA worker has something to do for this ticket (warn, overdue, timeout,
    # the end of a wait), kept by workflows.tickets.timing: the sweep reads an index range, not every ticket.
    next_check_at = DateTimeField(null=True)
    # Child tickets (spawn): the parent, and whether the parent waits at its step until this one closes.
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    holds_parent = BooleanField(default=False)
    # A duplicate merged into another ticket keeps its row and number and points at the kept one.
    merged_into = ForeignKeyField("self", null=True, backref="merged", on_delete="SET NULL")

    class Meta:
        indexes = (
            (("assignee", "status", "id"), False),
            (("creator", "id"), False),
            (("creator", "status", "id"), False),  # an agent's open list (migration 0029)
            (("customer", "id"), False),
            (("status", "due_at"), False),
            (("created_at", "creator"), False),  # covering: reports count by creator over a time range
            (("closed_at", "creator"), False),
            (("creator", "first_response_seconds", "created_at"), False),  # p90 per creator, no sort
            (("creator", "resolution_seconds", "created_at"), False),
            (("next_check_at",), False),  # the SLA worker's sweep: only what is due
            (("parent", "id"), False),
        )

    def timed(self) -> None:
        """Derive the duration columns from the timestamps (before every write of the ticket)."""
        self.first_response_seconds = whole_seconds(self.created_at, self.first_response_at)
        self.resolution_seconds = whole_seconds(self.created_at, self.closed_at)

    def save(self, *args, **kwargs):
        self.timed()
        return super().save(*args, **kwargs)


def whole_seconds(earlier: datetime | None, later: datetime | None) -> int | None:
    """Seconds between two timestamps, each cut to the second (migrations 0014 and 0015 spell it in SQL)."""
    if earlier is None or later is None:
        return None
    return int((later.replace(microsecond=0) - earlier.replace(microsecond=0)).total_seconds())


class TicketEvent(BaseModel):
    """Append-only history: one row per action, with the field diff."""

    ticket = ForeignKeyField(Ticket, backref="events", on_delete="CASCADE")
    action = CharField(max_length=16)
    from_step = CharField(max_length=64, null=True)
    to_step = CharField(max_length=64, null=True)
    actor = ForeignKeyField(User, null=True)
    assignee_before = ForeignKeyField(User, null=True)
    assignee_after = ForeignKeyField(User, null=True)
    diff = JSONField(default=dict)
    comment = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    # On an event that leaves a step: whole seconds since the ticket entered it (see dwelt()).
    dwell_seconds = IntegerField(null=True)

    # events that put a ticket at a step; a timeout is the SLA worker's move (format 2). An escalation moves the
    # ticket only when it names a step (then it carries its dwell); notifying the manager leaves it where it is.
    MOVES = ("create", "advance", "return", "close", "reopen", "timeout")
    LEAVES = ("advance", "return", "close", "timeout")  # events that take it out of one

    class Meta:
        indexes = ((("ticket", "id"), False), (("actor", "ticket"), False),
                   # covering: the reports' dwell and workload sums over a time range, no row reads
                   (("action", "created_at", "actor", "from_step", "dwell_seconds"), False))

    def save(self, *args, **kwargs):
        if self.action in self.LEAVES and self.dwell_seconds is None and self.id is None:
            self.dwell_seconds = self.dwelt()
        return super().save(*args, **kwargs)

    def dwelt(self) -> int | None:
        """Seconds since the ticket's previous move (its latest earlier event that is not a transfer).

        The engine passes the same figure from the ticket's ``entered_at``
        without this query; this is for events written by other code.
        """
        earlier = (TicketEvent.select(TicketEvent.created_at)
                   .where(TicketEvent.ticket == self.ticket_id, TicketEvent.action.in_(self.MOVES))
                   .order_by(TicketEvent.id.desc()).first())
        return whole_seconds(earlier.created_at, self.created_at) if earlier else None


class TicketCC(BaseModel):
    ticket = ForeignKeyField(Ticket, backref="cc", on_delete="CASCADE")
    user = ForeignKeyField(User)

    class Meta:
        table_name = "ticket_cc"
        indexes = ((("ticket", "user"), True), (("user", "ticket"), False))


class Attachment(BaseModel):
    """Metadata of an uploaded file; the bytes live under UPLOAD_DIR by ``stored_name``."""

    key = CharField(max_length=64, unique=True)
    ticket = ForeignKeyField(Ticket, null=True, backref="attachments", on_delete="SET NULL")
    field = CharField(max_length=64, null=True)
    filename = CharField(max_length=255)
    mimetype = CharField(max_length=100)
    size = IntegerField()
    stored_name = CharField(max_length=64)
    uploaded_by = ForeignKeyField(User)
    created_at = DateTimeField(default=utcnow)


class Notification(BaseModel):
    user = ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    ticket = ForeignKeyField(Ticket, null=True, on_delete="CASCADE")
    kind = CharField(max_length=32)
    message = TextField()
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at", "id"), False),)


class TicketSequence(BaseModel):
    """The last daily number used per prefix; the row lock makes numbers unique."""

    prefix = CharField(max_length=16)
    day = CharField(max_length=8)
    value = IntegerField(default=0)

    class Meta:
        indexes = ((("prefix", "day"), True),)


class AssignmentCursor(BaseModel):
    """Per (process, step) assignment state; locking its row serialises picks."""

    scope = CharField(max_length=140, unique=True)
    last_user = ForeignKeyField(User, null=True)


MODELS = [Dictionary, Process, ProcessVersion, User, Department, ApiToken, Customer, Ticket, TicketEvent,
          TicketCC, Attachment, Notification, TicketSequence, AssignmentCursor]


class AuditEntry(BaseModel):
    """One admin change: who, when, what, and the document before and after."""

    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    action = CharField(max_length=32)
    target = CharField(max_length=140)
    before = JSONField(null=True)
    after = JSONField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("target", "id"), False), (("created_at",), False))


MODELS.append(AuditEntry)


class Rating(BaseModel):
    """The customer's satisfaction with a closed ticket (1-5), given once through a signed link."""

    ticket = ForeignKeyField(Ticket, unique=True, backref="ratings", on_delete="CASCADE")
    score = IntegerField()
    comment = TextField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("created_at",), False),)


MODELS.append(Rating)


class ChannelSubmission(BaseModel):
    """One public web form post by a client address; recent rows are the rate limit's count."""

    channel = CharField(max_length=16)
    process = CharField(max_length=64)
    client = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("client", "process", "created_at"), False), (("created_at",), False))


MODELS.append(ChannelSubmission)


class WebhookEndpoint(BaseModel):
    """An admin-configured receiver of ticket events; ``secret`` signs each body (HMAC-SHA256)."""

    name = CharField(max_length=100)
    url = CharField(max_length=2000)
    secret = CharField(max_length=128)
    events = JSONField(default=list)  # event names, e.g. ["ticket.created", "ticket.closed"]
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class QueuedRow(BaseModel):
    """The columns of a row a worker sends (a webhook delivery, an e-mail), retried until done or failed.

    A worker holds a row (``locked_by``) until ``locked_until``; after that a stale ``sending`` row may be
    claimed again. Not a table: its tables (created by their migrations) index ``QUEUE_INDEX``.
    """

    status = CharField(max_length=16, default="pending")  # pending, sending, failed, or done (delivered, sent)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    last_error = TextField(null=True)
    locked_by = CharField(max_length=100, null=True)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


#: How a worker finds the rows due: by status, the next attempt first.
QUEUE_INDEX = (("status", "next_attempt_at"), False)


class WebhookDelivery(QueuedRow):
    """One event queued for one endpoint, written in the transaction of the action that caused it.

    ``payload`` is the exact body that is signed and sent; ``uuid`` is its ``id`` and the
    ``X-Liuzhuan-Delivery`` header, so a receiver can drop a repeat.
    """

    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    uuid = CharField(max_length=36, unique=True)
    event = CharField(max_length=40)
    payload = TextField()
    last_status_code = IntegerField(null=True)
    delivered_at = DateTimeField(null=True)

    class Meta:
        indexes = (QUEUE_INDEX, (("endpoint", "id"), False))


MODELS.extend([WebhookEndpoint, WebhookDelivery])


class Rule(BaseModel):
    """An automation rule (自动化规则): on ``trigger``, if the ticket view matches ``condition``, run ``actions``.

    ``condition`` and ``actions`` are stored as text (DocumentField) so the order of the
    condition's properties, shown part by part in the admin's test page, survives PostgreSQL.
    """

    name = CharField(max_length=100)
    position = IntegerField(default=0)
    enabled = BooleanField(default=True)
    trigger = CharField(max_length=32)  # ticket.created | ticket.advanced | ticket.entered_step | ticket.overdue
    step = CharField(max_length=64, null=True)  # for ticket.entered_step
    process = CharField(max_length=64, null=True)  # a process code; null: any process
    condition = DocumentField(default=dict)  # a JSON Schema over automation.view(ticket)
    actions = DocumentField(default=list)  # [{"type": "add_tag", "tag": "投诉"}, ...]
    stop = BooleanField(default=False)  # stop evaluating further rules after this one matched
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("trigger", "enabled", "position"), False),)


class RuleRun(BaseModel):
    """One evaluation of a rule on a ticket: whether it matched, and the error if its actions failed."""

    rule = ForeignKeyField(Rule, backref="runs", on_delete="CASCADE")
    ticket = ForeignKeyField(Ticket, backref="rule_runs", on_delete="CASCADE")
    matched = BooleanField()
    error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("rule", "id"), False), (("ticket", "id"), False))


MODELS.extend([Rule, RuleRun])


class CustomerPhone(BaseModel):
    """One normalised phone of a customer; unique, so a number finds exactly one customer."""

    customer = ForeignKeyField(Customer, backref="phones", on_delete="CASCADE")
    phone = CharField(max_length=32, unique=True)

    class Meta:
        table_name = "customer_phones"  # "customer_phone" is already the name of customer.phone's index


MODELS.append(CustomerPhone)


class Tag(BaseModel):
    """A label on tickets (退款, BUG, 投诉): admin-managed, or free (``managed`` False) when a user made it up."""

    name = CharField(max_length=32, unique=True)
    color = CharField(max_length=7, default="#6c757d")  # #rrggbb, validated by workflows.tickets.tags
    managed = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class TicketTag(BaseModel):
    """A tag a ticket holds; (tag, ticket) serves the list and report filters."""

    ticket = ForeignKeyField(Ticket, backref="tag_links", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, backref="ticket_links", on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "tag"), True), (("tag", "ticket"), False))


class Setting(BaseModel):
    """One admin setting (``workflows.storage.settings``), e.g. ``tags.free``; the value is any JSON."""

    key = CharField(max_length=64, unique=True)
    value = JSONField(null=True)
    updated_at = DateTimeField(default=utcnow)


MODELS.extend([Tag, TicketTag, Setting])


class EmailMessage(QueuedRow):
    """One outgoing e-mail, queued in the transaction of the action that caused it and sent by the worker."""

    to_addr = CharField(max_length=320)
    subject = CharField(max_length=998)
    body = TextField()
    ticket = ForeignKeyField(Ticket, null=True, backref="emails", on_delete="SET NULL")
    event = CharField(max_length=40, null=True)
    sent_at = DateTimeField(null=True)
    # Migration 0020 (issue 22): our Message-ID, chosen when queued so a reply's In-Reply-To finds the ticket;
    # the RFC 3834 Auto-Submitted value; the customer's Message-ID an acknowledgement answers.
    message_id = CharField(max_length=255, null=True, index=True)
    auto_submitted = CharField(max_length=16, null=True)
    in_reply_to = CharField(max_length=255, null=True)

    class Meta:
        indexes = (QUEUE_INDEX, (("ticket", "id"), False))


class EmailTemplate(BaseModel):
    """The admin-edited text of the customer e-mail for one event: ``created``, ``step`` or ``closed``."""

    event = CharField(max_length=16, unique=True)
    subject = CharField(max_length=200)
    body = TextField()
    updated_at = DateTimeField(default=utcnow)


MODELS.extend([EmailMessage, EmailTemplate])


class LoginAttempt(BaseModel):
    """One login try, kept a day: recent failures lock a username or an address (``workflows.people.login``)."""

    username = CharField(max_length=64)
    ip = CharField(max_length=64)
    succeeded = BooleanField()
    locks_username = BooleanField(default=False)  # this failure reached the limit: the lock starts here
    locks_ip = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("username", "created_at"), False), (("ip", "created_at"), False), (("created_at",), False))


MODELS.append(LoginAttempt)


class Calendar(BaseModel):
    """A working-time calendar document (format 2's third kind, ``workflows.calendars``)."""

    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    document = DocumentField()
    revision = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)


class Signature(BaseModel):
    """One signer's part of a countersign step (会签/或签) for one stay of the ticket at that step.

    ``entered_at`` is the ticket's ``entered_at`` when the signers were given the step: it tells
    one round from the next when the ticket comes back. ``state``: ``waiting``, ``signed`` or
    ``released`` (the step was decided before this signer signed); a transferred part is the
    old row released and a new one waiting for the new signer.
    """

    ticket = ForeignKeyField(Ticket, backref="signatures", on_delete="CASCADE")
    step = CharField(max_length=64)
    entered_at = DateTimeField()
    signer = ForeignKeyField(User, backref="signatures")
    state = CharField(max_length=16, default="waiting")
    decision = CharField(max_length=200, null=True)
    data = JSONField(default=dict)
    comment = TextField(null=True)
    signed_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "entered_at", "signer"), False), (("signer", "state", "ticket"), False))


class TicketLink(BaseModel):
    """Two related tickets (关联), stored once per pair with the smaller id first; ``kind``: related or merged."""

    ticket = ForeignKeyField(Ticket, backref="links", on_delete="CASCADE")
    other = ForeignKeyField(Ticket, backref="linked_from", on_delete="CASCADE")
    kind = CharField(max_length=16, default="related")
    created_by = ForeignKeyField(User, null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "other"), True), (("other", "ticket"), False))


MODELS.extend([Calendar, Signature, TicketLink])


class DraftEdit(BaseModel):
    """One designer edit of a process draft, for its undo and redo: the drafts before and after, verbatim.

    The audit entry keeps them too, but as JSON values (JSONB on PostgreSQL reorders keys, and the
    order of ``properties`` is the form's order); an undo must put back exactly what was there.
    """

    process = ForeignKeyField(Process, backref="draft_edits", on_delete="CASCADE")
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    before = DocumentField()
    after = DocumentField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("process", "created_at"), False),)


MODELS.append(DraftEdit)


class SavedView(BaseModel):
    """A workspace list as someone saved it (issue 21, workflows/reporting/views.py): scope, filters, sort, columns.

    Personal unless ``department`` is set: a supervisor shared it with their team, the users of that
    department's subtree, who see and pick it but may not change it.
    """

    owner = ForeignKeyField(User, backref="saved_views", on_delete="CASCADE")
    name = CharField(max_length=60)
    query = DocumentField()  # the list's query string as a dict, its keys checked by views.clean_query
    department = ForeignKeyField(Department, null=True, backref="shared_views", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "name"), True), (("department",), False))


MODELS.append(SavedView)


class SearchPart(BaseModel):
    """One searchable part of a ticket, as index terms (``workflows/search``, docs/search.md).

    ``part`` is who may see it: ``f:<field key>`` (the field's value and the names of its files),
    ``notes`` (history comments and the notes' files), ``customer``. Migration 0018 adds the
    engines' index beside it: an FTS5 table kept by triggers (SQLite), a generated tsvector
    with a GIN index (PostgreSQL).
    """

    ticket = ForeignKeyField(Ticket, backref="search_parts", on_delete="CASCADE")
    part = CharField(max_length=80)
    terms = TextField(default="")

    class Meta:
        table_name = "search_part"
        indexes = ((("ticket", "part"), True),)


MODELS.append(SearchPart)


class RobotTarget(BaseModel):
    """A chat group's robot (WeCom, DingTalk, Feishu) told of assignments, overdue tickets, escalations and
    mentions in its scope (a department's subtree and/or a process and step); docs/robots.md.

    ``url`` holds the robot's key, so it is masked wherever it is shown; ``secret`` (DingTalk 加签, Feishu
    签名校验) signs each message at send time and is never shown back nor audited.
    """

    name = CharField(max_length=100)
    platform = CharField(max_length=16)  # wecom | dingtalk | feishu
    url = CharField(max_length=2000)
    secret = CharField(max_length=200, null=True)
    department = ForeignKeyField(Department, null=True, backref="robots", on_delete="RESTRICT")
    process = CharField(max_length=64, null=True)  # a process code; null: any process
    step = CharField(max_length=64, null=True)  # a step key of that process; null: any step
    events = JSONField(default=list)  # of assignment, overdue, escalation, mention
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "robot_target"


class RobotDelivery(QueuedRow):
    """One notice queued for one robot in the transaction of the action that caused it; ``payload`` is the
    platform's JSON body before signing (the signature holds a timestamp, so it is made at each attempt)."""

    target = ForeignKeyField(RobotTarget, backref="deliveries", on_delete="CASCADE")
    uuid = CharField(max_length=36, unique=True)
    kind = CharField(max_length=16)
    ticket = ForeignKeyField(Ticket, null=True, backref="robot_deliveries", on_delete="SET NULL")
    payload = TextField()
    last_status_code = IntegerField(null=True)
    delivered_at = DateTimeField(null=True)

    class Meta:
        table_name = "robot_delivery"
        indexes = (QUEUE_INDEX, (("target", "id"), False))


MODELS.extend([RobotTarget, RobotDelivery])


class CustomerEmail(BaseModel):
    """One e-mail address of a customer, lower-cased and unique, so an address names one customer (issue 22)."""

    customer = ForeignKeyField(Customer, backref="emails", on_delete="CASCADE")
    email = CharField(max_length=254, unique=True)

    class Meta:
        table_name = "customer_emails"  # "customer_email" is already the name of customer.email's index


class MailIntake(BaseModel):
    """One message the mail intake read, and what became of it (workflows/intake/intakelog.py, issue 22).

    ``outcome``: created, appended, dropped, duplicate, refused. ``claim`` (the message id, unique) is set on
    the row of the one reading that counted (created, appended, dropped), inserted in the same transaction as
    its ticket or note: of two workers reading one message only one commits. Duplicates and refusals have
    no claim (NULLs never collide), so they are logged too and a refused message may be read again.
    """

    message_id = CharField(max_length=255, index=True)
    claim = CharField(max_length=255, null=True, unique=True)
    sender = CharField(max_length=320, default="")
    subject = CharField(max_length=255, default="")
    received_at = DateTimeField(default=utcnow, index=True)
    outcome = CharField(max_length=16)
    reason = CharField(max_length=255, default="")
    ticket = ForeignKeyField(Ticket, null=True, backref="mail_intake", on_delete="SET NULL")

    class Meta:
        table_name = "mail_intake"


MODELS.extend([CustomerEmail, MailIntake])


class Mailbox(BaseModel):
    """An IMAP mailbox the worker polls for new mail (issue 22, workflows/intake/imap.py, docs/imap.md).

    ``password`` is kept as typed (IMAP needs it) and never shown back in the admin. ``after`` is what
    becomes of a handled message: ``seen`` (flag \\Seen) or ``move`` (to ``move_to``). A worker holds the
    mailbox while polling it (``locked_by`` until ``locked_until``), taken by one conditional UPDATE,
    so two workers never read it at once.
    """

    name = CharField(max_length=100, unique=True)
    host = CharField(max_length=255)
    port = IntegerField(default=993)
    security = CharField(max_length=16, default="ssl")  # ssl, starttls, none
    username = CharField(max_length=255)
    password = CharField(max_length=255)
    folder = CharField(max_length=255, default="INBOX")
    after = CharField(max_length=16, default="seen")  # seen, move
    move_to = CharField(max_length=255, null=True)
    process = CharField(max_length=64, null=True)  # code of the process a new ticket opens
    active = BooleanField(default=True)
    poll_every = IntegerField(default=60)  # seconds
    next_poll_at = DateTimeField(default=utcnow)
    last_poll_at = DateTimeField(null=True)
    last_ok = BooleanField(null=True)
    last_result = TextField(null=True)
    locked_by = CharField(max_length=100, null=True)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


MODELS.append(Mailbox)


class Article(BaseModel):
    """A knowledge-base article (issue 23, workflows/kb, docs/kb.md): Markdown body, draft -> review ->
    published -> archived, ``version`` +1 per saved edit (each kept as an :class:`ArticleVersion`)."""

    number = CharField(max_length=20, unique=True)
    title = CharField(max_length=200)
    body = TextField(default="")
    category = CharField(max_length=64, null=True)  # an item of the dictionary kb_category
    tags = JSONField(default=list)
    visibility = CharField(max_length=16, default="internal")  # internal | public
    status = CharField(max_length=16, default="draft")  # draft | review | published | archived
    version = IntegerField(default=1)
    author = ForeignKeyField(User, backref="articles")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    published_at = DateTimeField(null=True)
    published_by = ForeignKeyField(User, null=True, backref="published_articles")
    helpful_yes = IntegerField(default=0)
    helpful_no = IntegerField(default=0)
    source_ticket = ForeignKeyField(Ticket, null=True, backref="articles", on_delete="SET NULL")

    class Meta:
        indexes = ((("status", "visibility"), False),)


class ArticleVersion(BaseModel):
    """One saved state of an article: who saved it and when."""

    article = ForeignKeyField(Article, backref="versions", on_delete="CASCADE")
    version = IntegerField()
    title = CharField(max_length=200)
    body = TextField(default="")
    category = CharField(max_length=64, null=True)
    tags = JSONField(default=list)
    visibility = CharField(max_length=16)
    status = CharField(max_length=16)
    editor = ForeignKeyField(User)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "article_version"
        indexes = ((("article", "version"), True),)


class ArticleSearch(BaseModel):
    """An article's index terms (``workflows.search.tokens.joined``); migration 0024 adds the engines' index
    beside it as for :class:`SearchPart`: FTS5 ``article_fts`` by triggers (SQLite), a tsvector + GIN (PostgreSQL)."""

    article = ForeignKeyField(Article, unique=True, backref="search_rows", on_delete="CASCADE")
    terms = TextField(default="")

    class Meta:
        table_name = "article_search"


class TicketSolution(BaseModel):
    """The article a ticket was closed with (issue 23)."""

    ticket = ForeignKeyField(Ticket, unique=True, backref="solutions", on_delete="CASCADE")
    article = ForeignKeyField(Article, backref="solutions", on_delete="CASCADE")
    chosen_by = ForeignKeyField(User)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ticket_solution"


class ArticleFeedback(BaseModel):
    """One "was this helpful" answer per client (a hash of address and agent, or the session) and article."""

    article = ForeignKeyField(Article, backref="feedback", on_delete="CASCADE")
    helpful = BooleanField()
    client = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "article_feedback"
        indexes = ((("article", "client"), True),)


class ArticleAttachment(BaseModel):
    """A file of an article (an image its body shows, or a download): read by whoever may read the article."""

    article = ForeignKeyField(Article, backref="attachments", on_delete="CASCADE")
    attachment = ForeignKeyField(Attachment, unique=True, on_delete="CASCADE")

    class Meta:
        table_name = "article_attachment"


MODELS.extend([Article, ArticleVersion, ArticleSearch, TicketSolution, ArticleFeedback, ArticleAttachment])


class SpikeAlert(BaseModel):
    """A spike alert sent (issue 23, ``workflows.reporting.spikes``, docs/insight.md): the unique key makes it once.

    ``week`` is the local (+08:00) Monday of the week that rose, ``value`` the dictionary value of ``field``.
    """

    process = CharField(max_length=64)
    field = CharField(max_length=64)
    value = CharField(max_length=200)
    week = CharField(max_length=10)
    count = IntegerField()
    average = TextField()  # the recent weekly average, as shown ("2.5")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "spike_alert"
        indexes = ((("process", "field", "value", "week"), True),)


MODELS.append(SpikeAlert)


class UserLoad(BaseModel):
    """A handler's open tickets (pending included), kept by triggers on ``ticket`` (migration 0027, issue 24):
    the least-loaded pick reads one row per candidate instead of counting their tickets. Last in
    ``MODELS``: emptying the tables deletes tickets (their triggers write here) before this."""

    user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    open = IntegerField(default=0)

    class Meta:
        table_name = "user_load"


MODELS.append(UserLoad)
