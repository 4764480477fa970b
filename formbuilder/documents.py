"""Check process and dictionary documents against the contract (process formats 1 and 2).

First the meta-schema (the shape of the document, with the rule that a format-1
document uses no format-2 key), then the static checks of ``checks``. Every
problem is returned at once, each located by a JSON pointer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from . import checks, checks2
from .messages import N_, Msg, Problem, pointer
from .validator import EcmaValidator, format_checker


def _load(name: str) -> Draft202012Validator:
    schema = json.loads(resources.files(__package__).joinpath("schemas", name).read_text("utf-8"))
    return EcmaValidator(schema, format_checker=format_checker)  # a key's pattern means what ECMA-262 says


PROCESS_META = _load("process.schema.json")
DICTIONARY_META = _load("dictionary.schema.json")

_META_MESSAGES = {
    "type": N_("must be of type %(expected)s"),
    "enum": N_("%(value)s is not one of %(expected)s"),
    "const": N_("must be %(expected)s"),
    "pattern": N_("%(value)s does not match %(expected)s"),
    "minLength": N_("must not be shorter than %(expected)s characters"),
    "maxLength": N_("must not be longer than %(expected)s characters"),
    "minItems": N_("must have at least %(expected)s items"),
    "minimum": N_("must be at least %(expected)s"),
    "format": N_("is not a valid %(expected)s"),
}


def _closest_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the alternative meant: the one whose own type the instance has."""
    branches: dict = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)
    for errors in branches.values():
        if not any(e.validator in ("type", "enum") and not e.relative_path for e in errors):
            return errors
    return [best_match(error.context)]


def _meta_problems(error: ValidationError) -> Iterable[Problem]:
    """Translate one meta-schema error into located, translatable problems."""
    path = list(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        yield Problem(pointer(path + [error.instance]), Msg(N_("field key must match ^[a-z][a-z0-9_]{1,63}$")))
    elif error.validator in ("anyOf", "oneOf") and error.context:
        for sub in _closest_branch(error):
            yield from _meta_problems(sub)
    elif error.validator == "required":
        for key in error.validator_value:
            if isinstance(error.instance, dict) and key not in error.instance:
                yield Problem(pointer(path), Msg(N_("missing required key '%(key)s'"), {"key": key}))
    elif error.validator == "additionalProperties":
        for key in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
            yield Problem(pointer(path + [key]), Msg(N_("unknown key")))
    elif error.validator in _META_MESSAGES:
        params = {"expected": json.dumps(error.validator_value, ensure_ascii=False),
                  "value": json.dumps(error.instance, ensure_ascii=False)}
        yield Problem(pointer(path), Msg(_META_MESSAGES[error.validator], params))
    else:
        yield Problem(pointer(path), Msg(N_("invalid: %(detail)s"), {"detail": error.message}))


def _shape_problems(meta: Draft202012Validator, document: object) -> list[Problem]:
    problems: list[Problem] = []
    for error in meta.iter_errors(document):
        problems.extend(p for p in _meta_problems(error) if p not in problems)
    return problems


def _process_shape(document: object) -> list[Problem]:
    """The meta-schema's problems, then format-2 keys in a format-1 document (which the meta-schema accepts)."""
    problems = _shape_problems(PROCESS_META, document)
    if isinstance(document, dict):
        problems += checks2.format_2_keys(document)
    return problems


def check_process(document: object, dictionaries: Mapping[str, object], *, calendars: Iterable[str] | None = None,
                  processes: Mapping[str, dict] | None = None) -> list[Problem]:
    """All problems of a process document; ``dictionaries`` maps code -> index.

    ``calendars`` (codes) and ``processes`` (code -> document) are what exists for check 11; None skips
    that part (a caller without the database)."""
    problems = _process_shape(document)
    if isinstance(document, dict):
        found = checks.static_checks(document, dictionaries, calendars=calendars, processes=processes)
        problems += [p for p in found if p not in problems]
    return sorted(problems, key=_order)


def check_shape(document: object) -> list[Problem]:
    """Only the meta-schema: what a draft in the making must already satisfy."""
    return sorted(_process_shape(document), key=_order)


def _dictionary_shape(document: object) -> list[Problem]:
    """The dictionary meta-schema's problems, an attribute key named as such, then ``data`` in format 1.

    The shared translation says "field key" for any ``propertyNames`` error, which in a dictionary is
    an item attribute's key, so those are worded here; every other error reads as in a process.
    """
    problems: list[Problem] = []
    for error in DICTIONARY_META.iter_errors(document):
        if "propertyNames" in error.absolute_schema_path:
            found = [Problem(pointer([*error.absolute_path, error.instance]),
                             Msg(N_("attribute key must match %(pattern)s"), {"pattern": error.validator_value}))]
        else:
            found = list(_meta_problems(error))
        problems.extend(p for p in found if p not in problems)
    return problems + checks.item_data_needs_format_2(document)


def check_dictionary(document: object) -> list[Problem]:
    """All problems of a dictionary document (shape, then unique values)."""
    problems = _dictionary_shape(document)
    if not problems:
        problems += checks.unique_values(document["items"], ["items"], set())
    return sorted(problems, key=_order)


def _order(problem: Problem) -> tuple:
    """Document order: numeric parts compare as numbers (/steps/10 after /steps/2)."""
    return tuple((0, int(p), "") if p.isascii() and p.isdigit() else (1, 0, p)
                 for p in problem.path.split("/")[1:])
