"""Password logins with lockout: too many recent failures lock a username, or an address, for a while.

The app runs as several workers on several hosts, so the attempts live in the
``login_attempt`` table, not in a process. A username is locked whatever the
address (a slow guess spread over many machines), an address whatever the
username (one machine trying many accounts). Unknown usernames are counted and
locked exactly like real ones, so a lockout never tells whether a user exists.

The failure that reaches a limit is marked (``locks_username``, ``locks_ip``):
the lock lasts from it, locked attempts are not recorded, and the failures up
to it are spent, so the first failure after a lock does not lock again.

Two racing guesses may both pass the check before either is recorded: the limit
can be overshot by the number of concurrent requests, never more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from formbuilder.messages import N_, Msg
from workflows.people.org import authenticate
from workflows.storage.db import database
from workflows.storage.models import LoginAttempt, User, utcnow

KEY_LENGTH = 64
_FAILED = LoginAttempt.succeeded == False  # noqa: E712


@dataclass(frozen=True)
class Limits:
    """How many failures within ``window`` lock a username or an address, and for how long."""

    max_failures: int = 5
    ip_max_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    retention: timedelta = timedelta(days=1)

    @classmethod
    def from_config(cls, config: Mapping) -> Limits:
        """The app's ``LOGIN_*`` settings (seconds for the durations); defaults for the missing ones."""
        base = cls()
        return cls(max_failures=int(config.get("LOGIN_MAX_FAILURES", base.max_failures)),
                   ip_max_failures=int(config.get("LOGIN_IP_MAX_FAILURES", base.ip_max_failures)),
                   window=_seconds(config.get("LOGIN_FAILURE_WINDOW"), base.window),
                   lockout=_seconds(config.get("LOGIN_LOCKOUT"), base.lockout))

    @property
    def kept(self) -> timedelta:
        """How long attempts are kept: a day, or longer if a lock could look further back."""
        return max(self.retention, self.window + self.lockout)


DEFAULT = Limits()


def _seconds(value: object, default: timedelta) -> timedelta:
    return default if value is None else timedelta(seconds=float(value))


class LoginLocked(Exception):
    """Logins for this username or from this address are refused until ``until``."""

    def __init__(self, until: datetime, now: datetime):
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        minutes = math.ceil(self.retry_after / 60)
        self.msg = (Msg(N_("Too many failed logins. Try again in 1 minute.")) if minutes == 1 else
                    Msg(N_("Too many failed logins. Try again in %(minutes)s minutes."), {"minutes": minutes}))
        super().__init__(str(self.msg))


def now() -> datetime:
    """The clock of this module (tests move it forward)."""
    return utcnow()


def key(username: str) -> str:
    """The counted form of a username: case and surrounding spaces do not make a new one."""
    return (username or "").strip().lower()[:KEY_LENGTH]


def attempt(username: str, password: str, ip: str | None, limits: Limits = DEFAULT) -> User | None:
    """The user if the password is right; None if not. Raises :class:`LoginLocked` while locked,
    even for the right password, without checking it. Every checked attempt is recorded."""
    with database.atomic():
        check(username, ip, limits)
        user = authenticate(username, password)
        record(username, ip, user is not None, limits)
    return user


def check(username: str, ip: str | None, limits: Limits = DEFAULT) -> None:
    """Raise :class:`LoginLocked` if this username or this address is locked now."""
    moment = now()
    ends = [_lock_end(LoginAttempt.username == key(username), LoginAttempt.locks_username, moment, limits),
            _lock_end(LoginAttempt.ip == _ip(ip), LoginAttempt.locks_ip, moment, limits)]
    until = max(filter(None, ends), default=None)
    if until is not None:
        raise LoginLocked(until, moment)


def record(username: str, ip: str | None, succeeded: bool, limits: Limits = DEFAULT) -> None:
    """Store one attempt (a failure that reaches a limit starts its lock) and prune those too old to matter."""
    moment, name, address = now(), key(username), _ip(ip)
    LoginAttempt.delete().where(LoginAttempt.created_at < moment - limits.kept).execute()
    locks_username = not succeeded and _reaches(LoginAttempt.username == name, LoginAttempt.locks_username,
                                                 limits.max_failures, moment, limits)
    locks_ip = not succeeded and _reaches((LoginAttempt.ip == address) & _FAILED, LoginAttempt.locks_ip,
                                          limits.ip_max_failures, moment, limits)
    LoginAttempt.create(username=name, ip=address, succeeded=succeeded, created_at=moment,
                        locks_username=locks_username, locks_ip=locks_ip)


def _ip(ip: str | None) -> str:
    return (ip or "unknown")[:KEY_LENGTH]


def _lock_end(where, flag, moment: datetime, limits: Limits) -> datetime | None:
    """The end of the key's lock in force, if any: the newest failure that started one, within the lockout.

    Looked up by its mark, not as the key's newest row: a guess racing the one that
    started the lock may be recorded after it, and must not lift it.
    """
    row = (LoginAttempt.select(LoginAttempt.created_at)
           .where(where, flag == True, LoginAttempt.created_at > moment - limits.lockout)  # noqa: E712
           .order_by(LoginAttempt.created_at.desc()).first())
    return None if row is None else row.created_at + limits.lockout


def _reaches(where, flag, most: int, moment: datetime, limits: Limits) -> bool:
    """Whether one more failure now makes ``most`` within the window, counting back to the last lock
    (its failures are spent) or a right password (it ends the run; addresses count failures only, so
    one known account cannot reset the guesses at others)."""
    if most < 1:
        return False
    rows = (LoginAttempt.select(LoginAttempt.succeeded, flag)
            .where(where, LoginAttempt.created_at >= moment - limits.window)
            .order_by(LoginAttempt.created_at.desc(), LoginAttempt.id.desc()).limit(most - 1).tuples())
    count = 1
    for succeeded, locked in rows:
        if succeeded or locked:
            break
        count += 1
    return count >= most
