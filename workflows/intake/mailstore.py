"""A message's files kept on its ticket, and the note's line for each (docs/mail.md, "Decoding and attachments").

Files go through the upload rules (:func:`workflows.storage.uploads.examine`)
like any upload, with two differences. A forwarded message (``.eml``) is kept
as ``message/rfc822`` without the content sniffing: an e-mail is text that
often holds HTML, which the sniffer refuses as a web page, yet it is only ever
served as a download no browser renders (``uploads.send``: octet-stream,
attachment, sandbox CSP) and the size limit still holds. An inline image is
shown in the note (``![name](/attachments/KEY)``). A part not stored (empty,
a signature, encrypted, refused by the rules) is named with the reason.
"""

from __future__ import annotations

import os
from io import BytesIO

from werkzeug.datastructures import FileStorage

from workflows.storage import uploads
from workflows.storage.models import Attachment
from workflows.tickets import markdown

MESSAGE = "message/rfc822"


def keep(ticket, actor, item) -> str:
    """Store one ``(name, type, bytes)`` file on the ticket; its note line (``- not stored: ...`` if not)."""
    name, mimetype, content = item
    problem = getattr(item, "problem", "") or ("" if content else "empty (0 bytes)")
    if problem:
        return f"- not stored: '{name}': {problem}"
    if mimetype == MESSAGE:
        stored = _message(actor, name, content)
    else:
        upload = FileStorage(BytesIO(content), filename=name, content_type=mimetype)
        refused = uploads.examine(upload).problem
        stored = refused.render() if refused is not None else uploads.store(actor, upload)
    if isinstance(stored, str):
        return f"- not stored: {stored}"
    Attachment.update(ticket=ticket).where(Attachment.id == stored.id).execute()
    url = f"/attachments/{stored.key}"
    if getattr(item, "inline", False):
        return f"- {markdown.attachment_markdown(stored.filename, url, stored.mimetype)} ({stored.size} B)"
    return f"- {stored.filename} ({stored.size} B): {url}"


def _message(actor, name: str, content: bytes) -> Attachment | str:
    """A forwarded message's bytes as an ``.eml`` attachment, or why not (too large)."""
    limit = uploads.max_bytes()
    if len(content) > limit:
        return f"'{name}' is larger than {uploads.human(limit)}."
    upload = FileStorage(BytesIO(content), filename=name, content_type=MESSAGE)
    key = uploads.write(upload, uploads.folder())
    try:
        return Attachment.create(key=key, filename=name[:255], mimetype=MESSAGE, size=len(content),
                                 stored_name=key, uploaded_by=actor)
    except Exception:
        uploads.discard([os.path.join(uploads.folder(), key)])
        raise
