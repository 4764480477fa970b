"""An article's files: images its body shows and downloads, stored by the one upload rule (``uploads.store``).

A file is uploaded to a saved article (a new one is saved as a draft first) and linked to it in
the same transaction, with an audit entry; it is served at ``/kb/<number>/attachments/<key>``
to whoever may read the article (anonymous too, for a published public one), and never by the
tickets' ``/attachments/<key>``, which knows only tickets. The Markdown sanitiser keeps an
image whose source ends in ``/attachments/<key>``, so ``![name](/kb/KB000001/attachments/<key>)``
shows inside the article and nothing else can.
"""

from __future__ import annotations

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.kb.articles import EDITORS, _locked, _need, get
from workflows.storage import audit, uploads
from workflows.storage.models import Article, ArticleAttachment, Attachment, User
from workflows.tickets.engine import REQUIRED
from workflows.tickets.errors import Invalid, NotFound
from workflows.tickets.markdown import attachment_markdown

MOST_FILES = 50


def url(article: Article, attachment: Attachment) -> str:
    return f"/kb/{article.number}/attachments/{attachment.key}"


def inserted(article: Article, attachment: Attachment) -> str:
    """The Markdown that shows the file in the body: an image for an image type, else a link."""
    return attachment_markdown(attachment.filename, url(article, attachment), attachment.mimetype)


def files_of(article: Article) -> list[Attachment]:
    return list(Attachment.select().join(ArticleAttachment, on=(ArticleAttachment.attachment == Attachment.id))
                .where(ArticleAttachment.article == article.id).order_by(Attachment.id))


def upload(actor: User, number: str, file) -> Attachment:
    """Store ``file`` and link it to article ``number``; Invalid naming ``file``, Forbidden for non-editors."""
    _need(actor, EDITORS)
    if file is None or not file.filename:
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")), {"file": [REQUIRED]})
    with uploads.action():
        article = _locked(number)
        if ArticleAttachment.select().where(ArticleAttachment.article == article.id).count() >= MOST_FILES:
            raise Invalid(Msg(N_("Nothing was saved: see the fields.")),
                          {"file": [Msg(N_("An article has at most %(most)s files."), {"most": MOST_FILES})]})
        attachment = uploads.store(actor, file, None, "file")
        ArticleAttachment.create(article=article, attachment=attachment)
        audit.record(actor, "kb.file", f"article:{article.number}", None,
                     {"key": attachment.key, "filename": attachment.filename, "size": attachment.size})
    return attachment


def attachment_for(reader: User | None, number: str, key: str) -> Attachment:
    """A file of an article ``reader`` may read; NotFound for anything else (a ticket's file included)."""
    article = get(reader, number)
    attachment = (Attachment.select().join(ArticleAttachment, on=(ArticleAttachment.attachment == Attachment.id))
                  .where(ArticleAttachment.article == article.id, Attachment.key == key).first())
    if attachment is None:
        raise NotFound(Msg(N_("No such attachment.")))
    return attachment
