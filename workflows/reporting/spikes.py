"""Spike alerts (issue 23, seed "某型号设备工单量突增200%"; docs/insight.md).

A *watch* names a process and one of its dictionary fields. When a value's tickets created in the
current local (+08:00) week rise more than ``share`` percent over its average of the ``weeks``
full weeks before (default +200 %: more than three times the average), and the week holds at
least ``min_count`` of them (so 1 -> 4 does not alert), every active supervisor who may read the
field gets one in-app notification (kind ``spike``). A :class:`SpikeAlert` row with a unique
(process, field, value, week) is written first, in the same transaction, so each spike notifies
once however often the sweep runs (the worker runs it with the SLA sweep, ``worker --sla``).

The watches are an admin setting (``insight.spikes``), not a document key, so process documents
and their meta-schema stay as they are: ``{"<process code>": [{"field": "model", "share": 200,
"weeks": 4, "min_count": 10}]}``; a malformed entry is ignored.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from peewee import IntegrityError

from workflows.i18n import cli_gettext
from workflows.processes import documents as docs
from workflows.reporting import reportsql as sql
from workflows.reporting.heatmap import dictionary_fields, grouped, latest_version, readable_versions
from workflows.storage import settings
from workflows.storage.db import database
from workflows.storage.models import Notification, SpikeAlert, User, utcnow
from workflows.tickets import access

KEY = "insight.spikes"
log = logging.getLogger(__name__)
LIMITS = {"share": (1, 10000), "weeks": (1, 12), "min_count": (1, 100000)}


@dataclass(frozen=True)
class Watch:
    process: str
    field: str
    share: int = 200  # percent over the average: 200 means "more than 3x"
    weeks: int = 4
    min_count: int = 10


def watches() -> list[Watch]:
    """The configured watches; malformed entries are left out (and logged)."""
    stored = settings.get(KEY, {})
    found = []
    for process, entries in (stored.items() if isinstance(stored, dict) else ()):
        for entry in entries if isinstance(entries, list) else ():
            try:
                found.append(_watch(process, entry))
            except (TypeError, ValueError) as error:
                log.warning("insight.spikes: %s entry %r ignored: %s", process, entry, error)
    return found


def _watch(process: str, entry: dict) -> Watch:
    watch = Watch(process, **entry)
    if not isinstance(watch.field, str) or not watch.field:
        raise ValueError("field")
    for name, (low, high) in LIMITS.items():
        value = getattr(watch, name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(name)
    return watch


def set_watch(process: str, field: str, config: dict | None, actor: User | None) -> None:
    """Watch ``field`` of ``process`` with ``config`` (share, weeks, min_count), or stop (None); audited."""
    stored = settings.get(KEY, {})
    stored = dict(stored) if isinstance(stored, dict) else {}
    kept = [e for e in stored.get(process, []) if isinstance(e, dict) and e.get("field") != field]
    if config is not None:
        entry = asdict(_watch(process, {"field": field, **config}))
        entry.pop("process")
        kept.append(entry)
    stored = {**stored, process: kept} if kept else {k: v for k, v in stored.items() if k != process}
    settings.put(KEY, stored, actor)


def watch_of(process: str, field: str) -> Watch | None:
    return next((w for w in watches() if w.process == process and w.field == field), None)


@dataclass(frozen=True)
class Spike:
    watch: Watch
    value: str
    week: str
    count: int
    average: float


def spikes(watch: Watch, today: date) -> list[Spike]:
    """The values of ``watch``'s field that rise in the week of local ``today`` (counted by the database)."""
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=watch.weeks)
    versions = readable_versions(None, watch.process, watch.field)
    current: dict[str, int] = {}
    before: dict[str, int] = {}
    for week, value, n in grouped([], versions, watch.field, first, today):
        counts = current if week == monday.isoformat() else before
        counts[value] = counts.get(value, 0) + n
    return [Spike(watch, value, monday.isoformat(), n, before.get(value, 0) / watch.weeks)
            for value, n in sorted(current.items())
            if n >= watch.min_count and n * 100 * watch.weeks > before.get(value, 0) * (100 + watch.share)]


def sweep(now: datetime | None = None) -> list[Spike]:
    """Check every watch and notify each new spike once; what was notified."""
    today = ((now or utcnow()) + sql.LOCAL_OFFSET).date()
    fired = []
    for watch in watches():
        try:
            found = spikes(watch, today)
        except Exception:  # noqa: BLE001 - one broken watch (a renamed field) must not stop the others
            log.exception("spike check of %s.%s failed", watch.process, watch.field)
            continue
        fired += [spike for spike in found if _notify_once(spike)]
    return fired


def _notify_once(spike: Spike) -> bool:
    """Record the spike and notify, in one transaction; False when it was already notified."""
    average = f"{spike.average:.1f}"
    try:
        with database.atomic():
            SpikeAlert.create(process=spike.watch.process, field=spike.watch.field, value=spike.value,
                              week=spike.week, count=spike.count, average=average)
            _notify(spike, average)
    except IntegrityError:
        return False
    return True


def _notify(spike: Spike, average: str) -> None:
    """One ``spike`` notification to each active supervisor who may read the field."""
    version = latest_version(spike.watch.process)
    if version is None:
        return
    field = dictionary_fields(version.document["schema"]).get(spike.watch.field)
    title = field.title if field else spike.watch.field
    label = _label(field.dictionary if field else "", spike.value)
    lang = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh") if has_app_context() else "zh"
    message = cli_gettext(lang)(
        "Spike: %(process)s, %(field)s = %(value)s: %(count)s tickets in the week of %(week)s, "
        "more than %(share)s%% over the average of %(average)s in the %(weeks)s weeks before.") % {
        "process": version.document.get("name") or spike.watch.process, "field": title, "value": label,
        "count": spike.count, "week": spike.week, "share": spike.watch.share, "average": average,
        "weeks": spike.watch.weeks}
    for user in User.select().where(User.role == "supervisor", User.active == True):  # noqa: E712
        if spike.watch.field not in access.unreadable(user, version):
            Notification.create(user=user, ticket=None, kind="spike", message=message)


def _label(dictionary: str, value: str) -> str:
    index = docs.dictionary_indexes().get(dictionary)
    item = index.items.get(value) if index is not None else None
    return item.label if item else value
