"""Text out of e-mail bytes the way a good mail client reads it (docs/mail.md, "Decoding and attachments").

Real mail lies about its charset: Chinese mail labelled GB2312 holds GBK
characters (梁祐晟), labels such as ``x-gbk`` or ``ks_c_5601-1987`` are no
Python codec names, headers arrive as raw 8-bit bytes, a part labelled
ISO-8859-1 holds UTF-8. Each label is mapped to the superset codec mail
clients use (GB2312/GBK -> GB18030, Big5 -> Big5-HKSCS, EUC-KR -> CP949);
bytes that do not fit their label, or that have none, go to
``charset-normalizer``, then GB18030, then Latin-1 with replacement, so a
message is never refused for its charset. Every fallback is reported as an
issue string, for the corpus report and the logs.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from charset_normalizer import from_bytes
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

#: Labels seen in real mail that are not Python codec names; None: "unknown", detect it.
ALIASES = {
    "x-gbk": "gb18030", "gb_2312-80": "gb18030", "gb2312-80": "gb18030", "csgb2312": "gb18030",
    "x-euc-cn": "gb18030", "euc-cn": "gb18030", "windows-936": "gb18030", "x-cp936": "gb18030",
    "chinese": "gb18030", "iso-ir-58": "gb18030", "x-mac-chinesesimp": "gb18030",
    "x-big5": "big5hkscs", "cn-big5": "big5hkscs", "x-x-big5": "big5hkscs", "csbig5": "big5hkscs",
    "x-mac-chinesetrad": "big5hkscs", "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "x-windows-949": "cp949",
    "utf8": "utf-8", "x-utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "x-unicode-2-0-utf-7": "utf-7",
    "x-sjis": "cp932", "x-mac-japanese": "cp932", "iso-8859-8-i": "iso-8859-8", "windows-874": "cp874",
    "x-unknown": None, "unknown-8bit": None, "unknown": None, "x-user-defined": None, "default": None,
    "us": "ascii", "ansi_x3.4-1968": "ascii",
}
#: A codec whose characters a superset codec also decodes, as clients do (WHATWG Encoding, Thunderbird).
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs", "euc_kr": "cp949",
             "shift_jis": "cp932", "ascii": "cp1252"}
#: Text codecs that are no charsets: a label naming one is treated as unknown.
NOT_CHARSETS = {"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined", "mbcs", "oem",
                "palmos", "utf_16_be", "utf_16_le", "utf_32_be", "utf_32_le"}
#: Labels that real mail uses for bytes in another charset: checked before they are believed.
DOUBTFUL = {"ascii", "iso8859_1", "iso8859_15", "cp1252", "cp1250", "iso8859_2"}
STATEFUL = {"utf_7", "iso2022_jp", "iso2022_jp_2", "iso2022_kr", "hz"}  # 7-bit bytes that need their codec
MULTIBYTE = {"gb18030", "gb2312", "gbk", "big5", "big5hkscs", "cp950", "cp949", "euc_kr", "cp932", "shift_jis",
             "euc_jp", "utf_8", "utf_16", "utf_32"}


def codec_for(label: str | None) -> str | None:
    """The Python codec to read bytes labelled ``label`` with, or None when the label says nothing usable."""
    name = (label or "").strip().strip("\"'").lower()
    if name in ALIASES:
        name = ALIASES[name]
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in NOT_CHARSETS:
        return None
    codec = info.name.replace("-", "_")
    return SUPERSETS.get(codec, codec)


#: Among guesses the detector finds equally clean, the one our users most likely wrote.
PREFERENCE = ("utf_8", "gb18030", "big5hkscs", "cp949", "cp932", "euc_jp", "cp1252")


def detect(data: bytes) -> str | None:
    """The codec ``charset-normalizer`` finds cleanest for the bytes, if any.

    Short CJK text often decodes cleanly as GBK, Big5 and CP949 alike; the
    detector's ties (same chaos and coherence) go to :data:`PREFERENCE`'s order.
    """
    guesses = [(round(m.chaos, 2), -round(m.coherence, 2), codec_for(m.encoding)) for m in from_bytes(data)]
    guesses = [(chaos, coherence, PREFERENCE.index(c) if c in PREFERENCE else 99, c)
               for chaos, coherence, c in guesses if c is not None]
    return min(guesses)[3] if guesses else None


def _strict(data: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode(data: bytes, label: str | None, hint: str | None = None) -> tuple[str, str | None]:
    """The bytes as text and, when the label was not simply right, an issue saying what was done.

    ``hint``: a codec to try before detection (a header's fallback is the body's charset).
    """
    codec = codec_for(label)
    if not data:
        return "", None
    if codec in STATEFUL or (data.isascii() and codec not in ("utf_16", "utf_32")):
        return _strict(data, codec) or data.decode("ascii", "replace"), None
    if codec is not None and codec not in DOUBTFUL:
        text = _strict(data, codec)
        if text is not None:
            return text, None
    elif codec is not None:  # a single-byte label over 8-bit bytes: UTF-8 or a CJK charset first
        guess = "utf_8" if _strict(data, "utf_8") is not None else detect(data)
        text = _strict(data, guess) if guess in MULTIBYTE else None
        if text is not None:
            return text, f"labelled {label}, read as {guess}"
        return data.decode(codec, "replace"), None
    return _fallback(data, label, hint)


def _fallback(data: bytes, label: str | None, hint: str | None) -> tuple[str, str | None]:
    """UTF-8, the hint, the detector, GB18030, then UTF-8 or Latin-1 with replacement: the first that reads them."""
    said = f"labelled {label}" if label else "no charset"
    for codec in ("utf_8", codec_for(hint)):
        text = _strict(data, codec)
        if text is not None:
            return text, f"{said}, read as {codec}"
    guess = detect(data)
    for codec in (guess, "gb18030"):
        text = _strict(data, codec)
        if text is not None:
            return text, f"{said}, read as {codec}" + (" (detected)" if codec == guess else "")
    text = data.decode("utf-8", "replace")
    if text.count("\ufffd") * 20 <= len(text):  # UTF-8 with a broken byte or two (a cut header)
        return text, f"{said}, read as utf_8 with replacement"
    return data.decode("latin-1", "replace"), f"{said}, read as latin-1"


WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=")
FOLD = re.compile(r"\r?\n(?=[ \t])")


def _word_bytes(kind: str, text: str) -> bytes | None:
    """An encoded word's bytes (B: base64, padding forgiven; Q: quoted-printable with ``_`` for space)."""
    try:
        if kind in "Bb":
            return base64.b64decode(text + "=" * (-len(text) % 4))
        return binascii.a2b_qp(text.replace("_", " ").encode("ascii", "replace"), header=False)
    except (binascii.Error, ValueError):
        return None


def header(raw: str | None, hint: str | None = None, issues: list | None = None, name: str = "header") -> str:
    """A header's value as text: raw 8-bit bytes decoded, RFC 2047 words decoded, folding removed.

    Adjacent words of one charset are joined before decoding: a sender may cut a
    GBK character across two words. ``issues`` collects what was not plainly labelled.
    """
    data = (raw or "").encode("utf-8", "surrogateescape")
    text, issue = (data.decode("ascii"), None) if data.isascii() else _fallback(data, None, hint)
    _note(issues, name, issue and f"raw 8-bit, {issue.split(', ', 1)[-1]}")
    text = FOLD.sub("", text)
    out, chunk, label, end = [], b"", "", 0
    for match in WORD.finditer(text):
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:  # left as it is, in the next gap
            continue
        gap, adjacent = text[end:match.start()], bool(chunk) and not text[end:match.start()].strip()
        if not (adjacent and match.group(1).lower() == label.lower()):
            out.append(_decoded(chunk, label, hint, issues, name))
            chunk, label = b"", match.group(1)
        if not adjacent:  # white space between two encoded words is not text (RFC 2047, 6.2)
            out.append(gap)
        chunk, end = chunk + data, match.end()
    out += [_decoded(chunk, label, hint, issues, name), text[end:]]
    return "".join(out).strip()


def _decoded(chunk: bytes, label: str | None, hint: str | None, issues: list | None, name: str) -> str:
    text, issue = decode(chunk, label, hint)
    _note(issues, name, issue)
    return text


def _note(issues: list | None, name: str, issue: str | None) -> None:
    if issues is not None and issue:
        issues.append(f"{name}: {issue}")


HTML = ParserConfig(css=CSS_PROFILES["strict"], display_links=True, display_images=False)


def html_text(html: str) -> str:
    """HTML as readable text (inscriptis): blocks and lists laid out, links kept as ``[text](url)``, scripts gone."""
    text = get_text(html, HTML) if html.strip() else ""
    lines = (line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
