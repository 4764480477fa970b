"""Dates, instants and numbers as people type them and as tickets store them.

A date is stored as an RFC 3339 full-date, an instant as an RFC 3339 date-time with its zone;
the browser types local times without a zone (:data:`LOCAL_TZ`). Both are bounded to
:data:`YEARS`, so every page can show what was accepted. The WTForms number and date fields here
read an empty input as no value (WTForms' own refuse it as a bad number or date).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from rfc3339_validator import validate_rfc3339
from wtforms import fields

from .messages import N_

#: Date-times typed in the browser carry no zone; they are stored with this one.
LOCAL_TZ = timezone(timedelta(hours=8))
#: The years a ``date`` or ``date-time`` field may hold (an instant's year in UTC). Python's
#: datetime ends at year 9999: an accepted 9999-12-31T23:00-10:00 could not even be shown.
YEARS = (1900, 2999)
DATE_MESSAGES = {
    "date": N_("Not a valid date (years 1900 to 2999)."),
    "date-time": N_("Not a valid date and time (years 1900 to 2999)."),
}


_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _in_years(moment: date) -> bool:
    return YEARS[0] <= moment.year <= YEARS[1]


def is_date(value: Any) -> bool:
    """``format: date``: a full-date (RFC 3339) within :data:`YEARS`; other types are the schema's business."""
    if not isinstance(value, str):
        return True
    try:
        return bool(_FULL_DATE.fullmatch(value)) and _in_years(date.fromisoformat(value))
    except ValueError:
        return False


def is_datetime(value: Any) -> bool:
    """``format: date-time``: RFC 3339, readable by Python (no leap second), its UTC year within :data:`YEARS`."""
    if not isinstance(value, str):
        return True
    try:
        return validate_rfc3339(value.upper()) and _in_years(datetime.fromisoformat(value.upper()).astimezone(UTC))
    except (ValueError, OverflowError):
        return False


#: What the validator checks ``format: date`` and ``date-time`` with (FormatChecker.checkers entries).
DATE_FORMATS = {"date": (is_date, ()), "date-time": (is_datetime, ())}


class Unreadable(str):
    """A stored value a date field cannot hold (one stored before the bound): the form shows it as stored.

    WTForms formats a date field's data with ``strftime``; this text answers with itself.
    """

    def strftime(self, format: str) -> str:
        return str(self)


def date_in(value: Any) -> Any:
    """The stored date for the form; text it cannot read stays text."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        return Unreadable(value)


def local_moment(value: str) -> datetime:
    """A stored instant as naive local time; ValueError for one Python cannot hold (e.g. past year 9999 here)."""
    try:
        moment = datetime.fromisoformat(value.upper())  # RFC 3339 allows a lower-case t and z
        return moment.astimezone(LOCAL_TZ).replace(tzinfo=None) if moment.tzinfo is not None else moment
    except OverflowError:
        raise ValueError(f"out of range: {value!r}") from None


def datetime_in(value: Any) -> Any:
    """The stored instant for the form, in local time; text it cannot read stays text."""
    if not isinstance(value, str):
        return value
    try:
        return local_moment(value)
    except ValueError:
        return Unreadable(value)


def datetime_out(value: Any) -> Any:
    return value.replace(tzinfo=LOCAL_TZ).isoformat() if value else None


class _BlankIsNone:
    """An input left empty is no value (``validation.is_empty``), not a number or date that failed to read.

    WTForms' number and date fields refuse "": an optional number or date left blank, or a blank
    cell in a table, would be "not a valid number" instead of empty.
    """

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str) and not valuelist[0].strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class FloatField(_BlankIsNone, fields.FloatField):
    """A number field: a whole number typed as such ("1200", "1200.00") is stored as one (1200, not 1200.0)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, float) and self.data.is_integer() and abs(self.data) < 2 ** 53:
            self.data = int(self.data)


class IntegerField(_BlankIsNone, fields.IntegerField):
    pass


class DateField(_BlankIsNone, fields.DateField):
    pass


class DateTimeLocalField(_BlankIsNone, fields.DateTimeLocalField):
    pass
