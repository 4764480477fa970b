"""The customer's pages on both databases: the rating link (once, no login) and the progress page (leaks nothing)."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from conftest import example
from test_engine import REGISTER, advance, fresh, new_ticket
from test_lists import login

from workflows.processes import documents as docs
from workflows.storage.models import Rating, Ticket
from workflows.tickets import collab, feedback
from workflows.tickets.errors import Conflict, Invalid, NotFound

SECRET = "test-secret"  # the app fixture's SECRET_KEY
NOTE, RETURN_REASON, REJECT_REASON = "内部备注勿外传", "退回理由仅内部可见", "客户超过七天不予受理"


def closed(world):
    ticket = new_ticket(world)
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "reject", "reject_reason": REJECT_REASON},
            transition="$end")
    return fresh(ticket)


def page_link(client, number: str, element_id: str) -> str | None:
    found = re.search(rf'id="{element_id}" readonly value="([^"]+)"', client.get(f"/tickets/{number}").get_data(
        as_text=True))
    return htmllib.unescape(found.group(1)).replace("http://localhost", "") if found else None


def test_the_rating_link_works_once_and_needs_no_login(app, client, world):
    ticket = closed(world)
    url = page_link(login(client, "admin"), ticket.number, "lz-rating-url")
    assert url and url.startswith("/rate/")
    customer = app.test_client()  # never logged in
    form = customer.get(url)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert 'name="score"' in form.get_data(as_text=True) and 'name="robots" content="noindex' in form.get_data(
        as_text=True)
    thanks = customer.post(url, data={"score": "4", "comment": "处理得很快"})
    assert thanks.status_code == 200 and "lz-public-message" in thanks.get_data(as_text=True)
    assert (Rating.get().score, Rating.get().comment) == (4, "处理得很快")
    again = customer.post(url, data={"score": "1", "comment": "改主意了"})
    assert again.status_code == 409 and customer.get(url).status_code == 409
    assert Rating.select().count() == 1 and Rating.get().score == 4
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'data-score="4"' in page and "★★★★☆" in page and "处理得很快" in page
    assert page_link(client, ticket.number, "lz-rating-url") is None  # rated: no more link


def test_tampered_and_foreign_tokens_are_refused(app, client, world):
    ticket = closed(world)
    token = feedback.rating_link_token(ticket, SECRET)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, feedback.progress_token(ticket, SECRET), feedback.rating_link_token(ticket, "other"),
                "not-a-token"):
        assert client.get(f"/rate/{bad}").status_code == 404
        assert client.post(f"/rate/{bad}", data={"score": "5"}).status_code == 404
        with pytest.raises(NotFound):
            feedback.rate(bad, 5, secret=SECRET)
    assert Rating.select().count() == 0


def test_an_open_ticket_cannot_be_rated(app, client, world):
    ticket = fresh(new_ticket(world))
    token = feedback.rating_link_token(ticket, SECRET)
    assert client.get(f"/rate/{token}").status_code == 409
    assert client.post(f"/rate/{token}", data={"score": "5"}).status_code == 409
    with pytest.raises(Conflict):
        feedback.rate(token, 5, secret=SECRET)
    assert Rating.select().count() == 0
    login(client, "admin")
    assert page_link(client, ticket.number, "lz-rating-url") is None


@pytest.mark.parametrize("score", ["0", "6", "7", "", "abc"])
def test_a_score_outside_one_to_five_is_422_at_the_field(app, client, world, score):
    token = feedback.rating_link_token(closed(world), SECRET)
    response = client.post(f"/rate/{token}", data={"score": score}, headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'<div class="invalid-feedback d-block" id="score-error">([^<]+)</div>', html)
    assert error and error.group(1).startswith("Score:")
    assert Rating.select().count() == 0


def test_rate_checks_the_score_itself(world):
    token = feedback.rating_link_token(closed(world), SECRET)
    for score in (0, 6, "x", None):
        with pytest.raises(Invalid) as refused:
            feedback.rate(token, score, secret=SECRET)
        assert list(refused.value.fields) == ["score"]
    assert feedback.rate(token, "5", "  ", secret=SECRET).comment is None
    with pytest.raises(Conflict):
        feedback.rate(token, 3, secret=SECRET)


@pytest.fixture
def public_version(world):
    """The return process republished with 商品类别 marked ``x-public``; new tickets pin this version."""
    document = example("return_goods.process.json")
    document["schema"]["properties"]["category"]["x-public"] = True
    _, version = docs.save_process(document, publish=True)
    assert version.number == 2
    return version


def test_the_progress_page_shows_steps_and_public_fields_only(app, client, world, public_version):
    ticket = new_ticket(world)
    approver = fresh(ticket).assignee.username
    collab.add_note(world["agent"], ticket.number, NOTE)
    advance(world, approver, ticket, {"approval": "approve"}, transition="warehouse")
    advance(world, fresh(ticket).assignee.username, ticket, action="return", comment=RETURN_REASON)
    advance(world, approver, ticket, {"approval": "reject", "reject_reason": REJECT_REASON}, transition="$end")
    url = page_link(login(client, "admin"), ticket.number, "lz-progress-url")
    assert url and url.startswith("/p/")
    response = app.test_client().get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert '<meta name="robots" content="noindex' in html
    assert ticket.number in html and "退货申请" in html and "已完结" in html
    steps = re.findall(r"<li[^>]*><strong>([^<]+)</strong>", html)
    assert steps == ["来电登记", "主管审批", "仓库收货", "主管审批", "已完结"]
    assert "商品类别" in html and "冰箱" in html  # x-public, as its dictionary label
    for secret in (NOTE, RETURN_REASON, REJECT_REASON, REGISTER["order_no"], "订单号", "同意退货", "不同意退货",
                   world["agent"].username, world[approver].username):
        assert secret not in html, secret


def test_without_x_public_no_field_is_shown(app, client, world):
    ticket = fresh(new_ticket(world))
    html = app.test_client().get(f"/p/{feedback.progress_token(ticket, SECRET)}").get_data(as_text=True)
    assert "处理中" in html and "主管审批" in html
    assert "商品类别" not in html and "冰箱" not in html and "lz-public-fields" not in html


def test_a_tampered_progress_token_is_404(app, client, world):
    ticket = fresh(new_ticket(world))
    token = feedback.progress_token(ticket, SECRET)
    for bad in (token[:-2] + "xx", feedback.rating_link_token(ticket, SECRET), "1"):
        assert client.get(f"/p/{bad}").status_code == 404


def test_the_rating_form_carries_a_csrf_token(app, world, db_url, tmp_path):
    from app import create_app

    protected = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": SECRET,
                            "UPLOAD_DIR": str(tmp_path / "uploads")})
    customer = protected.test_client()
    url = f"/rate/{feedback.rating_link_token(closed(world), SECRET)}"
    assert customer.post(url, data={"score": "5"}).status_code == 400  # no token: refused by CSRFProtect
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', customer.get(url).get_data(as_text=True))
    assert customer.post(url, data={"score": "5", "csrf_token": token.group(1)}).status_code == 200
    assert Rating.get().score == 5


@pytest.mark.parametrize(("status", "rated", "may"), [("closed", False, True), ("closed", True, False),
                                                      ("open", False, False)])
def test_a_customer_rates_a_closed_ticket_once(status, rated, may):
    assert feedback.may_rate(Ticket(status=status), Rating(score=5) if rated else None) is may

