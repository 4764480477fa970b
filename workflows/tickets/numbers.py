"""Ticket numbers: PREFIX + YYYYMMDD + a daily sequence of at least 4 digits.

One counter row per (prefix, day), taken with one upsert that returns the new
value. Inside the creating transaction it locks the row (PostgreSQL) or the
database (SQLite, BEGIN IMMEDIATE), so concurrent creations get distinct
numbers; a rolled-back creation may leave a gap, which is allowed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from formbuilder.fieldtypes import LOCAL_TZ
from workflows.storage.models import TicketSequence
from workflows.storage.prepared import Prepared


def _take(prefix: str, day: str):
    return (TicketSequence.insert(prefix=prefix, day=day, value=1)
            .on_conflict(conflict_target=[TicketSequence.prefix, TicketSequence.day],
                         update={TicketSequence.value: TicketSequence.value + 1})
            .returning(TicketSequence.value))


TAKE = Prepared(_take, str, str)


def next_number(prefix: str, moment: datetime) -> str:
    """Take the next number for ``prefix`` on the local day of ``moment`` (UTC, naive)."""
    day = moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ).strftime("%Y%m%d")
    ((value,),) = TAKE.tuples(prefix, day)
    return f"{prefix}{day}{value:04d}"
