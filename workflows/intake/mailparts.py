"""A message's parts: its body text and its files, the way a mail client shows them (docs/mail.md).

Nested multiparts are walked; of a ``multipart/alternative`` the plain text
is read (the HTML only when there is no plain text), and the other
alternatives still give their images; a forwarded message (``message/rfc822``)
is one ``.eml`` file with its bytes, named after its subject; S/MIME signed
content is unwrapped (``multipart/signed``, and ``application/pkcs7-mime``
signed-data) and the signature named in the note, not kept: it is not checked
and no handler can use it; an image with a Content-ID or shown inline is an
inline image; an empty part is named as not stored.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import Compat32

from workflows.intake import mailtext, smime

MAX_DEPTH = 30  # parts nested deeper are named, not read (a message bomb)
SIGNATURES = {"application/pkcs7-signature": "S/MIME", "application/x-pkcs7-signature": "S/MIME",
              "application/pgp-signature": "OpenPGP"}
PKCS7 = ("application/pkcs7-mime", "application/x-pkcs7-mime")


class Raw(Compat32):
    """Headers exactly as they came (8-bit bytes as surrogates): :mod:`mailtext` decodes them, not the parser."""

    def header_fetch_parse(self, name, value):
        return value


RAW = Raw(linesep="\n", max_line_length=0)  # no refolding: a forwarded message is written back as it came
RAW_CRLF = RAW.clone(linesep="\r\n")


class MailFile(tuple):
    """``(filename, content type, bytes)`` as intake always used it, plus ``inline`` and a ``problem``.

    A part that is not stored keeps its name and says why in ``problem``.
    """

    def __new__(cls, name: str, mimetype: str, content: bytes, inline: bool = False, problem: str = ""):
        item = super().__new__(cls, (name, mimetype, content))
        item.inline, item.problem = inline, problem
        return item


@dataclass
class Parts:
    """What the walk found: text pieces in order, files, decoding issues."""

    hint: str | None
    issues: list[str]
    texts: list[str] = field(default_factory=list)
    files: list[MailFile] = field(default_factory=list)

    @property
    def body(self) -> str:
        return re.sub(r"\n{3,}", "\n\n", "\n\n".join(t for t in self.texts if t)).strip()


def parse(raw: bytes) -> Message:
    """The message with its headers raw; written back (a forwarded part) with the line ends it came with."""
    return message_from_bytes(raw, policy=RAW_CRLF if b"\r\n" in raw[:4096] else RAW)


def charset_hint(msg: Message) -> str | None:
    """The first declared charset of a text part: a raw 8-bit header is most likely in it."""
    for part in msg.walk():
        label = part.get_param("charset") if part.get_content_maintype() == "text" else None
        if isinstance(label, str) and mailtext.codec_for(label):
            return label
    return None


def collect(msg: Message, issues: list[str]) -> Parts:
    parts = Parts(charset_hint(msg), issues)
    walk(msg, parts)
    return parts


def walk(part: Message, out: Parts, depth: int = 0, texts: bool = True) -> None:
    """One part and what it holds; ``texts`` False: an alternative not chosen, only its files count."""
    ctype = part.get_content_type()
    if depth > MAX_DEPTH:
        out.files.append(MailFile(filename(part, out) or "part", ctype, b"", problem="nested too deep, not read"))
    elif ctype in ("message/rfc822", "message/global"):
        _forwarded(part, out)
    elif ctype.startswith("message/") and part.is_multipart():  # delivery status, disposition notification
        data = b"\n".join(p.as_bytes(policy=part.policy) for p in part.get_payload())
        out.files.append(MailFile(ctype.split("/")[1] + ".txt", "text/plain", data, problem=_empty(data)))
    elif ctype == "multipart/signed":
        _signed(part, out, depth, texts)
    elif ctype == "multipart/alternative":
        _alternative(part, out, depth, texts)
    elif part.is_multipart():
        for sub in part.get_payload():
            walk(sub, out, depth + 1, texts)
    elif _is_text(part, ctype):
        if texts:
            out.texts.append(text(part, out))
    elif not (ctype in PKCS7 and _opaque(part, out, depth, texts)):  # S/MIME read inside, else a file
        _file(part, ctype, out)


def _is_text(part: Message, ctype: str) -> bool:
    """A text part shown as the message, not offered as a file."""
    disposition = (part.get_content_disposition() or "").lower()
    return ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename(part, None)


def text(part: Message, out: Parts) -> str:
    """A text part's content, decoded (HTML as readable text)."""
    label = part.get_param("charset")
    label = label if isinstance(label, str) else None
    data = part.get_payload(decode=True) or b""
    value, issue = mailtext.decode(data, label, out.hint)
    if issue:
        out.issues.append(f"body: {issue}")
    return mailtext.html_text(value) if part.get_content_type() == "text/html" else value.strip()


def _alternative(part: Message, out: Parts, depth: int, texts: bool) -> None:
    """Plain text first, else HTML (or the last alternative); the others give only their files.

    An empty plain text beside an HTML one (some mailers send both, the plain one blank) gives way to the HTML.
    """
    subs = part.get_payload() if isinstance(part.get_payload(), list) else []
    types = [s.get_content_type() for s in subs]
    order = [i for t in ("text/plain", "text/html") for i, c in enumerate(types) if c == t] + [len(subs) - 1]
    chosen = order[0]
    if texts and len(order) > 2 and types[chosen] == "text/plain" and not text(subs[chosen], Parts(out.hint, [])):
        chosen = order[1]
    for i, sub in enumerate(subs):
        walk(sub, out, depth + 1, texts and i == chosen)


def _signed(part: Message, out: Parts, depth: int, texts: bool) -> None:
    """The signed content as if unsigned; the signature named, not kept."""
    subs = part.get_payload() if isinstance(part.get_payload(), list) else []
    for sub in subs[:1]:
        walk(sub, out, depth + 1, texts)
    for sub in subs[1:]:
        kind = SIGNATURES.get(sub.get_content_type())
        if kind is None:
            walk(sub, out, depth + 1, texts)
            continue
        name = filename(sub, out) or "signature"
        out.files.append(MailFile(name, sub.get_content_type(), b"", problem=f"{kind} signature, not checked"))


def _opaque(part: Message, out: Parts, depth: int, texts: bool) -> bool:
    """S/MIME signed-data: its content walked like the message; False for anything else (encrypted)."""
    content = smime.signed_content(part.get_payload(decode=True) or b"")
    if content is None:
        if (part.get_param("smime-type") or "").lower() == "enveloped-data":
            name = filename(part, out) or "smime.p7m"
            out.files.append(MailFile(name, part.get_content_type(), b"", problem="encrypted (S/MIME), cannot be read"))
            return True
        return False
    walk(parse(content), out, depth + 1, texts)
    out.files.append(MailFile("smime.p7m", part.get_content_type(), b"", problem="S/MIME signature, not checked"))
    return True


def _forwarded(part: Message, out: Parts) -> None:
    """A forwarded message: one ``.eml`` file with its bytes, named after its subject."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    data = inner.as_bytes(policy=part.policy) if inner is not None else b""
    subject = mailtext.header(inner.get("subject"), out.hint) if inner is not None else ""
    name = filename(part, out) or safe_name(subject, "forwarded message")
    name = name if name.lower().endswith(".eml") else name + ".eml"
    out.files.append(MailFile(name, "message/rfc822", data, problem=_empty(data)))


def _file(part: Message, ctype: str, out: Parts) -> None:
    """An attachment or an inline image (an image with a Content-ID, or shown inline)."""
    data = part.get_payload(decode=True) or b""
    disposition = (part.get_content_disposition() or "").lower()
    inline = ctype.startswith("image/") and disposition != "attachment" and bool(
        part.get("content-id") or disposition == "inline")
    name = filename(part, out) or _generated(part, ctype, len(out.files) + 1)
    out.files.append(MailFile(name, ctype, data, inline=inline, problem=_empty(data)))


def _empty(data: bytes) -> str:
    return "" if data else "empty (0 bytes)"


def filename(part: Message, out: Parts | None) -> str:
    """The part's file name: Content-Disposition ``filename`` else Content-Type ``name``; RFC 2231 and 2047."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = part.get_param(param, header=header)
        if value:
            break
    else:
        return ""
    hint, issues = (out.hint, out.issues) if out is not None else (None, None)
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value), the value's bytes as latin-1 chars
        name, issue = mailtext.decode(value[2].encode("raw-unicode-escape"), value[0] or None, hint)
        if issues is not None and issue:
            issues.append(f"filename: {issue}")
    else:
        name = mailtext.header(value.strip().strip('"'), hint, issues, "filename")
    return safe_name(name, "")


def safe_name(name: str, default: str) -> str:
    """A name for a stored file: no folders, no control characters, at most 200 characters."""
    name = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", "_", " ".join((name or "").split())).strip(" ._")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:190] + dot + extension[:9]) if dot and len(extension) < 10 else name[:200]
    return name or default


def _generated(part: Message, ctype: str, number: int) -> str:
    """A name for a part that has none: ``image-2.png``, ``attachment-3.pdf``."""
    extension = {"image/jpeg": ".jpg"}.get(ctype) or mimetypes.guess_extension(ctype) or ""
    extension = ".txt" if ctype.startswith("text/") and extension in ("", ".bat", ".ksh") else extension
    stem = "image" if ctype.startswith("image/") else "attachment"
    return f"{stem}-{number}{extension}"
