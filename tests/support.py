"""Paths shared by the tests: the repo, the shipped rules and the shared real catalogs."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RINSYNC_SHARED_DIR", REPO.parent / "shared"))
CATALOGS = sorted((SHARED / "catalogs").glob("openrouter-models-*.json"))
SAMPLE_CATALOG = REPO / "examples" / "sample-catalog.json"
RULES_DIR = REPO / "rules"
TODAY_EPOCH = "1795478400"  # 2026-11-24T00:00:00Z
