r"""The jsonschema validator class every step and document check uses.

Three deviations from stock jsonschema, each for users' sake: ``multipleOf``
is checked in decimal (stock float division rejects 19.99 as a multiple of
0.01); the contract's ``attachment`` format is known; and ``pattern`` means
what JSON Schema says, an ECMA-262 regular expression, as the browser checks
it too: Python's ``$`` also matches before a trailing newline (``"TH-1\n"``
passed ``^[0-9A-Z-]+$``), and its ``\d`` and ``\w`` take any script's digits
and letters (``"１２"``, ``"退货"``) where ECMA-262 takes ASCII only.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from .fieldtypes import DATE_FORMATS

ATTACHMENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

format_checker = FormatChecker()
for _name, _check in Draft202012Validator.FORMAT_CHECKER.checkers.items():
    format_checker.checkers[_name] = _check
format_checker.checkers.update(DATE_FORMATS)  # dates and instants within the years every page can show


@format_checker.checks("attachment")
def _is_attachment(value: object) -> bool:
    return not isinstance(value, str) or bool(ATTACHMENT_ID.match(value))


def is_multiple(instance: int | float, divisor: int | float) -> bool:
    """Whether ``instance`` is a multiple of ``divisor``, in decimal (a number too big to tell is not)."""
    try:
        return Decimal(str(instance)) % Decimal(str(divisor)) == 0
    except InvalidOperation:
        return False


def _multiple_of(validator, divisor, instance, schema):
    if validator.is_type(instance, "number") and not is_multiple(instance, divisor):
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


_ECMA_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_"}  # inside a class; outside, each in brackets


def _translated(pattern: str) -> str:
    """``pattern`` (ECMA-262) in Python's syntax: ``$`` is the end of the text, ``\\d``/``\\w`` ASCII."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            ascii_set = _ECMA_ESCAPES.get(escaped.lower())
            if ascii_set and (in_class is False or escaped.islower()):
                negate = "^" if escaped.isupper() else ""
                out.append(ascii_set if in_class else f"[{negate}{ascii_set}]")
            else:
                out.append(char + escaped)
            i += 2
            continue
        in_class = (char == "[") if not in_class else (char != "]")
        out.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def ecma_regex(pattern: str) -> re.Pattern:
    """The compiled pattern, with ECMA-262 meaning (``re.error`` for one Python cannot read)."""
    return re.compile(_translated(pattern))


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


#: Draft 2020-12 with ECMA-262 patterns: for documents (their meta-schema) as for ticket data.
EcmaValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})
StepValidator = validators.extend(EcmaValidator, {"multipleOf": _multiple_of})


def compile_schema(schema: dict) -> Draft202012Validator:
    """A reusable validator; build it once and keep it (construction is the cost)."""
    return StepValidator(schema, format_checker=format_checker)
