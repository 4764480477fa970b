"""The public help pages (issue 23, web/help.py, workflows/kb/public.py): customers see published public articles only.

Five articles share the words a customer would search for, each with its own canary: one public and
published, the others internal, a draft, in review, or archived. No page, search, suggestion or vote
shows or counts anything of the four others, and opening one is the same 404 as an unknown number.
"Was this helpful" counts one answer per client (address and browser), needs the CSRF token, and is
rate-limited per address. Both databases.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT
from test_engine import REGISTER

from app import create_app
from workflows.kb import articles, public
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Article, ArticleFeedback, User
from workflows.tickets import engine

BODY = "冰箱退货的运费由谁承担？质量问题退货运费由我们承担。"
KINDS = ("public", "internal", "draft", "review", "archived")
EN = {"Accept-Language": "en"}


def canary(kind: str) -> str:
    return f"CANARY{kind.upper()}HELP"


def make(admin: User, kind: str, category: str = "returns") -> Article:
    """An article of ``kind`` through the real lifecycle; its title and body hold its canary."""
    article = articles.create(admin, title=f"冰箱退货运费 {canary(kind)}", body=f"{BODY}\n\n{canary(kind)} 正文",
                              category=category, tags=["退货"],
                              visibility="internal" if kind == "internal" else "public")
    if kind != "draft":
        articles.submit(admin, article.number)
    if kind in ("public", "internal", "archived"):
        articles.publish(admin, article.number)
    if kind == "archived":
        articles.archive(admin, article.number)
    return Article.get_by_id(article.id)


@pytest.fixture
def kb(app, users) -> dict[str, str]:
    """The kb_category dictionary and one article of each kind: kind -> number."""
    with app.app_context(), database.connection_context():
        docs.import_dictionary(json.loads((ROOT / "workflows/demo/kb_category.dictionary.json").read_text("utf-8")))
        admin = User.get(User.username == "admin")
        made = {kind: make(admin, kind).number for kind in KINDS}
        made["internal_only"] = make(admin, "internal", category="internal").number
        return made


def hidden_canaries() -> list[str]:
    return [canary(kind) for kind in KINDS if kind != "public"]


def public_urls(kb: dict[str, str]) -> list[str]:
    return ["/help", "/help/c/returns", "/help/search?q=退货", "/help/search?q=运费", "/help/search?q=CANARY",
            "/help/suggest?text=冰箱退货的运费怎么算", "/help/suggest?text=CANARYINTERNALHELP",
            f"/help/{kb['public']}"]


def test_public_pages_never_show_other_articles(client, kb):
    for url in public_urls(kb):
        response = client.get(url, headers=EN)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert [c for c in hidden_canaries() if c in body] == [], url
        if url != "/help/suggest?text=CANARYINTERNALHELP":
            assert canary("public") in body, url


@pytest.mark.parametrize("kind", ["internal", "draft", "review", "archived"])
def test_an_article_customers_may_not_read_is_not_there(client, kb, kind):
    unknown = client.get("/help/KB999999", headers=EN)
    response = client.get(f"/help/{kb[kind]}", headers=EN)
    assert response.status_code == unknown.status_code == 404
    assert canary(kind) not in response.get_data(as_text=True)
    assert response.get_data(as_text=True).replace(kb[kind], "") == unknown.get_data(as_text=True).replace(
        "KB999999", "")
    vote = client.post(f"/help/{kb[kind]}/feedback", data={"helpful": "yes"})
    assert vote.status_code == 404


@pytest.mark.parametrize("url", ["/help/KB000000", "/help/nothing", "/help/c/nothing", "/help/c/internal"])
def test_unknown_is_404(client, kb, url):
    assert client.get(url).status_code == 404
    assert client.post("/help/nothing/feedback", data={"helpful": "yes"}).status_code == 404


def test_categories_count_public_articles_only(app, client, kb):
    with app.test_request_context():
        found = public.categories()
    assert [(c.code, c.label, c.count) for c in found] == [("returns", "退换货", 1)]
    body = client.get("/help", headers=EN).get_data(as_text=True)
    assert "/help/c/internal" not in body and "/help/c/returns" in body


def test_a_two_character_chinese_query_finds_the_article(app, kb):
    with app.test_request_context():
        for query in ("运费", "退货", "承担"):
            assert [a.number for a in public.search(query)] == [kb["public"]], query
        assert [a.number for a in public.suggest("我的冰箱坏了想退货，运费谁出")] == [kb["public"]]
        assert public.suggest("退") == [] and public.search("CANARYDRAFTHELP") == []


def test_feedback_is_counted_once_per_client(app, client, kb):
    number = kb["public"]
    first = client.post(f"/help/{number}/feedback", data={"helpful": "yes"}, headers=EN)
    assert first.status_code == 200 and "Thank you for your answer." in first.get_data(as_text=True)
    again = client.post(f"/help/{number}/feedback", data={"helpful": "no"}, headers=EN)
    assert again.status_code == 200 and "already answered" in again.get_data(as_text=True)
    page = client.get(f"/help/{number}", headers=EN).get_data(as_text=True)
    assert "Your answer: Yes" in page and 'value="yes"' not in page
    client.post(f"/help/{number}/feedback", data={"helpful": "no"}, headers={"User-Agent": "other browser"})
    client.post(f"/help/{number}/feedback", data={"helpful": "yes"},
                environ_base={"REMOTE_ADDR": "10.0.0.9"})
    with app.app_context(), database.connection_context():
        article = Article.get(Article.number == number)
        assert (article.helpful_yes, article.helpful_no) == (2, 1)
        assert ArticleFeedback.select().count() == 3
        assert all(len(row.client) == 64 and "127.0.0.1" not in row.client for row in ArticleFeedback.select())


def test_feedback_names_a_bad_answer(client, kb):
    for data in ({}, {"helpful": "maybe"}):
        response = client.post(f"/help/{kb['public']}/feedback", data=data, headers=EN)
        assert response.status_code == 422 and "(helpful)" in response.get_data(as_text=True)


def test_feedback_is_rate_limited_per_address(client, kb, monkeypatch):
    monkeypatch.setattr(public, "VOTE_LIMIT", (1, 600))
    assert client.post(f"/help/{kb['public']}/feedback", data={"helpful": "yes"}).status_code == 200
    refused = client.post(f"/help/{kb['public']}/feedback", data={"helpful": "yes"},
                          headers={"User-Agent": "a new browser", **EN})
    assert refused.status_code == 429 and "Too many answers" in refused.get_data(as_text=True)


def test_feedback_needs_the_csrf_token(db_url, kb):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    url = f"/help/{kb['public']}"
    assert client.post(f"{url}/feedback", data={"helpful": "yes"}).status_code == 400
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert client.post(f"{url}/feedback", data={"helpful": "yes", "csrf_token": token.group(1)}).status_code == 200
    with app.app_context(), database.connection_context():
        assert Article.get(Article.number == kb["public"]).helpful_yes == 1


def test_long_input_is_refused_naming_the_field(client, kb):
    response = client.get("/help/search", query_string={"q": "退" * 201}, headers=EN)
    assert response.status_code == 400 and "q: at most 200 characters" in response.get_data(as_text=True)
    response = client.get("/help/suggest", query_string={"text": "x" * 2001}, headers=EN)
    assert response.status_code == 400 and "text: at most 2000 characters" in response.get_data(as_text=True)


def test_suggestions_are_a_small_partial(client, kb):
    found = client.get("/help/suggest", query_string={"text": "退货的运费"})
    assert found.status_code == 200 and found.headers["Cache-Control"] == "no-store"
    assert f'href="/help/{kb["public"]}"' in found.get_data(as_text=True)
    assert client.get("/help/suggest?text=").get_data(as_text=True).strip() == ""


def test_article_body_is_sanitised_and_links_stay_public(app, client, users):
    with app.app_context(), database.connection_context():
        admin = User.get(User.username == "admin")
        article = articles.create(admin, title="链接", visibility="public",
                                  body="<script>alert(1)</script> [下一篇](/kb/KB000123) "
                                       "![图](/attachments/abcdefabcdefabcdef12) "
                                       "![示意图](/kb/KB000001/attachments/abcdefabcdefabcdef12)")
        articles.submit(admin, article.number)
        articles.publish(admin, article.number)
    body = client.get(f"/help/{article.number}").get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;" in body
    assert 'href="/help/KB000123"' in body and 'src="/attachments/' not in body and "[图]" in body
    assert '<img src="/kb/KB000001/attachments/abcdefabcdefabcdef12" alt="示意图">' in body


def test_an_article_from_a_ticket_shows_nothing_of_the_ticket(app, client, kb, seeded):
    """The source ticket ("new article from this ticket") stays internal: its number and customer are not shown."""
    with app.app_context(), database.connection_context():
        admin = User.get(User.username == "admin")
        ticket = engine.create(admin, "return_goods", dict(REGISTER),
                               customer={"phone": "13900000077", "name": "赵女士"})
        article = articles.create(admin, title="门关不严怎么办", body="调整门封条。", visibility="public",
                                  source_ticket=ticket.id)
        articles.submit(admin, article.number)
        articles.publish(admin, article.number)
    for url in (f"/help/{article.number}", "/help", "/help/search?q=门封", "/help/suggest?text=门关不严"):
        body = client.get(url).get_data(as_text=True)
        assert "门关不严怎么办" in body and ticket.number not in body and "赵女士" not in body, url


def test_the_web_form_offers_suggestions(client, world_form):
    body = client.get("/forms/return_goods").get_data(as_text=True)
    assert 'data-lz-help-suggest="/help/suggest"' in body and "js/help_suggest.js" in body


def test_still_need_help_offers_the_web_forms(client, kb, world_form):
    assert 'href="/forms/return_goods"' in client.get("/help").get_data(as_text=True)
    assert 'href="/forms/return_goods"' in client.get("/help/search?q=nothing").get_data(as_text=True)
    article = f"/help/{kb['public']}"
    assert 'href="/forms/return_goods"' not in client.get(article).get_data(as_text=True)
    voted = client.post(f"{article}/feedback", data={"helpful": "no"}).get_data(as_text=True)
    assert 'href="/forms/return_goods"' in voted


@pytest.fixture
def world_form(app, seeded):
    with app.app_context(), database.connection_context():
        from conftest import example

        document = example("return_goods.process.json")
        document["web_form"] = {"enabled": True}
        docs.save_process(document, publish=True)
