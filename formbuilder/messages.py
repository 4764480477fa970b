"""Translatable messages without Flask.

formbuilder objects are cached across requests and locales, so they never hold
translated text: they return :class:`Msg` values and the caller renders them
with its own ``gettext`` (Flask-Babel in a request, Babel catalogs in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


def N_(msgid: str) -> str:
    """Mark a msgid for extraction by pybabel without translating it."""
    return msgid


class Msg(NamedTuple):
    """A message id with its parameters, rendered late in the reader's locale."""

    msgid: str
    params: dict = {}

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """The text in ``gettext``'s language; a parameter that is itself a Msg (a mode, "hidden") is too."""
        text = gettext(self.msgid) if gettext else self.msgid
        if not self.params:
            return text
        return text % {k: v.render(gettext) if isinstance(v, Msg) else v for k, v in self.params.items()}

    def __str__(self) -> str:
        return self.render()


class Problem(NamedTuple):
    """One problem of a document, located by its JSON pointer."""

    path: str
    msg: Msg

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        return f"{self.path or '/'}: {self.msg.render(gettext)}"

    def __str__(self) -> str:
        return self.render()


def pointer(parts) -> str:
    """JSON pointer (RFC 6901) for a sequence of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
