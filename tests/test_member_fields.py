"""Member (成员) and department (部门) fields, and ``assignee.type: "field"`` (issue 18, format 2).

The registry entries (``user``, ``users``, ``department``), the organisation snapshot
``formbuilder.people.PeopleIndex`` (built by ``workflows.people.roster``), the check of
a new value on every path (page, API, dry run), names instead of usernames wherever a
value is read, the picker's options, the handler taken from a field and static check 10.
The keyboard test of the picker is ``test_member_picker_browser.py``. See docs/fields.md.
"""

from __future__ import annotations

import copy
import csv
import io
import re

import pytest
from helpers import fieldset
from test_admin_editor import post_back
from werkzeug.datastructures import MultiDict

from formbuilder import check_process, compiled_step, validate_step
from formbuilder.display import display
from formbuilder.fieldkinds import KINDS, build, settings
from formbuilder.fieldtypes import classify
from formbuilder.forms import PRESENT
from formbuilder.people import PEOPLE, PeopleIndex, Person, Unit
from workflows.people import org, roster
from workflows.processes import documents as docs
from workflows.reporting.exports import flatten
from workflows.storage.models import Process, Ticket, User
from workflows.tickets import engine
from workflows.tickets.errors import Invalid

MEMBER = {"type": "string", "x-widget": "user", "x-role": "handler", "x-department": "warehouse", "title": "工程师"}
MEMBERS = {"type": "array", "uniqueItems": True, "title": "协助人",
           "items": {"type": "string", "x-widget": "user", "x-role": ["handler", "supervisor"]}}
DEPARTMENT = {"type": "string", "x-widget": "department", "title": "处理部门"}
EN = {"Accept-Language": "en"}
PASSWORD = "password1"  # the ``world`` organisation's

REPAIR = {
    "format": 2, "code": "repair", "name": "维修派工",
    "schema": {"type": "object", "properties": {
        "summary": {"type": "string", "title": "故障"}, "engineer": MEMBER, "helpers": MEMBERS, "team": DEPARTMENT}},
    "steps": [
        {"key": "register", "name": "登记",
         "fields": {"summary": "required", "engineer": "required", "helpers": "editable", "team": "required"},
         "assignee": {"type": "creator"}, "transitions": [{"to": "repair", "label": "派工"}]},
        {"key": "repair", "name": "维修",
         "fields": {"summary": "readonly", "engineer": "readonly", "helpers": "editable", "team": "readonly"},
         "assignee": {"type": "field", "value": "engineer"}, "transitions": [{"to": "check", "label": "完工"}]},
        {"key": "check", "name": "验收",
         "fields": {"summary": "readonly", "engineer": "readonly", "helpers": "readonly", "team": "readonly"},
         "assignee": {"type": "field", "value": "team", "pick": "round_robin"},
         "transitions": [{"to": "$end", "label": "结单"}]},
    ],
}
FILLED = {"summary": "冰箱不制冷", "engineer": "wh3", "team": "finance"}


def lines(document: dict) -> list[str]:
    return [str(p) for p in check_process(document, {})]


# -- the registry, the meta-schema, format 1 --------------------------------------------------------

def test_each_shape_is_its_own_type():
    assert [classify(s).name for s in (MEMBER, MEMBERS, DEPARTMENT)] == ["user", "users", "department"]
    assert classify({"type": "string", "title": "x"}).name == "text"  # no widget: plain text as before
    assert classify({"type": "array", "x-widget": "user", "items": {"type": "string"}}) is None  # one shape only
    assert {"user", "users", "department"} <= set(KINDS)


def test_the_repair_document_passes_every_check():
    assert lines(REPAIR) == []


def test_format_1_refuses_the_fields_their_keys_and_the_field_assignee_at_their_paths():
    doc = {**copy.deepcopy(REPAIR), "format": 1}
    assert lines(doc) == [
        '/schema/properties/engineer/x-department: x-department needs "format": 2',
        '/schema/properties/engineer/x-role: x-role needs "format": 2',
        '/schema/properties/engineer/x-widget: x-widget "user" needs "format": 2',
        '/schema/properties/helpers/x-widget: x-widget "user" needs "format": 2',
        '/schema/properties/team/x-widget: x-widget "department" needs "format": 2',
        '/steps/1/assignee/type: assignee type "field" needs "format": 2',
        '/steps/2/assignee/type: assignee type "field" needs "format": 2',
    ]


def test_the_meta_schema_refuses_a_bad_narrowing():
    doc = copy.deepcopy(REPAIR)
    doc["schema"]["properties"]["engineer"]["x-role"] = []
    doc["schema"]["properties"]["team"]["x-department"] = 3
    problems = lines(doc)
    assert any(p.startswith("/schema/properties/engineer/x-role") for p in problems)
    assert any(p.startswith("/schema/properties/team/x-department") for p in problems)


# -- static check 10 -------------------------------------------------------------------------------

def with_assignee(step: int, **assignee) -> dict:
    doc = copy.deepcopy(REPAIR)
    doc["steps"][step]["assignee"] = {"type": "field", **assignee}
    return doc


@pytest.mark.parametrize(("doc", "problem"), [
    (with_assignee(1, value="nosuch"), "/steps/1/assignee/value: no such field in schema"),
    (with_assignee(1, value="summary"), "/steps/1/assignee/value: 'summary' is not a member field or a department "
                                        "field"),
    (with_assignee(1, value="helpers"), "/steps/1/assignee/value: 'helpers' is not a member field or a department "
                                        "field"),
    (with_assignee(2, value="team", pick="manual"), "/steps/2/assignee/pick: a department field's handler is picked "
                                                     "by round robin or fewest open tickets"),
])
def test_check_10_refuses_what_no_handler_can_come_from(doc, problem):
    assert lines(doc) == [problem]


def test_check_10_refuses_a_field_that_may_be_empty_when_the_step_is_reached():
    doc = copy.deepcopy(REPAIR)
    doc["steps"][0]["fields"]["engineer"] = "editable"
    assert lines(doc) == ["/steps/1/assignee/value: 'engineer' may be empty when this step is reached: require it "
                          "at every step before, or compute it"]
    doc["steps"][0]["fields"]["engineer"] = {"mode": "required", "when": {"required": ["summary"]}, "else": "editable"}
    assert len(lines(doc)) == 1  # required in one branch only
    doc["steps"][0]["fields"]["engineer"] = "required"
    doc["steps"][0]["fields"]["team"] = "editable"
    doc["steps"][1]["fields"]["team"] = "required"  # filled at the step just before: enough
    assert lines(doc) == []
    doc["steps"][0]["transitions"].append({"to": "check", "label": "直接验收"})  # a way around the filling step
    assert lines(doc) == ["/steps/2/assignee/value: 'team' may be empty when this step is reached: require it at "
                          "every step before, or compute it"]


# -- validation, with an organisation in memory ----------------------------------------------------

INDEX = PeopleIndex(
    [Person("wh1", "仓管小陈", "handler", "warehouse", True, "cgxc"),
     Person("wh3", "北仓老王", "handler", "north", True, "bclw"),
     Person("wh_old", "老员工", "handler", "warehouse", False),
     Person("sup", "主管王", "supervisor", "service", True),
     Person("fin1", "财务小周", "handler", "finance", True)],
    [Unit("warehouse", "仓库", None), Unit("north", "北仓", "warehouse"), Unit("service", "客服中心", None),
     Unit("finance", "财务", None)])
MODES = ("hidden", "readonly", "editable", "required")
EXAMPLES = {"member": (MEMBER, "wh1", "wh3"), "members": (MEMBERS, ["wh1"], ["wh3", "sup"]),
            "department": (DEPARTMENT, "service", "north")}


def spec_of(schema: dict, mode: str):
    doc = {"format": 2, "code": "probe2", "name": "Probe",
           "schema": {"type": "object", "properties": {"fx": schema, "note": {"type": "string"}}},
           "steps": [{"key": "only", "name": "Only", "fields": {"fx": mode, "note": "editable"},
                      "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "Done"}]}]}
    assert lines(doc) == []
    return compiled_step(("probe2", repr(schema), mode), doc, "only").spec


def errors(schema: dict, submitted: dict, stored: dict | None = None, mode: str = "editable", people=INDEX):
    return validate_step(spec_of(schema, mode), stored or {}, submitted, {}, people=people).errors


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", EXAMPLES)
def test_every_kind_in_every_mode(kind, mode):
    schema, stored, other = EXAMPLES[kind]
    outcome = validate_step(spec_of(schema, mode), {"fx": stored}, {"fx": other}, {}, people=INDEX)
    if mode in ("editable", "required"):
        assert outcome.ok and outcome.data["fx"] == other
    else:
        assert list(outcome.errors) == ["fx"] and outcome.data["fx"] == stored
    empty = validate_step(spec_of(schema, mode), {}, {"note": "x"}, {}, people=INDEX)
    assert list(empty.errors) == (["fx"] if mode == "required" else [])


@pytest.mark.parametrize(("schema", "value", "message"), [
    (MEMBER, "ghost", "No such active user."),
    (MEMBER, "sup", "This user cannot be chosen here (role or department)."),  # a supervisor of service
    (MEMBER, "fin1", "This user cannot be chosen here (role or department)."),  # a handler, of finance
    (MEMBER, "wh_old", "No such active user."),
    (MEMBER, 7, "Wrong type of value."),
    (MEMBER, ["wh1"], "Wrong type of value."),
    (MEMBERS, ["wh1", "ghost"], "No such active user."),
    (MEMBERS, "wh1", "Wrong type of value."),
    (DEPARTMENT, "nowhere", "No such department."),
    (DEPARTMENT, 3, "Wrong type of value."),
])
def test_bad_values_are_refused_at_the_field(schema, value, message):
    assert {k: [str(m) for m in v] for k, v in errors(schema, {"fx": value}).items()} == {"fx": [message]}


def test_a_sub_department_counts_and_a_kept_value_stays_valid():
    assert errors(MEMBER, {"fx": "wh3"}) == {}  # north is below warehouse
    assert errors(MEMBER, {"fx": "wh_old", "note": "x"}, stored={"fx": "wh_old"}) == {}  # deactivated since
    assert errors(MEMBERS, {"fx": ["wh_old", "wh1"]}, stored={"fx": ["wh_old"]}) == {}
    assert list(errors(MEMBERS, {"fx": ["wh_old"]}, stored={"fx": ["wh1"]})) == ["fx"]


def test_without_the_organisation_nothing_new_is_accepted():
    assert list(errors(MEMBER, {"fx": "wh1"}, people=None)) == ["fx"]
    assert errors(MEMBER, {"fx": "wh1"}, people=lambda: INDEX) == {}  # the lazy form


# -- reading and picking --------------------------------------------------------------------------

@pytest.mark.parametrize(("schema", "value", "text"), [
    (MEMBER, "wh1", "仓管小陈 (wh1)"), (MEMBERS, ["wh1", "sup"], "仓管小陈 (wh1)、主管王 (sup)"),
    (MEMBER, "ghost", "ghost"), (MEMBER, 7, "7"), (DEPARTMENT, "north", "北仓"), (DEPARTMENT, "gone", "gone"),
])
def test_values_read_as_names(schema, value, text):
    assert display(schema, value, {PEOPLE: INDEX}) == text
    assert flatten(schema, value, {PEOPLE: INDEX}, {}, ("是", "否")) == text


def test_without_the_index_a_value_reads_as_stored():
    assert display(MEMBER, "wh1", {}) == "wh1" and display(MEMBERS, ["wh1", "sup"], {}) == "wh1、sup"


def form_of(schema: dict, data: dict, formdata=None, mode: str = "editable"):
    spec_of(schema, mode)
    form_class = compiled_step(("probe2", repr(schema), mode), None, "only").form_class
    return form_class(formdata, data=data, dictionaries={PEOPLE: INDEX})


def test_the_picker_offers_the_allowed_people_by_name_and_keeps_what_is_held():
    form = form_of(MEMBER, {"fx": "wh_old"})
    offered = [(c.value, c.label, c.render_kw) for c in form.fx.iter_choices()]
    assert offered == [("", "—", {}), ("wh1", "仓管小陈 (wh1)", {"data-lz-initials": "cgxc"}),
                       ("wh3", "北仓老王 (wh3)", {"data-lz-initials": "bclw"}), ("wh_old", "老员工 (wh_old)", {})]
    departments = [c.label for c in form_of(DEPARTMENT, {}).fx.iter_choices()]
    assert departments == ["—", "仓库", "北仓", "客服中心", "财务"]
    assert [c.value for c in form_of(MEMBERS, {}).fx.iter_choices()] == ["sup", "wh1", "wh3", "fin1"]  # no blank


def test_a_picked_member_round_trips_through_the_form():
    formdata = MultiDict([("fx", "wh3"), (PRESENT, "fx")])
    assert form_of(MEMBER, {}, formdata).submitted(formdata) == {"fx": "wh3"}
    formdata = MultiDict([("fx", "wh1"), ("fx", "sup"), (PRESENT, "fx")])
    assert form_of(MEMBERS, {}, formdata).submitted(formdata) == {"fx": ["wh1", "sup"]}


def test_the_editor_builds_and_reads_back_the_narrowing():
    schema = build("user", {"title": "工程师", "roles": ["handler"], "departments": ["warehouse"]})
    assert schema == {"type": "string", "x-widget": "user", "title": "工程师", "x-role": ["handler"],
                      "x-department": ["warehouse"]}
    assert (settings(schema)["roles"], settings(schema)["departments"]) == (["handler"], ["warehouse"])
    several = build("users", {"title": "协助人", "roles": ["handler"]})
    assert several["items"] == {"type": "string", "x-widget": "user", "x-role": ["handler"]}
    assert build("department", {"title": "部门"}) == {"type": "string", "x-widget": "department", "title": "部门"}


# -- the organisation, the engine, the pages --------------------------------------------------------

@pytest.fixture
def repair(world):
    """The repair process published; a sub-department north under warehouse; people with names."""
    org.create_department("north", "北仓", "warehouse")
    org.create_user("wh3", PASSWORD, "handler", "north", name="北仓老王")
    org.create_user("wh_old", PASSWORD, "handler", "warehouse", name="老员工")
    org.update_user("wh_old", active=False)
    for username, name in (("wh1", "仓管小陈"), ("fin1", "财务小周"), ("agent", "坐席小张")):
        org.update_user(username, name=name)
    docs.save_process(REPAIR, publish=True)
    return world


def fresh_user(username: str) -> User:
    return User.get(User.username == username)


def test_the_roster_builds_the_index_lazily_with_initials(repair):
    index = roster.build()
    assert index.users["wh3"] == Person("wh3", "北仓老王", "handler", "north", True, "bclw")
    assert index.users["wh_old"].active is False and index.departments["north"].parent == "warehouse"
    assert index.subtree("warehouse") == {"warehouse", "north"}
    assert roster.initials("坐席小张 Zhang") == "zxxz"


def test_the_engine_assigns_by_the_member_field_then_by_the_department_field(repair):
    ticket = engine.create(fresh_user("agent"), "repair", dict(FILLED))
    assert (ticket.step, ticket.assignee.username) == ("repair", "wh3")
    ticket = engine.act(fresh_user("wh3"), ticket.number, "advance", version=ticket.version,
                        data={"helpers": ["wh1"]})
    assert (ticket.step, ticket.assignee.username) == ("check", "fin1")  # round robin in finance, from the first


@pytest.mark.parametrize(("data", "field"), [
    ({**FILLED, "engineer": "ghost"}, "engineer"), ({**FILLED, "engineer": "fin1"}, "engineer"),
    ({**FILLED, "engineer": "sup"}, "engineer"), ({**FILLED, "engineer": "wh_old"}, "engineer"),
    ({**FILLED, "engineer": 5}, "engineer"), ({**FILLED, "team": "nowhere"}, "team"),
    ({**FILLED, "helpers": ["agent"]}, "helpers"),
])
def test_the_engine_refuses_bad_values_at_the_field(repair, data, field):
    with pytest.raises(Invalid) as refused:
        engine.create(fresh_user("agent"), "repair", data)
    assert list(refused.value.fields) == [field]
    assert Ticket.select().count() == 0


def test_a_deactivated_engineer_leaves_nobody_to_assign(repair):
    ticket = engine.create(fresh_user("agent"), "repair", dict(FILLED))
    org.update_user("wh3", active=False)
    assert engine.load(ticket.number).data["engineer"] == "wh3"  # the stored value stays
    with pytest.raises(Invalid) as refused:
        engine.create(fresh_user("agent"), "repair", dict(FILLED))
    assert list(refused.value.fields) == ["engineer"]


def api_headers(client, username: str) -> dict:
    token = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}", **EN}


def test_the_api_refuses_at_the_field_and_returns_usernames(repair, client):
    headers = api_headers(client, "agent")
    bad = client.post("/api/v1/tickets", json={"process": "repair", "data": {**FILLED, "engineer": "fin1"}},
                      headers=headers)
    assert bad.status_code == 422 and list(bad.json["fields"]) == ["engineer"]
    made = client.post("/api/v1/tickets", json={"process": "repair", "data": FILLED}, headers=headers)
    assert made.status_code == 201, made.json
    assert made.json["data"]["engineer"] == "wh3" and made.json["assignee"] == "wh3"
    number, handler = made.json["number"], api_headers(client, "wh3")
    version = client.get(f"/api/v1/tickets/{number}", headers=handler).json["version"]
    refused = client.post(f"/api/v1/tickets/{number}/actions", headers=handler, json={
        "action": "advance", "version": version, "data": {"helpers": ["wh1", "agent"]}})
    assert refused.status_code == 422 and list(refused.json["fields"]) == ["helpers"]
    done = client.post(f"/api/v1/tickets/{number}/actions", headers=handler, json={
        "action": "advance", "version": version, "data": {"helpers": ["wh1"]}})
    assert done.status_code == 200 and done.json["data"]["helpers"] == ["wh1"]


def login(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def test_the_page_form_offers_names_refuses_at_the_field_and_shows_names(repair, app):
    agent = login(app, "agent")
    page = agent.get("/call?process=repair").get_data(as_text=True)
    engineer = fieldset(page, "engineer")
    assert '<option data-lz-initials="bclw" value="wh3">北仓老王 (wh3)</option>' in engineer
    assert '<option value="wh2">wh2</option>' in engineer  # a user with no name of their own
    assert "fin1" not in engineer and "wh_old" not in engineer and 'data-lz-type="user"' in engineer
    form = {**FILLED, "engineer": "fin1", PRESENT: list(FILLED)}
    refused = agent.post("/call?process=repair", data=form, headers=EN)
    assert refused.status_code == 422
    assert "This user cannot be chosen here" in fieldset(refused.get_data(as_text=True), "engineer")
    assert agent.post("/call?process=repair", data={**form, "engineer": "wh3"}).status_code == 302
    number = Ticket.get().number
    handler = login(app, "wh3")
    html = handler.get(f"/tickets/{number}").get_data(as_text=True)
    assert "北仓老王 (wh3)" in html and "财务" in html  # read-only values, and the timeline
    posted = handler.post(f"/tickets/{number}/act", headers=EN, data={
        "action": "advance", "version": str(Ticket.get().version), "helpers": "agent", PRESENT: "helpers"})
    assert posted.status_code == 422 and "lz-error" in fieldset(posted.get_data(as_text=True), "helpers")


def test_the_export_holds_names(repair, app):
    engine.create(fresh_user("agent"), "repair", dict(FILLED))
    response = login(app, "admin").get("/tickets/export.csv?scope=all&type=repair&status=")
    table = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert table[1][table[0].index("工程师")] == "北仓老王 (wh3)"
    assert table[1][table[0].index("处理部门")] == "财务"


def test_the_dry_run_checks_members_as_the_engine_does(repair, app):
    admin = login(app, "admin")
    url = "/admin/processes/repair/draft/register"
    refused = admin.post(url, headers=EN, data={**FILLED, "engineer": "sup", PRESENT: list(FILLED)})
    assert "This user cannot be chosen here" in fieldset(refused.get_data(as_text=True), "engineer")
    accepted = admin.post(url, headers=EN, data={**FILLED, PRESENT: list(FILLED)}).get_data(as_text=True)
    assert "This user cannot be chosen here" not in accepted and "北仓老王 (wh3)" in accepted


def test_the_admin_editor_creates_a_member_field_with_its_narrowing(repair, app):
    admin = login(app, "admin")
    page = admin.get("/admin/processes/repair/add-field/user", headers=EN).get_data(as_text=True)
    assert 'value="handler"' in page and "北仓 (north)" in page
    response = post_back(admin, "/admin/processes/repair/add-field/user", "lz-field-form", key="reviewer",
                         title="复核人", roles="supervisor", departments="warehouse")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    saved = Process.get(Process.code == "repair").draft["schema"]["properties"]["reviewer"]
    assert saved == {"type": "string", "x-widget": "user", "title": "复核人", "x-role": ["supervisor"],
                     "x-department": ["warehouse"]}
    edit = admin.get("/admin/processes/repair/fields/reviewer", headers=EN).get_data(as_text=True)
    assert re.search(r'<input checked[^>]+value="supervisor"', edit)  # read back: the box ticked
    assert re.search(r'<option selected value="warehouse">', edit)


def test_the_public_web_form_lists_no_staff_and_still_checks_members(repair, app, client):
    doc = copy.deepcopy(REPAIR)
    doc["web_form"] = {"enabled": True}
    docs.save_process(doc, publish=True)
    html = client.get("/forms/repair").get_data(as_text=True)
    assert 'data-lz-field="engineer"' in html and "wh3" not in html and "北仓老王" not in html
    contact = {"lz_contact-name": "李女士", "lz_contact-phone": "13900000000"}
    refused = client.post("/forms/repair", headers=EN, data={**contact, **FILLED, "engineer": "sup",
                                                              PRESENT: list(FILLED)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "This user cannot be chosen here" in fieldset(page, "engineer")
    assert "wh3" not in page and "北仓老王" not in page and Ticket.select().count() == 0
