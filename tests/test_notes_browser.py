"""The note box in a real browser (Chromium through Playwright), on SQLite and PostgreSQL (docs/notes.md).

The agent types a Markdown note, completes a mention from "@" and pinyin initials with the
keyboard, pastes a PNG (a ``paste`` event carrying a ``DataTransfer`` with the file, as the
clipboard gives it) and attaches a PDF through the box's file input; the saved note shows
rendered Markdown, the mention, the image (loaded: its reader may read it) and the link.
"""

from __future__ import annotations

import base64
import re

import pytest
from conftest import browser_login
from playwright.sync_api import expect
from test_notes_markdown import PNG, REGISTER

from workflows.storage.db import database
from workflows.storage.models import Attachment, Notification, Ticket, User

TIMEOUT_MS = 10_000
PASTE_PNG = """(b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], "截图.png", {type: "image/png"}));
  const box = document.getElementById("note");
  box.focus();
  box.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
}"""


@pytest.fixture
def agent_page(seeded, users, live_server, browser, app):
    """The agent's page in its own context, with a ticket they registered (through the test client)."""
    client = app.test_client()
    client.post("/login", data={"username": "agent", "password": "demo12345"})
    response = client.post("/call?process=return_goods", data=REGISTER, content_type="multipart/form-data")
    number = re.search(r"created=(\w+)", response.headers["Location"]).group(1)
    context = browser.new_context(locale="zh-CN", base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    errors = []
    context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
    page = browser_login(context, "agent")
    page.goto(f"/tickets/{number}")
    yield page, number
    context.close()
    assert errors == [], errors


def axe_problems(page, selector: str) -> list[str]:
    """axe-core's serious and critical violations inside ``selector`` (axe from static/vendor: the CSP allows it)."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(url="/static/vendor/axe.min.js")
    found = page.evaluate("async (s) => (await axe.run(document.querySelectorAll(s))).violations"
                          ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id + ': ' + v.help)",
                          selector)
    return found


def wait_for(page, script: str, arg=None) -> None:
    """Poll a condition in the page (the CSP forbids wait_for_function's string evaluation)."""
    for _ in range(100):
        if page.evaluate(script, arg):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {script}")


def test_a_markdown_note_with_a_completed_mention_and_a_pasted_image(agent_page, tmp_path):
    page, number = agent_page
    box = page.get_by_label(re.compile(r"^(内部备注|Internal note)$"))  # until the lead merges the strings
    box.click()
    box.press_sequentially("**退货** 已核对，请 @cgx")
    options = page.get_by_role("option")
    expect(options.first).to_contain_text("仓管小陈")
    assert axe_problems(page, ".lz-note-form") == []  # the open list: a listbox of options the box points to
    box.press("ArrowDown")
    box.press("ArrowUp")
    box.press("Enter")
    assert box.input_value().endswith("请 @wh1 ")
    expect(page.locator("#note-mentions")).to_be_hidden()
    box.press_sequentially("收货")
    box.press("Enter")
    box.press("Enter")
    box.press_sequentially("- 外箱完好\n\n")
    page.evaluate(PASTE_PNG, base64.b64encode(PNG).decode())
    wait_for(page, "() => /!\\[截图\\.png\\]\\(\\/attachments\\/[\\w-]+\\)/"
                   ".test(document.getElementById('note').value)")
    pdf = tmp_path / "发票.pdf"
    pdf.write_bytes(b"%PDF-1.4 invoice")
    page.locator("#note-file").set_input_files(str(pdf))
    wait_for(page, "() => /\\[发票\\.pdf\\]\\(\\/attachments\\//.test(document.getElementById('note').value)")
    expect(page.locator(".lz-note-status")).to_contain_text("发票.pdf")
    with page.expect_navigation():
        page.get_by_role("button", name="添加备注", exact=True).click()
    note = page.locator(".lz-note-body").last
    expect(note.locator("strong")).to_have_text("退货")
    expect(note.locator(".lz-mention")).to_have_text("@wh1")
    expect(note.locator("li")).to_have_text("外箱完好")
    image = note.locator("img")
    expect(image).to_have_attribute("alt", "截图.png")
    wait_for(page, "() => { const i = document.querySelector('.lz-note-body img'); return i && i.naturalWidth > 0; }")
    assert axe_problems(page, ".lz-note-form, .lz-note-body") == []
    expect(note.get_by_role("link", name="发票.pdf")).to_have_attribute("rel", "noopener noreferrer nofollow")
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        files = Attachment.select().where(Attachment.ticket == ticket, Attachment.field.is_null())
        assert sorted(a.filename for a in files) == ["发票.pdf", "截图.png"]
        wh1 = User.get(User.username == "wh1")
        assert Notification.select().where(Notification.user == wh1, Notification.kind == "mentioned").count() == 1
