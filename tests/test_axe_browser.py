"""axe-core on every page per role (issue 21): no serious or critical violation, and the page's bones.

axe-core (npm, vendored by scripts/vendor.py as static/vendor/axe.min.js) runs in Debian's Chromium on:

- the workspace pages of the agent, a supervisor, a warehouse handler and the admin (list, ticket, inbox, call,
  customer, reports, profile), with tickets made through the engine (tests/test_phone_browser.make_tickets);
- the customer's pages without a login: the progress page, the rating page of a closed ticket, the web form and
  the login page;
- every admin page the admin menu links to, and the editors those pages link to (one per kind of link: the
  numbers in a path are not told apart), crawled from /admin/.

Besides axe (serious and critical impacts fail; the counts per page are printed) each page must have a ``lang``
on <html>, exactly one ``h1``, one ``main`` landmark and a ``header`` or ``nav`` landmark: axe rates those
"moderate", and issue 21 asks for them on every page. Runs on both databases.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from conftest import browser_login
from designer_meter import axe_violations
from test_phone_browser import world21  # noqa: F401  (the fixture: demo people, the web form, tickets)

from workflows.storage.db import database
from workflows.storage.models import User
from workflows.tickets import engine, feedback

TIMEOUT_MS = 10_000
BONES_JS = """() => ({
  lang: document.documentElement.lang,
  h1: document.querySelectorAll("h1").length,
  main: document.querySelectorAll("main, [role=main]").length,
  banner: document.querySelectorAll("header, nav, [role=banner], [role=navigation]").length,
})"""
# Links the crawl does not follow: they change state, download a file, or leave the admin.
SKIP = re.compile(r"logout|delete|/export|\.csv|\.xlsx|download|/static/|/api/|\.json$|/live")
ADMIN_LIMIT = 80  # pages at most: the menu's about 20, the editors they lead to
PER_PAGE = 2  # a list of 20 users is one editor, twice
EDITORS = [f"/admin/processes/return_goods/{page}"
           for page in ("design", "edit", "matrix", "rules", "versions", "json")]


@pytest.fixture
def visit(world21, live_server, browser):  # noqa: F811
    """``visit(username or None)``: a logged-in (or anonymous) zh-CN page at desktop size; JS errors fail."""
    contexts, errors = [], []

    def open_page(username: str | None):
        context = browser.new_context(locale="zh-CN", base_url=live_server)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(f"{username}: {error}")))
        contexts.append(context)
        return browser_login(context, username) if username else context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def audit(page, urls: list[str], who: str) -> None:
    """axe and the bones of each URL; one line per page printed, every failing page named at once."""
    failures = []
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status == 200, (who, url, response and response.status)
        found, bones = axe_violations(page), page.evaluate(BONES_JS)
        print(f"axe {who:<10} {url:<48} serious+critical={sum(len(v['nodes']) for v in found)} "
              f"rules={[v['id'] for v in found]} h1={bones['h1']} main={bones['main']} lang={bones['lang']}")
        if found or not bones["lang"] or bones["h1"] != 1 or bones["main"] != 1 or not bones["banner"]:
            failures.append((url, found, bones))
            print(f"    {found}")
    print(f"axe {who}: {len(urls)} pages, {len(failures)} failing")
    assert failures == []


def workspace_urls(world: dict, ticket: str, call: bool, reports: bool) -> list[str]:
    urls = ["/", f"/tickets/{ticket}", "/inbox", f"/customers/{world['customer']}", "/profile"]
    return urls + (["/call?phone=13900000021"] if call else []) + (["/reports"] if reports else [])


@pytest.mark.parametrize("role", ["agent", "supervisor", "wh1", "admin"])
def test_workspace_pages_have_no_serious_violation(app, visit, world21, role):  # noqa: F811
    world = world21
    if role == "supervisor":
        urls = workspace_urls(world, world["approve"], call=True, reports=True)
        page = visit(world["approver"])
    elif role == "wh1":
        urls = workspace_urls(world, world["tickets"]["wh1"], call=False, reports=False)
        page = visit("wh1")
    else:
        urls = workspace_urls(world, world["approve"], call=True, reports=role == "admin")
        page = visit(role)
    if role == "admin":  # a closed ticket's page too: the rating and progress links, no step form
        urls.append(f"/tickets/{closed(app, world)[0]}")
    audit(page, urls, role)


def closed(app, world: dict) -> tuple[str, str]:
    """A ticket refused at 主管审批 (so closed); its number and rating token."""
    with app.app_context(), database.connection_context():
        ticket = engine.create(User.get(User.username == "agent"), "return_goods",
                               {"order_no": "JD-9", "source": "phone", "category": "fr", "model": "fr-200",
                                "purchase_date": "2026-11-01", "defect": "漏水"},
                               customer={"phone": "13900000022", "name": "李女士"})
        ticket = engine.load(ticket.number)
        engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version,
                   data={"approval": "reject", "reject_reason": "超过退货期"}, transition="$end")
        return ticket.number, feedback.rating_link_token(engine.load(ticket.number))


def test_customer_pages_have_no_serious_violation(app, visit, world21):  # noqa: F811
    _, rating = closed(app, world21)
    audit(visit(None), [f"/p/{world21['progress']}", f"/rate/{rating}", "/forms/return_goods", "/login"],
          "customer")


def admin_links(page, url: str) -> list[str]:
    """The same-origin /admin/ GET links of ``url`` (menu and body), as paths with their query."""
    page.goto(url)
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    origin = "/".join(page.url.split("/")[:3])
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if href.startswith(origin) and parts.path.startswith("/admin/") and not SKIP.search(href):
            paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


def crawl_admin(page) -> list[str]:
    """The admin menu's pages, then up to ``PER_PAGE`` new pages each links to (numbers folded: a process's
    version 2 and 3 are one page), then the process editors that the designer links to."""
    menu = list(dict.fromkeys(admin_links(page, "/admin/")))
    seen, urls = set(), []

    def add(url: str) -> bool:
        shape = re.sub(r"\d+", "N", url.split("?")[0])
        if shape in seen or len(urls) >= ADMIN_LIMIT:
            return False
        seen.add(shape)
        urls.append(url)
        return True

    for url in ["/admin/"] + menu:
        add(url)
    for item in menu:
        added = 0
        for link in admin_links(page, item):
            added += added < PER_PAGE and add(link)
    for link in EDITORS:
        add(link)
    return urls


def test_admin_pages_have_no_serious_violation(visit, world21):  # noqa: F811
    page = visit("admin")
    urls = crawl_admin(page)
    assert len(urls) >= 15, urls  # the menu alone has more: the crawl found the admin
    audit(page, urls, "admin-ui")
