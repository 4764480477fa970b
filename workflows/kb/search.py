"""Article search with the ticket search's engine (docs/search.md, docs/kb.md).

One ``article_search`` row per article holds the terms of its title (twice: a match in the title
ranks above one in the body), tags, category label and body, made by ``search.tokens.joined``
(CJK bigrams, so any two-character Chinese query finds it). The engines rank as for tickets:
SQLite FTS5 ``bm25`` over ``article_fts``, PostgreSQL ``ts_rank`` over the generated ``vector``
with its GIN index (migration 0024). Only published articles the reader may read are candidates:
the condition is part of the query, so a draft or an internal article never comes back to
anyone who may not read it. Every word must match; when none does and the text has several
words, any word counts (a typed description still finds something), ranked by how well: the rare
words over every article, the common ones among the most recent (``search.common``).
"""

from __future__ import annotations

from peewee import Cast, Expression, Field, ForeignKeyField, Value, fn
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from workflows.kb.articles import category_labels, is_staff
from workflows.search import common
from workflows.search.query import LONGEST, fts5_query, postgres, tsquery
from workflows.search.tokens import joined, runs
from workflows.storage.db import database
from workflows.storage.models import Article, ArticleSearch, BaseModel, User

CANDIDATES = 200


class _Fts(FTS5Model):
    """SQLite: the FTS5 table over ``article_search.terms`` (migration 0024), read only here."""

    rowid = RowIDField()
    terms = SearchField()

    class Meta:
        database = database
        table_name = "article_fts"


class _Vectors(BaseModel):
    """PostgreSQL: ``article_search`` with its generated ``vector`` column (migration 0024), read only here."""

    article = ForeignKeyField(Article)
    vector = Field()

    class Meta:
        table_name = "article_search"


def terms_of(article: Article, labels: dict[str, str] | None = None) -> str:
    """The index terms of an article: title twice, tags, category code and label, body."""
    labels = category_labels() if labels is None else labels
    category = " ".join(t for t in (article.category, labels.get(article.category or "")) if t)
    text = "\n".join([article.title, article.title, " ".join(article.tags or []), category, article.body or ""])
    return joined(text)


def index(article: Article) -> None:
    """Write the article's search row (inside the caller's transaction)."""
    terms = terms_of(article)
    if not ArticleSearch.update(terms=terms).where(ArticleSearch.article == article.id).execute():
        ArticleSearch.create(article=article.id, terms=terms)


def reindex_all() -> int:
    """Every article's row again (after the category dictionary's labels changed); returns how many."""
    labels, count = category_labels(), 0
    with database.atomic():
        for article in Article.select():
            terms = terms_of(article, labels)
            if not ArticleSearch.update(terms=terms).where(ArticleSearch.article == article.id).execute():
                ArticleSearch.create(article=article.id, terms=terms)
            count += 1
    return count


def _allowed(reader: User | None, public_only: bool, category: str | None):
    """The condition on ``Article``: published, public unless the reader is staff, the category if asked."""
    condition = Article.status == "published"
    if public_only or not is_staff(reader):
        condition &= Article.visibility == "public"
    if category:
        condition &= Article.category == category
    return condition


def _ranked(groups: list[list[str]], any_term: bool, condition, limit: int, recent: bool = False) -> list[int]:
    """Ids of matching articles, best first; ``recent``: only the most recent matches ranked (``common.recent``)."""
    text = tsquery(groups, any_term) if postgres() else fts5_query(groups, any_term)
    if recent:
        found = common.recent(text, postgres(), _Fts, _Vectors)
        rows = (ArticleSearch.select(ArticleSearch.article).join(found, on=(found.c.key == ArticleSearch.id))
                .switch(ArticleSearch).join(Article, on=(ArticleSearch.article == Article.id))
                .where(condition).order_by(found.c.score, Article.id.desc()))
    elif postgres():
        query = Cast(Value(text), "tsquery")
        rows = (_Vectors.select(_Vectors.article).join(Article, on=(_Vectors.article == Article.id))
                .where(Expression(_Vectors.vector, "@@", query), condition)
                .order_by(fn.ts_rank(_Vectors.vector, query).desc(), Article.id.desc()))
    else:
        rows = (ArticleSearch.select(ArticleSearch.article).join(_Fts, on=(_Fts.rowid == ArticleSearch.id))
                .switch(ArticleSearch).join(Article, on=(ArticleSearch.article == Article.id))
                .where(_Fts.match(text), condition)
                .order_by(_Fts.bm25(), Article.id.desc()))
    return [i for (i,) in rows.limit(limit).tuples()]


def _any_term(words: list[list[str]], condition, limit: int) -> list[int]:
    """Any word counts: the rare words ranked over every article, topped up from the most recent (``common``)."""
    return common.any_term(words, lambda g: tsquery(g, True) if postgres() else fts5_query(g, True),
                           lambda g, recent: _ranked(g, True, condition, limit, recent), limit, "article_search")


def search_articles(reader: User | None, text: str, *, limit: int = 10, public_only: bool = False,
                    category: str | None = None, any_term: bool = False) -> list[Article]:
    """Published articles ``reader`` may read (None: anonymous, public only) matching ``text``, best first."""
    groups = runs((text or "")[:LONGEST])
    if not groups:
        return []
    condition, limit = _allowed(reader, public_only, category), max(1, min(int(limit), CANDIDATES))
    words = [[t] for t in dict.fromkeys(t for g in groups for t in g)]
    ids = _any_term(words, condition, limit) if any_term else _ranked(groups, False, condition, limit)
    if not ids and not any_term and len(words) > 1:
        ids = _any_term(words, condition, limit)
    found = {a.id: a for a in Article.select().where(Article.id.in_(ids))} if ids else {}
    return [found[i] for i in ids if i in found]
