"""Ticket numbers: PREFIX + YYYYMMDD + a daily sequence of at least 4 digits.

One counter row per (prefix, day). Incrementing it inside the creating
transaction locks the row (PostgreSQL) or the database (SQLite, BEGIN
IMMEDIATE), so concurrent creations get distinct numbers; a rolled-back
creation may leave a gap, which is allowed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from formbuilder.fieldtypes import LOCAL_TZ

from .models import TicketSequence


def next_number(prefix: str, moment: datetime) -> str:
    """Take the next number for ``prefix`` on the local day of ``moment`` (UTC, naive)."""
    day = moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ).strftime("%Y%m%d")
    TicketSequence.insert(prefix=prefix, day=day, value=0).on_conflict_ignore().execute()
    (TicketSequence.update(value=TicketSequence.value + 1)
     .where(TicketSequence.prefix == prefix, TicketSequence.day == day).execute())
    value = (TicketSequence.select(TicketSequence.value)
             .where(TicketSequence.prefix == prefix, TicketSequence.day == day).scalar())
    return f"{prefix}{day}{value:04d}"
