"""Customers beyond their history, on both databases: phone spellings, merge, the edit and merge forms,
the level badge, the API's fields and PATCH, and the migration that normalises stored phones."""

from __future__ import annotations

import re

import pytest
from peewee import SqliteDatabase
from test_api import Api
from test_engine import new_ticket
from test_lists import login
from test_openapi import Checked

from workflows.people import customers
from workflows.people.customers import find_by_phone, normalize_phone
from workflows.storage.db import MIGRATIONS, SQLITE_PRAGMAS
from workflows.storage.models import AuditEntry, Customer, Ticket
from workflows.tickets.errors import Forbidden

MOBILE = "13800138000"
STORED = "+8613800138000"  # issue 22: stored phones are E.164 (docs/phones.md)
SPELLINGS = ["138 0013 8000", "+86 13800138000", "138-0013-8000"]
EN = {"Accept-Language": "en"}


@pytest.mark.parametrize(("typed", "stored"), [
    *((s, STORED) for s in SPELLINGS),
    ("0086 138.0013.8000", STORED), ("86-138-0013-8000", STORED), ("(+86) 138 0013 8000", STORED),
    ("１３８ ００１３ ８０００", STORED),  # full-width digits from a Chinese IME
    ("010-8888 6666", "+861088886666"), ("(0755) 8888-6666", "+8675588886666"),  # landlines in E.164 too
    ("86 10 8888 6666", "+861088886666"),  # the same landline, since issue 22 (was 861088886666)
    ("+1 415 555 0100", "+14155550100"), ("", ""), (None, ""),
])
def test_phone_normalisation(typed, stored):
    assert normalize_phone(typed) == stored


@pytest.fixture
def spelled(world):
    """One ticket per spelling of the same mobile; returns them."""
    return [new_ticket(world, customer={"name": "钱女士", "phone": phone}) for phone in SPELLINGS]


def test_three_spellings_are_one_customer(world, spelled):
    assert len({t.customer_id for t in spelled}) == 1 and Customer.select().count() == 1
    customer = Customer.get()
    assert customer.phone == STORED and customers.phones_of(customer) == [STORED]
    assert all(find_by_phone(s).id == customer.id for s in [*SPELLINGS, MOBILE, "+8613800138000"])


def test_plus_86_and_bare_and_landlines(world):
    first = new_ticket(world, customer={"name": "甲", "phone": "+8613900000001"})
    assert new_ticket(world, customer={"name": "甲", "phone": "13900000001"}).customer_id == first.customer_id
    landline = new_ticket(world, customer={"name": "乙", "phone": "010-8888 6666"})
    assert landline.customer.phone == "+861088886666" and landline.customer_id != first.customer_id
    assert find_by_phone("(010) 8888 6666").id == landline.customer_id
    assert find_by_phone("8888 6666") is None and find_by_phone("0755 8888 6666") is None


def test_call_page_and_api_find_every_spelling(app, client, world, spelled):
    login(client, "agent")
    for spelling in [*SPELLINGS, "0086 13800138000"]:
        html = client.get("/call", query_string={"phone": spelling}, headers=EN).get_data(as_text=True)
        assert "钱女士" in html and "3 earlier tickets" in html, spelling
    raw = client.get("/call?phone=+86 13800138000", headers=EN).get_data(as_text=True)  # "+" read as a space
    assert "3 earlier tickets" in raw
    api = Api(client)
    for spelling in SPELLINGS:
        found = api("GET", "/customers", "agent", query_string={"phone": spelling}).json
        assert [(c["id"], c["phone"], c["phones"]) for c in found] == [(spelled[0].customer_id, STORED, [STORED])]


def two_customers(world):
    """Customer A (2 tickets, one phone) and customer B (1 ticket, two phones)."""
    a = new_ticket(world, customer={"name": "老王", "phone": "13911110000"})
    new_ticket(world, customer={"name": "老王", "phone": "13911110000"})
    b = new_ticket(world, customer={"name": "王先生", "phone": "139 2222 0000"}).customer
    customers.add_phone(b, "010-6666 7777")
    customers.save_customer(b, email="Wang@Example.com", company="王氏商贸")
    return Customer.get_by_id(a.customer_id), Customer.get_by_id(b.id)


def test_merge_moves_tickets_and_phones_and_lookups_follow(app, client, world):
    keep, drop = two_customers(world)
    login(client, "sup")
    response = client.post(f"/customers/{keep.id}/merge", data={"other": drop.id})
    assert response.status_code == 302
    assert Ticket.select().where(Ticket.customer == keep.id).count() == 3
    assert not Ticket.select().where(Ticket.customer == drop.id).exists()
    kept = Customer.get_by_id(keep.id)
    assert customers.phones_of(kept) == ["+8613911110000", "+8613922220000", "+861066667777"]
    assert (kept.email, kept.company, kept.name) == ("wang@example.com", "王氏商贸", "老王")  # blanks filled
    assert Customer.get_by_id(drop.id).merged_into_id == keep.id
    assert find_by_phone("139-2222-0000").id == keep.id
    assert new_ticket(world, customer={"phone": "+86 139 2222 0000"}).customer_id == keep.id
    assert client.get(f"/customers/{drop.id}").headers["Location"].endswith(f"/customers/{keep.id}")
    entry = AuditEntry.get(AuditEntry.action == "customer.merge")
    assert (entry.target, entry.actor_id, entry.after["merged"]) == (f"customer:{keep.id}", world["sup"].id, drop.id)
    assert entry.before["drop"]["phones"] == ["+8613922220000", "+861066667777"] and entry.after["tickets_moved"] == 1
    api = Api(client)
    assert api("GET", f"/customers/{drop.id}", "agent").json["id"] == keep.id
    again = client.post(f"/customers/{keep.id}/merge", data={"other": drop.id}, headers=EN)
    assert again.status_code == 422 and "cannot be merged" in again.get_data(as_text=True)


def test_an_agent_cannot_merge_and_sees_no_merge_form(app, client, world):
    keep, drop = two_customers(world)
    login(client, "agent")
    assert client.post(f"/customers/{keep.id}/merge", data={"other": drop.id}).status_code == 403
    assert Customer.get_by_id(drop.id).merged_into_id is None
    assert not AuditEntry.select().where(AuditEntry.action == "customer.merge").exists()
    html = client.get(f"/customers/{keep.id}").get_data(as_text=True)
    assert "lz-customer-edit" in html and "lz-customer-merge" not in html
    with pytest.raises(Forbidden):
        customers.merge(keep, drop, world["agent"])


def test_a_handler_may_read_but_not_edit(app, client, world):
    keep, _ = two_customers(world)
    login(client, "wh1")
    assert client.post(f"/customers/{keep.id}", data={"name": "x"}).status_code == 404  # not even visible
    assert client.post(f"/customers/{keep.id}/merge", data={"other": 1}).status_code == 404


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'lz-field-error" data-field="(\w+)">([^<]*)<', html))


def test_edit_form_saves_in_one_transaction_and_names_the_wrong_field(app, client, world):
    keep, drop = two_customers(world)
    login(client, "agent")
    bad = {"name": "新名字", "email": "not-an-address", "company": "", "level": "vip", "region": "", "notes": "",
           "phone": "139-2222-0000"}
    response = client.post(f"/customers/{keep.id}", data=bad, headers=EN)
    errors = field_errors(response.get_data(as_text=True))
    assert response.status_code == 422 and set(errors) == {"email"}
    response = client.post(f"/customers/{keep.id}", data={**bad, "email": ""}, headers=EN)
    errors = field_errors(response.get_data(as_text=True))
    assert response.status_code == 422 and set(errors) == {"phone"}
    assert "13922220000" in errors["phone"] and f"#{drop.id}" in errors["phone"]
    assert Customer.get_by_id(keep.id).name == "老王" and Customer.get_by_id(keep.id).level == "normal"
    weird = client.post(f"/customers/{keep.id}", data={**bad, "email": "", "phone": "", "level": "king"})
    assert weird.status_code == 422 and set(field_errors(weird.get_data(as_text=True))) == {"level"}
    good = {**bad, "email": "LAO@wang.cn", "phone": "+86 137 0000 1111", "region": "华东"}
    assert client.post(f"/customers/{keep.id}", data=good).status_code == 302
    saved = Customer.get_by_id(keep.id)
    assert (saved.name, saved.email, saved.level, saved.region) == ("新名字", "lao@wang.cn", "vip", "华东")
    assert customers.phones_of(saved) == ["+8613911110000", "+8613700001111"]
    assert AuditEntry.get(AuditEntry.action == "customer.edit").target == f"customer:{keep.id}"


def test_removing_the_primary_phone_promotes_the_next(app, client, world):
    _, customer = two_customers(world)
    login(client, "agent")
    url = f"/customers/{customer.id}/phones/remove"
    assert client.post(url, data={"phone": "139 2222 0000"}).status_code == 302
    assert Customer.get_by_id(customer.id).phone == "+861066667777" and find_by_phone("13922220000") is None
    missing = client.post(url, data={"phone": "13922220000"}, headers=EN)
    assert missing.status_code == 422 and "13922220000 is not a phone of this customer" in missing.get_data(
        as_text=True)


def test_page_shows_every_field_escaped_and_the_level_badge(app, client, world):
    ticket = new_ticket(world, customer={"name": "<b>钱</b>", "phone": MOBILE})
    hostile = '<script>alert("x")</script>'
    customers.save_customer(ticket.customer, company=hostile, notes="第一行\n<img src=x onerror=alert(1)>",
                            region="华南", email="q@example.com", level="important")
    login(client, "agent")
    html = client.get(f"/customers/{ticket.customer_id}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b>钱</b>" not in html and "&lt;b&gt;钱&lt;/b&gt;" in html
    assert "lz-level-important" in html and "q@example.com" in html and "华南" in html and MOBILE in html
    for url in (f"/call?phone={MOBILE}", f"/tickets/{ticket.number}"):
        page = client.get(url).get_data(as_text=True)
        assert "lz-level-important" in page and "<b>钱</b>" not in page, url
    customers.save_customer(ticket.customer, level="normal")
    assert "lz-level-" not in client.get(f"/call?phone={MOBILE}").get_data(as_text=True)


@pytest.fixture
def checked(client, world):
    return Checked(client, client.get("/api/v1/openapi.json").json)


def test_api_fields_and_patch(checked, world):
    keep, drop = two_customers(world)
    found = checked("GET", f"/customers/{drop.id}", "agent").json
    assert {k: found[k] for k in ("email", "company", "level", "region", "phones")} == {
        "email": "wang@example.com", "company": "王氏商贸", "level": "normal", "region": None,
        "phones": ["+8613922220000", "+861066667777"]}
    edit = {"level": "vip", "region": "华北", "company": None, "add_phone": "+86 136-0000-2222"}
    changed = checked("PATCH", f"/customers/{drop.id}", "agent", json=edit)
    assert changed.status_code == 200, changed.json
    assert (changed.json["level"], changed.json["region"], changed.json["company"]) == ("vip", "华北", None)
    assert changed.json["phones"][-1] == "+8613600002222"
    taken = checked("PATCH", f"/customers/{drop.id}", "agent", json={"add_phone": "139 1111 0000", "name": "x"})
    assert taken.status_code == 422 and "13911110000" in taken.json["fields"]["phone"][0]
    assert Customer.get_by_id(drop.id).name == "王先生"
    assert checked("PATCH", f"/customers/{drop.id}", "agent", json={"vip": True}).status_code == 400
    assert checked("PATCH", f"/customers/{drop.id}", "agent", json={"level": 3}).status_code == 400
    assert checked("PATCH", f"/customers/{drop.id}", "agent", json={"level": "king"}).status_code == 422
    assert checked("PATCH", f"/customers/{drop.id}", "wh1", json={}).status_code == 404
    assert checked("PATCH", "/customers/999999", "admin", json={}).status_code == 404
    assert ("PATCH", "/customers/{customer_id}") in checked.seen


def test_the_migration_normalises_and_copies_stored_phones(tmp_path):
    """Rows from before 0009: spellings normalised in place; a duplicate keeps its number on the older row."""
    from playhouse.migrations import Runner

    db = SqliteDatabase(str(tmp_path / "old.db"), pragmas=SQLITE_PRAGMAS)
    runner = Runner(db, str(MIGRATIONS))
    runner.up(target="0008_channels")
    for name, phone in (("甲", "138 0013 8000"), ("乙", "+86 13800138000"), ("丙", "010-8888 6666"), ("丁", None)):
        db.execute_sql('INSERT INTO "customer" (name, phone, created_at) VALUES (?, ?, ?)',
                       (name, phone, "2026-01-01 00:00:00"))
    runner.up(target="0009_customers")
    stored = db.execute_sql('SELECT name, phone, level FROM "customer" ORDER BY id').fetchall()
    assert stored == [("甲", STORED, "normal"), ("乙", STORED, "normal"), ("丙", "+861088886666", "normal"),
                      ("丁", None, "normal")]  # 0009 normalises with today's customers.normalize_phone
    owners = db.execute_sql('SELECT customer_id, phone FROM "customer_phones" ORDER BY id').fetchall()
    assert owners == [(1, STORED), (3, "+861088886666")]
    db.close()

