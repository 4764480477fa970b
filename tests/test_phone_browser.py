"""Every workspace page on a 390 x 844 phone (issue 21): no sideways scrolling, the primary action on the first screen.

One test per role (agent, supervisor, a warehouse handler, the admin, and the customer without a login), each
walking its pages in Debian's Chromium at 390 x 844 CSS pixels, on both databases. For every page
``document.documentElement.scrollWidth <= clientWidth`` (nothing wider than the screen: wide tables scroll
inside their own box) and the page's primary action lies inside the first viewport, without scrolling:

- list ``/``: the search box (the first thing a handler reaches for; the rows follow it);
- ticket ``/tickets/<n>``: where the reader acts, the first action of the step's sticky action bar (at 主管审批 no
  action is offered until the decision is chosen: the decision's first choice, then the approve button); a reader
  who may not act there gets the page heading (ticket number, step and status) instead;
- inbox ``/inbox``: the first notification's ticket link;
- call ``/call``: the submit button (kept at the bottom of the screen while the form scrolls);
- customer ``/customers/<id>``: the first ticket link of the customer's history;
- reports ``/reports``: the filter button;
- profile ``/profile``: the token name box;
- the customer's progress page ``/p/<token>``: the reply box; the web form ``/forms/<code>``: its first field;
- for the admin also the admin home (its "new process" button), the process list and the process editor (their
  title): Flask-Admin's pages share the look and must fit too.

The English menu is checked folded and unfolded (the menu button of page.js). Screenshots of the first screen go
to ``tests/artifacts/phone-<role>-<page>-<db>.png``. The tickets are made through the engine.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, browser_login, example
from playwright.sync_api import expect

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Customer, User
from workflows.tickets import engine, feedback

ARTIFACTS = ROOT / "tests" / "artifacts"
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
REGISTER = {"order_no": "JD-20261101-000123456789", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "冰箱门关不严，压缩机噪音大，客户要求上门取件并全额退款。"}
FITS_JS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
# The element's box lies inside the first screen (scrolled to the top), and nothing covers its centre.
IN_FIRST_VIEWPORT_JS = """el => {
  const r = el.getBoundingClientRect();
  const inside = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
    && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return inside && !!hit && (el === hit || el.contains(hit) || hit.contains(el) || el.control === hit);
}"""


def make_tickets() -> dict:
    """Three tickets made through the engine: one at 主管审批, two at 仓库收货 (one per warehouse handler), and
    the progress link of the first. Returns the numbers by who acts on them, and the customer's id."""
    agent = User.get(User.username == "agent")
    customer = {"phone": "13900000021", "name": "王先生"}
    made = [engine.create(agent, "return_goods", dict(REGISTER), customer=customer) for _ in range(3)]
    for ticket in made[1:]:
        ticket = engine.load(ticket.number)
        engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version, data={"approval": "approve"},
                   transition="warehouse")
    tickets = {engine.load(t.number).assignee.username: t.number for t in made}
    first = engine.load(made[0].number)
    return {"tickets": tickets, "approve": first.number, "approver": first.assignee.username,
            "customer": Customer.get(Customer.phone == "+86" + customer["phone"]).id,
            "progress": feedback.progress_token(first)}


@pytest.fixture
def world21(app, seeded, users):
    """The demo organisation, the return-goods process with its web form on, and :func:`make_tickets`."""
    doc = example("return_goods.process.json")
    doc["web_form"] = {"enabled": True, "title": "在线退货申请", "intro": "请填写订单信息"}
    with app.app_context(), database.connection_context():
        docs.save_process(doc, publish=True)
        return make_tickets()


@pytest.fixture
def phone(world21, live_server, browser, request):
    """``phone(username or None, locale)``: a page on a 390 x 844 screen, logged in unless ``None``.

    JavaScript errors fail the test."""
    contexts, errors = [], []

    def open_page(username: str | None, locale: str = "zh-CN"):
        context = browser.new_context(locale=locale, base_url=live_server, viewport=PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(f"{username}: {error}")))
        contexts.append(context)
        return browser_login(context, username) if username else context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def db_id(request) -> str:
    return request.node.callspec.params.get("db_url", "db")


def check(page, name: str, url: str, primary: str, shots: str) -> dict:
    """Open ``url`` and measure it: the page's width against the screen's, and where ``primary`` lies."""
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.evaluate("() => window.scrollTo(0, 0)")
    widths = page.evaluate(FITS_JS)
    target = page.locator(primary).locator("visible=true").first
    expect(target).to_be_attached()
    shown = target.evaluate(IN_FIRST_VIEWPORT_JS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone-{shots}-{name}.png"))
    return {"page": name, "url": url, "scroll": widths[0], "client": widths[1], "primary": primary, "shown": shown}


def walk(page, pages: list[tuple[str, str, str]], shots: str) -> None:
    """Check every page, print one line each, and fail naming every page that scrolls sideways or hides its action."""
    results = [check(page, name, url, primary, shots) for name, url, primary in pages]
    for r in results:
        print(f"{shots} {r['page']:<10} scrollWidth={r['scroll']} clientWidth={r['client']} "
              f"primary-visible={r['shown']}")
    assert [r for r in results if r["scroll"] > r["client"]] == []
    assert [r for r in results if not r["shown"]] == []


ACTION = "#lz-step-form .lz-actionbar button"
TICKET_HEADING = "h1"


def workspace(world: dict, username: str, ticket: str, acting: bool, reports: bool, call: bool) -> list:
    """(name, URL, primary action) of the workspace pages ``username`` has."""
    pages = [("list", "/", "input[name=q]"),
             ("ticket", f"/tickets/{ticket}", ACTION if acting else TICKET_HEADING),
             ("inbox", "/inbox", ".lz-inbox a, .lz-empty"),
             ("customer", f"/customers/{world['customer']}", ".lz-tickets a, .lz-empty"),
             ("profile", "/profile", "input[name=name]")]
    if call:
        pages.append(("call", "/call?phone=13900000021", "#lz-call-form button[type=submit]"))
    if reports:
        pages.append(("reports", "/reports", ".lz-filters button[type=submit]"))
    return pages


@pytest.mark.parametrize("role", ["agent", "supervisor", "wh1", "admin"])
def test_every_workspace_page_fits_a_phone(phone, world21, role, request):
    world = world21
    shots = f"{role}-{db_id(request)}"
    if role == "supervisor":  # the approver acts at 主管审批; the ticket page opens on the step's decision
        page = phone(world["approver"])
        pages = workspace(world, world["approver"], world["approve"], acting=True, reports=True, call=True)
        pages[1] = ("ticket", pages[1][1], "#lz-step-form input[name=approval]")
    elif role == "wh1":
        page = phone("wh1")
        pages = workspace(world, "wh1", world["tickets"]["wh1"], acting=True, reports=False, call=False)
    else:
        page = phone(role)
        pages = workspace(world, role, world["approve"], acting=False, reports=role == "admin", call=True)
    if role == "admin":  # the admin's own pages share the look: its home, the process list, the editor
        pages += [("admin", "/admin/", ".lz-admin-home a.btn-primary"), ("processes", "/admin/processes/", "h1"),
                  ("editor", "/admin/processes/return_goods/edit", "h1")]
    walk(page, pages, shots)
    if role == "supervisor":
        page.goto(f"/tickets/{world['approve']}")
        page.get_by_label("同意退货", exact=True).check()
        bar = page.locator(ACTION).locator("visible=true").first
        expect(bar).to_have_text("同意退货, 转仓库")
        assert bar.evaluate(IN_FIRST_VIEWPORT_JS), "the approve button is not on the first screen"
        page.screenshot(path=str(ARTIFACTS / f"phone-{shots}-ticket-approve.png"))


def test_the_english_menu_folds_on_a_phone(phone, world21, request):
    """The English navigation (the widest) folds behind its menu button, unfolds with a tap and folds on Escape."""
    page = phone("admin", locale="en-US")
    page.goto("/")
    page.goto(page.locator("a[lang=en]").first.get_attribute("href"))  # the language switch, as a person would
    page.goto("/")
    assert page.evaluate("() => document.documentElement.lang") == "en"
    toggler = page.get_by_role("button", name="Menu")
    expect(toggler).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Reports")).to_be_hidden()
    widths = page.evaluate(FITS_JS)
    assert widths[0] <= widths[1], widths
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Reports")).to_be_visible()
    widths = page.evaluate(FITS_JS)
    assert widths[0] <= widths[1], widths
    page.screenshot(path=str(ARTIFACTS / f"phone-admin-en-menu-{db_id(request)}.png"))
    page.keyboard.press("Escape")
    expect(toggler).to_have_attribute("aria-expanded", "false")
    expect(toggler).to_be_focused()


def test_the_customer_pages_fit_a_phone(phone, world21, request):
    """No login: the progress page of a ticket and the public web form."""
    page = phone(None)
    walk(page, [("progress", f"/p/{world21['progress']}", "textarea, h1"),
                ("webform", "/forms/return_goods", "#lz-webform input:not([type=hidden]), #lz-webform select")],
         f"customer-{db_id(request)}")


def test_a_long_unbroken_value_wraps_instead_of_widening_the_page(phone, world21):
    """A ticket whose order number is one long word still fits: the read-only value wraps as text."""
    page = phone("wh1")
    page.goto(f"/tickets/{world21['tickets']['wh1']}")
    value = page.locator("fieldset[data-lz-field=order_no] .lz-readonly-text")
    expect(value).to_have_text(re.compile(r"JD-20261101"))
    # text, not a greyed-out input
    expect(page.locator("fieldset[data-lz-field=order_no] input[name=order_no]")).to_be_hidden()
    widths = page.evaluate(FITS_JS)
    assert widths[0] <= widths[1], widths
