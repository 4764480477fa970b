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

from flask import abort, jsonify, request
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import CombinedMultiDict

from formbuilder import Msg, Outcome
from workflows.people import roster
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
        return self.form.spec.stand_ins(self.data, self.files, "upload")

    def refuse(self, errors: dict[str, list[Msg]], message: Msg | None = None) -> None:
        """Show ``errors`` at their fields; those of no field of the form join the message."""
        mine = {k: v for k, v in errors.items() if k.split("/")[0] in self.form}  # a table's cell: parts/2/qty
        self.form.show_outcome(Outcome({**self.current, **self.placeholders()}, mine), gettext)
        parts = [message.render(gettext)] if message else []
        parts += [m.render(gettext) for k, v in errors.items() if k not in mine for m in v]
        self.message = " ".join(parts)


def read(compiled, current: dict, unreadable: frozenset[str] = frozenset()) -> Submission:
    """Bind the posted form to ``compiled``'s class; split off the files; find conversion and file problems.

    ``unreadable``: the fields the submitter may not read (``access.unreadable``), left out of the page again.
    """
    formdata = CombinedMultiDict([request.files, request.form])
    staff = roster.with_people if current_user.is_authenticated else dict  # the public web form lists no staff
    form = compiled.form_class(formdata, data=current, dictionaries=staff(docs.dictionary_indexes()),
                               unreadable=unreadable)
    data = form.submitted(formdata)
    files = compiled.spec.take_files(data)
    errors = {**uploads.problems(compiled.spec, files), **form.input_errors()}
    return Submission(form, current, data, files, errors)


def submit(compiled, current: dict, run: Callable[[dict, dict], Any], check: Callable[[Submission], dict] | None = None,
           ready: bool = True, refusals: tuple[type[EngineError], ...] = (Invalid,),
           unreadable: frozenset[str] = frozenset()) -> tuple[Any, Submission]:
    """``run(data, files)`` (one engine call) unless something is wrong already; (its result or None, submission).

    ``check`` adds the page's own problems found before the engine, and ``ready`` is False when
    another part of the page (the web form's contact) is wrong: all are shown at once. The engine's
    ``refusals`` come back on the page (status in ``submission.status``); a 403 is the view's.
    ``unreadable`` as for :func:`read`; the engine refuses those fields itself.
    """
    submission = read(compiled, current, unreadable)
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


def preview(compiled, current: dict, ask: Callable[[dict], dict], unreadable: frozenset[str] = frozenset()):
    """The live preview's answer: the posted form bound as a submission would be (files left out), the
    computed fields ``ask(values)`` returns (``workflows.tickets.preview``), as JSON; 403 if refused."""
    form = compiled.form_class(request.form, data=current, dictionaries=roster.with_people(docs.dictionary_indexes()),
                               unreadable=unreadable)
    values = form.submitted(request.form)
    compiled.spec.take_files(values)
    try:
        fields = ask(values)
    except Forbidden:
        abort(403)
    return jsonify({"fields": fields})
