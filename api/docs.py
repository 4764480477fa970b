"""``/api/docs``: the OpenAPI document as a readable page, rendered on the server.

No CDN and no JavaScript viewer: the page is plain HTML made from
``api.openapi.document()``, so it cannot drift from ``/api/v1/openapi.json``
and works offline and without login (it shows the contract, not data).
"""

from __future__ import annotations

import json

from flask import Blueprint, render_template

from .openapi import document

bp = Blueprint("api_docs", __name__)
METHODS = ("get", "post", "put", "patch", "delete")


def pretty(schema: object) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False)


def refs(node: object) -> list[str]:
    """Names of the component schemas a schema points to, for links to their definitions."""
    found: list[str] = []
    if isinstance(node, dict):
        target = node.get("$ref", "")
        if target.startswith("#/components/schemas/"):
            found.append(target.rsplit("/", 1)[1])
        for value in node.values():
            found += [name for name in refs(value) if name not in found]
    elif isinstance(node, list):
        for value in node:
            found += [name for name in refs(value) if name not in found]
    return found


def response_view(status: str, response: dict, shared: dict) -> dict:
    """One response; a shared error response is shown by its description and the Error schema."""
    if "$ref" in response:
        response = shared[response["$ref"].rsplit("/", 1)[1]]
    media = next(iter(response.get("content", {})), None)
    schema = response["content"][media]["schema"] if media else None
    return {"status": status, "description": response["description"], "media": media,
            "schema": pretty(schema) if schema is not None else None, "refs": refs(schema)}


def request_view(body: dict | None) -> dict | None:
    if body is None:
        return None
    media, content = next(iter(body["content"].items()))
    return {"media": media, "required": body.get("required", False), "schema": pretty(content["schema"]),
            "refs": refs(content["schema"])}


def operation_view(path: str, method: str, operation: dict, shared: dict) -> dict:
    return {"id": operation["operationId"], "method": method.upper(), "path": path,
            "summary": operation["summary"], "description": operation.get("description", ""),
            "public": operation.get("security") == [], "parameters": operation.get("parameters", []),
            "request": request_view(operation.get("requestBody")),
            "responses": [response_view(s, r, shared) for s, r in operation["responses"].items()]}


def groups(doc: dict) -> list[dict]:
    """Operations grouped by their tag, in the document's tag order."""
    shared = doc["components"]["responses"]
    by_tag = {tag["name"]: {**tag, "operations": []} for tag in doc["tags"]}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                by_tag[operation["tags"][0]]["operations"].append(operation_view(path, method, operation, shared))
    return [group for group in by_tag.values() if group["operations"]]


@bp.get("/api/docs")
def docs():
    doc = document()
    schemas = [(name, pretty(schema)) for name, schema in doc["components"]["schemas"].items()]
    return render_template("api/docs.html", doc=doc, groups=groups(doc), schemas=schemas)
