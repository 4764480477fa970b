"""One step submission for every page that posts a step form: the call page, the ticket page, the web form.

The view reads the form (WTForms, here and nowhere below), takes the uploaded
files out of the values, and hands both to one engine call, which stores the
files inside its own transaction (``engine.create`` / ``engine.act`` with
``files=``). What the engine refuses comes back onto the form, field by field;
what belongs to no field of the form becomes the page's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext
from werkzeug.datastructures import CombinedMultiDict

from formbuilder import Msg, Outcome
from workflows.processes import documents as docs
from workflows.storage import uploads
from workflows.tickets.errors import EngineError, Forbidden, Invalid


@dataclass
class Submission:
    """A posted step form: the WTForms instance, its values without files, the files, what is wrong so far."""

    form: Any
    current: dict
    data: dict
    files: dict[str, list]
    errors: dict[str, list[Msg]]
    message: str = ""
    status: int = 422

    def placeholders(self) -> dict:
        """The values with each uploaded file standing in as a placeholder key, for checks before the engine."""
        return {**self.data, **self.form.spec.stand_ins(self.files, "upload")}

    def refuse(self, errors: dict[str, list[Msg]], message: Msg | None = None) -> None:
        """Show ``errors`` at their fields; those of no field of the form join the message."""
        mine = {k: v for k, v in errors.items() if k in self.form}
        self.form.show_outcome(Outcome({**self.current, **self.placeholders()}, mine), gettext)
        parts = [message.render(gettext)] if message else []
        parts += [m.render(gettext) for k, v in errors.items() if k not in self.form for m in v]
        self.message = " ".join(parts)


def read(compiled, current: dict) -> Submission:
    """Bind the posted form to ``compiled``'s class; split off the files; find conversion and file problems."""
    formdata = CombinedMultiDict([request.files, request.form])
    form = compiled.form_class(formdata, data=current, dictionaries=docs.dictionary_indexes())
    data = form.submitted(formdata)
    files = compiled.spec.take_files(data)
    errors = {**uploads.problems(compiled.spec, files), **form.input_errors()}
    return Submission(form, current, data, files, errors)


def submit(compiled, current: dict, run: Callable[[dict, dict], Any], check: Callable[[Submission], dict] | None = None,
           ready: bool = True, refusals: tuple[type[EngineError], ...] = (Invalid,)) -> tuple[Any, Submission]:
    """``run(data, files)`` (one engine call) unless something is wrong already; (its result or None, submission).

    ``check`` adds the page's own problems found before the engine, and ``ready`` is False when
    another part of the page (the web form's contact) is wrong: all are shown at once. The engine's
    ``refusals`` come back on the page (status in ``submission.status``); a 403 is the view's.
    """
    submission = read(compiled, current)
    errors = {**(check(submission) if check else {}), **submission.errors}
    if errors or not ready:
        submission.refuse(errors)
        return None, submission
    try:
        return run(submission.data, submission.files), submission
    except Forbidden:
        raise
    except refusals as error:
        submission.refuse(error.fields, error.msg)
        submission.status = error.status
        return None, submission
