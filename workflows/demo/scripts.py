"""The shape of a sample ticket's script (``samples.py``, ``samples_it.py``), played by ``tickets.py``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """One action after the creation: an engine action (advance, return, transfer, wait, sign ...),
    a ``note`` (its ``files`` pasted in), or the customer's ``rate``, ``reply`` (progress page) or ``mail``."""

    at: str
    action: str
    who: str = "@"
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """A ticket registered by ``by`` at ``at`` with ``data``, then ``then``; ``state`` names what it shows."""

    key: str
    state: str
    process: str
    by: str
    at: str
    data: dict
    then: tuple[Step, ...] = ()
    customer: dict | None = None
    priority: str | None = None
    channel: str | None = "phone"
    files: dict | None = None
    assignee: str | None = None


def step(at: str, action: str, who: str = "@", **options) -> Step:
    return Step(at, action, who, options)


def note(at: str, who: str, text: str) -> Step:
    return Step(at, "note", who, {"text": text})
