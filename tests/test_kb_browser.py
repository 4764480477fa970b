"""Suggestions and closing with a solution in Chromium (issue 23's must-show journey), on both databases.

An agent on their ticket's page types what the customer reported; the panel (static/js/suggest.js, asking
``/suggest`` as they type) shows a matching article and a similar closed ticket; Alt+K inserts the article's
link into the note box; closing is refused until a solution is chosen, then the ticket closes with that article.
The call page's panel follows the typing too. The pages' CSP refuses ``wait_for_function``: conditions are
polled with ``page.evaluate`` or left to ``expect``.
"""

from __future__ import annotations

import pytest
from conftest import browser_login
from playwright.sync_api import expect

from workflows.kb import articles, solutions
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Ticket, TicketEvent, TicketSolution, User
from workflows.tickets import engine

TIMEOUT_MS = 10_000
SUPPORT = {
    "format": 1, "code": "kb_support", "name": "咨询", "number_prefix": "ZX",
    "schema": {"type": "object", "properties": {
        "summary": {"type": "string", "title": "问题描述", "x-widget": "textarea", "maxLength": 2000},
        "answer": {"type": "string", "title": "处理结果", "x-widget": "textarea", "maxLength": 2000}}},
    "steps": [
        {"key": "register", "name": "登记", "fields": {"summary": "required"}, "assignee": {"type": "creator"},
         "transitions": [{"to": "handle", "label": "提交"}]},
        {"key": "handle", "name": "处理", "fields": {"summary": "readonly", "answer": "editable"},
         "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "解决并关闭"}],
         "x-solution": "required"}],
}


@pytest.fixture
def journey(app, users):
    """A published article, a closed ticket solved with it, and the agent's open ticket at the last step."""
    with app.app_context(), database.connection_context():
        docs.save_process(SUPPORT, publish=True)
        admin, agent = User.get(User.username == "admin"), User.get(User.username == "agent")
        article = articles.create(admin, title="冰箱不制冷的处理办法", body="先检查电源，再更换温控器。")
        articles.submit(admin, article.number)
        articles.publish(admin, article.number)
        old = engine.create(agent, "kb_support", {"summary": "冰箱不制冷，已更换温控器"})
        solutions.choose(agent, old.number, article.number)
        engine.act(agent, old.number, "close", version=engine.load(old.number).version)
        now = engine.create(agent, "kb_support", {"summary": "客户来电咨询"})
        return {"article": article.number, "link": articles.link(article), "old": old.number, "now": now.number}


@pytest.fixture
def agent(browser, live_server, journey):
    context = browser.new_context(locale="zh-CN", base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    errors = []
    context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
    yield browser_login(context, "agent")
    context.close()
    assert errors == [], errors


def asked(page, after: int = 0) -> int:
    """The panel's answers so far (suggest.js counts them); waits for one after ``after``."""
    for _ in range(200):
        count = int(page.evaluate("() => document.getElementById('lz-kb-suggestions').dataset.lzAsked || 0"))
        if count > after:
            return count
        page.wait_for_timeout(50)
    raise AssertionError("the panel never answered")


def stored(number: str) -> tuple[str, str | None, list[str]]:
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        chosen = TicketSolution.get_or_none(TicketSolution.ticket == ticket)
        notes = [e.comment for e in TicketEvent.select().where(TicketEvent.ticket == ticket,
                                                                TicketEvent.action == "note")]
        return ticket.status, chosen.article.number if chosen else None, notes


def test_the_agent_finds_the_article_inserts_its_link_and_closes_with_it(agent, journey):
    agent.goto(f"/tickets/{journey['now']}")
    panel = agent.locator("#lz-kb-suggestions")
    first = asked(agent)  # asked on load with the ticket's own text: nothing like it yet
    expect(panel.locator(f"[data-lz-kb-article='{journey['article']}']")).to_have_count(0)
    agent.locator("h1").click()  # outside a field, ? lists the page's shortcuts, Alt+K among them
    agent.keyboard.press("?")
    expect(agent.locator("#lz-kb-keys")).to_be_visible()
    expect(agent.locator("#lz-kb-keys")).to_contain_text("Alt")
    agent.keyboard.press("Escape")
    expect(agent.locator("#lz-kb-keys")).to_be_hidden()

    agent.locator("#answer").click()
    agent.keyboard.type("冰箱不制冷")
    asked(agent, first)
    expect(panel.locator(f"[data-lz-kb-article='{journey['article']}']")).to_be_visible()
    expect(panel.locator(f"[data-lz-kb-ticket-found='{journey['old']}']")).to_be_visible()

    agent.locator("#note").click()
    agent.keyboard.type("处理参考：")
    agent.keyboard.press("Alt+k")
    expect(agent.locator("#note")).to_have_value("处理参考： " + journey["link"])
    with agent.expect_navigation():
        agent.locator(".lz-note-form button[type=submit]").click()
    assert stored(journey["now"])[2] == ["处理参考： " + journey["link"]]
    agent.locator("#answer").fill("冰箱不制冷：已按知识库文章更换温控器")  # the page came back: the result again

    with agent.expect_navigation():  # closing without a solution: refused, the ticket stays open
        agent.get_by_role("button", name="解决并关闭").click()
    assert stored(journey["now"])[:2] == ("open", None)
    expect(agent.locator(".lz-kb-none")).to_be_visible()

    use = panel.locator(f"[data-lz-kb-article='{journey['article']}'] .lz-kb-use")
    expect(use).to_be_visible()  # the refused form kept the typed answer: the panel asked with it on load
    with agent.expect_navigation():
        use.click()
    expect(agent.locator(".lz-kb-chosen")).to_contain_text(journey["article"])
    with agent.expect_navigation():
        agent.get_by_role("button", name="解决并关闭").click()
    assert stored(journey["now"])[:2] == ("closed", journey["article"])


def test_the_call_pages_panel_follows_the_typing_and_alt_k_fills_the_description(browser, live_server, journey):
    context = browser.new_context(locale="zh-CN", base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = browser_login(context, "agent")
    try:
        page.goto("/call?process=kb_support")
        page.locator("#summary").click()
        page.keyboard.type("冰箱不制冷")
        asked(page)
        panel = page.locator("#lz-kb-suggestions")
        expect(panel.locator(f"[data-lz-kb-article='{journey['article']}']")).to_be_visible()
        expect(panel.locator(f"[data-lz-kb-ticket-found='{journey['old']}']")).to_be_visible()
        page.keyboard.press("Alt+k")
        expect(page.locator("#summary")).to_have_value("冰箱不制冷 " + journey["link"])
    finally:
        context.close()
