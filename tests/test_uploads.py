"""Safe uploads (workflows/storage/uploads.py): content decides the type, limits name the field and file,
downloads never render, and a failed action leaves no file and no row; on both databases."""

from __future__ import annotations

import html
import io
import os
import re
import time
import zipfile
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import PASSWORD
from werkzeug.datastructures import FileStorage

from workflows.processes import documents as docs
from workflows.storage import uploads
from workflows.storage.db import database
from workflows.storage.models import Attachment, Ticket, User, utcnow
from workflows.tickets import engine

EN = {"Accept-Language": "en"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 40
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 48 + b"This program cannot be run in DOS mode"


def office(folder: str) -> bytes:
    """A minimal Office Open XML package: a ZIP whose first folder names the application."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(f"{folder}/document.xml", "<document/>")
    return buffer.getvalue()


DOCX = office("word")

CLAIM = {
    "format": 1, "code": "claim", "name": "理赔", "number_prefix": "LP",
    "schema": {"type": "object", "properties": {
        "summary": {"type": "string", "title": "摘要", "maxLength": 80},
        "attachments": {"type": "array", "title": "单据", "x-accept": [".pdf"], "x-max-bytes": 2000,
                        "items": {"type": "string", "format": "attachment"}},
        "evidence": {"type": "array", "title": "材料", "items": {"type": "string", "format": "attachment"}},
        "verdict": {"type": "string", "title": "结论", "maxLength": 20}}},
    "steps": [
        {"key": "open", "name": "登记", "assignee": {"type": "creator"},
         "fields": {"summary": "required", "attachments": "editable", "evidence": "editable"},
         "transitions": [{"to": "review", "label": "送审"}]},
        {"key": "review", "name": "审核", "assignee": {"type": "user", "value": "supervisor"},
         "fields": {"summary": "readonly", "attachments": "editable", "evidence": "editable", "verdict": "required"},
         "transitions": [{"to": "$end", "label": "完成"}]},
    ],
}
PRESENT = ["summary", "attachments", "evidence"]


def upload(content: bytes, name: str, mimetype: str = "application/octet-stream") -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name, content_type=mimetype)


# --- what the content is, whatever the name says -----------------------------------------------------------

PDF_ONLY = CLAIM["schema"]["properties"]["attachments"]
SCRIPT = "could run code"


@pytest.mark.parametrize(("content", "name", "schema", "kind", "problem"), [
    (PNG, "scan.pdf", PDF_ONLY, None, "'scan.pdf' is not a PDF file."),
    (HTML, "photo.png", None, None, SCRIPT),
    (HTML, "notes.txt", None, None, SCRIPT),
    (SVG, "logo.svg", None, None, SCRIPT),
    (SVG, "logo.png", {"x-accept": ["image/*"]}, None, SCRIPT),
    (EXE, "setup.exe", {"x-accept": ["*/*"]}, None, SCRIPT),
    (EXE, "invoice.pdf", PDF_ONLY, None, SCRIPT),
    (b"#!/bin/sh\nrm -rf /\n", "run.txt", None, None, SCRIPT),
    (PDF, "invoice.pdf", PDF_ONLY, "application/pdf", None),
    (PNG, "door.png", None, "image/png", None),
    (PNG, "door", {"x-accept": ["image/*"]}, "image/png", None),
    (DOCX, "report.docx", None, uploads.DOCX.mimetype, None),
    (DOCX, "report.xlsx", None, None, "'report.xlsx' is not a Excel (.xlsx) file."),
    ("订单号,金额\nTH-1,12.5\n".encode(), "orders.csv", None, "text/csv", None),
    ("订单号".encode("gbk") + b"\xff\xfe", "orders.txt", None, None, "is not recognised"),
    (PDF, "invoice.pdf", {"x-accept": ["image/*"]}, None, "'invoice.pdf' is a PDF file; accepted here: image/*."),
    (office("misc"), "bundle.zip", None, None, "accepted here: images, PDF, Office documents, text."),
    (b"ID3\x03\x00" + b"\0" * 20, "call.mp3", {"x-accept": ["audio/*"]}, "audio/mpeg", None),
])
def test_the_content_decides_the_type(content, name, schema, kind, problem):
    verdict = uploads.examine(upload(content, name), schema)
    assert (verdict.kind.mimetype if verdict.problem is None else None) == kind
    assert (problem is None) == (verdict.problem is None)
    if problem:
        assert problem in verdict.problem.render()


def test_a_client_claimed_type_is_never_trusted():
    """The client says PDF; the content is a PNG, and the name has no extension: refused as not a PDF."""
    verdict = uploads.examine(upload(PNG, "scan", "application/pdf"), PDF_ONLY)
    assert verdict.problem.render() == "'scan' is not a PDF file."
    html_claim = uploads.examine(upload(b"hello", "note", "text/html"))
    assert SCRIPT in html_claim.problem.render()


# --- pages and API around a small process ---------------------------------------------------------------

@pytest.fixture
def claim(app, users, seeded):
    with app.app_context(), database.connection_context():
        docs.save_process(CLAIM, publish=True)
    return app


@pytest.fixture
def login(claim):
    def client(username: str):
        web = claim.test_client()
        assert web.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        return web
    return client


@pytest.fixture
def api(claim, users):
    """(method, path, user, **kwargs) -> response, with a bearer token per user."""
    web, tokens = claim.test_client(), {}

    def call(method: str, path: str, user: str, **kwargs):
        if user not in tokens:
            tokens[user] = web.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD}).json["token"]
        headers = {"Authorization": f"Bearer {tokens[user]}", **EN}
        return web.open("/api/v1" + path, method=method, headers=headers, **kwargs)
    return call


def stored(app) -> list[str]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def rows() -> list[Attachment]:
    with database.connection_context():
        return list(Attachment.select().order_by(Attachment.id))


def register(web, status: int = 302, **fields):
    data = {"phone": "13900000000", "customer_name": "李女士", "lz_present": PRESENT, "summary": "车门刮花",
            **fields}
    response = web.post("/call?process=claim", data=data, content_type="multipart/form-data", headers=EN)
    shown = re.findall(r"lz-error[^<]*<|lz-flash[^<]*<|alert-danger[^<]*<", response.get_data(as_text=True))
    assert response.status_code == status, shown
    return response


def field_html(response, name: str) -> str:
    page = response.get_data(as_text=True)
    start = page.index(f'data-lz-field="{name}"')
    return html.unescape(page[start:page.index("</fieldset>", start)])


def number_of(response) -> str:
    return re.search(r"created=(\w+)", response.headers["Location"]).group(1)


def test_a_refused_file_is_named_at_its_field_and_nothing_is_stored(login, claim):
    response = register(login("agent"), 422, attachments=(io.BytesIO(PNG), "scan.pdf", "application/pdf"),
                        evidence=(io.BytesIO(SVG), "logo.svg", "image/svg+xml"))
    assert "'scan.pdf' is not a PDF file." in field_html(response, "attachments")
    assert "'logo.svg' could run code" in field_html(response, "evidence")
    assert rows() == [] and stored(claim) == []


def test_valid_files_are_stored_under_random_names_with_the_sniffed_type(login, claim):
    web = login("agent")
    response = register(web, attachments=(io.BytesIO(PDF), "发票.pdf", "application/octet-stream"),
                        evidence=[(io.BytesIO(DOCX), "report.docx", "application/x-anything"),
                                  (io.BytesIO(PNG), "car.png")])
    found = {a.filename: a for a in rows()}
    assert {name: a.mimetype for name, a in found.items()} == {
        "发票.pdf": "application/pdf", "report.docx": uploads.DOCX.mimetype, "car.png": "image/png"}
    assert all(a.ticket.number == number_of(response) for a in found.values())
    assert sorted(stored(claim)) == sorted(a.stored_name for a in found.values())
    assert not set(stored(claim)) & set(found) and all(re.fullmatch(r"[\w-]{24}", n) for n in stored(claim))


def test_the_field_limit_and_the_per_file_limit_name_the_file(login, claim):
    claim.config["UPLOAD_MAX_BYTES"] = 1000
    big_pdf = PDF + b"%" * 2500
    response = register(login("agent"), 422, attachments=(io.BytesIO(big_pdf), "big.pdf"),
                        evidence=(io.BytesIO(PNG + b"\0" * 1500), "big.png"))
    assert "'big.pdf' is larger than 1000 B." in field_html(response, "attachments")
    assert "'big.png' is larger than 1000 B." in field_html(response, "evidence")
    claim.config["UPLOAD_MAX_BYTES"] = 10_000
    field_only = register(login("agent"), 422, attachments=(io.BytesIO(big_pdf), "big.pdf"))
    assert "'big.pdf' is larger than 2000 B." in field_html(field_only, "attachments")
    assert rows() == [] and stored(claim) == []


def test_a_request_over_max_content_length_is_a_clear_413(login, api, claim):
    claim.config["MAX_CONTENT_LENGTH"] = 1024
    response = register(login("agent"), 413, evidence=(io.BytesIO(PNG + b"\0" * 4000), "huge.png"))
    page = response.get_data(as_text=True)
    assert "Upload too large" in page and "larger than 1024 B in all" in page
    refused = api("POST", "/attachments", "agent", data={"file": (io.BytesIO(PNG + b"\0" * 4000), "huge.png")},
                  content_type="multipart/form-data")
    assert refused.status_code == 413
    assert refused.json == {"error": "too_large", "message": "The request is larger than 1024 B: nothing was saved."}
    assert rows() == [] and stored(claim) == []


# --- downloads ------------------------------------------------------------------------------------------

def assert_safe_download(response, content: bytes, mimetype: str, filename: str) -> None:
    assert response.status_code == 200 and response.get_data() == content
    assert response.mimetype == mimetype
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ") and f"filename*=UTF-8''{quote(filename)}" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"] and "public" not in response.headers["Cache-Control"]
    response.close()


def test_downloads_on_the_page_and_the_api_are_attachments_with_the_sniffed_type(login, api, claim):
    register(login("agent"), attachments=(io.BytesIO(PDF), "发票 11月.pdf", "image/png"))
    key = rows()[0].key
    assert_safe_download(login("agent").get(f"/attachments/{key}"), PDF, "application/pdf", "发票 11月.pdf")
    assert_safe_download(api("GET", f"/attachments/{key}", "agent"), PDF, "application/pdf", "发票 11月.pdf")
    again = login("agent").get(f"/attachments/{key}")
    assert again.headers["Content-Disposition"].startswith('attachment; filename="11.pdf"; ')  # ASCII fallback
    again.close()


def test_an_old_row_with_a_client_type_is_served_as_bytes(login, api, claim, users):
    """Rows stored before sniffing hold the client's type: text/html is never served back."""
    folder = Path(claim.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "legacykey0000000000000000").write_bytes(HTML)
    with database.connection_context():
        Attachment.create(key="legacy", filename="page.html", mimetype="text/html", size=len(HTML),
                          stored_name="legacykey0000000000000000", uploaded_by=users["agent"].id)
    assert_safe_download(login("agent").get("/attachments/legacy"), HTML, "application/octet-stream", "page.html")
    assert_safe_download(api("GET", "/attachments/legacy", "agent"), HTML, "application/octet-stream", "page.html")


def test_the_upload_dir_is_outside_every_static_folder_and_never_served(login, claim):
    from app import create_app

    default = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": claim.config["DATABASE_URL"]})
    for app in (claim, default):
        folder = Path(app.config["UPLOAD_DIR"]).resolve()
        statics = [app.static_folder, *(bp.static_folder for bp in app.blueprints.values())]
        for static in filter(None, statics):
            assert not folder.is_relative_to(Path(static).resolve()), static
    assert Path(default.config["UPLOAD_DIR"]).resolve() == Path(default.instance_path, "uploads").resolve()
    web = login("agent")
    register(web, evidence=(io.BytesIO(PNG), "car.png"))
    name = stored(claim)[0]
    for path in (f"/static/{name}", f"/static/../uploads/{name}", f"/uploads/{name}", f"/instance/uploads/{name}"):
        assert web.get(path).status_code == 404, path


# --- a failed action leaves no file and no row -----------------------------------------------------------

def test_a_refused_create_takes_its_files_with_it(login, claim):
    response = register(login("agent"), 422, summary="", attachments=(io.BytesIO(PDF), "ok.pdf"))
    assert "This field is required." in field_html(response, "summary")
    assert rows() == [] and stored(claim) == []
    with database.connection_context():
        assert Ticket.select().count() == 0


def at_review(login) -> tuple[str, int]:
    number = number_of(register(login("agent")))
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        assert ticket.step == "review" and ticket.assignee.username == "supervisor"
        return number, ticket.version


def advance(web, number: str, version: int, **fields):
    data = {"action": "advance", "version": str(version), "lz_present": ["attachments", "evidence", "verdict"],
            **fields}
    return web.post(f"/tickets/{number}/act", data=data, content_type="multipart/form-data", headers=EN)


def test_a_failed_or_refused_step_on_the_ticket_page_leaves_nothing(login, claim):
    number, version = at_review(login)
    invalid = advance(login("supervisor"), number, version, attachments=(io.BytesIO(PDF), "ok.pdf"))
    assert invalid.status_code == 422 and "This field is required." in field_html(invalid, "verdict")
    wrong_user = advance(login("agent"), number, version, attachments=(io.BytesIO(PDF), "ok.pdf"), verdict="ok")
    assert wrong_user.status_code == 403
    stale = advance(login("supervisor"), number, version - 1, attachments=(io.BytesIO(PDF), "ok.pdf"),
                    verdict="ok")
    assert stale.status_code == 302
    assert rows() == [] and stored(claim) == []
    done = advance(login("supervisor"), number, version, attachments=(io.BytesIO(PDF), "ok.pdf"), verdict="ok")
    assert done.status_code == 302 and [a.field for a in rows()] == ["attachments"] and len(stored(claim)) == 1


def test_an_exception_inside_the_action_removes_the_files(login, claim, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")
    monkeypatch.setattr(engine, "create", broken)
    with pytest.raises(RuntimeError):
        register(login("agent"), 500, evidence=(io.BytesIO(PNG), "car.png"))
    assert rows() == [] and stored(claim) == []


def test_api_uploads_are_checked_and_kept_for_a_retry(api, claim):
    bad_field = api("POST", "/attachments", "agent", data={"file": (io.BytesIO(PDF), "ok.pdf"), "process": "claim",
                                                            "field": "summary"}, content_type="multipart/form-data")
    assert bad_field.status_code == 422 and set(bad_field.json["fields"]) == {"field"}
    wrong = api("POST", "/attachments", "agent", data={"file": (io.BytesIO(PNG), "scan.pdf"), "process": "claim",
                                                        "field": "attachments"}, content_type="multipart/form-data")
    assert wrong.status_code == 422 and wrong.json["fields"] == {"file": ["'scan.pdf' is not a PDF file."]}
    assert rows() == [] and stored(claim) == []
    key = api("POST", "/attachments", "agent", data={"file": (io.BytesIO(PDF), "ok.pdf"), "process": "claim",
                                                      "field": "attachments"}, content_type="multipart/form-data"
              ).json["id"]
    refused = api("POST", "/tickets", "agent", json={"process": "claim", "data": {"attachments": [key]}})
    assert refused.status_code == 422 and set(refused.json["fields"]) == {"summary"}
    assert [a.ticket_id for a in rows()] == [None] and len(stored(claim)) == 1  # the client may retry
    retry = {"process": "claim", "data": {"summary": "x", "attachments": [key]}}
    created = api("POST", "/tickets", "agent", json=retry)
    assert created.status_code == 201 and rows()[0].ticket.number == created.json["number"]


def test_a_file_uploaded_without_a_field_must_still_fit_the_field_it_is_put_in(api, claim):
    """The engine checks type and size against the field: an image uploaded alone cannot go into a PDF-only field."""
    image = api("POST", "/attachments", "agent", data={"file": (io.BytesIO(PNG), "photo.png")},
                content_type="multipart/form-data").json["id"]
    refused = api("POST", "/tickets", "agent",
                  json={"process": "claim", "data": {"summary": "x", "attachments": [image]}})
    assert refused.status_code == 422
    assert refused.json["fields"] == {"attachments": ["'photo.png' is a PNG file; accepted here: .pdf."]}
    evidence = {"process": "claim", "data": {"summary": "x", "evidence": [image]}}
    accepted = api("POST", "/tickets", "agent", json=evidence)
    assert accepted.status_code == 201


def mail_file(path: Path, subject: str, files: list[tuple[bytes, str, str, str]]) -> str:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "王先生 <wang@example.com>", "service@example.com", subject
    msg.set_content("车门刮花")
    for content, maintype, subtype, name in files:
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    path.write_bytes(bytes(msg))
    return str(path)


def test_mail_intake_keeps_safe_files_only_and_nothing_when_refused(claim, tmp_path):
    runner = claim.test_cli_runner()
    files = [(PDF, "application", "pdf", "发票.pdf"), (EXE, "application", "octet-stream", "invoice.pdf.exe")]
    refused = runner.invoke(args=["mail", "ingest", mail_file(tmp_path / "a.eml", "理赔", files),
                                  "--process", "return_goods", "--lang", "en"])
    assert refused.exit_code == 1 and rows() == [] and stored(claim) == []
    created = runner.invoke(args=["mail", "ingest", mail_file(tmp_path / "b.eml", "理赔", files),
                                  "--process", "claim", "--lang", "en"])
    assert created.exit_code == 0, created.output
    assert [(a.filename, a.mimetype) for a in rows()] == [("发票.pdf", "application/pdf")] and len(stored(claim)) == 1
    with database.connection_context():
        from workflows.storage.models import TicketEvent
        note = TicketEvent.get(TicketEvent.action == "note").comment
    assert "- not stored: 'invoice.pdf.exe' could run code" in note


# --- the sweep --------------------------------------------------------------------------------------------

def put(app, user: User, name: str, hours_old: float, ticket: Ticket | None = None, row: bool = True) -> None:
    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(PDF)
    then = time.time() - hours_old * 3600
    os.utime(folder / name, (then, then))
    if row:
        Attachment.create(key=name, filename=f"{name}.pdf", mimetype="application/pdf", size=len(PDF),
                          stored_name=name, uploaded_by=user, ticket=ticket,
                          created_at=utcnow() - timedelta(hours=hours_old))


def test_the_sweep_removes_old_unlinked_rows_and_stray_files_only(login, claim):
    number = number_of(register(login("agent")))
    with claim.app_context(), database.connection_context():
        agent, ticket = User.get(User.username == "agent"), Ticket.get(Ticket.number == number)
        put(claim, agent, "oldUnlinked0000000000000", 48)
        put(claim, agent, "oldLinked000000000000000", 48, ticket)
        put(claim, agent, "newUnlinked0000000000000", 1)
        put(claim, agent, "oldStray0000000000000000", 48, row=False)
        put(claim, agent, "newStray0000000000000000", 1, row=False)
        put(claim, agent, "README", 48, row=False)
    result = claim.test_cli_runner().invoke(args=["uploads", "sweep", "--older-than", "24"])
    assert result.exit_code == 0 and result.output == "1 unlinked attachment(s) and 1 stray file(s) removed\n"
    assert [a.key for a in rows()] == ["oldLinked000000000000000", "newUnlinked0000000000000"]
    assert stored(claim) == ["README", "newStray0000000000000000", "newUnlinked0000000000000",
                             "oldLinked000000000000000"]
