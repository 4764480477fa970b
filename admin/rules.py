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
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Rule, RuleRun, Ticket, utcnow
from workflows.subscribers import automation
from workflows.tickets import engine
from workflows.tickets.errors import NotFound

from .ruleforms import RuleForm, action_text, fill_choices, merge, parse_action, row_schema

RUNS_SHOWN = 20


def number(text: str) -> int:
    """Ids arrive as plain path segments, so a malformed one meets the access rule, then 404."""
    return int(text) if text.isascii() and text.isdigit() else abort(404)


def stored(rule_id: str) -> Rule:
    return Rule.get_or_none(Rule.id == number(rule_id)) or abort(404)


def snapshot(rule: Rule) -> dict:
    return {"name": rule.name, "position": rule.position, "enabled": rule.enabled, "trigger": rule.trigger,
            "step": rule.step, "process": rule.process, "condition": rule.condition, "actions": rule.actions,
            "stop": rule.stop}


def record(action: str, rule: Rule, before: object, after: object) -> None:
    audit.record(current_user.user, action, f"rule:{rule.id}", before, after)


def form_for(rule: Rule | None) -> RuleForm:
    """A GET form: the stored rule, its actions as rows, and blank rows to add more."""
    if rule is None:
        form = RuleForm(formdata=None, data={"enabled": True, "condition_json": "{}"})
    else:
        rows = [{"kind": a.get("type"), "value": action_text(a)} for a in rule.actions or []]
        data = {**snapshot(rule), "process_code": rule.process or "", "step": rule.step or "", "actions": rows,
                "condition_json": pretty(rule.condition or {})}
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


def _fill(rule: Rule, form: RuleForm, schemas: dict) -> list[str]:
    """Copy the form into ``rule``; returns the problems (nothing is saved when there are any)."""
    problems: list[str] = []
    rule.name, rule.trigger = form.name.data.strip(), form.trigger.data
    rule.process = form.process_code.data or None
    rule.step = (form.step.data or None) if rule.trigger == "ticket.entered_step" else None
    if rule.trigger == "ticket.entered_step" and not rule.step:
        problems.append(gettext("Choose the step for “entered a step”."))
    rule.condition, rule.actions = _condition(form, schemas, problems), _actions(form, problems)
    rule.stop, rule.enabled, rule.updated_at = bool(form.stop.data), bool(form.enabled.data), utcnow()
    return problems


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
        target = rule or Rule(position=(Rule.select(fn.MAX(Rule.position)).scalar() or 0) + 1)
        before = snapshot(rule) if rule else None
        problems = _fill(target, form, schemas) if form.validate_on_submit() else [gettext("See the fields.")]
        if problems:
            return self._page(rule, form, problems), 422
        with database.atomic():
            target.save()
            record("rule.update" if rule else "rule.create", target, before, snapshot(target))
        flash(gettext("Rule %(name)s saved.", name=target.name), "success")
        return redirect(url_for(".edit", rule_id=target.id))

    def _page(self, rule: Rule | None, form: RuleForm, problems: list[str]):
        runs = (list(RuleRun.select(RuleRun, Ticket).join(Ticket).where(RuleRun.rule == rule)
                     .order_by(RuleRun.id.desc()).limit(RUNS_SHOWN)) if rule else [])
        return self.render("admin/rule.html", rule=rule, form=form, problems=problems, runs=runs,
                           format_datetime=format_datetime)

    @expose("/<rule_id>/move", methods=("POST",))
    def move(self, rule_id: str):
        """Swap with the neighbour above or below; positions are renumbered 1..n on the way."""
        rule, step = stored(rule_id), -1 if request.form.get("direction") == "up" else 1
        with database.atomic():
            ordered = list(Rule.select().order_by(Rule.position, Rule.id))
            at = next(i for i, r in enumerate(ordered) if r.id == rule.id)
            if 0 <= at + step < len(ordered):
                ordered[at], ordered[at + step] = ordered[at + step], ordered[at]
                for position, other in enumerate(ordered, 1):
                    Rule.update(position=position).where(Rule.id == other.id).execute()
                record("rule.move", rule, {"position": at + 1}, {"position": at + step + 1})
        return redirect(url_for(".index"))

    @expose("/<rule_id>/toggle", methods=("POST",))
    def toggle(self, rule_id: str):
        rule = stored(rule_id)
        with database.atomic():
            rule.enabled, rule.updated_at = not rule.enabled, utcnow()
            rule.save()
            record("rule.enable" if rule.enabled else "rule.disable", rule, None, {"enabled": rule.enabled})
        return redirect(url_for(".index"))

    @expose("/<rule_id>/delete", methods=("POST",))
    def delete(self, rule_id: str):
        rule = stored(rule_id)
        with database.atomic():
            record("rule.delete", rule, snapshot(rule), None)
            rule.delete_instance()
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
