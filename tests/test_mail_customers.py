"""One customer per sender address, the acknowledgement and the outgoing rate limit (issue 22), on both databases.

Every mail from one address (in any letter case) finds the same customer; a customer has several addresses
(a caller known by phone who gives one, a merge); the acknowledgement ("已受理") is queued once, answers
the customer's message (``Auto-Submitted: auto-replied``, ``In-Reply-To``) and is sent through a real
SMTP server; past the per-address limit our mail is dropped, not sent.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from test_channels import inquiry
from test_mail import Handler, free_port

from workflows.intake import channels
from workflows.people import customer_emails, customers
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Customer, CustomerEmail, EmailMessage, Ticket, User
from workflows.subscribers import mail
from workflows.tickets import engine

MIGRATION = importlib.import_module("workflows.storage.migrations.0020_mail_intake")


@pytest.fixture
def smtp():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def runner(app, users, seeded, smtp):
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=smtp.port, MAIL_FROM="service@liuzhuan.example")
    with app.app_context(), database.connection_context():
        docs.save_process({**inquiry(), "notify_customer": {"created": True}}, publish=True)
    return app.test_cli_runner()


def ingest(runner, tmp_path: Path, sender: str, subject: str = "冰箱门", headers: str = "") -> str:
    path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.eml"
    path.write_bytes((f"From: {sender}\r\nTo: service@example.com\r\nSubject: {subject}\r\n{headers}"
                      f"Content-Type: text/plain; charset=utf-8\r\n\r\n{path.name} 门坏了\r\n").encode())
    result = runner.invoke(args=["mail", "ingest", str(path), "--process", "inquiry", "--lang", "en"])
    assert result.exit_code == 0, result.output
    return result.output


def customer_of(line: str) -> Customer:
    number = re.search(r"(ZX\d+)", line).group(1)
    with database.connection_context():
        return customers.resolve(Ticket.get(Ticket.number == number).customer)


def test_every_mail_from_one_address_finds_one_customer(runner, tmp_path):
    lines = [ingest(runner, tmp_path, sender) for sender in
             ("Mr Wang <Wang@Example.com>", "wang@example.com", "王先生 <WANG@example.COM>")]
    assert all(line.startswith("created ") for line in lines)
    assert len({customer_of(line).id for line in lines}) == 1
    with database.connection_context():
        assert Customer.select().count() == 1
        assert [e.email for e in CustomerEmail.select()] == ["wang@example.com"]


def test_a_caller_known_by_phone_gives_a_second_address(runner, tmp_path):
    first = customer_of(ingest(runner, tmp_path, "Mr Wang <wang@example.com>"))
    with database.connection_context():
        customers.add_phone(first, "13800138000")
        ticket = engine.create(channels.system_user(), "inquiry", {"topic": "电话"}, channel="phone",
                               customer={"name": "王", "phone": "13800138000", "email": "Wang@Work.example.com"},
                               transition="answer")
        assert ticket.customer_id == first.id
        assert customer_emails.emails_of(Customer.get_by_id(first.id)) == ["wang@example.com", "wang@work.example.com"]
    line = ingest(runner, tmp_path, "wang@work.example.com", subject=f"Re: [{ticket.number}] 电话")
    assert line == f"appended {ticket.number}: the sender is its customer\n"  # may_reply knows every address
    assert customer_of(ingest(runner, tmp_path, "wang@work.example.com")).id == first.id


def test_a_merge_keeps_the_addresses(runner, tmp_path):
    keep = customer_of(ingest(runner, tmp_path, "wang@example.com"))
    drop_line = ingest(runner, tmp_path, "laowang@example.net")
    drop = customer_of(drop_line)
    assert keep.id != drop.id
    with database.connection_context():
        customers.merge(keep, drop, User.get(User.username == "admin"))
        assert customer_emails.emails_of(Customer.get_by_id(keep.id)) == ["wang@example.com", "laowang@example.net"]
        assert customers.snapshot(Customer.get_by_id(keep.id))["emails"][1] == "laowang@example.net"
    assert customer_of(ingest(runner, tmp_path, "LaoWang@example.net")).id == keep.id
    number = re.search(r"(ZX\d+)", drop_line).group(1)
    assert ingest(runner, tmp_path, "laowang@example.net", subject=f"Re: [{number}]").startswith(f"appended {number}")


def test_the_acknowledgement_is_queued_once_and_answers_the_message(runner, tmp_path, smtp, app):
    headers = "Message-ID: <q1@customer.example.com>\r\n"
    line = ingest(runner, tmp_path, "Mr Wang <wang@example.com>", headers=headers)
    assert ingest(runner, tmp_path, "Mr Wang <wang@example.com>", headers=headers).startswith("duplicate: ")
    number = re.search(r"(ZX\d+)", line).group(1)
    with app.app_context(), database.connection_context():
        (ack,) = EmailMessage.select()
        assert (ack.to_addr, ack.auto_submitted, ack.in_reply_to) == ("wang@example.com", "auto-replied",
                                                                    "<q1@customer.example.com>")
        assert mail.send_due("w1") == {"sent": 1, "pending": 0, "failed": 0}
    (sent,) = smtp.messages
    assert number in sent["Subject"] and "已受理" in sent["Subject"]
    assert (sent["Auto-Submitted"], sent["In-Reply-To"], sent["Message-ID"]) == (
        "auto-replied", "<q1@customer.example.com>", ack.message_id)
    assert sent["X-Auto-Response-Suppress"] == "All"



def test_a_sender_asking_for_no_automatic_answer_gets_a_ticket_but_no_acknowledgement(runner, tmp_path, app):
    """Outlook puts X-Auto-Response-Suppress on people's mail: it opens its ticket, only our answer is withheld."""
    line = ingest(runner, tmp_path, "Ms Li <li@example.com>", headers="X-Auto-Response-Suppress: All\r\n")
    assert line.startswith("created "), line
    with app.app_context(), database.connection_context():
        (ack,) = EmailMessage.select()
        assert ack.status == "dropped" and "X-Auto-Response-Suppress" in ack.last_error
        assert mail.send_due("w1") == {"sent": 0, "pending": 0, "failed": 0}


def test_notices_say_auto_generated(runner, app):
    with app.app_context(), database.connection_context():
        row = mail.queue("wang@example.com", "您的工单已办结", "正文")
        parsed = mail.mime(row)
    assert (parsed["Auto-Submitted"], parsed["In-Reply-To"], parsed["Message-ID"]) == (
        "auto-generated", None, row.message_id)


def test_past_the_rate_limit_our_mail_to_an_address_is_dropped(runner, tmp_path, smtp, app):
    app.config["MAIL_RATE_LIMIT"] = "2/3600"
    for _ in range(3):
        ingest(runner, tmp_path, "robot@example.com")
    ingest(runner, tmp_path, "other@example.com")
    with app.app_context(), database.connection_context():
        rows = [(m.to_addr, m.status) for m in EmailMessage.select().order_by(EmailMessage.id)]
        assert rows == [("robot@example.com", "pending")] * 2 + [("robot@example.com", "dropped"),
                                                                ("other@example.com", "pending")]
        assert "rate limit" in EmailMessage.get(EmailMessage.status == "dropped").last_error
        assert mail.send_due("w1")["sent"] == 3
    assert [m["To"] for m in smtp.messages].count("robot@example.com") == 2


def test_the_migration_backfills_addresses_keeping_the_oldest(db):
    with database.connection_context():
        old = Customer.create(name="老王", email="Wang@Example.com")
        young = Customer.create(name="小王", email="wang@example.com")
        other = Customer.create(name="李", email="li@example.com")
        MIGRATION._copy_emails(Customer, CustomerEmail)
        owners = {e.email: e.customer_id for e in CustomerEmail.select()}
        assert owners == {"wang@example.com": old.id, "li@example.com": other.id}
        assert Customer.get_by_id(old.id).email == "wang@example.com"  # lower-cased in place
        assert customers.find_by_email("WANG@example.com").id == old.id and young.merged_into_id is None


def test_the_customer_page_lists_every_address(runner, tmp_path, admin):
    keep = customer_of(ingest(runner, tmp_path, "wang@example.com"))
    with database.connection_context():
        customer_emails.add(keep, "Wang@Work.example.com")
    page = admin.get(f"/customers/{keep.id}").get_data(as_text=True)
    assert 'lz-customer-email">wang@example.com<' in page
    assert '<ul class="list-unstyled mb-0 lz-customer-emails"><li>wang@work.example.com</li></ul>' in page
