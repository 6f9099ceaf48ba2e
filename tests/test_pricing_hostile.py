"""Hostile price data: a bad override skips its record with one warning line, never aborts the sync;
a huge override list compiles within a time and memory limit."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import yaml

from support import REPO, TODAY_EPOCH

GOOD = {"id": "acme/good", "name": "Good", "context_length": 1000, "architecture": {"modality": "text->text"},
        "pricing": {"prompt": "0.000001", "completion": "0.000002"}}
LIMIT_BYTES = 1 << 30  # 1 GiB of address space
TIMEOUT = 60


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def compile_catalog(tmp_path: Path, records: list[dict]) -> subprocess.CompletedProcess:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"data": records}))
    return subprocess.run([sys.executable, "-m", "rinsync", "compile", "--catalog", str(catalog), "--output",
                           str(tmp_path / "out.yaml")], cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT,
                          preexec_fn=limited, env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": TODAY_EPOCH})


def record(model_id: str, **pricing) -> dict:
    return {**GOOD, "id": model_id, "pricing": {"prompt": "0.000001", "completion": "0.000002", **pricing}}


def test_a_bad_override_price_skips_only_its_record(tmp_path):
    bad = [record("acme/list-price", overrides=[{"min_prompt_tokens": 200000, "prompt": [1]}]),
           record("acme/object-cache", overrides=[{"min_prompt_tokens": 272000, "input_cache_read": {}}]),
           record("acme/bool-completion", overrides=[{"min_prompt_tokens": 128000, "completion": True}])]
    odd = [record("acme/odd-items", overrides=["x", None, 3, {"min_prompt_tokens": "200000", "prompt": "0.1"}]),
           record("acme/unknown-keys", overrides=[{"min_prompt_tokens": 200000, "label": ["long"],
                                                   "prompt": "0.000002"}])]
    result = compile_catalog(tmp_path, bad + odd + [GOOD])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == len(bad)
    for r, line in zip(bad, warnings):
        assert f"skipped record '{r['id']}'" in line and "pricing.overrides.0." in line
    entries = {e["model_info"]["openrouter_id"]: e["model_info"]
               for e in yaml.safe_load((tmp_path / "out.yaml").read_text())["model_list"]}
    assert set(entries) == {"acme/good", "acme/odd-items", "acme/unknown-keys"}
    assert not any(key.endswith("k_tokens") for key in entries["acme/odd-items"])  # "200000" is not 200000
    assert entries["acme/unknown-keys"]["input_cost_per_token_above_200k_tokens"] == 2e-06


def test_a_huge_override_list_compiles_within_limits(tmp_path):
    tiers = [{"min_prompt_tokens": n, "prompt": "0.000003", "completion": "0.000004"} for n in range(200_000)]
    tiers[-1] = {"min_prompt_tokens": 272000, "prompt": "0.000005", "completion": "0.000006"}
    result = compile_catalog(tmp_path, [record("acme/many-tiers", overrides=tiers), GOOD])
    assert result.returncode == 0, result.stderr
    info = {e["model_info"]["openrouter_id"]: e["model_info"]
            for e in yaml.safe_load((tmp_path / "out.yaml").read_text())["model_list"]}["acme/many-tiers"]
    assert info["input_cost_per_token_above_128k_tokens"] == 3e-06
    assert info["input_cost_per_token_above_272k_tokens"] == 5e-06
