"""A customer's history (历史工单) on both databases: the tickets each user may read, newest first, in pages."""

from __future__ import annotations

import re

import pytest
from test_engine import advance, new_ticket
from test_lists import login

import web.common.lists
from workflows.storage.models import Customer, Ticket

PHONE = "13700000007"


@pytest.fixture
def history(world):
    """Three tickets of one customer: two registered by agent (to sup, wh_lead), one by agent2 (to sup2)."""
    caller = {"name": "赵先生", "phone": PHONE}
    first = new_ticket(world, customer=caller)
    second = new_ticket(world, "agent2", customer=caller)
    third = new_ticket(world, customer=caller)
    new_ticket(world, customer={"name": "别人", "phone": "13700000008"})
    customer = Customer.get(Customer.phone == "+86" + PHONE)  # stored in E.164 (issue 22)
    return customer.id, [first.number, second.number, third.number]


def shown(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/tickets/(\w+)">', html)


@pytest.mark.parametrize(("who", "expected"), [
    ("agent", [2, 0]),       # registered them; agent2's is not theirs
    ("agent2", [1]),
    ("sup", [2, 1, 0]),      # supervises the service team
    ("admin", [2, 1, 0]),
    ("wh_lead", [2]),        # round robin gave them the third ticket
])
def test_each_user_sees_the_tickets_they_may_read_newest_first(app, client, history, who, expected):
    customer_id, numbers = history
    login(client, who)
    response = client.get(f"/customers/{customer_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "赵先生" in html and PHONE in html and "历史工单" in html
    assert shown(html) == [numbers[i] for i in expected]


def test_a_handler_sees_a_customer_only_through_a_ticket_they_may_read(app, client, world, history):
    customer_id, numbers = history
    login(client, "fin1")
    assert client.get(f"/customers/{customer_id}").status_code == 404
    ticket = Ticket.get(Ticket.number == numbers[1])
    advance(world, "sup2", ticket, {"approval": "approve"}, transition="warehouse")
    keeper = Ticket.get_by_id(ticket.id).assignee.username
    client.post("/logout")
    login(client, keeper)
    assert shown(client.get(f"/customers/{customer_id}").get_data(as_text=True))[:1] == [numbers[1]]


def test_pages_and_unknown_customers(app, client, history, monkeypatch):
    customer_id, numbers = history
    monkeypatch.setattr(web.common.lists, "PAGE", 2)
    assert client.get(f"/customers/{customer_id}").status_code == 302  # log in first
    login(client, "sup")
    first = client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert shown(first) == numbers[:0:-1]
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert shown(second) == numbers[:1] and 'rel="next"' not in second
    assert client.get(f"/customers/{customer_id}?cursor=x").status_code == 400
    assert client.get("/customers/99999").status_code == 404


def test_the_workspace_links_each_customer_to_their_history(app, client, history):
    customer_id, _ = history
    login(client, "agent")
    assert f'href="/customers/{customer_id}"' in client.get("/").get_data(as_text=True)
