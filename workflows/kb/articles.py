"""Knowledge-base articles: who may read and write them, and their lifecycle draft -> review -> published -> archived.

Every change is one transaction holding the article's row, its :class:`ArticleVersion` (a saved
edit: who and when), its search row (``kb.search.index``) and its audit entry, so a failure leaves
none of them. An edit names the version it was made from and is a conditional update on it: of two
editors of one version only the first saves, the second gets 409 Conflict (no lost update).
Editing keeps the status: editors and reviewers are the same roles, so an edit of a published
article is live at once, with its previous text kept as a version.

Readers: editors (admins, supervisors) read every article; agents and handlers published ones,
internal and public; everyone else (a customer, anonymous, ``None``) published public ones only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.processes import documents as docs
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Article, ArticleVersion, Ticket, User, utcnow
from workflows.tickets.errors import Conflict, Forbidden, Invalid, NotFound

EDITORS = ("admin", "supervisor")
REVIEWERS = ("admin", "supervisor")
STAFF = ("admin", "supervisor", "agent", "handler")  # read internal articles
VISIBILITIES = ("internal", "public")
STATUSES = ("draft", "review", "published", "archived")
CATEGORIES = "kb_category"  # the dictionary whose items are the categories
PREFIX = "KB"
TITLE_LENGTH, BODY_LENGTH = 200, 100_000
TAG_LENGTH, MOST_TAGS = 32, 20
FIELDS = ("title", "body", "category", "tags", "visibility")
#: status changes: action -> (statuses it applies to, the status it leaves, the roles that may take it)
MOVES = {
    "submit": (("draft",), "review", EDITORS),
    "publish": (("review", "archived"), "published", REVIEWERS),
    "archive": (("draft", "review", "published"), "archived", EDITORS),
}
NOTHING_SAVED = N_("Nothing was saved: see the fields.")
NUMBER = re.compile(r"KB\d{6,18}")


def _invalid(key: str, msgid: str, **values) -> Invalid:
    return Invalid(Msg(NOTHING_SAVED), {key: [Msg(msgid, values)]})


# --- Reading -------------------------------------------------------------------------------------------------------

def is_editor(user: User | None) -> bool:
    return user is not None and user.active and user.role in EDITORS


def is_staff(user: User | None) -> bool:
    return user is not None and user.active and user.role in STAFF


def readable(user: User | None, article: Article) -> bool:
    """Whether ``user`` (None: anonymous or a customer) may read ``article``."""
    if is_editor(user):
        return True
    if article.status != "published":
        return False
    return article.visibility == "public" or is_staff(user)


def _find(number: str) -> Article | None:
    text = (number or "").strip().upper()
    return Article.get_or_none(Article.number == text) if NUMBER.fullmatch(text) else None


def get(user: User | None, number: str) -> Article:
    """The article ``number`` as ``user`` may read it; NotFound for a missing one and one they may not read alike."""
    article = _find(number)
    if article is None or not readable(user, article):
        raise NotFound(Msg(N_("No article %(number)s."), {"number": number}))
    return article


def listing(user: User | None, *, status: str | None = None, category: str | None = None,
            limit: int = 200) -> list[Article]:
    """The articles ``user`` may read, recently updated first; editors may ask for one status."""
    query = Article.select().order_by(Article.updated_at.desc(), Article.id.desc())
    if not is_editor(user):
        query = query.where(Article.status == "published")
        query = query if is_staff(user) else query.where(Article.visibility == "public")
    elif status:
        query = query.where(Article.status == status)
    if category:
        query = query.where(Article.category == category)
    return list(query.limit(limit))


def versions(user: User | None, number: str) -> list[ArticleVersion]:
    """The saved versions of an article, newest first, each with its editor (editors only)."""
    article = get(user, number)
    if not is_editor(user):
        raise Forbidden(Msg(N_("Only editors see an article's versions.")))
    return list(ArticleVersion.select(ArticleVersion, User).join(User, on=(ArticleVersion.editor == User.id))
                .where(ArticleVersion.article == article.id).order_by(ArticleVersion.version.desc()))


def link(article: Article) -> str:
    """The Markdown link a note or a reply gets: ``[KB000123 标题](/kb/KB000123)``."""
    title = re.sub(r"([\\`*_{}\[\]()<>#!|])", r"\\\1", " ".join(article.title.split()))
    return f"[{article.number} {title}](/kb/{article.number})"


def category_labels() -> dict[str, str]:
    """item code -> label of the dictionary ``kb_category`` (empty when there is none), in its order."""
    index = docs.dictionary_indexes().get(CATEGORIES)
    return {code: item.label for code, item in index.items.items()} if index is not None else {}


# --- Checking input ------------------------------------------------------------------------------------------------

def _title(value) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise _invalid("title", N_("Enter a title."))
    if len(text) > TITLE_LENGTH:
        raise _invalid("title", N_("A title has at most %(most)s characters."), most=TITLE_LENGTH)
    return text


def _body(value) -> str:
    if not isinstance(value, str):
        raise _invalid("body", N_("The body must be text."))
    if len(value) > BODY_LENGTH:
        raise _invalid("body", N_("The body has at most %(most)s characters."), most=BODY_LENGTH)
    return value.replace("\r\n", "\n")


def _category(value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value not in category_labels():
        raise _invalid("category", N_("No category %(code)s."), code=str(value)[:64])
    return value


def _tags(value) -> list[str]:
    items = re.split(r"[,，;；\s]+", value) if isinstance(value, str) else value
    if not isinstance(items, Iterable) or any(not isinstance(t, str) for t in items):
        raise _invalid("tags", N_("Tags are a list of words."))
    tags = list(dict.fromkeys(t.strip() for t in items if t.strip()))
    if len(tags) > MOST_TAGS:
        raise _invalid("tags", N_("At most %(most)s tags."), most=MOST_TAGS)
    if any(len(t) > TAG_LENGTH for t in tags):
        raise _invalid("tags", N_("A tag has at most %(most)s characters."), most=TAG_LENGTH)
    return tags


def _visibility(value) -> str:
    if value not in VISIBILITIES:
        raise _invalid("visibility", N_("visibility must be internal or public."))
    return value


CHECKS = {"title": _title, "body": _body, "category": _category, "tags": _tags, "visibility": _visibility}


def _source(value) -> Ticket | None:
    if value is None or isinstance(value, Ticket):
        return value
    ticket = Ticket.get_or_none(Ticket.id == value) if isinstance(value, int) else None
    if ticket is None:
        raise _invalid("source_ticket", N_("No such ticket."))
    return ticket


# --- Writing -------------------------------------------------------------------------------------------------------

def snapshot(article: Article) -> dict:
    """What an audit entry keeps of an article."""
    return {"number": article.number, "version": article.version, "status": article.status,
            "title": article.title, "category": article.category, "tags": list(article.tags or []),
            "visibility": article.visibility, "body_length": len(article.body or "")}


def _keep_version(article: Article, editor: User) -> None:
    ArticleVersion.create(article=article, version=article.version, title=article.title, body=article.body,
                          category=article.category, tags=list(article.tags or []),
                          visibility=article.visibility, status=article.status, editor=editor)


def _need(actor: User | None, roles: tuple[str, ...]) -> None:
    if actor is None or not actor.active or actor.role not in roles:
        raise Forbidden(Msg(N_("Your role may not change knowledge-base articles.")))


def create(actor: User, *, title, body, category=None, tags=(), visibility="internal",
           source_ticket=None) -> Article:
    """A new draft, version 1; Invalid naming the field, Forbidden for a role that may not edit."""
    from workflows.kb.search import index

    _need(actor, EDITORS)
    values = {"title": _title(title), "body": _body(body), "category": _category(category), "tags": _tags(tags),
              "visibility": _visibility(visibility)}
    ticket = _source(source_ticket)
    with database.atomic():
        article = Article.create(number="new-" + uuid.uuid4().hex[:16], author=actor, source_ticket=ticket,
                                 status="draft", version=1, **values)
        article.number = f"{PREFIX}{article.id:06d}"
        Article.update(number=article.number).where(Article.id == article.id).execute()
        _keep_version(article, actor)
        index(article)
        audit.record(actor, "kb.create", f"article:{article.number}", None, snapshot(article))
    return article


def _locked(number: str) -> Article:
    """The article for a change, its row locked on PostgreSQL (SQLite's writer lock serialises already)."""
    article = _find(number)
    query = Article.select().where(Article.id == (article.id if article else 0))
    article = (query.for_update() if "postgres" in type(database.obj).__name__.lower() else query).first()
    if article is None:
        raise NotFound(Msg(N_("No article %(number)s."), {"number": number}))
    return article


def _stale(article: Article, expected_version) -> None:
    if expected_version is not None and (not isinstance(expected_version, int) or isinstance(expected_version, bool)
                                         or expected_version != article.version):
        raise Conflict(Msg(N_("Article %(number)s was changed meanwhile (now version %(version)s): reload it."),
                           {"number": article.number, "version": article.version}))


def edit(actor: User, number: str, *, expected_version: int, **fields) -> Article:
    """Save changed fields as the next version; 409 Conflict when ``expected_version`` is not the current one."""
    from workflows.kb.search import index

    _need(actor, EDITORS)
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise _invalid(unknown[0], N_("%(field)s cannot be changed."), field=unknown[0])
    values = {key: CHECKS[key](value) for key, value in fields.items()}
    with database.atomic():
        article = _locked(number)
        _stale(article, expected_version)
        before = snapshot(article)
        changed = {k: v for k, v in values.items() if getattr(article, k) != v}
        if not changed:
            return article
        updated = (Article.update(version=Article.version + 1, updated_at=utcnow(), **changed)
                   .where(Article.id == article.id, Article.version == article.version).execute())
        if not updated:
            _stale(article, -1)
        article = Article.get_by_id(article.id)
        _keep_version(article, actor)
        index(article)
        audit.record(actor, "kb.edit", f"article:{article.number}", before, snapshot(article))
    return article


def _move(action: str, actor: User, number: str, expected_version: int | None) -> Article:
    """One status change: who may, from which statuses; audited."""
    sources, target, roles = MOVES[action]
    _need(actor, roles)
    with database.atomic():
        article = _locked(number)
        _stale(article, expected_version)
        if article.status not in sources:
            raise Conflict(Msg(N_("Article %(number)s is %(status)s: it cannot be %(action)s now."),
                               {"number": article.number, "status": article.status, "action": action}))
        before = snapshot(article)
        changes = {"status": target, "updated_at": utcnow()}
        if target == "published":
            changes.update(published_at=utcnow(), published_by=actor.id)
        Article.update(**changes).where(Article.id == article.id).execute()
        article = Article.get_by_id(article.id)
        audit.record(actor, f"kb.{action}", f"article:{article.number}", before, snapshot(article))
    return article


def submit(actor: User, number: str, *, expected_version: int | None = None) -> Article:
    """A draft goes to review."""
    return _move("submit", actor, number, expected_version)


def publish(actor: User, number: str, *, expected_version: int | None = None) -> Article:
    """A reviewed (or archived) article is published: who and when are kept on the article."""
    return _move("publish", actor, number, expected_version)


def archive(actor: User, number: str, *, expected_version: int | None = None) -> Article:
    """An article leaves every list and search; editors still read it and may publish it again."""
    return _move("archive", actor, number, expected_version)
