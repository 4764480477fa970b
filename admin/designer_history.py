"""Undo and redo in the designer, from the drafts each designer edit records (:class:`DraftEdit`).

Every designer edit records, in its own transaction, the draft before and after it (verbatim
text: the order of fields is part of a draft). The page keeps the ids of its own edits
(``undo``) and of the edits it undid (``redo``); undoing puts an edit's ``before`` back,
redoing its ``after``, each as a new audited edit. Nothing lives on the server between
requests but those rows, and an undo is refused (409) when the draft is no longer what that
edit left, so one admin never undoes another's work.
"""

from __future__ import annotations

import json

from flask_login import current_user

from workflows.processes import documents as docs
from workflows.processes import draftedits
from workflows.storage.models import DraftEdit

from .editor import Stale, revision

KEEP = 50  # edits a page can undo


class NothingTo(Exception):
    """The stack is empty (or names an edit that is not this admin's on this process)."""


def ids(text: str | None) -> list[int]:
    return [int(part) for part in (text or "").split(",") if part.isdigit()][-KEEP:]


def joined(stack: list[int]) -> str:
    return ",".join(str(i) for i in stack[-KEEP:])


def record(code: str, before: dict, after: dict) -> int:
    return draftedits.record(code, current_user.user, before, after)


def pushed(undo: str | None, edit_id: int) -> str:
    """The undo stack with the edit this request just made on top."""
    return joined([*ids(undo), edit_id])


def _text(document: object) -> str:
    return json.dumps(document, ensure_ascii=False)


def _edit(code: str, stack: list[int]) -> DraftEdit:
    if not stack:
        raise NothingTo
    edit = draftedits.mine(stack[-1], code, current_user.user)
    if edit is None:
        raise NothingTo
    return edit


def _put_back(code: str, form, expected: dict, wanted: dict, action: str) -> None:
    """The draft becomes ``wanted`` if it is still ``expected`` and the page is fresh, else :class:`Stale`."""
    def fresh(before: dict) -> None:
        if form.get("rev") != revision(before) or _text(before) != _text(expected):
            raise Stale

    docs.edit_draft(code, current_user.user, action, lambda _: wanted, fresh)


def undo(code: str, form) -> tuple[str, str]:
    stack, later = ids(form.get("undo")), ids(form.get("redo"))
    edit = _edit(code, stack)
    _put_back(code, form, edit.after, edit.before, "process.undo")
    return joined(stack[:-1]), joined([*later, edit.id])


def redo(code: str, form) -> tuple[str, str]:
    stack, later = ids(form.get("undo")), ids(form.get("redo"))
    edit = _edit(code, later)
    _put_back(code, form, edit.before, edit.after, "process.redo")
    return joined([*stack, edit.id]), joined(later[:-1])
