"""Automation rules (自动化规则) in the admin: ordered list, enable/disable, edit, and a dry test.

Every change is one transaction with its audit entry. "Test against ticket N" only
reads: it shows, part by part, whether the ticket's current view matches the
condition, and never runs an action. Access is decided by the admin package's
AdminOnly mixin.
"""

from __future__ import annotations

import json

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_datetime, gettext
from flask_login import current_user
from jsonschema.exceptions import SchemaError
from peewee import fn

from formbuilder import strictjson
from workflows.storage.models import Rule, RuleRun, Ticket
from workflows.subscribers import automation
from workflows.tickets import engine
from workflows.tickets.errors import NotFound

from .common import number
from .ruleforms import RuleForm, action_text, fill_choices, merge, parse_action, row_schema

RUNS_SHOWN = 20


def stored(rule_id: str) -> Rule:
    return Rule.get_or_none(Rule.id == number(rule_id)) or abort(404)


def form_for(rule: Rule | None) -> RuleForm:
    """A GET form: the stored rule, its actions as rows, and blank rows to add more."""
    if rule is None:
        form = RuleForm(formdata=None, data={"enabled": True, "condition_json": "{}"})
    else:
        rows = [{"kind": a.get("type"), "value": action_text(a)} for a in rule.actions or []]
        data = {**automation.rule_snapshot(rule), "process_code": rule.process or "", "step": rule.step or "",
                "actions": rows, "condition_json": pretty(rule.condition or {})}
        form = RuleForm(formdata=None, data=data)
    form.actions.append_entry()
    return form


def pretty(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _condition(form: RuleForm, schemas: dict, problems: list[str]) -> dict:
    """The raw JSON Schema with every filled picker row merged in."""
    try:
        condition = strictjson.loads(form.condition_json.data or "{}")
    except ValueError as error:
        problems.append(f"JSON: {error}")
        return {}
    for row in form.conditions:
        if row.field.data:
            try:
                condition = merge(condition, row_schema(row.field.data, row.op.data, row.value.data or "", schemas))
            except ValueError as error:
                problems.append(f"{row.field.data}: {error}")
    try:
        automation.check_condition(condition)
    except SchemaError as error:
        problems.append(f"JSON Schema: {error.message}")
    return condition if isinstance(condition, dict) else {}


def _actions(form: RuleForm, problems: list[str]) -> list[dict]:
    actions = []
    for row in form.actions:
        if row.kind.data:
            try:
                actions.append(parse_action(row.kind.data, row.value.data or ""))
            except ValueError as error:
                problems.append(str(error))
    problems += automation.check_actions(actions) + ([] if actions else [gettext("Add at least one action.")])
    return actions


def _values(form: RuleForm, schemas: dict) -> tuple[dict, list[str]]:
    """The rule the form describes, and its problems (nothing is saved when there are any)."""
    problems: list[str] = []
    trigger = form.trigger.data
    step = (form.step.data or None) if trigger == "ticket.entered_step" else None
    if trigger == "ticket.entered_step" and not step:
        problems.append(gettext("Choose the step for “entered a step”."))
    values = {"name": form.name.data.strip(), "trigger": trigger, "process": form.process_code.data or None,
              "step": step, "condition": _condition(form, schemas, problems), "actions": _actions(form, problems),
              "stop": bool(form.stop.data), "enabled": bool(form.enabled.data)}
    return values, problems


class RulesView(BaseView):
    @expose("/")
    def index(self):
        rules = list(Rule.select().order_by(Rule.position, Rule.id))
        errors = dict(RuleRun.select(RuleRun.rule, fn.COUNT(RuleRun.id)).where(RuleRun.error.is_null(False))
                      .group_by(RuleRun.rule).tuples())
        return self.render("admin/rules.html", rules=rules, errors=errors)

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        return self._save(None)

    @expose("/<rule_id>/", methods=("GET", "POST"))
    def edit(self, rule_id: str):
        return self._save(stored(rule_id))

    def _save(self, rule: Rule | None):
        form = form_for(rule) if request.method == "GET" else RuleForm()
        schemas = fill_choices(form)
        if request.method == "GET":
            return self._page(rule, form, [])
        values, problems = _values(form, schemas) if form.validate_on_submit() else ({}, [gettext("See the fields.")])
        if problems:
            return self._page(rule, form, problems), 422
        target = automation.save_rule(current_user.user, rule, values)
        flash(gettext("Rule %(name)s saved.", name=target.name), "success")
        return redirect(url_for(".edit", rule_id=target.id))

    def _page(self, rule: Rule | None, form: RuleForm, problems: list[str]):
        runs = (list(RuleRun.select(RuleRun, Ticket).join(Ticket).where(RuleRun.rule == rule)
                     .order_by(RuleRun.id.desc()).limit(RUNS_SHOWN)) if rule else [])
        return self.render("admin/rule.html", rule=rule, form=form, problems=problems, runs=runs,
                           format_datetime=format_datetime)

    @expose("/<rule_id>/move", methods=("POST",))
    def move(self, rule_id: str):
        """Swap with the neighbour above or below."""
        step = -1 if request.form.get("direction") == "up" else 1
        automation.move_rule(current_user.user, stored(rule_id), step)
        return redirect(url_for(".index"))

    @expose("/<rule_id>/toggle", methods=("POST",))
    def toggle(self, rule_id: str):
        automation.toggle_rule(current_user.user, stored(rule_id))
        return redirect(url_for(".index"))

    @expose("/<rule_id>/delete", methods=("POST",))
    def delete(self, rule_id: str):
        rule = stored(rule_id)
        automation.delete_rule(current_user.user, rule)
        flash(gettext("Rule %(name)s deleted.", name=rule.name), "success")
        return redirect(url_for(".index"))

    @expose("/<rule_id>/test", methods=("POST",))
    def test(self, rule_id: str):
        """Which parts of the condition ticket N matches now; no action runs, nothing is written."""
        rule, wanted = stored(rule_id), (request.form.get("ticket") or "").strip()
        try:
            ticket = engine.load(wanted)
        except NotFound:
            flash(gettext("No ticket %(number)s.", number=wanted), "warning")
            return redirect(url_for(".edit", rule_id=rule.id))
        result = automation.explain(rule, ticket)
        return self.render("admin/rule_test.html", rule=rule, ticket=ticket, result=result,
                           view_json=pretty(result["view"]), condition_json=pretty(rule.condition or {}))
