"""Format 2 at submission: computed fields stored by the engine, refused when sent; cross-field rules.

``formbuilder.computed`` is applied by ``validate_step``, which every path's data
passes: these tests go through it directly, through the engine, the API and the page.
"""

from __future__ import annotations

import copy

import pytest
from conftest import PASSWORD
from test_checks_format2 import format_2

from formbuilder import check_process, validate_step
from formbuilder.cache import compiled_step
from formbuilder.computed import fit
from formbuilder.forms import PRESENT
from formbuilder.steps import compile_step
from workflows.i18n import cli_gettext
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Ticket, User
from workflows.tickets import engine
from workflows.tickets.errors import Invalid

FILLED = {"price": 19.99, "qty": 3, "start": "2026-05-01", "end": "2026-05-04"}


def expense() -> dict:
    """format_2() without the field readers (they have their own tests), published as it is."""
    document = format_2()
    document["schema"]["properties"]["fee"].pop("x-readers")
    return document


def spec_of(document: dict, step: str = "apply"):
    assert check_process(document, {}) == []
    return compiled_step(("computed", repr(document)), document, step).spec


def test_computed_fields_are_stored_with_the_data():
    outcome = validate_step(spec_of(expense()), {}, FILLED, {})
    assert outcome.ok, outcome.errors
    assert (outcome.data["total"], outcome.data["length"]) == (59.97, 3)


def test_a_submitted_computed_value_is_refused_like_a_forged_read_only_one():
    outcome = validate_step(spec_of(expense()), {}, {**FILLED, "total": 1}, {})
    assert [m.msgid for m in outcome.errors["total"]] == ["This field is read-only at this step."]
    assert outcome.data["total"] == 59.97  # computed anyway, not taken


def test_a_formula_that_cannot_be_computed_leaves_the_field_empty():
    outcome = validate_step(spec_of(expense()), {}, {**FILLED, "start": None, "end": None, "qty": None}, {})
    assert "total" not in outcome.data and "length" not in outcome.data
    assert set(outcome.errors) == {"qty", "start", "end"}  # required, and the rule needs both dates


def test_a_later_change_recomputes_what_was_stored():
    spec = spec_of(expense())
    first = validate_step(spec, {}, FILLED, {}).data
    assert validate_step(spec, first, {"qty": 10}, {}).data["total"] == 199.9


def test_a_total_over_200_rows_is_exact():
    document = expense()
    properties = document["schema"]["properties"]
    properties["lines"] = {"type": "array", "title": "明细", "items": {"type": "object"}}  # a table, unchecked
    properties["total"]["x-formula"] = {"reduce": [{"var": "lines"}, {"+": [{"var": "accumulator"}, {"*": [
        {"var": "current.qty"}, {"var": "current.price"}]}]}, 0]}
    document["steps"][0]["fields"]["lines"] = "editable"
    rows = [{"qty": 3, "price": 19.99}] * 200
    assert validate_step(compile_step(document, "apply"), {}, {**FILLED, "lines": rows}, {}).data["total"] == 11994


@pytest.mark.parametrize(("schema", "value", "stored"), [
    ({"type": "number"}, 1.5, 1.5), ({"type": "number"}, "1.5", None), ({"type": "number"}, True, None),
    ({"type": "integer"}, 4.0, 4), ({"type": "integer"}, 4.5, None),
    ({"type": "string"}, 12, "12"), ({"type": "string"}, 2.5, "2.5"), ({"type": "string"}, "", None),
    ({"type": "string"}, [1], None), ({"type": "string", "format": "date"}, "2026-05-01", "2026-05-01"),
    ({"type": "string", "format": "date"}, "May 1", None), ({"type": "string", "format": "date-time"}, 3, None),
])
def test_a_result_is_kept_only_as_its_field_can_hold_it(schema, value, stored):
    assert fit(schema, value) == stored


def test_a_rule_fails_at_its_field_in_the_readers_language():
    outcome = validate_step(spec_of(expense()), {}, {**FILLED, "end": "2026-04-30"}, {})
    assert list(outcome.errors) == ["end"]
    [message] = outcome.errors["end"]
    assert message.render(cli_gettext("zh")) == "结束日期不能早于开始日期"
    assert message.render(cli_gettext("en")) == message.render() == "The end cannot be before the start"


def test_a_rule_binds_only_where_its_field_is_editable_or_required():
    document = expense()
    document["steps"][0]["transitions"] = [{"to": "review", "label": "提交"}]
    fields = {name: "readonly" for name in document["schema"]["properties"]}
    document["steps"].append({"key": "review", "name": "复核", "fields": {**fields, "fee": "editable"},
                              "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "完成"}]})
    stored = {**FILLED, "end": "2026-04-30"}  # stored by a version without the rule, say
    assert validate_step(spec_of(document, "review"), stored, {"fee": 2}, {}).ok


def test_a_rule_names_its_field_once_after_the_fields_own_error():
    outcome = validate_step(spec_of(expense()), {}, {**FILLED, "end": "not a date"}, {})
    assert [m.msgid for m in outcome.errors["end"]] == ["Not a valid date (years 1900 to 2999)."]


# -- the engine, the API and the page, on both databases -------------------------------------------

@pytest.fixture
def published(app, users):
    with app.app_context(), database.connection_context():
        docs.save_process(expense(), publish=True)
    return app


def test_the_engine_stores_and_recomputes(published):
    with published.app_context(), database.connection_context():
        agent = User.get(User.username == "agent")
        ticket = engine.create(agent, "expense", dict(FILLED))
        assert (ticket.data["total"], ticket.data["length"]) == (59.97, 3)
        with pytest.raises(Invalid) as refused:
            engine.create(agent, "expense", {**FILLED, "total": 5})
        assert list(refused.value.fields) == ["total"]
        assert Ticket.select().count() == 1


def test_the_api_refuses_a_computed_value_and_a_broken_rule_at_their_fields(published, client):
    token = client.post("/api/v1/auth/token", json={"username": "agent", "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"}
    body = {"process": "expense", "data": {**FILLED, "total": 1, "end": "2026-04-01"}}
    response = client.post("/api/v1/tickets", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json["fields"] == {"total": ["此字段在当前步骤只读。"], "end": ["结束日期不能早于开始日期"]}
    response = client.post("/api/v1/tickets", json={"process": "expense", "data": FILLED}, headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["data"]["total"] == 59.97


def test_the_page_shows_the_computed_value_read_only_and_the_rule_at_its_field(published, client):
    assert client.post("/login", data={"username": "agent", "password": PASSWORD}).status_code == 302
    form = {k: str(v) for k, v in FILLED.items()} | {"end": "2026-04-01", PRESENT: list(FILLED)}
    response = client.post("/call?process=expense", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    end = html[html.index('data-lz-field="end"'):]
    assert "The end cannot be before the start" in end[:end.index("</fieldset>")]
    form["end"] = "2026-05-04"
    assert client.post("/call?process=expense", data=form).status_code == 302
    with database.connection_context():
        number = Ticket.get().number
    html = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "59.97" in html


def test_the_shared_format_1_example_is_untouched(seeded):
    assert copy.deepcopy(seeded.document) == seeded.document and "x-formula" not in str(seeded.document)
