"""The canary crawl (issue 16): what a principal may not see never reaches them, on any path, and nothing is a 500.

The world is ``tests/canary.py``'s: the permission matrix's ten principals and
six tickets whose every string-holding value is a unique canary. For each
principal the crawl computes the canaries they must never receive
(``canary.forbidden_for``: ``access.visible_fields`` per ticket they may read,
capped by issue 16's rules that a CC and a closing never widen it; every canary
of a ticket they may not read; other people's notifications; customers they may
not see), then fetches every GET URL of ``ROUTES`` with real ids (pages, API,
CSV and XLSX, report groupings, searches) and the error answers of
``error_requests``, as that principal, and fails on any forbidden canary in a
body and on any 5xx. A separate "customer" principal opens the signed progress
and rating links. Outputs that are not HTTP answers are checked against the
rule their module documents: webhook payloads (``workflows.subscribers.webhooks``: metadata
and ``x-public`` fields) and the customer's queued e-mails (``workflows.subscribers.mail``:
number, status, step, process, link, the customer's name). A field with readers (``x-readers``,
``canary.READERS``) reaches its readers only, on every one of these paths, whatever else its
reader's part in the ticket, or its ``x-public``, would give.

The live preview of computed fields (``POST /tickets/NUMBER/preview`` for every ticket, ``POST
/call/preview`` for the canary process) is posted by every principal with the step's editable fields
holding what the ticket stores (``preview_requests``): its answers are checked like every other, so a
computed copy of a field (``canary.COPIES``) reaches only those who may see that field.

``ROUTES`` names every endpoint of the url map: how to build its URLs, or why it
is not fetched. A new endpoint fails ``test_every_endpoint_is_in_the_crawl``
until it is added there.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from urllib.parse import urlencode

from canary import (
    CODE,
    Canary,
    CanaryWorld,
    build_canary_world,
    customer_may_see,
    describe,
    forbidden_for,
    leaks,
    webhook_may_carry,
    world_tickets,
)
from flask import url_for
from test_permission_matrix import PRINCIPALS, QUERIES, login, url_values, world_factory

from formbuilder.forms import PRESENT
from workflows.processes import documents as docs
from workflows.storage import db as lzdb
from workflows.storage.models import EmailMessage, RobotDelivery, Ticket, WebhookDelivery
from workflows.tickets import engine

EN = {"Accept-Language": "en"}
SCOPES = ("mine", "team", "all")
GROUPS = ("day", "week", "month", "agent", "department", "process", "step")
URLs = Callable[[CanaryWorld], list[str]]


def numbers(cw: CanaryWorld) -> list[str]:
    """Every ticket, readable or not: a refusal must carry nothing either."""
    return [*cw.numbers.values(), cw.matrix.number, cw.matrix.closed]


def each(pattern: str, values: Callable[[CanaryWorld], list]) -> URLs:
    return lambda cw: [pattern.format(v) for v in values(cw)]


def fixed(*urls: str) -> URLs:
    return lambda cw: list(urls)


def query(path: str, *variants: dict) -> URLs:
    return lambda cw: [f"{path}?{urlencode(v)}" for v in variants]


def keys(cw: CanaryWorld) -> list[str]:
    return [*cw.keys.values(), cw.matrix.key, cw.matrix.loose_key]


def customer_ids(cw: CanaryWorld) -> list[int]:
    return [*cw.customers.values(), cw.matrix.customer_id]


def searches(cw: CanaryWorld) -> list[dict]:
    """Search by each canary customer's phone (W's names two customers' tickets: W's and fin_lead's X)."""
    return [{"scope": s, "status": "", "q": phone} for s in SCOPES for phone in cw.phones.values()]


def lists(extra: dict) -> list[dict]:
    """Each scope, any status, all processes, the canary process alone (its field columns), return-goods alone."""
    return [{"scope": s, "status": "", **extra, **t} for s in SCOPES for t in ({}, {"type": CODE},
                                                                              {"type": "return_goods"})]


def reports(path: str) -> URLs:
    """Every grouping, both duration bases, and the filters a drill-down sets (type, agent, department, tag)."""
    filters = [{"type": CODE}, {"agent": "wh1"}, {"department": "warehouse"}, {"tag": "matrix"}, {"channel": "phone"}]
    variants = [{"group": g, "basis": b} for g in GROUPS for b in ("created", "closed")] + filters
    return lambda cw: [f"{path}?{urlencode(v)}" for v in variants]


def columns(cw: CanaryWorld) -> list[dict]:
    """Every field of the canary process as a list column (issue 21), 16 a page: a cell shows a field only where
    its reader may see it on that ticket, so no canary may reach a list page through a column."""
    keys = [f"f.{k}" for k in docs.latest_version(CODE).document["schema"]["properties"]]
    return [{"scope": s, "status": "", "cols": ",".join(keys[i:i + 16])} for s in SCOPES
            for i in range(0, len(keys), 16)]


def home(cw: CanaryWorld) -> list[str]:
    return [f"/?{urlencode(v)}" for v in lists({}) + searches(cw) + columns(cw)]


def exports(ext: str) -> URLs:
    return lambda cw: [f"/tickets/export.{ext}?{urlencode(v)}" for v in lists({}) + searches(cw)]


def api_list(cw: CanaryWorld) -> list[str]:
    variants = [{"scope": s, "status": ""} for s in SCOPES] + [{"scope": s, "process": CODE} for s in SCOPES]
    return [f"/api/v1/tickets?{urlencode(v)}" for v in variants + [
        {"scope": s, "q": p} for s in SCOPES for p in cw.phones.values()]]


def calls(cw: CanaryWorld) -> list[str]:
    return ["/call"] + [f"/call?{urlencode({'phone': p, 'process': CODE})}" for p in cw.phones.values()]


def notification_ids(cw: CanaryWorld) -> list[int]:
    return [*cw.notifications.values(), cw.matrix.notification_id]


def article_numbers(cw: CanaryWorld) -> list[str]:
    """Every article of the canary world (one per status and visibility) and the matrix world's public one."""
    return [*cw.articles.values(), cw.matrix.ids["article_number"]]


MATRIX = "matrix"  # the URL the permission matrix builds from its world (admin pages, processes, tokens)
POST_ONLY = "POST only (a write): the permission matrix checks who may; error bodies are in error_requests"
WRITES = "POST/PATCH only (a write of admin or customer data, no ticket data in the answer)"
PREVIEW = "POST only (the live preview, no write): preview_requests, every ticket and the call page, every principal"
ROUTES: dict[str, URLs | str] = {
    # Pages
    "home.index": home, "tickets.detail": each("/tickets/{}", numbers),
    "tickets.download": each("/attachments/{}", keys),
    "notes.mentions": lambda cw: [f"/tickets/{n}/mentions?q={q}" for n in numbers(cw) for q in ("", "w", "c")],
    "calls.register": calls, "customers.detail": each("/customers/{}", customer_ids),
    "calls.suggest": lambda cw: [f"/call/suggest?{urlencode({'phone': p, 'process': CODE, 'q': q})}"
                                 for p in cw.phones.values() for q in ("", "CANARY")],
    "exports.tickets_csv": exports("csv"), "exports.tickets_xlsx": exports("xlsx"),
    "reports.index": reports("/reports"), "reports.export_csv": reports("/reports/export.csv"),
    "reports.export_xlsx": reports("/reports/export.xlsx"),
    "inbox.index": fixed("/inbox", "/inbox?show=unread", "/inbox?show=all"), "profile.index": fixed("/profile/"),
    "live.poll": lambda cw: ["/live?inbox=1&list=", "/live?list=status%3D%26sort%3Ddue", "/live?list=scope%3Dteam"]
    + [f"/live?ticket={n}" for n in numbers(cw)],  # the stamps live.js polls (docs/live.md)
    "webform.webform": fixed(f"/forms/{CODE}", "/forms/return_goods"),
    "public.progress": "signed link: fetched, and an empty reply posted, by the customer principal (crawl_customer)",
    "public.rate": "signed link: fetched by the customer principal (crawl_customer)",
    # The help pages (no login): published public articles only, whoever asks (web/help.py)
    "help.index": fixed("/help"), "help.category": fixed("/help/c/returns", "/help/c/internal", "/help/c/nothing"),
    "help.search": query("/help/search", {"q": "CANARY"}, {"q": "退货"}, {"q": "运费"}, {"q": ""}),
    "help.suggest": query("/help/suggest", {"text": "CANARY 退货 运费"}, {"text": "CANARY"}, {"text": ""}),
    "help.article": each("/help/{}", article_numbers), "help.vote": POST_ONLY,
    # Knowledge base (issue 23): articles hold no ticket data (source_ticket is never shown on a page or the API)
    "kb.index": fixed("/kb", "/kb?q=CANARY", "/kb?status=draft", "/kb?q=%E9%80%80%E8%B4%A7"),
    "kb.new": fixed("/kb/new"), "kb.read": MATRIX, "kb.edit": MATRIX, "kb.download": MATRIX,
    "kb.submit": POST_ONLY, "kb.publish": POST_ONLY, "kb.archive": POST_ONLY, "kb.upload": POST_ONLY,
    "api.list_articles": fixed("/api/v1/articles", "/api/v1/articles?q=CANARY", "/api/v1/articles?status=draft"),
    "api.get_article": MATRIX, "api.article_versions": MATRIX, "api.create_article": WRITES,
    "api.edit_article": WRITES, "api.submit_article": WRITES, "api.publish_article": WRITES,
    "api.archive_article": WRITES,
    # Problem insight (issue 23): supervisors' and admins' heat map, spikes and dwell (web/insight.py)
    "reports.insight": fixed("/reports/insight", f"/reports/insight?type={CODE}"), "reports.watch_field": POST_ONLY,
    # Suggestions while typing and closing with a solution (issue 23, web/suggest.py)
    "suggest.suggestions": lambda cw: [f"/suggest?{urlencode({'text': t, 'ticket': n})}"
                                       for n in ("", *numbers(cw)) for t in ("", "CANARY")],
    "suggest.report": fixed("/reports/solutions"), "suggest.choose": POST_ONLY, "suggest.draft": POST_ONLY,
    "health.healthz": fixed("/healthz"), "auth.login": fixed("/login"), "api_docs.docs": fixed("/api/docs"),
    "i18n.switch": fixed("/lang/en"),
    # API
    "api.get_ticket": each("/api/v1/tickets/{}", numbers), "api.notes": each("/api/v1/tickets/{}/notes", numbers),
    "api.list_tickets": api_list, "api.customer": each("/api/v1/customers/{}", customer_ids),
    "api.lookup": lambda cw: [f"/api/v1/customers?phone={p}" for p in cw.phones.values()],
    "api.download": each("/api/v1/attachments/{}", keys),
    "api.notifications": fixed("/api/v1/notifications", "/api/v1/notifications?unread=1"),
    "api.openapi": fixed("/api/v1/openapi.json"), "api.processes": fixed("/api/v1/processes"),
    "api.process": fixed(f"/api/v1/processes/{CODE}", "/api/v1/processes/return_goods"),
    "api.versions": fixed(f"/api/v1/processes/{CODE}/versions"),
    "api.export_version": fixed(f"/api/v1/processes/{CODE}/versions/1"),
    "api.dictionaries": fixed("/api/v1/dictionaries"), "api.dictionary": fixed("/api/v1/dictionaries/product"),
    "api.calendars": fixed("/api/v1/calendars"), "api.calendar": fixed("/api/v1/calendars/cn_workdays"),
    # Writes: their answers are covered where they can hold ticket data (error_requests)
    "tickets.act": POST_ONLY, "api.act": POST_ONLY, "tickets.note": POST_ONLY, "api.add_note": POST_ONLY,
    "tickets.add_cc": POST_ONLY, "tagging.add": POST_ONLY, "tagging.remove": POST_ONLY, "calls.submit": POST_ONLY,
    "calls.note": POST_ONLY,  # the call as a note: answers a redirect, or the call page with what was posted
    "notes.upload": POST_ONLY,  # a note's pasted file: answers its key, name and Markdown, no ticket data
    "bulk.act": POST_ONLY,  # its result page names the tickets and the engine's reasons only
    "views.create": WRITES, "views.rename": WRITES, "views.save": WRITES, "views.delete": WRITES,  # saved views
    "api.create_ticket": POST_ONLY, "api.upload": POST_ONLY, "api.token": "POST only: answers a token, no data",
    "auth.logout": "POST only: logs the crawler out", "inbox.mark_read": POST_ONLY, "inbox.mark_all_read": POST_ONLY,
    "api.mark_read": POST_ONLY, "api.mark_all_read": POST_ONLY, "profile.issue": WRITES, "profile.revoke": WRITES,
    "profile.change_password": WRITES, "customers.edit": WRITES, "customers.remove_phone": WRITES,
    "customers.merge": WRITES, "api.edit": WRITES, "api.put_dictionary": WRITES, "api.put_draft": WRITES,
    "api.put_calendar": WRITES,
    "api.publish": WRITES, "api.check": WRITES,
    "calls.preview_call": PREVIEW, "tickets.preview_step": PREVIEW,
    "static": "static files", "admin.static": "static files",
    # The audit log (a read-only Flask-Admin ModelView): its list with a search, a filter, a sort and a page; its
    # other GET routes as the matrix builds them (the disabled ones redirect), its POST routes refuse every write.
    "audit.index": query("/admin/audit/", {}, {"search": "matrix"}, {"flt0_0": "matrix.seed"}, {"sort": 0, "desc": 1},
                         {"page": 1}),
    "audit.detail": MATRIX, "audit.create_view": MATRIX, "audit.edit_view": MATRIX, "audit.details_view": MATRIX,
    "audit.export": MATRIX, "audit.ajax_lookup": MATRIX, "audit.delete_view": POST_ONLY,
    "audit.action_view": POST_ONLY, "audit.ajax_update": POST_ONLY,
}
# Flask-Admin views: their GETs as the matrix builds them, for every principal
ADMIN_BLUEPRINTS = ("admin", "audit", "calendars", "departments", "dictionaries", "mail", "mailboxes", "mailintake",
                    "processes", "robots", "rules", "tags", "tokens", "users", "webhooks")


def route_for(endpoint: str) -> URLs | str | None:
    if endpoint in ROUTES:
        return ROUTES[endpoint]
    return MATRIX if endpoint.partition(".")[0] in ADMIN_BLUEPRINTS and endpoint != "admin.static" else None


def get_urls(app, cw: CanaryWorld) -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET the crawl makes; the language switch last (it changes the session)."""
    out = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            how = route_for(rule.endpoint)
            if "GET" not in rule.methods or (isinstance(how, str) and how != MATRIX):
                continue
            if how == MATRIX:
                values = url_values(rule.endpoint, set(rule.arguments), cw.matrix)
                out.append((rule.endpoint, url_for(rule.endpoint, **values, **QUERIES.get(rule.endpoint, {}))))
            else:
                out += [(rule.endpoint, url) for url in how(cw)]
    return sorted(set(out), key=lambda pair: (pair[0] == "i18n.switch", pair))


# --- Requests and bodies ------------------------------------------------------------------------------------------


def text_of(response) -> str:
    """The body as text: an XLSX (a zip) is unzipped and its XML parts joined."""
    data = response.get_data()
    response.close()
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                return "\n".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
        except zipfile.BadZipFile:
            pass
    return data.decode("utf-8", "replace")


def headers_for(cw: CanaryWorld, username: str | None, url: str) -> dict:
    if username and url.startswith("/api/"):
        return {**EN, "Authorization": f"Bearer {cw.matrix.tokens[username]}"}
    return EN


def error_requests(cw: CanaryWorld, versions: dict[str, int]) -> list[tuple[str, str, dict]]:
    """Actions that must fail, each as a page form and as API JSON; their answers (and flashes) are checked too.

    Every advance also sends ``as_described: maybe`` (no such option) and no next
    handler, so none can succeed whoever sends it. Hidden field: W's
    ``approve_note`` (shown at approval only), as a wrong guess and as its value; so is
    ``ledger_note``, editable at W's step but read by finance only.
    """
    w, c = cw.numbers["W"], cw.numbers["C"]
    hidden = next(x.text for x in cw.canaries if x.ticket == "W" and x.field == "approve_note")
    ledger = next(x.text for x in cw.canaries if x.ticket == "W" and x.field == "ledger_note")
    base = {"action": "advance", "transition": "finance", "as_described": "maybe"}
    cases = [{**base, "version": versions["W"], "approve_note": "WRONG-GUESS"},
             {**base, "version": versions["W"], "approve_note": hidden},
             {**base, "version": versions["W"], "ledger_note": "WRONG-GUESS"},
             {**base, "version": versions["W"], "ledger_note": ledger},
             {**base, "version": versions["W"], "received_at": "not-a-time"},
             {**base, "version": versions["W"] - 1}, {**base, "version": versions["W"], "transition": "nowhere"}]
    out = [("POST", f"/tickets/{w}/act", {"data": case}) for case in cases]
    for case in cases:
        payload = {k: v for k, v in case.items() if k in ("action", "transition", "version")}
        payload["data"] = {k: v for k, v in case.items() if k not in payload}
        out.append(("POST", f"/api/v1/tickets/{w}/actions", {"json": payload}))
    reopen = {"action": "reopen", "version": versions["C"] - 1}
    out += [("POST", f"/tickets/{c}/act", {"data": reopen}), ("POST", f"/api/v1/tickets/{c}/actions", {"json": reopen}),
            ("POST", f"/api/v1/tickets/{w}/notes", {"json": {"text": ""}}), ("GET", "/api/v1/tickets/NOPE", {})]
    return out


def form_value(value: object) -> str | list[str] | None:
    """A stored value as a step form sends it: text, a number as text, a ticked box, a list of codes."""
    if isinstance(value, bool):
        return "y" if value else None
    if isinstance(value, int | float | str):
        return str(value)
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def preview_form(version, step: str, data: dict) -> dict:
    """The step's editable fields (by the document, readers or not) holding what ``data`` stores, files left out
    as the page leaves them out; a closed ticket (no step) sends nothing."""
    if step not in {s["key"] for s in version.document["steps"]}:
        return {}
    spec = docs.compiled(version, step).spec
    names = [k for k, mode in spec.modes(data).items()
             if mode in ("editable", "required") and spec.fields[k].type.name != "attachment"]
    return {k: v for k in names if (v := form_value(data.get(k))) is not None} | {PRESENT: names}


def preview_requests(cw: CanaryWorld) -> list[tuple[str, str, dict]]:
    """The live preview of every ticket's step form, and of the canary process's call page (a new ticket)."""
    out = []
    for number in numbers(cw):
        ticket = engine.load(number)
        out.append(("POST", f"/tickets/{number}/preview",
                    {"data": preview_form(ticket.process_version, ticket.step, ticket.data)}))
    version = docs.get_version(CODE)
    return out + [("POST", f"/call/preview?process={CODE}",
                   {"data": preview_form(version, version.document["steps"][0]["key"], {})})]


class Crawl:
    """One principal's requests; ``problems`` collects every leak and 5xx, one line each."""

    def __init__(self, client, cw: CanaryWorld, principal: str, forbidden: list[Canary], tickets: dict):
        self.client, self.cw, self.principal, self.forbidden, self.tickets = client, cw, principal, forbidden, tickets
        self.username, self.problems, self.requests = PRINCIPALS.get(principal), [], 0
        self.seen: set[str] = set()  # every canary text found, allowed or not: the crawl reached the data
        self.previewed: set[str] = set()  # those found in a live preview's answer

    def fetch(self, method: str, url: str, endpoint: str, **body) -> str:
        response = self.client.open(url, method=method, headers=headers_for(self.cw, self.username, url),
                                    follow_redirects=method == "POST" and not url.startswith("/api/"), **body)
        self.requests += 1
        text, where = text_of(response), f"{self.principal}: {method} {url} [{endpoint}]"
        if response.status_code >= 500:
            self.problems.append(f"{where}: {response.status_code} server error")
        self.problems += [f"{where}: leaks {describe(c, self.tickets)}" for c in leaks(text, self.forbidden, url)]
        self.seen |= {c.text for c in self.cw.canaries if c.text in text}
        return text

    def run(self, app, versions: dict[str, int], previews: list[tuple[str, str, dict]]) -> None:
        for endpoint, url in get_urls(app, self.cw):
            self.fetch("GET", url, endpoint)
        for method, url, body in error_requests(self.cw, versions):
            self.fetch(method, url, "error-body", **body)
        for method, url, body in previews:
            text = self.fetch(method, url, "preview", **body)
            self.previewed |= {c.text for c in self.cw.canaries if c.text in text}


def crawl_customer(client, cw: CanaryWorld, tickets: dict) -> list[str]:
    """The customer's own links: each shows its ticket's number, their name and x-public fields, nothing else."""
    problems, shown = [], ""
    for label in cw.numbers:
        urls = [f"/p/{cw.progress[label]}"] + ([f"/rate/{cw.rating[label]}"] if label in cw.rating else [])
        forbidden = [c for c in cw.canaries if not customer_may_see(cw, label, c)]
        for url, method in [(u, "GET") for u in urls] + [(urls[0], "POST")]:  # POST: an empty reply, refused
            response = client.open(url, method=method, data={"reply": ""} if method == "POST" else None, headers=EN)
            text = text_of(response)
            shown += text
            if response.status_code >= 500:
                problems.append(f"customer of {label}: {method} {url}: {response.status_code}")
            problems += [f"customer of {label}: {method} {url}: leaks {describe(c, tickets)}"
                         for c in leaks(text, forbidden)]
    public = [c.text for c in cw.canaries if c.field == "public_note"]
    return problems + ([] if all(p in shown for p in public) else ["customer: an x-public field is not shown"])


def outbound_problems(cw: CanaryWorld, tickets: dict) -> list[str]:
    """Webhook payloads and queued customer e-mails, each against the rule its module documents."""
    labels = {t.id: label for label, t in tickets.items()}
    by_number = {t.number: label for label, t in tickets.items()}
    problems = [] if WebhookDelivery.select().count() and EmailMessage.select().count() else [
        "no webhook delivery or no customer e-mail was queued: nothing to check"]
    for delivery in WebhookDelivery.select().order_by(WebhookDelivery.id):
        label = next((lb for n, lb in by_number.items() if f'"number":"{n}"' in delivery.payload), None)
        forbidden = [c for c in cw.canaries if not webhook_may_carry(label, c)]
        problems += [f"webhook {delivery.event} #{delivery.id} of {label}: carries {describe(c, tickets)}"
                     for c in leaks(delivery.payload, forbidden)]
    problems += [] if RobotDelivery.select().count() else ["no robot delivery was queued: nothing to check"]
    for delivery in RobotDelivery.select().order_by(RobotDelivery.id):
        label = labels.get(delivery.ticket_id)
        forbidden = [c for c in cw.canaries if not (c.ticket == label and c.kind == "number")]
        problems += [f"robot {delivery.kind} #{delivery.id} of {label}: carries {describe(c, tickets)}"
                     for c in leaks(delivery.payload, forbidden)]
    for message in EmailMessage.select().order_by(EmailMessage.id):
        label = labels.get(message.ticket_id)
        forbidden = [c for c in cw.canaries if not customer_may_see(cw, label, c)]
        problems += [f"e-mail #{message.id} to {message.to_addr} ({message.event}) of {label}: "
                     f"carries {describe(c, tickets)}" for c in leaks(f"{message.subject}\n{message.body}", forbidden)]
    return problems


def hidden_field_answers_alike(client, cw: CanaryWorld, versions: dict[str, int]) -> list[str]:
    """Issue 16, defect 2: a hidden field's wrong guess and its stored value get the same answer (as wh1, API).

    ``ledger_note`` is editable at W's step but wh1 may not read it: refused alike, and as the hidden field is.
    """
    w, problems, refusals = cw.numbers["W"], [], []
    for key in ("approve_note", "ledger_note"):
        stored = next(x.text for x in cw.canaries if x.ticket == "W" and x.field == key)
        answers = []
        for guess in ("WRONG-GUESS", stored):
            payload = {"action": "advance", "transition": "finance", "version": versions["W"],
                       "data": {"as_described": "maybe", key: guess}}
            response = client.post(f"/api/v1/tickets/{w}/actions", json=payload,
                                   headers=headers_for(cw, "wh1", "/api/"))
            answers.append((response.status_code, (response.get_json() or {}).get("fields", {}).get(key)))
        problems += [] if answers[0] == answers[1] else [f"wh1: hidden-field oracle on W.{key}: {answers}"]
        refusals.append(answers[0])
    return problems + ([] if refusals[0] == refusals[1] else [f"wh1: W.ledger_note not refused as hidden: {refusals}"])


def searchable(cw: CanaryWorld) -> list[Canary]:
    """Canaries the search index holds as unique words: free text, file names, notes and comments, customer names
    (not a file's bytes; dates and numbers are no unique words)."""
    return [c for c in cw.canaries if c.kind in ("field", "file", "ticket", "customer")
            and c.text.startswith("CANARY-") and "PHOTOBYTES" not in c.text]


def found_by_search(client, cw: CanaryWorld, username: str, scope: str, text: str) -> tuple[set[str], set[str]]:
    """The canary tickets the workspace list and the API list show for ``q=text`` (any status)."""
    query = urlencode({"scope": scope, "status": "", "q": text})
    page = client.get(f"/?{query}", headers=EN).get_data(as_text=True)
    api = client.get(f"/api/v1/tickets?{query}", headers=headers_for(cw, username, "/api/")).get_json() or {}
    numbers = set(cw.numbers.values())
    return ({n for n in numbers if f'href="/tickets/{n}"' in page},
            {item["number"] for item in api.get("items", []) if item["number"] in numbers})


def search_problems(client, cw: CanaryWorld, principal: str, forbidden: list[Canary], tickets: dict) -> list[str]:
    """Issue 21: full-text search (workspace ``?q=``, API ``?q=``) never finds a ticket by a canary its reader may
    not see (a hidden field, a reader-only field, a ticket they may not read); the admin finds each by every one.

    The principal's widest list is asked (all, team, or their own): a query's text is echoed in the search box, so
    these answers are checked by the tickets they list, not by the canary's text in the body.
    """
    from workflows.reporting.queries import tabs
    from workflows.storage.models import User

    username = PRINCIPALS[principal]
    with lzdb.database.connection_context():
        scope = tabs(User.get(User.username == username))[-1]
    hidden, problems = {c.text for c in forbidden}, []
    for c in (c for c in searchable(cw) if principal == "admin" or c.text in hidden):
        page, api = found_by_search(client, cw, username, scope, c.text)
        number = tickets[c.ticket].number
        for where, found in (("workspace", page), ("API", api)):
            if c.text in hidden and number in found:
                problems.append(f"{principal}: {where} search finds {c.ticket} by {describe(c, tickets)}")
            elif principal == "admin" and number not in found:
                problems.append(f"admin: {where} search misses {c.ticket} by {describe(c, tickets)}")
    return problems


# --- Tests --------------------------------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_crawl(app):
    """A route the crawl neither fetches nor excludes with a reason fails here: add it to ROUTES."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(e for e in endpoints if route_for(e) is None) == [], "add these endpoints to ROUTES"
    assert sorted(set(ROUTES) - endpoints) == [], "ROUTES names endpoints the app no longer has"


def reached(crawls: dict[str, Crawl], cw: CanaryWorld) -> list[str]:
    """Positive controls: the admin's crawl met every field canary, wh1's met W's warehouse note, fin1's (a reader
    who handled W's finance step) W's ledger note; the previews computed the copies: W's ledger note for the
    admin, W's warehouse note for wh1 (who holds W), F's ledger note for fin1 (who holds F)."""
    fields = {c.text for c in cw.canaries if c.kind in ("field", "file")}
    canary = {(c.ticket, c.field): c.text for c in cw.canaries if c.field in ("warehouse_note", "ledger_note")}
    note, ledger = canary["W", "warehouse_note"], canary["W", "ledger_note"]
    missing = sorted(fields - crawls["admin"].seen) + ([] if note in crawls["assignee"].seen else [note])
    missing += [] if ledger in crawls["other_team"].seen else [ledger]
    previewed = [("admin", ledger), ("assignee", note), ("other_team", canary["F", "ledger_note"])]
    public_article = next(c.text for c in cw.canaries if c.kind == "article" and c.field == "public")
    missing += [] if public_article in crawls["anonymous"].seen else [public_article]  # the help pages were read
    return [f"the crawl never met {text}: it does not reach the data" for text in missing] + [
        f"{who}'s previews never computed {text}" for who, text in previewed if text not in crawls[who].previewed]


def snapshot(cw: CanaryWorld) -> dict[str, int]:
    return {label: Ticket.get(Ticket.number == n).version for label, n in cw.numbers.items()}


def test_no_canary_reaches_a_principal_who_may_not_see_it(app, client, monkeypatch):
    started = time.monotonic()
    world_factory(app, monkeypatch)  # each password hashed once per session
    cw = build_canary_world(app)
    with app.app_context(), lzdb.database.connection_context():
        tickets, versions = world_tickets(cw), snapshot(cw)
        forbidden = {p: forbidden_for(cw, u) for p, u in PRINCIPALS.items()}
        problems, previews = outbound_problems(cw, tickets), preview_requests(cw)
    crawls = {}
    for principal, username in PRINCIPALS.items():
        client.post("/logout")
        if username:
            login(client, username)
        crawls[principal] = Crawl(client, cw, principal, forbidden[principal], tickets)
        crawls[principal].run(app, versions, previews)
        problems += crawls[principal].problems
        problems += search_problems(client, cw, principal, forbidden[principal], tickets) if username else []
    client.post("/logout")
    problems += crawl_customer(client, cw, tickets) + hidden_field_answers_alike(client, cw, versions)
    problems += reached(crawls, cw)
    requests = sum(crawl.requests for crawl in crawls.values())
    with app.app_context(), lzdb.database.connection_context():
        assert snapshot(cw) == versions, "an error request changed a ticket"
        assert engine.load(cw.numbers["W"]).step == "warehouse"
    print(f"\ncanary crawl: {requests} requests, {len(cw.canaries)} canaries, {time.monotonic() - started:.1f} s")
    assert not problems, f"\n{len(problems)} problems:\n" + "\n".join(problems)
