"""Format 2 at submission: computed fields (``x-formula``) and cross-field rules (``x-rules``).

Both are worked out once per (version, step) into :class:`Formulas` (a step
spec holds it) and applied by ``validation.validate_step``, the one place every
path's data passes (page, API, web form, mail, dry run): so the engine computes
after every change and stores the results, and every rule holds on every path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import logic
from .fieldtypes import is_date, is_datetime
from .messages import N_, Msg

#: The catalogue translates this to "language-code:zh": how a rule's message finds the reader's language
#: without formbuilder knowing Flask (the caller's ``gettext`` is all a message is rendered with).
LANGUAGE_PROBE = N_("language-code:en")


class RuleMsg(Msg):
    """A cross-field rule's message: the document's own text in Chinese and English, not a msgid."""

    def render(self, gettext=None) -> str:
        chinese = gettext is not None and gettext(LANGUAGE_PROBE).endswith(":zh")
        return self.params["zh"] if chinese else self.msgid


@dataclass(frozen=True)
class Rule:
    field: str
    check: Any
    msg: RuleMsg


@dataclass(frozen=True)
class Formulas:
    """A process's computed fields in evaluation order, and its rules."""

    computed: tuple[tuple[str, Any, dict], ...] = ()
    rules: tuple[Rule, ...] = ()

    @classmethod
    def of(cls, process: dict) -> Formulas:
        """Read from a checked document (check 7 refused cycles and bad expressions)."""
        if process.get("format") != 2:
            return cls()
        properties = process["schema"]["properties"]
        formulas = {name: s["x-formula"] for name, s in properties.items() if "x-formula" in s}
        order = logic.evaluation_order(formulas)
        rules = tuple(Rule(r["field"], r["check"], RuleMsg(r["message"]["en"], {"zh": r["message"]["zh"]}))
                      for r in process.get("x-rules", []))
        return cls(tuple((name, formulas[name], properties[name]) for name in order), rules)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _, _ in self.computed)

    def compute(self, data: dict, dictionaries: Mapping) -> None:
        """Set every computed field of ``data`` in place; a value its field cannot hold is no value."""
        for name, formula, schema in self.computed:
            value = fit(schema, logic.evaluate(formula, data, dictionaries))
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value

    def broken(self, data: dict, modes: Mapping[str, str], dictionaries: Mapping) -> list[tuple[str, Msg]]:
        """(field, message) of each rule that fails where its field is editable or required."""
        return [(rule.field, rule.msg) for rule in self.rules
                if modes.get(rule.field) in ("editable", "required")
                and not logic.truthy(logic.evaluate(rule.check, data, dictionaries))]


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _whole(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and float(number).is_integer() else None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    number = _number(value)
    return None if number is None else str(_whole(number) if _whole(number) is not None else number)


def fit(schema: dict, value: Any) -> Any:
    """``value`` as the computed field's type holds it, or None (a date field takes a valid date only)."""
    kind, form = schema.get("type"), schema.get("format")
    if kind == "number":
        return _number(value)
    if kind == "integer":
        return _whole(value)
    text = _text(value)
    if text is not None and form in ("date", "date-time"):
        return text if (is_date if form == "date" else is_datetime)(text) else None
    return text
