"""What a browser would submit for a form of a page: lets client tests post a page back unchanged."""

from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"attrs": a, "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            self._input(a)
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "value": None, "first": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select["first"] = value if self._select["first"] is None else self._select["first"]
            if "selected" in a:
                self._select["value"] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def _input(self, a: dict) -> None:
        kind = a.get("type", "text")
        if kind in ("checkbox", "radio") and "checked" not in a:
            return
        if kind in ("submit", "button", "file"):
            return
        self._form["fields"].append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            value = self._select["value"] if self._select["value"] is not None else self._select["first"]
            self._form["fields"].append((self._select["name"], value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self._form["fields"].append((name, text.removeprefix("\r").removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def form(html: str, css_class: str) -> tuple[str | None, list[tuple[str, str]]]:
    """(action, fields) of the first form whose class contains ``css_class``."""
    parser = _Forms()
    parser.feed(html)
    for found in parser.forms:
        if css_class in (found["attrs"].get("class") or "").split():
            return found["attrs"].get("action"), found["fields"]
    raise LookupError(css_class)


def with_values(fields: list[tuple[str, str]], **changes: str) -> dict:
    """The fields as a dict (last value wins), with ``changes`` applied (``__`` stands for ``-``)."""
    out = dict(fields)
    out.update({k.replace("__", "-"): v for k, v in changes.items()})
    return out
