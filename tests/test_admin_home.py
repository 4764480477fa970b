"""The admin home (``/admin/``): each process with its version, unpublished changes, open tickets and the
draft's problems, the links into the designer and out of the admin; admins only; on both databases."""

from __future__ import annotations

import re

import pytest
from conftest import example
from helpers import logged_in
from test_engine import REGISTER

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Process, Ticket
from workflows.tickets import engine

EN = {"Accept-Language": "en"}


def row(html: str, code: str) -> str:
    """The home table's row of process ``code``."""
    start = html.index(f'<tr data-lz-process="{code}">')
    return html[start:html.index("</tr>", start)]


def cell(html: str, code: str, name: str) -> str:
    found = re.search(rf'<td class="lz-home-{name}">(.*?)</td>', row(html, code), re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


@pytest.fixture
def home(app, users, seeded):
    """Three return-goods tickets (one closed), a draft with problems and a changed draft; the admin's client."""
    with database.connection_context():
        made = [engine.create(users["agent"], "return_goods", REGISTER) for _ in range(3)]
        Ticket.update(status="closed").where(Ticket.id == made[0].id).execute()
        broken = {**example("return_goods.process.json"), "code": "broken", "name": "坏流程"}
        broken["steps"][0]["transitions"][0]["to"] = "nowhere"
        docs.save_draft(broken)
    return logged_in(app, "admin")


def test_each_process_shows_version_changes_open_tickets_and_problems(home):
    html = home.get("/admin/", headers=EN).get_data(as_text=True)
    assert [cell(html, "return_goods", n) for n in ("version", "changed", "open", "problems")] == ["v1", "no", "2", "0"]
    with database.connection_context():
        problems = len(docs.check(Process.get(Process.code == "broken").draft))
    assert problems > 0
    assert [cell(html, "broken", n) for n in ("version", "changed", "open", "problems")] == \
        ["not published", "yes", "0", str(problems)]
    assert "坏流程" in row(html, "broken") and '<code class="text-muted">broken</code>' in row(html, "broken")


def test_a_draft_edited_after_publishing_is_marked_changed(home):
    with database.connection_context():
        docs.save_draft({**example("return_goods.process.json"), "name": "退货申请（改）"})
    assert cell(home.get("/admin/", headers=EN).get_data(as_text=True), "return_goods", "changed") == "yes"


def test_the_call_page_column_follows_the_admins_choice(home):
    assert cell(home.get("/admin/", headers=EN).get_data(as_text=True), "return_goods", "call") == "yes, position 1"
    assert home.post("/admin/call-types", data={"offer": []}).status_code == 302
    assert cell(home.get("/admin/", headers=EN).get_data(as_text=True), "return_goods", "call") == "no"


def test_the_home_links_to_the_designer_the_workspace_the_call_page_and_logout(app, home):
    html = home.get("/admin/", headers=EN).get_data(as_text=True)
    designer = "processes.designer" if "processes.designer" in app.view_functions else "processes.editor"
    with app.test_request_context():
        from flask import url_for

        design = url_for(designer, code="broken")
    assert f'href="{design}"' in row(html, "broken") and f'href="{design}" aria-label="' in row(html, "broken")
    main = html[html.index("<main"):html.index("</main>")]
    for href in ("/admin/processes/new", "/admin/call-types", "/", "/call"):
        assert f'href="{href}"' in main
    assert re.search(r'<form class="form-inline lz-logout" method="post" action="/logout">\s*'
                     r'<input type="hidden" name="csrf_token"', main)
    assert '<h1 id="lz-admin-home-title"' in html and 'aria-labelledby="lz-admin-processes"' in html


@pytest.mark.parametrize("url", ["/admin/", "/admin/processes/", "/admin/tags/", "/admin/call-types"])
def test_every_admin_page_leads_back_to_the_workspace_and_out(home, url):
    html = home.get(url, headers=EN).get_data(as_text=True)
    nav = html[html.index('id="admin-navbar-collapse"'):html.index("</nav>")]
    assert 'href="/">Back to the workspace</a>' in nav and 'action="/logout"' in nav and "csrf_token" in nav


def test_the_home_keeps_the_strict_policy(home):
    response = home.get("/admin/")
    html = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html and " onclick=" not in html


def test_admin_strings_are_escaped(home):
    with database.connection_context():
        docs.save_draft({**example("return_goods.process.json"), "code": "xss", "name": "<img src=x onerror=1>"})
    html = home.get("/admin/").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=1&gt;" in html


def test_the_logout_button_logs_out(home):
    assert home.post("/logout").status_code == 302
    assert home.get("/admin/").status_code == 302


@pytest.mark.parametrize("username", ["agent", "supervisor", "wh1"])
def test_non_admins_are_refused(app, users, seeded, username):
    assert logged_in(app, username).get("/admin/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, users):
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
