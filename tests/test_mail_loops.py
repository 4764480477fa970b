"""No mail loops (issue 22): bounces, delay notices and auto-replies open no ticket and add no note.

The samples are real messages from sisimai's set-of-emails (BSD-2-Clause, tests/data/mail/SOURCE_loops.md)
and, for the Chinese auto-replies no public corpus holds, real samples with the subject or one header
changed (``derived-*``). Each class of sign is shown on its own by taking the stronger signs away from a
real bounce one by one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_channels import inquiry

from workflows.intake import loops, mailin
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import MailIntake, Ticket, TicketEvent

MAIL = Path(__file__).parent / "data" / "mail"
EXPECTED = {  # sample -> the reason (its start) the strongest sign gives
    "soe-rfc3834-01.eml": "Auto-Submitted: auto-replied",  # a vacation reply, RFC 3834
    "soe-rfc3834-02.eml": "bounce (empty Return-Path)",  # Exchange "Automatic reply:"
    "soe-rfc3834-03.eml": "automatic subject",  # iCloud "Auto reply:", no header says so
    "soe-rfc3834-06.eml": "Auto-Submitted: auto-replied",  # Mimecast, Precedence: bulk too
    "soe-rhost-tencent-01.eml": "Auto-Submitted: auto-replied",  # a bounce of Tencent (QQ) mail
    "soe-lhost-postfix-01.eml": "Auto-Submitted: auto-replied",
    "soe-lhost-sendmail-01.eml": "Auto-Submitted: auto-generated",  # "auto-generated (failure)": comment dropped
    "soe-lhost-exchange2007-01.eml": "report (multipart/report; delivery-status)",
    "soe-lhost-exchange2003-07.eml": "Precedence: bulk",
    "soe-lhost-office365-01.eml": "Auto-Submitted: auto-replied",
    "soe-lhost-qmail-01.eml": "bounce (empty Return-Path)",
    "soe-lhost-exim-01.eml": "Auto-Submitted: auto-replied",
    "soe-lhost-einsundeins-03.eml": "Auto-Submitted: auto-replied",
    "soe-lhost-gmail-06.eml": "bounce (empty Return-Path)",  # Gmail's delay notice
    "soe-lhost-exim-38.eml": "Auto-Submitted: auto-replied",  # exim's "delayed 24 hours" warning
    "soe-lhost-opensmtpd-06.eml": "sender mailer-daemon",  # OpenSMTPD's delay notice
    "derived-oof-zh-subject.eml": "automatic subject",  # 自动回复: ...
    "derived-oof-zh-xautoreply.eml": "auto-reply header x-autoreply",  # 我正在休假中 + X-Autoreply: yes
    "derived-oof-zh-exchange.eml": "automatic subject",  # 不在办公室 (its X-Auto-Response-Suppress is no sign)
    "derived-bounce-zh-subject.eml": "automatic subject",  # 系统退信, every header sign taken away
}
PEOPLE = ["休假申请：下周一到周三", "退信用卡年费", "关于自动回复功能的建议", "Re: 订单 12345 的退款",
          "Office chair broken", "Out of stock?", "Delivery address change", "回复：您的工单已受理"]


def reason_of(raw: bytes) -> str | None:
    mail = mailin.read(raw)
    return loops.reason(mail.auto_headers, mail.address, mail.subject)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_automatic_message_is_recognised_with_its_reason(name):
    assert (reason_of((MAIL / name).read_bytes()) or "").startswith(EXPECTED[name])


def test_every_bounce_in_the_shared_corpus_is_automatic():
    """Helper files named as bounces, delay notices or reports by their collectors are all caught."""
    named = [p for p in MAIL.glob("*.eml") if re.search(r"bounce|rfc3834|delay|report_|dsn", p.name)]
    assert named and [p.name for p in named if reason_of(p.read_bytes()) is None] == []


def drop(raw: bytes, name: str) -> bytes:
    """The message without its top-level header ``name`` (and its folded lines)."""
    head, sep, body = raw.partition(b"\n\n")
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = line.lower().startswith(name.lower().encode() + b":")
        if not skipping:
            kept.append(line)
    return b"\n".join(kept) + sep + body


def test_each_sign_alone_catches_a_real_bounce():
    """Postfix's bounce carries every sign; taking the strongest away each time, the next one still catches it."""
    raw = (MAIL / "soe-lhost-postfix-01.eml").read_bytes()
    steps = [("Auto-Submitted", "Auto-Submitted: auto-replied"),
             ("Content-Type", "report (multipart/report; delivery-status)"),
             ("Return-Path", "bounce (empty Return-Path)"),
             ("From", "sender mailer-daemon"),
             (None, "automatic subject")]
    for header, expected in steps:
        assert (reason_of(raw) or "").startswith(expected), header
        raw = drop(raw, header) if header else raw
        if header == "From":
            raw = raw.replace(b"\n\n", b"\nFrom: Mail System <notices@example.org>\n\n", 1)
    assert reason_of(drop(raw, "Subject").replace(b"\n\n", b"\nSubject: hello\n\n", 1)) is None


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Auto-Submitted": "auto-generated"}, "Auto-Submitted: auto-generated"),
    ({"Auto-Submitted": "auto-notified"}, "Auto-Submitted: auto-notified"),
    ({"Auto-Submitted": "No"}, None),
    ({"Precedence": "junk"}, "Precedence: junk"), ({"Precedence": "list"}, "Precedence: list"),
    ({"Precedence": "first-class"}, None),
    ({"Content-Type": "multipart/report; report-type=disposition-notification"},
     "report (multipart/report; disposition-notification)"),
    ({"Return-Path": "< >"}, "bounce (empty Return-Path)"),
    ({"X-Autorespond": "Vacation"}, "auto-reply header x-autorespond"),
    ({"Auto-Reply-From": "a@example.com"}, "auto-reply header auto-reply-from"),
    ({"X-Auto-Response-Suppress": "DR, OOF"}, None),  # people's Outlook mail carries it too: no sign
    ({"X-Auto-Response-Suppress": "All"}, None),
    ({"List-Id": "<users.example.org>"}, None),  # a list member writing is still a person
])
def test_header_signs(headers, expected):
    assert loops.by_headers(headers) == expected


AUTOMATIC = ["自动回复：关于订单", "自动答复: 退款", "Automatic reply: 订单", "Out of Office: back Monday",
             "AutoReply: x", "Undeliverable: 退款", "Delivery Status Notification (Failure)",
             "退信：无法投递", "系统退信", "不在办公室：订单", "【自动回复】您好", "目前休假中"]


@pytest.mark.parametrize("subject", AUTOMATIC)
def test_automatic_subjects(subject):
    assert loops.by_subject(subject) == "automatic subject"


@pytest.mark.parametrize("subject", PEOPLE)
def test_people_subjects_are_not_automatic(subject):
    assert loops.by_subject(subject) is None


@pytest.fixture
def runner(app, users, seeded):
    with app.app_context(), database.connection_context():
        docs.save_process(inquiry(), publish=True)
    return app.test_cli_runner()


def ingest(runner, path: Path, *args) -> str:
    result = runner.invoke(args=["mail", "ingest", str(path), *args, "--lang", "en"])
    assert result.exit_code == 0, result.output
    return result.output


def person(tmp_path: Path, subject: str, sender: str = "Mr Wang <wang@example.com>", extra: str = "") -> Path:
    path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.eml"
    path.write_bytes((f"From: {sender}\r\nTo: service@example.com\r\nSubject: {subject}\r\n{extra}"
                      "Content-Type: text/plain; charset=utf-8\r\n\r\n冰箱门坏了\r\n").encode())
    return path


def test_automatic_mail_opens_nothing_and_is_logged_with_its_reason(runner, tmp_path):
    for name in EXPECTED:
        assert ingest(runner, MAIL / name, "--process", "inquiry").startswith("dropped: automatic mail (")
    with database.connection_context():
        assert Ticket.select().count() == 0 and TicketEvent.select().count() == 0
        rows = list(MailIntake.select().order_by(MailIntake.id))
        assert [r.outcome for r in rows] == ["dropped"] * len(EXPECTED)
        assert [r.reason for r in rows if r.reason.startswith("automatic subject")]


def test_an_auto_reply_quoting_a_ticket_adds_no_note_even_from_its_customer(runner, tmp_path):
    line = ingest(runner, person(tmp_path, "冰箱门"), "--process", "inquiry")
    number = re.fullmatch(r"created (ZX\d+)\n", line).group(1)
    with database.connection_context():
        before = TicketEvent.select().count()
    oof = person(tmp_path, f"自动回复: Re: [{number}] 冰箱门", extra="Auto-Submitted: auto-replied\r\n")
    assert ingest(runner, oof, "--process", "inquiry") == "dropped: automatic mail (Auto-Submitted: auto-replied)\n"
    bounce = person(tmp_path, f"Undeliverable: [{number}]", sender="wang@example.com")
    assert ingest(runner, bounce, "--process", "inquiry") == "dropped: automatic mail (automatic subject)\n"
    with database.connection_context():
        assert TicketEvent.select().count() == before and Ticket.select().count() == 1
