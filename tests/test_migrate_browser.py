"""Issue 20's migration of open tickets in Debian's Chromium, on both databases, under the strict CSP.

Version 1 of the return-goods process is published and holds three open tickets: two at 主管审批,
one at 仓库收货. Version 2 adds 序列号 (serial number), required at registration and editable by the
supervisor at 主管审批, read-only at 仓库收货. The admin publishes it, opens the migration page from
the versions page, runs the dry run (the ticket at 仓库收货 cannot move: the field is required at a
step it has passed and nobody at its step may fill it) and moves the other two; their history shows
the move, the third stays on version 1. Any console error or policy violation fails
(``test_csp_browser.person``).
"""

from __future__ import annotations

import pytest
from conftest import example, screenshot
from playwright.sync_api import expect
from test_csp_browser import person  # noqa: F401 - the fixture: a logged-in page that fails on errors
from test_engine import fresh, new_ticket, to_warehouse
from test_migrate import with_serial

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import TicketEvent, User
from workflows.tickets import engine


@pytest.fixture
def open_tickets(app, seeded, users):
    """Three open tickets of version 1 (two at 主管审批, the last at 仓库收货) and version 2 as the draft."""
    with app.app_context(), database.connection_context():
        people = {u.username: u for u in User.select()}
        numbers = [fresh(new_ticket(people)).number for _ in range(2)] + [fresh(to_warehouse(people)).number]
        document = example("return_goods.process.json")
        with_serial(document)
        docs.store_process(document, people["admin"], "process.save")
        return numbers


def test_migrating_open_tickets_shows_the_one_that_cannot_move_and_moves_the_others(app, person,  # noqa: F811
                                                                                     open_tickets):
    first, second, stuck = open_tickets
    page = person("admin")
    page.goto("/admin/processes/return_goods/versions")
    with page.expect_navigation():
        page.get_by_role("button", name="发布草稿").click()
    with page.expect_navigation():
        page.get_by_role("link", name="迁移未结工单").click()
    expect(page.locator("table.lz-migrate-counts")).to_contain_text("v1")
    expect(page.get_by_label("主管审批 approve")).to_have_value("approve")  # the same key, chosen already
    expect(page.get_by_label("仓库收货 warehouse")).to_have_value("warehouse")

    with page.expect_navigation():
        page.get_by_role("button", name="试运行").click()
    expect(page.locator("#lz-migrate-plan-title")).to_have_text("试运行: 3 张工单中有 2 张可以迁移")
    refused = page.locator(f"tr[data-number='{stuck}']")
    expect(refused).to_have_class("lz-migrate-refused")
    expect(refused).to_contain_text("不能迁移")
    expect(refused.locator(".lz-migrate-reason")).to_have_text(
        "序列号 在工单已经过的步骤 来电登记 为必填, 但它为空, 且步骤 仓库收货 不允许处理人填写。")
    for number in (first, second):
        row = page.locator(f"tr[data-number='{number}']")
        expect(row).to_have_class("lz-migrate-ok")
        expect(row).to_contain_text("序列号 为空, 但步骤 来电登记 要求填写: 处理人可在步骤 主管审批 补填。")
    screenshot(page, "migrate-dry-run")

    with page.expect_navigation():
        page.get_by_role("button", name="迁移 2 张工单").click()
    expect(page.locator("#lz-migrate-plan-title")).to_have_text("结果: 3 张工单中已迁移 2 张")
    expect(page.locator(f"tr[data-number='{stuck}']")).to_contain_text("未迁移")
    expect(page.locator(".lz-migrate-counts")).to_contain_text("仓库收货")  # only the stuck one is left on v1
    screenshot(page, "migrate-moved")

    with app.app_context(), database.connection_context():
        assert [engine.load(n).process_version.number for n in (first, second, stuck)] == [2, 2, 1]
        handler = engine.load(first).assignee.username
        assert not TicketEvent.select().where(TicketEvent.action == "migrated",
                                              TicketEvent.ticket == engine.load(stuck)).exists()
    with page.expect_navigation():
        page.locator(f"tr[data-number='{first}'] a").click()
    expect(page.locator(".lz-timeline li", has_text="将工单从流程版本 1 迁移到 2")).to_have_count(1)

    supervisor = person(handler)  # the handler carries on under version 2: the new field is on their form
    supervisor.goto(f"/tickets/{first}")
    expect(supervisor.locator(".lz-timeline li", has_text="将工单从流程版本 1 迁移到 2")).to_contain_text(
        "主管审批 → 主管审批")
    expect(supervisor.get_by_label("序列号")).to_be_editable()
    screenshot(supervisor, "migrate-ticket-history")
    page.goto(f"/tickets/{stuck}")
    expect(page.locator(".lz-timeline")).not_to_contain_text("迁移到")
