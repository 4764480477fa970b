"""Attachments kept by mail intake (``mailin.ingest``) on both databases, from samples of tests/data/mail.

Checked: a forwarded message is stored as ``.eml`` with its bytes; an inline image
is stored and shown in the note (the note's Markdown renders it as an ``<img>``
of our attachment); S/MIME content is unwrapped and its signature named, not
stored; an empty part is named as not stored and nothing is stored with 0 bytes;
an attachment-only mail still opens a ticket; a GBK name under a GB2312 label
becomes the customer's name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_channels import inquiry

from workflows.i18n import cli_gettext
from workflows.intake import mailin
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Attachment, Ticket, TicketEvent
from workflows.tickets import markdown

CORPUS = Path(__file__).parent / "data" / "mail"


@pytest.fixture
def intake(app, users, seeded):
    """The e-mail process published, inside an app context and a connection."""
    with app.app_context(), database.connection_context():
        docs.save_process(inquiry(), publish=True)
        yield app


def ingest(name: str):
    """The sample ingested as a new ticket: (raw bytes, ticket, its first note, its attachments)."""
    raw = (CORPUS / name).read_bytes()
    line = mailin.ingest(raw, "inquiry", cli_gettext("en"))
    number = re.match(r"created (\w+)", line)
    assert number, line
    ticket = Ticket.get(Ticket.number == number.group(1))
    note = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "note").comment
    return raw, ticket, note, list(Attachment.select().where(Attachment.ticket == ticket).order_by(Attachment.id))


def stored(app, attachment: Attachment) -> bytes:
    return (Path(app.config["UPLOAD_DIR"]) / attachment.stored_name).read_bytes()


@pytest.mark.parametrize("name, eml", [("mail-attachment_message_rfc822.eml", "ForwardedMessage.eml"),
                                       ("built-forward-rfc822-zh.eml", "投诉_ 维修超时.eml")])
def test_a_forwarded_message_is_stored_as_eml_with_its_bytes(intake, name, eml):
    raw, ticket, note, files = ingest(name)
    assert [(f.filename, f.mimetype) for f in files] == [(eml, "message/rfc822")]
    content = stored(intake, files[0])
    assert len(content) == files[0].size > 100 and content in raw
    assert f"- {eml} ({files[0].size} B): /attachments/{files[0].key}" in note


def test_an_inline_image_is_stored_and_shown_in_the_note_and_an_empty_part_named(intake):
    _raw, ticket, note, files = ingest("built-inline-image-empty-part.eml")
    assert [(f.filename, f.mimetype) for f in files] == [("image-1.png", "image/png")]
    assert f"- ![image-1.png](/attachments/{files[0].key}) ({files[0].size} B)" in note
    assert f'<img src="/attachments/{files[0].key}" alt="image-1.png">' in markdown.render(note)
    assert "- not stored: 'empty.pdf': empty (0 bytes)" in note
    assert stored(intake, files[0]).startswith(b"\x89PNG")


def test_a_real_inline_image_beside_a_forwarded_message(intake):
    _raw, _ticket, note, files = ingest("mail-attachment_message_rfc822_inline_image.eml")
    assert [(f.filename, f.mimetype) for f in files] == [("img.png", "image/png"), ("Testmail.eml", "message/rfc822")]
    assert f"![img.png](/attachments/{files[0].key})" in note and "<img" in markdown.render(note)


@pytest.mark.parametrize("name, signature", [("built-smime-opaque-der.eml", "smime.p7m"),
                                             ("built-smime-opaque-ber.eml", "smime.p7m"),
                                             ("built-smime-detached.eml", "smime.p7s")])
def test_smime_signed_content_is_unwrapped(intake, name, signature):
    _raw, ticket, note, files = ingest(name)
    assert ticket.data["message"] == "您好，空调不制冷，请派人维修。" and files == []
    assert f"- not stored: '{signature}': S/MIME signature, not checked" in note


def test_a_real_signed_message_keeps_its_content_not_its_signature(intake):
    _raw, _ticket, note, files = ingest("flanker-signed.eml")
    assert [f.filename for f in files] == ["attachment-1"]
    assert stored(intake, files[0]) == "a pöstal sign of our times".encode()
    assert "- not stored: 'smime.p7s': S/MIME signature, not checked" in note


def test_an_attachment_only_mail_opens_a_ticket(intake):
    _raw, ticket, note, files = ingest("built-rfc2231-gbk-filename-attachment-only.eml")
    assert ticket.data == {"topic": "invoice"}
    assert [(f.filename, f.mimetype.split(";")[0]) for f in files] == [("发票-祐.pdf", "application/pdf"),
                                                                       ("说明.txt", "text/plain")]
    assert "发票-祐.pdf" in note and "说明.txt" in note


def test_a_gbk_name_under_a_gb2312_label_is_the_customer_name(intake):
    _raw, ticket, note, _files = ingest("built-gb2312-label-gbk-name.eml")
    assert ticket.customer.name == "梁祐晟" and ticket.data["topic"] == "冰箱不制冷，请尽快上门"
    assert "E-mail from 梁祐晟 <liang@example.cn>" in note


def test_nothing_is_ever_stored_with_0_bytes(intake):
    for name in ("mail-attachment_message_rfc822.eml", "built-inline-image-empty-part.eml", "flanker-signed.eml",
                 "phpimap-embedded_email.eml", "built-smime-opaque-der.eml"):
        ingest(name)
    assert Attachment.select().where(Attachment.size == 0).count() == 0
    assert Attachment.select().count() == 4  # .eml, image, signed text, .eml
