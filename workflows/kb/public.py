"""What a customer sees of the knowledge base without a login: the help pages (issue 23, docs/kb.md "Self-service").

Every query here is narrowed to ``PUBLIC`` (published and public) in the database, and each article is
checked again with ``articles.readable(None, ...)``: a draft, an article in review, an archived or an
internal one is never listed, counted, found or suggested, and opening it is the same 404 as a number
that does not exist. Nothing of an article's author, reviewer or source ticket leaves through here.

"Was this helpful" is one answer per client and article: the client is an HMAC of the address and the
browser's User-Agent under the app's secret (so the stored key tells nothing about the address), kept
unique with the article in ``ArticleFeedback``; the answer adds one to the article's ``helpful_yes`` or
``helpful_no`` in the same transaction. Votes are rate-limited per address like the web form's posts
(``channels.allow``), so a script varying its User-Agent gets only a few answers in.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from peewee import IntegrityError, fn

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.intake import channels
from workflows.kb import articles
from workflows.kb.search import search_articles
from workflows.storage.db import database
from workflows.storage.models import Article, ArticleFeedback, Process, utcnow
from workflows.tickets.errors import NotFound

PUBLIC = (Article.status == "published") & (Article.visibility == "public")
QUERY_LENGTH = 200  # characters of a search box query
SUGGEST_TEXT_LENGTH = 2000  # characters of a web form description the suggestions read (the search reads 200)
SUGGEST_MIN = 2  # fewer characters (trimmed) suggest nothing
SUGGESTIONS = 5
RESULTS = 20
LATEST = 10
VOTE_LIMIT = (30, 600)  # answers per client address, per that many seconds


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    count: int


def _readable(found: list[Article]) -> list[Article]:
    """The second check: whatever a query returned, only what an anonymous reader may read."""
    return [a for a in found if articles.readable(None, a)]


def categories() -> list[Category]:
    """The categories holding public articles, with their counts, in the dictionary's order (unknown codes last)."""
    labels = articles.category_labels()
    counts = dict(Article.select(Article.category, fn.COUNT(Article.id))
                  .where(PUBLIC, Article.category.is_null(False)).group_by(Article.category).tuples())
    order = {code: i for i, code in enumerate(labels)}
    codes = sorted(counts, key=lambda c: (order.get(c, len(order)), c))
    return [Category(code, labels.get(code, code), counts[code]) for code in codes]


def category(code: str) -> tuple[Category, list[Article]]:
    """One category's public articles, by title; NotFound when it holds none (an empty or internal one alike)."""
    found = _readable(list(Article.select().where(PUBLIC, Article.category == code)
                           .order_by(Article.title, Article.id)))
    if not found:
        raise NotFound(Msg(N_("No such category.")))
    return Category(code, articles.category_labels().get(code, code), len(found)), found


def latest(limit: int = LATEST) -> list[Article]:
    """The most recently published public articles (uncategorised ones are reached here and by search)."""
    return _readable(list(Article.select().where(PUBLIC)
                          .order_by(Article.published_at.desc(nulls="LAST"), Article.id.desc()).limit(limit)))


def article(number: str) -> Article:
    """A public, published article; NotFound for anything else, worded as for a number that does not exist."""
    article = articles.get(None, number)
    if not (article.status == "published" and article.visibility == "public"):
        raise NotFound(Msg(N_("No article %(number)s."), {"number": number}))
    return article


def search(text: str) -> list[Article]:
    """The search box: every word must match (any word when none matches all), best first."""
    return _readable(search_articles(None, text[:QUERY_LENGTH], limit=RESULTS, public_only=True))


def suggest(text: str) -> list[Article]:
    """Articles like a description the customer is typing (any word counts), best first; none for a short text."""
    if len(text.strip()) < SUGGEST_MIN:
        return []
    return _readable(search_articles(None, text, limit=SUGGESTIONS, public_only=True, any_term=True))


def contact_forms() -> list[tuple[str, str]]:
    """(code, title) of the public web forms, for "still need help?": the processes whose latest version opted in."""
    forms = []
    for (code,) in Process.select(Process.code).where(Process.latest_version > 0).order_by(Process.code).tuples():
        version = channels.web_form_version(code)
        if version is not None:
            forms.append((code, (version.document.get("web_form") or {}).get("title") or version.document["name"]))
    return forms


def client_key(address: str, agent: str) -> str:
    """64 hex characters naming one browser at one address, not reversible without the app's secret."""
    secret = str(current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(secret, f"{address}\n{agent}".encode(), hashlib.sha256).hexdigest()


def answer_of(article: Article, client: str) -> bool | None:
    """The client's answer to "was this helpful" for ``article``, or None."""
    row = ArticleFeedback.get_or_none(ArticleFeedback.article == article.id, ArticleFeedback.client == client)
    return None if row is None else row.helpful


def allow_vote(address: str) -> bool:
    """Record one answer from ``address`` and say whether it is still under the limit."""
    return channels.allow("help", "help-vote", address, VOTE_LIMIT)


def vote(number: str, helpful: bool, client: str) -> tuple[Article, bool]:
    """Count one answer per client and article, in one transaction: (the article as counted, whether it counted).

    The unique (article, client) pair settles a race between two posts of one client: the later one counts nothing.
    """
    with database.atomic():
        found = article(number)
        try:
            with database.atomic():  # a savepoint: PostgreSQL's transaction survives the duplicate
                ArticleFeedback.create(article=found.id, helpful=bool(helpful), client=client, created_at=utcnow())
        except IntegrityError:
            return found, False
        column = Article.helpful_yes if helpful else Article.helpful_no
        Article.update({column: column + 1}).where(Article.id == found.id).execute()
        return Article.get_by_id(found.id), True
