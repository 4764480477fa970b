"""Under ``LZ_REQUIRE_ALL=1`` (set by ``.ci/run``) a skip fails the run, wherever it happens.

A skip at run time (``pytest.skip`` in a test or fixture) turns into a failed test;
a skip at collection (a module-level ``pytest.importorskip`` or ``pytest.skip(...,
allow_module_level=True)``) turns into a collection error, so a missing browser or
database can never make CI pass by running fewer tests. Kept apart from conftest so
``tests/test_strict_skips.py`` can load it into a throwaway pytest run.
"""

from __future__ import annotations

import os

import pytest


def _strict() -> bool:
    return os.environ.get("LZ_REQUIRE_ALL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if _strict() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but LZ_REQUIRE_ALL=1 requires it: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    report = (yield).get_result()
    if _strict() and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped at collection, but LZ_REQUIRE_ALL=1 requires it: {report.longrepr}"
