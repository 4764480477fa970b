"""The call page and the ticket page through the test client, on both databases."""

from __future__ import annotations

import io
import re

import pytest
from conftest import PASSWORD

from workflows.storage.db import database
from workflows.storage.models import Attachment, Customer, Notification, Ticket, TicketCC

REGISTER = {"order_no": "TH-9", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "漏水"}
PRESENT = ["order_no", "source", "category", "model", "purchase_date", "defect", "photos"]


@pytest.fixture
def as_user(app, users, seeded):
    """A logged-in test client per username."""
    def login(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        return client
    return login


def register(client, **extra) -> str:
    data = {"phone": "13900000000", "customer_name": "李女士", "channel": "phone", "priority": "high",
            "transition": "approve", "lz_present": PRESENT, **REGISTER, **extra}
    response = client.post("/call?process=return_goods", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return re.search(r"created=(\w+)", response.headers["Location"]).group(1)


def test_call_page_looks_up_the_caller(as_user):
    agent = as_user("agent")
    number = register(agent)
    page = agent.get("/call?phone=13900000000").get_data(as_text=True)
    assert "李女士" in page and number in page and "1 earlier tickets" in page or "1 张历史工单" in page
    assert "请先核对订单号与购买时间" in page
    fresh = agent.get("/call?phone=13700000000", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "New caller" in fresh


def test_registering_creates_the_ticket_and_the_customer(as_user):
    number = register(as_user("agent"))
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        assert (ticket.step, ticket.priority, ticket.channel) == ("approve", "high", "phone")
        assert Customer.get(Customer.phone == "+8613900000000").name == "李女士"


def test_errors_stay_at_their_fields_and_typed_values_are_kept(as_user):
    agent = as_user("agent")
    data = {"phone": "139", "customer_name": "赵", "order_no": "bad no", "defect": "写了一半", "transition": "approve",
            "lz_present": PRESENT}
    response = agent.post("/call?process=return_goods", data=data, headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    start = html.index('data-lz-field="order_no"')
    assert "Does not match the required format." in html[start:html.index("</fieldset>", start)]
    assert 'value="bad no"' in html and "写了一半" in html and 'value="赵"' in html
    with database.connection_context():
        assert Ticket.select().count() == 0


def test_attachments_upload_and_download_with_permission(as_user, users):
    agent = as_user("agent")
    photo = (io.BytesIO(b"\x89PNG fake"), "door.png", "image/png")
    number = register(agent, photos=photo)
    with database.connection_context():
        attachment = Attachment.get()
        assert attachment.ticket.number == number and attachment.field == "photos"
    download = agent.get(f"/attachments/{attachment.key}")
    assert download.status_code == 200 and download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.get_data() == b"\x89PNG fake"
    download.close()
    assert as_user("fin1").get(f"/attachments/{attachment.key}").status_code == 403


def assignee(number: str) -> str:
    with database.connection_context():
        return Ticket.get(Ticket.number == number).assignee.username


def test_the_handler_gets_the_step_form_and_others_do_not(as_user):
    number = register(as_user("agent"))
    handler = as_user(assignee(number)).get(f"/tickets/{number}").get_data(as_text=True)
    assert 'id="lz-step-form"' in handler and "同意退货, 转仓库" in handler
    agent = as_user("agent").get(f"/tickets/{number}").get_data(as_text=True)
    assert 'id="lz-step-form"' not in agent and "退回上一步" not in agent
    assert 'name="transition"' not in agent
    assert as_user("wh1").get(f"/tickets/{number}").status_code == 403


def test_hidden_fields_are_not_in_the_html(as_user):
    number = register(as_user("agent"))
    html = as_user(assignee(number)).get(f"/tickets/{number}").get_data(as_text=True)
    for hidden in ("refund_amount", "退款金额", "received_at"):
        assert hidden not in html


def test_a_forged_post_by_someone_else_is_refused(as_user):
    number = register(as_user("agent"))
    forged = as_user("agent").post(f"/tickets/{number}/act", data={
        "action": "advance", "version": "1", "transition": "warehouse", "approval": "approve",
        "lz_present": "approval"})
    assert forged.status_code == 403
    assert assignee(number) not in ("agent", "wh1", "wh2")


def test_required_reason_then_reject(as_user):
    number = register(as_user("agent"))
    supervisor = as_user(assignee(number))
    data = {"action": "advance", "version": "1", "transition": "$end", "approval": "reject",
            "lz_present": ["approval", "reject_reason"]}
    refused = supervisor.post(f"/tickets/{number}/act", data=data, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 422 and "此项为必填项。" in refused.get_data(as_text=True)
    done = supervisor.post(f"/tickets/{number}/act", data={**data, "reject_reason": "超过七天"})
    assert done.status_code == 302
    with database.connection_context():
        assert Ticket.get(Ticket.number == number).status == "closed"


def test_notes_mention_and_cc(as_user, users):
    agent = as_user("agent")
    number = register(agent)
    agent.post(f"/tickets/{number}/notes", data={"note": "请 @wh1 关注一下"})
    with database.connection_context():
        assert TicketCC.select().where(TicketCC.user == users["wh1"].id).exists()
        assert Notification.select().where(Notification.user == users["wh1"].id,
                                           Notification.kind == "mentioned").exists()
    page = as_user("wh1").get(f"/tickets/{number}").get_data(as_text=True)
    assert '请 <span class="lz-mention" title="仓管小陈">@wh1</span> 关注一下' in page
    agent.post(f"/tickets/{number}/cc", data={"cc": "fin2"})
    assert as_user("fin2").get(f"/tickets/{number}").status_code == 200


def test_the_timeline_shows_labels_not_keys(as_user):
    number = register(as_user("agent"))
    html = as_user("agent").get(f"/tickets/{number}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    timeline = html[html.index('class="lz-timeline"'):]
    assert "商品型号: 200 升" in timeline and "来源: 电话" in timeline and "model:" not in timeline


def test_posts_need_the_csrf_token(users, seeded, db_url):
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login = client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert login.status_code == 400
    for url in ("/call?process=return_goods", "/tickets/TH1/act", "/tickets/TH1/notes", "/logout"):
        assert client.post(url, data={}).status_code == 400, url


def test_the_sla_counts_down_in_the_users_language(as_user):
    number = register(as_user("agent"))
    handler = as_user(assignee(number))
    assert "4小时后" in handler.get(f"/tickets/{number}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "in 4 hours" in handler.get(f"/tickets/{number}", headers={"Accept-Language": "en"}).get_data(as_text=True)
