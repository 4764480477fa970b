"""Customer channels on both databases: the public web form and e-mail intake."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from conftest import example

from admin.editforms import BasicsForm
from formbuilder import editing
from workflows.intake import channels
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import (
    Attachment,
    ChannelSubmission,
    Customer,
    Notification,
    Ticket,
    TicketEvent,
    User,
)

REGISTER = {"order_no": "TH-9", "source": "form", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "冰箱漏水"}
PRESENT = ["order_no", "source", "category", "model", "purchase_date", "defect", "photos"]
CONTACT = {"lz_contact-name": "李女士", "lz_contact-phone": "13900000000", "lz_contact-email": "li@example.com"}
URL = "/forms/return_goods"


def inquiry() -> dict:
    """A small process for e-mail: a required subject line and an optional message, then an agent."""
    return {"format": 1, "code": "inquiry", "name": "咨询", "number_prefix": "ZX",
            "schema": {"type": "object", "properties": {
                "topic": {"type": "string", "title": "主题", "maxLength": 40},
                "message": {"type": "string", "title": "内容", "x-widget": "textarea"},
                "order_no": {"type": "string", "title": "订单号"}}},
            "steps": [{"key": "register", "name": "登记", "assignee": {"type": "creator"},
                       "fields": {"topic": "required", "message": "editable", "order_no": "editable"},
                       "transitions": [{"to": "answer", "label": "转坐席"}]},
                      {"key": "answer", "name": "答复", "fields": {"topic": "readonly", "message": "readonly"},
                       "assignee": {"type": "role", "value": "agent", "pick": "round_robin"},
                       "transitions": [{"to": "$end", "label": "完成"}]}]}


@pytest.fixture
def opened(app, users, seeded):
    """return_goods republished with its web form on."""
    doc = example("return_goods.process.json")
    doc["web_form"] = {"enabled": True, "title": "在线退货申请", "intro": "请填写订单信息"}
    with app.app_context(), database.connection_context():
        docs.save_process(doc, publish=True)
    return app


def post(client, ip: str = "127.0.0.1", **changes):
    data = {**CONTACT, **REGISTER, "lz_present": PRESENT, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(URL, data=data, content_type="multipart/form-data", environ_base={"REMOTE_ADDR": ip})


def count(model) -> int:
    with database.connection_context():
        return model.select().count()


def test_the_form_shows_the_first_step_contact_and_a_hidden_honeypot(opened, client):
    html = client.get(URL).get_data(as_text=True)
    assert "在线退货申请" in html and "请填写订单信息" in html
    for name in ("lz_contact-name", "lz_contact-phone", "lz_contact-email", "order_no", "defect", "photos"):
        assert f'name="{name}"' in html, name
    assert 'name="approval"' not in html  # a later step's field
    honeypot = html[html.index('class="lz-hp"'):]
    assert 'name="lz_contact-website"' in honeypot[:400] and 'tabindex="-1"' in honeypot[:400]
    assert "leave this empty" in honeypot[:400].lower() or "留空" in honeypot[:400]
    form = html[html.index('id="lz-webform"'):]
    assert "style=" not in form


def test_a_valid_post_creates_a_ticket_through_the_engine(opened, client):
    response = post(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:3000]
    number = re.search(r'lz-ticket-number">(\w+)<', html).group(1)
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        assert number.startswith("TH") and ticket.channel == "form" and ticket.step == "approve"
        assert ticket.creator.username == channels.SYSTEM_USERNAME and not ticket.creator.active
        assert ticket.assignee.role == "supervisor" and ticket.data["defect"] == "冰箱漏水"
        assert (ticket.customer.name, ticket.customer.phone) == ("李女士", "+8613900000000")
        note = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "note")
        assert "li@example.com" in note.comment and note.actor.username == channels.SYSTEM_USERNAME
    assert "/p/" in html  # the customer can follow it
    assert post(client).status_code == 200  # a second ticket finds the same customer by phone
    assert count(Customer) == 1 and count(Ticket) == 2


def test_invalid_data_gets_field_errors_and_saves_nothing(opened, client):
    response = post(client, order_no="bad no", defect="", **{"lz_contact-name": "", "lz_contact-email": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("order_no", "defect"):
        block = html[html.index(f'data-lz-field="{field}"'):]
        assert "lz-error" in block[:block.index("</fieldset>")], field
    contact = html[html.index('name="lz_contact-name"'):html.index('name="lz_contact-phone"')]
    assert "lz-error" in contact
    assert 'value="bad no"' in html and 'value="13900000000"' in html  # typed values are kept
    assert count(Ticket) == count(Customer) == count(TicketEvent) == 0


def test_the_honeypot_pretends_and_creates_nothing(opened, client):
    response = post(client, **{"lz_contact-website": "http://spam.example"})
    assert response.status_code == 200 and "lz-webform-thanks" in response.get_data(as_text=True)
    assert count(Ticket) == count(Customer) == 0


def test_the_rate_limit_counts_per_address_in_the_database(opened, client):
    opened.config["WEBFORM_RATE_LIMIT"] = (3, 600)
    honeypot = {"lz_contact-website": "x"}  # cheap posts; they count like any other
    assert [post(client, **honeypot).status_code for _ in range(3)] == [200, 200, 200]
    refused = post(client)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "600"
    assert count(Ticket) == 0
    assert post(client, ip="10.0.0.2").status_code == 200  # another address is not limited
    assert count(ChannelSubmission) == 5


def test_processes_without_the_opt_in_have_no_form(app, users, seeded, client):
    assert client.get(URL).status_code == 404
    assert post(client).status_code == 404
    assert client.get("/forms/nothing").status_code == 404
    assert count(Ticket) == 0


def test_the_form_needs_its_csrf_token(opened, client):
    opened.config["WTF_CSRF_ENABLED"] = True
    assert post(client).status_code == 400
    html = client.get(URL).get_data(as_text=True)
    token = re.search(r'name="lz_contact-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert post(client, **{"lz_contact-csrf_token": token}).status_code == 200
    assert count(Ticket) == 1


def test_the_editor_basics_switch_the_web_form(app, seeded):
    doc = example("return_goods.process.json")
    basics = {"name": doc["name"], "description": doc["description"], "hint": doc["hint"],
              "number_prefix": "TH", "priority_enabled": True, "priority_default": "normal"}
    assert editing.set_basics(doc, {**basics, "web_form_enabled": False}) == doc  # absent stays absent
    on = editing.set_basics(doc, {**basics, "web_form_enabled": True})
    with app.app_context(), database.connection_context():
        assert on["web_form"] == {"enabled": True} and docs.check(on) == []
        assert docs.check({**on, "web_form": {"enabled": True, "colour": "red"}}) != []
    assert BasicsForm(data=on).web_form_enabled.data is True
    assert "web_form" not in editing.set_basics(on, {**basics, "web_form_enabled": False})
    titled = {**on, "web_form": {"enabled": True, "title": "T"}}
    kept = editing.set_basics(titled, {**basics, "web_form_enabled": False})
    assert kept["web_form"] == {"enabled": False, "title": "T"}


# --- e-mail intake ---------------------------------------------------------------------------------------

def eml(path, subject: str, body: str = "您好, 冰箱门关不上。", html: str | None = None, attach: bool = False):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "王先生 <wang@example.com>", "service@example.com", subject
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    if attach:
        msg.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="发票.pdf")
    path.write_bytes(bytes(msg))
    return str(path)


@pytest.fixture
def mail(app, users, seeded):
    with app.app_context(), database.connection_context():
        docs.save_process(inquiry(), publish=True)
    return app.test_cli_runner()


def ingest(runner, *args):
    return runner.invoke(args=["mail", "ingest", *args, "--lang", "en"])


def test_a_new_message_opens_a_ticket(mail, tmp_path):
    result = ingest(mail, eml(tmp_path / "a.eml", "冰箱门坏了" * 10, attach=True), "--process", "inquiry")
    assert result.exit_code == 0, result.output
    number = re.fullmatch(r"created (ZX\d{12,})\n", result.output).group(1)
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        assert ticket.channel == "email" and ticket.step == "answer" and ticket.assignee.role == "agent"
        assert ticket.data == {"topic": ("冰箱门坏了" * 10)[:40], "message": "您好, 冰箱门关不上。"}
        assert ticket.customer.name == "王先生" and ticket.customer.phone is None
        note = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "note").comment
        assert "wang@example.com" in note and "发票.pdf" in note
        attachment = Attachment.get(Attachment.ticket == ticket)
        assert attachment.filename == "发票.pdf" and attachment.mimetype == "application/pdf"


def test_a_reply_with_the_number_appends_a_note(mail, tmp_path):
    first = ingest(mail, eml(tmp_path / "a.eml", "冰箱"), "--process", "inquiry").output.split()[1]
    reply = eml(tmp_path / "b.eml", f"Re: [{first}] 冰箱", body="plain",
                html="<p>补充: <b>照片</b></p><script>x</script>")
    result = ingest(mail, reply)  # no --process needed for a reply
    assert result.exit_code == 0 and result.output == f"appended {first}: the sender is its customer\n"
    html_only = EmailMessage()
    html_only["From"], html_only["Subject"] = "wang@example.com", f"回复 {first}"
    html_only.set_content("<div>第二行<br>第三行</div><style>p{}</style>", subtype="html")
    (tmp_path / "c.eml").write_bytes(bytes(html_only))
    assert ingest(mail, str(tmp_path / "c.eml")).output == f"appended {first}: the sender is its customer\n"
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == first)
        notes = [e.comment for e in TicketEvent.select().where(TicketEvent.ticket == ticket,
                                                                 TicketEvent.action == "note").order_by(TicketEvent.id)]
        assert len(notes) == 3 and notes[1].endswith("plain") and "第二行\n第三行" in notes[2] and "p{}" not in notes[2]
        told = Notification.select().where(Notification.user == ticket.assignee, Notification.kind == "email")
        assert told.count() == 2
        assert Ticket.select().count() == 1


def test_a_maildir_is_read_from_new_and_moved_to_cur(mail, tmp_path):
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    eml(box / "new" / "1.host", "第一封")
    eml(box / "new" / "2.host", "第二封")
    result = ingest(mail, str(box), "--process", "inquiry")
    assert result.exit_code == 0 and result.output.count("created ZX") == 2
    assert list((box / "new").iterdir()) == []
    assert sorted(p.name for p in (box / "cur").iterdir()) == ["1.host:2,S", "2.host:2,S"]
    assert ingest(mail, str(box), "--process", "inquiry").output == ""  # nothing read twice
    assert count(Ticket) == 2


def test_a_refused_message_exits_1_and_saves_nothing(mail, tmp_path):
    result = ingest(mail, eml(tmp_path / "a.eml", "退货", attach=True), "--process", "return_goods")
    assert result.exit_code == 1
    assert result.output.startswith("refused: a.eml:") and "order_no (订单号)" in result.output
    assert "purchase_date" in result.output
    no_process = ingest(mail, eml(tmp_path / "b.eml", "你好"))
    assert no_process.exit_code == 1 and "--process" in no_process.output
    assert count(Ticket) == count(Customer) == count(Attachment) == 0
    with database.connection_context():
        assert not User.select().where(User.username == channels.SYSTEM_USERNAME, User.active == True).exists()  # noqa: E712
