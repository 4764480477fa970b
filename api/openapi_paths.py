"""The ``paths`` of the OpenAPI document: one entry per route of ``api/*.py``.

Statuses listed per operation are the ones the code can answer, so
schemathesis' status-code conformance check keeps them honest; every error
body is the shared ``Error`` schema.
"""

from __future__ import annotations

from .openapi_schemas import array, ref

ERROR_RESPONSES = {
    400: ("BadRequest", "Malformed request: a body that is not a JSON object (`fields` names `body`), a member "
                        "missing, unknown or of the wrong JSON type by the request schema, a bad cursor."),
    401: ("Unauthorized", "No valid token (or, for `/auth/token`, wrong username or password)."),
    403: ("Forbidden", "The caller's role or place in the ticket does not allow this."),
    404: ("NotFound", "No such object, or one the caller may not know of."),
    409: ("Conflict", "Stale `version` or a conflicting action."),
    413: ("TooLarge", "The upload is larger than the server accepts."),
    429: ("Locked", "Too many failed logins for this username or address; `Retry-After` says when to retry."),
    422: ("Invalid", "Validation failed: a well-typed value the rules refuse (an enum, a length, `customer/<key>`, "
                     "a step's fields); `fields` names every failing field (JSON pointers for documents)."),
}


def path_param(name: str, schema: dict | None = None, description: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string", "minLength": 1}}


def query_param(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


PROCESS = path_param("code", {"type": "string", "minLength": 1, "examples": ["return_goods"]}, "Process code.")
DICTIONARY = path_param("code", {"type": "string", "minLength": 1, "examples": ["product"]}, "Dictionary code.")
CALENDAR = path_param("code", {"type": "string", "minLength": 1, "examples": ["cn_workdays"]}, "Calendar code.")
NUMBER = path_param("number", description="Ticket number, e.g. `TH202611220001`.")
ID = {"type": "integer", "format": "int64", "minimum": 0}
CURSOR = query_param("cursor", "The previous page's `next_cursor`.")


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def op(tag: str, summary: str, ok: dict, errors: tuple = (401,), *, params: tuple = (), body: dict | None = None,
       description: str = "", public: bool = False, op_id: str) -> dict:
    """One operation: ``ok`` maps 2xx statuses to body schemas; ``errors`` lists 4xx statuses (Error bodies)."""
    responses = {str(status): {"description": "Success.", "content": json_content(schema)}
                 for status, schema in ok.items()}
    responses.update({str(s): {"$ref": f"#/components/responses/{ERROR_RESPONSES[s][0]}"} for s in errors})
    operation = {"tags": [tag], "summary": summary, "operationId": op_id, "responses": responses}
    if description:
        operation["description"] = description
    if params:
        operation["parameters"] = list(params)
    if body is not None:
        operation["requestBody"] = body
    if public:
        operation["security"] = []
    return operation


def json_body(schema: dict, required: bool = True, description: str = "") -> dict:
    return {"required": required, "description": description, "content": json_content(schema)}


AUTH_PATHS = {
    "/auth/token": {"post": op(
        "Auth", "Exchange a username and password for an API token", {201: ref("Token")}, (400, 401, 429),
        body=json_body(ref("TokenRequest")), public=True, op_id="createToken",
        description="Send the token back as `Authorization: Bearer TOKEN`.")},
    "/openapi.json": {"get": op(
        "Auth", "This OpenAPI document", {200: {"type": "object"}}, (), public=True, op_id="getOpenapi")},
}

PROCESS_PATHS = {
    "/processes": {"get": op("Processes", "List published processes", {200: array(ref("ProcessSummary"))},
                             op_id="listProcesses")},
    "/processes/{code}": {"get": op(
        "Processes", "The latest published document of a process", {200: ref("ProcessDocument")}, (401, 404),
        params=(PROCESS,), op_id="getProcess")},
    "/processes/{code}/draft": {"put": op(
        "Process administration", "Create a process or replace its draft (admins)",
        {200: ref("DraftSummary"), 201: ref("DraftSummary")}, (400, 401, 403, 422), params=(PROCESS,),
        body=json_body(ref("ProcessDocument")), op_id="putProcessDraft",
        description="201 when the process is new. Every static check runs first; nothing is stored on 422.")},
    "/processes/{code}/check": {"post": op(
        "Process administration", "Check a document, or the stored draft when the body is empty (admins)",
        {200: ref("CheckResult")}, (400, 401, 403, 404), params=(PROCESS,),
        body=json_body(ref("ProcessDocument"), required=False), op_id="checkProcess")},
    "/processes/{code}/publish": {"post": op(
        "Process administration", "Publish the draft as a new version (admins)", {200: ref("Published")},
        (401, 403, 404, 422), params=(PROCESS,), op_id="publishProcess",
        description="Publishing a draft equal to the latest version changes nothing (`changed` false).")},
    "/processes/{code}/versions": {"get": op(
        "Process administration", "List published versions, newest first (admins)",
        {200: array(ref("VersionSummary"))}, (401, 403, 404), params=(PROCESS,), op_id="listProcessVersions")},
    "/processes/{code}/versions/{number}": {"get": op(
        "Process administration", "Export one published version (admins)", {200: ref("ProcessDocument")},
        (401, 403, 404), params=(PROCESS, path_param("number", ID, "Version.")),
        op_id="getProcessVersion")},
}

DICTIONARY_PATHS = {
    "/dictionaries": {"get": op("Dictionaries", "List dictionaries", {200: array(ref("DictionarySummary"))},
                                op_id="listDictionaries")},
    "/dictionaries/{code}": {
        "get": op("Dictionaries", "A dictionary document", {200: ref("DictionaryDocument")}, (401, 404),
                  params=(DICTIONARY,), op_id="getDictionary"),
        "put": op("Dictionaries", "Create or replace a dictionary (admins)",
                  {200: ref("DictionarySaved"), 201: ref("DictionarySaved")}, (400, 401, 403, 422),
                  params=(DICTIONARY,), body=json_body(ref("DictionaryDocument")), op_id="putDictionary",
                  description="An item that tickets hold cannot be dropped, only disabled."),
    },
}

CALENDAR_PATHS = {
    "/calendars": {"get": op("Calendars", "List working-time calendars", {200: array(ref("CalendarSummary"))},
                             op_id="listCalendars")},
    "/calendars/{code}": {
        "get": op("Calendars", "A calendar document", {200: ref("CalendarDocument")}, (401, 404),
                  params=(CALENDAR,), op_id="getCalendar"),
        "put": op("Calendars", "Create or replace a calendar (admins)",
                  {200: ref("CalendarSaved"), 201: ref("CalendarSaved")}, (400, 401, 403, 422),
                  params=(CALENDAR,), body=json_body(ref("CalendarDocument")), op_id="putCalendar",
                  description="The document's `code` must be the path's. A change applies to due times computed "
                              "after it; an identical document changes nothing (`changed` false)."),
    },
}

TICKET_PATHS = {
    "/tickets": {
        "post": op("Tickets", "Create a ticket at the first step and take its first transition",
                   {201: ref("Ticket")}, (400, 401, 403, 404, 409, 422), body=json_body(ref("TicketCreate")),
                   op_id="createTicket",
                   description="`transition` may be omitted when only one is offered; `assignee` is a username "
                               "where the next step's pick is manual or choose."),
        "get": op("Tickets", "One page of tickets, newest first", {200: ref("TicketPage")}, (400, 401, 403),
                  params=(query_param("scope", "Which tickets (default `mine`).",
                                      {"type": "string", "enum": ["mine", "team", "all"]}),
                          query_param("status", "`open` (pending included), `pending` or `closed`."),
                          query_param("process", "Process code."),
                          query_param("q", "Search text: a ticket number (exactly), a caller's phone (by prefix) "
                                      "or name, and full text over what the caller may see of each ticket "
                                      "(field values and detail-table cells, notes and history comments, "
                                      "the customer's name, file names). Chinese is matched by two-character "
                                      "pieces (退货, 冰箱), other words whole, the last one also as a prefix; "
                                      "every word must match. With `q` the page is ranked: the numbered "
                                      "ticket, then the best full-text matches (at most 200), then the other "
                                      "matches newest first; full text reads the first 200 characters "
                                      "(docs/search.md)."),
                          query_param("tag", "Only tickets holding this tag (its exact name)."),
                          query_param("step", "Only tickets at this step (its key, e.g. `approve`)."),
                          query_param("limit", "Rows per page, 1 to 100 (default 50).",
                                      {"type": "integer", "minimum": 1, "maximum": 100}), CURSOR),
                  op_id="listTickets"),
    },
    "/tickets/{number}": {"get": op(
        "Tickets", "A ticket as its reader may see it", {200: ref("Ticket")}, (401, 403, 404), params=(NUMBER,),
        op_id="getTicket")},
    "/tickets/{number}/actions": {"post": op(
        "Tickets", "Act on a ticket: advance, return, transfer, close or reopen",
        {200: {"anyOf": [ref("Ticket"), ref("TicketHidden")]}}, (400, 401, 403, 404, 409, 422),
        params=(NUMBER,), body=json_body(ref("TicketAction")), op_id="actOnTicket",
        description="Answers the ticket, or only `{number, status, version}` when the action leaves it "
                    "unreadable to the caller. A stale `version` gets 409, except for `sign` (a signer's "
                    "part at a countersign step, with `data` and `comment`; signers do not conflict) and for a "
                    "signer's `transfer` of their part (docs/countersign.md).")},
}

COLLAB_PATHS = {
    "/tickets/{number}/notes": {
        "get": op("Notes and attachments", "The ticket's internal notes, oldest first", {200: array(ref("Note"))},
                  (401, 403, 404), params=(NUMBER,), op_id="listNotes"),
        "post": op("Notes and attachments", "Add an internal note", {201: ref("Note")},
                   (400, 401, 403, 404, 422), params=(NUMBER,), body=json_body(ref("NoteCreate")),
                   op_id="addNote", description="Each @username mentioned is CC'd and notified."),
    },
    "/attachments": {"post": op(
        "Notes and attachments", "Upload a file for an attachment field", {201: ref("Attachment")},
        (400, 401, 413, 422), body={"required": True, "content": {"multipart/form-data": {"schema": ref("Upload")}}},
        op_id="uploadAttachment",
        description="The returned `id` goes into an attachment field of a create or act; give `process` "
                    "and `field` to apply that field's type and size limits now.")},
    "/attachments/{key}": {"get": op(
        "Notes and attachments", "Download an attachment", {}, (401, 403, 404),
        params=(path_param("key", description="The attachment id."),), op_id="downloadAttachment",
        description="The file itself, when its ticket is readable and its field visible, or it is the "
                    "caller's own unlinked upload.")},
}
COLLAB_PATHS["/attachments/{key}"]["get"]["responses"]["200"] = {
    "description": "The file, with its stored media type.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType":
                                                        "application/octet-stream"}}}}

CUSTOMER_PATHS = {
    "/customers": {"get": op(
        "Customers", "Look customers up by phone", {200: array(ref("Customer"))}, (400, 401),
        params=(query_param("phone", "Phone number in any spelling (`138 0013 8000`, `+86 13800138000`).",
                            {"type": "string", "minLength": 1}, True),),
        op_id="lookupCustomers",
        description="The phone is normalised first; a merged-away customer's phone finds the kept one. "
                    "Only customers the caller may see: call registrars see all, others those of "
                    "tickets they may read.")},
    "/customers/{customer_id}": {
        "get": op("Customers", "A customer and one page of their readable tickets, newest first",
                  {200: ref("CustomerHistory")}, (400, 401, 404),
                  params=(path_param("customer_id", ID), CURSOR), op_id="getCustomer",
                  description="A merged-away customer's id answers the customer it was merged into."),
        "patch": op("Customers", "Edit a customer's fields, add or remove a phone (agents and above)",
                    {200: ref("Customer")}, (400, 401, 403, 404, 422), params=(path_param("customer_id", ID),),
                    body=json_body(ref("CustomerEdit")), op_id="editCustomer",
                    description="Only the keys given change; one transaction, audited. A phone that "
                                "belongs to another customer gets 422 naming it."),
    },
}

NOTIFICATION_PATHS = {
    "/notifications": {"get": op(
        "Notifications", "The caller's notifications, newest first", {200: ref("NotificationPage")}, (400, 401),
        params=(query_param("unread", "`1` or `true`: unread ones only."), CURSOR), op_id="listNotifications")},
    "/notifications/{notification_id}/read": {"post": op(
        "Notifications", "Mark one notification read (idempotent)", {200: ref("Notification")}, (401, 404),
        params=(path_param("notification_id", ID),), op_id="markNotificationRead")},
    "/notifications/read-all": {"post": op(
        "Notifications", "Mark all the caller's notifications read", {200: ref("Marked")},
        op_id="markAllNotificationsRead")},
}

PATHS = {**AUTH_PATHS, **PROCESS_PATHS, **DICTIONARY_PATHS, **CALENDAR_PATHS, **TICKET_PATHS, **COLLAB_PATHS,
         **CUSTOMER_PATHS, **NOTIFICATION_PATHS}
