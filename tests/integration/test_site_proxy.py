"""`rinsync sync` from a site file against the REAL LiteLLM proxy: the file alone declares the config (in
include mode), the proxy that confirms, the reload command and its timeout; the environment holds only the
proxy's key, as in the README's cron line. Asserted: the proxy serves exactly what was written after each
sync, and a reload without effect is rolled back (exit 5, files byte for byte)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from load import GunicornProxy

import harness
from harness import MASTER_KEY
from support import RULES_DIR, SHARED

CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
INC = "openrouter.models.yaml"


def cut(tmp: Path, name: str, start: int, stop: int) -> Path:
    data = json.loads(CATALOG.read_bytes())
    path = tmp / name
    path.write_text(json.dumps({**data, "data": data["data"][start:stop]}))
    return path


def served_files(config: Path) -> list[str]:
    hand = [e["model_name"] for e in yaml.safe_load(config.read_text()).get("model_list") or []]
    return hand + [e["model_name"] for e in harness.load_model_list(config.parent / INC)]


@pytest.mark.integration
def test_sync_from_the_site_file_alone_reloads_the_real_proxy_and_rolls_back(tmp_path, fake_openrouter):
    harness.require_integration("litellm")
    deploy = tmp_path / "deploy"
    (deploy / "litellm").mkdir(parents=True)
    config = deploy / "litellm" / "config.yaml"
    config.write_text(harness.hand_written_config(fake_openrouter.api_base))
    rules = tmp_path / "90-attribution.yaml"
    rules.write_text(harness.attribution_rules(fake_openrouter.api_base))
    first, second = cut(tmp_path, "v1.json", 0, 60), cut(tmp_path, "v2.json", 10, 70)
    site = deploy / "rinsync.yaml"

    def write_site(reload_cmd: str, proxy_url: str) -> None:
        site.write_text(f"""version: 1
rules: [{RULES_DIR}, {rules}]
targets:
  litellm:
    config: litellm/config.yaml
    include_file: {INC}
    proxies: [{proxy_url}]
    reload: {json.dumps(reload_cmd)}
    reload_timeout: 120
""")

    def sync(catalog: Path):  # cwd elsewhere: every path comes from the site file
        return harness.run_rinsync("sync", "--site", site, "--catalog", catalog,
                                   env={"LITELLM_MASTER_KEY": MASTER_KEY}, cwd=tmp_path, timeout=240)

    write_site("true", "http://127.0.0.1:9")  # the first sync creates the files; no proxy runs yet
    made = harness.run_rinsync("sync", "--site", site, "--catalog", first, "--reload-cmd", "", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    proxy = GunicornProxy(config, log_dir=tmp_path / "proxy", workers=2)
    proxy.start()
    try:
        harness.assert_serves_exactly(proxy.models(), served_files(config))
        write_site(f"kill -HUP {proxy.proc.pid}", proxy.url)
        done = sync(second)
        assert done.returncode == 0, done.stderr
        assert "serves the new config" in done.stderr and MASTER_KEY not in done.stdout + done.stderr
        harness.assert_serves_exactly(proxy.models(), served_files(config))
        generated = harness.load_model_list(config.parent / INC)
        harness.assert_model_info_matches(generated, proxy.model_info())

        kept = {p: p.read_bytes() for p in (config, config.parent / INC)}
        write_site("true", proxy.url)  # a reload that does nothing: the proxy never serves the new set
        rejected = sync(first)
        assert rejected.returncode == 5, rejected.stderr
        assert {p: p.read_bytes() for p in kept} == kept
        harness.assert_serves_exactly(proxy.models(), served_files(config))
    finally:
        proxy.stop()
