"""The canary world of ``test_canary_crawl``: tickets whose every string-holding value is a unique canary.

The permission matrix's world (``test_permission_matrix.build``: ticket T at the
warehouse step with ``wh1``, ``fin2`` CC'd, ten principals) is built first; then a
copy of the return-goods process (``canary_goods``) with one free-text field per
step, one marked ``x-public`` and one shown at no step, and six tickets of it:

===  =======================================================================================
W    at the warehouse step with wh1, returned there by fin1 from finance; agent CC'd fin2
F    at the finance step with fin1
C    closed: every step handled (admin approves, wh1, fin1)
A    at the approval step (created only)
R    closed: rejected at approval, with a reject reason
X    at approval, created by fin_lead for W's customer (agent may look the caller up, not open X)
===  =======================================================================================

Canaries are ``CANARY-<ticket>-<what>-<hex>``: upper case, so ``order_no``'s pattern
accepts them and no escaping (HTML, JSON, XML) changes them. Fields that hold codes
(dictionary fields ``source``/``category``/``model``, options ``approval``/
``as_described``/``refund_channels``, the boolean ``received``) cannot hold a free
string and are left out; dates, instants and numbers hold distinctive values
(``purchase_date``, ``received_at``, ``refund_amount``), found only where they are
printed as stored. Values a ticket's steps have not reached (or that no step shows,
``secret_note``) are written to ``ticket.data`` directly, marked ``direct`` below.

The process is format 2, for its field readers: ``ledger_note`` names finance as its only readers
(``x-readers``), is editable at the warehouse step (which wh1, no reader, handles) and at finance, and is
marked ``x-public`` too, which must not let it out to a customer or a webhook. Who may read it is worked
out here from the users' departments (``reads``), not asked of the code under test.

Two computed fields copy a canary field (``COPIES``): ``ledger_copy`` (``{"cat": [{"var": "ledger_note"}]}``,
with ledger_note's readers) and ``warehouse_copy`` (warehouse_note's text, no readers). Each has its
source's step modes (read-only where the source is editable), so it is shown exactly where its source is,
and it holds its source's text: its canary *is* the source's canary, with the same allowed readers. The
live preview (``POST /call/preview``, ``POST /tickets/NUMBER/preview``) answers with them.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

from conftest import example
from test_permission_matrix import PRINCIPALS, World, build

from workflows.kb import articles as kb_articles
from workflows.processes import documents as docs
from workflows.reporting.queries import customer_visible
from workflows.search import index as search_index
from workflows.storage import db as lzdb
from workflows.storage.models import (
    Attachment,
    Notification,
    RobotTarget,
    Ticket,
    TicketCC,
    TicketEvent,
    User,
    WebhookEndpoint,
)
from workflows.subscribers import robots
from workflows.subscribers.webhooks import EVENTS
from workflows.tickets import collab, engine
from workflows.tickets.access import ALL, can_read, visible_fields

CODE = "canary_goods"
END = "$end"
STEP_NOTES = {"approve": "approve_note", "warehouse": "warehouse_note", "finance": "finance_note"}
FREE_TEXT = ("order_no", "defect", "public_note", "reject_reason", *STEP_NOTES.values(), "secret_note",
             "ledger_note")
PUBLIC = frozenset({"public_note"})  # x-public: the customer's progress page, e-mails and webhooks may hold it
READERS = {"ledger_note": "finance"}  # x-readers: field -> the one department (and its subtree) that reads it
COPIES = {"ledger_copy": "ledger_note", "warehouse_copy": "warehouse_note"}  # computed field -> the field it copies
#: Knowledge-base articles (kind "article", field: which one): the roles that read each (docs/kb.md), None: everyone,
#: without a login too (the help pages /help, web/help.py). Each article's title and body hold its canary.
EDITOR_ROLES = ("admin", "supervisor")
ARTICLE_ROLES = {"public": None, "internal": ("admin", "supervisor", "agent", "handler"), "draft": EDITOR_ROLES,
                 "review": EDITOR_ROLES, "archived": EDITOR_ROLES}


def canary_process() -> dict:
    """return_goods plus a free-text note per step, an x-public note, and a note no step shows."""
    document = copy.deepcopy(example("return_goods.process.json"))
    document.update(format=2, code=CODE, name="金丝雀退货", number_prefix="CN", web_form={"enabled": True},
                    notify_customer={"created": True, "steps": ["approve", "warehouse", "finance"], "closed": True})
    properties = document["schema"]["properties"]
    properties["public_note"] = {"type": "string", "title": "公开说明", "x-public": True}
    properties["ledger_note"] = {"type": "string", "title": "财务备注", "x-widget": "textarea", "x-public": True,
                                 "x-readers": {"departments": [READERS["ledger_note"]]}}
    for key in (*STEP_NOTES.values(), "secret_note"):
        properties[key] = {"type": "string", "title": key, "x-widget": "textarea"}
    steps = {step["key"]: step for step in document["steps"]}
    steps["register"]["fields"]["public_note"] = "editable"
    for step, key in STEP_NOTES.items():
        steps[step]["fields"][key] = "editable"
    steps["finance"]["fields"]["category"] = "readonly"  # static check 9: a cascade child shows with its parent
    steps["warehouse"]["fields"]["ledger_note"] = steps["finance"]["fields"]["ledger_note"] = "editable"
    for copy_key, source in COPIES.items():  # shown where the source is, read-only (static check 8)
        properties[copy_key] = {k: copy.deepcopy(v) for k, v in properties[source].items() if k != "x-public"} | {
            "title": copy_key, "x-formula": {"cat": [{"var": source}]}}
        for step in steps.values():
            if step["fields"].get(source, "hidden") != "hidden":
                step["fields"][copy_key] = "readonly"
    return document


@dataclass(frozen=True)
class Canary:
    """One planted value: where it lives, and what decides who may see it."""

    text: str
    ticket: str  # label: W, F, C, A, R, X
    kind: str  # field | file | ticket (notes, comments) | number | customer | notification
    field: str = ""  # the form field, for kind field/file
    owner: str = ""  # the username, for kind notification


@dataclass
class CanaryWorld:
    """The matrix world, the canary tickets by label, and every canary planted."""

    matrix: World
    numbers: dict[str, str] = field(default_factory=dict)  # label -> ticket number
    customers: dict[str, int] = field(default_factory=dict)  # label -> customer id
    phones: dict[str, str] = field(default_factory=dict)  # label -> the customer's phone
    keys: dict[str, str] = field(default_factory=dict)  # label -> photo attachment key
    canaries: list[Canary] = field(default_factory=list)
    progress: dict[str, str] = field(default_factory=dict)  # label -> signed progress token
    rating: dict[str, str] = field(default_factory=dict)  # label -> signed rating token (closed tickets)
    notifications: dict[str, int] = field(default_factory=dict)  # username -> a notification id of theirs
    articles: dict[str, str] = field(default_factory=dict)  # ARTICLE_ROLES key -> article number


def mark(world: CanaryWorld, label: str, what: str, **kind) -> str:
    """A new unique canary, recorded with what decides its readers."""
    text = f"CANARY-{label}-{what.upper().replace('_', '')}-{os.urandom(3).hex().upper()}"
    world.canaries.append(Canary(text, label, **{"kind": "field", **kind}))
    return text


def value(world: CanaryWorld, label: str, key: str, text: str) -> str:
    """A distinctive non-string value (date, instant, number) recorded as the canary of ``key``."""
    world.canaries.append(Canary(text, label, "field", key))
    return text


def register_data(world: CanaryWorld, label: str, app, user: User, index: int) -> dict:
    """The first step's fields, each string a canary; the photo's name and bytes are canaries too."""
    photo = upload(app, user, mark(world, label, "photoname", kind="file", field="photos") + ".jpg",
                   mark(world, label, "photobytes", kind="file", field="photos"))
    world.keys[label] = photo.key
    return {"order_no": mark(world, label, "order_no", field="order_no"), "source": "phone", "category": "fr",
            "model": "fr-200",
            "purchase_date": value(world, label, "purchase_date", f"20{10 + index}-0{index}-2{index}"),
            "defect": mark(world, label, "defect", field="defect"),
            "public_note": mark(world, label, "public_note", field="public_note"), "photos": [photo.key]}


def upload(app, who: User, name: str, content: str) -> Attachment:
    """An unlinked upload of ``who`` whose bytes hold ``content`` (a JPEG header first)."""
    key = f"k{os.urandom(8).hex()}"
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)
    with open(os.path.join(app.config["UPLOAD_DIR"], key), "wb") as file:
        file.write(b"\xff\xd8\xff" + content.encode())
    return Attachment.create(key=key, filename=name, mimetype="image/jpeg", size=3 + len(content), stored_name=key,
                             uploaded_by=who)


def customer(world: CanaryWorld, label: str, index: int) -> dict:
    phone = f"1370000{index:04d}"
    world.phones[label] = phone
    return {"name": mark(world, label, "customer", kind="customer"), "phone": phone,
            "email": f"canary-{label.lower()}@example.com"}


# --- The tickets ----------------------------------------------------------------------------------------------


class Builder:
    """Moves the canary tickets through the process as their legitimate handlers would."""

    def __init__(self, app, world: CanaryWorld, users: dict[str, User]):
        self.app, self.world, self.users = app, world, users

    def act(self, who: str, label: str, action: str, **request) -> Ticket:
        number = self.world.numbers[label]
        return engine.act(self.users[who], number, action, version=engine.load(number).version, **request)

    def create(self, label: str, index: int, who: str = "agent", details: dict | None = None) -> None:
        data = register_data(self.world, label, self.app, self.users[who], index)
        ticket = engine.create(self.users[who], CODE, data, customer=details or customer(self.world, label, index))
        self.world.numbers[label], self.world.customers[label] = ticket.number, ticket.customer_id
        self.world.canaries.append(Canary(ticket.number, label, "number"))

    def approve(self, label: str) -> None:
        """The admin approves; the warehouse step then goes to wh1 (transferred with a comment if picked else)."""
        self.act("admin", label, "advance", transition="warehouse",
                 data={"approval": "approve", "approve_note": mark(self.world, label, "approve_note",
                                                                   field="approve_note")})
        if engine.load(self.world.numbers[label]).assignee_id != self.users["wh1"].id:
            self.act("admin", label, "transfer", assignee="wh1", comment=mark(self.world, label, "transfer",
                                                                              kind="ticket"))

    def warehouse(self, label: str, index: int) -> None:
        instant = f"203{index}-0{index}-1{index}T0{index}:3{index}:4{index}+08:00"
        self.act("wh1", label, "advance", transition="finance", assignee="fin1",
                 data={"received": True, "received_at": value(self.world, label, "received_at", instant),
                       "as_described": "yes",
                       "warehouse_note": mark(self.world, label, "warehouse_note", field="warehouse_note")})

    def finance(self, label: str, index: int) -> None:
        self.act("fin1", label, "advance", transition=END,
                 data={"refund_amount": float(value(self.world, label, "refund_amount", f"98765{index}.32")),
                       "refund_channels": ["original"],
                       "finance_note": mark(self.world, label, "finance_note", field="finance_note"),
                       "ledger_note": mark(self.world, label, "ledger_note", field="ledger_note")})  # a reader

    def direct(self, label: str, *keys: str) -> None:
        """Write canaries for fields the ticket's steps have not reached, or that no step shows."""
        ticket = engine.load(self.world.numbers[label])
        values = {"refund_amount": float(value(self.world, label, "refund_amount", f"87654{ord(label[0]) % 10}.21"))} \
            if "refund_amount" in keys else {}
        values |= {k: mark(self.world, label, k, field=k) for k in keys if k != "refund_amount"}
        values |= {key: values[source] for key, source in COPIES.items() if source in values}  # as computed
        Ticket.update(data={**ticket.data, **values}).where(Ticket.id == ticket.id).execute()
        search_index.reindex_ticket(ticket.id)  # as `flask search reindex` does after a write beside the engine

    def note(self, who: str, label: str) -> None:
        collab.add_note(self.users[who], self.world.numbers[label], mark(self.world, label, "note", kind="ticket"))


def _handled_tickets(b: Builder) -> None:
    """W, F and C: each has been through the warehouse; W came back there from finance, C went on to close."""
    b.create("W", 1)
    b.approve("W")
    b.warehouse("W", 1)
    b.act("fin1", "W", "return", comment=mark(b.world, "W", "return", kind="ticket"))
    collab.add_cc(b.users["agent"], b.world.numbers["W"], "fin2")
    b.note("wh1", "W")
    b.direct("W", "finance_note", "refund_amount", "secret_note", "ledger_note")
    for label, index in (("F", 2), ("C", 3)):
        b.create(label, index)
        b.approve(label)
        b.warehouse(label, index)
    b.note("fin1", "F")
    b.direct("F", "finance_note", "secret_note", "ledger_note")
    b.finance("C", 3)
    b.direct("C", "secret_note")


def _early_tickets(b: Builder) -> None:
    """A and X at approval, R rejected there; X is fin_lead's ticket for W's customer."""
    b.create("A", 4)
    b.direct("A", "approve_note", "secret_note", "ledger_note")
    b.create("R", 5)
    b.act("admin", "R", "advance", transition=END, data={
        "approval": "reject", "reject_reason": mark(b.world, "R", "reject_reason", field="reject_reason"),
        "approve_note": mark(b.world, "R", "approve_note", field="approve_note")})
    b.direct("R", "secret_note", "ledger_note")
    b.create("X", 6, who="fin_lead", details={"name": "", "phone": b.world.phones["W"]})
    b.direct("X", "secret_note", "ledger_note")


def _articles(world: CanaryWorld, admin: User) -> None:
    """One article per ARTICLE_ROLES key, all in category returns, about 退货 and 运费, each with its canary."""
    for which in ARTICLE_ROLES:
        text = mark(world, "K", f"article_{which}", kind="article", field=which)
        article = kb_articles.create(admin, title=f"退货运费 {text}", body=f"退货的运费 {text}", category="returns",
                                     visibility="internal" if which == "internal" else "public")
        if which != "draft":
            kb_articles.submit(admin, article.number)
        if which in ("public", "internal", "archived"):
            kb_articles.publish(admin, article.number)
        if which == "archived":
            kb_articles.archive(admin, article.number)
        world.articles[which] = article.number


def build_canary_world(app) -> CanaryWorld:
    """The matrix world, a webhook subscribed to every event, the canary tickets, one notification per user."""
    from workflows.tickets import feedback

    world = CanaryWorld(build(app))
    with app.app_context(), lzdb.database.connection_context():
        WebhookEndpoint.create(name="canary", url="https://example.com/canary", secret="c" * 32, events=list(EVENTS))
        RobotTarget.create(name="canary", platform="wecom", events=list(robots.KINDS),
                           url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=canary")
        docs.save_process(canary_process(), publish=True)
        users = {u.username: u for u in User.select()}
        builder = Builder(app, world, users)
        _handled_tickets(builder)
        _early_tickets(builder)
        _articles(world, users["admin"])
        for username in filter(None, PRINCIPALS.values()):
            text = mark(world, "N", f"notification_{username}", kind="notification", owner=username)
            world.notifications[username] = Notification.create(user=users[username], kind="rule", message=text).id
        for label, number in world.numbers.items():
            ticket = engine.load(number)
            world.progress[label] = feedback.progress_token(ticket)
            if ticket.status == "closed":
                world.rating[label] = feedback.rating_link_token(ticket)
    return world


# --- Who may see which canary -----------------------------------------------------------------------------------


def meet(*sets):
    """Intersection where None (access.ALL) means every field."""
    bounded = [s for s in sets if s is not ALL]
    return set.intersection(*map(set, bounded)) if bounded else ALL


def first_step_fields(ticket: Ticket) -> set[str]:
    version = ticket.process_version
    return set(docs.compiled(version, version.document["steps"][0]["key"]).spec.visible(ticket.data))


def _fields_if(user: User, number: str, change) -> set[str] | None:
    """What ``user`` would see of ``number`` after ``change()``, which is rolled back."""
    with lzdb.database.atomic() as transaction:
        change()
        ticket = engine.load(number)
        fields = visible_fields(user, ticket) if can_read(user, ticket) else set()
        transaction.rollback()
    return fields


def cc_cap(user: User, ticket: Ticket) -> set[str] | None:
    """Issue 16, defect 1: being CC'd never shows more than one would see without it, plus the first step's fields.

    (The creator's own view: what anyone who CCs a person has, at least, already entered.)
    """
    if not TicketCC.select().where(TicketCC.ticket == ticket, TicketCC.user == user).exists():
        return ALL
    base = _fields_if(user, ticket.number,
                      lambda: TicketCC.delete().where(TicketCC.ticket == ticket, TicketCC.user == user).execute())
    return ALL if base is ALL else base | first_step_fields(ticket)


def close_cap(user: User, ticket: Ticket) -> set[str] | None:
    """Issue 16, defect 11: closing a ticket never shows a reader more than they saw the moment before."""
    if ticket.status != "closed":
        return ALL
    closing = (TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.to_step == END)
               .order_by(TicketEvent.id.desc()).first())
    reopened = {"status": "open", "step": closing.from_step, "assignee": closing.assignee_before_id, "closed_at": None}
    return _fields_if(user, ticket.number, lambda: Ticket.update(reopened).where(Ticket.id == ticket.id).execute())


def allowed_fields(user: User, ticket: Ticket) -> set[str] | None:
    """``access.visible_fields``, capped by the two rules above so the crawl does not take the code as its oracle."""
    if not can_read(user, ticket):
        return set()
    return meet(visible_fields(user, ticket), cc_cap(user, ticket), close_cap(user, ticket))


def reads(user: User, key: str) -> bool:
    """Whether ``user`` may ever read the field ``key``: no readers named, an admin, or in the readers' subtree."""
    department = user.department
    codes = set()
    while department is not None:
        codes.add(department.code)
        department = department.parent
    return key not in READERS or user.role == "admin" or READERS[key] in codes


def forbidden_for(world: CanaryWorld, username: str | None) -> list[Canary]:
    """Every canary ``username`` (None: not logged in) must never receive."""
    if username is None:
        return [c for c in world.canaries if not (c.kind == "article" and ARTICLE_ROLES[c.field] is None)]
    user = User.get(User.username == username)
    tickets = {label: engine.load(number) for label, number in world.numbers.items()}
    fields = {label: allowed_fields(user, t) for label, t in tickets.items()}
    readable = {label: can_read(user, t) for label, t in tickets.items()}
    notified = {t for (t,) in Notification.select(Notification.ticket).where(Notification.user == user).tuples()}

    def allowed(c: Canary) -> bool:
        if c.kind == "notification":
            return c.owner == username
        if c.kind == "article":
            return ARTICLE_ROLES[c.field] is None or user.role in ARTICLE_ROLES[c.field]
        if c.kind == "customer":
            return customer_visible(user, world.customers[c.ticket])
        if c.kind == "number":  # one's own notifications name the tickets one was once given
            return readable[c.ticket] or tickets[c.ticket].id in notified
        if c.kind == "ticket":
            return readable[c.ticket]
        if c.field in READERS and not reads(user, c.field):  # x-readers: not even a supervisor of the handler
            return False
        return fields[c.ticket] is ALL or c.field in fields[c.ticket]

    return [c for c in world.canaries if not allowed(c)]


def customer_may_see(world: CanaryWorld, label: str, c: Canary) -> bool:
    """The customer of ticket ``label`` (progress page, e-mail): its number, their name, its x-public fields."""
    if c.kind == "customer":
        return label in world.customers and world.customers[c.ticket] == world.customers[label]
    return c.ticket == label and (c.kind == "number" or (c.kind == "field" and c.field in PUBLIC))


def webhook_may_carry(label: str, c: Canary) -> bool:
    """workflows.subscribers.webhooks: metadata and x-public fields of the ticket; no customer, notes or comments."""
    return c.ticket == label and (c.kind == "number" or (c.kind == "field" and c.field in PUBLIC))


def leaks(text: str, forbidden: list[Canary], url: str = "") -> list[Canary]:
    """The forbidden canaries in ``text``; a ticket number the request itself named is no leak."""
    return [c for c in forbidden if c.text in text and not (c.kind == "number" and c.text in url)]


def describe(c: Canary, tickets: dict[str, Ticket] | None = None) -> str:
    """``W.warehouse_note (editable at warehouse)``: the canary's ticket, field and the steps showing it."""
    where = ""
    if c.field and tickets and c.ticket in tickets:
        steps = tickets[c.ticket].process_version.document["steps"]
        where = ", ".join(f"{mode_of(s, c.field)} at {s['key']}" for s in steps if mode_of(s, c.field) != "hidden")
        where = f" ({where or 'shown at no step'})"
    return f"{c.ticket}.{c.field or c.kind}{where} [{c.text}]"


def mode_of(step: dict, key: str) -> str:
    mode = step["fields"].get(key, "hidden")
    return mode if isinstance(mode, str) else f"{mode['mode']}/{mode.get('else', 'hidden')}"


def world_tickets(world: CanaryWorld) -> dict[str, Ticket]:
    return {label: engine.load(number) for label, number in world.numbers.items()}

