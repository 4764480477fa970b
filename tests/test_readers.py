"""Field readers (format 2 ``x-readers``, ``docs/visibility.md`` "Field readers"): only readers ever receive a field.

The ``ledger`` process is return-goods with two reader fields: ``fee`` (finance reads it; editable at the
warehouse step, which wh1 of the warehouse handles, required at finance; also marked ``x-public``, which
must not let it out) and ``bin`` (the warehouse reads it; required at the warehouse step). The organisation
is the permission matrix's; a sub-department ``finance_north`` with ``fin3`` is added where the subtree counts.
"""

from __future__ import annotations

import copy

import pytest
from conftest import PASSWORD, example
from test_engine import FINANCE, REGISTER, WAREHOUSE
from test_permission_matrix import login, world_factory

from formbuilder import check_process, readers
from workflows.people import org
from workflows.processes import documents as docs
from workflows.storage import db as lzdb
from workflows.storage.models import Ticket, User
from workflows.subscribers import webhooks
from workflows.tickets import engine, feedback
from workflows.tickets.access import ALL, department_codes, unreadable, visible_fields
from workflows.tickets.errors import Invalid
from workflows.tickets.present import ticket_view

FEE = "FEE-SECRET-4711"  # fee's value: only finance and admins may ever receive it
BIN = "BIN-SECRET-0815"
HIDDEN = "This field is hidden at this step and cannot be set."
FEE_READERS = {"departments": ["finance"]}


def ledger_process() -> dict:
    document = copy.deepcopy(example("return_goods.process.json"))
    document.update(format=2, code="ledger", name="带读者的退货", number_prefix="LD")
    properties = document["schema"]["properties"]
    properties["fee"] = {"type": "string", "title": "财务备注", "x-public": True, "x-readers": FEE_READERS}
    properties["bin"] = {"type": "string", "title": "库位", "x-readers": {"departments": ["warehouse"]}}
    steps = {step["key"]: step for step in document["steps"]}
    steps["warehouse"]["fields"].update(fee="editable", bin="required")
    steps["finance"]["fields"].update(fee="required")
    return document


# --- formbuilder.readers: pure ------------------------------------------------------------------------------------


def test_who_reads_a_field():
    template = ledger_process()["schema"]
    assert readers.unreadable(template, "admin") == frozenset()
    assert readers.unreadable(template, "handler", {"finance"}) == {"bin"}
    assert readers.unreadable(template, "supervisor", {"warehouse", "ops"}) == {"fee"}
    assert readers.unreadable(template, "agent", {"service", "ops"}) == {"fee", "bin"}
    assert readers.unreadable(template, None) == {"fee", "bin"}  # the public: web form and mail intake
    by_role = {"properties": {"x": {"type": "string", "x-readers": {"roles": ["supervisor"]}}}}
    assert readers.unreadable(by_role, "supervisor") == frozenset() and readers.unreadable(by_role, "agent") == {"x"}
    assert readers.unreadable({"properties": {"x": {"type": "string", "x-readers": {}}}}, "supervisor") == {"x"}


def test_x_public_never_lets_a_reader_field_out():
    assert readers.is_public({"x-public": True}) and not readers.is_public({"x-public": True, "x-readers": {}})
    assert not readers.is_public({"x-public": True, "x-readers": FEE_READERS})


def test_the_roles_are_the_organisations():
    assert readers.ROLES == org.ROLES


# --- Static check 12 ----------------------------------------------------------------------------------------------


def problems(document: dict, dictionaries) -> list[str]:
    return [str(p) for p in check_process(document, dictionaries)]


MESSAGE = "not every possible handler of this step may read this field (x-readers): it cannot be required"


def test_check_12_passes_when_the_steps_handlers_read_the_required_field(dictionaries):
    assert problems(ledger_process(), dictionaries) == []


@pytest.mark.parametrize(("step", "assignee", "readers_", "ok"), [
    (3, {"type": "department", "value": "finance", "pick": "manual"}, FEE_READERS, True),
    (3, {"type": "department", "value": "finance_north"}, FEE_READERS, False),  # the tree may change: named only
    (2, {"type": "department", "value": "warehouse"}, FEE_READERS, False),
    (1, {"type": "role", "value": "supervisor"}, {"roles": ["supervisor"]}, True),
    (1, {"type": "role", "value": "supervisor"}, FEE_READERS, False),  # supervisors sit in every department
    (1, {"type": "role", "value": "admin"}, {}, True),  # admins read everything
    (1, {"type": "choose", "value": "supervisor"}, {"roles": ["supervisor"]}, True),
    (1, {"type": "creator"}, {"roles": ["supervisor", "agent"]}, True),
    (1, {"type": "creator"}, {"roles": ["agent"]}, False),
    (1, {"type": "user", "value": "fin1"}, FEE_READERS, False),  # a user's role and department may change
    (1, {"type": "user", "value": "fin1"}, {"roles": list(readers.ROLES)}, True),
    (1, {"type": "previous"}, {"roles": ["supervisor", "agent"]}, False),  # the sender may be a handler
    (1, {"type": "choose"}, {"roles": ["supervisor", "agent", "handler"]}, True),
])
def test_check_12_required_field_and_the_steps_possible_handlers(dictionaries, step, assignee, readers_, ok):
    document = ledger_process()
    document["schema"]["properties"]["fee"]["x-readers"] = readers_
    document["steps"][3]["fields"]["fee"] = "editable"  # only ``step`` requires it
    target = document["steps"][step]
    target["assignee"], target["fields"]["fee"] = assignee, "required"
    found = [p for p in problems(document, dictionaries) if "x-readers" in p]
    assert found == ([] if ok else [f"/steps/{step}/fields/fee: {MESSAGE}"])


def test_check_12_first_step_is_for_those_who_register_and_never_for_the_web_form(dictionaries):
    document = ledger_process()
    document["steps"][0]["fields"]["fee"], document["steps"][3]["fields"]["fee"] = "required", "editable"
    assert problems(document, dictionaries) == [f"/steps/0/fields/fee: {MESSAGE}"]
    document["schema"]["properties"]["fee"]["x-readers"] = {"roles": ["supervisor", "agent"]}
    assert problems(document, dictionaries) == []
    document["web_form"] = {"enabled": True}
    assert problems(document, dictionaries) == [f"/steps/0/fields/fee: {MESSAGE}"]


def test_check_12_conditional_required_counts_and_editable_does_not(dictionaries):
    document = ledger_process()
    document["steps"][2]["fields"]["fee"] = {"mode": "editable", "when": {"required": ["received"]},
                                             "else": "required"}
    assert problems(document, dictionaries) == [f"/steps/2/fields/fee: {MESSAGE}"]


# --- The engine and access ------------------------------------------------------------------------------------------


@pytest.fixture
def ledger(app, monkeypatch):
    """The matrix organisation, fin3 in finance_north under finance, the ledger process, a ticket at wh1."""
    world_factory(app, monkeypatch)()
    with app.app_context(), lzdb.database.connection_context():
        org.create_department("finance_north", "财务北区", parent="finance")
        org.create_user("fin3", PASSWORD, "handler", "finance_north")
        docs.save_process(ledger_process(), publish=True)
        users = {u.username: u for u in User.select()}
        customer = {"name": "赵", "phone": "13700000001"}
        ticket = engine.create(users["agent"], "ledger", dict(REGISTER), customer=customer)
        ticket = act(users, "admin", ticket, data={"approval": "approve"}, transition="warehouse")
        if ticket.assignee_id != users["wh1"].id:
            act(users, "admin", ticket, "transfer", assignee="wh1", comment="to wh1")
    return users, ticket.number


def act(users, who: str, ticket, action: str = "advance", **request):
    number = ticket if isinstance(ticket, str) else ticket.number
    return engine.act(users[who], number, action, version=engine.load(number).version, **request)


def plant(number: str, **values) -> Ticket:
    ticket = engine.load(number)
    Ticket.update(data={**ticket.data, **values}).where(Ticket.id == ticket.id).execute()
    return engine.load(number)


def refusal(users, who: str, number: str, data: dict) -> dict:
    with pytest.raises(Invalid) as refused:
        act(users, who, number, data={**WAREHOUSE, "bin": "A-1", **data}, transition="finance", assignee="fin1")
    return {k: [str(m) for m in v] for k, v in refused.value.fields.items()}


def test_a_non_reader_handler_cannot_set_the_field_whatever_the_value(app, ledger):
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        plant(number, fee=FEE)
        guess, stored = refusal(users, "wh1", number, {"fee": "A GUESS"}), refusal(users, "wh1", number, {"fee": FEE})
        hidden = refusal(users, "wh1", number, {"refund_amount": 1})  # hidden at the warehouse step
        assert guess == stored == {"fee": [HIDDEN]} and hidden == {"refund_amount": [HIDDEN]}
        assert FEE not in str(guess)


def test_only_readers_see_the_field(app, ledger):
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        ticket = plant(number, fee=FEE, bin=BIN)
        seen = {name: visible_fields(users[name], ticket) for name in ("wh1", "wh_lead", "director", "admin")}
        assert "fee" not in seen["wh1"] and "bin" in seen["wh1"]  # fee is editable at wh1's step, yet not theirs
        assert seen["wh_lead"] == set(ticket.process_version.document["schema"]["properties"]) - {"fee"}
        assert "fee" not in seen["director"] and "bin" not in seen["director"]  # the handler's chain, no reader
        assert seen["admin"] is ALL
        assert "fee" not in ticket_view(users["wh1"], ticket)["data"]
        act(users, "wh1", number, data={**WAREHOUSE, "bin": "A-1"}, transition="finance", assignee="fin1")
        ticket = engine.load(number)
        assert "fee" in visible_fields(users["fin1"], ticket)
        assert ticket_view(users["fin1"], ticket)["data"]["fee"] == FEE


def test_a_reader_sets_it_and_the_timeline_shows_it_to_readers_only(app, ledger):
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        act(users, "wh1", number, data={**WAREHOUSE, "bin": BIN}, transition="finance", assignee="fin1")
        act(users, "fin1", number, data={**FINANCE, "fee": FEE}, transition="$end")
        ticket = engine.load(number)
        assert ticket.data["fee"] == FEE
        changes = [e["changes"] for e in ticket_view(users["wh1"], ticket)["history"]]
        assert not any("fee" in c for c in changes) and any("bin" in c for c in changes)
        assert any("fee" in c for c in (e["changes"] for e in ticket_view(users["admin"], ticket)["history"]))


def test_a_sub_department_of_a_listed_department_reads(app, ledger):
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        fin3 = users["fin3"]
        assert department_codes(fin3.department_id) == {"finance_north", "finance"}
        version = engine.load(number).process_version
        assert unreadable(fin3, version) == {"bin"} and unreadable(users["fin1"], version) == {"bin"}
        assert unreadable(users["admin"], version) == frozenset()


def test_a_supervisor_of_the_handler_who_reads_nothing_cannot_complete_a_step_requiring_it(app, ledger):
    """director oversees wh1 (ops above warehouse) and may act, but may not read bin, which the step requires."""
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        plant(number, bin=BIN)
        with pytest.raises(Invalid) as refused:
            act(users, "director", number, data=dict(WAREHOUSE), transition="finance", assignee="fin1")
        assert "step" in refused.value.fields and BIN not in str(refused.value.fields)
        act(users, "wh_lead", number, data=dict(WAREHOUSE), transition="finance", assignee="fin1")  # a reader


def test_no_webhook_and_no_customer_receives_a_reader_field(app, ledger):
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        ticket = plant(number, fee=FEE)
        assert "fee" not in webhooks.public_data(ticket)
        assert FEE not in str(feedback.public_fields(ticket))


# --- Pages and API ---------------------------------------------------------------------------------------------------


def test_the_page_and_the_api_leave_the_field_out_and_refuse_it_like_a_hidden_one(app, client, ledger):
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        version = plant(number, fee=FEE).version
        token = org.issue_token(users["wh1"], "t")
    login(client, "wh1")
    page = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert FEE not in page and 'name="fee"' not in page and 'name="bin"' in page
    form = {"action": "advance", "version": version, "transition": "finance", "assignee_finance": "fin1",
            "received": "y", "received_at": "2026-11-03T10:30", "as_described": "yes", "bin": "A-1"}
    posted = client.post(f"/tickets/{number}/act", data={**form, "fee": FEE})
    assert posted.status_code == 422 and FEE not in posted.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    answers = [client.post(f"/api/v1/tickets/{number}/actions", headers=headers, json={
        "action": "advance", "version": version, "transition": "finance", "assignee": "fin1",
        "data": {**WAREHOUSE, "bin": "A-1", key: value}}) for key, value in (("fee", FEE), ("refund_amount", 1))]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].get_json()["fields"]["fee"] == answers[1].get_json()["fields"]["refund_amount"]
    assert FEE not in answers[0].get_data(as_text=True)
    with app.app_context(), lzdb.database.connection_context():
        assert engine.load(number).version == version  # nothing was saved
    assert client.post(f"/tickets/{number}/act", data=form).status_code == 302  # refused for fee alone


def test_the_reader_gets_the_field_on_the_page(app, client, ledger):
    users, number = ledger
    with app.app_context(), lzdb.database.connection_context():
        act(users, "wh1", number, data={**WAREHOUSE, "bin": "A-1"}, transition="finance", assignee="fin1")
        plant(number, fee=FEE)
    login(client, "fin1")
    page = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert 'name="fee"' in page and FEE in page
