"""CI cannot pass by skipping: under LZ_REQUIRE_ALL=1 a skip at collection or at run time fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

COLLECTION_SKIP = """
import pytest
pytest.importorskip("no_such_module_for_lz")
def test_never_runs():
    pass
"""
RUN_SKIP = """
import pytest
def test_skips():
    pytest.skip("no browser here")
"""


def _run(pytester, monkeypatch, source: str, strict: bool):
    monkeypatch.setenv("LZ_REQUIRE_ALL", "1" if strict else "0")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # where strictskips lives
    pytester.makepyfile(test_sample=source)
    return pytester.runpytest_subprocess("-p", "strictskips", "-p", "no:cacheprovider")


@pytest.mark.parametrize("source", [COLLECTION_SKIP, RUN_SKIP], ids=["collection", "run-time"])
def test_a_skip_fails_the_run_when_everything_is_required(pytester, monkeypatch, source):
    result = _run(pytester, monkeypatch, source, strict=True)
    assert result.ret not in (0, 5), result.stdout.str()
    assert "LZ_REQUIRE_ALL=1 requires it" in result.stdout.str()


@pytest.mark.parametrize("source", [COLLECTION_SKIP, RUN_SKIP], ids=["collection", "run-time"])
def test_a_skip_is_only_a_skip_locally(pytester, monkeypatch, source):
    result = _run(pytester, monkeypatch, source, strict=False)
    assert result.ret in (0, 5)
    result.stdout.fnmatch_lines(["*1 skipped*"])
