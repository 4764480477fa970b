"""Store, publish and read process and dictionary documents.

Every write checks the whole document first and stores nothing when any
problem exists; each write is one transaction.
"""

from __future__ import annotations

import json
import threading

from formbuilder import (
    CompiledStep,
    DictionaryIndex,
    Problem,
    check_dictionary,
    check_process,
    check_shape,
    compiled_step,
)
from formbuilder.cache import draft_key

from .db import database
from .models import Dictionary, Process, ProcessVersion, utcnow
from .prepared import Prepared


class DocumentError(Exception):
    """A document was refused; ``problems`` lists every reason with its JSON path."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


_indexes: dict[str, tuple[tuple, DictionaryIndex]] = {}
_indexes_lock = threading.Lock()


def dictionary_indexes() -> dict[str, DictionaryIndex]:
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
    """Create or replace a dictionary from its document."""
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
    """Every problem of a process document against the stored dictionaries."""
    return check_process(document, dictionary_indexes())


def save_process(document: object, *, publish: bool = False, actor: str | None = None):
    """Save ``document`` as its process's draft and optionally publish it.

    Returns ``(process, version)``; version is None unless published.
    """
    problems = check(document)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        process = Process.get_or_none(Process.code == document["code"])
        if process is None:
            process = Process(code=document["code"])
        process.name, process.draft, process.draft_updated_at = document["name"], document, utcnow()
        process.save()
        return process, (_publish(process, actor) if publish else None)


def save_draft(document: dict) -> tuple[Process, list[Problem]]:
    """Save a draft the visual editor is building: well-formed, not yet necessarily publishable.

    A process is built a piece at a time (a step exists before any transition
    leads to it), so only the document's shape is enforced here; the static
    checks are returned for the editor to show and are enforced on publish.
    """
    problems = check_shape(document)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        process = Process.get_or_none(Process.code == document["code"]) or Process(code=document["code"])
        process.name, process.draft, process.draft_updated_at = document["name"], document, utcnow()
        process.save()
    return process, check(document)


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
    problems = check(process.draft)
    if problems:
        raise DocumentError(problems)
    with database.atomic():
        return _publish(process, actor)


def _latest_query(code: str):
    return (ProcessVersion.select(ProcessVersion, Process).join(Process).where(Process.code == code)
            .order_by(ProcessVersion.number.desc()).limit(1))


_LATEST = Prepared(_latest_query, str)  # every ticket created reads it: its SQL text is built once


def latest_version(code: str) -> ProcessVersion | None:
    return _LATEST.first(code)


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
