"""Benchmark figures, the machine they were measured on, and docs/performance.md written from them.

Every part returns :class:`Figure` rows; a target is an upper bound on the
ratio. The written document keeps whatever follows ``NOTES_MARK`` in the old
file, so the explanations written after a run survive the next ``--write``.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PARTS = {"forms": "Forms: generated step form vs a hand-written WTForms page (paired ratio, dynamic / static)",
         "engine": "Engine: create + advance one step vs plain peewee writes in one transaction (engine / floor)",
         "scale": "Scale: latency at the largest size / at the smallest (reports: / the middle size)",
         "http": "HTTP: gunicorn, 4 sync workers, loopback load generator (share of the bare Flask ceiling)",
         "worktime": "Working-time due date: 10,000 SLA due times on the cn calendar vs plain timedelta additions "
                     "(calendar / plain; the 10,000 against a 1 s budget)",
         "sla": "SLA sweep: finding the due tickets among 100,000 open ones by the next_check_at index vs a full "
                "scan of the open tickets (index / scan), and one sweep of the due ones"}
NOTES_MARK = "<!-- notes: kept by --write -->"


@dataclass(frozen=True)
class Figure:
    """One measured figure: what, on which database, the raw values, the ratio and its target (ratio <= target)."""

    part: str
    db: str
    name: str
    value: str
    ratio: float | None = None
    target: float | None = None

    @property
    def verdict(self) -> str:
        if self.target is None or self.ratio is None:
            return "-"
        if self.ratio <= self.target:
            return "met"
        return f"missed by {(self.ratio / self.target - 1) * 100:.0f} %"

    def line(self) -> str:
        ratio = f"{self.ratio:.2f}" if self.ratio is not None else "-"
        target = f"<= {self.target:g}" if self.target is not None else "-"
        return f"{self.part:<7} {self.db:<10} {self.name:<34} {ratio:>6} {target:>7}  {self.verdict:<16} {self.value}"


def table(figures: list[Figure]) -> str:
    """The plain-text table printed at the end of a run."""
    head = f"{'part':<7} {'db':<10} {'figure':<34} {'ratio':>6} {'target':>7}  {'verdict':<16} values"
    return "\n".join([head, "-" * len(head), *(f.line() for f in figures)])


def _cpu() -> str:
    """CPU model and count from /proc/cpuinfo (the model name may be absent on some virtual machines)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{platform.processor() or platform.machine()} x {os.cpu_count()}"
    models = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
    return f"{models[0] if models else platform.machine()} x {os.cpu_count()} CPUs"


def _ram() -> str:
    try:
        line = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
    except (OSError, StopIteration):
        return "unknown"
    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"


def _postgres() -> str:
    """The server version of the PostgreSQL the benchmarks use, or why it is unknown."""
    try:
        import psycopg

        from bench.seeding import PG_ADMIN
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception as error:  # any failure only leaves the version out of the report
        return f"unavailable ({type(error).__name__})"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    return {"CPU": _cpu(), "RAM": _ram(), "OS": platform.platform(), "Python": platform.python_version(),
            "SQLite": sqlite3.sqlite_version, "PostgreSQL": _postgres(),
            "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "Load average at the end (1, 5, 15 min; other work on the machine skews absolute times)":
                " ".join(f"{x:.1f}" for x in os.getloadavg())}


def _part_table(figures: list[Figure]) -> list[str]:
    rows = ["| database | figure | values | ratio | target | verdict |", "|---|---|---|---:|---:|---|"]
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        target = f"<= {f.target:g}" if f.target is not None else "-"
        rows.append(f"| {f.db} | {f.name} | {f.value} | {ratio} | {target} | {f.verdict} |")
    return rows


def markdown(figures: list[Figure], command: str, quick: bool, extra: dict[str, str]) -> str:
    """docs/performance.md without its notes: machine, command, one table per part, then per-part details."""
    lines = ["# Performance", ""]
    if quick:
        lines += ["> **Quick-size placeholder figures** (`--quick`: small databases, short HTTP runs). "
                  "They show the structure only; the full run replaces them.", ""]
    lines += ["Generated by `python -m bench --write docs/performance.md` (see `bench/__main__.py`).", "",
              "## Machine", "", *(f"- {k}: {v}" for k, v in machine().items()), "",
              "## Command", "", "```sh", command, "```", ""]
    missed = [f"{f.part} {'' if f.db == '-' else f.db + ' '}{f.name} {f.verdict}"
              for f in figures if f.verdict.startswith("missed")]
    lines += ["## Targets", "", f"{sum(f.verdict == 'met' for f in figures)} met, {len(missed)} missed"
              + (": " + "; ".join(missed) if missed else "."), ""]
    for part, title in PARTS.items():
        chosen = [f for f in figures if f.part == part]
        if chosen:
            lines += [f"## {title}", "", *_part_table(chosen), ""]
            if extra.get(part):
                lines += [extra[part].rstrip(), ""]
    return "\n".join(lines)


def write(path: Path, figures: list[Figure], command: str, quick: bool, extra: dict[str, str]) -> None:
    """Rewrite ``path`` with fresh figures, keeping the notes section of the old file."""
    old = path.read_text("utf-8") if path.exists() else ""
    notes = old[old.index(NOTES_MARK):] if NOTES_MARK in old else NOTES_MARK + "\n\n## Notes\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(figures, command, quick, extra) + "\n" + notes, "utf-8")
