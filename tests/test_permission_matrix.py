"""Who may open every URL of the app, discovered from its url map, as each relation to one ticket.

``EXPECTED`` classifies every endpoint with the rule it follows; a route the table
does not name fails ``test_every_endpoint_is_classified``, so a new route cannot
be forgotten. The world: ticket T of the return-goods process, created by
``agent`` (service), approved, now at the warehouse step with ``wh1``; ``fin2``
is CC'd; ``wh2`` is ``wh1``'s colleague; ``fin1`` handles for another team;
``wh_lead`` manages the warehouse and ``director`` the department above it;
``fin_lead`` manages an unrelated department. Each principal requests every URL
once (ids filled from that world) and each answer must match the rule: allowed
is anything but 401/403/404/500 or a redirect to the login page; refused is the
rule's status (403, or 404 where the design hides that the thing exists), a
redirect to /login for anonymous pages and 401 for the anonymous API.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest
from conftest import PASSWORD, ROOT, _session_hash, example
from flask import url_for
from test_engine import REGISTER
from test_visibility_rule import expected as fields_of_steps
from test_visibility_rule import table as visibility_table

from workflows.calendars import store as calendars
from workflows.kb import articles as kb_articles
from workflows.people import org
from workflows.processes import documents as docs
from workflows.reporting import views as saved_views
from workflows.reporting.queries import customer_visible
from workflows.storage import audit
from workflows.storage import db as lzdb
from workflows.storage.models import (
    ArticleAttachment,
    Attachment,
    EmailMessage,
    Mailbox,
    Notification,
    RobotDelivery,
    RobotTarget,
    Tag,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from workflows.storage.models import Rule as AutomationRule
from workflows.tickets import collab, engine, feedback, tags
from workflows.tickets.access import can_act, can_read, visible_fields

PHONE = "13800000000"
PEOPLE = [  # username, role, department
    ("admin", "admin", None), ("director", "supervisor", "ops"), ("sup", "supervisor", "service"),
    ("agent", "agent", "service"), ("wh1", "handler", "warehouse"), ("wh2", "handler", "warehouse"),
    ("wh_lead", "supervisor", "warehouse"), ("fin1", "handler", "finance"), ("fin2", "handler", "finance"),
    ("fin_lead", "supervisor", "finance"),
]
DEPARTMENTS = [  # code, parent, manager
    ("ops", None, "director"), ("service", "ops", "sup"), ("warehouse", "ops", "wh_lead"),
    ("finance", None, "fin_lead"),
]
PRINCIPALS = {  # relation to ticket T -> username (None: not logged in)
    "anonymous": None, "admin": "admin", "creator": "agent", "assignee": "wh1", "cc": "fin2", "colleague": "wh2",
    "other_team": "fin1", "supervisor": "wh_lead", "chief": "director", "unrelated_supervisor": "fin_lead",
}
EVERYONE = frozenset(PRINCIPALS)
USERS = EVERYONE - {"anonymous"}
READERS = frozenset({"admin", "creator", "assignee", "cc", "supervisor", "chief"})  # access.can_read
ACTORS = frozenset({"admin", "assignee", "supervisor", "chief"})  # access.can_act: assignee, chain, admin
CREATOR_ROLES = frozenset({"admin", "creator", "supervisor", "chief", "unrelated_supervisor"})  # access.CREATORS
SUPERVISORS = frozenset({"admin", "supervisor", "chief", "unrelated_supervisor"})
CUSTOMER_VIEWERS = CREATOR_ROLES | {"assignee", "cc"}  # queries.customer_visible: creators, readers of its tickets
HIDDEN_CUSTOMER = {"colleague": 404, "other_team": 404}  # cannot see the customer at all: it is "not there"


@dataclass(frozen=True)
class Rule:
    """Who may use an endpoint, what the others get, and why (where the design says so)."""

    name: str
    allowed: frozenset[str]
    why: str
    refused: int = 403
    refused_as: Mapping[str, int] = field(default_factory=dict)  # per principal, where it differs

    def status_for(self, principal: str) -> int:
        return self.refused_as.get(principal, self.refused)


PUBLIC = Rule("public", EVERYONE, "no login: login/logout, health, static files, language switch")
TOKEN_LINK = Rule("token-link", EVERYONE, "the signed link is the credential (workflows.tickets.feedback)")
WEBFORM = Rule("public-webform", EVERYONE, "opt-in public form per process (web_form.enabled)")
HELP = Rule("public-help", EVERYONE, "help pages, no login: published public articles only (workflows.kb.public)")
LOGIN = Rule("login", USERS, "any logged-in user; the view narrows to what is theirs")
OWN_NOTIFICATION = Rule("own-notification", frozenset({"assignee"}), "anyone else's notification id is unknown",
                        refused=404)
OWN_TOKEN = Rule("own-token", frozenset({"assignee"}), "profile: another user's token id is unknown, even to admins",
                 refused=404)
CREATE = Rule("creator-role", CREATOR_ROLES, "engine.create: admin, supervisor, agent")
REPORTS = Rule("supervisor-or-admin", SUPERVISORS, "reports: supervisors (their team) and admins")
ADMIN = Rule("admin", frozenset({"admin"}), "Flask-Admin views: admin role only")
READER = Rule("ticket-reader", READERS, "access.can_read: creator, assignee, CC, handled, overseers, admin")
ACTOR = Rule("ticket-actor", ACTORS, "access.can_act: assignee, their manager chain, admin")
OWN_VIEW = Rule("own-saved-view", frozenset({"supervisor"}), "reporting.views: wh_lead's view, shared with the "
                "warehouse: its team sees it but may not change it (403), to anyone else it is unknown (404)",
                refused=404, refused_as={"assignee": 403, "colleague": 403})
CC_EDITOR = Rule("ticket-cc-editor", ACTORS | {"creator"}, "collab.add_cc: actors, the creator, overseers")
TAGGER = Rule("ticket-tagger", ACTORS, "tags.may_tag: actors and overseers of the handler")
FILE_READER = Rule("attachment-reader", READERS - {"cc"},  # a CC adds no fields: docs/visibility.md
                   "collab.attachment_for: ticket readable and field visible")
CUSTOMER = Rule("customer-viewer", CUSTOMER_VIEWERS, "queries.customer_visible; hidden answers 404", refused=404)
CUSTOMER_EDIT = Rule("customer-editor", CREATOR_ROLES, "customers.EDITORS among those who see the customer",
                     refused_as=HIDDEN_CUSTOMER)
CUSTOMER_MERGE = Rule("customer-merger", SUPERVISORS, "customers.MERGERS among those who see the customer",
                      refused_as=HIDDEN_CUSTOMER)
CALL_NOTE = Rule("call-note", CREATOR_ROLES & READERS, "the call page (access.may_create), then collab.add_note's "
                 "can_read")
KB_DRAFT = Rule("ticket-actor-editor", ACTORS - {"assignee"}, "solutions.from_ticket: access.can_act, and "
                "kb.articles.EDITORS for the new article (the assignee wh1 is a handler)")
KB_EDITOR = Rule("kb-editor", SUPERVISORS, "kb.articles.EDITORS: admins and supervisors write, submit, publish, "
                 "archive and read versions of articles")
KB_FILE = Rule("kb-file", EVERYONE, "a file of a published public article: anyone (the help pages show it)")
ADMIN_UNUSED = Rule("admin-unused", frozenset(), "a ModelView route its view has no use for (no ajax-loaded field, "
                    "no list editing): 404 even to the admin, the admin refusal to everyone else",
                    refused_as={"admin": 404})

# Flask-Admin's views: admin.AdminOnly guards every route of each, so the whole blueprint is classified at once.
ADMIN_BLUEPRINTS = ("admin", "audit", "calendars", "departments", "dictionaries", "mail", "mailboxes", "mailintake",
                    "processes", "robots", "rules", "tags", "tokens", "users", "webhooks")
EXPECTED: dict[str, Rule] = {
    "static": PUBLIC, "admin.static": PUBLIC, "health.healthz": PUBLIC, "i18n.switch": PUBLIC,
    "auth.login": PUBLIC, "auth.logout": PUBLIC, "api_docs.docs": PUBLIC, "api.token": PUBLIC, "api.openapi": PUBLIC,
    "public.rate": TOKEN_LINK, "public.progress": TOKEN_LINK, "webform.webform": WEBFORM,
    "help.index": HELP, "help.category": HELP, "help.search": HELP, "help.suggest": HELP, "help.article": HELP,
    "help.vote": HELP,  # "was this helpful": anyone, once per client (tests/test_kb_public.py)
    "home.index": LOGIN, "inbox.index": LOGIN, "inbox.mark_all_read": LOGIN, "profile.index": LOGIN,
    "profile.issue": LOGIN, "profile.change_password": LOGIN, "calls.register": LOGIN,
    "exports.tickets_csv": LOGIN, "exports.tickets_xlsx": LOGIN,
    "inbox.mark_read": OWN_NOTIFICATION, "profile.revoke": OWN_TOKEN, "calls.submit": CREATE,
    "reports.index": REPORTS, "reports.export_csv": REPORTS, "reports.export_xlsx": REPORTS,
    "reports.insight": REPORTS, "reports.watch_field": ADMIN,
    "suggest.suggestions": LOGIN, "suggest.choose": ACTOR, "suggest.draft": KB_DRAFT, "suggest.report": REPORTS,
    "tickets.detail": READER, "tickets.note": READER, "tickets.act": ACTOR, "tickets.add_cc": CC_EDITOR,
    "calls.preview_call": CREATE, "tickets.preview_step": ACTOR,  # the live preview of computed fields
    "calls.suggest": CREATE, "calls.note": CALL_NOTE,  # the call page's possible duplicates; a call as a note
    "tagging.add": TAGGER, "tagging.remove": TAGGER, "tickets.download": FILE_READER,
    "notes.upload": READER, "notes.mentions": READER,  # the note box: a pasted file, @mention suggestions
    "live.poll": LOGIN,  # the stamps live.js polls: a ticket's only if readable (tests/test_live.py)
    "bulk.act": LOGIN,  # bulk wait/resume: any user may post; the engine refuses each ticket they may not act on
    "views.create": LOGIN, "views.rename": OWN_VIEW, "views.save": OWN_VIEW, "views.delete": OWN_VIEW,
    "customers.detail": CUSTOMER, "customers.edit": CUSTOMER_EDIT, "customers.remove_phone": CUSTOMER_EDIT,
    "customers.merge": CUSTOMER_MERGE,
    # REST API: the same rules behind a bearer token (anonymous: 401).
    "api.upload": LOGIN, "api.lookup": LOGIN, "api.dictionaries": LOGIN, "api.dictionary": LOGIN,
    "api.notifications": LOGIN, "api.mark_all_read": LOGIN, "api.processes": LOGIN,
    "api.process": LOGIN, "api.list_tickets": LOGIN, "api.mark_read": OWN_NOTIFICATION,
    "api.put_dictionary": ADMIN, "api.calendars": LOGIN, "api.calendar": LOGIN,
    "api.put_calendar": ADMIN, "api.check": ADMIN, "api.put_draft": ADMIN, "api.publish": ADMIN,
    "api.versions": ADMIN, "api.export_version": ADMIN, "api.create_ticket": CREATE,
    "api.get_ticket": READER, "api.act": ACTOR, "api.notes": READER, "api.add_note": READER,
    "api.download": FILE_READER, "api.customer": CUSTOMER, "api.edit": CUSTOMER_EDIT,
    # The audit log is Flask-Admin's read-only peewee ModelView (admin/audit.py): every route it registers is the
    # admin's, the disabled ones (create, edit, details, delete, actions, export) answering a redirect to the list.
    "audit.index": ADMIN, "audit.detail": ADMIN, "audit.create_view": ADMIN, "audit.edit_view": ADMIN,
    "audit.details_view": ADMIN, "audit.delete_view": ADMIN, "audit.action_view": ADMIN, "audit.export": ADMIN,
    "audit.ajax_lookup": ADMIN_UNUSED, "audit.ajax_update": ADMIN_UNUSED,
    # Knowledge base (issue 23): article K (published, public, one file), workflows.kb.articles' roles.
    "kb.index": LOGIN, "kb.read": LOGIN, "kb.download": KB_FILE, "kb.new": KB_EDITOR, "kb.edit": KB_EDITOR,
    "kb.submit": KB_EDITOR, "kb.publish": KB_EDITOR, "kb.archive": KB_EDITOR, "kb.upload": KB_EDITOR,
    "api.list_articles": LOGIN, "api.get_article": LOGIN, "api.create_article": KB_EDITOR,
    "api.edit_article": KB_EDITOR, "api.article_versions": KB_EDITOR, "api.submit_article": KB_EDITOR,
    "api.publish_article": KB_EDITOR, "api.archive_article": KB_EDITOR,
}


def rule_for(endpoint: str) -> Rule | None:
    """The table's rule; every route of a Flask-Admin view (besides its static files) is for admins."""
    if endpoint in EXPECTED:
        return EXPECTED[endpoint]
    return ADMIN if endpoint.partition(".")[0] in ADMIN_BLUEPRINTS else None


# --- The world ----------------------------------------------------------------------------------------------------


@dataclass
class World:
    """Ids of the seeded rows, and each user's API token."""

    number: str = ""  # ticket T, open at the warehouse step
    closed: str = ""  # ticket T2, closed (rateable)
    version: int = 0
    key: str = ""  # T's photo
    loose_key: str = ""  # fin1's upload, linked to no ticket
    customer_id: int = 0
    notification_id: int = 0  # wh1's
    token_id: int = 0  # wh1's
    token: str = ""  # that token itself
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, object] = field(default_factory=dict)  # admin-side rows: rule, tag, webhook, ...


def _upload(app, who, name: str) -> Attachment:
    key = f"k{os.urandom(8).hex()}"
    path = os.path.join(app.config["UPLOAD_DIR"], key)
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)
    with open(path, "wb") as file:
        file.write(b"\xff\xd8\xff")
    return Attachment.create(key=key, filename=name, mimetype="image/jpeg", size=3, stored_name=key, uploaded_by=who)


def _article(app, users: dict) -> dict:
    """Article K: published, public, with one file (the knowledge-base routes, issue 23)."""
    article = kb_articles.create(users["admin"], title="matrix article", body="matrix", visibility="public")
    kb_articles.submit(users["admin"], article.number)
    kb_articles.publish(users["admin"], article.number)
    file = _upload(app, users["admin"], "kb.jpg")
    ArticleAttachment.create(article=article, attachment=file)
    return {"kb_number": article.number, "attachment_key": file.key}


def _organisation() -> dict:
    for code in ("channel", "product"):
        docs.import_dictionary(example(f"{code}.dictionary.json"))
    document = example("return_goods.process.json")
    document["web_form"] = {"enabled": True}
    docs.save_process(document, publish=True)
    for code, parent, _ in DEPARTMENTS:
        org.create_department(code, code, parent=parent)
    users = {name: org.create_user(name, PASSWORD, role, dept) for name, role, dept in PEOPLE}
    for code, _, manager in DEPARTMENTS:
        org.set_manager(code, manager)
    return users


def _ticket_at_warehouse(app, users: dict) -> tuple:
    """T: agent's ticket with a photo; the admin approves it and hands the warehouse step to wh1."""
    photo = _upload(app, users["agent"], "photo.jpg")
    ticket = engine.create(users["agent"], "return_goods", {**REGISTER, "photos": [photo.key]},
                           customer={"name": "王先生", "phone": PHONE})
    ticket = engine.act(users["admin"], ticket.number, "advance", version=engine.load(ticket.number).version,
                        data={"approval": "approve"}, transition="warehouse")
    if ticket.assignee_id != users["wh1"].id:
        ticket = engine.act(users["admin"], ticket.number, "transfer", version=ticket.version, assignee="wh1",
                            comment="to wh1")
    collab.add_cc(users["agent"], ticket.number, "fin2")
    return engine.load(ticket.number), photo


def _closed_ticket(users: dict) -> str:
    ticket = engine.create(users["agent"], "return_goods", dict(REGISTER), customer={"name": "李女士",
                                                                                    "phone": "13900000000"})
    engine.act(users["admin"], ticket.number, "advance", version=engine.load(ticket.number).version,
               data={"approval": "reject", "reject_reason": "过保"}, transition="$end")
    return ticket.number


def _admin_rows(users: dict, ticket) -> dict:
    endpoint = WebhookEndpoint.create(name="hook", url="https://example.com/hook", secret="s" * 32,
                                      events=["ticket.created"])
    delivery = WebhookDelivery.create(endpoint=endpoint, uuid=os.urandom(16).hex(), event="ticket.created",
                                      payload="{}")
    robot = RobotTarget.create(name="robot", platform="wecom", events=["assignment"],
                               url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=matrix-robot-key")
    robot_delivery = RobotDelivery.create(target=robot, uuid=os.urandom(16).hex(), kind="assignment", payload="{}")
    mailbox = Mailbox.create(name="box", host="127.0.0.1", port=9, security="none", username="u", password="p")
    message = EmailMessage.create(to_addr="c@example.com", subject="s", body="b", ticket=ticket, status="failed")
    entry = audit.record(users["admin"], "matrix.seed", "matrix:1")
    rule = AutomationRule.create(name="matrix rule", trigger="ticket.created", condition={}, actions=[])
    tag = Tag.create(name="matrix")
    view = saved_views.create(users["wh_lead"], "matrix view", {"status": "open"}, shared=True)
    calendars.save_calendar(json.loads((ROOT / "workflows/demo/cn_workdays.calendar.json").read_text("utf-8")))
    return {"endpoint_id": endpoint.id, "delivery_id": delivery.id, "message_id": message.id,
            "entry_id": entry.id, "rule_id": rule.id, "tag_id": tag.id, "view_id": view.id,
            "target_id": robot.id, "robot_delivery_id": robot_delivery.id,
            "mailbox_id": mailbox.id}


def _help_article(users: dict) -> dict:
    """A published public article and its category: /help/<article_number>, /help/c/<kb_category>."""
    docs.import_dictionary(json.loads((ROOT / "workflows/demo/kb_category.dictionary.json").read_text("utf-8")))
    article = kb_articles.create(users["admin"], title="matrix help", body="matrix", category="returns",
                                 visibility="public")
    kb_articles.submit(users["admin"], article.number)
    kb_articles.publish(users["admin"], article.number)
    return {"article_number": article.number, "kb_category": "returns"}


def build(app) -> World:
    """Seed the organisation, the two tickets and one row of everything the admin pages show."""
    with app.app_context(), lzdb.database.connection_context():
        users = _organisation()
        ticket, photo = _ticket_at_warehouse(app, users)
        world = World(number=ticket.number, version=ticket.version, key=photo.key,
                      customer_id=ticket.customer_id, closed=_closed_ticket(users))
        world.loose_key = _upload(app, users["fin1"], "loose.jpg").key
        world.notification_id = Notification.create(user=users["wh1"], ticket=ticket, kind="assigned",
                                                    message=f"{ticket.number}: advance").id
        row, world.token = org.new_token(users["wh1"], "wh1's")
        world.token_id = row.id
        other_token_id = org.new_token(users["wh1"], "wh1's other")[0].id
        world.tokens = {name: org.issue_token(users[name], "matrix") for name in users}
        world.ids = {**_admin_rows(users, ticket), "other_token_id": other_token_id, **_help_article(users),
                     **_article(app, users)}
        tags.add(ticket, "matrix", users["admin"])
        world.ids["rate_token"] = feedback.rating_link_token(engine.load(world.closed))
        world.ids["progress_token"] = feedback.progress_token(ticket)
    return world


def world_factory(app, monkeypatch) -> Callable[[], World]:
    """Builds the world on demand (each password hashed once per session, as conftest's ``users`` does)."""
    monkeypatch.setattr(org, "generate_password_hash", _session_hash)
    return lambda: build(app)


@pytest.fixture
def world_of(app, monkeypatch) -> Callable[[], World]:
    return world_factory(app, monkeypatch)


# --- Requests -----------------------------------------------------------------------------------------------------

CODES = {"dictionaries": "channel", "api.dictionary": "channel", "api.put_dictionary": "channel",
         "calendars": "cn_workdays", "api.calendar": "cn_workdays",
         "api.put_calendar": "cn_workdays", "departments": "warehouse", "i18n": "en"}
KEYS = {"processes.edit_field": "order_no", "processes.field_action": "order_no",
        "processes.edit_step": "register", "processes.step_action": "register"}
QUERIES = {"processes.diff": {"a": 1, "b": 1}}


def url_values(endpoint: str, arguments: set[str], world: World) -> dict:
    """Real ids of the world for each argument of the rule."""
    blueprint = endpoint.partition(".")[0]
    known = {"number": 1 if blueprint == "processes" or endpoint == "api.export_version" else world.number,
             "key": KEYS.get(endpoint, world.key), "customer_id": world.customer_id,
             "notification_id": world.notification_id,
             "token_id": world.ids["other_token_id"] if endpoint == "tokens.revoke" else world.token_id,
             "code": CODES.get(endpoint, CODES.get(blueprint, "return_goods")), "value": "phone",
             "username": "wh1", "event": "created", "kind": "text", "move": "up", "step": "register",
             "export_type": "csv", "op_name": "cycle_mode",
             "token": world.ids["progress_token"] if endpoint == "public.progress" else world.ids["rate_token"],
             "filename": "admin/js/helpers.js" if endpoint == "admin.static" else "css/liuzhuan.css", **world.ids}
    return {name: known[name] for name in arguments}


def payload(endpoint: str, world: World) -> dict:
    """A body that reaches the permission check: empty where the check comes first, real where it does not."""
    transfer = {"action": "transfer", "version": world.version}  # no comment: 422 once the check passes
    bodies = {
        "tickets.act": {"data": transfer}, "api.act": {"json": transfer},
        "tickets.note": {"data": {"note": "matrix note"}}, "api.add_note": {"json": {"text": "matrix note"}},
        "tickets.add_cc": {"data": {"cc": ""}}, "tagging.add": {"data": {"tag": ""}},
        "tagging.remove": {"data": {"tag": "matrix"}},
        "calls.submit": {"data": {**REGISTER, "process": "return_goods", "customer_name": "x", "phone": PHONE}},
        "calls.note": {"data": {"customer_name": "matrix", "phone": PHONE}},
        "api.create_ticket": {"json": {"process": "return_goods", "data": {}}},
        "bulk.act": {"data": {"action": "resume", "tickets": f"{world.number}:{world.version}"}},  # T is open
        "views.save": {"data": {"query": "status=open", "shared": "1"}},  # keeps it shared for the later calls
        # The call page's types: an empty form would offer none, and the later calls.submit would get 404.
        "admin.save_call_types": {"data": {"offer": ["return_goods"]}},
    }
    # A browser's form always sends something; an empty one crashes StepForm.submitted (reported separately).
    return bodies.get(endpoint, {"json": {}} if endpoint.startswith("api.") else {"data": {"matrix": "1"}})


LATE = ("publish", "retry", "rotate", "password", "toggle", "move", "step_action", "field_action", "import_document",
        "new", "add_step", "add_field", "basics")
LAST = ("delete", "revoke", "discard", "remove", "merge")


@dataclass(frozen=True)
class Call:
    endpoint: str
    method: str
    url: str

    @property
    def order(self) -> tuple:
        """GETs, then writes, then the destructive ones, logout at the very end."""
        view = self.endpoint.rpartition(".")[2]
        tier = 2 if view.startswith(LAST) else 1 if view.startswith(LATE) else 0
        return (self.endpoint == "auth.logout", self.method != "GET", tier, self.endpoint)


def calls(app, world: World) -> list[Call]:
    out = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            values = url_values(rule.endpoint, set(rule.arguments), world)
            url = url_for(rule.endpoint, **values, **QUERIES.get(rule.endpoint, {}))
            out += [Call(rule.endpoint, m, url) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(out, key=lambda call: call.order)


def login(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302 and "/login" not in response.location, f"{username} could not log in"


def request(client, call: Call, world: World, principal: str):
    headers = {"Accept-Language": "en"}
    username = PRINCIPALS[principal]
    if call.endpoint.startswith("api.") and username:
        headers["Authorization"] = f"Bearer {world.tokens[username]}"
    body = payload(call.endpoint, world) if call.method != "GET" else {}
    response = client.open(call.url, method=call.method, headers=headers, **body)
    response.close()  # a sent file stays open until then
    return response


def verdict(call: Call, principal: str, response) -> str | None:
    """What is wrong with the answer, or None when it is what the rule says."""
    rule, status = rule_for(call.endpoint), response.status_code
    to_login = status == 302 and "/login" in response.location
    if status >= 500:
        return f"{status} server error"
    if principal in rule.allowed:
        return None if status not in (401, 403, 404) and not to_login else f"refused with {status}"
    if principal == "anonymous":
        api = call.endpoint.startswith("api.")
        return None if (status == 401 if api else to_login) else f"got {status}, not {'401' if api else 'login'}"
    wanted = rule.status_for(principal)
    return None if status == wanted else f"expected {wanted} ({rule.name}), got {status}"


# --- Tests --------------------------------------------------------------------------------------------------------


def endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()}


def test_every_endpoint_is_classified(app):
    unclassified = sorted(e for e in endpoints(app) if rule_for(e) is None)
    assert unclassified == [], "add these endpoints to EXPECTED with who may use them"
    stale = sorted(set(EXPECTED) - endpoints(app))
    assert stale == [], "EXPECTED names endpoints the app no longer has"


def test_the_world_has_the_relations_the_table_assumes(app, world_of):
    """The table is written by hand; check its sets against the engine, so neither drifts silently."""
    world = world_of()
    with app.app_context(), lzdb.database.connection_context():
        ticket = engine.load(world.number)
        people = {p: User.get(User.username == u) for p, u in PRINCIPALS.items() if u}
        assert {p for p, u in people.items() if can_read(u, ticket)} == READERS
        assert {p for p, u in people.items() if can_act(u, ticket)} == ACTORS
        assert {p for p, u in people.items() if tags.may_tag(u, ticket)} == TAGGER.allowed
        assert {p for p, u in people.items() if customer_visible(u, ticket.customer_id)} == CUSTOMER_VIEWERS
        assert ticket.step == "warehouse" and ticket.creator.username == "agent"


RELATIONS = {  # principal -> its row of the visibility table in docs/visibility.md
    "admin": "admin", "creator": "creator", "assignee": "current handler", "cc": "CC'd",
    "supervisor": "supervisor chain of the current handler", "chief": "supervisor chain of the current handler",
    **dict.fromkeys(("colleague", "other_team", "unrelated_supervisor"),
                    "anyone else (colleague, other team, unrelated supervisor)"),
}


def test_the_matrix_follows_the_visibility_table(app, world_of):
    """docs/visibility.md's table, row by row: who reads T, and the fields each principal sees of it."""
    world, rows = world_of(), visibility_table()
    with app.app_context(), lzdb.database.connection_context():
        ticket = engine.load(world.number)
        for principal, relation in RELATIONS.items():
            user, (reads, steps) = User.get(User.username == PRINCIPALS[principal]), rows[relation]
            assert (principal in READERS) is reads, principal
            if reads:
                assert visible_fields(user, ticket) == fields_of_steps(ticket, user, steps), principal


@pytest.mark.parametrize("principal", list(PRINCIPALS))
def test_every_url_answers_each_principal_as_designed(app, client, world_of, principal):
    world = world_of()
    if PRINCIPALS[principal]:
        login(client, PRINCIPALS[principal])
    wrong = []
    for call in calls(app, world):
        problem = verdict(call, principal, request(client, call, world, principal))
        if problem:
            wrong.append(f"{call.method} {call.url} [{call.endpoint}] as {principal}: {problem}")
    assert not wrong, "\n" + "\n".join(wrong)
