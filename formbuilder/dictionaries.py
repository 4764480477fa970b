"""Read-only index over a dictionary document (字典与面板).

Dictionaries are not versioned, so validators never bake their items in: they
ask an index, which the application rebuilds when a dictionary changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    value: str
    label: str
    enabled: bool
    parent: str | None
    children: tuple[str, ...] = ()
    #: The item's attributes (format 2, 数据联动), read by formulas' ``item``; not part of its identity.
    data: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class DictionaryIndex:
    code: str
    name: str
    items: dict[str, Item] = field(default_factory=dict)
    roots: tuple[str, ...] = ()

    @classmethod
    def from_document(cls, doc: dict) -> DictionaryIndex:
        index = cls(doc["code"], doc.get("name", doc["code"]))
        index.roots = index._add(doc.get("items", []), None)
        return index

    def _add(self, items: list, parent: str | None) -> tuple[str, ...]:
        values = []
        for raw in items:
            children = self._add(raw.get("children", []), raw["value"])
            self.items[raw["value"]] = Item(
                raw["value"], raw["label"], raw.get("enabled", True), parent, children, raw.get("data") or {}
            )
            values.append(raw["value"])
        return tuple(values)

    def options(self, parent: str | None = None, *, keep: str | None = None) -> list[Item]:
        """Enabled items under ``parent`` (top level when None), plus ``keep``.

        ``keep`` lets a ticket that already holds a now-disabled value show it.
        """
        if parent is None:
            values = self.roots
        else:
            item = self.items.get(parent)
            values = item.children if item else ()
        return [self.items[v] for v in values if self.items[v].enabled or v == keep]

    def is_option(self, value: str, parent: str | None, *, new: bool) -> bool:
        """Whether ``value`` sits under ``parent``; new input must be enabled."""
        item = self.items.get(value)
        if item is None or item.parent != parent:
            return False
        return item.enabled or not new

    def label(self, value: str) -> str:
        item = self.items.get(value)
        return item.label if item else value

    def client_tree(self) -> dict:
        """What the page script needs to reload cascading options."""
        return {
            v: {"label": i.label, "enabled": i.enabled, "children": list(i.children)}
            for v, i in self.items.items()
        } | {"": {"label": "", "enabled": True, "children": list(self.roots)}}
