"""What a document must have to be published, beyond the static checks a draft is saved under.

A draft is built a piece at a time: a new field starts hidden at every step, a new process has a
creation step that shows nothing. Such a draft is well-formed and may be saved, but published it
would offer agents an empty creation form. The static checks (``checks``) hold for every stored
document; these hold for a published one (``workflows.processes.documents.unpublishable``). That a
required field is readable by its step's handlers is static check 12 (``checks2.required_readable``).
"""

from __future__ import annotations

from .checks import _dict, _possible, _properties
from .messages import N_, Msg, Problem, pointer

SHOWS_NOTHING = N_("the creation step shows no field: make at least one field read-only, editable or required "
                   "at the first step")


def creation_step_shows_nothing(document: dict) -> list[Problem]:
    """The first step must show a field of the process: a mode other than hidden, in either branch."""
    steps = document.get("steps")
    first = _dict(steps[0]) if isinstance(steps, list) and steps else None
    if first is None:
        return []  # no step at all is the meta-schema's problem
    properties = _properties(document)
    modes = _dict(first.get("fields"))
    if any(_possible(mode) - {"hidden"} for name, mode in modes.items() if name in properties):
        return []
    return [Problem(pointer(["steps", 0, "fields"]), Msg(SHOWS_NOTHING))]


def publish_guards(document: object) -> list[Problem]:
    """Every reason a (checked) document may be saved as a draft but not published."""
    if not isinstance(document, dict):
        return []
    return creation_step_shows_nothing(document)
