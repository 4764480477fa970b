"""Vendor the page's front-end libraries from the npm registry into ``static/vendor/``.

``python app.py`` needs no build step and no CDN: the files are committed. This script is how
they got there, so anyone can check or refresh them: ``python scripts/vendor.py`` downloads each
pinned package with ``npm pack`` (the registry's tarball, checked against its integrity hash by
npm), copies the one file the pages load and the package's licence, and writes
``static/vendor/VERSIONS.json`` (name, version, licence, file, sha256).

Why these: htmx (partial page updates from server-rendered HTML: the designer's panels are the
same Jinja templates as the rest), SortableJS (drag and drop with touch support, which HTML5
drag events lack), axe-core (the accessibility rules the browser tests run).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor"
PACKAGES = {  # npm name: (version, file in the package, name under static/vendor/)
    "htmx.org": ("2.0.11", "dist/htmx.min.js", "htmx.min.js"),
    "sortablejs": ("1.15.7", "Sortable.min.js", "Sortable.min.js"),
    "axe-core": ("4.14.1", "axe.min.js", "axe.min.js"),
}
LICENCES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE")


def fetch(name: str, version: str, work: Path) -> Path:
    """The unpacked package directory of ``name@version``."""
    out = subprocess.run(["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination", str(work)],
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(work / out) as tar:
        tar.extractall(work / name, filter="data")
    return work / name / "package"


def vendor(name: str, version: str, source: str, target: str, work: Path) -> dict:
    package = fetch(name, version, work)
    meta = json.loads((package / "package.json").read_text())
    shutil.copyfile(package / source, VENDOR / target)
    licence = next((package / f for f in LICENCES if (package / f).exists()), None)
    if licence is not None:
        shutil.copyfile(licence, VENDOR / f"{target}.LICENSE")
    digest = hashlib.sha256((VENDOR / target).read_bytes()).hexdigest()
    return {"package": name, "version": meta["version"], "license": meta.get("license"),
            "file": target, "sha256": digest}


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        entries = [vendor(name, *spec, Path(tmp)) for name, spec in PACKAGES.items()]
    (VENDOR / "VERSIONS.json").write_text(json.dumps(entries, indent=2) + "\n")
    for entry in entries:
        print(f"{entry['package']}@{entry['version']} ({entry['license']}) -> static/vendor/{entry['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
