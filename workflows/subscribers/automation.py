"""Automation rules (自动化规则): on a ticket event, match a JSON Schema condition and act.

A rule sees a *view* of the ticket (:func:`view`), never the ticket itself, and its
actions (tag, priority, handler, CC, notification, customer e-mail) have no way to
write the ticket's form data: a rule cannot skip a step's required fields or change
what the engine validated. Rules run inside the transaction of the action that
triggered them, after the engine validated and recorded it; each rule runs in its
own SAVEPOINT, so a rule that fails is rolled back alone, logged in :class:`RuleRun`,
and the user's action (and every other rule) still goes through.

Rules never trigger rules: their own history events are written here, not through
the engine, and :func:`run` refuses to nest.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from jsonschema import Draft202012Validator, ValidationError, validators
from peewee import fn
from playhouse.shortcuts import model_to_dict, update_model_from_dict

from workflows.storage import audit, generation
from workflows.storage.db import database
from workflows.storage.models import Notification, Rule, RuleRun, Ticket, TicketCC, TicketEvent, User, utcnow
from workflows.tickets.assignment import AssignmentError, Context, resolve

if TYPE_CHECKING:
    from workflows.tickets.events import Acted

TRIGGERS = ("ticket.created", "ticket.advanced", "ticket.entered_step", "ticket.overdue")
PRIORITIES = ("urgent", "high", "normal", "low")
PICKS = ("least_loaded", "round_robin")
_running: ContextVar[bool] = ContextVar("automation_running", default=False)
_validators: dict[tuple, object] = {}


class RuleError(Exception):
    """A rule's action cannot be applied; the message is what the rule log shows."""


def _is_free_text(schema: dict) -> bool:
    """Free text only: codes from dictionaries, options, dates and formats are not what people write."""
    return schema.get("type") == "string" and not any(k in schema for k in ("x-dictionary", "format", "oneOf",
                                                                              "enum", "const"))


def text_of(ticket: Ticket) -> str:
    properties = ticket.process_version.document["schema"]["properties"]
    data = ticket.data or {}
    return "\n".join(data[k] for k, s in properties.items() if _is_free_text(s) and isinstance(data.get(k), str))


def view(ticket: Ticket) -> dict:
    """What a condition may test; ``text`` joins the free-text fields for keyword matching."""
    from workflows.tickets import tags  # imported late: it builds on the engine, which imports this module

    level = ticket.customer.level if ticket.customer_id is not None else None
    return {"data": dict(ticket.data or {}), "channel": ticket.channel, "priority": ticket.priority,
            "process": ticket.process_version.document["code"], "step": ticket.step, "customer_level": level,
            "tags": list(tags.names(ticket)), "text": text_of(ticket)}


def _x_contains(validator, needle, instance, schema):
    """Substring match, no word boundaries (Chinese has none); a list of needles means any of them."""
    needles = needle if isinstance(needle, list) else [needle]
    haystacks = instance if validator.is_type(instance, "array") else [instance]
    if not any(isinstance(h, str) and isinstance(n, str) and n in h for h in haystacks for n in needles):
        yield ValidationError(f"{instance!r} does not contain {needle!r}")


RuleValidator = validators.extend(Draft202012Validator, {"x-contains": _x_contains})


def check_condition(condition: object) -> None:
    """Raise ``jsonschema.SchemaError`` when ``condition`` is not a valid schema (admin forms call this)."""
    RuleValidator.check_schema(condition)


def validator_for(rule: Rule):
    """Compiled once per saved version of the rule: the key changes when the rule is edited."""
    if rule.id is None:  # an unsaved rule (the admin's form): nothing to key a cache entry on
        return RuleValidator(rule.condition or {})
    key = (rule.id, rule.updated_at)
    if key not in _validators:
        if len(_validators) > 512:
            _validators.clear()
        _validators[key] = RuleValidator(rule.condition or {})
    return _validators[key]


def matches(rule: Rule, snapshot: dict) -> bool:
    return validator_for(rule).is_valid(snapshot)


def parts(condition: dict) -> list[tuple[str, dict]]:
    """The condition split into top-level parts (each property alone), for the admin's ✓/✗ explanation."""
    out = []
    for key, value in condition.items():
        if key == "properties" and isinstance(value, dict):
            out += [(f"properties.{name}", {"properties": {name: sub}}) for name, sub in value.items()]
        elif key not in ("$schema", "$id", "title", "description", "$comment"):
            out.append((key, {key: value}))
    return out


def explain(rule: Rule, ticket: Ticket) -> dict:
    """Which parts of the rule's condition the ticket matches now; reads only, changes nothing."""
    snapshot = view(ticket)
    results = [(label, RuleValidator(part).is_valid(snapshot)) for label, part in parts(rule.condition or {})]
    return {"view": snapshot, "parts": results, "matched": RuleValidator(rule.condition or {}).is_valid(snapshot),
            "applies": applies(rule, ticket)}


def applies(rule: Rule, ticket: Ticket) -> bool:
    """The rule's process filter (no process: any)."""
    return rule.process is None or rule.process == ticket.process_version.document["code"]


AFTER = {"create": ("ticket.created",), "advance": ("ticket.advanced", "ticket.entered_step")}


def on_action(event: Acted) -> None:
    """Subscriber of every engine action, last: its rules run once the action is validated and recorded.

    One query fetches the rules of every trigger the action fires; rules never edit
    rules, so the list read before the first trigger's rules ran is still current.
    """
    triggers = AFTER.get(event.action, ())
    if not triggers or _running.get():
        return
    ticket = event.ticket
    rules = _rules(triggers, ticket, ticket.step)
    for trigger in triggers:
        _evaluate([r for r in rules if r.trigger == trigger], ticket, event.actor)


def _enabled() -> list[Rule]:
    """Every enabled rule in order: kept per configuration stamp (``storage.generation``), filtered per event."""
    return generation.cached("automation.rules", lambda: list(
        Rule.select().where(Rule.enabled == True).order_by(Rule.position, Rule.id)))  # noqa: E712


def _rules(triggers: tuple[str, ...], ticket: Ticket, step: str | None) -> list[Rule]:
    """The enabled rules of ``triggers`` for the ticket's process (and, on entering a step, that step)."""
    code = ticket.process_version.document["code"]
    return [r for r in _enabled() if r.trigger in triggers and r.process in (None, code)
            and (r.trigger != "ticket.entered_step" or r.step == step)]


def run(trigger: str, ticket: Ticket, actor: User | None, step: str | None = None) -> list[str]:
    """Evaluate the enabled rules for ``trigger`` in order, in the caller's transaction.

    Returns the names of the rules that matched. A matching rule with ``stop`` ends the
    evaluation. Nested calls (a rule's action causing another trigger) do nothing.
    """
    if _running.get():
        return []
    return _evaluate(_rules((trigger,), ticket, step), ticket, actor)


def _evaluate(rules: list[Rule], ticket: Ticket, actor: User | None) -> list[str]:
    """Run ``rules`` in order until one that matched says stop; the names of those that matched."""
    if not rules:
        return []
    token = _running.set(True)
    try:
        matched = []
        for rule in rules:
            if _run_one(rule, ticket, actor):
                matched.append(rule.name)
                if rule.stop:
                    break
        return matched
    finally:
        _running.reset(token)


def _run_one(rule: Rule, ticket: Ticket, actor: User | None) -> bool:
    """One rule in its own savepoint; any failure rolls back this rule only and is logged."""
    saved = model_to_dict(ticket, recurse=False)
    matched, error = False, None
    try:
        with database.atomic():
            matched = matches(rule, view(ticket))
            if matched:
                _apply(rule, ticket, actor)
    except Exception as exc:  # a rule is admin-defined data: nothing it does may fail the user's action
        update_model_from_dict(ticket, saved)  # the caller's object as it was: the savepoint undid the rows
        error = str(exc) if isinstance(exc, RuleError) else f"{type(exc).__name__}: {exc}"
    RuleRun.create(rule=rule, ticket=ticket, matched=matched, error=error and error[:2000])
    return matched


def _apply(rule: Rule, ticket: Ticket, actor: User | None) -> None:
    """Run the actions, then one history event naming the rule (and any change of handler)."""
    before = ticket.assignee_id
    done = [_action(spec)(spec, ticket, actor, rule) for spec in rule.actions or []]
    TicketEvent.create(ticket=ticket, action="rule", actor=None, from_step=ticket.step, to_step=ticket.step,
                       assignee_before=before, assignee_after=ticket.assignee_id,
                       comment=f"{rule.name}: " + "; ".join(done))


def _action(spec: object):
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind not in ACTIONS:
        raise RuleError(f"unknown action {kind!r}")
    return ACTIONS[kind]


def _user(username: object) -> User:
    user = User.get_or_none(User.username == str(username or ""), User.active == True)  # noqa: E712
    if user is None:
        raise RuleError(f"no active user {username!r}")
    return user


def _add_tag(spec: dict, ticket: Ticket, actor: User | None, rule: Rule) -> str:
    from workflows.tickets import tags

    name = str(spec.get("tag") or "").strip()
    if not name:
        raise RuleError("add_tag: no tag")
    tags.add(ticket, name, actor, rule=rule.name)
    return f"tag {name}"


def _set_priority(spec: dict, ticket: Ticket, actor: User | None, rule: Rule) -> str:
    """Only the process's own priorities: a rule may not do what the engine refuses a person."""
    priority = spec.get("priority")
    if priority not in PRIORITIES:
        raise RuleError(f"set_priority: unknown priority {priority!r}")
    if not ticket.process_version.document.get("priority", {}).get("enabled"):
        raise RuleError("set_priority: this process does not use priorities")
    from workflows.tickets import timing

    old, ticket.priority = ticket.priority, priority
    step = next((s for s in ticket.process_version.document["steps"] if s["key"] == ticket.step), None)
    timing.reprioritised(ticket, step, old)  # the SLA follows the new priority (docs/sla.md)
    Ticket.update(priority=priority, due_at=ticket.due_at, warn_at=ticket.warn_at,
                  next_check_at=ticket.next_check_at).where(Ticket.id == ticket.id).execute()
    return f"priority {priority}"


def _assign(spec: dict, ticket: Ticket, actor: User | None, rule: Rule) -> str:
    """A new handler at the same step, picked like a step's rule (its own round-robin cursor)."""
    kind = next((k for k in ("user", "role", "department") if spec.get(k)), None)
    if kind is None or ticket.status != "open":
        raise RuleError("assign: no user, role or department" if kind is None else "assign: the ticket is closed")
    document = ticket.process_version.document
    step = next(s for s in document["steps"] if s["key"] == ticket.step)
    scope = {"key": f"{step['key']}@rule{rule.id}", "name": step["name"]}
    ctx = Context(document["code"], scope, ticket.creator, actor or ticket.creator, ticket.id)
    pick = spec.get("pick") if spec.get("pick") in PICKS else PICKS[0]
    try:
        user = resolve({"type": kind, "value": spec[kind], "pick": pick}, ctx)
    except AssignmentError as error:
        raise RuleError(f"assign: {error.msg}") from error
    if user.id != ticket.assignee_id:
        Ticket.update(assignee=user).where(Ticket.id == ticket.id).execute()
        ticket.assignee = user
        Notification.create(user=user, ticket=ticket, kind="assigned", message=f"{ticket.number}: {rule.name}")
    return f"assign {user.username}"


def _add_cc(spec: dict, ticket: Ticket, actor: User | None, rule: Rule) -> str:
    user = _user(spec.get("user"))
    if TicketCC.insert(ticket=ticket, user=user).on_conflict_ignore().execute():
        Notification.create(user=user, ticket=ticket, kind="cc", message=f"{ticket.number}: CC ({rule.name})")
    return f"CC {user.username}"


def _notify(spec: dict, ticket: Ticket, actor: User | None, rule: Rule) -> str:
    people = [_user(name) for name in spec.get("users") or []]
    if not people:
        raise RuleError("notify: no users")
    message = str(spec.get("message") or rule.name)
    for user in people:
        Notification.create(user=user, ticket=ticket, kind="rule", message=f"{ticket.number}: {message}")
    return "notify " + ", ".join(u.username for u in people)


def _email_customer(spec: dict, ticket: Ticket, actor: User | None, rule: Rule) -> str:
    from workflows.subscribers import mail  # imported late: it reads app settings and builds on the ticket modules

    template = spec.get("template")
    if not template:
        raise RuleError("email_customer: no template")
    queued = mail.queue_template(ticket, template)
    return f"e-mail {template}" if queued is not None else f"e-mail {template}: the customer has no address"


ACTIONS = {"add_tag": _add_tag, "set_priority": _set_priority, "assign": _assign, "add_cc": _add_cc,
           "notify": _notify, "email_customer": _email_customer}
REQUIRED = {"add_tag": ("tag",), "set_priority": ("priority",), "add_cc": ("user",), "notify": ("users",),
            "email_customer": ("template",)}


def check_actions(actions: object) -> list[str]:
    """What is wrong with an actions list before it is saved (the admin form shows these)."""
    if not isinstance(actions, list):
        return ["actions must be a list"]
    problems = []
    for i, spec in enumerate(actions, 1):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in ACTIONS:
            problems.append(f"{i}: unknown action {kind!r}")
            continue
        missing = [k for k in REQUIRED.get(kind, ()) if not spec.get(k)]
        if kind == "assign" and not any(spec.get(k) for k in ("user", "role", "department")):
            missing = ["user | role | department"]
        problems += [f"{i}: {kind} needs {k}" for k in missing]
    return problems


# The admin's side: each change of a rule is one transaction with its audit entry (the view only asks).

def rule_snapshot(rule: Rule) -> dict:
    """What the audit log keeps of a rule: all of it (a rule holds no secret)."""
    return {"name": rule.name, "position": rule.position, "enabled": rule.enabled, "trigger": rule.trigger,
            "step": rule.step, "process": rule.process, "condition": rule.condition, "actions": rule.actions,
            "stop": rule.stop}


def save_rule(actor: User, rule: Rule | None, values: dict) -> Rule:
    """Create (``rule`` None: placed last) or update a rule from checked ``values``, audited.

    The caller has checked the condition and actions (:func:`check_condition`, :func:`check_actions`).
    """
    with database.atomic():
        before = rule_snapshot(rule) if rule else None
        target = rule or Rule(position=(Rule.select(fn.MAX(Rule.position)).scalar() or 0) + 1)
        update_model_from_dict(target, {**values, "updated_at": utcnow()})
        target.save()
        audit.record(actor, "rule.update" if rule else "rule.create", f"rule:{target.id}", before,
                     rule_snapshot(target))
    return target


def move_rule(actor: User, rule: Rule, step: int) -> None:
    """Swap with the neighbour ``step`` (-1 up, 1 down) away; positions are renumbered 1..n on the way."""
    with database.atomic():
        ordered = list(Rule.select().order_by(Rule.position, Rule.id))
        at = next(i for i, r in enumerate(ordered) if r.id == rule.id)
        if 0 <= at + step < len(ordered):
            ordered[at], ordered[at + step] = ordered[at + step], ordered[at]
            for position, other in enumerate(ordered, 1):
                Rule.update(position=position).where(Rule.id == other.id).execute()
            audit.record(actor, "rule.move", f"rule:{rule.id}", {"position": at + 1}, {"position": at + step + 1})


def toggle_rule(actor: User, rule: Rule) -> Rule:
    """Enable a disabled rule or disable an enabled one, audited."""
    with database.atomic():
        rule.enabled, rule.updated_at = not rule.enabled, utcnow()
        rule.save()
        audit.record(actor, "rule.enable" if rule.enabled else "rule.disable", f"rule:{rule.id}", None,
                     {"enabled": rule.enabled})
    return rule


def delete_rule(actor: User, rule: Rule) -> None:
    """Delete a rule (its runs go with it), the audit entry keeping what it was."""
    with database.atomic():
        audit.record(actor, "rule.delete", f"rule:{rule.id}", rule_snapshot(rule), None)
        rule.delete_instance()
