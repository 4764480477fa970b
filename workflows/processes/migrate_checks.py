"""What a ticket's data and state become under another version of its process, or why they cannot.

The words of :mod:`workflows.processes.migrate`'s dry run come from here. Each check asks the rule
that already decides it elsewhere: the target step's compiled validator (``validate_step``, as the
engine runs it when the step's handler next submits it), the steps' modes, the assignee rule's
candidates (``assignment.candidates``) and the countersign rule (``signing.rule``). docs/migration.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from formbuilder import Msg, validate_step
from formbuilder.fieldtypes import options_schema
from formbuilder.messages import N_
from formbuilder.steps import EDITABLE
from formbuilder.validation import REQUIRED, is_empty, schema_errors, table_errors
from formbuilder.validator import compile_schema
from workflows.processes import documents as docs
from workflows.storage.models import ProcessVersion, Ticket
from workflows.tickets import signing

DROPPED = N_("%(field)s is dropped: version %(version)s has no such field (its value stays in the history).")
COMPUTED = N_("%(field)s is computed again by the new version's formula.")
TO_FILL = N_("%(field)s is empty: the handler must fill it at step %(step)s.")
FILLABLE = N_("%(field)s is empty though step %(passed)s requires it: the handler can fill it at step %(step)s.")
MISSING = N_("%(field)s is required at step %(passed)s, which the ticket has passed, but it is empty, and step "
             "%(step)s does not let its handler fill it.")
INVALID = N_("%(field)s no longer fits the new version: %(problem)s")
NOT_OPTION = N_("%(value)s is not an item of the dictionary %(dictionary)s.")
ROUND = N_("A countersign round is in progress at step %(step)s: its signatures cannot be carried to step "
           "%(target)s. Move the ticket once the round is decided.")
ROUND_KEPT = N_("The countersign round goes on under the same rule.")
TO_SIGN = N_("Step %(target)s is a countersign step: a migration does not start a round of signatures. Map the "
             "ticket to another step.")
PENDING = N_("The ticket is waiting (pending) and step %(target)s does not allow waiting: resume it first.")
STAYS_PENDING = N_("It stays pending.")


@dataclass
class Findings:
    """What the checks found: the ticket's data under the new version, the words of the changes, the refusals."""

    data: dict
    changes: list[Msg] = field(default_factory=list)
    reasons: list[Msg] = field(default_factory=list)


def label(properties: dict, key: str) -> str:
    """A field's title (a detail table's cell ``parts/2/qty`` as the table's title and the rest of the key)."""
    name, _, rest = key.partition("/")
    title = (properties.get(name) or {}).get("title") or name or "—"
    return f"{title}/{rest}" if rest else title


def state(ticket: Ticket, old_step: dict, step: dict) -> Findings:
    """What the ticket's state allows: a countersign round in progress, a wait (data left for :func:`data`)."""
    found = Findings({})
    names = {"step": old_step["name"], "target": step["name"]}
    if signing.rule(old_step) is not None:
        carried = step["key"] == old_step["key"] and signing.rule(step) == signing.rule(old_step)
        found.reasons += [] if carried else [Msg(ROUND, names)]
        found.changes += [Msg(ROUND_KEPT)] if carried else []
    elif signing.rule(step) is not None:
        found.reasons.append(Msg(TO_SIGN, names))
    if ticket.status == "pending":
        found.reasons += [] if step.get("allow_wait") else [Msg(PENDING, names)]
        found.changes += [Msg(STAYS_PENDING)] if step.get("allow_wait") else []
    return found


class Validators(dict):
    """One validator per field of the target version, built the first time a ticket holds the field."""

    def __init__(self, properties: dict):
        super().__init__()
        self.properties = properties

    def __missing__(self, name: str):
        self[name] = compile_schema(self.properties[name])
        return self[name]


def data(ticket: Ticket, old: ProcessVersion, old_step: dict, target: ProcessVersion, step: dict,
         passed: set[str], validators: Validators, dictionaries: dict, people) -> Findings:
    """The ticket's data under ``target`` at ``step``: fields the version lacks dropped, every value checked
    against its new schema, the step validated as the engine would, the requirements of passed steps met."""
    properties, before = target.document["schema"]["properties"], old.document["schema"]["properties"]
    kept = {k: v for k, v in ticket.data.items() if k in properties}
    found = Findings(kept, [Msg(DROPPED, {"field": label(before, k), "version": target.number})
                            for k in ticket.data if k not in properties])
    found.reasons += [Msg(INVALID, {"field": label(properties, k), "problem": p})
                      for k, p in _invalid(kept, validators, dictionaries)]
    if found.reasons:
        return found
    spec = docs.compiled(target, step["key"]).spec
    outcome = validate_step(spec, kept, {}, dictionaries, people=people)
    found.data = outcome.data
    found.changes += [Msg(COMPUTED, {"field": label(properties, k)}) for k in sorted(spec.formulas.names)
                      if outcome.data.get(k) != kept.get(k)]
    old_modes = docs.compiled(old, old_step["key"]).spec.modes(ticket.data)
    for key, messages in outcome.errors.items():
        if messages == [REQUIRED]:
            new = old_modes.get(key) != "required"  # else the handler had it to fill under the old version too
            found.changes += [Msg(TO_FILL, {"field": label(properties, key), "step": step["name"]})] if new else []
        else:
            found.reasons.append(Msg(INVALID, {"field": label(properties, key), "problem": messages[0]}))
    _passed(target, step, passed, outcome.data, found)
    return found


def _invalid(values: dict, validators: Validators, dictionaries: dict) -> list[tuple[str, Msg]]:
    """(field, first problem) of each value its new schema refuses, or naming no item of its dictionary."""
    found = []
    for name, value in values.items():
        if is_empty(value):
            continue
        error = next(validators[name].iter_errors(value), None) if not validators[name].is_valid(value) else None
        if error is not None:
            mapped = table_errors if validators.properties[name].get("x-widget") == "table" else schema_errors
            found.append((name, next((msg for _, msg in mapped(error, name)), Msg(N_("Not a valid value.")))))
            continue
        code = options_schema(validators.properties[name]).get("x-dictionary")
        index = dictionaries.get(code) if code else None
        stray = [v for v in (value if isinstance(value, list) else [value]) if not isinstance(v, str)
                 or index is None or v not in index.items] if code else []
        found += [(name, Msg(NOT_OPTION, {"value": stray[0], "dictionary": code}))] if stray else []
    return found


def _passed(target: ProcessVersion, step: dict, passed: set[str], values: dict, found: Findings) -> None:
    """Fields the new version requires at a step the ticket has passed but that are empty: the handler of
    ``step`` fills them if it may edit them there, else the ticket cannot move (nobody ever could)."""
    keys = {s["key"]: s for s in target.document["steps"]}
    here = docs.compiled(target, step["key"]).spec.modes(values)
    properties, told = target.document["schema"]["properties"], set()
    for key in sorted(k for k in passed if k in keys and k != step["key"]):
        modes = docs.compiled(target, key).spec.modes(values)
        for name in (n for n, mode in modes.items() if mode == "required" and is_empty(values.get(n))):
            if name in told:
                continue
            told.add(name)
            words = {"field": label(properties, name), "passed": keys[key]["name"], "step": step["name"]}
            fillable = here.get(name) in EDITABLE
            (found.changes if fillable else found.reasons).append(Msg(FILLABLE if fillable else MISSING, words))
