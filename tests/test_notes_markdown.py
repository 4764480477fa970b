"""Notes as Markdown (workflows/tickets/markdown.py), their pasted files and @mention suggestions (docs/notes.md).

The renderer's tests need no database; the rest run through the test client on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import io
import re

import pytest
from conftest import PASSWORD

from workflows.storage.db import database
from workflows.storage.models import Attachment, Notification, Ticket, TicketEvent
from workflows.tickets import markdown

KEY = "Ab3_-" + "x" * 19
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
                       "rkJggg==")
REGISTER = {"order_no": "TH-9", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "漏水", "phone": "13900000000", "customer_name": "李女士",
            "channel": "phone", "priority": "high", "transition": "approve",
            "lz_present": ["order_no", "source", "category", "model", "purchase_date", "defect", "photos"]}

# --- the renderer -------------------------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](&#106;avascript:alert(1))",
    "[x](<javascript:alert(1)>)", "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/png;base64,iVBORw0KGgo=)", '![x](/attachments/' + KEY + '"onerror="alert(1))',
    "<iframe src=https://evil.example></iframe>", "<svg onload=alert(1)>", "<style>body{display:none}</style>",
    '<div style="position:fixed">x</div>', "<!-- x --><form action=https://evil.example><button>go</button></form>",
    "`<script>alert(1)</script>`", "    <script>alert(1)</script>",
    "[x](https://ok.example \"t\" onmouseover=alert(1))",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_notes_render_without_markup_that_runs(text):
    html = markdown.render(text)
    assert not re.search(r"<(script|iframe|svg|style|form|button|div|object|embed)\b", html, re.I), html
    for tag in re.findall(r"<[a-z][^>]*>", html):  # real tags (escaped text is "&lt;"): allow-listed attributes
        assert not re.search(r"\s(on\w+|style|class(?!=\"lz-mention\"))=", tag, re.I), tag
        assert not re.search(r"""(href|src)=["']?\s*(javascript|vbscript|data):""", tag, re.I), tag
        assert not tag.startswith("<img") or re.fullmatch(r'<img src="/attachments/[\w-]+" alt="[^"]*">', tag), tag


def test_raw_html_is_shown_as_text_not_parsed():
    assert markdown.render("a <b>b</b> <img src=x onerror=alert(1)>") == \
        "<p>a &lt;b&gt;b&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;</p>"


def test_the_sanitiser_alone_removes_what_the_parser_would_never_emit():
    """nh3 is a second layer: raw HTML that reached it would lose scripts, handlers, styles and foreign images."""
    dirty = ('<p onclick="x()">a<script>alert(1)</script><img src="https://evil.example/t.png" onerror="x()">'
             f'<img src="/attachments/{KEY}"><a href="javascript:alert(1)">j</a><span class="evil lz-mention">m</span>'
             '<a href="https://ok.example">ok</a></p>')
    clean = markdown.CLEANER.clean(dirty)
    assert "script" not in clean and "onclick" not in clean and "onerror" not in clean and "evil.example" not in clean
    assert f'<img src="/attachments/{KEY}">' in clean and 'class="lz-mention"' in clean and "evil lz" not in clean
    assert '<a rel="noopener noreferrer nofollow">j</a>' in clean
    assert '<a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a>' in clean


def test_markdown_renders_with_safe_links_lower_headings_and_only_our_images():
    html = markdown.render(f"# 标题\n\n**粗** *斜* ~~删~~\n- 一\n- 二\n\n[官网](https://example.com) "
                           f"![外链](https://evil.example/pixel.png) ![照片](/attachments/{KEY})")
    assert "<h3>标题</h3>" in html and "<strong>粗</strong>" in html and "<em>斜</em>" in html and "<s>删</s>" in html
    assert "<li>一</li>" in html and "<h1" not in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">官网</a>' in html
    assert '<a href="https://evil.example/pixel.png" rel="noopener noreferrer nofollow">外链</a>' in html
    assert "<img" in html and f'<img src="/attachments/{KEY}" alt="照片">' in html
    assert html.count("<img") == 1


def test_mentions_are_marked_with_the_escaped_name_not_in_mail_addresses_or_code():
    html = markdown.render("请@wh1看一下, li@wh1.cn, `@wh1`, @nobody.", {"wh1": "仓管<小陈>"})
    assert html.count('class="lz-mention"') == 1 and 'title="仓管&lt;小陈&gt;">@wh1</span>看一下' in html
    assert "li@wh1.cn" in html and "<code>@wh1</code>" in html and "@nobody." in html
    assert markdown.mentioned("请@wh1看 mail li@wh2.cn @fin1.") == {"wh1", "fin1"}


def test_inserted_markdown_escapes_the_file_name():
    assert markdown.attachment_markdown("a [b](c).png", "/attachments/k", "image/png") == \
        r"![a \[b\]\(c\).png](/attachments/k)"
    assert markdown.attachment_markdown("报价.pdf", "/attachments/k", "application/pdf") == "[报价.pdf](/attachments/k)"
    assert markdown.attachment_keys(f"![a](/attachments/{KEY}) /attachments/short x/attachments/{KEY}z") == {KEY}


# --- through the pages, on both databases -------------------------------------------------------------------------


@pytest.fixture
def as_user(app, users, seeded):
    def login(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        return client
    return login


@pytest.fixture
def number(as_user) -> str:
    """A return-goods ticket the agent registered, at the approval step."""
    response = as_user("agent").post("/call?process=return_goods", data=REGISTER, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return re.search(r"created=(\w+)", response.headers["Location"]).group(1)


def holder(number: str) -> str:
    with database.connection_context():
        return Ticket.get(Ticket.number == number).assignee.username


def status(client, url: str) -> int:
    """A download's status, its file closed (a sent file stays open until then)."""
    response = client.get(url)
    response.close()
    return response.status_code


def paste(client, number: str, data: bytes = PNG, name: str = "截图.png"):
    return client.post(f"/tickets/{number}/notes/files", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_a_note_is_stored_as_typed_and_shown_sanitised(as_user, number):
    agent = as_user("agent")
    text = "**重要** <script>alert(1)</script> [x](javascript:alert(1)) ![p](https://evil.example/p.png) 请 @wh1 看"
    agent.post(f"/tickets/{number}/notes", data={"note": text})
    with database.connection_context():
        assert TicketEvent.get(TicketEvent.action == "note").comment == text
        assert Notification.select().where(Notification.kind == "mentioned").count() == 1
    page = agent.get(f"/tickets/{number}").get_data(as_text=True)
    body = re.search(r'<div class="lz-note-body">(.*?)</div>', page, re.S).group(1)
    assert "<strong>重要</strong>" in body and "&lt;script&gt;" in body and "<script" not in body
    assert "javascript:" not in body.replace("[x](javascript:alert(1))", "") and "<img" not in body
    assert '<span class="lz-mention" title="仓管小陈">@wh1</span>' in body


def test_a_pasted_image_is_the_authors_until_the_note_links_it_to_the_ticket(as_user, number):
    agent, reader, stranger = as_user("agent"), as_user(holder(number)), as_user("wh2")
    response = paste(agent, number)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["image"] and answer["markdown"] == f"![截图.png](/attachments/{answer['key']})"
    assert status(agent, answer["url"]) == 200
    assert status(reader, answer["url"]) == 403  # not yet in a note: no one else sees it
    reader.post(f"/tickets/{number}/notes", data={"note": f"他人的 {answer['markdown']}"})
    with database.connection_context():  # a note by someone else does not claim the author's upload
        assert Attachment.get(Attachment.key == answer["key"]).ticket_id is None
    agent.post(f"/tickets/{number}/notes", data={"note": f"照片 {answer['markdown']}"})
    with database.connection_context():
        attachment = Attachment.get(Attachment.key == answer["key"])
        assert (attachment.ticket.number, attachment.field, attachment.mimetype) == (number, None, "image/png")
    assert status(reader, answer["url"]) == 200 and status(stranger, answer["url"]) == 403
    page = reader.get(f"/tickets/{number}").get_data(as_text=True)
    assert f'<img src="{answer["url"]}" alt="截图.png">' in page


def test_a_note_file_is_readable_by_a_cc_reader_who_sees_no_fields(as_user, number):
    agent = as_user("agent")
    agent.post(f"/tickets/{number}/cc", data={"cc": "fin2"})
    key = paste(agent, number, b"%PDF-1.4 report", "报告.pdf").get_json()["key"]
    agent.post(f"/tickets/{number}/notes", data={"note": f"[报告.pdf](/attachments/{key})"})
    assert status(as_user("fin2"), f"/attachments/{key}") == 200


@pytest.mark.parametrize("payload, name", [(b"<html><script>alert(1)</script></html>", "x.png"),
                                           (b"<svg onload=alert(1)></svg>", "x.svg"), (b"\x7fELF....", "run")])
def test_uploads_follow_the_one_upload_rule(as_user, number, payload, name):
    response = paste(as_user("agent"), number, payload, name)
    assert response.status_code == 400 and response.get_json()["field"] == "file"
    with database.connection_context():
        assert Attachment.select().count() == 0


def test_only_readers_of_the_ticket_may_upload_or_ask_for_mentions(as_user, number):
    stranger = as_user("wh2")
    assert paste(stranger, number).status_code == 403
    assert stranger.get(f"/tickets/{number}/mentions?q=w").status_code == 403
    assert as_user("agent").get("/tickets/NOPE/mentions?q=w").status_code == 404
    with database.connection_context():
        assert Attachment.select().count() == 0
    assert as_user("agent").post(f"/tickets/{number}/notes/files", data={}).status_code == 400


def test_uploads_need_the_csrf_token(app, as_user, number):
    agent = as_user("agent")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert paste(agent, number).status_code == 400
        token = re.search(r'name="csrf_token" value="([^"]+)"', agent.get(f"/tickets/{number}").get_data(as_text=True))
        response = agent.post(f"/tickets/{number}/notes/files", data={"file": (io.BytesIO(PNG), "a.png")},
                              headers={"X-CSRFToken": token.group(1)}, content_type="multipart/form-data")
        assert response.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def mentions(client, number: str, query: str) -> list[dict]:
    response = client.get(f"/tickets/{number}/mentions", query_string={"q": query})
    assert response.status_code == 200
    return response.get_json()


def test_mentions_match_names_pinyin_initials_and_usernames(as_user, number):
    agent = as_user("agent")
    assert [p["username"] for p in mentions(agent, number, "仓管")] == ["wh1", "wh2"]
    assert [p["username"] for p in mentions(agent, number, "cgxc")] == ["wh1"]  # 仓管小陈
    assert {p["username"] for p in mentions(agent, number, "wh")} == {"wh1", "wh2", "wh_lead"}
    assert mentions(agent, number, "cgxc") == [{"username": "wh1", "name": "仓管小陈"}]  # nothing else of them
    assert "agent" not in {p["username"] for p in mentions(agent, number, "")}  # not oneself
    assert mentions(agent, number, "zzzz") == []


def test_who_may_not_cc_is_offered_only_those_who_read_the_ticket(as_user, number):
    agent = as_user("agent")
    agent.post(f"/tickets/{number}/cc", data={"cc": "fin2"})  # fin2 reads it, may not open it to others
    assert "eng1" in {p["username"] for p in mentions(agent, number, "eng")}  # the creator may: a mention CCs
    offered = {p["username"] for p in mentions(as_user("fin2"), number, "")}
    assert offered and "eng1" not in offered and "wh2" not in offered
    assert {"agent", holder(number)} <= offered
    assert mentions(as_user("fin2"), number, "eng") == []


def test_a_note_that_fails_links_no_file(app, as_user, number, users):
    """The claim is part of the note's transaction: a note rolled back leaves its files the author's alone."""
    from werkzeug.datastructures import FileStorage

    from workflows.tickets import collab, notes

    with app.test_request_context(), database.connection_context():
        attachment = notes.upload(users["agent"], number, FileStorage(io.BytesIO(PNG), "a.png"))
        with pytest.raises(RuntimeError), database.atomic():
            collab.add_note(users["agent"], number, f"![a](/attachments/{attachment.key})")
            raise RuntimeError("a later step of the same action failed")
        assert Attachment.get_by_id(attachment.id).ticket_id is None
        collab.add_note(users["agent"], number, f"![a](/attachments/{attachment.key})")
        assert Attachment.get_by_id(attachment.id).ticket.number == number
