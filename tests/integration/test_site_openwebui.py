"""`rinsync sync` from a site file declaring both targets, against the REAL LiteLLM proxy and the REAL Open
WebUI 0.12.4: the LiteLLM config written, then every generated model's record in Open WebUI, with only the
keys in the environment (and a key variable named by the site file)."""

from __future__ import annotations

import pytest

import harness
from harness import LiteLLMProxy, OpenWebUI
from support import RULES_DIR, SHARED

CATALOG = SHARED / "catalogs" / "openrouter-models-2026-05-01.json"


@pytest.mark.e2e
def test_one_site_file_syncs_litellm_then_open_webui(tmp_path, fake_openrouter):
    harness.require_integration("litellm", "openwebui")
    config, extra = harness.fake_site(tmp_path, fake_openrouter.api_base)
    first = harness.run_rinsync("compile", "--catalog", CATALOG, "--rules", RULES_DIR, "--rules", extra,
                                "--config", config)
    assert first.returncode == 0, first.stderr
    with LiteLLMProxy(config, log_dir=tmp_path / "proxy") as proxy:
        with OpenWebUI(proxy.url + "/v1", openai_key=proxy.master_key, log_dir=tmp_path / "webui",
                       env={"ENABLE_API_KEYS": "true"}) as webui:
            site = tmp_path / "site" / "rinsync.yaml"
            site.parent.mkdir()
            site.write_text(f"""version: 1
rules: [{RULES_DIR}, {extra}]
targets:
  litellm:
    config: {config}
  openwebui:
    url: {webui.url}
    key_env: TEAM_OPENWEBUI_TOKEN
""")
            token = webui.token()
            done = harness.run_rinsync("sync", "--catalog", CATALOG, cwd=site.parent,
                                       env={"TEAM_OPENWEBUI_TOKEN": token, "RINSYNC_OPENWEBUI_URL": ""})
            assert done.returncode == 0, done.stderr
            assert token not in done.stdout + done.stderr and "Traceback" not in done.stderr
            assert "no changes" in done.stderr  # the LiteLLM config was already in sync
            status, records = harness.http_json("GET", webui.url + "/api/v1/models/all", headers=webui.auth,
                                                timeout=60)
            assert status == 200
            generated = [e["model_name"] for e in harness.load_model_list(config) if harness.is_generated(e)]
            ours = {r["id"] for r in records if (r.get("meta") or {}).get("rinsync")}
            assert ours == set(generated) and len(ours) > 100
