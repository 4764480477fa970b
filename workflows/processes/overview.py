"""The admin home's summary of every process: version, unpublished changes, open tickets, the draft's problems.

A few grouped queries for all processes at once; the draft's problems are the same static checks the
editor and publishing run (:func:`workflows.processes.documents.check`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from peewee import fn

from workflows.processes import calltypes, documents
from workflows.storage.models import Process, ProcessVersion, Ticket


@dataclass(frozen=True)
class ProcessSummary:
    code: str
    name: str
    latest_version: int  # 0: never published
    changed: bool  # the draft differs from the latest version (or was never published)
    open_tickets: int  # tickets not closed, of any version
    problems: int  # the draft's problems
    call_position: int | None  # 1-based place on the call page, None when not offered


def summaries() -> list[ProcessSummary]:
    """Every process by name, then code."""
    processes = sorted(Process.select(), key=lambda p: (p.name, p.code))
    latest, counts = _latest_documents(), _open_counts()
    positions = {process.code: place for place, process in enumerate(calltypes.offered(), start=1)}
    return [ProcessSummary(p.code, p.name, p.latest_version, _changed(p.draft, latest.get(p.id)),
                           counts.get(p.id, 0), len(documents.publish_problems(p.draft)) if p.draft is not None else 0,
                           positions.get(p.code)) for p in processes]


def _latest_documents() -> dict[int, dict]:
    query = (ProcessVersion.select(ProcessVersion.process, ProcessVersion.document).join(Process)
             .where(ProcessVersion.number == Process.latest_version))
    return {version.process_id: version.document for version in query}


def _open_counts() -> dict[int, int]:
    query = (Ticket.select(ProcessVersion.process, fn.COUNT(Ticket.id)).join(ProcessVersion)
             .where(Ticket.status != "closed").group_by(ProcessVersion.process))
    return dict(query.tuples())


def _changed(draft: dict | None, published: dict | None) -> bool:
    """Key order counts, as in publishing: reordering fields is a change."""
    if draft is None:
        return False
    if published is None:
        return True
    return json.dumps(draft, ensure_ascii=False) != json.dumps(published, ensure_ascii=False)
