"""The workspace knowledge-base pages on both databases: roles, the form's errors, moves, files, escaping."""

from __future__ import annotations

import io
import re

import pytest
from test_kb_articles import seed_categories

from workflows.kb import articles
from workflows.storage import db as lzdb
from workflows.storage.models import Article, User

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def kb(app, users):
    with app.app_context(), lzdb.database.connection_context():
        seed_categories()
    return users


def fetched(client, url: str) -> int:
    """The status of a GET whose body (a file) is closed at once."""
    response = client.get(url)
    response.close()
    return response.status_code


def put(app, visibility="internal", publish=True, **values) -> str:
    with app.app_context(), lzdb.database.connection_context():
        sup = User.get(User.username == "supervisor")
        article = articles.create(sup, title=values.get("title", "冰箱不制冷"), body=values.get("body", "先查**电源**"),
                                  visibility=visibility, category="repair")
        if publish:
            articles.submit(sup, article.number)
            articles.publish(sup, article.number)
        return article.number


def test_an_editor_writes_submits_and_publishes(app, client, auth, kb):
    auth.login("supervisor")
    assert client.get("/kb/new").status_code == 200
    bad = client.post("/kb/new", data={"title": "", "body": "x", "visibility": "internal", "category": ""})
    assert bad.status_code == 422 and 'data-field="title"' in bad.text
    made = client.post("/kb/new", data={"title": "退货流程", "body": "# 步骤\n<script>x</script>", "tags": "退货, 流程",
                                        "visibility": "public", "category": "returns"})
    assert made.status_code == 302
    number = re.search(r"/kb/(KB\d+)/edit", made.location).group(1)
    page = client.get(f"/kb/{number}/edit")
    assert page.status_code == 200 and 'id="lz-kb-submit"' in page.text and 'id="lz-kb-publish"' not in page.text
    saved = client.post(f"/kb/{number}/edit", data={"title": "退货流程（新）", "body": "正文", "visibility": "public",
                                                   "category": "returns", "tags": "", "version": "1"})
    assert saved.status_code == 302
    stale = client.post(f"/kb/{number}/edit", data={"title": "旧", "body": "", "visibility": "public", "version": "1"})
    assert stale.status_code == 409
    assert client.post(f"/kb/{number}/publish", data={"version": "2"}).status_code == 409  # a draft: review first
    assert client.post(f"/kb/{number}/submit", data={"version": "2"}).status_code == 302
    assert client.post(f"/kb/{number}/publish", data={"version": "2"}).status_code == 302
    with app.app_context(), lzdb.database.connection_context():
        article = Article.get(Article.number == number)
        assert (article.status, article.version, article.title) == ("published", 2, "退货流程（新）")
    read = client.get(f"/kb/{number}")
    assert read.status_code == 200 and "<script>" not in read.text and f"/kb/{number}" in read.text


def test_agents_read_published_articles_only_and_may_not_write(app, client, auth, kb):
    internal, draft = put(app), put(app, publish=False, title="草稿文章")
    auth.login("agent")
    listing = client.get("/kb")
    assert listing.status_code == 200 and internal in listing.text and draft not in listing.text
    assert "lz-kb-new" not in listing.text and 'href="/kb"' in listing.text  # the menu entry
    assert client.get(f"/kb/{internal}").status_code == 200
    assert client.get(f"/kb/{draft}").status_code == 404
    assert client.get("/kb/new").status_code == 403
    assert client.get(f"/kb/{internal}/edit").status_code == 403
    assert client.post(f"/kb/{internal}/archive", data={"version": "1"}).status_code == 403
    found = client.get("/kb", query_string={"q": "冰箱"})
    assert found.status_code == 200 and internal in found.text
    assert client.get("/kb", query_string={"q": "x" * 201}).status_code == 400
    assert client.get("/kb", query_string={"status": "nope"}).status_code == 400


def test_anonymous_is_sent_to_log_in(app, client, kb):
    number = put(app, visibility="public")
    for url in ("/kb", f"/kb/{number}", "/kb/new", f"/kb/{number}/edit"):
        assert client.get(url).status_code == 302


def test_files_of_an_article_follow_the_article(app, client, auth, kb):
    internal, public = put(app), put(app, visibility="public", title="公开文章")
    auth.login("supervisor")
    assert client.post(f"/kb/{internal}/files", data={}).status_code == 400
    for number in (internal, public):
        sent = client.post(f"/kb/{number}/files", data={"file": (io.BytesIO(PNG), "图.png")},
                           content_type="multipart/form-data")
        assert sent.status_code == 302
    page = client.get(f"/kb/{internal}/edit")
    keys = re.findall(rf"/kb/{internal}/attachments/([A-Za-z0-9_-]+)", page.text)
    assert keys and f"![图.png](/kb/{internal}/attachments/{keys[0]})" in page.text
    assert fetched(client, f"/kb/{internal}/attachments/{keys[0]}") == 200
    public_key = re.findall(rf"/kb/{public}/attachments/([A-Za-z0-9_-]+)",
                            client.get(f"/kb/{public}/edit").text)[0]
    assert fetched(client, f"/kb/{public}/attachments/{keys[0]}") == 404  # another article's file
    auth.logout()
    assert fetched(client, f"/kb/{internal}/attachments/{keys[0]}") == 404  # internal: not for anonymous
    assert fetched(client, f"/kb/{public}/attachments/{public_key}") == 200
    assert fetched(client, f"/attachments/{public_key}") in (302, 403, 404)  # not a ticket's file


def test_the_uploads_sweep_keeps_the_files_of_articles(app, client, auth, kb):
    from datetime import datetime, timedelta

    from workflows.storage import uploads
    from workflows.storage.models import Attachment

    number = put(app)
    auth.login("supervisor")
    client.post(f"/kb/{number}/files", data={"file": (io.BytesIO(PNG), "图.png")}, content_type="multipart/form-data")
    with app.app_context(), lzdb.database.connection_context():
        Attachment.update(created_at=datetime.now() - timedelta(days=3)).execute()
        assert uploads.sweep(app.config["UPLOAD_DIR"], timedelta(hours=24)) == (0, 0)
        assert Attachment.select().count() == 1


def test_the_demo_articles(app, kb):
    from workflows.demo.kb import seed_articles
    from workflows.kb.search import search_articles

    with app.app_context(), lzdb.database.connection_context():
        assert len(seed_articles()) == 5 and seed_articles() == []
        assert [a.title for a in search_articles(None, "退货")] == ["七天无理由退货须知"]
        assert len(search_articles(User.get(User.username == "agent"), "退货")) == 2


def test_a_pasted_file_answers_its_markdown(app, client, auth, kb):
    number = put(app)
    auth.login("supervisor")
    page = client.get(f"/kb/{number}/edit")
    assert f'data-lz-kb-files="/kb/{number}/files"' in page.text and "js/kb_editor.js" in page.text
    json_accept = {"Accept": "application/json"}
    sent = client.post(f"/kb/{number}/files", data={"file": (io.BytesIO(PNG), "paste.png")}, headers=json_accept,
                       content_type="multipart/form-data")
    assert sent.status_code == 201
    assert sent.json["markdown"] == f"![paste.png](/kb/{number}/attachments/{sent.json['key']})"
    refused = client.post(f"/kb/{number}/files", data={}, headers=json_accept)
    assert refused.status_code == 400 and refused.json["field"] == "file"
