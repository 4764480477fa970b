"""Safe uploads: the real type from the first bytes, size limits, no orphaned files.

A file's type is decided from its content (:mod:`workflows.storage.filetypes`,
docs/files.md), never from its name or the client's Content-Type: those only
have to agree with it, and the type stored and served is the sniffed one (with
a text file's charset). Script-capable files (HTML, SVG, XML,
programs) are refused whatever a field accepts, so no download can run in the
browser. Files are written before the action's transaction commits:
:func:`action` deletes them again if it fails, and ``flask --app app uploads
sweep`` removes what a crash or an abandoned API upload left behind.
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import click
from flask import current_app, has_app_context, send_file
from flask.cli import AppGroup

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.storage import filetypes, generation
from workflows.storage.db import collided, database
from workflows.storage.filetypes import (  # noqa: F401 (uploads.DOCX, uploads.candidates: kept for their users)
    DOC,
    DOCX,
    IMAGES,
    JPEG,
    KINDS,
    ODP,
    ODS,
    ODT,
    PDF,
    PNG,
    POLYGLOT,
    PPT,
    PPTX,
    RISKY,
    TEXT,
    XLS,
    XLSX,
    Kind,
    candidates,
)
from workflows.storage.models import Attachment, utcnow
from workflows.tickets.errors import Conflict, Invalid, NotFound

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 25 * MB  # per file, when UPLOAD_MAX_BYTES is not configured
KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # names store() gives; nothing else in UPLOAD_DIR is touched

BY_EXTENSION = {ext: kind for kind in KINDS for ext in kind.extensions}
BY_MIMETYPE = {kind.mimetype: kind for kind in KINDS}

#: What a field without ``x-accept`` takes (and mail intake keeps): images, PDF, Office documents, text.
DEFAULT_ACCEPT = ("image/*", "application/pdf", DOCX.mimetype, XLSX.mimetype, PPTX.mimetype, DOC.mimetype,
                  XLS.mimetype, PPT.mimetype, ODT.mimetype, ODS.mimetype, ODP.mimetype, "text/plain", "text/csv")
DEFAULT_ACCEPT_TEXT = "images, PDF, Office documents, text"

#: Names and client types a browser or a desktop may open as a page or run as a program.
RISKY_EXTENSIONS = frozenset(
    ".html .htm .xhtml .shtml .mht .mhtml .svg .svgz .xml .xsl .xslt .hta .js .mjs .vbs .vbe .wsf .jar .exe .dll "
    ".com .scr .msi .bat .cmd .ps1 .sh .php .swf .lnk .apk .app .dmg .reg".split())
RISKY_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "*/xml", "*javascript*", "*ecmascript*",
               "application/x-msdownload", "application/x-sh", "application/x-httpd-php")


@dataclass(frozen=True)
class Verdict:
    """What an upload is (``kind``) and why it may not be stored (``problem``), with its size and text charset."""

    kind: Kind | None
    problem: Msg | None
    size: int
    charset: str | None = None

    @property
    def mimetype(self) -> str:
        """The type stored and served: a text file's charset goes with it, so GBK text is not shown as UTF-8.

        UTF-8 stays implicit (:func:`send` says it), as in the rows stored before other charsets were accepted.
        """
        if self.charset in (None, "utf-8"):
            return self.kind.mimetype
        return f"{self.kind.mimetype}; charset={self.charset}"


def max_bytes() -> int:
    """The per-file limit of every field: UPLOAD_MAX_BYTES (below MAX_CONTENT_LENGTH's per-request 413)."""
    return current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES) if has_app_context() else DEFAULT_MAX_BYTES


def human(size: int) -> str:
    return f"{size / MB:.3g} MB" if size >= MB else f"{size} B"


def _size(stream) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _claimed(name: str, mimetype: str | None) -> Kind | None:
    """The type the name's extension (else the client) says the file is."""
    extension = os.path.splitext(name.lower())[1]
    return BY_EXTENSION.get(extension) or BY_MIMETYPE.get((mimetype or "").split(";")[0].strip().lower())


def base_type(mimetype: str) -> str:
    """``text/plain`` of ``text/plain; charset=GB18030``."""
    return mimetype.split(";")[0].strip().lower()


def _risky_claim(name: str, mimetype: str | None) -> bool:
    mimetype = (mimetype or "").lower()
    return os.path.splitext(name.lower())[1] in RISKY_EXTENSIONS or any(fnmatch.fnmatch(mimetype, p)
                                                                       for p in RISKY_TYPES)


def accepts(accept: list[str] | tuple[str, ...], kind: Kind) -> bool:
    """Whether a field's ``x-accept`` patterns (".pdf", "image/*") admit this sniffed kind."""
    for pattern in (p.strip().lower() for p in accept):
        if (pattern in kind.extensions) if pattern.startswith(".") else fnmatch.fnmatch(kind.mimetype, pattern):
            return True
    return False


def examine(upload, schema: dict | None = None) -> Verdict:
    """Size, then content against the claimed name and type, then the field's (or default) allow-list."""
    name = os.path.basename(upload.filename or "file")
    size = _size(upload.stream)
    limit = min(v for v in ((schema or {}).get("x-max-bytes"), max_bytes()) if v)
    if size > limit:
        return Verdict(None, Msg(N_("'%(name)s' is larger than %(limit)s."), {"name": name, "limit": human(limit)}),
                       size)
    if size == 0:
        return Verdict(None, Msg(N_("'%(name)s' is empty (0 bytes): not accepted."), {"name": name}), size)
    found = filetypes.sniff(upload.stream)
    if _risky_claim(name, upload.mimetype) or found.kinds == (RISKY,):
        return Verdict(None, Msg(N_("'%(name)s' could run code (a web page, SVG or program): not accepted."),
                                 {"name": name}), size)
    if found.kinds == (POLYGLOT,):
        return Verdict(None, Msg(N_("'%(name)s' is an image with a web page or script hidden in it: not accepted."),
                                 {"name": name}), size)
    verdict = _verdict(name, _claimed(name, upload.mimetype), found.kinds, (schema or {}).get("x-accept"), size)
    return Verdict(verdict.kind, verdict.problem, size, found.charset) if found.charset else verdict


def _verdict(name: str, claimed: Kind | None, found: tuple[Kind, ...], accept, size: int) -> Verdict:
    """The claimed kind must be among the found ones, except an image named as another image (a HEIC .jpg)."""
    if not found:
        return Verdict(None, Msg(N_("'%(name)s': this type of file is not recognised."), {"name": name}), size)
    if claimed is not None and claimed not in found and not (claimed in IMAGES and found[0] in IMAGES):
        return Verdict(None, Msg(N_("'%(name)s' is not a %(kind)s file."), {"name": name, "kind": claimed.label}),
                       size)
    kind = claimed if claimed in found else found[0]
    if not accepts(accept or DEFAULT_ACCEPT, kind):
        allowed = ", ".join(accept) if accept else DEFAULT_ACCEPT_TEXT
        return Verdict(kind, Msg(N_("'%(name)s' is a %(kind)s file; accepted here: %(accept)s."),
                                 {"name": name, "kind": kind.label, "accept": allowed}), size)
    return Verdict(kind, None, size)


def fits(attachment: Attachment, schema: dict) -> Msg | None:
    """Why a stored file may not go into a field of ``schema`` (its type or size), or None.

    A file uploaded on its own (API, no field named) was checked against the
    default list only; the field it is then put in may accept less.
    """
    name, limit = attachment.filename, schema.get("x-max-bytes")
    if limit and attachment.size > limit:
        return Msg(N_("'%(name)s' is larger than %(limit)s."), {"name": name, "limit": human(limit)})
    kind, accept = BY_MIMETYPE.get(base_type(attachment.mimetype)), schema.get("x-accept")
    if kind is None or not accepts(accept or DEFAULT_ACCEPT, kind):
        allowed = ", ".join(accept) if accept else DEFAULT_ACCEPT_TEXT
        return Msg(N_("'%(name)s' is a %(kind)s file; accepted here: %(accept)s."),
                   {"name": name, "kind": kind.label if kind else attachment.mimetype, "accept": allowed})
    return None


def checked(upload, schema: dict | None = None, field: str = "file") -> Verdict:
    """The verdict of a storable upload; :class:`Invalid` naming ``field`` otherwise."""
    verdict = examine(upload, schema)
    if verdict.problem is not None:
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")), {field: [verdict.problem]})
    return verdict


def problems(spec, files: dict[str, list]) -> dict[str, list[Msg]]:
    """Every submitted file that may not be stored, under its field: all at once, before anything is written.

    ``spec`` is the step's :class:`formbuilder.steps.StepSpec`; ``files`` maps a field to its
    uploads. The same rule (:func:`examine`) serves every path: pages, the API, mail, the dry run.
    """
    errors: dict[str, list[Msg]] = {}
    for name, batch in files.items():
        schema = spec.file_schema(name)  # an attachment field, or a cell of a table's attachment column
        if schema is None:
            errors[name] = [Msg(N_("This field does not take files."))]
            continue
        found = [v.problem for v in (examine(u, schema) for u in batch) if v.problem is not None]
        if found:
            errors[name] = found
    return errors


def folder() -> str:
    """The configured upload folder (``UPLOAD_DIR``)."""
    return current_app.config["UPLOAD_DIR"]


def store(actor, upload, schema: dict | None = None, field: str = "file") -> Attachment:
    """Keep a checked upload under a random name outside any static path, typed by its content; link it later.

    Inside :func:`action` the file is deleted again if the action fails.
    """
    verdict = checked(upload, schema, field)
    key = write(upload, folder())
    try:
        return Attachment.create(key=key, filename=os.path.basename(upload.filename or "file")[:255],
                                 mimetype=verdict.mimetype, size=verdict.size, stored_name=key,
                                 uploaded_by=actor)
    except Exception:
        discard([os.path.join(folder(), key)])
        raise


_written: ContextVar[list[str] | None] = ContextVar("lz_uploads_written", default=None)


def write(upload, upload_dir: str) -> str:
    """Save under a new random name, never the client's, remembered for :func:`action`; the key."""
    key = secrets.token_urlsafe(18)
    os.makedirs(upload_dir, exist_ok=True)
    path = os.path.join(upload_dir, key)
    pending = _written.get()
    if pending is not None:
        pending.append(path)
    upload.stream.seek(0)
    upload.save(path)
    return key


def discard(paths: list[str]) -> None:
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


@contextmanager
def action() -> Iterator[None]:
    """One user action's transaction; the files written in it are deleted again if it fails.

    A transaction PostgreSQL rolls back for a deadlock or a serialization failure is a 409 Conflict, as a
    version clash is: nothing of it was kept and the user may try again (never a 500).
    """
    outer, written = _written.get(), []
    token = _written.set(written)
    try:
        with generation.unit(), database.atomic():  # the configuration stamp: read once per action
            yield
    except BaseException as error:
        discard(written)
        if outer is None and collided(error):
            raise Conflict(Msg(N_("Someone else acted on the same data at the same moment: try again."))) from error
        raise
    finally:
        _written.reset(token)
    if outer is not None:  # an enclosing action may still fail: its cleanup covers these too
        outer.extend(written)


def disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact one as RFC 5987 UTF-8."""
    stem, extension = os.path.splitext(filename)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9._ -]", "", ascii_stem).strip() or "attachment"
    ascii_extension = re.sub(r"[^A-Za-z0-9.]", "", extension)
    return f"attachment; filename=\"{ascii_stem}{ascii_extension}\"; filename*=UTF-8''{quote(filename, safe='')}"


def send(attachment: Attachment, upload_dir: str):
    """The stored file as a download no browser renders, sniffs or keeps in a shared cache."""
    path = os.path.join(upload_dir, attachment.stored_name)
    if not os.path.isfile(path):
        raise NotFound(Msg(N_("No such attachment.")))
    served = attachment.mimetype if base_type(attachment.mimetype) in BY_MIMETYPE else "application/octet-stream"
    response = send_file(path, mimetype=served, conditional=True)
    if served.startswith("text/") and "charset=" not in served:
        served += "; charset=utf-8"  # a text row stored before issue 22: only UTF-8 text was accepted then
    response.headers["Content-Type"] = served  # as stored: werkzeug would add "charset=utf-8" to any text/*
    response.headers["Content-Disposition"] = disposition(attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    response.cache_control.public = False
    return response


def _not_an_articles():
    """An article's files (docs/kb.md) have no ticket either: they are linked, not to be swept."""
    from workflows.storage.models import ArticleAttachment

    return Attachment.id.not_in(ArticleAttachment.select(ArticleAttachment.attachment))


def sweep(upload_dir: str, older_than: timedelta) -> tuple[int, int]:
    """Delete attachments never linked to a ticket and files no row names, both older than ``older_than``."""
    cutoff = utcnow() - older_than
    stale = list(Attachment.select(Attachment.id, Attachment.stored_name)
                 .where(Attachment.ticket.is_null(), Attachment.created_at < cutoff, _not_an_articles()))
    rows = 0
    for attachment in stale:  # one by one: a create may claim one meanwhile, and then it stays
        if Attachment.delete().where(Attachment.id == attachment.id, Attachment.ticket.is_null(),
                                     _not_an_articles()).execute():
            discard([os.path.join(upload_dir, attachment.stored_name)])
            rows += 1
    return rows, _sweep_files(upload_dir, time.time() - older_than.total_seconds())


def _sweep_files(upload_dir: str, before: float) -> int:
    """Files left by a crash between writing and committing: no row names them."""
    if not os.path.isdir(upload_dir):
        return 0
    known = {name for (name,) in Attachment.select(Attachment.stored_name).tuples()}
    strays = [entry.path for entry in os.scandir(upload_dir)
              if entry.is_file() and KEY.fullmatch(entry.name) and entry.name not in known
              and entry.stat().st_mtime < before]
    discard(strays)
    return len(strays)


uploads_cli = AppGroup("uploads", help="Uploaded files (附件).")


@uploads_cli.command("sweep")
@click.option("--older-than", "hours", type=click.FloatRange(min=0), default=24.0, show_default=True,
              help="Only what is older than this many hours (a pending upload may be claimed meanwhile).")
def sweep_command(hours: float) -> None:
    """Delete unlinked attachments and stray files under UPLOAD_DIR."""
    with database.connection_context():
        rows, files = sweep(current_app.config["UPLOAD_DIR"], timedelta(hours=hours))
    click.echo(f"{rows} unlinked attachment(s) and {files} stray file(s) removed")
