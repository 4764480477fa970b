"""The 1-5 star rating, a field type added as one registration.

Its entry in ``formbuilder.fieldtypes.REGISTRY`` (schema shape, editor kind, WTForms
field, text, export value), its partial ``templates/forms/fields/rating.html`` and
its script ``static/js/fields/rating.js`` are all it took; the page tests run on
both databases. The keyboard test is ``test_rating_browser.py``.
"""

from __future__ import annotations

import csv
import io
import re
from functools import partial

import pytest
from helpers import fieldset, logged_in
from test_admin_editor import post_back
from test_forms import form_for
from test_validation import FIELD_TYPES, spec_for
from werkzeug.datastructures import MultiDict

from formbuilder import Msg, check_process, validate_step
from formbuilder.display import display
from formbuilder.documents import PROCESS_META
from formbuilder.fieldkinds import KINDS, build, shown
from formbuilder.fieldtypes import REGISTRY, classify
from formbuilder.forms import PRESENT
from workflows.processes import documents as docs
from workflows.reporting.exports import flatten
from workflows.storage.db import database
from workflows.storage.models import Process, Ticket, User
from workflows.tickets import engine

RATING = {"type": "integer", "minimum": 1, "maximum": 5, "x-widget": "rating", "title": "满意度"}
VISIT = {
    "format": 1, "code": "visit", "name": "上门回访",
    "schema": {"type": "object", "properties": {"summary": {"type": "string", "title": "回访摘要"},
                                                "stars": RATING}},
    "steps": [
        {"key": "register", "name": "登记", "fields": {"summary": "required", "stars": "editable"},
         "assignee": {"type": "creator"}, "transitions": [{"to": "rate", "label": "去评分"}]},
        {"key": "rate", "name": "评分", "fields": {"summary": "readonly", "stars": "required"},
         "assignee": {"type": "creator"}, "transitions": [{"to": "review", "label": "提交复核"}]},
        {"key": "review", "name": "复核", "fields": {"summary": "readonly", "stars": "readonly"},
         "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "完成"}]},
    ],
}


# -- the registry: shape, meta-schema, editor kind ----------------------------------------------

def test_the_rating_shape_is_its_own_type_and_a_plain_whole_number_stays_one():
    assert classify(RATING).name == "rating"
    assert classify({"type": "integer", "minimum": 1, "maximum": 5}).name == "integer"
    assert classify({"type": "integer", "x-widget": "rating"}) is None  # the stars are the 1-5 scale


def test_each_example_schema_is_claimed_by_one_type_only():
    for schema in [RATING, *(case[0] for case in FIELD_TYPES.values())]:
        assert [t.name for t in REGISTRY if t.matches(schema)] == [classify(schema).name], schema


def test_the_meta_schema_accepts_every_widget_the_registry_uses():
    allowed = set(PROCESS_META.schema["$defs"]["field"]["properties"]["x-widget"]["enum"])
    assert {t.base["x-widget"] for t in REGISTRY if "x-widget" in t.base} <= allowed


def test_the_editor_kind_builds_the_rating_schema():
    assert KINDS["rating"] == "Star rating (1-5)" and list(KINDS)[list(KINDS).index("attachment") + 1] == "rating"
    assert shown("rating") == ["title", "description", "default", "public"]
    assert build("rating", {"title": "满意度", "default": "4"}) == {**RATING, "default": 4}
    assert classify(build("rating", {"title": "T"})).name == "rating"


# -- compile and validate -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [1, 3, 5])
def test_one_to_five_stars_are_valid(value, dictionaries):
    spec = spec_for(RATING, "editable", dictionaries)
    assert spec.fields["fx"].kind == "rating"
    assert validate_step(spec, {"ct": "fr"}, {"fx": value}, dictionaries).ok


@pytest.mark.parametrize("value", [0, 6, 2.5, "3"])
def test_other_values_are_refused_at_the_field(value, dictionaries):
    outcome = validate_step(spec_for(RATING, "editable", dictionaries), {"ct": "fr"}, {"fx": value}, dictionaries)
    assert list(outcome.errors) == ["fx"]


def test_a_rating_document_passes_every_check(dictionaries):
    assert check_process(VISIT, dictionaries) == []


# -- the form: a round trip ---------------------------------------------------------------------

def test_a_picked_star_is_stored_as_a_whole_number_and_shown_picked_again(dictionaries):
    formdata = MultiDict([("fx", "4"), (PRESENT, "fx")])
    _, posted = form_for(RATING, "editable", dictionaries, data={}, formdata=formdata)
    assert posted.input_errors() == {} and posted.submitted(formdata) == {"fx": 4}
    _, shown_again = form_for(RATING, "editable", dictionaries, data={"fx": 4})
    assert [option.checked for option in shown_again.fx] == [False, False, False, True, False]
    assert [option.data for option in shown_again.fx] == [1, 2, 3, 4, 5]


def test_stars_sent_with_no_pick_keep_what_is_stored_as_radio_buttons_do(dictionaries):
    formdata = MultiDict([(PRESENT, "fx")])
    _, kept = form_for(RATING, "editable", dictionaries, data={"fx": 2}, formdata=formdata)
    _, empty = form_for(RATING, "editable", dictionaries, data={}, formdata=formdata)
    assert kept.submitted(formdata) == {"fx": 2} and empty.submitted(formdata) == {"fx": None}


def test_text_that_is_no_whole_number_is_refused_at_the_field(dictionaries):
    formdata = MultiDict([("fx", "2.5"), (PRESENT, "fx")])
    _, form = form_for(RATING, "editable", dictionaries, data={}, formdata=formdata)
    assert form.input_errors() == {"fx": [Msg("Not a valid whole number.")]}


# -- display and export -------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (3, "★★★☆☆ (3)"), (5, "★★★★★ (5)"), (1, "★☆☆☆☆ (1)"), (None, ""),
    ("abc", "abc"), (9, "9"), (2.5, "2.5"),  # total: a value stored some other way reads as text
])
def test_a_rating_reads_as_stars(value, text):
    assert display(RATING, value, {}) == text


@pytest.mark.parametrize(("value", "cell"), [(3, "3"), (None, ""), ("abc", "abc")])
def test_a_rating_exports_as_its_number(value, cell):
    assert flatten(RATING, value, {}, {}, ("是", "否")) == cell


# -- the pages, on both databases ---------------------------------------------------------------

@pytest.fixture
def visit(app, users):
    """The rating process published; ``as_user(username)`` gives a logged-in test client."""
    with app.app_context(), database.connection_context():
        docs.save_process(VISIT, publish=True)

    return partial(logged_in, app)


def rated_ticket(agent_client, stars: str = "4") -> str:
    """A visit registered, then rated on the ticket page as a person would post it."""
    with database.connection_context():
        number = engine.create(User.get(User.username == "agent"), "visit", {"summary": "上门安装"}).number
        version = engine.load(number).version
    response = agent_client.post(f"/tickets/{number}/act", data={
        "action": "advance", "version": str(version), "transition": "review", "stars": stars, PRESENT: "stars"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return number


def test_the_call_page_offers_five_editable_stars(visit):
    html = visit("agent").get("/call?process=visit").get_data(as_text=True)
    stars = fieldset(html, "stars")
    assert 'data-lz-type="rating"' in stars and "disabled" not in stars
    assert len(re.findall(r'<input[^>]+name="stars"[^>]+type="radio"', stars)) == 5
    assert stars.count("★") == 5 and "text-warning" not in stars  # nothing picked yet
    assert re.search(r'data-lz-scripts="[^"]*\brating\b', html)


def test_the_rated_ticket_shows_read_only_stars_and_reads_them_as_text(visit):
    agent = visit("agent")
    number = rated_ticket(agent)
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        assert (ticket.step, ticket.data["stars"]) == ("review", 4)
    html = agent.get(f"/tickets/{number}").get_data(as_text=True)
    stars = fieldset(html, "stars")
    assert 'data-lz-mode="readonly"' in stars and "disabled" in stars[:stars.index(">")]
    assert re.search(r'<input[^>]+checked[^>]+value="4"|<input[^>]+value="4"[^>]+checked', stars)
    assert stars.count("text-warning") == 4 and stars.count("text-muted") == 1
    assert "★★★★☆ (4)" in html  # the timeline's change


def test_a_bad_pick_is_refused_at_the_field(visit):
    agent = visit("agent")
    with database.connection_context():
        number = engine.create(User.get(User.username == "agent"), "visit", {"summary": "上门安装"}).number
        version = engine.load(number).version
    response = agent.post(f"/tickets/{number}/act", headers={"Accept-Language": "en"}, data={
        "action": "advance", "version": str(version), "transition": "review", "stars": "6", PRESENT: "stars"})
    assert response.status_code == 422
    assert "lz-error" in fieldset(response.get_data(as_text=True), "stars")


def test_the_export_holds_the_number(visit):
    number = rated_ticket(visit("agent"))
    response = visit("admin").get("/tickets/export.csv?scope=all&type=visit&status=")
    table = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert table[1][0] == number and table[1][table[0].index("满意度")] == "4"


def test_the_admin_editor_lists_the_kind_and_saves_its_field(visit):
    admin = visit("admin")
    assert 'data-kind="rating"' in admin.get("/admin/processes/visit/edit").get_data(as_text=True)
    response = post_back(admin, "/admin/processes/visit/add-field/rating", "lz-field-form", key="service",
                         title="服务评分")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with database.connection_context():
        saved = Process.get(Process.code == "visit").draft["schema"]["properties"]["service"]
    assert saved == {**RATING, "title": "服务评分"}
