"""Working-time arithmetic over a calendar document (format 2's third kind), pure: no Flask, no database.

SLA due times, warnings, timeouts and report durations count the working time of a
step's calendar. Every datetime in and out is naive UTC, as the app stores them;
the calendar's ``timezone`` says where its working hours are on the clock.

A local date's working hours are decided in this order (docs/calendars.md):

1. ``open`` lists the date: the hours of the weekday it names in ``as``;
2. ``closed`` lists it: none;
3. ``holidays: "cn"`` and ``chinese_calendar`` knows the year: an official holiday has none,
   a make-up working day (补班) on a weekend has the hours of ``mon``, any other day its
   weekday's hours;
4. otherwise its weekday's hours (a year the library does not know counts weekends only).

Each date's intervals are computed once and kept in the object (a dict by date), so
thousands of due times over a year cost a few dictionary look-ups each.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAKEUP_WEEKDAY = 0  # a 补班 day on a weekend works the hours of Monday
HORIZON_DAYS = 3660  # this many days in a row without working time: the calendar has none left

Interval = tuple[datetime, datetime]
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta()


def minutes_of(text: str) -> int:
    """Minutes after midnight of ``"HH:MM"`` (``"24:00"`` is the end of the day)."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def known_year(year: int) -> bool:
    """Whether ``chinese_calendar`` knows that year's official holidays and make-up days."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except (NotImplementedError, ValueError):
        return False
    return True


class Always:
    """A calendar where every minute counts: the plain clock, for steps without one."""

    code = None

    def add(self, start: datetime, minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    def seconds_between(self, start: datetime, end: datetime) -> int:
        return max(0, int((end - start).total_seconds()))

    def unknown_years(self, first: int, last: int) -> list[int]:
        return []


ALWAYS = Always()


class WorkTime:
    """The working time of one calendar document; build it with :meth:`from_document`."""

    def __init__(self, code: str | None, timezone: str, hours: dict[int, list[tuple[int, int]]],
                 cn: bool, closed: set[date], opened: dict[date, int]):
        self.code = code
        self.zone = ZoneInfo(timezone)
        self.hours = hours
        self.cn = cn
        self.closed = closed
        self.opened = opened
        self._days: dict[date, tuple[list[Interval], timedelta]] = {}
        self._known: dict[int, bool] = {}

    @classmethod
    def from_document(cls, document: dict) -> WorkTime:
        """The calendar a checked document describes (``formbuilder.calendars.check_calendar``)."""
        hours = document.get("hours") or {}
        per_day = {i: [(minutes_of(a), minutes_of(b)) for a, b in hours.get(name) or []]
                   for i, name in enumerate(WEEKDAYS)}
        opened = {date.fromisoformat(o["date"]): WEEKDAYS.index(o["as"]) for o in document.get("open") or []}
        closed = {date.fromisoformat(d) for d in document.get("closed") or []}
        return cls(document.get("code"), document.get("timezone") or "UTC", per_day,
                   document.get("holidays") == "cn", closed, opened)

    # -- one date -------------------------------------------------------------------------------------

    def _known_year(self, year: int) -> bool:
        if year not in self._known:
            self._known[year] = known_year(year)
        return self._known[year]

    def weekday_of(self, day: date) -> int | None:
        """Whose hours ``day`` works (0 = mon .. 6 = sun), or None when it is off."""
        if day in self.opened:
            return self.opened[day]
        if day in self.closed:
            return None
        if self.cn and self._known_year(day.year):
            holiday, name = chinese_calendar.get_holiday_detail(day)
            if name is not None and holiday:
                return None  # an official holiday (or a weekday given off in lieu)
            if name is not None and day.weekday() >= 5:
                return MAKEUP_WEEKDAY  # 补班: a weekend the notice makes a working day
        return day.weekday()

    def _local(self, day: date, minutes: int) -> datetime:
        """Naive UTC of the wall-clock time ``minutes`` after local midnight of ``day``."""
        wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
        return wall.replace(tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)

    def _day(self, day: date) -> tuple[list[Interval], timedelta]:
        """The working intervals of local date ``day`` as naive UTC pairs, and their total, cached."""
        found = self._days.get(day)
        if found is None:
            weekday = self.weekday_of(day)
            spans = [] if weekday is None else self.hours.get(weekday, [])
            pairs = [(self._local(day, a), self._local(day, b)) for a, b in spans]
            found = self._days[day] = (pairs, sum((b - a for a, b in pairs), timedelta()))
        return found

    def intervals(self, day: date) -> list[Interval]:
        """The working intervals of local date ``day`` as naive UTC ``(start, end)`` pairs."""
        return self._day(day)[0]

    def local_date(self, moment: datetime) -> date:
        return moment.replace(tzinfo=UTC).astimezone(self.zone).date()

    # -- arithmetic -------------------------------------------------------------------------------------

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` of working time after ``start`` (outside hours: from the next working moment).

        The day of ``start`` (and the one before, for safety at midnight) are walked interval by
        interval; later days, which begin after ``start``, are skipped whole while their total
        does not reach what is left. When the calendar has no working time for
        :data:`HORIZON_DAYS` days in a row, the plain clock answers rather than searching forever.
        """
        left = timedelta(minutes=max(0.0, minutes))
        day = self.local_date(start) - timedelta(days=1)
        for _ in range(2):
            for begin, end in self._day(day)[0]:
                if end > start:
                    begin = max(begin, start)
                    if left <= end - begin:
                        return begin + left
                    left -= end - begin
            day += _ONE_DAY
        idle = 0
        while idle < HORIZON_DAYS:
            spans, total = self._day(day)
            idle = 0 if total else idle + 1
            if left <= total:
                return self._within(spans, left)
            left -= total
            day += _ONE_DAY
        return start + left

    @staticmethod
    def _within(spans: list[Interval], left: timedelta) -> datetime:
        """The instant ``left`` into a day's intervals (``left`` at most their total)."""
        for begin, end in spans:
            if left <= end - begin:
                return begin + left
            left -= end - begin
        return spans[-1][1]

    def _overlap(self, day: date, start: datetime, end: datetime) -> timedelta:
        total = timedelta()
        for begin, finish in self._day(day)[0]:
            overlap = min(finish, end) - max(begin, start)
            if overlap > _ZERO:
                total += overlap
        return total

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Working seconds in ``[start, end)``; 0 when ``end <= start``.

        The first and last local dates are cut to the range (a local date's intervals lie within
        that date, so no other date reaches across ``start`` or ``end``); the dates in between lie
        wholly inside it and count their cached totals.
        """
        if end <= start:
            return 0
        first, last = self.local_date(start), self.local_date(end)
        total = sum((self._overlap(day, start, end) for day in {first, last}), timedelta())
        day = first + _ONE_DAY
        while day < last:
            total += self._day(day)[1]
            day += _ONE_DAY
        return int(total.total_seconds())

    def unknown_years(self, first: int, last: int) -> list[int]:
        """Years in ``first..last`` whose official schedule is not known (only for ``holidays: "cn"``)."""
        if not self.cn:
            return []
        return [year for year in range(first, last + 1) if not self._known_year(year)]
