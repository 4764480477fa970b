"""Store, publish and read process and dictionary documents.

Every write checks the whole document first and stores nothing when any
problem exists; each write is one transaction. People's writes of process
documents (admin pages, API, CLI) go through :func:`store_process` and
:func:`publish_audited`, which add the audit entry; dictionaries go through
``workflows.processes.dictedit.save``. The plain functions here are for seeding and tests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from formbuilder import (
    CompiledStep,
    DictionaryIndex,
    Msg,
    Problem,
    check_dictionary,
    check_process,
    check_shape,
    compiled_step,
    guards,
)
from formbuilder.cache import draft_key
from formbuilder.messages import N_, pointer
from workflows.storage import audit, generation
from workflows.storage.db import database
from workflows.storage.models import Calendar, Dictionary, Process, ProcessVersion, User, utcnow
from workflows.storage.prepared import Prepared


class DocumentError(Exception):
    """A document was refused; ``problems`` lists every reason with its JSON path."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


_indexes: dict[str, tuple[tuple, DictionaryIndex]] = {}
_indexes_lock = threading.Lock()


def dictionary_indexes() -> dict[str, DictionaryIndex]:
    """Current dictionaries as indexes: kept per configuration stamp (``storage.generation``), and when
    the stamp changed, each index rebuilt only if its dictionary was revised (:func:`_revised_indexes`)."""
    return generation.cached("dictionaries", _revised_indexes)


def _revised_indexes() -> dict[str, DictionaryIndex]:
    """Current dictionaries as indexes; one small query, rebuilt only when revised.

    The check of the row's revision and update time makes this safe with several
    workers and hosts (and with two saves racing to the same revision number).
    """
    current = {}
    for code, *stamp in Dictionary.select(Dictionary.code, Dictionary.revision, Dictionary.updated_at).tuples():
        cached = _indexes.get(code)
        if cached is None or cached[0] != tuple(stamp):
            doc = Dictionary.get(Dictionary.code == code).document
            cached = (tuple(stamp), DictionaryIndex.from_document(doc))
            with _indexes_lock:
                _indexes[code] = cached
        current[code] = cached[1]
    return current


def import_dictionary(document: object) -> Dictionary:
    """Create or replace a dictionary from its document, unguarded and unaudited.

    Only for seeding and for ``dictedit.save``, which adds the guards and the audit entry.
    """
    problems = check_dictionary(document)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        row = Dictionary.get_or_none(Dictionary.code == document["code"])
        if row is None:
            return Dictionary.create(code=document["code"], name=document["name"], document=document)
        # The increment in SQL: two saves racing cannot both write the same revision.
        Dictionary.update(name=document["name"], document=document, revision=Dictionary.revision + 1,
                          updated_at=utcnow()).where(Dictionary.id == row.id).execute()
        return Dictionary.get_by_id(row.id)


def check(document: object) -> list[Problem]:
    """Every problem of a process document against the stored dictionaries, calendars and child processes."""
    calendars = [code for (code,) in Calendar.select(Calendar.code).tuples()]
    return check_process(document, dictionary_indexes(), calendars=calendars, processes=_spawned(document))


def _spawned(document: object) -> dict[str, dict]:
    """The documents of the processes ``document`` spawns (check 11): the latest published, else the draft."""
    steps = document.get("steps") if isinstance(document, dict) else None
    codes = {entry.get("process") for step in (steps if isinstance(steps, list) else []) if isinstance(step, dict)
             for entry in (step.get("spawn") if isinstance(step.get("spawn"), list) else []) if isinstance(entry, dict)}
    found = {}
    for code in sorted(c for c in codes if isinstance(c, str)):
        version = latest_version(code)
        draft = version.document if version else Process.select(Process.draft).where(Process.code == code).scalar()
        if isinstance(draft, dict):
            found[code] = draft
    return found


#: Format-2 keys the engine does not enforce yet, each refused at publish where it is used: a ticket must
#: never run under a key nobody enforces. Issue 18 lifted its keys one by one as each was enforced (none
#: is left); the keys still to come (issue 19's steps and calendars) go here until the engine honours them.
NOT_ENFORCED_FIELD_KEYS: frozenset[str] = frozenset()
NOT_ENFORCED_WIDGETS: frozenset[str] = frozenset()
NOT_ENFORCED_DOCUMENT_KEYS: frozenset[str] = frozenset()


def _field_paths(document: dict):
    """(path, field schema) of every field and detail-table column."""
    properties = document.get("schema", {}).get("properties", {})
    for name, schema in properties.items():
        yield ["schema", "properties", name], schema
        columns = schema.get("items", {}).get("properties", {}) if schema.get("x-widget") == "table" else {}
        yield from ((["schema", "properties", name, "items", "properties", c], s) for c, s in columns.items())


def unpublishable(document: object) -> list[Problem]:
    """Why a (checked) document may be stored as a draft but not published, at their paths.

    The publish guards (``formbuilder.guards``: the creation step shows a field), then the format-2
    keys the engine does not enforce yet."""
    if not isinstance(document, dict):
        return []
    return guards.publish_guards(document) + _not_enforced(document)


def publish_problems(document: object) -> list[Problem]:
    """Every reason ``document`` cannot be published as it is: the static checks, else the publish guards.

    What the editor shows as "problems left before the draft can be published", and what every
    publishing path refuses."""
    return check(document) or unpublishable(document)


def _not_enforced(document: dict) -> list[Problem]:
    if document.get("format") != 2:
        return []
    found = [[key] for key in sorted(NOT_ENFORCED_DOCUMENT_KEYS) if key in document]
    for path, schema in _field_paths(document):
        found += [[*path, key] for key in sorted(NOT_ENFORCED_FIELD_KEYS) if key in schema]
        found += [[*path, "x-widget"]] if schema.get("x-widget") in NOT_ENFORCED_WIDGETS else []
    return [Problem(pointer(path), Msg(N_("%(key)s cannot be published yet: the engine does not enforce it"),
                                       {"key": path[-1]})) for path in found]


def save_process(document: object, *, publish: bool = False, actor: str | None = None):
    """Save ``document`` as its process's draft and optionally publish it.

    Returns ``(process, version)``; version is None unless published.
    """
    problems = publish_problems(document) if publish else check(document)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        process = _write_draft(document)
        return process, (_publish(process, actor) if publish else None)


def _write_draft(document: dict) -> Process:
    process = Process.get_or_none(Process.code == document["code"]) or Process(code=document["code"])
    process.name, process.draft, process.draft_updated_at = document["name"], document, utcnow()
    process.save()
    return process


def _locked_process(code: str) -> Process | None:
    """The row, locked until the transaction ends where the database can (SQLite writes serialise anyway)."""
    query = Process.select().where(Process.code == code)
    return (query.for_update() if database.for_update else query).first()


def publisher(actor: User | None) -> str:
    """``published_by`` of a version: the user's name, or ``cli`` for the command line (no user)."""
    return actor.username if actor is not None else "cli"


def store_process(document: object, actor: User | None, action: str, *, publish: bool = False):
    """Save (and publish) a process document with its audit entry, in one transaction.

    Every write path of people (admin JSON page and import, API, CLI) comes
    here, so all check the same way and all are audited; ``actor`` None is the
    command line. An unchanged draft (same keys in the same order) is not
    rewritten and records nothing. Returns ``(process, version, changed)``;
    version is None unless ``publish``.
    """
    problems = publish_problems(document) if publish else check(document)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        process = _locked_process(document["code"])
        before, previous = (None, 0) if process is None else (process.draft, process.latest_version)
        if process is None or not _same(before, document):
            process = _write_draft(document)
        version = _publish(process, publisher(actor)) if publish else None
        published = version is not None and version.number != previous
        changed = published or not _same(before, document)
        if changed:
            after = {"draft": process.draft, **({"version": version.number} if published else {})}
            audit.record(actor, action, f"process:{process.code}", before, after if publish else process.draft)
        return process, version, changed


def lock_draft(code: str) -> None:
    """Hold the process row until the caller's transaction ends, so draft edits run one at a time.

    An edit reads the draft, changes it and saves it; a no-op UPDATE takes the row's write lock on
    PostgreSQL and the database's on SQLite, so a second edit waits and then reads the first one's result.
    """
    Process.update(code=code).where(Process.code == code).execute()


def save_draft(document: dict) -> tuple[Process, list[Problem]]:
    """Save a draft the visual editor is building: well-formed, not yet necessarily publishable.

    A process is built a piece at a time (a step exists before any transition
    leads to it), so only the document's shape is enforced here; the static
    checks (or else the publish guards) are returned for the editor to show and
    are enforced on publish.
    """
    problems = check_shape(document)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        process = Process.get_or_none(Process.code == document["code"]) or Process(code=document["code"])
        process.name, process.draft, process.draft_updated_at = document["name"], document, utcnow()
        process.save()
    return process, publish_problems(document)


def edit_draft(code: str, actor: User, action: str, edit: Callable[[dict], dict],
               fresh: Callable[[dict], None] | None = None) -> list[Problem]:
    """Apply ``edit`` to the draft and save it with its audit entry: one writer at a time, one transaction.

    ``fresh(before)`` may raise to refuse an edit made on a stale page. Returns the static-check
    problems left in the draft (they block publishing only).
    """
    with database.atomic():
        lock_draft(code)
        before = Process.get(Process.code == code).draft
        if fresh is not None:
            fresh(before)
        after = edit(before)
        _, problems = save_draft(after)
        audit.record(actor, action, f"process:{code}", before, after)
    return problems


def create_draft(document: dict, actor: User) -> Process:
    """A new process's first draft (the editor's skeleton), with its audit entry."""
    with database.atomic():
        process, _ = save_draft(document)
        audit.record(actor, "process.create", f"process:{document['code']}", None, document)
    return process


def _publish(process: Process, actor: str | None) -> ProcessVersion:
    latest = latest_version(process.code)
    if latest is not None and _same(latest.document, process.draft):
        return latest  # publishing the same document again changes nothing
    process.latest_version += 1
    process.save()
    return ProcessVersion.create(process=process, number=process.latest_version,
                                 document=process.draft, published_by=actor)


def _same(a: dict, b: dict) -> bool:
    """Equal including key order (reordering fields is a change)."""
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def publish(code: str, actor: str | None = None) -> ProcessVersion:
    """Publish the current draft after checking it again (dictionaries may have changed)."""
    process = Process.get(Process.code == code)
    problems = publish_problems(process.draft)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        return _publish(process, actor)


def publish_audited(code: str, actor: User | None) -> tuple[ProcessVersion, bool]:
    """Publish the draft with its audit entry in one transaction; ``(version, changed)``.

    Publishing an unchanged draft returns the latest version and records nothing.
    """
    with database.atomic():
        previous = Process.get(Process.code == code).latest_version
        version = publish(code, publisher(actor))
        changed = version.number != previous
        if changed:
            audit.record(actor, "process.publish", f"process:{code}",
                         {"version": previous} if previous else None, {"version": version.number})
        return version, changed


def _latest_query(code: str):
    return (ProcessVersion.select(ProcessVersion, Process).join(Process).where(Process.code == code)
            .order_by(ProcessVersion.number.desc()).limit(1))


_LATEST = Prepared(_latest_query, str)  # every ticket created reads it: its SQL text is built once


def latest_version(code: str) -> ProcessVersion | None:
    """The latest published version: kept per configuration stamp (``storage.generation``; a publish
    renews it). Shared by the process's threads: its document is never changed in place."""
    return generation.cached(f"version:{code}", lambda: _LATEST.first(code))


def get_version(code: str, number: int | None = None) -> ProcessVersion | None:
    """Version ``number`` of a process, or its latest published one."""
    if number is None:
        return latest_version(code)
    return (ProcessVersion.select(ProcessVersion, Process).join(Process)
            .where(Process.code == code, ProcessVersion.number == number).first())


def compiled(version: ProcessVersion, step_key: str) -> CompiledStep:
    """The cached form class and validator of one step of a published version."""
    return compiled_step((version.document["code"], version.number), version.document, step_key)  # no Process read


def compiled_draft(process: Process, step_key: str) -> CompiledStep:
    return compiled_step(draft_key(process.draft), process.draft, step_key)
