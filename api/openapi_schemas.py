"""JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) of the API's bodies: ``components.schemas``.

They describe what the code in ``api/*.py`` and ``workflows/tickets/present.py``
really sends, nullable fields included, so tests and schemathesis can hold
every real response against them. Process and dictionary documents are only
sketched (their full rules are the static checks of ``workflows.processes.documents``).
"""

from __future__ import annotations


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required: list[str] | None = None, extra: bool = False, **more) -> dict:
    """An object whose listed properties are all required unless ``required`` names fewer."""
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else required}
    if not extra:
        schema["additionalProperties"] = False
    return {**schema, **more}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
NULLABLE_STR = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
PRIORITY = {"type": "string", "enum": ["urgent", "high", "normal", "low"]}
STATUS = {"type": "string", "enum": ["open", "closed"]}
USERNAME = {"type": ["string", "null"], "description": "A username, or null when there is none."}

ERRORS = {
    "Error": obj({
        "error": {"type": "string", "description": "Machine code, e.g. `bad_request`, `invalid`, `not_found`."},
        "message": {"type": "string", "description": "Human message in the request's language."},
        "fields": {"type": "object", "description": "Messages per field (or JSON pointer for documents).",
                   "additionalProperties": array(STR)},
    }, required=["error", "message"]),
}

PROCESSES = {
    "TokenRequest": obj({"username": STR, "password": STR}),
    "Token": obj({"token": STR}),
    "ProcessSummary": obj({"code": STR, "name": STR, "version": INT}),
    "ProcessDocument": obj({
        "format": {"const": 1}, "code": STR, "name": STR, "schema": {"type": "object"},
        "steps": array({"type": "object"}),
    }, required=["format", "code", "name", "schema", "steps"], extra=True,
        description="A process definition document (format 1; see the process format)."),
    "DraftSummary": obj({"code": STR, "name": STR, "latest_version": INT, "draft_updated_at": NULLABLE_TIME}),
    "Problem": obj({"path": {"type": "string", "description": "JSON pointer; `/` is the whole document."},
                    "message": STR}),
    "CheckResult": obj({"problems": array(ref("Problem"))}),
    "VersionSummary": obj({"number": INT, "published_at": TIME, "published_by": NULLABLE_STR}),
    "Published": obj({"number": INT, "published_at": TIME, "published_by": NULLABLE_STR, "code": STR,
                      "changed": {"type": "boolean", "description": "False when the draft equalled the latest."}}),
}

DICTIONARIES = {
    "DictionarySummary": obj({"code": STR, "name": STR, "revision": INT}),
    "DictionarySaved": obj({"code": STR, "name": STR, "revision": INT, "changed": BOOL}),
    "DictionaryItem": obj({"value": STR, "label": STR, "enabled": BOOL,
                           "children": array(ref("DictionaryItem"))}, required=["value", "label"], extra=True),
    "DictionaryDocument": obj({"format": {"const": 1}, "code": STR, "name": STR,
                               "items": array(ref("DictionaryItem"))},
                              required=["format", "code", "name", "items"], extra=True),
}

TICKET_PROPERTIES = {
    "number": STR, "process": STR, "process_version": INT,
    "step": obj({"key": {"type": "string", "description": "`$end` once closed."}, "name": STR}),
    "status": STATUS, "priority": PRIORITY, "assignee": USERNAME, "creator": USERNAME, "version": INT,
    "created_at": TIME, "updated_at": TIME, "due_at": NULLABLE_TIME, "overdue": BOOL,
}

TICKETS = {
    "TicketSummary": obj(TICKET_PROPERTIES),
    "Ticket": obj({
        **TICKET_PROPERTIES,
        "customer": {"oneOf": [{"type": "null"}, obj({"name": STR, "phone": NULLABLE_STR})]},
        "channel": NULLABLE_STR,
        "data": {"type": "object", "description": "Only the fields the reader may see."},
        "transitions": array(obj({"to": STR, "label": STR})),
        "history": array(ref("HistoryEntry")),
    }),
    "HistoryEntry": obj({
        "action": STR, "from_step": NULLABLE_STR, "to_step": NULLABLE_STR, "actor": USERNAME,
        "assignee_before": USERNAME, "assignee_after": USERNAME,
        "changes": {"type": "object", "description": "Changed fields the reader may see."},
        "comment": NULLABLE_STR, "created_at": TIME,
    }),
    "TicketHidden": obj({"number": STR, "status": STATUS, "version": INT},
                        description="After an action that leaves the ticket unreadable to the actor."),
    "TicketPage": obj({"items": array(ref("TicketSummary")), "next_cursor": NULLABLE_STR}),
    "TicketCreate": obj({
        "process": STR, "data": {"type": "object"}, "priority": PRIORITY,
        "customer": obj({"name": STR, "phone": STR}, required=[]),
        "channel": STR, "transition": STR, "assignee": STR,
    }, required=["process"]),
    "TicketAction": obj({
        "action": {"type": "string", "enum": ["advance", "return", "transfer", "close", "reopen"]},
        "version": {"type": "integer", "description": "The ticket's version as read; a stale one gets 409."},
        "data": {"type": "object"}, "transition": STR, "assignee": STR, "comment": STR,
    }, required=["action", "version"]),
}

COLLAB = {
    "Note": obj({"id": INT, "author": USERNAME, "text": NULLABLE_STR, "created_at": TIME}),
    "NoteCreate": obj({"text": {"type": "string", "minLength": 1}}),
    "Attachment": obj({"id": {"type": "string", "description": "Put it in an attachment field."},
                       "filename": STR, "size": INT, "mimetype": STR}),
    "Upload": obj({
        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
        "process": {"type": "string", "description": "With `field`: apply that field's limits."},
        "field": STR,
    }, required=["file"]),
}

LEVEL = {"type": "string", "enum": ["normal", "vip", "important"], "description": "普通 / VIP / 重要."}
CUSTOMER_PROPERTIES = {
    "id": INT, "name": STR,
    "phone": {"type": ["string", "null"], "description": "The primary phone, normalised (e.g. `13800138000`)."},
    "phones": array({"type": "string", "description": "Every phone, normalised; the primary first."}),
    "email": NULLABLE_STR, "company": NULLABLE_STR, "level": LEVEL, "region": NULLABLE_STR, "notes": NULLABLE_STR,
    "created_at": TIME,
}
EDIT_STR = {"type": ["string", "null"], "description": "Null or empty clears the field."}

CUSTOMERS = {
    "Customer": obj(CUSTOMER_PROPERTIES),
    "CustomerHistory": obj({**CUSTOMER_PROPERTIES, "tickets": array(ref("TicketSummary")),
                            "next_cursor": NULLABLE_STR}),
    "CustomerEdit": obj({
        "name": EDIT_STR, "email": EDIT_STR, "company": EDIT_STR, "level": {**LEVEL, "type": ["string", "null"],
                                                                            "enum": [*LEVEL["enum"], None]},
        "region": EDIT_STR, "notes": EDIT_STR,
        "add_phone": {"type": ["string", "null"], "description": "A phone to add, in any spelling."},
        "remove_phone": {"type": ["string", "null"], "description": "A phone to remove, in any spelling."},
    }, required=[]),
}

NOTIFICATIONS = {
    "Notification": obj({
        "id": INT, "kind": {"type": "string", "description": "e.g. assigned, returned, mentioned, cc."},
        "ticket": NULLABLE_STR, "message": STR,
        "text": {"type": "string", "description": "The sentence in the request's language."},
        "created_at": TIME, "read_at": NULLABLE_TIME,
    }),
    "NotificationPage": obj({"items": array(ref("Notification")), "next_cursor": NULLABLE_STR,
                             "unread": {"type": "integer", "minimum": 0}}),
    "Marked": obj({"marked": {"type": "integer", "minimum": 0}}),
}

SCHEMAS = {**ERRORS, **PROCESSES, **DICTIONARIES, **TICKETS, **COLLAB, **CUSTOMERS, **NOTIFICATIONS}
