"""Bad documents and bad data, generated: nothing but a validation result ever comes back.

Process and dictionary documents (arbitrary JSON and mutations of the
examples) only ever yield problems; step validators and forms only ever yield
field errors; the call page and the API never answer 5xx. Runs are
derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import copy
import io
import math

import pytest
from conftest import example
from hypothesis import HealthCheck, given, settings
from hypothesis import example as keep
from hypothesis import strategies as st
from test_engine import FINANCE, REGISTER, WAREHOUSE
from werkzeug.datastructures import MultiDict

from formbuilder import Outcome, Problem, check_dictionary, check_process, check_shape, validate_step
from formbuilder.cache import compiled_step
from formbuilder.dictionaries import DictionaryIndex
from formbuilder.forms import PRESENT, build_form_class
from formbuilder.steps import compile_step
from workflows.people import org
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import User

PROCESS = example("return_goods.process.json")
DICTIONARIES = {c: example(f"{c}.dictionary.json") for c in ("channel", "product")}
FIELDS = list(PROCESS["schema"]["properties"])
STEPS = [s["key"] for s in PROCESS["steps"]]
FAST = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
WITH_DB = settings(FAST, max_examples=100, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])

texts = (st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
         | st.sampled_from(["", "\x00", "é" * 300, "𠮷", "0"]))
numbers = st.integers() | st.sampled_from([2**63, -(2**64), 10**400]) | st.floats()
scalars = st.none() | st.booleans() | numbers | texts
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts | st.sampled_from(FIELDS), inner, max_size=4), max_leaves=16)


def strings_in(value) -> list[str]:
    """Every key and string of a document: replacements that look right but sit in the wrong place."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return [value] if isinstance(value, str) else []


def _mutate_once(draw, document, replacements) -> None:
    """Walk to a random node and delete or replace one of its entries."""
    node = document
    while isinstance(node, (dict, list)) and node:
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        child = node[key]
        if isinstance(child, (dict, list)) and child and draw(st.booleans()):
            node = child
            continue
        if draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(replacements)
        return


@st.composite
def mutations(draw, base: dict):
    """``base`` with one to four entries deleted or replaced at random paths."""
    document = copy.deepcopy(base)
    replacements = json_values | st.sampled_from(strings_in(base)) | st.sampled_from([{}, [], None, 0, True])
    for _ in range(draw(st.integers(1, 4))):
        _mutate_once(draw, document, replacements)
    return document


def changed(path: list, value) -> dict:
    """The example process with one value replaced."""
    document = copy.deepcopy(PROCESS)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


# Crashes found by these tests (TypeError: unhashable type in formbuilder.checks), kept as examples.
UNHASHABLE = [changed(["steps", 0, "key"], ["register"]), changed(["steps", 0, "transitions", 0, "to"], ["approve"]),
              changed(["schema", "properties", "category", "x-dictionary"], {"code": "product"}),
              changed(["schema", "properties", "model", "x-cascade"], ["category"])]


def with_examples(**cases):
    """Apply ``@example(name=case)`` for each case of each named list."""
    def decorate(test):
        for name, values in cases.items():
            for value in values:
                test = keep(**{name: value})(test)
        return test
    return decorate


def indexes() -> dict[str, DictionaryIndex]:
    return {code: DictionaryIndex.from_document(doc) for code, doc in DICTIONARIES.items()}


def assert_problems(problems) -> None:
    """A list of located, renderable problems."""
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, Problem) and (problem.path == "" or problem.path.startswith("/"))
        assert problem.render()


def assert_compiles(document: dict) -> None:
    """A document without problems compiles every step into a validator and a form class."""
    for step in document["steps"]:
        build_form_class(compile_step(document, step["key"]))


@FAST
@given(json_values)
def test_arbitrary_json_is_never_a_crash_of_the_process_check(document):
    assert_problems(check_shape(document))
    problems = check_process(document, indexes())
    assert_problems(problems)
    assert problems  # nothing arbitrary is a valid process


@FAST
@given(document=mutations(PROCESS))
@with_examples(document=UNHASHABLE)
def test_a_damaged_process_document_yields_problems_or_compiles(document):
    assert_problems(check_shape(document))
    problems = check_process(document, indexes())
    assert_problems(problems)
    if not problems:
        assert_compiles(document)


@FAST
@given(json_values | mutations(DICTIONARIES["product"]) | mutations(DICTIONARIES["channel"]))
def test_a_damaged_dictionary_yields_problems_or_an_index(document):
    problems = check_dictionary(document)
    assert_problems(problems)
    if not problems:
        index = DictionaryIndex.from_document(document)
        assert index.client_tree() and index.options() is not None


@WITH_DB
@given(document=mutations(PROCESS) | json_values)
@with_examples(document=UNHASHABLE)
def test_saving_a_damaged_process_is_refused_with_problems_only(db, document):
    with database.connection_context():
        for code, dictionary in DICTIONARIES.items():
            if code not in docs.dictionary_indexes():
                docs.import_dictionary(dictionary)
        for save in (docs.save_process, docs.save_draft):
            try:
                save(document)
            except docs.DocumentError as error:
                assert error.problems
                assert_problems(error.problems)


wild_values = json_values | st.sampled_from([math.nan, math.inf, -math.inf, 10**30, -(10**30), [[["deep"]]],
                                             "2026-02-30", "x" * 5000, ["original", "original"], {"$ref": "#"}])
submissions = st.dictionaries(st.sampled_from(FIELDS) | texts, wild_values, max_size=8)
STORED = [{}, REGISTER, {**REGISTER, "approval": "approve"}, {**REGISTER, "approval": "approve", **WAREHOUSE},
          {**REGISTER, "approval": "approve", **WAREHOUSE, **FINANCE}]


@FAST
@given(step=st.sampled_from(STEPS), stored=st.sampled_from(STORED), submitted=submissions)
def test_a_step_validator_returns_field_errors_for_any_submission(step, stored, submitted):
    spec = compiled_step(("fuzz", 1), PROCESS, step).spec
    outcome = validate_step(spec, stored, submitted, indexes())
    assert isinstance(outcome, Outcome)
    for name, messages in outcome.errors.items():
        assert name == "" or name in submitted or name in PROCESS["schema"]["properties"]
        assert all(m.render() for m in messages)


form_pairs = st.lists(st.tuples(st.sampled_from([*FIELDS, PRESENT]) | texts,
                                texts | st.sampled_from(["19.99", "1e999", "-0", "2026-11-22T10:00", "on", "y"])),
                      max_size=10)


@FAST
@given(step=st.sampled_from(STEPS), stored=st.sampled_from(STORED), pairs=form_pairs)
@keep(step="register", stored={}, pairs=[])  # an empty MultiDict was taken for "no formdata": AttributeError
def test_a_step_form_turns_any_post_into_errors(step, stored, pairs):
    """The browser path: form class, conversion errors, then the validator (files: tests/test_uploads.py)."""
    compiled = compiled_step(("fuzz", 1), PROCESS, step)
    formdata = MultiDict(pairs)
    form = compiled.form_class(formdata, data=stored, dictionaries=indexes())
    assert isinstance(form.input_errors(), dict)
    outcome = validate_step(compiled.spec, stored, form.submitted(formdata), indexes())
    form.show_outcome(outcome, lambda text: text)


# Mostly plausible requests, so that most reach the engine: a ticket's fields, each valid or wild.
plain = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


def near(base: dict, changes, encode=lambda v: v):
    """``base`` (encoded) with a few keys dropped and a few set from ``changes``: often still valid."""
    return st.builds(lambda drops, changed: {**{k: encode(v) for k, v in base.items() if k not in drops}, **changed},
                     st.sets(st.sampled_from(list(base)), max_size=2), changes)


submissions_near = near(REGISTER, st.dictionaries(st.sampled_from(FIELDS) | texts, wild_values, max_size=3))
PLAUSIBLE = [*(str(v) for v in REGISTER.values()), "return_goods", "approve", "urgent", "phone", "13800138000"]
form_values = (plain | st.sampled_from(PLAUSIBLE)
               | st.tuples(st.binary(max_size=64), plain))  # a file: (content, filename)
CALL_KEYS = st.sampled_from([*FIELDS, PRESENT, "process", "priority", "channel", "transition", "phone",
                             "customer_name", "assignee_approve"]) | plain
call_forms = near({**REGISTER, "process": "return_goods"},
                  st.dictionaries(CALL_KEYS, st.lists(form_values, min_size=1, max_size=3), max_size=4),
                  encode=lambda v: [str(v)])


@pytest.fixture
def agent(client, auth, seeded):
    auth.login("agent")
    return client


@WITH_DB
@given(form=call_forms)
@keep(form={"photos": [(b"x", "a.txt")], "purchase_date": [(b"x", "b.txt")],
            "order_no": ["1"]})  # a file where text belongs was a 500 (TypeError rendering the form again)
@keep(form={"\n": [""], "order_no": [""]})  # a part without a usable name reached refuse_nul as None: a 500
@keep(form={"order_no": ["TH\x00"]})
def test_posting_anything_to_the_call_page_is_never_a_server_error(agent, form):
    form = {k: [(io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for v in values] for k, values in form.items()}
    response = agent.post("/call", data=form, content_type="multipart/form-data",
                          headers={"Accept-Language": "en"})
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]


plausible_texts = st.sampled_from(["urgent", "normal", "phone", "approve", "supervisor", "agent"]) | plain
api_bodies = st.fixed_dictionaries(
    {"process": st.just("return_goods"), "data": submissions_near},
    optional={"priority": plausible_texts, "channel": plausible_texts, "transition": plausible_texts,
              "assignee": plausible_texts,
              "customer": st.dictionaries(st.sampled_from(["name", "phone", "email", "company"]) | plain,
                                          st.sampled_from(["王", "13800138000", "a@b.cn"]) | wild_values)}
) | json_values


@pytest.fixture
def token(app, users, seeded) -> str:
    with app.app_context(), database.connection_context():
        return org.issue_token(User.get(User.username == "agent"))


@WITH_DB
@given(payload=api_bodies)
@keep(payload={"process": "return_goods", "data": {**REGISTER, "defect": math.nan}})
@keep(payload={"process": "return_goods", "data": {**REGISTER, "photos": 0.5}})  # engine: float not iterable
@keep(payload={"process": "return_goods", "data": {**REGISTER, "photos": [1.5, {}]}})
def test_posting_any_json_to_the_api_is_never_a_server_error(client, token, payload):
    response = client.post("/api/v1/tickets", json=payload,
                           headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
