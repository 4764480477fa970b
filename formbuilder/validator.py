"""The jsonschema validator class every step and document check uses.

Two deviations from stock Draft 2020-12, both for users' sake: ``multipleOf``
is checked in decimal (stock float division rejects 19.99 as a multiple of
0.01), and the contract's ``attachment`` format is known.
"""

from __future__ import annotations

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


StepValidator = validators.extend(Draft202012Validator, {"multipleOf": _multiple_of})


def compile_schema(schema: dict) -> Draft202012Validator:
    """A reusable validator; build it once and keep it (construction is the cost)."""
    return StepValidator(schema, format_checker=format_checker)
