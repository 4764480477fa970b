"""The live preview of computed fields: the page asks the server, which computes as a submission would.

Why a round trip and not json-logic-js in the page: docs/formulas.md ("The live preview").
The browser test that sees a total change while rows are typed is ``test_repair_browser.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from helpers import logged_in
from test_tables import ROWS, fix_process

from formbuilder.forms import PRESENT
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import User
from workflows.tickets import engine


@pytest.fixture
def fix(app, users):
    from conftest import example

    with app.app_context(), database.connection_context():
        for code in ("channel", "product"):
            docs.import_dictionary(example(f"{code}.dictionary.json"))
        docs.save_process(fix_process(review_mode="editable"), publish=True)

    return partial(logged_in, app)


ROW_FORM = {"summary": "修冰箱", "parts-0-part": "fan", "parts-0-qty": "2", "parts-0-price": "35.5",
            "parts-1-part": "pump", "parts-1-qty": "1", "parts-1-price": "120", PRESENT: ["summary", "parts"]}


def test_the_call_page_asks_for_the_total_as_typed(fix):
    agent = fix("agent")
    html = agent.get("/call?process=fix").get_data(as_text=True)
    assert 'data-lz-preview="/call/preview?process=fix"' in html and "data-lz-computed" in html
    answer = agent.post("/call/preview?process=fix", data=ROW_FORM)
    assert answer.status_code == 200 and answer.json == {"fields": {"total": 191}}
    half = agent.post("/call/preview?process=fix", data={**ROW_FORM, "parts-1-price": ""})
    assert half.json == {"fields": {"total": None}}  # a line without its price has no total yet
    assert agent.post("/call/preview?process=fix", data={**ROW_FORM, "total": "1"}).json == {"fields": {"total": 191}}


def test_only_creators_ask_on_the_call_page(fix):
    assert fix("wh1").post("/call/preview?process=fix", data=ROW_FORM).status_code == 403


def ticket(app) -> tuple[str, int]:
    with app.app_context(), database.connection_context():
        created = engine.create(User.get(User.username == "agent"), "fix", {"summary": "x", "parts": ROWS[1:]})
        return created.number, created.version


def test_the_ticket_page_computes_over_the_stored_data_for_its_handler_only(fix, app):
    number, _ = ticket(app)
    agent = fix("agent")
    html = agent.get(f"/tickets/{number}").get_data(as_text=True)
    assert f'data-lz-preview="/tickets/{number}/preview"' in html
    answer = agent.post(f"/tickets/{number}/preview", data={"parts-0-part": "pump", "parts-0-qty": "3",
                                                            "parts-0-price": "120", PRESENT: "parts"})
    assert answer.json == {"fields": {"total": 360}}
    assert agent.post(f"/tickets/{number}/preview", data={"summary": "y"}).json == {"fields": {"total": 120}}
    assert fix("wh1").post(f"/tickets/{number}/preview", data={"summary": "y"}).status_code in (403, 404)


def test_a_computed_field_hidden_at_the_step_is_not_previewed(fix, app):
    document = fix_process()
    document["steps"][0]["fields"]["total"] = "hidden"
    with app.app_context(), database.connection_context():
        docs.save_process(document, publish=True)
    agent = fix("agent")
    assert "data-lz-preview" not in agent.get("/call?process=fix").get_data(as_text=True).split("lz-form")[1][:300]
    assert agent.post("/call/preview?process=fix", data=ROW_FORM).json == {"fields": {}}


def test_the_preview_needs_the_forms_csrf_token(fix, app):
    agent = fix("agent")
    app.config["WTF_CSRF_ENABLED"] = True
    assert agent.post("/call/preview?process=fix", data=ROW_FORM).status_code == 400


def test_a_closed_ticket_has_no_form_to_preview(fix, app):
    with app.app_context(), database.connection_context():
        agent = User.get(User.username == "agent")
        made = engine.create(agent, "fix", {"summary": "x", "parts": ROWS[1:]})
        engine.act(agent, made.number, "advance", version=made.version, data={}, transition="$end")
    assert fix("agent").post(f"/tickets/{made.number}/preview", data={"summary": "y"}).status_code == 403
