"""The call page's ticket types: the admin's choice and order (``/admin/call-types``), the agent's last type
as the default, and a type not offered refused; on both databases."""

from __future__ import annotations

import re

import pytest
from conftest import example
from helpers import logged_in

from workflows.processes import calltypes
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Setting, Ticket

EN = {"Accept-Language": "en"}
REGISTER = {"order_no": "TH-9", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "漏水"}
PRESENT = ["order_no", "source", "category", "model", "purchase_date", "defect", "photos"]
NOT_MOVED = "Only a ticket type that is offered can be moved."
COPIES = {"complaint": "投诉登记", "advice": "咨询登记"}  # copies of return_goods (退货申请) under other names


def publish_copy(code: str, name: str) -> None:
    document = {**example("return_goods.process.json"), "code": code, "name": name}
    with database.connection_context():
        docs.save_process(document, publish=True)


@pytest.fixture
def types(app, users, seeded) -> list[str]:
    """Three published processes; their codes by name, the order offered while the admin chose nothing."""
    for code, name in COPIES.items():
        publish_copy(code, name)
    names = {**COPIES, "return_goods": "退货申请"}
    return sorted(names, key=lambda code: (names[code], code))


def offered(client, url: str = "/call") -> tuple[list[str], str | None]:
    """The ticket types of the call page in order, and the one selected."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    select = html[html.index('id="lookup-process"'):]
    select = select[:select.index("</select>")]
    selected = re.search(r'<option value="(\w+)" selected>', select)
    return re.findall(r'<option value="(\w+)"', select), selected and selected.group(1)


def choose(admin, codes: list[str], **extra):
    """The admin's form: ``codes`` checked, positioned in that order."""
    data = {"offer": codes, **{f"position-{code}": str(place) for place, code in enumerate(codes, 1)}, **extra}
    return admin.post("/admin/call-types", data=data, headers=EN)


def register(client, code: str):
    data = {"phone": "13900000000", "customer_name": "李女士", "channel": "phone", "transition": "approve",
            "lz_present": PRESENT, **REGISTER}
    return client.post(f"/call?process={code}", data=data, content_type="multipart/form-data")


def test_until_the_admin_chooses_every_published_process_is_offered_by_name(app, types):
    agent = logged_in(app, "agent")
    assert offered(agent) == (types, types[0])
    page = logged_in(app, "admin").get("/admin/call-types", headers=EN).get_data(as_text=True)
    assert "Not saved yet: the call page offers every published process by name." in page


def test_the_admin_chooses_the_types_and_their_order_with_one_audit_entry(app, types):
    admin, agent = logged_in(app, "admin"), logged_in(app, "agent")
    response = choose(admin, ["complaint", "return_goods"])
    assert response.status_code == 302 and response.headers["Location"] == "/admin/call-types"
    assert offered(agent) == (["complaint", "return_goods"], "complaint")
    with database.connection_context():
        entry = AuditEntry.get()
        assert (entry.action, entry.target, entry.actor.username) == ("setting.update", "setting:calls.processes",
                                                                       "admin")
        assert (entry.before, entry.after) == ({"calls.processes": None},
                                               {"calls.processes": ["complaint", "return_goods"]})
    assert choose(admin, ["complaint", "return_goods"]).status_code == 302  # unchanged: nothing recorded
    with database.connection_context():
        assert AuditEntry.select().count() == 1


def test_positions_order_the_checked_types_and_unchecked_rows_are_left_out(app, types):
    admin = logged_in(app, "admin")
    data = {"offer": ["advice", "return_goods"], "position-advice": "2", "position-return_goods": "1",
            "position-complaint": "3"}
    assert admin.post("/admin/call-types", data=data).status_code == 302
    with database.connection_context():
        assert calltypes.chosen() == ["return_goods", "advice"]


@pytest.mark.parametrize(("move", "expected"), [
    ("down:complaint", ["return_goods", "complaint", "advice"]),
    ("up:advice", ["complaint", "advice", "return_goods"]),
    ("up:complaint", ["complaint", "return_goods", "advice"]),  # already first, last: nothing moves
    ("down:advice", ["complaint", "return_goods", "advice"])])
def test_up_and_down_save_the_form_with_the_row_moved(app, types, move, expected):
    admin = logged_in(app, "admin")
    assert choose(admin, ["complaint", "return_goods", "advice"], move=move).status_code == 302
    with database.connection_context():
        assert calltypes.chosen() == expected


def test_the_admin_page_lists_offered_types_first_with_their_buttons(app, types):
    admin = logged_in(app, "admin")
    choose(admin, ["return_goods", "complaint"])
    html = admin.get("/admin/call-types", headers=EN).get_data(as_text=True)
    rows = re.findall(r'<tr data-lz-process="(\w+)">', html)
    assert rows == ["return_goods", "complaint", "advice"]
    assert 'name="move" value="down:return_goods"' in html and 'name="move" value="up:complaint"' in html
    assert 'value="down:advice"' not in html  # a type not offered has no place to move in
    assert re.search(r'name="offer" value="advice" id="offer-3">', html)  # unchecked
    assert html.index('csrf_token') < html.index('<table')


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"offer": ["nope"]}, "offer", "nope is not a published process."),
    ({"offer": ["complaint", "complaint"]}, "offer", "complaint is listed twice."),
    ({"offer": ["complaint"], "position-complaint": "first"}, "position-complaint",
     "Enter the position as a whole number, e.g. 1."),
    ({"offer": ["complaint"], "move": "up:advice"}, "move", NOT_MOVED),
    ({"offer": ["complaint"], "move": "sideways:complaint"}, "move", NOT_MOVED),
])
def test_bad_input_is_refused_at_its_field_and_nothing_is_saved(app, types, data, field, message):
    response = logged_in(app, "admin").post("/admin/call-types", data=data, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"<code>{field}</code>: {message}" in html
    with database.connection_context():
        assert Setting.select().count() == 0 and AuditEntry.select().count() == 0


def test_a_type_not_offered_is_refused_on_every_path_of_the_call_page(app, types):
    choose(logged_in(app, "admin"), ["complaint"])
    agent = logged_in(app, "agent")
    assert agent.get("/call?process=advice").status_code == 404
    assert register(agent, "advice").status_code == 404
    assert agent.post("/call/preview?process=advice", data=REGISTER).status_code == 404
    with database.connection_context():
        assert Ticket.select().count() == 0
    assert register(agent, "complaint").status_code == 302


def test_the_agents_last_type_is_their_default_while_it_is_offered(app, types):
    admin, agent, other = (logged_in(app, name) for name in ("admin", "agent", "supervisor"))
    choose(admin, ["complaint", "return_goods", "advice"])
    assert register(agent, "return_goods").status_code == 302
    assert offered(agent)[1] == "return_goods"
    assert offered(other)[1] == "complaint"  # per user: the supervisor registered nothing yet
    assert offered(agent, "/call?process=advice")[1] == "advice"  # asking for a type still shows it
    assert offered(agent)[1] == "return_goods"  # looking at a type is no registration
    choose(admin, ["advice", "complaint"])
    assert offered(agent)[1] == "advice"  # no longer offered: the admin's first


def test_publishing_a_new_process_changes_nothing_on_the_call_page(app, types):
    admin, agent = logged_in(app, "admin"), logged_in(app, "agent")
    choose(admin, ["return_goods", "complaint"])
    publish_copy("aaa_first", "0 按名称排第一")  # would come first by name and by code
    assert offered(agent) == (["return_goods", "complaint"], "return_goods")
    assert agent.get("/call?process=aaa_first").status_code == 404
    home = admin.get("/admin/", headers=EN).get_data(as_text=True)
    row = home[home.index('data-lz-process="aaa_first"'):]
    assert '<td class="lz-home-call">no</td>' in row[:row.index("</tr>")]


def test_without_the_setting_a_new_process_is_offered_in_its_place_by_name(app, types):
    publish_copy("zzz_last", "一般咨询")
    names = {**COPIES, "return_goods": "退货申请", "zzz_last": "一般咨询"}
    expected = sorted(names, key=lambda code: (names[code], code))
    assert offered(logged_in(app, "agent")) == (expected, expected[0])


def test_an_empty_choice_offers_nothing_and_says_so(app, types):
    choose(logged_in(app, "admin"), [])
    agent = logged_in(app, "agent")
    html = agent.get("/call", headers=EN).get_data(as_text=True)
    assert "No ticket type is offered on the call page yet" in html and 'id="lz-call-form"' not in html
    assert register(agent, "return_goods").status_code == 404


@pytest.mark.parametrize("username", ["agent", "supervisor", "wh1"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_admins_choose_the_types(app, types, username, method):
    response = getattr(logged_in(app, username), method)("/admin/call-types", data={"offer": ["complaint"]})
    assert response.status_code == 403
    with database.connection_context():
        assert Setting.select().count() == 0


def test_anonymous_visitors_are_sent_to_log_in(client, types):
    response = client.get("/admin/call-types")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_demo_processes_all_open_on_the_call_page(app, users):
    """IT change's first step leads to a countersign step, which has signers and no handler to pick (this
    page answered 500 for it, and IT 变更申请 is the first by name)."""
    from workflows import demo

    with database.connection_context():
        demo.seed_documents()
    agent = logged_in(app, "agent")
    codes, selected = offered(agent)
    assert selected == "it_change" and set(codes) == {"it_change", "repair", "return_goods"}
    for code in codes:
        assert agent.get(f"/call?process={code}").status_code == 200
