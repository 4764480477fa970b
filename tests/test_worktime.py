"""Working-time arithmetic (workflows/calendars/worktime.py): pure, no database.

The 2026 days below are the State Council's notice as ``chinese_calendar`` 1.11 has it:
Spring Festival off 02-15..02-23 with make-up Saturdays 02-14 and 02-28; Mid-autumn off
09-25..09-27; National Day off 10-01..10-07 with make-up Sunday 09-20 and Saturday 10-10.
All instants are naive UTC; Shanghai is UTC+8 (09:00 there is 01:00 UTC).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from workflows.calendars.worktime import ALWAYS, WorkTime, known_year

ROOT = Path(__file__).resolve().parents[1]
DEMO = json.loads((ROOT / "workflows" / "demo" / "cn_workdays.calendar.json").read_text("utf-8"))
DAY = [["09:00", "12:00"], ["13:30", "18:00"]]  # 7.5 working hours


def calendar(**changes) -> WorkTime:
    doc = {"format": 2, "code": "t", "name": "t", "timezone": "Asia/Shanghai",
           "hours": {d: DAY for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []},
           "holidays": "cn"}
    return WorkTime.from_document(doc | changes)


def utc(text: str) -> datetime:
    """A Shanghai wall-clock time ``YYYY-MM-DD HH:MM`` as naive UTC."""
    return datetime.fromisoformat(text) - timedelta(hours=8)


CN = calendar()


def test_the_library_knows_2026_as_the_notice_says():
    """The days these tests rely on, asked of the library rather than assumed."""
    assert all(chinese_calendar.is_holiday(datetime(2026, 10, d).date()) for d in range(1, 8))
    assert chinese_calendar.is_workday(datetime(2026, 10, 10).date())  # Saturday
    assert chinese_calendar.is_workday(datetime(2026, 9, 20).date())   # Sunday
    assert all(chinese_calendar.is_holiday(datetime(2026, 2, d).date()) for d in range(15, 24))
    assert chinese_calendar.is_workday(datetime(2026, 2, 14).date())
    assert known_year(2026) and not known_year(2027)


def test_a_shanghai_morning_is_utc_night():
    assert CN.add(utc("2026-12-07 09:00"), 0) == datetime(2026, 12, 7, 1, 0)
    assert CN.add(utc("2026-12-07 07:00"), 30) == utc("2026-12-07 09:30")   # before hours: from 09:00
    assert CN.add(utc("2026-12-07 12:30"), 30) == utc("2026-12-07 14:00")   # lunch break skipped


def test_across_a_weekend():
    friday = utc("2026-12-04 17:00")
    assert CN.add(friday, 120) == utc("2026-12-07 10:00")
    assert CN.seconds_between(friday, utc("2026-12-07 10:00")) == 120 * 60
    assert CN.add(utc("2026-12-05 10:00"), 60) == utc("2026-12-07 10:00")  # from a Saturday


def test_national_day_2026_and_its_make_up_saturday():
    """Wednesday 09-30 17:00 + 2h: 10-01..07 are off, Thursday 10-08 09:00 + 1h."""
    assert CN.add(utc("2026-09-30 17:00"), 120) == utc("2026-10-08 10:00")
    # Friday 10-09 17:30 + 1h: Saturday 10-10 is a 补班 day with Monday's hours.
    assert CN.add(utc("2026-10-09 17:30"), 60) == utc("2026-10-10 09:30")
    assert CN.seconds_between(utc("2026-10-10 00:00"), utc("2026-10-11 00:00")) == 27000
    assert CN.seconds_between(utc("2026-09-30 00:00"), utc("2026-10-09 00:00")) == 2 * 27000


def test_make_up_sunday_before_national_day():
    assert CN.seconds_between(utc("2026-09-20 00:00"), utc("2026-09-21 00:00")) == 27000


def test_spring_festival_2026():
    """Friday 02-13 17:00 + 2h: Saturday 02-14 is 补班, so it ends there, not after the festival."""
    assert CN.add(utc("2026-02-13 17:00"), 120) == utc("2026-02-14 10:00")
    # Saturday 02-14 17:00 + 2h: 02-15..02-23 off, Tuesday 02-24.
    assert CN.add(utc("2026-02-14 17:00"), 120) == utc("2026-02-24 10:00")
    assert CN.seconds_between(utc("2026-02-15 00:00"), utc("2026-02-24 00:00")) == 0


def test_without_holidays_the_festival_is_ordinary():
    plain = calendar(holidays=None)
    assert plain.add(utc("2026-02-13 17:00"), 120) == utc("2026-02-16 10:00")  # Sat 14th off, Mon 16th works
    assert plain.unknown_years(2026, 2030) == []


def test_closed_and_open_days():
    cal = calendar(closed=["2026-12-07"], open=[{"date": "2026-12-05", "as": "fri"}])
    assert cal.add(utc("2026-12-04 17:00"), 120) == utc("2026-12-05 10:00")  # open Saturday
    assert cal.seconds_between(utc("2026-12-07 00:00"), utc("2026-12-08 00:00")) == 0
    assert cal.add(utc("2026-12-05 17:00"), 120) == utc("2026-12-08 10:00")


def test_open_day_borrows_the_named_weekdays_hours():
    cal = calendar(hours={"mon": [["10:00", "11:00"]], "fri": DAY}, open=[{"date": "2026-12-06", "as": "mon"}])
    assert cal.seconds_between(utc("2026-12-06 00:00"), utc("2026-12-07 00:00")) == 3600


def test_an_unknown_year_counts_weekends_only_and_says_so():
    """2027 New Year's Day (a Friday) is not known: it counts as a working day."""
    assert CN.unknown_years(2025, 2028) == [2027, 2028]
    assert CN.seconds_between(utc("2027-01-01 00:00"), utc("2027-01-02 00:00")) == 27000
    assert CN.add(utc("2027-01-01 17:00"), 120) == utc("2027-01-04 10:00")


def test_the_demo_calendar_closes_new_years_eve_and_opens_a_saturday():
    cal = WorkTime.from_document(DEMO)
    assert cal.seconds_between(utc("2026-12-31 00:00"), utc("2027-01-01 00:00")) == 0
    assert cal.seconds_between(utc("2027-01-02 00:00"), utc("2027-01-03 00:00")) == 27000


def test_seconds_between_edges():
    start = utc("2026-12-07 10:00")
    assert CN.seconds_between(start, start) == 0
    assert CN.seconds_between(start, start - timedelta(hours=1)) == 0
    assert CN.seconds_between(utc("2026-12-07 11:59:30"), utc("2026-12-07 13:30:30")) == 60


@pytest.mark.parametrize("minutes", [0, 1, 30, 450, 451, 1440, 10000])
def test_add_and_seconds_between_agree(minutes):
    for start in (utc("2026-09-18 16:00"), utc("2026-02-12 12:10"), utc("2026-12-31 23:00")):
        due = CN.add(start, minutes)
        assert CN.seconds_between(start, due) == minutes * 60
        assert CN.add(start, minutes / 2) <= due


def test_a_daylight_saving_zone_keeps_wall_clock_hours():
    berlin = calendar(timezone="Europe/Berlin", holidays=None)
    assert berlin.add(datetime(2026, 3, 27, 16, 0), 120) == datetime(2026, 3, 30, 8, 0)   # CET -> CEST
    assert berlin.add(datetime(2026, 1, 5, 7, 0), 60) == datetime(2026, 1, 5, 9, 0)


def test_a_calendar_without_any_hours_falls_back_to_the_clock():
    empty = WorkTime.from_document({"timezone": "UTC", "hours": {}})
    start = datetime(2026, 1, 1)
    assert empty.add(start, 60) == start + timedelta(hours=1)


def test_always_counts_every_minute():
    start = datetime(2026, 10, 1, 3, 0)
    assert ALWAYS.add(start, 90) == start + timedelta(minutes=90)
    assert ALWAYS.seconds_between(start, start + timedelta(days=2)) == 172800
    assert ALWAYS.seconds_between(start, start - timedelta(days=2)) == 0
    assert ALWAYS.unknown_years(2020, 2030) == []


def test_ten_thousand_due_times_are_fast():
    import random
    import time

    rng = random.Random(7)
    cal = calendar()
    starts = [datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(525600)) for _ in range(10000)]
    began = time.perf_counter()
    for start in starts:
        cal.add(start, rng.randint(30, 1440))
    assert time.perf_counter() - began < 1.5


def brute_seconds(cal: WorkTime, start: datetime, end: datetime) -> int:
    """Working seconds by walking every minute (starts and ends on whole minutes)."""
    zone, count, moment = cal.zone, 0, start
    while moment < end:
        local = moment.replace(tzinfo=UTC).astimezone(zone)
        weekday = cal.weekday_of(local.date())
        spans = [] if weekday is None else cal.hours.get(weekday, [])
        count += any(a <= local.hour * 60 + local.minute < b for a, b in spans)
        moment += timedelta(minutes=1)
    return count * 60


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_against_a_minute_by_minute_walk(zone):
    """Random whole-minute ranges around 2026's holidays and Berlin's clock changes, checked the slow way."""
    import random

    rng = random.Random(zone)
    cal = calendar(timezone=zone, closed=["2026-03-30"], open=[{"date": "2026-10-25", "as": "wed"}])
    for _ in range(12):
        start = datetime(2026, rng.choice([2, 3, 9, 10]), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59))
        end = start + timedelta(minutes=rng.randint(0, 4 * 1440))
        assert cal.seconds_between(start, end) == brute_seconds(cal, start, end), (start, end)
        minutes = rng.randint(0, 1500)
        due = cal.add(start, minutes)
        assert brute_seconds(cal, start, due) == minutes * 60 and (minutes == 0 or cal.add(start, minutes - 1) < due)
