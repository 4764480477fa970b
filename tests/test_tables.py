"""Detail tables (明细表): checks, validation at cells, the form's rows, and every path on both databases.

The pure parts run once; the pages, the API and the engine run on SQLite and PostgreSQL.
How a table reads (ticket page, timeline, exports) is ``test_table_text.py`` and
``test_table_reading_pages.py``; the browser test is ``test_repair_browser.py``.
"""

from __future__ import annotations

import copy
import io
import re
from functools import partial

import pytest
from conftest import PASSWORD, example
from helpers import fieldset, logged_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict

from formbuilder import check_process, validate_step
from formbuilder.cache import compiled_step
from formbuilder.forms import PRESENT
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Attachment, Ticket, User
from workflows.tickets import engine

PARTS = {
    "type": "array", "x-widget": "table", "title": "配件", "maxItems": 5,
    "items": {"type": "object", "required": ["part", "qty"], "properties": {
        "category": {"type": "string", "title": "品类", "x-dictionary": "product"},
        "model": {"type": "string", "title": "型号", "x-dictionary": "product", "x-cascade": "category"},
        "part": {"type": "string", "title": "配件", "oneOf": [{"const": "fan", "title": "风扇"},
                                                            {"const": "pump", "title": "水泵"}]},
        "qty": {"type": "integer", "title": "数量", "minimum": 1},
        "price": {"type": "number", "title": "单价", "minimum": 0, "multipleOf": 0.01},
        "fixed_on": {"type": "string", "format": "date", "title": "日期"},
        "paid": {"type": "boolean", "title": "已付"},
        "photo": {"type": "array", "title": "照片", "maxItems": 2,
                  "items": {"type": "string", "format": "attachment"}},
    }},
}
TOTAL = {"type": "number", "title": "配件合计", "x-formula": {"reduce": [
    {"var": "parts"}, {"+": [{"var": "accumulator"}, {"*": [{"var": "current.qty"}, {"var": "current.price"}]}]}, 0]}}


def fix_process(parts_mode="required", review_mode="readonly") -> dict:
    return {
        "format": 2, "code": "fix", "name": "维修", "number_prefix": "FX",
        "schema": {"type": "object", "properties": {
            "summary": {"type": "string", "title": "摘要"}, "parts": copy.deepcopy(PARTS), "total": TOTAL}},
        "steps": [
            {"key": "register", "name": "登记", "assignee": {"type": "creator"},
             "fields": {"summary": "required", "parts": parts_mode, "total": "readonly"},
             "transitions": [{"to": "review", "label": "提交"}]},
            {"key": "review", "name": "复核", "assignee": {"type": "creator"},
             "fields": {"summary": "readonly", "parts": review_mode, "total": "readonly"},
             "transitions": [{"to": "$end", "label": "完成"}]},
        ],
    }


ROWS = [{"category": "fr", "model": "fr-200", "part": "fan", "qty": 2, "price": 35.5, "paid": True},
        {"part": "pump", "qty": 1, "price": 120, "fixed_on": "2026-05-01"}]


def spec_of(document=None, step="register", dictionaries=None):
    document = document or fix_process()
    assert check_process(document, dictionaries or {}) == [] if dictionaries is not None else True
    return compiled_step(("tables", repr(document)), document, step).spec


def errors(outcome) -> dict[str, list[str]]:
    return {key: [m.msgid for m in messages] for key, messages in outcome.errors.items()}


# -- static checks ---------------------------------------------------------------------------------

def test_the_table_document_passes_every_check(dictionaries):
    assert check_process(fix_process(), dictionaries) == []


@pytest.mark.parametrize(("change", "problem"), [
    (lambda c: c.update(tags={"type": "array", "items": {"type": "string", "oneOf": [{"const": "a"}]}}),
     "/schema/properties/parts/items/properties/tags: unsupported column type: a column holds one value"),
    (lambda c: c["qty"].update({"x-formula": {"var": "price"}}),
     "/schema/properties/parts/items/properties/qty/x-formula: x-formula applies to a whole field, not to a column"),
    (lambda c: c["model"].update({"x-cascade": "ghost"}),
     "/schema/properties/parts/items/properties/model/x-cascade: cascade parent 'ghost' is not another field"),
    (lambda c: c["category"].update({"x-dictionary": "nowhere"}),
     "/schema/properties/parts/items/properties/category/x-dictionary: unknown dictionary 'nowhere'"),
])
def test_a_bad_column_is_refused_at_its_path(change, problem, dictionaries):
    document = fix_process()
    change(document["schema"]["properties"]["parts"]["items"]["properties"])
    assert problem in [str(p) for p in check_process(document, dictionaries)]


def test_a_required_column_must_exist(dictionaries):
    document = fix_process()
    document["schema"]["properties"]["parts"]["items"]["required"].append("colour")
    assert [str(p) for p in check_process(document, dictionaries)] == [
        "/schema/properties/parts/items/required/2: no such column in the table"]


def test_a_format_1_document_cannot_hold_a_table(dictionaries):
    document = {**fix_process(), "format": 1}
    del document["schema"]["properties"]["total"]
    for step in document["steps"]:
        del step["fields"]["total"]
    assert [str(p) for p in check_process(document, dictionaries)] == [
        '/schema/properties/parts/x-widget: x-widget "table" needs "format": 2']


def test_a_table_in_a_table_is_no_column(dictionaries):
    document = fix_process()
    document["schema"]["properties"]["parts"]["items"]["properties"]["inner"] = copy.deepcopy(PARTS)
    assert "/schema/properties/parts/items/properties/inner: unsupported column type: a column holds one value" in [
        str(p) for p in check_process(document, dictionaries)]


# -- validation: every error at its cell -----------------------------------------------------------

def test_valid_rows_are_stored_as_they_are_with_the_total(dictionaries):
    outcome = validate_step(spec_of(), {}, {"summary": "修冰箱", "parts": ROWS}, dictionaries)
    assert outcome.ok, outcome.errors
    assert outcome.data["parts"] == ROWS and outcome.data["total"] == 191


@pytest.mark.parametrize(("rows", "expected"), [
    ([{"part": "fan"}], {"parts/0/qty": ["This field is required."]}),
    ([ROWS[0], {"part": "fan", "qty": 0}], {"parts/1/qty": ["Must be at least %(limit)s."]}),
    ([ROWS[0], ROWS[1], {"part": "drum", "qty": 1}], {"parts/2/part": ["Not one of the available options."]}),
    ([{"part": "fan", "qty": 1, "price": 1.005}], {"parts/0/price": ["Must be a multiple of %(limit)s."]}),
    ([{"part": "fan", "qty": 1, "fixed_on": "2026-13-01"}],
     {"parts/0/fixed_on": ["Not a valid date (years 1900 to 2999)."]}),
    ([{"part": "fan", "qty": 1, "colour": "red"}], {"parts/0/colour": ["Unknown field."]}),
    (["fan"], {"parts/0": ["Each row must be an object of cells."]}),
    ([ROWS[1]] * 6, {"parts": ["Rows: at most %(limit)s."]}),
    ([], {"parts": ["This field is required."]}),  # required: at least one row
])
def test_a_bad_cell_is_refused_at_its_cell(rows, expected, dictionaries):
    outcome = validate_step(spec_of(), {}, {"summary": "x", "parts": rows}, dictionaries)
    assert errors(outcome) == expected


def test_a_table_below_its_own_minimum_is_refused_at_the_table(dictionaries):
    document = fix_process("editable")
    document["schema"]["properties"]["parts"]["minItems"] = 2
    outcome = validate_step(spec_of(document), {}, {"summary": "x", "parts": ROWS[:1]}, dictionaries)
    assert errors(outcome) == {"parts": ["Rows: at least %(limit)s."]}


def test_dictionary_cells_are_options_and_cascades_follow_their_row(dictionaries):
    rows = [{"category": "fr", "model": "mw-a1", "part": "fan", "qty": 1},
            {"category": "ghost", "part": "fan", "qty": 1},
            {"category": "mw", "model": "mw-a1", "part": "fan", "qty": 1}]
    outcome = validate_step(spec_of(), {}, {"summary": "x", "parts": rows}, dictionaries)
    assert {k: [m.render() for m in v] for k, v in outcome.errors.items()} == {
        "parts/0/model": ["Not an option of the chosen 品类."],
        "parts/1/category": ["Not one of the available options."]}


@pytest.mark.parametrize("mode", ["hidden", "readonly"])
def test_a_table_that_is_not_editable_cannot_be_sent(mode, dictionaries):
    spec = spec_of(fix_process(review_mode=mode), "review")
    stored = {"summary": "x", "parts": ROWS, "total": 191}
    outcome = validate_step(spec, stored, {"parts": ROWS[:1]}, dictionaries)
    assert list(outcome.errors) == ["parts"] and outcome.data["parts"] == ROWS


def test_an_editable_table_may_stay_empty_and_a_required_one_may_not(dictionaries):
    assert validate_step(spec_of(fix_process("editable")), {}, {"summary": "x"}, dictionaries).ok
    assert errors(validate_step(spec_of(), {}, {"summary": "x"}, dictionaries)) == {
        "parts": ["This field is required."]}


def test_a_total_over_200_rows_is_exact(dictionaries):
    rows = [{"part": "fan", "qty": 3, "price": 19.99}] * 200
    document = fix_process()
    document["schema"]["properties"]["parts"].pop("maxItems")
    outcome = validate_step(spec_of(document), {}, {"summary": "x", "parts": rows}, dictionaries)
    assert outcome.ok and outcome.data["total"] == 11994 and type(outcome.data["total"]) is int


# -- hypothesis: generated valid tables pass; one mutated cell fails at its path ---------------------

CELLS = {"part": st.sampled_from(["fan", "pump"]), "qty": st.integers(1, 10 ** 6),
         "price": st.integers(0, 10 ** 7).map(lambda cents: cents / 100),
         "fixed_on": st.dates().filter(lambda d: 1900 <= d.year <= 2999).map(str), "paid": st.just(True)}
ROW = st.fixed_dictionaries({"part": CELLS["part"], "qty": CELLS["qty"]},
                            optional={k: v for k, v in CELLS.items() if k not in ("part", "qty")})
BAD = {"qty": [0, -1, 1.5, "2", None], "price": [-0.01, 0.001, "1"], "part": ["drum", "", 3],
       "fixed_on": ["2026-02-30", "yesterday"], "paid": ["yes", 1]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=5), data=st.data())
def test_generated_tables_pass_and_a_mutated_cell_fails_at_its_path(rows, data, dictionaries):
    spec = spec_of()
    assert validate_step(spec, {}, {"summary": "x", "parts": rows}, dictionaries).ok
    index = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(sorted(BAD)))
    bad = copy.deepcopy(rows)
    bad[index][column] = data.draw(st.sampled_from(BAD[column]))
    outcome = validate_step(spec, {}, {"summary": "x", "parts": bad}, dictionaries)
    assert list(outcome.errors) == [f"parts/{index}/{column}"]


# -- the form: rows by name, blank rows left out, errors back in their cells -------------------------

def posted(*cells, present=("summary", "parts")) -> MultiDict:
    return MultiDict([("summary", "修冰箱"), *cells, *((PRESENT, name) for name in present)])


def form_of(formdata, document=None, data=None, dictionaries=None):
    document = document or fix_process()
    compiled = compiled_step(("tables", repr(document)), document, "register")
    return compiled.form_class(formdata, data=data or {}, dictionaries=dictionaries or {})


def test_posted_rows_become_the_table_in_page_order_without_blank_rows(dictionaries):
    formdata = posted(("parts-0-part", "pump"), ("parts-0-qty", "1"), ("parts-0-price", ""),
                      ("parts-1-part", ""), ("parts-1-qty", ""), ("parts-2-part", "fan"), ("parts-2-qty", "2"),
                      ("parts-2-price", "35.50"), ("parts-2-paid", "y"), ("parts-2-fixed_on", "2026-05-01"))
    form = form_of(formdata, dictionaries=dictionaries)
    assert form.input_errors() == {}
    assert form.submitted(formdata)["parts"] == [
        {"part": "pump", "qty": 1}, {"part": "fan", "qty": 2, "price": 35.5, "fixed_on": "2026-05-01", "paid": True}]


def test_errors_go_back_to_their_cells_past_a_blank_row(dictionaries):
    formdata = posted(("parts-0-part", "fan"), ("parts-0-qty", "1"), ("parts-1-qty", ""),
                      ("parts-2-part", "fan"), ("parts-2-qty", "abc"))
    form = form_of(formdata, dictionaries=dictionaries)
    assert {k: [m.msgid for m in v] for k, v in form.input_errors().items()} == {
        "parts/1/qty": ["Not a valid whole number."]}
    outcome = validate_step(form.spec, {}, form.submitted(formdata), dictionaries)
    form.show_outcome(outcome, None)
    assert [[f.name for f in row.form if f.errors] for row in form.parts.entries] == [[], [], ["parts-2-qty"]]


def test_a_table_not_sent_keeps_its_stored_rows_and_an_emptied_one_is_empty(dictionaries):
    stored = {"summary": "x", "parts": ROWS}
    kept = form_of(posted(present=("summary",)), data=stored, dictionaries=dictionaries)
    assert kept.parts.data == [{k: v for k, v in row.items()} for row in ROWS]
    emptied = form_of(posted(), data=stored, dictionaries=dictionaries)
    assert emptied.submitted(posted())["parts"] is None


def test_row_choices_follow_each_rows_parent(dictionaries):
    form = form_of(None, data={"parts": [{"category": "fr", "part": "fan", "qty": 1},
                                         {"category": "mw", "part": "fan", "qty": 1}]}, dictionaries=dictionaries)
    models = [[value for value, _ in row.form.model.choices] for row in form.parts.entries]
    assert models == [["", "fr-200", "fr-450"], ["", "mw-a1", "mw-a2"]]


# -- the pages, the API and the engine, on both databases -----------------------------------------

@pytest.fixture
def fix(app, users):
    with app.app_context(), database.connection_context():
        for code in ("channel", "product"):
            docs.import_dictionary(example(f"{code}.dictionary.json"))
        docs.save_process(fix_process(), publish=True)

    return partial(logged_in, app)


def test_the_call_page_offers_an_editable_table_with_a_row_template(fix):
    html = fix("agent").get("/call?process=fix").get_data(as_text=True)
    table = fieldset(html, "parts")
    assert 'data-lz-type="table"' in table and "disabled" not in table[:table.index(">")]
    assert 'name="parts-0-qty"' in table and 'name="parts-__row__-qty"' in table
    assert "data-lz-add-row" in table and table.count("data-lz-remove") == 2  # the empty row and the template
    assert re.search(r'data-lz-scripts="[^"]*\btable\b', html)


def test_a_call_with_rows_and_a_photo_is_stored_with_the_total(fix):
    agent = fix("agent")
    photo = FileStorage(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64), "fan.png", content_type="image/png")
    data = {"summary": "修冰箱", "parts-0-part": "fan", "parts-0-qty": "2", "parts-0-price": "35.5",
            "parts-0-photo": photo, "parts-1-part": "pump", "parts-1-qty": "1", "parts-1-price": "120",
            PRESENT: ["summary", "parts"]}
    response = agent.post("/call?process=fix", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with database.connection_context():
        ticket = Ticket.get()
        [key] = ticket.data["parts"][0]["photo"]
        assert ticket.data["total"] == 191 and ticket.data["parts"][1] == {"part": "pump", "qty": 1, "price": 120}
        assert Attachment.get(Attachment.key == key).ticket_id == ticket.id
        assert Attachment.get(Attachment.key == key).field == "parts"
    html = agent.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    table = fieldset(html, "parts")
    assert "fan.png" in table and 'data-lz-mode="readonly"' in table and 'name="parts-__row__-qty"' not in table


def test_a_bad_cell_on_the_page_is_shown_in_its_row(fix):
    data = {"summary": "修冰箱", "parts-0-part": "fan", "parts-0-qty": "2", "parts-1-part": "fan",
            "parts-1-qty": "0", PRESENT: ["summary", "parts"]}
    response = fix("agent").post("/call?process=fix", data=data, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    rows = fieldset(response.get_data(as_text=True), "parts").split("<tr data-lz-row>")
    assert "Must be at least 1." in rows[2] and "lz-error" not in rows[1]
    with database.connection_context():
        assert Ticket.select().count() == 0


def test_a_photo_of_the_wrong_type_is_refused_at_its_cell_and_nothing_is_kept(fix, app):
    data = {"summary": "修冰箱", "parts-0-part": "fan", "parts-0-qty": "2",
            "parts-0-photo": FileStorage(io.BytesIO(b"MZ\x90\x00" + b"0" * 64), "fan.exe"),
            PRESENT: ["summary", "parts"]}
    response = fix("agent").post("/call?process=fix", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    with database.connection_context():
        assert (Ticket.select().count(), Attachment.select().count()) == (0, 0)


def api_token(client, username: str) -> dict:
    token = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def test_the_api_takes_and_returns_arrays_of_objects_and_names_the_cell(fix, client):
    headers = api_token(client, "agent")
    body = {"process": "fix", "data": {"summary": "修冰箱", "parts": [ROWS[1], {"part": "fan", "qty": "2"}]}}
    refused = client.post("/api/v1/tickets", json=body, headers=headers)
    assert refused.status_code == 422 and list(refused.json["fields"]) == ["parts/1/qty"]
    body["data"]["parts"][1].update(qty=2, price=10)
    created = client.post("/api/v1/tickets", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["data"]["parts"] == [ROWS[1], {"part": "fan", "qty": 2, "price": 10}]
    assert created.json["data"]["total"] == 140


def test_an_uploaded_key_in_a_cell_must_be_the_actors_own(fix, client):
    headers = api_token(client, "agent")
    upload = client.post("/api/v1/attachments", headers=api_token(client, "supervisor"),
                         data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64), "x.png")})
    assert upload.status_code == 201, upload.json
    body = {"process": "fix", "data": {"summary": "x", "parts": [{"part": "fan", "qty": 1,
                                                                   "photo": [upload.json["id"]]}]}}
    refused = client.post("/api/v1/tickets", json=body, headers=headers)
    assert refused.status_code == 422 and list(refused.json["fields"]) == ["parts/0/photo"]


def test_the_engine_keeps_the_photos_of_rows_moved_and_edited_later(fix, app):
    document = fix_process(review_mode="editable")
    with app.app_context(), database.connection_context():
        docs.save_process(document, publish=True)
        agent = User.get(User.username == "agent")
        photo = FileStorage(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64), "fan.png", content_type="image/png")
        ticket = engine.create(agent, "fix", {"summary": "x", "parts": [dict(ROWS[1]), {"part": "fan", "qty": 1,
                                                                                       "price": 10}]},
                               files={"parts/1/photo": [photo]})
        assert ticket.step == "review"
        key = ticket.data["parts"][1]["photo"][0]
        moved = [ticket.data["parts"][1], {**ticket.data["parts"][0], "qty": 3}]
        ticket = engine.act(agent, ticket.number, "advance", version=ticket.version,
                            data={"parts": moved}, transition="$end")
        assert ticket.data["parts"][0]["photo"] == [key] and ticket.data["total"] == 370


def test_a_closed_ticket_shows_its_table_as_a_table_with_labels(fix, app):
    with app.app_context(), database.connection_context():
        agent = User.get(User.username == "agent")
        ticket = engine.create(agent, "fix", {"summary": "x", "parts": [dict(ROWS[0]), dict(ROWS[1])]})
        engine.act(agent, ticket.number, "advance", version=ticket.version, data={}, transition="$end")
    html = fix("agent").get(f"/tickets/{ticket.number}").get_data(as_text=True)
    grid = html[html.index('<table class="table table-sm lz-table mb-0">'):]
    grid = grid[:grid.index("</table>")]
    assert [re.sub(r"<[^>]+>", "", th) for th in re.findall(r'<th scope="col"[^>]*>.*?</th>', grid)] == [
        "#", "品类", "型号", "配件", "数量", "单价", "日期", "已付", "照片"]
    assert re.findall(r'<td data-label="配件" class="lz-cell">([^<]*)</td>', grid) == ["风扇", "水泵"]
    assert '<td data-label="型号" class="lz-cell">200 升</td>' in grid and ">✓<" in grid


def test_a_form_with_more_rows_than_allowed_is_refused_not_cut_short(dictionaries):
    cells = [item for i in range(7) for item in ((f"parts-{i}-part", "fan"), (f"parts-{i}-qty", "1"))]
    form = form_of(posted(*cells), dictionaries=dictionaries)
    assert len(form.submitted(posted(*cells))["parts"]) == 6  # maxItems 5, and one more to refuse
    outcome = validate_step(form.spec, {}, form.submitted(posted(*cells)), dictionaries)
    assert errors(outcome) == {"parts": ["Rows: at most %(limit)s."]}
    forged = [(f"parts-{i * 1000}-qty", "1") for i in range(1500)]
    document = fix_process()
    del document["schema"]["properties"]["parts"]["maxItems"]
    assert len(form_of(posted(*forged), document=document).parts.entries) == 1000  # tablefield.ROWS_READ
