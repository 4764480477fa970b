"""The files of an action: uploads stored inside the engine's transaction, attachment keys claimed and linked.

Attachment fields and the attachment cells of detail tables (``parts/2/photo``) follow one rule:
every upload is checked first (``uploads.problems``), stored inside ``uploads.action`` (a failed
action deletes them again), and a key named in the data must be the actor's own unlinked upload
or already this ticket's; it is linked under its field (a cell's: its table).
"""

from __future__ import annotations

from formbuilder import Msg, tables
from formbuilder.messages import N_
from workflows.storage import uploads
from workflows.storage.models import Attachment, Ticket, User


def store(spec, actor: User, files: dict | None, before: dict, data: dict) -> tuple[dict, dict]:
    """The submitted files stored (inside the action: a failure deletes them), their keys after the kept ones.

    Returns the data with the keys, and the problems of the files that were not stored: every
    file is checked first (one upload rule, :func:`uploads.problems`), so all are reported at once.
    """
    if not files:
        return data, {}
    problems = uploads.problems(spec, files)
    for name, batch in files.items():
        if name not in problems:
            keys = [uploads.store(actor, upload, spec.file_schema(name), name).key for upload in batch]
            data = spec.with_files(data, name, keys, before)
    return data, problems


def claim(spec, actor: User, ticket: Ticket, before: dict, after: dict, errors: dict) -> list:
    """New attachment keys, in fields and in tables' attachment cells, must be the actor's own unlinked
    uploads (or already this ticket's); each is linked under its field (a cell's: its table)."""
    claimed = []
    for name in spec.attachments:
        if name not in errors:  # a value of the wrong shape is refused already
            new = set(after.get(name) or []) - set(before.get(name) or [])
            claimed += _claim(actor, ticket, name, name, spec.fields[name].schema, new, errors)
    for name, cols in spec.file_tables.items():
        old = tables.cell_keys(before.get(name), cols)
        for slot in _file_cells(name, cols, after.get(name)):
            if slot not in errors:
                new = set(_cell(after, slot)) - old
                claimed += _claim(actor, ticket, slot, name, spec.file_schema(slot), new, errors)
    return claimed


def _file_cells(name: str, cols: tuple[str, ...], rows) -> list[str]:
    return [tables.cell(name, i, c) for i, row in enumerate(rows if isinstance(rows, list) else [])
            for c in cols if isinstance(row, dict) and isinstance(row.get(c), list)]


def _cell(data: dict, slot: str) -> list:
    table, index, column = tables.split(slot)
    return [key for key in data[table][index][column] if isinstance(key, str)]


def _claim(actor: User, ticket: Ticket, slot: str, field: str, schema: dict, new: set, errors: dict) -> list:
    rows = list(Attachment.select().where(Attachment.key.in_(new))) if new else []
    mine = [a for a in rows if a.uploaded_by_id == actor.id and a.ticket_id in (None, ticket.id)]
    problems = [Msg(N_("Not a valid attachment."))] if len(mine) != len(new) else []
    problems += filter(None, (uploads.fits(a, schema) for a in mine))  # its type and size, here
    if problems:
        errors.setdefault(slot, []).extend(problems)
    return [(a, field) for a in mine]


def link(claimed: list, ticket: Ticket) -> None:
    for attachment, name in claimed:
        Attachment.update(ticket=ticket, field=name).where(Attachment.id == attachment.id).execute()
