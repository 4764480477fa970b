"""Hostile payloads in every admin-authored string and every user value stay text everywhere they are shown.

One process is authored (through ``workflows.processes.documents``) with a payload in its
name, hint, web-form texts, a field title and help, option labels, step names
and transition labels, and its cascade dictionary with payload labels; a ticket
then carries payloads in a field value, the customer's name, a note and a tag.
Each page that shows them must contain their escaped form, never the raw tags,
and pass the inline-code check of ``test_security_headers``; the CSV and XLSX
files must defuse every formula cell; the customer's e-mail is plain text only.
"""

from __future__ import annotations

import csv
import io
from email import message_from_bytes

import pytest
from conftest import example
from markupsafe import escape
from openpyxl import load_workbook
from test_engine import REGISTER, advance, fresh
from test_lists import login
from test_security_headers import inline_code

from web.reports import safe
from workflows.processes import documents as docs
from workflows.reporting.exports import safe_cell
from workflows.storage.models import Customer, EmailMessage
from workflows.subscribers import mail
from workflows.tickets import collab, engine, feedback, tags

SECRET = "test-secret"  # the app fixture's SECRET_KEY
FORMULA_STARTS = ("=", "+", "-", "@")


def script(place: str) -> str:
    return f'<script>alert("{place}")</script>'


def img(place: str) -> str:
    return f'"><img src=x onerror=alert("{place}")>'


TEXTS = {  # place -> the hostile text authored or typed there
    "name": "@SUM(A1)" + script("name"), "hint": img("hint") + "{{7*7}}",
    "form_title": script("form title"), "form_intro": img("form intro"),
    "title": "-1" + script("title"), "help": img("help") + "{{7*7}}",
    "option_yes": script("option"), "option_no": img("option"),
    "dict_parent": script("dict"), "dict_child": '=HYPERLINK("http://x")' + img("dict"),
    "step_first": script("step"), "step_second": '=HYPERLINK("http://x")' + img("step"),
    "transition_first": img("transition"), "transition_second": "+1" + script("transition"),
    "value": "+1" + img("value") + "{{7*7}}", "customer": '=HYPERLINK("http://x")' + script("customer"),
    "note": script("note") + " {{7*7}}", "tag": img("t"),
}
RAW = ("<script>alert", "<img src=x")


def hostile_process() -> dict:
    """The return-goods example with a payload in every admin-authored string."""
    doc = example("return_goods.process.json")
    doc.update(name=TEXTS["name"], hint=TEXTS["hint"], notify_customer={"created": True},
               web_form={"enabled": True, "title": TEXTS["form_title"], "intro": TEXTS["form_intro"]})
    fields = doc["schema"]["properties"]
    fields["defect"].update(title=TEXTS["title"], description=TEXTS["help"])
    fields["approval"]["oneOf"][0]["title"], fields["approval"]["oneOf"][1]["title"] = (TEXTS["option_yes"],
                                                                                        TEXTS["option_no"])
    doc["steps"][0]["name"], doc["steps"][1]["name"] = TEXTS["step_first"], TEXTS["step_second"]
    doc["steps"][0]["transitions"][0]["label"] = TEXTS["transition_first"]
    doc["steps"][1]["transitions"][0]["label"] = TEXTS["transition_second"]
    return doc


def hostile_dictionary() -> dict:
    doc = example("product.dictionary.json")
    fridge = next(item for item in doc["items"] if item["value"] == "fr")
    fridge["label"], fridge["children"][0]["label"] = TEXTS["dict_parent"], TEXTS["dict_child"]
    return doc


@pytest.fixture
def ticket(world):
    """A ticket at the second step of the hostile process, with a hostile value, customer, note and tag."""
    docs.import_dictionary(hostile_dictionary())
    docs.save_process(hostile_process(), publish=True)
    made = engine.create(world["agent"], "return_goods", {**REGISTER, "defect": TEXTS["value"]},
                         customer={"phone": "13900000001", "name": TEXTS["customer"], "email": "li@example.com"})
    made = fresh(made)
    collab.add_note(made.assignee, made.number, TEXTS["note"])
    tags.set_free(world["admin"], True)
    tags.add(made, TEXTS["tag"], world["admin"])
    return fresh(made)


def assert_escaped(html: str, *places: str) -> None:
    """The page shows each place's text escaped, holds none of the raw payload tags and no inline code."""
    for raw in RAW:
        assert raw not in html
    assert inline_code(html) == []
    missing = [place for place in places if not any(form in html for form in escaped_forms(TEXTS[place]))]
    assert missing == [], f"not shown escaped: {missing}"


def escaped_forms(text: str) -> tuple[str, str]:
    """``text`` escaped as Jinja does, and as the notes' Markdown does in a text node (quotes kept, which is safe
    outside an attribute; ``<``, ``>`` and ``&`` escaped either way)."""
    jinja = str(escape(text))
    return jinja, jinja.replace("&#34;", '"').replace("&#39;", "'")


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_the_call_page_escapes_the_process_the_dictionary_and_the_caller(client, ticket):
    html = page(login(client, "agent"), "/call?process=return_goods&phone=13900000001")
    assert_escaped(html, "name", "hint", "title", "help", "dict_parent", "transition_first", "customer")
    assert "{{7*7}}" in html  # shown as typed, never evaluated as a template


def test_the_ticket_page_escapes_every_string_it_shows(client, ticket):
    html = page(login(client, ticket.assignee.username), f"/tickets/{ticket.number}")
    assert_escaped(html, "name", "step_second", "title", "value", "option_yes", "option_no", "transition_second",
                   "note", "tag", "customer")


def test_the_lists_and_the_customer_page_escape(client, ticket):
    login(client, "admin")
    assert_escaped(page(client, "/?scope=all"), "name", "step_second", "customer")
    assert_escaped(page(client, f"/customers/{Customer.get().id}"), "customer", "name")
    assert_escaped(page(client, "/inbox"))


@pytest.mark.parametrize(("url", "places"), [
    ("/admin/processes/", ["name"]),
    ("/admin/processes/return_goods/edit", ["name", "hint", "title", "step_first", "step_second",
                                            "transition_first", "transition_second"]),
    ("/admin/processes/return_goods/fields/defect", ["title", "help"]),
    ("/admin/processes/return_goods/fields/approval", ["option_yes", "option_no"]),
    ("/admin/processes/return_goods/steps/approve", ["step_second", "transition_second"]),
    ("/admin/processes/return_goods/matrix", ["title", "step_first", "step_second"]),
    ("/admin/processes/return_goods/versions", ["name"]),
    ("/admin/processes/return_goods/2/register", ["name", "hint", "title", "help", "dict_parent"]),
    ("/admin/dictionaries/product/", ["dict_parent", "dict_child"]),
    ("/admin/tags/", ["tag"]),
])
def test_the_admin_pages_escape(client, ticket, url, places):
    assert_escaped(page(login(client, "admin"), url), *places)


def test_the_reports_escape_names_in_the_page_and_defuse_them_in_the_files(client, ticket):
    login(client, "admin")
    for group in ("process", "step"):
        assert_escaped(page(client, f"/reports?group={group}"), "name" if group == "process" else "step_second")
    rows = list(csv.reader(io.StringIO(client.get("/reports/export.csv?group=process").get_data(as_text=True))))
    assert_defused([cell for row in rows for cell in row], "name")
    book = load_workbook(io.BytesIO(client.get("/reports/export.xlsx?group=process").get_data()))
    assert_defused([c for sheet in book for row in sheet.iter_rows(values_only=True) for c in row], "name")


def assert_defused(cells: list, *places: str) -> None:
    """No text cell starts a formula, and each place's text is there behind the defusing quote."""
    texts = [cell for cell in cells if isinstance(cell, str)]
    assert [cell for cell in texts if cell.startswith(FORMULA_STARTS)] == []
    for place in places:
        assert "'" + TEXTS[place] in texts, place


def test_ticket_exports_defuse_every_formula_cell(client, ticket):
    login(client, "admin")
    query = "scope=all&type=return_goods"  # one process: its fields get columns
    rows = list(csv.reader(io.StringIO(client.get(f"/tickets/export.csv?{query}").get_data(as_text=True))))
    assert_defused([cell for row in rows for cell in row], "name", "step_second", "customer", "title", "value")
    book = load_workbook(io.BytesIO(client.get(f"/tickets/export.xlsx?{query}").get_data()))
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row]
    assert_defused(cells, "name", "step_second", "customer", "title", "value")


def test_the_customer_pages_escape(app, ticket):
    anonymous = app.test_client()
    assert_escaped(page(anonymous, "/forms/return_goods"), "form_title", "form_intro", "title", "help",
                   "dict_parent")
    assert_escaped(page(anonymous, f"/p/{feedback.progress_token(ticket, SECRET)}"), "name", "step_second")


def test_the_customer_mail_is_plain_text_with_one_line_subject(client, ticket):
    assert EmailMessage.select().where(EmailMessage.ticket == ticket).count() == 1  # notify_customer: created
    message = mail.queue_template(ticket, "{customer}: {process} / {step}", subject="{process}\nBcc: x@example.com")
    parsed = message_from_bytes(mail.mime(message).as_bytes())
    assert not parsed.is_multipart() and parsed.get_content_type() == "text/plain"  # no HTML part to inject into
    assert parsed["Bcc"] is None and "\n" not in message.subject and TEXTS["name"] in message.subject
    body = parsed.get_payload(decode=True).decode("utf-8").rstrip("\n")
    assert body == f'{TEXTS["customer"]}: {TEXTS["name"]} / {TEXTS["step_second"]}'  # plain text, as written
    assert_escaped(page(login(client, "admin"), "/admin/mail/outbox"), "name")


def test_rejecting_with_hostile_reasons_keeps_the_timeline_escaped(client, ticket, world):
    reason = script("reason") + "{{7*7}}"
    advance(world, ticket.assignee.username, ticket, {"approval": "reject", "reject_reason": reason},
            transition="$end")
    html = page(login(client, "admin"), f"/tickets/{ticket.number}")
    assert_escaped(html, "name", "option_no", "note")
    assert str(escape(reason)) in html


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1"])
def test_both_spreadsheet_writers_defuse_the_same_formula_starts(text):
    assert safe(text) == safe_cell(text) == "'" + text
