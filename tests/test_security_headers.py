"""Every page carries the strict Content-Security-Policy, and no page needs what it forbids.

The walk GETs every argument-free route of the URL map as an admin, a supervisor,
an agent and a warehouse handler, plus the pages that need an argument (a ticket,
a customer, the admin editor's pages, the customer's links), and reads each HTML
body with a real HTML parser: no inline ``<script>`` (JSON data blocks aside), no
``on...=`` handler, no ``javascript:`` URL, no ``style=`` attribute.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from conftest import example
from test_engine import advance, fresh, new_ticket
from test_lists import login

from web.common.headers import CONTENT_SECURITY_POLICY
from workflows.processes import documents as docs
from workflows.storage.models import AuditEntry, Customer
from workflows.tickets import feedback, tags

SECRET = "test-secret"  # the app fixture's SECRET_KEY
EXPECTED = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY"}
REFERRERS = ("same-origin", "no-referrer")  # the customer's signed links keep their stricter no-referrer
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}
PEOPLE = ("admin", "sup", "agent", "handler")  # the handler: whoever the warehouse step picked
ADMIN_PAGES = ["/admin/processes/return_goods/edit", "/admin/processes/return_goods/fields/defect",
               "/admin/processes/return_goods/add-field/text", "/admin/processes/return_goods/steps/approve",
               "/admin/processes/return_goods/matrix", "/admin/processes/return_goods/json",
               "/admin/processes/return_goods/versions", "/admin/processes/return_goods/diff?a=1&b=2",
               "/admin/processes/return_goods/draft/register", "/admin/processes/return_goods/1/approve",
               "/admin/dictionaries/product/", "/admin/users/agent/", "/admin/departments/service/",
               "/admin/mail/templates/created"]


class InlineCode(HTMLParser):
    """Collects what the policy would block: inline scripts, handlers, javascript: URLs, style attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and not found.get("src") and (found.get("type") or "").lower() != "application/json":
            self.problems.append(f"inline <script> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}=...> at line {self.getpos()[0]}")
            if name in URL_ATTRIBUTES and "".join((value or "").split()).lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}> at line {self.getpos()[0]}")

    handle_startendtag = handle_starttag


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


def check_page(client, url: str, expect_ok: bool = True) -> bool:
    """GET ``url``; when the answer is HTML, assert the headers and a body free of inline code."""
    response = client.get(url)
    assert response.status_code < 500, f"{url}: {response.status_code}"
    if expect_ok:
        assert response.status_code == 200, f"{url}: {response.status_code}"
    if response.mimetype != "text/html":
        return False
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{url}: {name} is {response.headers.get(name)!r}"
    assert response.headers.get("Referrer-Policy") in REFERRERS, url
    assert inline_code(response.get_data(as_text=True)) == [], url
    return True


def argument_free_pages(app) -> list[str]:
    """Every GET route without arguments, except the JSON API and the data files."""
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    return sorted(r.rule for r in rules if not r.rule.startswith("/api/v1") and not r.rule.endswith((".csv", ".xlsx")))


@pytest.fixture
def tickets(world):
    """A ticket at the warehouse step with a customer and a tag, and a closed one (it shows the customer's links)."""
    doc = example("return_goods.process.json")
    doc["web_form"] = {"enabled": True, "title": "在线退货", "intro": "请填写"}
    docs.save_process(doc, publish=True)
    tags.create_tag(world["admin"], "加急", "#d9534f")
    opened = new_ticket(world, customer={"phone": "13900000001", "name": "李女士"})
    tags.add(opened, "加急", world["admin"])
    advance(world, fresh(opened).assignee.username, opened, {"approval": "approve"}, transition="warehouse")
    closed = new_ticket(world)
    advance(world, fresh(closed).assignee.username, closed, {"approval": "reject", "reject_reason": "过期"},
            transition="$end")
    return fresh(opened), fresh(closed)


def test_the_policy_is_strict_and_has_no_unsafe_inline():
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "style-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "object-src 'none'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_the_parser_finds_every_kind_of_inline_code():
    html = ('<script>x()</script><script src="/s.js"></script><script type="application/json">{}</script>'
            '<input onfocus="this.select()"><a href=" JavaScript:go()">a</a><p style="color:red">'
            '<svg><rect onload="x()"/></svg><p data-x="onclick=1">onclick=alert(1)</p>')
    assert len(inline_code(html)) == 5


@pytest.mark.parametrize("username", PEOPLE)
def test_every_page_a_person_can_open_has_the_policy_and_no_inline_code(app, client, tickets, username):
    opened, closed = tickets
    login(client, opened.assignee.username if username == "handler" else username)
    checked = [url for url in argument_free_pages(app) if check_page(client, url, expect_ok=False)]
    assert "/" in checked and "/inbox" in checked and "/profile/" in checked
    assert client.get("/").headers["Referrer-Policy"] == "same-origin"
    assert check_page(client, f"/tickets/{opened.number}")
    if username != "handler":
        assert check_page(client, f"/tickets/{closed.number}") and check_page(client, f"/customers/{Customer.get().id}")
    if username == "admin":
        assert {"/admin/", "/admin/processes/", "/admin/tags/", "/reports", "/call"} <= set(checked)
        for url in [*ADMIN_PAGES, f"/admin/audit/{AuditEntry.select().first().id}"]:
            assert check_page(client, url)


def test_the_public_pages_have_the_policy_and_no_inline_code(app, tickets):
    _, closed = tickets
    anonymous = app.test_client()
    for url in ("/login", "/api/docs", "/forms/return_goods", f"/p/{feedback.progress_token(closed, SECRET)}",
                f"/rate/{feedback.rating_link_token(closed, SECRET)}"):
        assert check_page(anonymous, url)


def test_data_files_get_nosniff_but_no_page_policy(client, tickets):
    login(client, "admin")
    response = client.get("/tickets/export.csv?scope=all")
    assert response.status_code == 200 and response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers
    api = client.get("/api/v1/openapi.json")
    assert api.headers["X-Content-Type-Options"] == "nosniff" and "X-Frame-Options" not in api.headers
