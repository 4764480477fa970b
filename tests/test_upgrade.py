"""Upgrading an old database: data written by the first schemas survives every later migration and stays usable.

Rows are written through frozen copies of the tables as 0001 and 0002 created
them (never today's models, which know columns those schemas lacked).
"""

from __future__ import annotations

import datetime
import json

import pytest
from conftest import example, postgres_database
from peewee import BooleanField, CharField, DateTimeField, IntegerField, JSONField, Model, TextField
from test_engine import REGISTER

from formbuilder import cache
from workflows.people.customers import find_by_phone
from workflows.processes import documents as docs
from workflows.storage import db as lzdb
from workflows.storage.db import MIGRATIONS
from workflows.storage.models import EmailTemplate, Ticket, TicketEvent, User
from workflows.tickets import engine

THEN = datetime.datetime(2024, 1, 1, 9, 30)
LATER = sorted(p.stem for p in MIGRATIONS.glob("[0-9]*.py"))[2:]


class Frozen(Model):
    class Meta:
        database = lzdb.database
        legacy_table_names = False


def frozen(table: str, **columns) -> type[Frozen]:
    """The table as the first schemas created it: only the columns written here, in their old types."""
    return type(f"{table}_frozen", (Frozen,), {**columns, "Meta": type("Meta", (), {"table_name": table})})


Dictionary1 = frozen("dictionary", code=CharField(), name=CharField(), document=TextField(),
                     revision=IntegerField(), updated_at=DateTimeField())
Process1 = frozen("process", code=CharField(), name=CharField(), draft=TextField(), draft_updated_at=DateTimeField(),
                  latest_version=IntegerField(), created_at=DateTimeField())
ProcessVersion1 = frozen("process_version", process_id=IntegerField(), number=IntegerField(), document=TextField(),
                         published_at=DateTimeField(), published_by=CharField())
Department2 = frozen("department", code=CharField(), name=CharField(), manager_id=IntegerField(null=True))
User2 = frozen("user", username=CharField(), name=CharField(), password_hash=CharField(), role=CharField(),
               department_id=IntegerField(null=True), active=BooleanField(), created_at=DateTimeField())
Customer2 = frozen("customer", name=CharField(), phone=CharField(), created_at=DateTimeField())
Ticket2 = frozen("ticket", number=CharField(), process_version_id=IntegerField(), step=CharField(),
                 status=CharField(), priority=CharField(), assignee_id=IntegerField(), creator_id=IntegerField(),
                 customer_id=IntegerField(), channel=CharField(), data=JSONField(), version=IntegerField(),
                 created_at=DateTimeField(), updated_at=DateTimeField(), entered_at=DateTimeField())
TicketEvent2 = frozen("ticket_event", ticket_id=IntegerField(), action=CharField(), from_step=CharField(),
                      to_step=CharField(), actor_id=IntegerField(), assignee_after_id=IntegerField(), diff=JSONField(),
                      created_at=DateTimeField())


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """An empty database of each kind, bound for the test and forgotten afterwards."""
    cache.clear()
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
        forget()
        return
    with postgres_database("lz_upgrade") as url:
        yield url
        cache.clear()


def forget() -> None:
    """Close the test's database so the next ``db`` fixture binds its own; drop steps compiled from it."""
    obj = lzdb.database.obj
    obj.close_all() if hasattr(obj, "close_all") else obj.close()
    lzdb._bound.clear()
    cache.clear()


def write_documents() -> None:
    """The dictionaries and a published return-goods version, as the first schema stored them."""
    for code in ("channel", "product"):
        Dictionary1.create(code=code, name=code, document=json.dumps(example(f"{code}.dictionary.json")),
                           revision=1, updated_at=THEN)
    document = json.dumps(example("return_goods.process.json"), ensure_ascii=False)
    process = Process1.create(code="return_goods", name="退货", draft=document, draft_updated_at=THEN,
                              latest_version=1, created_at=THEN)
    ProcessVersion1.create(process_id=process.id, number=1, document=document, published_at=THEN, published_by="v1")


def write_people_and_ticket() -> str:
    """An organisation, a customer with a phone in an old spelling and a ticket awaiting approval."""
    service, warehouse = (Department2.create(code=c, name=c) for c in ("service", "warehouse"))
    people = {u: User2.create(username=u, name=u, password_hash="x", role=role, department_id=dept.id, active=True,
                              created_at=THEN).id
              for u, role, dept in (("agent", "agent", service), ("sup", "supervisor", service),
                                    ("wh1", "handler", warehouse))}
    customer = Customer2.create(name="王先生", phone="138 0013 8000", created_at=THEN)
    ticket = Ticket2.create(number="TH202401010001", process_version_id=1, step="approve", status="open",
                            priority="normal", assignee_id=people["sup"], creator_id=people["agent"],
                            customer_id=customer.id, channel="phone", data=REGISTER, version=1,
                            created_at=THEN, updated_at=THEN, entered_at=THEN)
    TicketEvent2.create(ticket_id=ticket.id, action="create", from_step="register", to_step="approve",
                        actor_id=people["agent"], assignee_after_id=people["sup"], diff={}, created_at=THEN)
    return ticket.number


def test_migrations_can_stop_at_a_target(fresh_url):
    lzdb.bind(fresh_url)
    assert lzdb.upgrade(target="0001_documents") == ["0001_documents"]
    with lzdb.database.connection_context():
        assert set(lzdb.database.get_tables()) == {"dictionary", "process", "process_version", "schema_migration"}
    assert lzdb.upgrade(target="0001_documents") == []


def test_a_first_version_database_upgrades_with_its_data_intact(fresh_url):
    lzdb.bind(fresh_url)
    assert lzdb.upgrade(target="0001_documents") == ["0001_documents"]
    with lzdb.database.connection_context():
        write_documents()
    assert lzdb.upgrade(target="0002_tickets") == ["0002_tickets"]
    with lzdb.database.connection_context():
        number = write_people_and_ticket()
    assert lzdb.upgrade() == LATER
    with lzdb.database.connection_context():
        assert_documents_intact()
        assert_ticket_intact(number)
        assert_usable_today(number)


def assert_documents_intact() -> None:
    version = docs.get_version("return_goods")
    assert version.number == 1 and version.document == example("return_goods.process.json")
    assert list(version.document["schema"]["properties"]) == list(example("return_goods.process.json")["schema"]
                                                                   ["properties"])  # field order kept
    assert set(docs.dictionary_indexes()) == {"channel", "product"}
    assert docs.check(version.document) == []
    assert EmailTemplate.select().count() == 3  # seeded by 0011 on the way


def assert_ticket_intact(number: str) -> None:
    ticket = engine.load(number)
    assert (ticket.step, ticket.status, ticket.data, ticket.assignee.username) == ("approve", "open", REGISTER, "sup")
    assert ticket.customer.level == "normal" and ticket.customer.phone == "+8613800138000"  # by 0009, 0022
    assert find_by_phone("+86 138-0013-8000") == ticket.customer
    assert [e.action for e in TicketEvent.select().where(TicketEvent.ticket == ticket)] == ["create"]


def assert_usable_today(number: str) -> None:
    """Today's engine moves the old ticket, creates a new one and publishes a new version."""
    people = {u.username: u for u in User.select()}
    moved = engine.act(people["sup"], number, "advance", version=1, data={"approval": "approve"},
                       transition="warehouse")
    assert (engine.load(number).step, engine.load(number).assignee.username) == ("warehouse", "wh1")
    assert moved.version == 2 and TicketEvent.select().where(TicketEvent.ticket == moved).count() == 2
    new = engine.create(people["agent"], "return_goods", dict(REGISTER))
    assert new.number != number and Ticket.select().count() == 2
    document = example("return_goods.process.json")
    document["name"] = "退货（新版）"
    _, version = docs.save_process(document, publish=True, actor="admin")
    assert version.number == 2 and engine.load(number).process_version.number == 1


def test_the_duration_columns_are_filled_for_the_tickets_already_there(fresh_url):
    """0014 computes first_response_seconds / resolution_seconds and 0015 each leaving event's dwell_seconds as the
    engine does (each time cut to the second)."""
    lzdb.bind(fresh_url)
    lzdb.upgrade(target="0001_documents")
    with lzdb.database.connection_context():
        write_documents()
    lzdb.upgrade(target="0002_tickets")
    first = THEN + datetime.timedelta(seconds=600, microseconds=900000)
    closed = THEN + datetime.timedelta(days=1, seconds=1, microseconds=100)
    with lzdb.database.connection_context():
        number = write_people_and_ticket()
        Ticket2.update(created_at=THEN + datetime.timedelta(microseconds=999000)).execute()
        lzdb.database.execute_sql('UPDATE "ticket" SET "first_response_at" = %s, "closed_at" = %s'
                                  .replace("%s", lzdb.database.param), (first, closed))
        write_open = Ticket2.create(number="TH202401010002", process_version_id=1, step="approve", status="open",
                                    priority="normal", assignee_id=None, creator_id=Ticket2.get().creator_id,
                                    customer_id=None, channel="phone", data={}, version=1,
                                    created_at=THEN, updated_at=THEN, entered_at=THEN).number
        ticket_id, actor = Ticket2.get(Ticket2.number == number).id, Ticket2.get(Ticket2.number == number).creator_id
        for action, at in (("advance", THEN + datetime.timedelta(seconds=3600, microseconds=500000)),
                           ("transfer", THEN + datetime.timedelta(seconds=7200)), ("close", closed)):
            TicketEvent2.create(ticket_id=ticket_id, action=action, from_step="approve", to_step="approve",
                                actor_id=actor, assignee_after_id=None, diff={}, created_at=at)
    assert {"0014_report_durations", "0015_event_dwell"} <= set(lzdb.upgrade())
    with lzdb.database.connection_context():
        done, still_open = engine.load(number), engine.load(write_open)
        assert (done.first_response_seconds, done.resolution_seconds) == (600, 86401)
        assert (still_open.first_response_seconds, still_open.resolution_seconds) == (None, None)
        dwell = [(e.action, e.dwell_seconds) for e in TicketEvent.select().where(TicketEvent.ticket == done)
                 .order_by(TicketEvent.id)]  # from the create at THEN; a transfer is not a move
        assert dwell == [("create", None), ("advance", 3600), ("transfer", None), ("close", 82801)]
