"""The admin's JSON editor in a real browser (Debian's Chromium through Playwright), on both databases."""

from __future__ import annotations

import copy
import json

from conftest import ROOT, example
from playwright.sync_api import expect
from test_preview_browser import log_in

from workflows.storage.db import database
from workflows.storage.models import Process

ARTIFACTS = ROOT / "tests" / "artifacts"


def test_invalid_document_lists_every_problem_and_saves_nothing(seeded, users, live_server, page, request):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/processes/return_goods/json")
    expect(page.locator(".lz-gutter")).to_contain_text("1\n2\n3")

    doc = example("return_goods.process.json")
    doc["steps"][0]["fields"]["nosuch"] = "editable"
    doc["steps"].append(copy.deepcopy(doc["steps"][1]))
    doc["steps"][2]["transitions"][0]["to"] = "missing"
    page.fill("#lz-document", json.dumps(doc, ensure_ascii=False, indent=2))
    with page.expect_navigation():
        page.get_by_role("button", name="保存草稿").click()

    problems = page.locator(".lz-problems li")
    expect(problems.first).to_be_visible()
    texts = problems.all_inner_texts()
    assert len(texts) >= 3, texts
    for path in ("/steps/0/fields/nosuch", "/steps/2/transitions/0/to"):
        assert any(text.startswith(path + ": ") for text in texts), texts
    assert any(text.startswith("/steps/4/key: ") for text in texts), texts  # the duplicate step key
    assert json.loads(page.locator("#lz-document").input_value()) == doc  # the submitted text is kept
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-json-{request.node.callspec.id}.png"), full_page=True)

    with database.connection_context():
        assert Process.get(Process.code == "return_goods").draft == example("return_goods.process.json")
    assert errors == []
