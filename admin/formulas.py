"""Formulas and cross-field rules in the visual editor: the field picker, the preview on sample data, ``x-rules``.

A formula is typed as JSON Logic; the picker inserts ``{"var": ...}`` (static/js/admin/formula.js)
and the preview asks the server, which evaluates with the one evaluator the engine uses
(``formbuilder.logic``, exact decimals, ``item`` over the stored dictionaries), as the ticket
pages' live preview does (docs/formulas.md). Rules are listed and edited on their own page.
"""

from __future__ import annotations

import json

from flask import abort, jsonify, request
from flask_admin import expose
from flask_babel import gettext

from formbuilder import editing2, fieldkinds, logic, strictjson
from formbuilder.editing import EditError
from formbuilder.tables import columns, is_table
from workflows.processes import documents as docs

from .editforms import RuleForm, options
from .editor import Stale, change, draft_of, revision
from .places import linked


def _tables(properties: dict) -> dict[str, list[str]]:
    return {name: list(columns(schema)) for name, schema in properties.items() if is_table(schema)}


def picker(doc: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """The picker's groups: the fields, then each table's columns as ``reduce`` and the row operations read them."""
    properties = doc["schema"]["properties"]
    groups = [(gettext("Fields"), [(name, f"{s.get('title') or name} ({name})") for name, s in properties.items()])]
    for name, cols in _tables(properties).items():
        titles = {c: columns(properties[name])[c].get("title") or c for c in cols}
        title = properties[name].get("title") or name
        groups.append((gettext("%(table)s: columns inside reduce", table=title),
                       [(f"current.{c}", f"{titles[c]} (current.{c})") for c in cols]))
        groups.append((gettext("%(table)s: columns inside map, filter, all, some", table=title),
                       [(c, f"{titles[c]} ({c})") for c in cols]))
    return groups


def field_problems(doc: dict, code: str, key: str) -> list[dict]:
    """The draft's problems at field ``key`` (its schema, its formula, its cells in the steps), linked."""
    own = f"/schema/properties/{key}"
    mine = [p for p in docs.check(doc) if p.path == own or p.path.startswith(own + "/")
            or (p.path.startswith("/steps/") and p.path.endswith(f"/fields/{key}"))]
    return linked(mine, code)


def sample_fields(doc: dict, text: str | None) -> list[tuple[str, str]]:
    """(key, title) of the fields formula ``text`` reads, for the preview's sample inputs (none if not JSON)."""
    try:
        expr = strictjson.loads(text or "")
    except ValueError:
        return []
    properties = doc["schema"]["properties"]
    return [(name, (properties.get(name) or {}).get("title") or name) for name in sorted(logic.variables(expr))]


def _sample(text: str) -> object:
    """A sample value as typed: JSON when it reads as JSON (``19.99``, ``[{"qty": 2}]``, ``true``), else text."""
    try:
        return strictjson.loads(text)
    except ValueError:
        return text


def preview(doc: dict, text: str, samples: dict[str, str]) -> dict:
    """The value of formula ``text`` on ``samples``, or its problems (check 7), and the fields it reads."""
    if not text.strip():
        return {"value": None, "text": "", "problems": [gettext("Type a formula.")], "variables": []}
    try:
        expr = fieldkinds.parse_formula(text)
    except EditError as error:
        return {"value": None, "text": "", "problems": [error.problem.msg.render(gettext)], "variables": []}
    properties, indexes = doc["schema"]["properties"], docs.dictionary_indexes()
    found = [p.render(gettext) for p in logic.problems(expr, properties, _tables(properties), indexes)]
    names = sorted(logic.variables(expr))
    data = {name: _sample(samples[name]) for name in names if (samples.get(name) or "").strip()}
    value = None if found else logic.evaluate(expr, data, indexes)
    return {"value": value, "text": "" if value is None else json.dumps(value, ensure_ascii=False),
            "problems": found, "variables": [{"name": n, "title": (properties.get(n) or {}).get("title") or n}
                                             for n in names]}


def _rule_data(rule: dict) -> dict:
    message = rule.get("message") if isinstance(rule.get("message"), dict) else {}
    check = json.dumps(rule["check"], ensure_ascii=False) if "check" in rule else ""
    return {"field": rule.get("field"), "check": check, "message_zh": message.get("zh"),
            "message_en": message.get("en")}


def rule_of(form: RuleForm, doc: dict, index: int) -> dict:
    """The rule the form describes; EditError names the wrong part at its path."""
    path = ["x-rules", index]
    if not form.validate():
        name, errors = next(iter(form.errors.items()))
        raise EditError([*path, "message" if name.startswith("message") else name], "%(detail)s",
                        detail=f"{form[name].label.text}: {errors[0]}")
    if form.field.data not in doc["schema"]["properties"]:
        raise EditError([*path, "field"], "no such field in schema")
    try:
        check = fieldkinds.parse_formula(form.check.data)
    except EditError as error:
        raise EditError([*path, "check"], error.problem.msg.msgid, **error.problem.msg.params) from None
    return {"field": form.field.data, "check": check,
            "message": {"zh": form.message_zh.data.strip(), "en": form.message_en.data.strip()}}


class FormulasMixin:
    """Mixed into the processes view; its changes go through ``admin.editor.change``."""

    @staticmethod
    def _field_extras(doc: dict, code: str, key: str | None) -> dict:
        """What the field page adds for format 2: the formula's picker, the field's own problems."""
        return {"picker": picker(doc), "checked": field_problems(doc, code, key) if key else [],
                "sample_fields": lambda text: sample_fields(doc, text)}

    @expose("/<code>/formula-preview", methods=("POST",))
    def formula_preview(self, code: str):
        _, doc = draft_of(code)
        samples = {name[len("sample-"):]: value for name, value in request.form.items() if name.startswith("sample-")}
        return jsonify(preview(doc, request.form.get("formula", ""), samples))

    @expose("/<code>/rules", methods=("GET", "POST"))
    def rules_page(self, code: str):
        _, doc = draft_of(code)
        rules = doc.get("x-rules") if isinstance(doc.get("x-rules"), list) else []
        index = self._rule_index(request.form.get("index") if request.method == "POST" else request.args.get("rule"),
                                 rules)
        form = RuleForm(request.form) if request.method == "POST" else RuleForm(
            data=_rule_data(rules[index]) if index is not None else {})
        form.field.choices = options([("", "—"), *((n, f"{s.get('title') or n} ({n})")
                                                    for n, s in doc["schema"]["properties"].items())])
        if request.method == "GET":
            return self._render_rules(code, doc, form, index)
        try:
            rule = rule_of(form, doc, len(rules) if index is None else index)
            problems = change(code, "process.edit", lambda d: editing2.put_rule(d, index, rule))
        except (Stale, docs.DocumentError, EditError) as error:
            return self._refused(code, lambda p: self._render_rules(code, doc, form, index, p), error)
        return self._done(code, problems, gettext("Rule saved."), ".rules_page")

    @staticmethod
    def _rule_index(raw: str | None, rules: list) -> int | None:
        """The rule a page edits (None: a new one); an index the draft lacks is a 404."""
        if not raw:
            return None
        if not raw.isascii() or not raw.isdigit() or int(raw) >= len(rules):
            abort(404)
        return int(raw)

    def _render_rules(self, code: str, doc: dict, form: RuleForm, index: int | None, problems: list | None = None):
        rules = doc.get("x-rules") if isinstance(doc.get("x-rules"), list) else []
        return self.render("admin/editor_rules.html", code=code, doc=doc, rules=rules, form=form, index=index,
                           rev=revision(doc), problems=problems or [], picker=picker(doc),
                           samples=sample_fields(doc, form.check.data),
                           dumps=lambda value: json.dumps(value, ensure_ascii=False))

    @expose("/<code>/rules/delete", methods=("POST",))
    def rule_delete(self, code: str):
        raw = request.form.get("index", "")
        try:
            index = int(raw) if raw.isascii() and raw.isdigit() else -1
            problems = change(code, "process.edit", lambda d: editing2.remove_rule(d, index))
        except (Stale, docs.DocumentError, EditError) as error:
            return self._refused(code, lambda p: self._editor_page(code, p), error)
        return self._done(code, problems, gettext("Rule removed."), ".rules_page")
