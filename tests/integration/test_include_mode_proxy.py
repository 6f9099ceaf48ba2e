"""Include mode against the REAL LiteLLM proxy: the operator's commented config.yaml plus the generated file
it includes are both served, and config.yaml stays byte-identical however often rinsync syncs.

One proxy start. The proxy runs with its working directory elsewhere, so the include can only be found
relative to config.yaml's directory (how LiteLLM 1.106.2 resolves ``include:``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import harness
from harness import LiteLLMProxy
from support import CATALOGS, REPO, RULES_DIR

INC = "openrouter.models.yaml"
PINNED = "openrouter/openai-gpt-4o"  # also a generated name: the hand-written entry must win

CONFIG = """\
# LiteLLM proxy config -- written by hand, rinsync must not touch it.
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY   # from the environment

model_list:
  # talks to OpenAI directly
  - model_name: gpt-4o-direct
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}

  # pinned: wins over rinsync's entry of the same name
  - model_name: openrouter/openai-gpt-4o
    litellm_params:
      model: openrouter/openai/gpt-4o
      api_key: os.environ/OPENROUTER_API_KEY
      temperature: 0.2

litellm_settings:
  drop_params: true     # keep
"""


def rinsync(config: Path, catalog: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINSYNC_") and k != "OPENROUTER_API_KEY"}
    env.update(PYTHONPATH=str(REPO), SOURCE_DATE_EPOCH="1795478400")
    return subprocess.run([sys.executable, "-m", "rinsync", "compile", "--rules", str(RULES_DIR),
                           "--config", str(config), "--include-file", INC, "--catalog", str(catalog)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.integration
def test_proxy_serves_both_files_and_config_survives_repeated_syncs(tmp_path):
    harness.require_integration("litellm")
    site = tmp_path / "litellm"
    site.mkdir()
    config = site / "config.yaml"
    config.write_text(CONFIG)
    elsewhere = tmp_path / "cwd"  # rinsync's and the proxy's working directory, not the config's
    elsewhere.mkdir()

    first = rinsync(config, CATALOGS[-1], elsewhere)
    assert first.returncode == 0, first.stderr
    assert f"  ! {PINNED}: skipped, a hand-written entry already uses this model_name in" in first.stderr
    after_first = config.read_bytes()
    assert after_first == (CONFIG + "include:\n  - openrouter.models.yaml\n").encode()

    generated_versions = {(site / INC).read_bytes()}
    for catalog in (CATALOGS[-2], CATALOGS[-1]):  # two more syncs; the first changes the generated file
        again = rinsync(config, catalog, elsewhere)
        assert again.returncode == 0, again.stderr
        assert config.read_bytes() == after_first
        generated_versions.add((site / INC).read_bytes())
    assert len(generated_versions) == 2
    assert not (elsewhere / INC).exists()

    hand = [e["model_name"] for e in yaml.safe_load(CONFIG)["model_list"]]
    generated = [e["model_name"] for e in yaml.safe_load((site / INC).read_bytes())["model_list"]]
    assert len(generated) > 300 and PINNED not in generated

    with LiteLLMProxy(config, log_dir=elsewhere, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"}) as proxy:
        served = proxy.models()
        info = proxy.model_info_by_name()
    assert served == hand + generated  # exactly the union: config.yaml's entries, then the included file's
    assert len(served) == len(set(served))  # no name served by two deployments
    assert info[PINNED]["litellm_params"].get("temperature") == 0.2  # the hand-written one is served
    assert "generated_by" not in (info[PINNED]["model_info"] or {})
    assert info[generated[0]]["model_info"]["generated_by"] == "rinsync"
    assert config.read_bytes() == after_first
