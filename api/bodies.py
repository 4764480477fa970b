"""Request bodies read through their OpenAPI schemas, so the document and the endpoints cannot disagree.

Each operation's JSON ``requestBody`` schema (``openapi_paths``) is compiled into a
validator once, at import, its ``$ref``s resolved in the OpenAPI document through
one registry. :func:`body` holds the request being served against the schema of
its own route and answers 400 when the body is malformed: not an object, or a
member missing, unknown (where the schema refuses others) or of the wrong JSON
type, every such member named in ``fields``. A well-typed value the schema also
rules on (an enum, a length, the keys of a nested object such as ``customer``)
is left to the rule that owns it, the engine or the customers' checks, which
answer 422 naming every problem of the request at once; ``tests/test_api_bodies.py``
holds those rules to the schema. Process and dictionary documents are read with
:func:`json_object`: their schemas are the documents' meta-schemas, which the
document checks apply with the static checks (422, by JSON pointer).
"""

from __future__ import annotations

import functools
import re

from flask import request
from jsonschema import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from formbuilder import Msg
from formbuilder.messages import N_
from formbuilder.validator import EcmaValidator

from . import Malformed, bp
from .openapi import document

DOC_URI = "urn:liuzhuan:openapi"
JSON = "application/json"
NOT_AN_OBJECT = N_("The request body must be a JSON object.")
WRONG_TYPE, REQUIRED, UNKNOWN = N_("Wrong type of value."), N_("This field is required."), N_("Unknown field.")


def pointer(*parts: str) -> str:
    """A JSON pointer (without its leading ``/``) to ``parts``: paths hold ``/`` and may hold ``~``."""
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def compile_validators(doc: dict) -> dict[tuple[str, str], EcmaValidator]:
    """(METHOD, OpenAPI path) -> the validator of its JSON request body, built once: building is the cost."""
    registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(doc)).crawl()
    validators = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if JSON in operation.get("requestBody", {}).get("content", {}):
                where = pointer("paths", path, method, "requestBody", "content", JSON, "schema")
                validators[method.upper(), path] = EcmaValidator({"$ref": f"{DOC_URI}#/{where}"}, registry=registry)
    return validators


VALIDATORS = compile_validators(document())


@functools.cache
def operation_path(rule: str) -> str:
    """The OpenAPI path of a Flask rule: ``/api/v1/tickets/<number>`` -> ``/tickets/{number}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(bp.url_prefix))


def json_object() -> dict:
    """The request's JSON object, or a 400 naming ``body`` (as the door does for non-standard JSON)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise Malformed(Msg(NOT_AN_OBJECT), {"body": [Msg(NOT_AN_OBJECT)]})
    return payload


def body() -> dict:
    """The request's JSON object, valid against its route's request schema as far as its shape goes."""
    payload = json_object()
    fields = malformed(VALIDATORS[request.method, operation_path(request.url_rule.rule)], payload)
    if fields:
        raise Malformed(Msg(N_("%(name)s: wrong or missing value."), {"name": next(iter(fields))}), fields)
    return payload


def malformed(validator: EcmaValidator, payload: dict) -> dict[str, list[Msg]]:
    """Each member that makes ``payload`` malformed, with why; values are never echoed (they may be secret)."""
    fields: dict[str, list[Msg]] = {}
    for error in validator.iter_errors(payload):
        for name, msgid in members(error):
            fields.setdefault(name, [Msg(msgid)])
    return fields


def members(error: ValidationError) -> list[tuple[str, str]]:
    """The top-level members a schema error is about, if it is about the body's shape; else none (a 422's)."""
    path = list(error.absolute_path)
    if error.validator == "type" and len(path) == 1:
        return [(str(path[0]), WRONG_TYPE)]
    if path or not isinstance(error.instance, dict):
        return []
    if error.validator == "required":
        return [(name, REQUIRED) for name in error.validator_value if name not in error.instance]
    if error.validator == "additionalProperties":
        return [(name, UNKNOWN) for name in error.instance if name not in error.schema.get("properties", {})]
    return []
