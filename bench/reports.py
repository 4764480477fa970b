"""``python -m bench.reports``: the earlier name of :mod:`bench.scale`, kept for the commands in the history."""

from __future__ import annotations

import sys

from bench.scale import main

if __name__ == "__main__":
    sys.exit(main())
