"""Compiled steps, built once per (process version, step) and then shared.

The pattern is Flask-Admin's ``_refresh_forms_cache``: classes and validators
are built once, instances per request. A published version is immutable, so a
key never goes stale; drafts are keyed by a digest of their content.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass

from .forms import StepForm, build_form_class
from .steps import StepSpec, compile_step

MAX_ENTRIES = 1024

#: How many steps were compiled, by cache key: tests assert it stays put.
builds: Counter = Counter()

_entries: OrderedDict = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class CompiledStep:
    spec: StepSpec
    form_class: type[StepForm]


def draft_key(document: dict) -> tuple:
    """A cache key for an unpublished document: its code and content digest (order counts)."""
    digest = hashlib.sha256(json.dumps(document).encode()).hexdigest()
    return (document.get("code"), "draft", digest)


def compiled_step(key: tuple, document: dict, step_key: str) -> CompiledStep:
    """The compiled step for ``key`` (e.g. ``("return_goods", 3)``), built at most once."""
    entry_key = (key, step_key)
    with _lock:
        entry = _entries.get(entry_key)
        if entry is not None:
            _entries.move_to_end(entry_key)
            return entry
    spec = compile_step(document, step_key)
    entry = CompiledStep(spec, build_form_class(spec))
    with _lock:
        builds[entry_key] += 1
        _entries[entry_key] = entry
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return entry


def clear() -> None:
    with _lock:
        _entries.clear()
        builds.clear()
