"""Every lookup normalises the same way (issue 22, docs/phones.md), on both databases: the call page's
``?phone=``, the API, the workspace search, intake and the web form find one customer for every spelling
of a landline with an extension and of an international number; letters are refused naming the field."""

from __future__ import annotations

import re

import pytest
from test_api import Api
from test_channels import opened, post  # noqa: F401  (the web form fixture)
from test_engine import new_ticket
from test_lists import login

from workflows.people import customers
from workflows.storage.db import database
from workflows.storage.models import Customer, Ticket
from workflows.tickets.errors import Invalid

EN = {"Accept-Language": "en"}
LANDLINE = ["010-12345678转123", "010 1234 5678 分机 123", "+86 10 1234 5678 ext. 123", "010-12345678-123",
            "（010）1234\u30005678#123", "tel:+86-10-1234-5678;ext=123", "\u200e010—12345678 x123\u200f"]
STORED = "+861012345678;ext=123"
ABROAD = ["0044 20 7031 3000", "+44 20 7031 3000", "+44 (0)20 7031 3000"]


@pytest.fixture
def caller(world):
    """One customer, created by intake from the first spelling, with one ticket."""
    return new_ticket(world, customer={"name": "赵经理", "phone": LANDLINE[0]}).customer


def test_intake_gives_every_spelling_to_one_customer(world, caller):
    assert caller.phone == STORED and customers.phones_of(caller) == [STORED]
    for spelling in LANDLINE[1:]:
        assert new_ticket(world, customer={"name": "x", "phone": spelling}).customer_id == caller.id, spelling
    abroad = {new_ticket(world, customer={"phone": s}).customer_id for s in ABROAD}
    assert len(abroad) == 1 and Customer.get_by_id(abroad.pop()).phone == "+442070313000"
    assert Customer.select().count() == 2


def test_the_call_page_api_and_search_find_every_spelling(app, client, world, caller):
    login(client, "agent")
    for spelling in LANDLINE:
        html = client.get("/call", query_string={"phone": spelling}, headers=EN).get_data(as_text=True)
        assert "赵经理" in html and "1 earlier tickets" in html, spelling
        assert "010 1234 5678 ext. 123" in html  # shown nationally
    api = Api(client)
    for spelling in LANDLINE:
        found = api("GET", "/customers", "agent", query_string={"phone": spelling}).json
        assert [(c["id"], c["phone"]) for c in found] == [(caller.id, STORED)], spelling
    number = Ticket.get(Ticket.customer == caller.id).number
    for typed in ("010 1234", "01012345678", "+86 10 1234"):  # the workspace search by a phone's beginning
        assert number in client.get("/", query_string={"q": typed, "status": ""}).get_data(as_text=True), typed


def test_the_customer_page_adds_any_spelling_and_refuses_letters(app, client, world, caller):
    login(client, "agent")
    added = client.post(f"/customers/{caller.id}", data={"name": "赵经理", "level": "normal",
                                                          "phone": "００４４ ２０ ７０３１ ３０００"})
    assert added.status_code == 302 and customers.phones_of(caller)[-1] == "+442070313000"
    page = client.get(f"/customers/{caller.id}").get_data(as_text=True)
    assert "+44 20 7031 3000" in page and "010 1234 5678 ext. 123" in page
    refused = client.post(f"/customers/{caller.id}", data={"name": "赵经理", "level": "normal",
                                                            "phone": "138 0013 800a"}, headers=EN)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'data-field="phone"' in html and "no other letters" in html


def test_intake_refuses_letters_at_customer_phone(app, client, world):
    with pytest.raises(Invalid) as refused:
        new_ticket(world, customer={"name": "x", "phone": "call me"})
    assert list(refused.value.fields) == ["customer/phone"]
    api = Api(client)
    answer = api("POST", "/tickets", "agent", json={"process": "return_goods", "data": {},
                                                      "customer": {"name": "x", "phone": "1-800-FLOWERS"}})
    assert answer.status_code == 422 and "customer/phone" in answer.json["fields"]
    assert not Customer.select().exists()


def test_the_web_form_takes_any_spelling_and_refuses_letters(opened, client):  # noqa: F811
    assert post(client, **{"lz_contact-phone": "０１０－１２３４５６７８ 转 123"}).status_code in (200, 302)
    assert post(client, ip="10.0.0.2", **{"lz_contact-phone": "+86 10 1234 5678 ext. 123"}).status_code in (200, 302)
    with database.connection_context():
        assert [c.phone for c in Customer.select()] == [STORED]
        assert Ticket.select().count() == 2
    refused = post(client, ip="10.0.0.3", **{"lz_contact-phone": "call me"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="lz_contact-phone"' in html
    assert re.search(r'lz-error">call me [^<]*', html)  # the message at the phone input names what was typed
    with database.connection_context():
        assert Ticket.select().count() == 2
