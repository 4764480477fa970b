"""The agents' and handlers' pages in a real browser, used as people use them.

Every test types and clicks in Debian's Chromium (through Playwright), one
browser context per person, and finds controls as a screen reader would: by
their visible label (``get_by_label``) and buttons by their visible text
(``get_by_role("button", name=...)``). Nothing calls the API or the engine
behind the pages; who got a ticket is read from the ticket page (``.lz-assignee``).
The CSRF test at the end is a plain Flask test client with CSRF protection on.

Runs once per database (SQLite and PostgreSQL), like every ``app`` test.
Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PASSWORD, ROOT, browser_login
from playwright.sync_api import expect

from app import create_app
from workflows.storage.db import database
from workflows.storage.models import Ticket

ARTIFACTS = ROOT / "tests" / "artifacts"
PHONE = "13912345678"
REQUIRED_MESSAGES = ("此项为必填项。", "This field is required.")
NUMBER = re.compile(r"^TH\d{12}$")
CLOSED = "已完结"
TIMEOUT_MS = 10_000  # a missing control fails in seconds, not Playwright's default 30 s
CHOICE_GROUPS = "fieldset[data-lz-type=radio]:visible, fieldset[data-lz-type=checkboxes]:visible"
# Every visible form control needs a visible <label>; every action must be a <button> with visible text.
AUDIT_JS = """() => {
  const shown = el => el.checkVisibility();
  const problems = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (shown(el) && ![...el.labels].some(l => shown(l) && l.innerText.trim()))
      problems.push(`${el.tagName.toLowerCase()} name=${el.name} has no visible label`);
  }
  for (const el of document.querySelectorAll("a.btn, [role=button], input[type=submit], input[type=button]")) {
    if (shown(el)) problems.push(`action that is not a <button>: ${el.outerHTML.slice(0, 100)}`);
  }
  for (const el of document.querySelectorAll("button")) {
    if (shown(el) && !el.innerText.trim()) problems.push(`button without text: ${el.outerHTML.slice(0, 100)}`);
  }
  return problems;
}"""


# ---------------------------------------------------------------- helpers


def snap(page, name: str) -> Path:
    """Save a full-page screenshot as ``tests/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def label(text: str) -> re.Pattern:
    """A field's label: its title, then the red ``*`` when it is required.

    Playwright matches a <label>'s whole text, so the read-only badge the label
    holds (hidden unless the field is read-only) may follow.
    """
    return re.compile(rf"^\s*{re.escape(text)}\s*(\*\s*)?(只读|read-only)?\s*$")


def field(page, title: str):
    """The form control labelled ``title`` (a step field, with or without its required mark)."""
    return page.get_by_label(label(title))


def button(page, name: str):
    """A real <button> named by its visible text."""
    return page.get_by_role("button", name=name, exact=True)


def click_and_wait(page, name: str) -> None:
    """Click the button ``name`` and wait for the page it submits to."""
    with page.expect_navigation():
        button(page, name).click()


def login(context, username: str):
    """A new page of ``context``, logged in as ``username`` through the login form."""
    return browser_login(context, username)


def open_ticket(page, number: str):
    """Open the ticket page of ``number``; returns the HTTP response."""
    response = page.goto(f"/tickets/{number}")
    assert response is not None
    return response


def assignee(page) -> str:
    """The username of the ticket's handler, as the ticket page marks it (it shows their name)."""
    return page.locator(".lz-assignee").get_attribute("data-username")


def expect_step(page, name: str) -> None:
    """The ticket page shows the ticket at the step called ``name`` (or ``已完结``)."""
    expect(page.locator(".lz-step")).to_have_text(name)


def shown_fields(page, form: str = "#lz-step-form") -> list[str]:
    """The field keys the page renders inside ``form``, in page order."""
    return page.locator(f"{form} fieldset[data-lz-field]").evaluate_all(
        "boxes => boxes.map(b => b.getAttribute('data-lz-field'))")


def step_fields(process_doc: dict, key: str) -> list[str]:
    """The fields the process document shows at step ``key`` (every mode but a fixed ``hidden``)."""
    step = next(s for s in process_doc["steps"] if s["key"] == key)
    return [name for name, mode in step["fields"].items() if mode != "hidden"]


def fill_step(page, *, text: dict | None = None, choose: dict | None = None, check: tuple = ()) -> None:
    """Fill a step form as a person does, in order: type ``text``, pick ``choose`` options, tick ``check``.

    Keys are the fields' visible labels; ``choose`` values are the visible option texts.
    """
    for title, value in (text or {}).items():
        field(page, title).fill(value)
    for title, option in (choose or {}).items():
        field(page, title).select_option(label=option)
    for title in check:
        page.get_by_label(label(title)).check()


def register_call(page, *, customer: str, order_no: str, defect: str, purchase_date: str = "2025-03-14") -> str:
    """Register a return-goods call for ``PHONE`` on /call; returns the new ticket's number."""
    page.goto(f"/call?phone={PHONE}")
    page.get_by_label("客户姓名", exact=True).fill(customer)
    fill_step(page, text={"订单号": order_no, "购买时间": purchase_date, "瑕疵描述": defect},
              choose={"来源": "电话", "商品类别": "冰箱", "商品型号": "200 升"})
    click_and_wait(page, "提交工单")
    link = page.get_by_role("status").get_by_role("link", name=NUMBER)
    expect(link).to_have_count(1)
    number = link.inner_text().strip()
    assert link.get_attribute("href").endswith(f"/tickets/{number}")
    return number


def approve(page) -> None:
    """At 主管审批: agree to the return and send the ticket to the warehouse."""
    page.get_by_label("同意退货", exact=True).check()
    expect(button(page, "不同意退货, 结束")).to_be_hidden()
    click_and_wait(page, "同意退货, 转仓库")
    expect_step(page, "仓库收货")


def reject(page, reason: str) -> None:
    """At 主管审批: refuse the return with ``reason``, which closes the ticket."""
    page.get_by_label("不同意退货", exact=True).check()
    fill_step(page, text={"不同意理由": reason})
    click_and_wait(page, "不同意退货, 结束")
    expect_step(page, CLOSED)
    expect(page.locator("#lz-step-form")).to_have_count(0)


def csrf_token(page) -> str:
    """The CSRF token the current page carries (every logged-in page has one in its log-out form)."""
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


def audit(page, process_doc: dict) -> None:
    """Every control has a visible label, choice groups are named by their field, actions are buttons."""
    assert page.evaluate(AUDIT_JS) == [], page.url
    titles = process_doc["schema"]["properties"]
    for name in page.locator(CHOICE_GROUPS).evaluate_all("boxes => boxes.map(b => b.dataset.lzField)"):
        expect(page.get_by_role("group", name=label(titles[name]["title"]))).to_be_visible()


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def suffix(request) -> str:
    """The database param (``sqlite``/``postgresql``), so the two runs keep apart screenshots."""
    return request.node.callspec.id


@pytest.fixture
def people(seeded, users, live_server, browser):
    """``people(username)``: a page in that person's own browser context (zh-CN), logged in.

    JavaScript errors on any of the pages fail the test.
    """
    yield from signed_in(browser, live_server)


def signed_in(browser, live_server):
    """The body of the ``people`` fixtures (here and in test_live_browser): contexts closed, page errors fail."""
    contexts, errors = [], []

    def sign_in(username: str):
        context = browser.new_context(locale="zh-CN", base_url=live_server)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(f"{username}: {error}")))
        return login(context, username)

    yield sign_in
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the pages: {errors}"


@pytest.fixture
def at_warehouse(people):
    """``at_warehouse(**call)``: a ticket registered by the agent and approved; returns (number, its handler's page)."""
    def make(**call):
        agent = people("agent")
        number = register_call(agent, **call)
        open_ticket(agent, number)
        supervisor = people(assignee(agent))
        open_ticket(supervisor, number)
        approve(supervisor)
        warehouse = people(assignee(supervisor))
        open_ticket(warehouse, number)
        return number, warehouse
    return make


# ---------------------------------------------------------------- the journey


def test_return_goods_journey(people, process_doc, suffix):
    """Agent registers two calls; A is rejected, B goes approve -> warehouse -> back -> finance -> done."""
    agent = people("agent")
    agent.goto(f"/call?phone={PHONE}")
    assert shown_fields(agent, "#lz-call-form") == step_fields(process_doc, "register")
    snap(agent, f"call-page-{suffix}")
    ticket_a = register_call(agent, customer="王先生", order_no="JD-1001", defect="冰箱门关不严")
    snap(agent, f"call-page-created-{suffix}")
    ticket_b = register_call(agent, customer="王先生", order_no="JD-1002", defect="压缩机噪音大")
    assert ticket_a != ticket_b

    # Ticket A: the supervisor refuses, and must give a reason.
    open_ticket(agent, ticket_a)
    expect_step(agent, "主管审批")
    approver_a = assignee(agent)
    supervisor = people(approver_a)
    open_ticket(supervisor, ticket_a)
    assert shown_fields(supervisor) == step_fields(process_doc, "approve")
    snap(supervisor, f"ticket-approve-{suffix}")
    supervisor.get_by_label("不同意退货", exact=True).check()
    expect(field(supervisor, "不同意理由")).to_be_visible()
    click_and_wait(supervisor, "不同意退货, 结束")
    reason = supervisor.locator("fieldset[data-lz-field=reject_reason]")
    expect(reason.locator(".lz-error")).to_be_visible()
    assert reason.locator(".lz-error").first.inner_text().strip() in REQUIRED_MESSAGES
    open_ticket(supervisor, ticket_a)
    expect_step(supervisor, "主管审批")
    assert assignee(supervisor) == approver_a
    reject(supervisor, "已超过七天无理由退货期限")
    snap(supervisor, f"ticket-closed-{suffix}")

    # Ticket B: approved, sent to the warehouse, returned, sent again.
    open_ticket(agent, ticket_b)
    approver_b = assignee(agent)
    supervisor_b = supervisor if approver_b == approver_a else people(approver_b)
    open_ticket(supervisor_b, ticket_b)
    assert shown_fields(supervisor_b) == step_fields(process_doc, "approve")
    approve(supervisor_b)
    storekeeper = assignee(supervisor_b)
    assert storekeeper in ("wh1", "wh2", "wh_lead")

    warehouse = people(storekeeper)
    open_ticket(warehouse, ticket_b)
    assert shown_fields(warehouse) == step_fields(process_doc, "warehouse")
    snap(warehouse, f"ticket-warehouse-{suffix}")
    returning = warehouse.get_by_label("退回原因", exact=True)
    button(warehouse, "退回上一步").click()  # no reason: the browser keeps the form
    assert returning.evaluate("el => el.validity.valueMissing") is True
    expect_step(warehouse, "仓库收货")
    returning.fill("订单号与包裹不符, 请主管核实")
    click_and_wait(warehouse, "退回上一步")
    expect_step(warehouse, "主管审批")
    assert assignee(warehouse) == approver_b

    open_ticket(supervisor_b, ticket_b)
    expect_step(supervisor_b, "主管审批")
    assert shown_fields(supervisor_b) == step_fields(process_doc, "approve")
    expect(supervisor_b.get_by_text("订单号与包裹不符, 请主管核实")).to_be_visible()
    expect(supervisor_b.get_by_label("同意退货", exact=True)).to_be_checked()
    approve(supervisor_b)
    returned_by, storekeeper = storekeeper, assignee(supervisor_b)
    warehouse = warehouse if storekeeper == returned_by else people(storekeeper)

    # Received; the sender picks the finance handler (forgetting to, at first).
    open_ticket(warehouse, ticket_b)
    assert shown_fields(warehouse) == step_fields(process_doc, "warehouse")
    fill_step(warehouse, text={"收到时间": "2025-03-20T10:30"}, check=("确定收到商品", "是"))
    click_and_wait(warehouse, "转财务退款")
    expect(warehouse.get_by_text(re.compile("请选择步骤 财务退款 的处理人"))).to_be_visible()
    expect(field(warehouse, "收到时间")).to_have_value("2025-03-20T10:30")
    expect(field(warehouse, "确定收到商品")).to_be_checked()
    expect(warehouse.get_by_label("是", exact=True)).to_be_checked()
    warehouse.get_by_label(re.compile(r"^下一步处理人")).select_option("fin2")
    click_and_wait(warehouse, "转财务退款")
    expect_step(warehouse, "财务退款")
    assert assignee(warehouse) == "fin2"

    finance = people("fin2")
    open_ticket(finance, ticket_b)
    assert shown_fields(finance) == step_fields(process_doc, "finance")
    fill_step(finance, text={"退款金额 (元)": "1999.00"}, check=("原路退回",))
    click_and_wait(finance, "已退款, 完结工单")
    expect_step(finance, CLOSED)
    expect(finance.locator("#lz-step-form")).to_have_count(0)

    # Everyone a ticket was assigned to finds it in their inbox.
    pages = {approver_a: supervisor, approver_b: supervisor_b, storekeeper: warehouse, "fin2": finance}
    told = {approver_a: {ticket_a}, approver_b: {ticket_b}, storekeeper: {ticket_b}, "fin2": {ticket_b}}
    if approver_a == approver_b:
        told[approver_a] = {ticket_a, ticket_b}
    for username, numbers in told.items():
        pages[username].goto("/inbox")
        for number in numbers:
            expect(pages[username].locator("main")).to_contain_text(number)
    snap(supervisor, f"inbox-supervisor-{suffix}")


def test_the_agent_hears_when_their_ticket_is_closed(people):
    """The agent who registered a ticket finds it in their inbox once a supervisor closed it."""
    agent = people("agent")
    number = register_call(agent, customer="孙女士", order_no="JD-3001", defect="外壳裂缝")
    open_ticket(agent, number)
    supervisor = people(assignee(agent))
    open_ticket(supervisor, number)
    reject(supervisor, "非质量问题")
    agent.goto("/inbox")
    expect(agent.locator("main")).to_contain_text(number)


def test_the_supervisor_is_told_the_ticket_came_back(people, at_warehouse):
    """A ticket returned to the supervisor reads as returned in their inbox, not as a new assignment."""
    number, warehouse = at_warehouse(customer="冯先生", order_no="JD-3101", defect="门封条脱落")
    warehouse.get_by_label("退回原因", exact=True).fill("包裹里没有商品")
    click_and_wait(warehouse, "退回上一步")
    supervisor = people(assignee(warehouse))
    supervisor.goto("/inbox")
    expect(supervisor.locator("main")).to_contain_text(re.compile(rf"{number}[^。]*退回"))


# ---------------------------------------------------------------- what the pages hold back


def test_fields_hidden_at_a_step_are_not_in_its_html(people):
    """At the warehouse step the page holds no refund field, no reject reason, no purchase date."""
    agent = people("agent")
    number = register_call(agent, customer="陈女士", order_no="JD-2001", defect="冷藏室不制冷",
                           purchase_date="2024-02-29")
    open_ticket(agent, number)
    supervisor = people(assignee(agent))
    open_ticket(supervisor, number)
    supervisor.get_by_label("不同意退货", exact=True).check()
    fill_step(supervisor, text={"不同意理由": "SECRET-REASON-7731"})  # typed, then changed their mind
    approve(supervisor)

    warehouse = people(assignee(supervisor))
    open_ticket(warehouse, number)
    expect(warehouse.locator("#lz-step-form")).to_be_visible()
    html = warehouse.content()
    for absent in ("refund_amount", "退款金额", "refund_channels", "退款方式", "reject_reason", "不同意理由",
                   "SECRET-REASON-7731", "purchase_date", "购买时间", "2024-02-29", "2024/02/29", "02/29/2024"):
        assert absent not in html, f"{absent!r} is in the warehouse step's HTML"
    assert "JD-2001" in html and "冷藏室不制冷" in html  # its read-only fields are there


def test_someone_who_is_not_the_assignee_cannot_act(people, process_doc):
    """The creator sees the ticket without actions; a handler elsewhere cannot read it; forged posts fail."""
    agent = people("agent")
    number = register_call(agent, customer="周先生", order_no="JD-4001", defect="灯不亮")
    open_ticket(agent, number)
    owner = assignee(agent)
    assert owner != "agent"
    supervisor = people(owner)
    open_ticket(supervisor, number)
    version = supervisor.locator("#lz-step-form input[name=version]").get_attribute("value")

    expect(agent.locator("#lz-step-form")).to_have_count(0)
    for action in ("退回上一步", "同意退货, 转仓库", "不同意退货, 结束"):
        expect(button(agent, action)).to_have_count(0)
    stranger = people("wh1")
    assert open_ticket(stranger, number).status == 403
    expect(stranger.locator("#lz-step-form")).to_have_count(0)
    stranger.goto("/inbox")  # a page of their own, for a valid CSRF token

    for page in (agent, stranger):
        forged = page.request.post(f"/tickets/{number}/act", max_redirects=0, form={
            "csrf_token": csrf_token(page), "version": version, "action": "advance", "transition": "warehouse",
            "approval": "approve", "lz_present": "approval"})
        # Refused outright (403), or sent back to the ticket with an error: either way it must not move.
        assert forged.status in (302, 303, 403), (forged.status, forged.text()[:500])

    open_ticket(supervisor, number)
    expect_step(supervisor, "主管审批")
    assert assignee(supervisor) == owner
    assert supervisor.locator("#lz-step-form input[name=version]").get_attribute("value") == version
    assert shown_fields(supervisor) == step_fields(process_doc, "approve")
    expect(supervisor.get_by_label("同意退货", exact=True)).not_to_be_checked()


def test_transfer_waits_for_a_chosen_person(at_warehouse):
    """转交 with a comment but nobody chosen must not hand the ticket to whoever the list shows first."""
    number, warehouse = at_warehouse(customer="郑先生", order_no="JD-8001", defect="把手松动")
    keeper = assignee(warehouse)
    warehouse.get_by_label("说明", exact=True).fill("请同事帮忙收货")
    button(warehouse, "转交").click()  # may post, or be stopped by the browser: wait for either
    warehouse.wait_for_load_state("networkidle")
    open_ticket(warehouse, number)
    assert assignee(warehouse) == keeper


# ---------------------------------------------------------------- labels, buttons, languages


def test_controls_have_labels_and_actions_are_buttons(people, process_doc, at_warehouse):
    """On the call page and the ticket pages every control is labelled and every action is a <button>."""
    agent = people("agent")
    agent.goto(f"/call?phone={PHONE}")
    audit(agent, process_doc)
    number, warehouse = at_warehouse(customer="钱先生", order_no="JD-9001", defect="异味")
    audit(warehouse, process_doc)
    open_ticket(agent, number)
    audit(agent, process_doc)


def test_the_ticket_page_in_english(people, suffix):
    """The header's English link switches the page, and the choice holds on the next pages."""
    agent = people("agent")
    number = register_call(agent, customer="Ms Li", order_no="JD-5001", defect="door rattles")
    open_ticket(agent, number)
    handler = people(assignee(agent))
    open_ticket(handler, number)
    expect(handler.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(button(handler, "退出登录")).to_be_visible()

    with handler.expect_navigation():
        handler.get_by_role("link", name="English", exact=True).click()
    assert handler.url.endswith(f"/tickets/{number}"), handler.url
    expect(handler.locator("html")).to_have_attribute("lang", "en")
    for heading in ("Timeline", "Details", "Other actions"):
        expect(handler.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(button(handler, "Return to previous step")).to_be_visible()
    expect(button(handler, "Log out")).to_be_visible()
    expect(handler.get_by_label("Reason for returning", exact=True)).to_be_visible()
    snap(handler, f"ticket-english-{suffix}")

    handler.goto("/inbox")
    expect(handler.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    other = handler.context.new_page()
    open_ticket(other, number)
    expect(other.get_by_role("heading", name="Timeline", exact=True)).to_be_visible()
    open_ticket(agent, number)
    expect(agent.locator("html")).to_have_attribute("lang", "zh-CN")  # another person's choice is their own

    with other.expect_navigation():
        other.get_by_role("link", name="中文", exact=True).click()
    expect(other.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(button(other, "退出登录")).to_be_visible()


def test_workspace_lists_my_tickets(people, suffix):
    """``/`` is the workspace: the supervisor sees the ticket assigned to them, as a link to it."""
    agent = people("agent")
    number = register_call(agent, customer="吴女士", order_no="JD-6001", defect="漏水")
    open_ticket(agent, number)
    supervisor = people(assignee(agent))
    supervisor.goto("/")
    snap(supervisor, f"workspace-supervisor-{suffix}")
    link = supervisor.get_by_role("link", name=number, exact=True)
    expect(link).to_be_visible()
    with supervisor.expect_navigation():
        link.click()
    expect_step(supervisor, "主管审批")


# ---------------------------------------------------------------- CSRF, without a browser


CALL = {"phone": PHONE, "customer_name": "王先生", "channel": "phone", "order_no": "JD-7001", "source": "phone",
        "category": "fr", "model": "fr-200", "purchase_date": "2025-03-14", "defect": "漏水",
        "transition": "approve"}


def _token(response) -> str:
    """The CSRF token in a page's HTML."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True)).group(1)


def _logged_in(app, username: str):
    """A test client logged in through the login form, token included."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": _token(client.get("/login"))})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def _step_of(response) -> str:
    """The step badge of a ticket page."""
    return re.search(r'lz-step">([^<]+)<', response.get_data(as_text=True)).group(1).strip()


def _ticket_count() -> int:
    with database.connection_context():
        return Ticket.select().count()


def test_posts_without_the_csrf_token_are_refused(seeded, users, db_url):
    """With CSRF protection on, /call and /tickets/NUMBER/act refuse a post that lacks the token."""
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    agent = _logged_in(app, "agent")
    refused = agent.post("/call?process=return_goods", data=CALL)
    assert refused.status_code == 400 and b"CSRF" in refused.data
    assert _ticket_count() == 0

    created = agent.post("/call?process=return_goods", data={**CALL, "csrf_token": _token(agent.get("/call"))})
    assert created.status_code == 302, created.get_data(as_text=True)[:500]
    number = re.search(r"created=(\w+)", created.headers["Location"]).group(1)
    owner = re.search(r'data-username="([^"]+)"', agent.get(f"/tickets/{number}").get_data(as_text=True))[1]

    supervisor = _logged_in(app, owner)
    page = supervisor.get(f"/tickets/{number}")
    version = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True)).group(1)
    advance = {"action": "advance", "version": version, "approval": "approve", "transition": "warehouse"}
    refused = supervisor.post(f"/tickets/{number}/act", data=advance)
    assert refused.status_code == 400 and b"CSRF" in refused.data
    assert _step_of(supervisor.get(f"/tickets/{number}")) == "主管审批"

    done = supervisor.post(f"/tickets/{number}/act", data={**advance, "csrf_token": _token(page)})
    assert done.status_code == 302
    assert _step_of(supervisor.get(f"/tickets/{number}")) == "仓库收货"
