"""Knowledge-base articles on both databases: lifecycle, who may read and write, versions, audit, conflicts."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from workflows.kb import articles
from workflows.processes import documents as docs
from workflows.storage.models import Article, ArticleSearch, ArticleVersion, AuditEntry
from workflows.tickets.errors import Conflict, Forbidden, Invalid, NotFound


def seed_categories() -> None:
    document = json.loads(resources.files("workflows.demo").joinpath("kb_category.dictionary.json").read_text("utf-8"))
    docs.import_dictionary(document)


@pytest.fixture
def kb(world):
    seed_categories()
    return world


def new(world, who="sup", **values) -> Article:
    fields = {"title": "冰箱不制冷怎么办", "body": "先检查**电源**。", "category": "repair", "tags": ["冰箱"]}
    return articles.create(world[who], **{**fields, **values})


def published(world, **values) -> Article:
    article = new(world, **values)
    articles.submit(world["sup"], article.number)
    return articles.publish(world["admin"], article.number)


def audit_actions(number: str) -> list[str]:
    return [a for (a,) in AuditEntry.select(AuditEntry.action).where(AuditEntry.target == f"article:{number}")
            .order_by(AuditEntry.id).tuples()]


def test_lifecycle_draft_review_published_archived(kb):
    article = new(kb)
    assert article.number == f"KB{article.id:06d}" and article.status == "draft" and article.version == 1
    assert ArticleSearch.select().where(ArticleSearch.article == article.id).count() == 1
    assert articles.submit(kb["sup"], article.number).status == "review"
    done = articles.publish(kb["admin"], article.number)
    assert done.status == "published" and done.published_by_id == kb["admin"].id and done.published_at
    assert articles.archive(kb["sup"], article.number).status == "archived"
    assert articles.publish(kb["sup"], article.number).status == "published"  # back from the archive
    assert audit_actions(article.number) == ["kb.create", "kb.submit", "kb.publish", "kb.archive", "kb.publish"]


def test_a_move_from_the_wrong_status_is_a_conflict(kb):
    article = new(kb)
    with pytest.raises(Conflict):
        articles.publish(kb["admin"], article.number)  # a draft goes to review first
    articles.submit(kb["sup"], article.number)
    with pytest.raises(Conflict):
        articles.submit(kb["sup"], article.number)
    assert Article.get_by_id(article.id).status == "review"


def test_only_editors_write_and_only_reviewers_publish(kb):
    for who in ("agent", "wh1"):
        with pytest.raises(Forbidden):
            new(kb, who)
    article = new(kb)
    for call in (lambda u: articles.edit(u, article.number, expected_version=1, title="x"),
                 lambda u: articles.submit(u, article.number), lambda u: articles.archive(u, article.number)):
        with pytest.raises(Forbidden):
            call(kb["agent"])
    with pytest.raises(Forbidden):
        articles.create(None, title="t", body="")
    assert audit_actions(article.number) == ["kb.create"]


def test_edits_keep_every_version_with_who_and_when(kb):
    article = new(kb)
    second = articles.edit(kb["admin"], article.number, expected_version=1, title="冰箱不制冷：先看电源",
                           tags="冰箱, 制冷")
    assert second.version == 2 and second.tags == ["冰箱", "制冷"]
    unchanged = articles.edit(kb["admin"], article.number, expected_version=2, title="冰箱不制冷：先看电源")
    assert unchanged.version == 2  # nothing changed: no new version
    kept = articles.versions(kb["sup"], article.number)
    assert [(v.version, v.title, v.editor.username) for v in kept] == [
        (2, "冰箱不制冷：先看电源", "admin"), (1, "冰箱不制冷怎么办", "sup")]
    assert all(v.created_at for v in kept)
    assert audit_actions(article.number) == ["kb.create", "kb.edit"]
    entry = AuditEntry.select().where(AuditEntry.action == "kb.edit").get()
    assert entry.before["title"] == "冰箱不制冷怎么办" and entry.after["version"] == 2


def test_a_stale_version_is_a_conflict_and_saves_nothing(kb):
    article = new(kb)
    articles.edit(kb["sup"], article.number, expected_version=1, body="新的正文")
    with pytest.raises(Conflict):
        articles.edit(kb["admin"], article.number, expected_version=1, body="覆盖")
    with pytest.raises(Conflict):
        articles.submit(kb["admin"], article.number, expected_version=1)
    stored = Article.get_by_id(article.id)
    assert stored.body == "新的正文" and stored.version == 2 and stored.status == "draft"
    assert ArticleVersion.select().where(ArticleVersion.article == article.id).count() == 2


@pytest.mark.parametrize(("field", "value"), [
    ("title", ""), ("title", "长" * 201), ("body", 5), ("category", "nope"), ("tags", [1]),
    ("tags", ["x" * 33]), ("tags", [f"t{i}" for i in range(21)]), ("visibility", "secret"),
])
def test_bad_input_names_its_field(kb, field, value):
    with pytest.raises(Invalid) as raised:
        new(kb, **{field: value})
    assert list(raised.value.fields) == [field]
    article = new(kb)
    with pytest.raises(Invalid) as raised:
        articles.edit(kb["sup"], article.number, expected_version=1, **{field: value})
    assert list(raised.value.fields) == [field]
    with pytest.raises(Invalid) as raised:
        articles.edit(kb["sup"], article.number, expected_version=1, status="published")
    assert list(raised.value.fields) == ["status"]
    assert Article.select().count() == 1 and Article.get_by_id(article.id).version == 1


def test_an_internal_article_is_never_for_customers_or_anonymous(kb):
    internal = published(kb, visibility="internal")
    public = published(kb, visibility="public", title="退货流程")
    draft = new(kb, visibility="public", title="草稿")
    for reader in (None, kb["agent"], kb["wh1"], kb["sup"], kb["admin"]):
        assert articles.readable(reader, public)
    for reader in (kb["agent"], kb["wh1"], kb["sup"]):
        assert articles.readable(reader, internal)
        assert articles.get(reader, internal.number.lower()).id == internal.id
    assert not articles.readable(None, internal)
    with pytest.raises(NotFound):
        articles.get(None, internal.number)
    for reader in (None, kb["agent"]):
        assert not articles.readable(reader, draft)
        with pytest.raises(NotFound):
            articles.get(reader, draft.number)
    assert [a.number for a in articles.listing(None)] == [public.number]
    assert {a.number for a in articles.listing(kb["agent"])} == {public.number, internal.number}
    assert len(articles.listing(kb["sup"])) == 3
    assert [a.number for a in articles.listing(kb["sup"], status="draft")] == [draft.number]
    with pytest.raises(Forbidden):
        articles.versions(kb["agent"], internal.number)


def test_unknown_numbers_and_the_link(kb):
    for number in ("KB999999", "nonsense", "", "KB'; drop"):
        with pytest.raises(NotFound):
            articles.get(kb["admin"], number)
        with pytest.raises(NotFound):
            articles.submit(kb["admin"], number)
    article = new(kb, title="退货 [步骤] *一*")
    assert articles.link(article) == f"[{article.number} 退货 \\[步骤\\] \\*一\\*](/kb/{article.number})"


def test_an_article_from_a_ticket_keeps_its_source(kb):
    from test_engine import REGISTER

    from workflows.tickets import engine

    ticket = engine.create(kb["agent"], "return_goods", {**REGISTER, "defect": "冰箱不制冷"})
    article = new(kb, source_ticket=ticket)
    assert article.source_ticket_id == ticket.id
    assert new(kb, source_ticket=ticket.id).source_ticket_id == ticket.id
    with pytest.raises(Invalid) as raised:
        new(kb, source_ticket=10**9)
    assert list(raised.value.fields) == ["source_ticket"]
