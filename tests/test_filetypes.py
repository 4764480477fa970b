"""File typing by kept libraries (issue 22, workflows/storage/filetypes.py): every file of the real-world corpus in
tests/data/files (SOURCE.md) gets its decided type or its reason, and the upload path stores and serves the
sniffed type (with a text file's charset) on both databases."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from conftest import PASSWORD
from werkzeug.datastructures import FileStorage

from workflows.storage import filetypes, uploads

CORPUS = Path(__file__).parent / "data" / "files"
OOXML = "application/vnd.openxmlformats-officedocument."
ODF = "application/vnd.oasis.opendocument."
DOCX, XLSX = OOXML + "wordprocessingml.document", OOXML + "spreadsheetml.sheet"
PPTX = OOXML + "presentationml.presentation"
DOC, XLS, PPT = "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"
SCRIPT, POLYGLOT, UNKNOWN = "could run code", "web page or script hidden in it", "not recognised"
NOT_DEFAULT = "accepted here: images, PDF, Office documents, text."

#: Each corpus file under its own name, no field (the default list): the stored type, or a part of the reason.
EXPECTED = {
    "cpy-big5.txt": "text/plain; charset=Big5",
    "cpy-gb18030.txt": "text/plain; charset=GB18030",
    "cpy-gb2312.txt": "text/plain; charset=GB18030",
    "cpy-gbk.txt": "text/plain; charset=GB18030",
    "cpy-module_iso_8859_1.txt": "text/plain; charset=ISO-8859-1",
    "derived-empty.txt": "is empty (0 bytes)",
    "derived-gbk-as-utf16-bom.txt": "text/plain; charset=utf-16",
    "derived-heic-named.jpg": "image/heic",
    "derived-html-junk.pdf": SCRIPT,
    "derived-html-utf16.txt": SCRIPT,
    "derived-junk-prefix.pdf": "application/pdf",
    "derived-polyglot.jpg": POLYGLOT,
    "derived-polyglot.png": POLYGLOT,
    "derived-ppt-named.doc": "is not a Word (.doc) file",
    "derived-xls-named.doc": "is not a Word (.doc) file",
    "ft-sample.avif": "image/avif",
    "ft-sample.doc": DOC,
    "ft-sample.docx": DOCX,
    "ft-sample.gif": "image/gif",
    "ft-sample.heic": "image/heic",
    "ft-sample.m4a": "is a M4A file; " + NOT_DEFAULT,
    "ft-sample.odp": ODF + "presentation",
    "ft-sample.ods": ODF + "spreadsheet",
    "ft-sample.odt": ODF + "text",
    "ft-sample.png": "image/png",
    "ft-sample.ppt": PPT,
    "ft-sample.pptx": PPTX,
    "ft-sample.tar": UNKNOWN,
    "ft-sample.xls": XLS,
    "ft-sample.xlsx": XLSX,
    "ft-sample.zip": "is a ZIP file; " + NOT_DEFAULT,
    "ft-sample_1.doc": DOC,
    "ft-sample_2.doc": DOC,
    "mc-example_password.docx": DOCX,  # encrypted OOXML is an OLE2 file: its extension names the application
    "mc-example_password.xlsx": XLSX,
    "mc-rc4cryptoapi_password.ppt": PPT,
    "mc-rc4cryptoapi_password.xls": XLS,
    "pm-test.7z": UNKNOWN,
    "pm-test.avif": "image/avif",
    "pm-test.bmp": "image/bmp",
    "pm-test.doc": DOC,
    "pm-test.docm": DOCX,
    "pm-test.docx": DOCX,
    "pm-test.eml": "text/plain",
    "pm-test.exe": SCRIPT,
    "pm-test.fb2": SCRIPT,
    "pm-test.gz": UNKNOWN,
    "pm-test.ico": UNKNOWN,
    "pm-test.jpg": "image/jpeg",
    "pm-test.json": "text/plain",
    "pm-test.mp3": "is a MP3 file; " + NOT_DEFAULT,
    "pm-test.mp4": "is a MP4 file; " + NOT_DEFAULT,
    "pm-test.msg": UNKNOWN,
    "pm-test.odp": ODF + "presentation",
    "pm-test.ods": ODF + "spreadsheet",
    "pm-test.odt": ODF + "text",
    "pm-test.pdf": "application/pdf",
    "pm-test.png": "image/png",
    "pm-test.ppt": PPT,
    "pm-test.pptx": PPTX,
    "pm-test.psd": UNKNOWN,
    "pm-test.rar": UNKNOWN,
    "pm-test.svg": SCRIPT,
    "pm-test.swf": SCRIPT,
    "pm-test.tif": "image/tiff",
    "pm-test.wav": "is a WAV file; " + NOT_DEFAULT,
    "pm-test.webp": "image/webp",
    "pm-test.xls": XLS,
    "pm-test.xlsx": XLSX,
    "pm-test.zip": "is a ZIP file; " + NOT_DEFAULT,
    "pm-test_utf16le.csv": "text/csv; charset=utf-16",
    "pm-text_crlf.txt": "text/plain",
    "pmg-elf-echo": SCRIPT,
    "pmg-keep-going.jpg": "image/jpeg",
    "pmg-test.json": "text/plain",
    "pmg-test.pdf": "application/pdf",
    "pmg-text-iso8859-1.txt": "text/plain; charset=Big5",  # 8 accented letters read as 4 hanzi: see docs/files.md
    "pmg-text.txt": "text/plain",
}


def upload(content: bytes, name: str, mimetype: str = "application/octet-stream") -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name, content_type=mimetype)


def sample(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_every_corpus_file_has_an_expected_verdict_and_the_folder_stays_small():
    files = sorted(p.name for p in CORPUS.iterdir() if p.suffix != ".md")
    assert files == sorted(EXPECTED)
    sizes = [p.stat().st_size for p in CORPUS.iterdir()]
    assert max(sizes) < 200 * 1024 and sum(sizes) < 2 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_corpus_file_gets_its_type_or_its_reason(name):
    verdict = uploads.examine(upload(sample(name), name))
    expected = EXPECTED[name]
    if "/" in expected and " " not in expected.split(";")[0]:
        assert verdict.problem is None, verdict.problem.render()
        assert verdict.mimetype == expected
    else:
        assert verdict.problem is not None and expected in verdict.problem.render()


# --- the decisions, one by one ------------------------------------------------------------------------------

def test_a_heic_named_jpg_is_an_image_kept_as_heic_but_a_jpg_only_field_refuses_it():
    heic = sample("ft-sample.heic")
    assert uploads.examine(upload(heic, "IMG_0001.JPG")).mimetype == "image/heic"
    assert uploads.examine(upload(heic, "IMG_0001.jpg"), {"x-accept": ["image/*"]}).problem is None
    refused = uploads.examine(upload(heic, "IMG_0001.jpg"), {"x-accept": [".jpg"]})
    assert refused.problem.render() == "'IMG_0001.jpg' is a HEIC file; accepted here: .jpg."


def test_office_files_are_typed_by_their_streams_never_by_their_name():
    ppt = sample("pm-test.ppt")
    assert filetypes.candidates(io.BytesIO(ppt)) == (filetypes.PPT,)
    assert uploads.examine(upload(ppt, "slides")).mimetype == PPT  # no extension: the content names it
    assert uploads.examine(upload(ppt, "slides.doc")).problem.render() == "'slides.doc' is not a Word (.doc) file."
    assert uploads.examine(upload(sample("pm-test.msg"), "mail.doc")).problem is not None  # Outlook, not Word
    assert uploads.examine(upload(sample("pm-test.odt"), "report.docx")).problem.render() == (
        "'report.docx' is not a Word (.docx) file.")


def test_a_password_protected_ooxml_file_is_taken_under_its_ooxml_name_only():
    encrypted = sample("mc-example_password.xlsx")
    assert filetypes.candidates(io.BytesIO(encrypted)) == (filetypes.DOCX, filetypes.XLSX, filetypes.PPTX)
    assert uploads.examine(upload(encrypted, "账目.xlsx")).mimetype == XLSX
    assert uploads.examine(upload(encrypted, "账目.xls")).problem.render() == "'账目.xls' is not a Excel (.xls) file."


def test_a_pdf_may_start_after_a_short_junk_prefix_only():
    pdf = sample("pmg-test.pdf")
    assert uploads.examine(upload(b"\r\n" * 500 + pdf, "scan.pdf")).mimetype == "application/pdf"
    assert uploads.examine(upload(b"\r\n" * 600 + pdf, "scan.pdf")).problem is not None
    assert SCRIPT in uploads.examine(upload(b"<script>x</script>" + pdf, "scan.pdf")).problem.render()
    png = sample("pm-test.png")
    assert uploads.examine(upload(png[:60] + b"%PDF-1.4" + png[60:], "door.png")).mimetype == "image/png"


def test_text_in_chinese_encodings_keeps_its_charset_and_markup_in_any_encoding_is_refused():
    gbk = "订单号,金额\n理赔-1,12.5\n".encode("gbk") * 20
    assert uploads.examine(upload(gbk, "orders.csv")).mimetype == "text/csv; charset=GB18030"
    for encoding in ("utf-16", "utf-8-sig", "gb18030"):
        page = "<html><body><script>alert(1)</script></body></html>\n说明".encode(encoding)
        assert SCRIPT in uploads.examine(upload(page, "readme.txt")).problem.render(), encoding
    assert SCRIPT in uploads.examine(upload("#!/bin/sh\n".encode("utf-16"), "run.txt")).problem.render()


def test_binary_noise_is_not_latin1_text():
    noise = bytes((i * 97 + 13) % 255 + 1 for i in range(4096))  # every byte value but NUL
    assert uploads.examine(upload(noise, "data.txt")).problem is not None


def test_a_multibyte_character_cut_at_the_scan_end_is_still_text():
    gbk = ("理赔单" * 30000).encode("gbk")[:filetypes.SCAN + 1]  # the scan ends inside a character
    found = filetypes.sniff(io.BytesIO(gbk + "。".encode("gbk")))
    assert found.kinds[0] == filetypes.TEXT and found.charset == "GB18030"


def test_an_empty_file_is_refused_with_its_name():
    assert uploads.examine(upload(b"", "空.txt")).problem.render() == "'空.txt' is empty (0 bytes): not accepted."


def test_a_page_hidden_in_an_image_is_found_across_read_blocks():
    png = sample("pm-test.png")
    cut = 100 - len(png) % 100 + 3  # the marker straddles two 100-byte blocks
    polyglot = io.BytesIO(png + b"x" * cut + b"<script>alert(1)</script>")
    assert filetypes.hides_a_page(polyglot, chunk=100) and polyglot.tell() == 0
    assert not filetypes.hides_a_page(io.BytesIO(sample("pmg-keep-going.jpg")))  # its XMP metadata is fine


# --- through the upload path, on both databases -------------------------------------------------------------

@pytest.fixture
def api(app, users):
    web = app.test_client()
    token = web.post("/api/v1/auth/token", json={"username": "agent", "password": PASSWORD}).json["token"]

    def call(method: str, path: str, **kwargs):
        return web.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}",
                                                                   "Accept-Language": "en"}, **kwargs)
    return call


@pytest.mark.parametrize(("name", "served"), [
    ("derived-heic-named.jpg", "image/heic"),
    ("cpy-gbk.txt", "text/plain; charset=GB18030"),
    ("derived-gbk-as-utf16-bom.txt", "text/plain; charset=utf-16"),
    ("pm-test.odt", ODF + "text"),
    ("pmg-text.txt", "text/plain"),
    ("pm-test.tif", "image/tiff"),
    ("derived-junk-prefix.pdf", "application/pdf"),
])
def test_the_served_type_is_the_sniffed_one(api, app, name, served):
    content = sample(name)
    created = api("POST", "/attachments", data={"file": (io.BytesIO(content), name, "application/octet-stream")},
                  content_type="multipart/form-data")
    assert created.status_code == 201, created.json
    assert created.json["mimetype"] == served
    response = api("GET", f"/attachments/{created.json['id']}")
    assert response.status_code == 200 and response.get_data() == content
    header = served + "; charset=utf-8" if served == "text/plain" else served  # UTF-8 is stored implicit
    assert response.headers["Content-Type"] == header and response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


@pytest.mark.parametrize(("name", "reason"), [
    ("derived-empty.txt", "is empty"), ("derived-polyglot.png", POLYGLOT), ("derived-ppt-named.doc", "not a Word"),
])
def test_refused_files_name_the_file_field_and_store_nothing(api, app, name, reason):
    refused = api("POST", "/attachments", data={"file": (io.BytesIO(sample(name)), name)},
                  content_type="multipart/form-data")
    assert refused.status_code == 422 and reason in refused.json["fields"]["file"][0]
    folder = app.config["UPLOAD_DIR"]
    assert not os.path.isdir(folder) or os.listdir(folder) == []
