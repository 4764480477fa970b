"""What several admin record screens share: reading an id from a path, and answering a "retry now"."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user


def number(text: str) -> int:
    """Ids arrive as plain path segments (not ``<int:>``), so a malformed one meets the access rule, then 404."""
    return int(text) if text.isascii() and text.isdigit() else abort(404)


def retry_row(model, row_id: str, audited, said: tuple[str, str], endpoint: str, **args):
    """The "retry now" of an outbox row (e-mail, webhook delivery): ask ``audited``, say which of
    ``said`` (queued, busy) happened, back to the log."""
    row = model.get_or_none(model.id == number(row_id)) or abort(404)
    done = audited(current_user.user, row)
    flash(said[0] if done else said[1], "success" if done else "warning")
    return redirect(url_for(endpoint, **args))
