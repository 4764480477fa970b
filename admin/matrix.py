"""The field matrix (fields x steps, like Redmine's field permissions): cells to and from the page.

A cell is a mode, or a conditional mode: ``mode`` while the condition holds,
``else`` otherwise. Input names are ``mode:STEP:FIELD``, ``field:STEP:FIELD``,
``op:...``, ``value:...``, ``else:...`` and ``raw:...`` (a condition the pickers
cannot express, kept verbatim).
"""

from __future__ import annotations

import json

from formbuilder import conditions, strictjson
from formbuilder.conditions import Condition
from formbuilder.editing import MODES
from formbuilder.messages import N_, Msg, Problem, pointer


def condition_from(doc: dict, when: object) -> dict:
    """Picker values for a ``when`` schema; raw JSON when the pickers cannot express it."""
    if when is None:
        return {"field": "", "op": "eq", "value": "", "when_json": ""}
    found = conditions.from_schema(when)
    if found is None or found.field not in doc["schema"]["properties"]:
        return {"field": "", "op": "eq", "value": "", "when_json": json.dumps(when, ensure_ascii=False)}
    field = doc["schema"]["properties"][found.field]
    return {"field": found.field, "op": found.op, "value": conditions.display(field, found.value), "when_json": ""}


def cell_of(doc: dict, raw: object) -> dict:
    if not isinstance(raw, dict):
        return {"mode": raw if raw in MODES else "hidden", "field": "", "op": "eq", "value": "", "else": "hidden",
                "raw": ""}
    picked = condition_from(doc, raw.get("when"))
    return {"mode": raw.get("mode", "hidden"), "field": picked["field"], "op": picked["op"],
            "value": picked["value"], "else": raw.get("else", "hidden"), "raw": picked["when_json"]}


def cells_of(doc: dict) -> dict[str, dict[str, dict]]:
    """``cells[step][field]`` for the page, from the document."""
    return {step["key"]: {name: cell_of(doc, step.get("fields", {}).get(name))
                          for name in doc["schema"]["properties"]} for step in doc["steps"]}


def _posted(form, step: str, name: str) -> dict:
    get = lambda part, default="": form.get(f"{part}:{step}:{name}", default)  # noqa: E731
    mode, otherwise = get("mode", "hidden"), get("else", "hidden")
    return {"mode": mode if mode in MODES else "hidden", "field": get("field"), "op": get("op", "eq"),
            "value": get("value"), "else": otherwise if otherwise in MODES else "hidden", "raw": get("raw")}


def picked_when(doc: dict, field: str, op: str, value: str, raw: str) -> dict | None:
    """The ``when`` schema of a condition's pickers, else of its raw JSON, else None (always).

    Shared by transition rows and matrix cells; raises ValueError (the message is
    a msgid of ``conditions.coerce``) or json.JSONDecodeError for the caller to place.
    """
    if field:
        typed = conditions.coerce(doc["schema"]["properties"].get(field, {}), op, value or "")
        return conditions.to_schema(Condition(field, op, typed))
    return strictjson.loads(raw) if (raw or "").strip() else None


def built_cell(doc: dict, cell: dict) -> object:
    """The document's value for one posted cell."""
    when = picked_when(doc, cell["field"], cell["op"], cell["value"], cell["raw"])
    return cell["mode"] if when is None else {"mode": cell["mode"], "when": when, "else": cell["else"]}


def cells_from_form(doc: dict, form) -> tuple[dict, dict, list[Problem]]:
    """The posted cells (to show again), the document's ``fields`` per step, and problems by JSON path."""
    cells, built, problems = {}, {}, []
    for index, step in enumerate(doc["steps"]):
        cells[step["key"]], built[step["key"]] = {}, {}
        for name in doc["schema"]["properties"]:
            cell = cells[step["key"]][name] = _posted(form, step["key"], name)
            path = ["steps", index, "fields", name]
            try:
                built[step["key"]][name] = built_cell(doc, cell)
            except json.JSONDecodeError as error:
                problems.append(Problem(pointer(path + ["when"]), Msg(N_("Not valid JSON: %(error)s"),
                                                                      {"error": error.msg})))
            except strictjson.NotStandardJSON as error:  # NaN, Infinity, too deep: says which
                problems.append(Problem(pointer(path + ["when"]), error.msg))
            except ValueError as error:  # conditions.coerce: the message is a msgid
                problems.append(Problem(pointer(path + ["when"]), Msg(str(error))))
    return cells, built, problems
