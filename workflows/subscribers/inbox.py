"""A user's own in-app notifications: which are theirs, how many are unread, and marking them read.

The /inbox pages and the API's /notifications both ask here, so "own" and
"read" mean the same on both; anyone else's notification is simply not found.
"""

from __future__ import annotations

from peewee import ModelSelect, fn

from workflows.storage.models import Notification, utcnow
from workflows.storage.prepared import Prepared

#: Ids past a 64-bit INTEGER cannot exist, and the SQLite driver would raise OverflowError on one.
MAX_ID = 2**63 - 1


def own(user_id: int) -> ModelSelect:
    return Notification.select().where(Notification.user == user_id)


_UNREAD = Prepared(lambda user_id: Notification.select(fn.COUNT(Notification.id))
                   .where(Notification.user == user_id, Notification.read_at.is_null()), int)


def unread_count(user_id: int) -> int:
    """The badge of every page's menu: its text is built once (issue 24)."""
    return _UNREAD.tuples(user_id)[0][0]


def mark_read(user_id: int, notification_id: int) -> bool:
    """Mark one of the user's notifications read, keeping its first read time; False if it is not theirs."""
    if notification_id > MAX_ID or not own(user_id).where(Notification.id == notification_id).exists():
        return False
    Notification.update(read_at=utcnow()).where(Notification.id == notification_id,
                                                Notification.read_at.is_null()).execute()
    return True


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of the user read; how many there were."""
    return (Notification.update(read_at=utcnow())
            .where(Notification.user == user_id, Notification.read_at.is_null()).execute())
