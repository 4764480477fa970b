"""The articles API on both databases: CRUD by permission, search, versions, errors naming the field.

``article_session`` runs every documented article operation; ``tests/test_openapi.py``'s scripted
session calls it so each answer is also held against the OpenAPI document.
"""

from __future__ import annotations

import pytest
from test_api import Api
from test_kb_articles import seed_categories

from api.openapi import document
from workflows.storage.models import Article, AuditEntry


@pytest.fixture
def api(client, world):
    seed_categories()
    return Api(client)


def article_session(api) -> str:
    """Create, read, edit, move, list and search articles as editor, agent and handler; returns the number."""
    if api("GET", "/dictionaries/kb_category", "admin").status_code != 200:
        seed_categories()
    made = api("POST", "/articles", "sup", json={"title": "冰箱不制冷", "body": "先查**电源**", "category": "repair",
                                                 "tags": ["冰箱"], "visibility": "internal"})
    assert made.status_code == 201, made.json
    number = made.json["number"]
    assert made.json["status"] == "draft" and made.json["link"] == f"[{number} 冰箱不制冷](/kb/{number})"
    assert api("POST", "/articles", "agent", json={"title": "x", "body": ""}).status_code == 403
    assert api("POST", "/articles", "sup", json={"title": "", "body": ""}).json["fields"].keys() == {"title"}
    assert api("POST", "/articles", "sup", json={"title": 3, "body": ""}).status_code == 400
    assert api("GET", f"/articles/{number}", "agent").status_code == 404  # a draft
    edited = api("PATCH", f"/articles/{number}", "sup", json={"version": 1, "body": "先查电源和温控"})
    assert edited.status_code == 200 and edited.json["version"] == 2
    assert api("PATCH", f"/articles/{number}", "admin", json={"version": 1, "title": "旧"}).status_code == 409
    assert api("PATCH", f"/articles/{number}", "sup", json={"title": "无版本"}).status_code == 400
    assert api("PATCH", f"/articles/{number}", "sup", json={"version": 2, "category": "nope"}).status_code == 422
    assert api("POST", f"/articles/{number}/publish", "sup").status_code == 409  # review first
    assert api("POST", f"/articles/{number}/submit", "sup", json={"version": 2}).json["status"] == "review"
    assert api("POST", f"/articles/{number}/publish", "agent").status_code == 404  # in review: not the agent's
    published = api("POST", f"/articles/{number}/publish", "admin", json={"version": 2})
    assert published.json["status"] == "published" and published.json["published_by"] == "admin"
    assert api("GET", f"/articles/{number}", "wh1").json["body"] == "先查电源和温控"
    assert api("GET", "/articles?q=冰箱", "wh1").json[0]["number"] == number
    assert api("GET", "/articles", "agent").json[0]["number"] == number
    assert api("GET", f"/articles/{number}/versions", "sup").json[0]["version"] == 2
    assert api("GET", f"/articles/{number}/versions", "agent").status_code == 403
    assert api("POST", f"/articles/{number}/archive", "sup").json["status"] == "archived"
    assert api("GET", "/articles?q=冰箱", "wh1").json == []
    assert api("GET", "/articles?limit=0", "agent").status_code == 400
    assert api("GET", "/articles?status=weird", "sup").status_code == 400
    assert api("GET", "/articles/KB999999", "sup").status_code == 404
    return number


def test_the_article_session(api):
    number = article_session(api)
    assert [a for (a,) in AuditEntry.select(AuditEntry.action).where(AuditEntry.target == f"article:{number}")
            .order_by(AuditEntry.id).tuples()] == ["kb.create", "kb.edit", "kb.submit", "kb.publish", "kb.archive"]


def test_agents_and_tokens_never_see_drafts_or_other_statuses(api):
    draft = api("POST", "/articles", "sup", json={"title": "草稿", "body": "内容"}).json["number"]
    assert api("GET", "/articles?status=draft", "agent").json == []
    assert [a["number"] for a in api("GET", "/articles?status=draft", "sup").json] == [draft]
    assert api("PATCH", f"/articles/{draft}", "agent", json={"version": 1, "title": "改"}).status_code == 404
    assert api("POST", f"/articles/{draft}/archive", "wh1").status_code == 404
    assert api("GET", "/articles").status_code == 401
    assert Article.get(Article.number == draft).title == "草稿"


def test_null_members_are_absent_and_unknown_ones_refused(api):
    made = api("POST", "/articles", "sup", json={"title": "t", "body": "b", "tags": None, "category": None})
    assert made.status_code == 201 and made.json["tags"] == [] and made.json["category"] is None
    number = made.json["number"]
    assert api("PATCH", f"/articles/{number}", "sup", json={"version": 1, "status": "published"}).status_code == 400
    assert api("PATCH", f"/articles/{number}", "sup", json={"version": 1, "tags": [1]}).json["fields"].keys() == {
        "tags"}
    assert api("POST", f"/articles/{number}/submit", "sup", json={"version": "1"}).status_code == 400


def test_every_answer_matches_the_document_and_every_operation_succeeds(client, world):
    from test_openapi import Checked

    seed_categories()
    checked = Checked(client, document())
    article_session(checked)
    paths = {(m.upper(), p) for p, item in document()["paths"].items() if p.startswith("/articles") for m in item}
    assert len(paths) == 8 and paths - checked.seen == set()
