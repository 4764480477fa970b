"""Edit dictionary documents item by item (字典与面板), for the admin tree editor.

Items are addressed by their ``value``, unique within a dictionary. The edit
functions are pure: each returns a new document or raises
:class:`DocumentError` with located problems. :func:`save` stores a document
with its audit entry in one transaction, and refuses to drop an item that a
ticket holds: such an item must be disabled instead, so old tickets still show
its label. Every write path (admin tree editor and import, API, CLI
``dictionary import``) goes through :func:`save`; the CLI's actor is None.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator

from formbuilder import Msg, Problem, check_dictionary
from formbuilder.messages import N_, pointer
from workflows.processes import documents as docs
from workflows.processes.documents import DocumentError
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Dictionary, Process, ProcessVersion, Ticket, User

# Values typed in the editor also travel in URLs and CSS selectors; imported
# documents may hold any value the format allows.
VALUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def refuse(path: list, msgid: str, **params) -> DocumentError:
    return DocumentError([Problem(pointer(path), Msg(msgid, params))])


# -- walking the tree -------------------------------------------------------------------------------

def walk(items: list, path: tuple = ("items",)) -> Iterator[tuple[dict, list, int, list]]:
    """Every item in document order, with its sibling list, its index there and its JSON path."""
    for i, item in enumerate(items):
        yield item, items, i, [*path, i]
        yield from walk(item.get("children", []), (*path, i, "children"))


def values(doc: dict) -> list[str]:
    return [item["value"] for item, *_ in walk(doc.get("items", []))]


def locate(doc: dict, value: str) -> tuple[dict, list, int, list]:
    """The item holding ``value`` as ``(item, siblings, index, path)``; unknown values are refused."""
    for found in walk(doc.get("items", [])):
        if found[0]["value"] == value:
            return found
    raise refuse(["items"], N_("no item with value '%(value)s'"), value=value)


def subtree(item: dict) -> list[str]:
    """The values of ``item`` and of all its descendants."""
    return [item["value"], *(v["value"] for v, *_ in walk(item.get("children", [])))]


def checked(doc: dict) -> dict:
    """``doc`` when it is a valid dictionary document (shape, lengths, unique values)."""
    problems = check_dictionary(doc)
    if problems:
        raise DocumentError(problems)
    return doc


# -- pure edits ---------------------------------------------------------------------------------------

def add_item(doc: dict, parent: str | None, value: str, label: str) -> dict:
    """A copy of ``doc`` with a new enabled item last under ``parent`` (top level when None)."""
    new = copy.deepcopy(doc)
    if parent:
        item, _, _, path = locate(new, parent)
        siblings, path = item.setdefault("children", []), [*path, "children"]
    else:
        siblings, path = new.setdefault("items", []), ["items"]
    path = [*path, len(siblings), "value"]
    value, label = (value or "").strip(), (label or "").strip()
    if not re.fullmatch(VALUE_PATTERN, value):
        raise refuse(path, N_("value must match %(pattern)s"), pattern=VALUE_PATTERN)
    if value in values(new):
        raise refuse(path, N_("duplicate value '%(value)s'"), value=value)
    siblings.append({"value": value, "label": label})
    return checked(new)


def rename(doc: dict, value: str, label: str) -> dict:
    """A copy of ``doc`` where item ``value`` shows ``label``; the stored value never changes."""
    new = copy.deepcopy(doc)
    locate(new, value)[0]["label"] = (label or "").strip()
    return checked(new)


def set_enabled(doc: dict, value: str, enabled: bool) -> dict:
    """A copy of ``doc`` with item ``value`` offered for new input (or not).

    Enabled is the format's default, so it is written only when false.
    """
    new = copy.deepcopy(doc)
    item = locate(new, value)[0]
    if enabled:
        item.pop("enabled", None)
    else:
        item["enabled"] = False
    return checked(new)


def move(doc: dict, value: str, delta: int) -> dict:
    """A copy of ``doc`` with item ``value`` moved ``delta`` places (-1 up, +1 down) among its siblings."""
    new = copy.deepcopy(doc)
    _, siblings, index, path = locate(new, value)
    target = index + delta
    if delta not in (-1, 1) or not 0 <= target < len(siblings):
        raise refuse(path, N_("'%(value)s' cannot move further"), value=value)
    siblings[index], siblings[target] = siblings[target], siblings[index]
    return checked(new)


def remove(doc: dict, value: str) -> dict:
    """A copy of ``doc`` without item ``value`` and its children; :func:`save` guards held values."""
    new = copy.deepcopy(doc)
    _, siblings, index, _ = locate(new, value)
    del siblings[index]
    return checked(new)


# -- item attributes (format 2, 数据联动) ---------------------------------------------------------------------

NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
WORDS = {"true": True, "false": False, "null": None}


def typed(text: str) -> object:
    """The JSON scalar an admin means by ``text``: true/false/null and JSON numbers as such, else text.

    Text in double quotes is text without them (``"24"`` keeps a code textual); other text is
    trimmed. Formulas read one value per attribute, so nothing here builds lists or objects.
    """
    text = (text or "").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        return inner if isinstance(inner, str) else text[1:-1]
    if text in WORDS:
        return WORDS[text]
    if NUMBER.fullmatch(text):
        number = int(text) if text.lstrip("-").isdigit() else float(text)
        return number if math.isfinite(number) else text
    return text


def shown(value: object) -> str:
    """``value`` as the editor's text box holds it, so saving the form unchanged keeps its type."""
    if isinstance(value, str) and typed(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _rows(path: list, rows: Iterable[tuple[str, str]]) -> tuple[dict, list[Problem]]:
    """Typed attributes from the editor's (key, text) rows, in their order; blank rows are skipped."""
    data: dict = {}
    problems = []
    for number, (key, text) in enumerate(rows, start=1):
        key = (key or "").strip()
        if not key and (text or "").strip():
            problems.append(Problem(pointer(path), Msg(N_("row %(row)d: a value needs a key"), {"row": number})))
        elif key in data:
            problems.append(Problem(pointer([*path, key]), Msg(N_("duplicate attribute key '%(key)s'"), {"key": key})))
        elif key:
            data[key] = typed(text)
    return data, problems


def set_data(doc: dict, value: str, rows: Iterable[tuple[str, str]]) -> dict:
    """A copy of ``doc`` whose item ``value`` carries exactly the attributes ``rows`` (key, typed text).

    Attributes are a format-2 key, so giving some to a format-1 dictionary makes it format 2 (which
    means everything format 1 did); removing the last one leaves the format as it is.
    """
    new = copy.deepcopy(doc)
    item, _, _, path = locate(new, value)
    data, problems = _rows([*path, "data"], rows)
    if problems:
        raise DocumentError(problems)
    if data:
        item["data"] = data
        new["format"] = max(new.get("format", 1), 2)
    else:
        item.pop("data", None)
    return checked(new)


def count(doc: dict) -> int:
    return sum(1 for _ in walk(doc.get("items", [])))


# -- who uses a dictionary ------------------------------------------------------------------------------

def fields_using(document: dict | None, code: str) -> list[tuple[str, str, bool]]:
    """``(key, title, is_array)`` of the fields of a process document that use dictionary ``code``."""
    properties = ((document or {}).get("schema") or {}).get("properties") or {}
    found = []
    for key, schema in properties.items():
        if not isinstance(schema, dict):
            continue
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if schema.get("x-dictionary") == code or items.get("x-dictionary") == code:
            found.append((key, schema.get("title", key), schema.get("x-dictionary") != code))
    return found


def usage(code: str) -> list[dict]:
    """Fields using ``code`` in every process draft and latest published version."""
    latest = {v.process_id: v for v in ProcessVersion.select().join(Process)
              .where(ProcessVersion.number == Process.latest_version)}
    rows = []
    for process in Process.select().order_by(Process.code):
        sources = [("draft", process.draft)]
        if process.id in latest:
            sources.append((f"v{latest[process.id].number}", latest[process.id].document))
        for where, document in sources:
            rows += [{"process": process.code, "name": process.name, "where": where, "key": key, "title": title}
                     for key, title, _ in fields_using(document, code)]
    return rows


def _versions_by_field(code: str) -> dict[tuple[str, bool], list[int]]:
    """Published versions grouped by the field (key, is_array) that holds values of ``code``."""
    grouped: dict[tuple[str, bool], list[int]] = {}
    for version in ProcessVersion.select(ProcessVersion.id, ProcessVersion.document):
        for key, _, is_array in fields_using(version.document, code):
            grouped.setdefault((key, is_array), []).append(version.id)
    return grouped


def _prefilter(column, is_array: bool, among: set[str]):
    """SQL narrowing to rows that may hold one of ``among``; Python checks the candidates."""
    if not is_array:
        return column.in_(sorted(among))
    condition = None
    for value in sorted(among):
        for text in {json.dumps(value), json.dumps(value, ensure_ascii=False)}:
            like = column.contains(text)  # escapes LIKE wildcards
            condition = like if condition is None else condition | like
    return condition


def _parsed(text: str | None, is_array: bool) -> set[str]:
    if text is None or not is_array:
        return {text} if isinstance(text, str) else set()
    try:
        held = json.loads(text)
    except ValueError:
        return set()
    return {v for v in held if isinstance(v, str)} if isinstance(held, list) else set()


def held_values(code: str, among: Iterable[str] | None = None) -> set[str]:
    """Values of dictionary ``code`` that tickets hold (only those in ``among`` when given).

    One ``SELECT DISTINCT`` per field, on the JSON text of that field: the
    database does the scanning, Python only reads the distinct values.
    """
    among = None if among is None else set(among)
    held: set[str] = set()
    if among == set():
        return held
    for (key, is_array), versions in _versions_by_field(code).items():
        column = Ticket.data[key].as_text()
        query = Ticket.select(column).where(Ticket.process_version.in_(versions), column.is_null(False))
        if among is not None:
            query = query.where(_prefilter(column, is_array, among))
        for (text,) in query.distinct().tuples():
            held |= _parsed(text, is_array)
    return held if among is None else held & among


def holds(code: str, value: str) -> bool:
    """Whether any ticket holds ``value`` of dictionary ``code``."""
    return bool(held_values(code, [value]))


# -- storing ----------------------------------------------------------------------------------------------

def _same(a: object, b: object) -> bool:
    """Equal including key and item order (reordering items is a change)."""
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def _locked(code: str) -> Dictionary | None:
    """The row, locked until the transaction ends where the database can (SQLite writes serialise anyway)."""
    query = Dictionary.select().where(Dictionary.code == code)
    return (query.for_update() if database.for_update else query).first()


def _guard_held(code: str, before: dict, after: dict) -> None:
    """Refuse to drop items that tickets hold; they can be disabled instead."""
    gone = set(values(before)) - set(values(after))
    held = held_values(code, gone)
    problems = [Problem(pointer(path), Msg(N_("'%(value)s' is held by tickets: disable it instead of removing it"),
                                           {"value": item["value"]}))
                for item, _, _, path in walk(before["items"]) if item["value"] in held]
    if problems:
        raise DocumentError(problems)


def _store(code: str, row: Dictionary | None, after: dict, actor: User | None, action: str) -> bool:
    before = None if row is None else row.document
    if _same(before, after):
        return False  # nothing changed: no new revision, no audit entry
    if before is not None:
        _guard_held(code, before, after)
    docs.import_dictionary(after)  # bumps the revision, so cached indexes are rebuilt
    audit.record(actor, action, f"dictionary:{code}", before, after)
    return True


def save(code: str, new_doc: object, actor: User | None, action: str) -> bool:
    """Store ``new_doc`` as dictionary ``code`` with an audit entry, in one transaction.

    Returns False when the document equals the stored one (nothing recorded).
    """
    checked(new_doc)
    if new_doc["code"] != code:
        raise refuse(["code"], N_("the code must stay '%(code)s'"), code=code)
    with database.atomic():
        return _store(code, _locked(code), new_doc, actor, action)


def import_document(document: object, actor: User | None) -> tuple[Dictionary, bool]:
    """Create or replace the dictionary ``document`` names (admin upload, CLI): :func:`save`, guards and all.

    Returns the stored row and whether anything changed.
    """
    code = document.get("code") if isinstance(document, dict) else None
    changed = save(code, document, actor, "dictionary.import")
    return Dictionary.get(Dictionary.code == code), changed


def edit(code: str, actor: User | None, action: str, change: Callable[[dict], dict]) -> bool:
    """Apply ``change`` to the stored document and save it, reading and writing in one transaction."""
    with database.atomic():
        row = _locked(code)
        if row is None:
            raise refuse(["code"], N_("unknown dictionary '%(code)s'"), code=code)
        return _store(code, row, change(row.document), actor, action)


def create(code: str, name: str, actor: User | None) -> bool:
    """A new empty dictionary; an existing code is refused rather than overwritten."""
    doc = {"format": 1, "code": (code or "").strip(), "name": (name or "").strip(), "items": []}
    checked(doc)
    with database.atomic():
        if _locked(doc["code"]) is not None:
            raise refuse(["code"], N_("a dictionary '%(code)s' already exists"), code=doc["code"])
        return _store(doc["code"], None, doc, actor, "dictionary.create")
