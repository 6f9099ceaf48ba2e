"""Byte-identical output across refactors: every compile output against the previous release's (947134b).

tests/fixtures/golden/golden.json was written by tests/fixtures/golden/make_golden.py from 947134b; a
refactor that changes one byte of a generated config (standalone, merged, include mode) fails here.
"""

from __future__ import annotations

import importlib.util
import json

from support import CATALOGS, REPO

GOLDEN_DIR = REPO / "tests" / "fixtures" / "golden"


def _maker():
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN_DIR / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_compile_output_is_byte_identical_to_the_previous_release(monkeypatch):
    monkeypatch.delenv("RINSYNC_CACHE_DIR", raising=False)
    golden = json.loads((GOLDEN_DIR / "golden.json").read_text())
    assert len(CATALOGS) == 7 and len(golden) == 22  # every shared catalog is covered, none silently missing
    now = _maker().outputs()
    assert sorted(now) == sorted(golden)
    changed = [label for label in golden if now[label] != golden[label]]
    assert not changed, f"output differs from 947134b for: {changed}"
