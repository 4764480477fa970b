"""Customer e-mail on both databases, through a real SMTP server (aiosmtpd) on 127.0.0.1.

Checked: a created, moved and closed ticket e-mails its customer (subject with the
ticket number, body with a working progress link) once the worker runs, and only
then; a rolled-back action queues nothing; a refusing or absent SMTP server fails
no action, leaves the message pending with its error and back-off, and it is sent
once the server works; placeholders cannot reach attributes; the process setting
from the visual editor; the admin pages (403 for agents, audit, preview, retry).
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from conftest import example
from helpers import assert_retried_now
from htmlforms import form, with_values
from test_engine import FINANCE, WAREHOUSE, advance, fresh

from formbuilder import editing
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import (
    AuditEntry,
    EmailMessage,
    EmailTemplate,
    Process,
    Ticket,
    TicketEvent,
    utcnow,
)
from workflows.subscribers import mail
from workflows.tickets import engine, feedback

CUSTOMER = {"name": "张三", "phone": "13800138000", "email": "zhangsan@example.com"}
BASE_URL = "https://lz.example.com"
REGISTER = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "门坏了"}


class Handler:
    """The SMTP server's side: records accepted messages; answers 554 while ``refuse`` is set."""

    def __init__(self):
        self.messages: list = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 Message refused"
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    """A loopback port nobody listens on (connecting is refused) until someone binds it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def ctx(app, smtp, world):
    """An app context configured for the test SMTP server; ``world`` is the engine's organisation."""
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=smtp.port, MAIL_FROM="service@liuzhuan.example",
                      BASE_URL=BASE_URL)
    with app.app_context():
        yield app


def notifying(**setting) -> None:
    """Publish the return-goods process with ``notify_customer`` set as given."""
    document = example("return_goods.process.json")
    document["notify_customer"] = setting
    docs.save_process(document, publish=True)


def create(world, customer=CUSTOMER) -> Ticket:
    return engine.create(world["agent"], "return_goods", dict(REGISTER), customer=dict(customer))


def outbox() -> list[EmailMessage]:
    return list(EmailMessage.select().order_by(EmailMessage.id))


def to_finance_and_close(world, ticket: Ticket) -> None:
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, FINANCE, action="close")


def test_created_moved_and_closed_tickets_email_the_customer_once_the_worker_runs(ctx, world, smtp, runner):
    notifying(created=True, steps=["warehouse"], closed=True)
    ticket = create(world)
    assert [(m.status, m.event, m.to_addr) for m in outbox()] == [("pending", "ticket.created", CUSTOMER["email"])]
    assert smtp.messages == []  # queued only: the action sends nothing
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "webhooks: 0 delivered, 0 to retry, 0 failed; e-mails: 1 sent, 0 to retry, 0 failed"
    (sent,) = smtp.messages
    assert sent["To"] == CUSTOMER["email"] and sent["From"] == "service@liuzhuan.example"
    assert sent["Subject"] == f"您的工单 {ticket.number} 已受理"
    body = sent.get_content()
    link = f"{BASE_URL}/p/{feedback.progress_token(ticket)}"
    assert link in body and "张三 您好" in body and "退货申请" in body and "主管审批" in body
    assert ctx.test_client().get(link.removeprefix(BASE_URL)).status_code == 200  # the link opens the progress page
    row = EmailMessage.get()
    assert (row.status, row.attempts, row.last_error, row.locked_by, row.sent_at is not None) == (
        "sent", 1, None, None, True)
    to_finance_and_close(world, ticket)
    assert [m.event for m in outbox()] == ["ticket.created", "ticket.advanced", "ticket.closed"]  # not finance
    assert mail.send_due("w1") == {"sent": 2, "pending": 0, "failed": 0}
    assert [m["Subject"] for m in smtp.messages[1:]] == [f"您的工单 {ticket.number} 有新进展：仓库收货",
                                                        f"您的工单 {ticket.number} 已办结"]
    assert link in smtp.messages[2].get_content()


def test_nothing_is_sent_before_the_action_commits(ctx, world, smtp):
    notifying(created=True)
    seen = {}

    def other_worker():
        with database.connection_context():  # its own connection: sees committed rows only
            seen["counts"] = mail.send_due("w2")

    with database.atomic():
        create(world)
        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(30)
        assert seen["counts"] == {"sent": 0, "pending": 0, "failed": 0}
    assert smtp.messages == [] and len(outbox()) == 1
    assert mail.send_due("w1")["sent"] == 1 and len(smtp.messages) == 1


def test_a_rolled_back_action_queues_nothing(ctx, world, monkeypatch):
    notifying(created=True, closed=True)

    def boom(**fields):
        raise RuntimeError("disk full")

    monkeypatch.setattr(TicketEvent, "create", boom)  # fails after the e-mail row was written
    with pytest.raises(RuntimeError):
        create(world)
    assert EmailMessage.select().count() == 0 and Ticket.select().count() == 0


@pytest.mark.parametrize(("setting", "customer", "queued"), [
    ({}, CUSTOMER, 0),  # the process does not ask for it
    ({"created": False, "steps": ["finance"], "closed": True}, CUSTOMER, 0),
    ({"created": True}, {"name": "李四", "phone": "13900139000"}, 0),  # no e-mail address
    ({"created": True}, None, 0),  # no customer
    ({"created": True}, CUSTOMER, 1),
])
def test_only_what_the_process_asks_for_and_only_to_an_address(ctx, world, setting, customer, queued):
    notifying(**setting)
    engine.create(world["agent"], "return_goods", dict(REGISTER), customer=customer)
    assert EmailMessage.select().count() == queued


def test_a_refusing_smtp_server_fails_no_action_and_the_message_is_retried(ctx, world, smtp):
    notifying(created=True)
    smtp.refuse = True
    ticket = create(world)
    assert fresh(ticket).status == "open"
    start = utcnow()
    assert mail.send_due("w1", now=start) == {"sent": 0, "pending": 1, "failed": 0}
    row = EmailMessage.get()
    assert (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
    assert row.last_error.startswith("SMTP 554") and "refused" in row.last_error
    wait = (row.next_attempt_at - start).total_seconds()
    assert 24 <= wait <= 36  # the webhooks' back-off: 30 s, ±20 %
    smtp.refuse = False
    assert mail.send_due("w1", now=start + timedelta(seconds=wait - 1))["sent"] == 0  # not due yet
    assert smtp.messages == []
    assert mail.send_due("w1", now=row.next_attempt_at)["sent"] == 1
    (sent,) = smtp.messages
    assert ticket.number in sent["Subject"]
    row = EmailMessage.get()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_no_smtp_server_at_all_fails_no_action_then_gives_up_after_the_attempts(ctx, world):
    notifying(created=True)
    ctx.config["MAIL_PORT"] = free_port()
    ticket = create(world)
    assert fresh(ticket).status == "open" and TicketEvent.select().count() == 1
    assert mail.send_due("w1")["pending"] == 1
    row = EmailMessage.get()
    assert "refused" in row.last_error.lower() and row.next_attempt_at > utcnow()
    EmailMessage.update(attempts=mail.MAX_ATTEMPTS - 1, next_attempt_at=utcnow()).execute()
    assert mail.send_due("w1")["failed"] == 1 and EmailMessage.get().status == "failed"
    assert mail.retry_now(row.id) and EmailMessage.get().status == "pending"


def test_placeholders_cannot_reach_attributes(ctx, world, smtp):
    values = {"number": "GD1", "status": "处理中", "step": "审批", "process": "退货", "link": "L", "customer": "张三"}
    text = "{number.__class__} {number[0]} {number!r} {number:>9} {__globals__} {{number}} {number}"
    assert mail.render(text, values) == "{number.__class__} {number[0]} {number!r} {number:>9} {__globals__} {GD1} GD1"
    assert mail.unknown_placeholders(text) == ["{number.__class__}", "{number[0]}", "{number!r}", "{number:>9}",
                                               "{__globals__}"]
    notifying(created=True)
    EmailTemplate.delete().where(EmailTemplate.event == "created").execute()
    EmailTemplate.create(event="created", subject="{number.__init__.__globals__} {number}", body="{link}")
    ticket = create(world)
    assert EmailMessage.get().subject == f"{{number.__init__.__globals__}} {ticket.number}"


def test_queue_template_for_the_automation_rules(ctx, world):
    ticket = create(world)  # the process does not notify: only explicit calls queue
    assert EmailMessage.select().count() == 0
    row = mail.queue_template(ticket, "投诉已升级：{number}，{customer}", subject="工单 {number} 已升级")
    assert (row.subject, row.body) == (f"工单 {ticket.number} 已升级", f"投诉已升级：{ticket.number}，张三")
    assert row.to_addr == CUSTOMER["email"]
    assert mail.queue_template(ticket, "closed").subject == f"您的工单 {ticket.number} 已办结"
    with pytest.raises(ValueError):
        mail.queue("not an address\r\nBcc: x@example.com", "s", "b")


def test_the_process_setting_from_the_editor_basics():
    doc = example("return_goods.process.json")
    unticked = {"notify_created": False, "notify_steps": [], "notify_closed": False}
    assert "notify_customer" not in editing.set_basics(doc, {**doc, **unticked})  # absent stays absent
    ticked = editing.set_basics(doc, {**doc, "notify_created": True, "notify_steps": ["finance", "nope", "warehouse"],
                                      "notify_closed": False})
    assert ticked["notify_customer"] == {"created": True, "steps": ["warehouse", "finance"]}  # the steps' order
    off = editing.set_basics(ticked, {**ticked, **unticked})
    assert off["notify_customer"] == {"created": False, "steps": []}
    assert editing.set_basics(off, {**off, **unticked}) == off


# -- admin ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/admin/mail/", "/admin/mail/templates/created", "/admin/mail/outbox"])
def test_admin_mail_pages_are_for_admins_only(client, auth, path):
    assert client.get(path).status_code == 302  # anonymous: to the login page
    auth.login("agent")
    assert client.get(path).status_code == 403
    assert client.post("/admin/mail/templates/created", data={"subject": "x", "body": "y"}).status_code == 403
    assert client.post("/admin/mail/outbox/1/retry").status_code == 403


def test_admin_edits_a_template_with_preview_and_audit(client, auth):
    auth.login("admin")
    page = client.get("/admin/mail/templates/closed").get_data(as_text=True)
    assert "您的工单 {number} 已办结" in page
    form = {"subject": "工单 {number} 完成", "body": "{customer}：请看 {link}", "sample": ""}
    shown = client.post("/admin/mail/templates/closed", data={**form, "preview": "1"}).get_data(as_text=True)
    assert "工单 GD202611220001 完成" in shown and "张三：请看" in shown
    assert mail.template("closed")[0] == "您的工单 {number} 已办结"  # not saved
    bad = client.post("/admin/mail/templates/closed", data={**form, "subject": "{number.__class__}"})
    assert bad.status_code == 422 and "{number.__class__}" in bad.get_data(as_text=True)
    assert client.post("/admin/mail/templates/closed", data=form).status_code == 302
    assert EmailTemplate.get(EmailTemplate.event == "closed").subject == "工单 {number} 完成"
    entry = AuditEntry.get()
    assert (entry.action, entry.target, entry.after["subject"]) == ("mail.template", "mail_template:closed",
                                                                     "工单 {number} 完成")
    assert entry.before["subject"] == "您的工单 {number} 已办结"
    assert client.get("/admin/mail/templates/nope").status_code == 404


def test_admin_outbox_log_and_retry_now(client, auth):
    auth.login("admin")
    row = EmailMessage.create(to_addr="a@example.com", subject="主题", body="正文", status="failed",
                              attempts=mail.MAX_ATTEMPTS, last_error="SMTP 554: refused",
                              next_attempt_at=utcnow() - timedelta(days=1))
    assert_retried_now(client, "/admin/mail/outbox", row, "SMTP 554: refused", f"lz-mail-retry-{row.id}", "mail.retry")
    assert client.post("/admin/mail/outbox/x1/retry").status_code == 404


def test_the_editor_basics_form_sets_the_process_setting(client, auth, seeded):
    auth.login("admin")
    url = "/admin/processes/return_goods/edit"
    action, fields = form(client.get(url).get_data(as_text=True), "lz-basics")
    assert "notify_steps" not in dict(fields)  # nothing ticked in the example
    data = {**with_values(fields, notify_created="y"), "notify_steps": ["warehouse", "finance"]}
    assert client.post(action, data=data).status_code == 302
    assert Process.get(Process.code == "return_goods").draft["notify_customer"] == {
        "created": True, "steps": ["warehouse", "finance"]}
    _, again = form(client.get(url).get_data(as_text=True), "lz-basics")
    assert [value for name, value in again if name == "notify_steps"] == ["warehouse", "finance"]
    assert ("notify_created", "y") in again and "notify_closed" not in dict(again)
