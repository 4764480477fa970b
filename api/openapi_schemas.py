"""JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) of the API's bodies: ``components.schemas``.

They describe what the code in ``api/*.py`` and ``workflows/tickets/present.py``
really sends, nullable fields included, so tests and schemathesis can hold
every real response against them. Request bodies are what ``api.bodies`` holds
each request against: a type here is the type the endpoint takes, an optional
member takes null (read as absent), and extra members are refused only where
the endpoint refuses them. Process and dictionary documents are their
meta-schemas (``formbuilder/schemas``), which the document checks apply
before the static checks that no schema expresses (``workflows.processes.documents``).
"""

from __future__ import annotations

from formbuilder.calendars import CALENDAR_META
from formbuilder.documents import DICTIONARY_META, PROCESS_META
from workflows.intake.channels import CODES as CHANNELS


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


def rerooted(node: object, name: str) -> object:
    """``node`` with its ``#/$defs/...`` references pointing into the component ``name``."""
    if isinstance(node, list):
        return [rerooted(item, name) for item in node]
    if not isinstance(node, dict):
        return node
    found = {key: rerooted(value, name) for key, value in node.items()}
    if isinstance(found.get("$ref"), str) and found["$ref"].startswith("#/$defs/"):
        found["$ref"] = f"#/components/schemas/{name}/" + found["$ref"][2:]
    return found


def meta_schema(meta, name: str, description: str) -> dict:
    """A document's meta-schema as the component ``name``: one contract for the format and the API.

    Its ``$id`` and ``$schema`` are dropped and its references re-rooted, so any OpenAPI tool resolves
    them inside this document.
    """
    schema = {key: value for key, value in meta.schema.items() if key not in ("$id", "$schema")}
    return {**rerooted(schema, name), "description": description}


def or_null(schema: dict) -> dict:
    """``schema`` or null: the API reads an optional member sent as null as an absent one."""
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    nullable = {**schema, "type": [*types, "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
NULLABLE_STR = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
PRIORITY = {"type": "string", "enum": ["urgent", "high", "normal", "low"]}
STATUS = {"type": "string", "enum": ["open", "pending", "closed"]}
USERNAME = {"type": ["string", "null"], "description": "A username, or null when there is none."}

ERRORS = {
    "Error": obj({
        "error": {"type": "string", "description": "Machine code, e.g. `bad_request`, `invalid`, `not_found`."},
        "message": {"type": "string", "description": "Human message in the request's language."},
        "fields": {"type": "object", "description": (
            "Messages per field (or JSON pointer for documents); a detail table's cell is named by its row, "
            "counted from 0, and column: `parts/2/qty`."),
                   "additionalProperties": array(STR)},
    }, required=["error", "message"]),
}

PROCESSES = {
    "TokenRequest": obj({"username": STR, "password": STR}, extra=True),
    "Token": obj({"token": STR}),
    "ProcessSummary": obj({"code": STR, "name": STR, "version": INT}),
    "ProcessDocument": meta_schema(PROCESS_META, "ProcessDocument", "A process definition document (format 1 or 2"
                                   "; `formbuilder/schemas/process.schema.json`). The static checks come on top; "
                                   "format 2 is stored as a draft but not published yet."),
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
    "DictionaryDocument": meta_schema(DICTIONARY_META, "DictionaryDocument", "A dictionary document (format 1, or 2 "
                                      "with item attributes `data`; `formbuilder/schemas/dictionary.schema.json`); "
                                      "values unique throughout."),
}

CALENDARS = {
    "CalendarSummary": obj({
        "code": STR, "name": STR, "revision": INT, "timezone": STR,
        "holidays": {"type": ["string", "null"], "enum": ["cn", None], "description": "`cn`: official holidays."},
        "unknown_years": array({"type": "integer", "description": "A year from last year to two ahead whose "
                                "official holidays are not known (only weekends count); empty unless `cn`."}),
    }),
    "CalendarSaved": obj({"code": STR, "name": STR, "revision": INT, "timezone": STR,
                          "holidays": {"type": ["string", "null"], "enum": ["cn", None]},
                          "unknown_years": array(INT), "changed": BOOL}),
    "CalendarDocument": meta_schema(CALENDAR_META, "CalendarDocument", "A working-time calendar document (format 2; "
                                    "`formbuilder/schemas/calendar.schema.json`): time zone, weekly hours, official "
                                    "holidays, closed and open dates (docs/calendars.md)."),
}

TICKET_PROPERTIES = {
    "number": STR, "process": STR, "process_version": INT,
    "step": obj({"key": {"type": "string", "description": "`$end` once closed."}, "name": STR}),
    "status": STATUS, "priority": PRIORITY, "assignee": USERNAME, "creator": USERNAME, "version": INT,
    "created_at": TIME, "updated_at": TIME, "due_at": NULLABLE_TIME, "overdue": BOOL,
}

RELATED = {"number": STR, "process": STR, "process_name": STR, "step": obj({"key": STR, "name": STR}),
           "status": STATUS, "readable": {"type": "boolean", "description": "Whether the reader may open it."}}
#: A ticket's relations (issue 19, docs/relations.md): numbers, processes, steps and statuses, no field data.
RELATIONS = {
    "parent": {"oneOf": [{"type": "null"}, ref("RelatedTicket")]},
    "children": array(obj({**RELATED, "wait": {"type": "boolean", "description": "Holds the parent at its step "
                                                                              "until it is closed."}})),
    "links": array(obj({**RELATED, "kind": {"type": "string", "enum": ["related", "merged"]}})),
    "merged_into": {"type": ["string", "null"], "description": "The number this ticket was merged into."},
    "merged": array({"type": "string", "description": "Numbers merged into this ticket."}),
    "held": array({"type": "string", "description": "Open children that hold this ticket at its step."}),
}

#: A countersign step's parts and progress (issue 19, docs/countersign.md); [] and null elsewhere.
SIGNING = {
    "signatures": array(obj({
        "user": USERNAME, "state": {"type": "string", "enum": ["waiting", "signed", "released"]},
        "decision": {"type": ["string", "null"], "description": "The signer's choice (JSON text unless a string); "
                                                                 "null if unsigned or unreadable to the reader."},
        "comment": NULLABLE_STR, "data": {"type": "object", "description": "The signer's own values the reader "
                                                                           "may see."},
        "at": NULLABLE_TIME, "signed_at": NULLABLE_TIME,
    })),
    "sign": {"oneOf": [{"type": "null"}, obj({
        "mode": {"type": "string", "enum": ["all", "any", "ratio"]}, "ratio": {"type": ["number", "null"]},
        "needed": INT, "total": INT, "passed": INT, "failed": INT, "waiting": INT,
        "result": {"type": ["string", "null"], "enum": ["pass", "fail", None]}, "step": STR,
    })]},
}

TICKETS = {
    "TicketSummary": obj(TICKET_PROPERTIES),
    "RelatedTicket": obj(RELATED),
    "Ticket": obj({
        **TICKET_PROPERTIES,
        "customer": {"oneOf": [{"type": "null"}, obj({"name": STR, "phone": NULLABLE_STR})]},
        "channel": NULLABLE_STR,
        "data": {"type": "object", "description": "Only the fields the reader may see."},
        "transitions": array(obj({"to": STR, "label": STR})),
        "history": array(ref("HistoryEntry")),
        **RELATIONS,
        **SIGNING,
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
        "process": STR, "data": or_null({"type": "object", "description": "The first step's fields; null is {}."}),
        "priority": or_null(PRIORITY),
        "customer": or_null(obj({"name": NULLABLE_STR, "phone": NULLABLE_STR, "email": NULLABLE_STR}, required=[],
                                description="Found by phone (else e-mail), or created; a wrong key or value "
                                            "gets 422 at `customer/<key>`.")),
        "channel": or_null({"type": "string", "enum": list(CHANNELS)}),
        "transition": NULLABLE_STR, "assignee": NULLABLE_STR,
    }, required=["process"], extra=True),
    "TicketAction": obj({
        "action": {"type": "string", "enum": ["advance", "return", "transfer", "close", "reopen",
                                              "spawn", "link", "unlink", "merge", "sign", "wait", "resume"]},
        "version": {"type": "integer", "description": "The ticket's version as read; a stale one gets 409."},
        "data": or_null({"type": "object"}), "transition": NULLABLE_STR, "assignee": NULLABLE_STR,
        "comment": NULLABLE_STR,
        "spawn": {"type": ["integer", "string", "null"], "description": "`spawn`: the index of the step's `spawn` "
                                                                         "entry, or its process code."},
        "other": {"type": ["string", "null"], "description": "`link`, `unlink`, `merge`: the other ticket's number; "
                                                              "a bad one gets 400 at `other`."},
        "until": {"type": ["string", "null"], "format": "date-time",
                  "description": "`wait`: when the worker resumes the ticket (RFC 3339 with its offset, in the "
                                 "future); optional. A bad one gets 400 at `until`; `comment` is the reason "
                                 "(required)."},
    }, required=["action", "version"], extra=True),
}

COLLAB = {
    "Note": obj({"id": INT, "author": USERNAME, "text": NULLABLE_STR, "created_at": TIME}),
    "NoteCreate": obj({"text": {"type": "string", "minLength": 1, "description": "Not blank."}}, extra=True),
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
    "phone": {"type": ["string", "null"], "description": "The primary phone, normalised: E.164 (`+8613800138000`, "
                                          "`+861088886666;ext=123`) or a short number as dialled (`95588`)."},
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
        "name": EDIT_STR, "email": EDIT_STR, "company": EDIT_STR,
        "level": {**or_null(LEVEL), "enum": [*LEVEL["enum"], "", None], "description": "Null or empty: normal."},
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

SCHEMAS = {**ERRORS, **PROCESSES, **DICTIONARIES, **CALENDARS, **TICKETS, **COLLAB, **CUSTOMERS, **NOTIFICATIONS}
