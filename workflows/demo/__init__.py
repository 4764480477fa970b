"""The demo organisation: its own copies of the return-goods documents."""

from __future__ import annotations

import json
from importlib import resources

from .. import documents as docs

DICTIONARIES = ("channel.dictionary.json", "product.dictionary.json")
PROCESSES = ("return_goods.process.json",)


def _load(name: str) -> dict:
    return json.loads(resources.files(__package__).joinpath(name).read_text("utf-8"))


def seed() -> list[str]:
    """Import the demo documents; running it again changes nothing."""
    lines = []
    for name in DICTIONARIES:
        document = _load(name)
        if docs.dictionary_indexes().get(document["code"]) is None:
            docs.import_dictionary(document)
            lines.append(f"dictionary {document['code']} imported")
    for name in PROCESSES:
        _, version = docs.save_process(_load(name), publish=True, actor="demo")
        lines.append(f"process {version.process.code} version {version.number} published")
    return lines
