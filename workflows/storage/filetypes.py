"""What a file is, from its bytes (issue 22): kept libraries first, our own rules only around them.

Leading-bytes types (images, PDF, audio, video, programs) come from ``filetype`` (h2non, pure
Python, no system library); containers are looked inside: OLE2 by its streams with ``olefile``
(a PowerPoint named .doc stays PowerPoint), ZIP by its members (OOXML folders, ODF's
``mimetype``). Text is anything NUL-free whose encoding ``charset-normalizer`` can name among the
ones Chinese offices write (UTF-8, UTF-16 with a BOM, GB18030 for GB2312/GBK, Big5, Latin-1),
unless it is markup. An image carrying a web page or script (a polyglot) is risky. See docs/files.md.
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass

import filetype
import olefile
from charset_normalizer import from_bytes

SCAN = 64 * 1024  # bytes read to decide: enough for a text file's encoding and markup
PDF_WINDOW = 1024  # PDF readers find "%PDF-" this far into a file (a mail gateway's junk prefix)


@dataclass(frozen=True)
class Kind:
    """A recognised file type: the type it is served as, its name in messages, its usual extensions."""

    mimetype: str
    label: str
    extensions: tuple[str, ...]


PNG = Kind("image/png", "PNG", (".png",))
JPEG = Kind("image/jpeg", "JPEG", (".jpg", ".jpeg", ".jfif"))
GIF = Kind("image/gif", "GIF", (".gif",))
WEBP = Kind("image/webp", "WebP", (".webp",))
HEIC = Kind("image/heic", "HEIC", (".heic", ".heif"))
AVIF = Kind("image/avif", "AVIF", (".avif",))
TIFF = Kind("image/tiff", "TIFF", (".tif", ".tiff"))
BMP = Kind("image/bmp", "BMP", (".bmp",))
PDF = Kind("application/pdf", "PDF", (".pdf",))
OFFICE = "application/vnd.openxmlformats-officedocument."
DOCX = Kind(OFFICE + "wordprocessingml.document", "Word (.docx)", (".docx",))
XLSX = Kind(OFFICE + "spreadsheetml.sheet", "Excel (.xlsx)", (".xlsx",))
PPTX = Kind(OFFICE + "presentationml.presentation", "PowerPoint (.pptx)", (".pptx",))
ODF = "application/vnd.oasis.opendocument."
ODT = Kind(ODF + "text", "OpenDocument text (.odt)", (".odt",))
ODS = Kind(ODF + "spreadsheet", "OpenDocument spreadsheet (.ods)", (".ods",))
ODP = Kind(ODF + "presentation", "OpenDocument presentation (.odp)", (".odp",))
ZIP = Kind("application/zip", "ZIP", (".zip",))
OLE = Kind("application/x-ole-storage", "Office 97-2003", ())
DOC = Kind("application/msword", "Word (.doc)", (".doc",))
XLS = Kind("application/vnd.ms-excel", "Excel (.xls)", (".xls",))
PPT = Kind("application/vnd.ms-powerpoint", "PowerPoint (.ppt)", (".ppt",))
TEXT = Kind("text/plain", "text", (".txt", ".log", ".md"))
CSV = Kind("text/csv", "CSV", (".csv", ".tsv"))
MP3 = Kind("audio/mpeg", "MP3", (".mp3",))
WAV = Kind("audio/wav", "WAV", (".wav",))
MP4 = Kind("video/mp4", "MP4", (".mp4", ".m4v"))
MOV = Kind("video/quicktime", "QuickTime", (".mov",))
M4A = Kind("audio/mp4", "M4A", (".m4a",))
KINDS = (PNG, JPEG, GIF, WEBP, HEIC, AVIF, TIFF, BMP, PDF, DOCX, XLSX, PPTX, ODT, ODS, ODP, ZIP, OLE, DOC, XLS, PPT,
         TEXT, CSV, MP3, WAV, MP4, MOV, M4A)
IMAGES = frozenset(kind for kind in KINDS if kind.mimetype.startswith("image/"))
RISKY = Kind("", "script", ())  # sniffed content that could run: never stored
POLYGLOT = Kind("", "image with a web page", ())  # an image carrying markup or script: never stored

#: ``filetype``'s answers we store, by its MIME name; the programs it knows are risky; anything else is refused.
BY_FILETYPE = {"image/png": PNG, "image/apng": PNG, "image/jpeg": JPEG, "image/gif": GIF, "image/webp": WEBP,
               "image/heic": HEIC, "image/avif": AVIF, "image/tiff": TIFF, "image/bmp": BMP, "application/pdf": PDF,
               "audio/mpeg": MP3, "audio/x-wav": WAV, "video/mp4": MP4, "video/x-m4v": MP4, "video/quicktime": MOV,
               "audio/mp4": M4A}
RISKY_FILETYPES = frozenset({"application/x-msdownload", "application/x-executable", "application/x-shockwave-flash",
                             "application/wasm", "application/x-google-chrome-extension", "application/x-deb",
                             "application/x-rpm", "application/vnd.ms-cab-compressed"})
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")

PROGRAMS = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
            b"\xca\xfe\xba\xbe", b"#!")
MARKUP = (b"<html", b"<!doctype", b"<script", b"<svg", b"<?xml", b"<iframe", b"<body", b"<head", b"<object",
          b"<embed", b"<meta", b"<xsl")
#: Markup that has no business inside an image (XMP metadata uses <?xpacket, <x:xmpmeta and <rdf:, never these).
HIDDEN_PAGE = (b"<html", b"<!doctype", b"<script", b"<svg", b"<iframe", b"<body", b"<object", b"<embed", b"<?php",
               b"javascript:")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLE_STREAMS = ((("WordDocument",), DOC), (("Workbook",), XLS), (("Book",), XLS), (("PowerPoint Document",), PPT))
OOXML_FOLDERS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
ODF_TYPES = {ODT.mimetype: ODT, ODS.mimetype: ODS, ODP.mimetype: ODP}
#: The encodings text may be in, most likely first (a short ambiguous text is read as the first that fits).
ENCODINGS = ("gb18030", "big5", "cp1252", "latin_1")
CHARSETS = {"utf_8": "utf-8", "utf_16": "utf-16", "gb18030": "GB18030", "big5": "Big5", "cp1252": "windows-1252",
            "latin_1": "ISO-8859-1"}
BOMS = ((codecs.BOM_UTF8, "utf_8"), (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16"))


@dataclass(frozen=True)
class Found:
    """The kinds the content may be, most likely first, and a text file's charset (IANA name)."""

    kinds: tuple[Kind, ...]
    charset: str | None = None


def head_of(stream, size: int = SCAN) -> bytes:
    stream.seek(0)
    head = stream.read(size)
    stream.seek(0)
    return head


def sniff(stream) -> Found:
    """Programs first (never stored), then containers, what ``filetype`` knows, a PDF after junk, then text."""
    head = head_of(stream)
    if not head:
        return Found(())
    if head.startswith(PROGRAMS) or (head[:2] == b"MZ" and b"\0" in head[:64]):
        return Found((RISKY,))
    if head.startswith(b"PK\x03\x04"):
        return Found(zip_kinds(stream))
    if head.startswith(OLE_MAGIC):
        return Found(ole_kinds(stream))
    guessed = _by_filetype(stream, head)
    if guessed is None and b"%PDF-" in head[:PDF_WINDOW]:  # junk before the PDF (an image's bytes never count)
        prefix = head[:head.index(b"%PDF-")].lower()
        return Found((RISKY,) if any(m in prefix for m in MARKUP) else (PDF,))
    return guessed if guessed is not None else text(head, len(head) < SCAN)


def candidates(stream) -> tuple[Kind, ...]:
    """The kinds the content may be, most likely first; ``(RISKY,)`` for programs and markup."""
    return sniff(stream).kinds


def _by_filetype(stream, head: bytes) -> Found | None:
    """``filetype``'s matchers; None when it knows nothing (then the content may be text)."""
    mime = filetype.guess_mime(head)
    if mime is None or mime == "video/mp4":
        brand = head[8:12] if head[4:8] == b"ftyp" else b""
        mime = "image/heic" if brand in HEIF_BRANDS else mime
    if mime is None:
        return None
    if mime in RISKY_FILETYPES:
        return Found((RISKY,))
    kind = BY_FILETYPE.get(mime)
    if kind in IMAGES and hides_a_page(stream):
        return Found((POLYGLOT,))
    return Found((kind,) if kind else ())


def hides_a_page(stream, chunk: int = 1024 * 1024) -> bool:
    """Whether markup or script appears anywhere in the file (after the image's end, in a comment...)."""
    overlap = max(len(marker) for marker in HIDDEN_PAGE)
    stream.seek(0)
    tail = b""
    try:
        while block := stream.read(chunk):
            window = (tail + block).lower()
            if any(marker in window for marker in HIDDEN_PAGE):
                return True
            tail = window[-overlap:]
        return False
    finally:
        stream.seek(0)


def zip_kinds(stream) -> tuple[Kind, ...]:
    """ODF names itself in a ``mimetype`` member; Office Open XML by its first folder; else a plain ZIP."""
    try:
        package = zipfile.ZipFile(stream)
        names = package.namelist()
        declared = _member_start(package, "mimetype") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError, NotImplementedError):
        return ()
    finally:
        stream.seek(0)
    if declared in ODF_TYPES:
        return ODF_TYPES[declared], ZIP
    for folder, kind in OOXML_FOLDERS:
        if any(name.startswith(folder) for name in names):
            return kind, ZIP
    return (ZIP,)


def _member_start(package: zipfile.ZipFile, name: str) -> str:
    """The first bytes of a member only: a crafted archive may inflate a "mimetype" of gigabytes."""
    with package.open(name) as member:
        return member.read(100).decode("ascii", "replace").strip()


def ole_kinds(stream) -> tuple[Kind, ...]:
    """Office 97-2003 files by the stream each application writes; an encrypted OOXML file by its package."""
    try:
        with olefile.OleFileIO(stream) as ole:
            streams = ole.listdir(streams=True, storages=False)
    except (OSError, ValueError, IndexError, TypeError):
        return ()
    finally:
        stream.seek(0)
    for path, kind in OLE_STREAMS:
        if list(path) in streams:
            return (kind,)
    if ["EncryptedPackage"] in streams:  # a password-protected .docx/.xlsx/.pptx: its name decides which
        return DOCX, XLSX, PPTX
    return ()


def text(head: bytes, complete: bool) -> Found:
    """Text in a known encoding, unless it is markup a browser would render; ``Found(())`` otherwise."""
    decoded = _decode(head, complete)
    if decoded is None:
        return Found(())
    content, codec = decoded
    lowered = content[:SCAN].lower()
    if lowered.lstrip("\ufeff").startswith("#!") or any(m.decode() in lowered for m in MARKUP):
        return Found((RISKY,))
    return Found((TEXT, CSV), CHARSETS[codec])


def _decode(head: bytes, complete: bool) -> tuple[str, str] | None:
    """The text and its codec: a BOM says it, else UTF-8, else what charset-normalizer names (NUL-free)."""
    for bom, codec in BOMS:
        if head.startswith(bom):
            return _strict(head, codec, complete)
    if b"\0" in head:
        return None
    return _strict(head, "utf_8", complete) or _detected(head, complete)


def _strict(head: bytes, codec: str, complete: bool) -> tuple[str, str] | None:
    try:
        return codecs.getincrementaldecoder(codec)().decode(head, final=complete), codec
    except UnicodeDecodeError:
        return None


def _detected(head: bytes, complete: bool) -> tuple[str, str] | None:
    """charset-normalizer among :data:`ENCODINGS`; a cut multi-byte character at the scan's end is dropped."""
    for cut in (0,) if complete else (0, 1, 2, 3):
        sample = head[:len(head) - cut]
        best = from_bytes(sample, cp_isolation=list(ENCODINGS)).best()
        if best is not None and best.encoding in CHARSETS:
            return str(best), best.encoding
    return None
