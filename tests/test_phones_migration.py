"""Migration 0022 and ``flask customers renormalize`` (issue 22, docs/phones.md), on both databases.

Customers are seeded with phones as the old ``normalize_phone`` stored them (``01088886666`` and
``861088886666`` were two customers, the same landline); the dry run reports without writing, the
migration re-normalises and merges into the oldest with one audit entry per merge, and a second run
finds nothing to do.
"""

from __future__ import annotations

import importlib.util

import pytest
from test_engine import new_ticket

from workflows.people import customers, phonefix
from workflows.storage import db as lzdb
from workflows.storage.db import MIGRATIONS
from workflows.storage.models import AuditEntry, Customer, CustomerPhone, Ticket

# name -> phones as stored before issue 22 (the first is the primary), and how many tickets they have
OLD = {
    "甲": (["01088886666"], 1),
    "乙": (["861088886666", "13911112222"], 2),  # "86 10 8888 6666": the same landline as 甲
    "丙": (["075586013388"], 1),
    "丁": (["+8675586013388"], 1),  # already canonical: meets 丙
    "戊": (["13800138000"], 1),  # alone: only its spelling changes
    "己": (["95588"], 0),  # a short number: unchanged
    "庚": (["02168888888", "13700001111"], 1),
    "辛": (["862168888888"], 1),  # meets 庚 by one number ...
    "壬": (["+8613700001111"], 1),  # ... and 壬 meets 庚 by another: all three become 庚
}


def migration():
    spec = importlib.util.spec_from_file_location("m0022", MIGRATIONS / "0022_phones.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def seeded_old(world):
    """The customers of OLD, in order (ids ascending), with their tickets, stored as before issue 22."""
    made = {}
    for name, (stored, tickets) in OLD.items():
        customer = Customer.create(name=name, phone=stored[0])
        for phone in stored:
            CustomerPhone.create(customer=customer, phone=phone)
        for _ in range(tickets):
            ticket = new_ticket(world)
            Ticket.update(customer=customer).where(Ticket.id == ticket.id).execute()
        made[name] = customer.id
    return made


def tickets_of(customer_id: int) -> int:
    return Ticket.select().where(Ticket.customer == customer_id).count()


def test_the_dry_run_reports_and_writes_nothing(app, seeded_old):
    result = app.test_cli_runner().invoke(args=["customers", "renormalize", "--dry-run"])
    assert result.exit_code == 0, result.output
    ids = seeded_old
    assert f"merge customer #{ids['乙']} into #{ids['甲']} (shared: +861088886666)" in result.output
    assert f"merge customer #{ids['丁']} into #{ids['丙']}" in result.output
    assert f"merge customer #{ids['辛']} into #{ids['庚']}" in result.output
    assert f"merge customer #{ids['壬']} into #{ids['庚']}" in result.output
    assert "customer_phones" in result.output and "01088886666 -> +861088886666" in result.output
    assert "4 customers merged" in result.output and "dry run: nothing written" in result.output
    assert Customer.get_by_id(ids["乙"]).merged_into_id is None and Customer.get_by_id(ids["甲"]).phone == "01088886666"
    assert not AuditEntry.select().where(AuditEntry.action == "customer.merge").exists()


def test_the_migration_merges_into_the_oldest_and_audits_each_merge(seeded_old):
    ids = seeded_old
    migration().up(None, lzdb.database.obj)
    for drop, keep in (("乙", "甲"), ("丁", "丙"), ("辛", "庚"), ("壬", "庚")):
        assert Customer.get_by_id(ids[drop]).merged_into_id == ids[keep]
        assert tickets_of(ids[drop]) == 0
    assert (tickets_of(ids["甲"]), tickets_of(ids["丙"]), tickets_of(ids["庚"])) == (3, 2, 3)
    kept = Customer.get_by_id(ids["甲"])
    assert kept.phone == "+861088886666" and customers.phones_of(kept) == ["+861088886666", "+8613911112222"]
    assert customers.phones_of(Customer.get_by_id(ids["庚"])) == ["+862168888888", "+8613700001111"]
    assert Customer.get_by_id(ids["戊"]).phone == "+8613800138000" and Customer.get_by_id(ids["己"]).phone == "95588"
    for spelling, owner in (("86 10 8888 6666", "甲"), ("010-8888 6666", "甲"), ("(0755)86013388", "丙"),
                            ("+86 21 6888 8888", "庚"), ("137 0000 1111", "庚"), ("139-1111-2222", "甲")):
        assert customers.find_by_phone(spelling).id == ids[owner], spelling
    entries = list(AuditEntry.select().where(AuditEntry.action == "customer.merge").order_by(AuditEntry.id))
    assert [(e.target, e.after["merged"], e.actor_id) for e in entries] == [
        (f"customer:{ids[k]}", ids[d], None) for d, k in (("乙", "甲"), ("丁", "丙"), ("辛", "庚"), ("壬", "庚"))]
    assert entries[0].before["drop"]["phones"] == ["13911112222", "861088886666"]
    assert entries[0].after["tickets_moved"] == 2 and entries[0].after["phones"] == ["+861088886666"]
    assert not CustomerPhone.select().where(CustomerPhone.customer.in_([ids[n] for n in ("乙", "丁", "辛", "壬")])
                                            ).exists()


def test_a_second_run_does_nothing(app, seeded_old):
    phonefix.renormalize(write=True)
    before = AuditEntry.select().count()
    again = app.test_cli_runner().invoke(args=["customers", "renormalize"])
    assert again.exit_code == 0 and "0 phones change, 0 customers merged" in again.output
    assert AuditEntry.select().count() == before


def test_a_merged_away_customer_is_renormalised_but_not_merged_again(world):
    keep = Customer.create(name="留", phone="01066667777")
    CustomerPhone.create(customer=keep, phone="01066667777")
    gone = Customer.create(name="去", phone="861066667777", merged_into=keep)  # merged before; its row stays
    report = phonefix.renormalize(write=True)
    assert report.merges == [] and Customer.get_by_id(gone.id).phone == "+861066667777"
    assert Customer.get_by_id(gone.id).merged_into_id == keep.id
    assert customers.find_by_phone("010 6666 7777").id == keep.id


def test_a_primary_phone_without_its_row_meets_its_twin(world):
    """0009 left a duplicate's number on its customer row only; they are now merged."""
    first = Customer.create(name="一", phone="13600002222")
    CustomerPhone.create(customer=first, phone="13600002222")
    second = Customer.create(name="二", phone="13600002222")  # no customer_phones row (the unique index)
    report = phonefix.renormalize(write=True)
    assert [(k, d) for k, d, _ in report.merges] == [(first.id, second.id)]
    assert Customer.get_by_id(second.id).merged_into_id == first.id
    assert Customer.get_by_id(second.id).phone == "+8613600002222"
