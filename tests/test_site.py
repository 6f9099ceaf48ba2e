"""The site file (rinsync.yaml) and `rinsync sync`: every target declared in it runs with no flags, include
mode, the dry run's settings and their origins, precedence (flag > RINSYNC_* > site file > default), and bad
site files (one located line, exit 1, the config byte for byte, no secret shown, bounded)."""

from __future__ import annotations

import json
import threading

import pytest
import yaml
from hostile import run_limited
from standin_proxy import StandIn
from werkzeug import Response

from rinsync.litellm.entries import is_generated
from support import REPO, SAMPLE_CATALOG

KEY = "sk-proxy-key-for-site-tests-0123"
TOKEN = "owui-secret-token-for-site-tests-0123"
CATALOG = str(SAMPLE_CATALOG)
RULES = str(REPO / "rules")


def site(directory, text: str):
    path = directory / "rinsync.yaml"
    path.write_text("version: 1\n" + text)
    return path


def generated(config) -> list[str]:
    return [e["model_name"] for e in yaml.safe_load(config.read_text())["model_list"] if is_generated(e)]


class FakeOpenWebUI:
    """Open WebUI 0.12.4's model-record API (/api/v1/models/...) in memory, for one token."""

    def __init__(self, httpserver, token: str):
        self.records: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.token = token
        prefix = "/api/v1/models"
        httpserver.expect_request(f"{prefix}/all").respond_with_handler(self.all)
        httpserver.expect_request(f"{prefix}/create").respond_with_handler(self.create)
        httpserver.expect_request(f"{prefix}/model/update").respond_with_handler(self.create)
        httpserver.expect_request(f"{prefix}/model/delete").respond_with_handler(self.delete)
        self.url = httpserver.url_for("/").rstrip("/")

    def _refused(self, request):
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Response(json.dumps({"detail": "Not authenticated"}), 401, content_type="application/json")
        return None

    def all(self, request):
        return self._refused(request) or Response(json.dumps(list(self.records.values())),
                                                  content_type="application/json")

    def create(self, request):
        if refused := self._refused(request):
            return refused
        form = request.get_json()
        with self.lock:
            self.records[form["id"]] = form
        return Response(json.dumps(form), content_type="application/json")

    def delete(self, request):
        if refused := self._refused(request):
            return refused
        with self.lock:
            self.records.pop(request.get_json()["id"], None)
        return Response("true", content_type="application/json")


def test_sync_runs_every_declared_target_with_no_flags_and_only_the_keys_in_the_environment(
        env, httpserver, run_cli, monkeypatch):
    """What `compile --config --reload-cmd --proxy --reload-timeout --openwebui` did, from the site file alone."""
    config = env / "cfg" / "config.yaml"
    proxy = StandIn(httpserver, config, env, KEY)
    webui = FakeOpenWebUI(httpserver, TOKEN)
    marker = env / "reloads.log"
    site(env, f"""rules: [{RULES}]
targets:
  litellm:
    config: cfg/config.yaml
    proxies: [{proxy.url}]
    reload: "echo reloaded >> {marker}; touch RELOAD"
    reload_timeout: 5
  openwebui:
    url: {webui.url}
""")
    monkeypatch.setenv("LITELLM_MASTER_KEY", KEY)
    monkeypatch.setenv("OPENWEBUI_API_KEY", TOKEN)
    r = run_cli("sync", "--catalog", CATALOG)
    assert r.code == 0, r.err
    assert marker.read_text() == "reloaded\n" and "serves the new config" in r.err
    assert proxy.served() == [e["model_name"] for e in yaml.safe_load(config.read_text())["model_list"]]
    assert sorted(webui.records) == sorted(generated(config)) and len(webui.records) == 27
    assert KEY not in r.out + r.err and TOKEN not in r.out + r.err
    again = run_cli("sync", "--catalog", CATALOG)
    assert again.code == 0 and "no changes" in again.err and marker.read_text() == "reloaded\n"


def test_the_site_files_output_equals_compiles_with_the_same_flags(env, run_cli):
    site(env, f"rules: [{RULES}]\ntargets:\n  litellm:\n    config: a/config.yaml\n")
    assert run_cli("sync", "--catalog", CATALOG).code == 0
    assert run_cli("compile", "--catalog", CATALOG, "--rules", RULES, "--config", "b/config.yaml").code == 0
    assert (env / "a" / "config.yaml").read_bytes() == (env / "b" / "config.yaml").read_bytes()


def test_include_mode_from_the_site_file(env, run_cli):
    (env / "cfg").mkdir()
    config = env / "cfg" / "config.yaml"
    config.write_text("general_settings: {}\n")
    site(env, f"rules: [{RULES}]\ntargets:\n  litellm:\n    config: cfg/config.yaml\n"
              "    include_file: generated.yaml\n")
    r = run_cli("sync", "--catalog", CATALOG)
    assert r.code == 0, r.err
    assert yaml.safe_load(config.read_text()) == {"general_settings": {}, "include": ["generated.yaml"]}
    assert len(generated(env / "cfg" / "generated.yaml")) == 27


def test_paths_are_relative_to_the_site_files_directory(env, run_cli, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("deploy")
    site(elsewhere, f"rules: [{RULES}]\ntargets:\n  litellm:\n    config: config.yaml\n")
    r = run_cli("sync", "--site", str(elsewhere / "rinsync.yaml"), "--catalog", CATALOG)
    assert r.code == 0, r.err
    assert len(generated(elsewhere / "config.yaml")) == 27 and not (env / "config.yaml").exists()


def test_dry_run_shows_each_setting_and_where_it_came_from_and_writes_nothing(env, run_cli, monkeypatch):
    """Precedence: flag > RINSYNC_* > site file > default, per setting."""
    site(env, f"""rules: [{RULES}]
targets:
  litellm:
    config: cfg/config.yaml
    backups: 2
    max_remove_fraction: 0.3
    validate: "true"
    key_env: MY_PROXY_KEY
""")
    monkeypatch.setenv("RINSYNC_MAX_REMOVE_FRACTION", "0.4")
    monkeypatch.setenv("RINSYNC_VALIDATE_CMD", "test -s")
    monkeypatch.setenv("MY_PROXY_KEY", KEY)
    r = run_cli("sync", "--catalog", CATALOG, "--dry-run", "--backups", "7")
    assert r.code == 0, r.err
    settings = {line.split()[1]: line for line in r.out.splitlines() if line.startswith("  setting ")}
    assert settings["targets.litellm.backups"].split("=", 1)[1].split() == ["7", "(flag", "--backups)"]
    assert settings["targets.litellm.max_remove_fraction"].split("=", 1)[1].split() == [
        "0.4", "(env", "RINSYNC_MAX_REMOVE_FRACTION)"]
    assert settings["targets.litellm.validate"].split("=", 1)[1].split() == ["test", "-s", "(env",
                                                                             "RINSYNC_VALIDATE_CMD)"]
    assert settings["targets.litellm.config"].endswith("(rinsync.yaml:5:13)")
    assert settings["targets.litellm.key_env"].split("=", 1)[1].split() == ["MY_PROXY_KEY", "(rinsync.yaml:9:14)"]
    assert settings["targets.litellm.reload_timeout"].split("=", 1)[1].split() == ["60.0", "(default)"]
    assert "openwebui" not in r.out  # not declared, not set by a flag
    assert KEY not in r.out + r.err
    assert not (env / "cfg").exists()


def test_the_flags_value_is_the_one_used(env, run_cli, monkeypatch):
    """The shrink guard at the site file's 0.0 refuses; RINSYNC_MAX_REMOVE_FRACTION=1 lets the same sync pass."""
    site(env, f"rules: [{RULES}]\ntargets:\n  litellm:\n    config: config.yaml\n    max_remove_fraction: 0.0\n")
    assert run_cli("sync", "--catalog", CATALOG).code == 0
    records = json.loads(SAMPLE_CATALOG.read_text())
    records["data"] = records["data"][5:]
    smaller = env / "smaller.json"
    smaller.write_text(json.dumps(records))
    before = (env / "config.yaml").read_bytes()
    refused = run_cli("sync", "--catalog", str(smaller))
    assert refused.code == 3 and (env / "config.yaml").read_bytes() == before
    monkeypatch.setenv("RINSYNC_MAX_REMOVE_FRACTION", "1")
    assert run_cli("sync", "--catalog", str(smaller)).code == 0
    assert (env / "config.yaml").read_bytes() != before


def test_without_a_site_file_sync_is_a_usage_error(env, run_cli):
    r = run_cli("sync", "--catalog", CATALOG)
    assert r.code == 2 and "rinsync.yaml" in r.err and "Traceback" not in r.err


BAD = {
    "unknown-key": ("targets:\n  litellm:\n    config: config.yaml\n    reload_timout: 90\n", "rinsync.yaml:5:5:",
                    "site-unknown-key"),
    "wrong-type": ("targets:\n  litellm:\n    config: config.yaml\n    backups: many\n", "rinsync.yaml:5:14:",
                   "site-type"),
    "literal-key": (f"targets:\n  litellm:\n    config: config.yaml\n    key_env: {KEY}\n", "rinsync.yaml:5:14:",
                    "site-secret"),
    "token-as-name": ("targets:\n  litellm:\n    config: config.yaml\n    key_env: a81bc29f0e7d4c3b9a61f2e8d7c6b5a4\n",
                      "rinsync.yaml:5:14:", "site-secret"),
    "credentials-in-url": ("targets:\n  litellm:\n    config: config.yaml\n    proxies: [http://admin:hunter2@h:4000]\n",
                           "rinsync.yaml:5:15:", "site-secret"),
    "key-in-command": (f"targets:\n  litellm:\n    config: config.yaml\n    reload: \"curl -H 'x: {KEY}' h\"\n",
                       "rinsync.yaml:5:13:", "site-secret"),
    "yaml-syntax": ("targets:\n  litellm: [\n", "rinsync.yaml:", "yaml-syntax"),
    "no-version": (None, "rinsync.yaml:1:1:", "site-required"),
    "no-target": ("targets: {}\n", "rinsync.yaml:2:10:", "site-no-target"),
    "missing-rules": ("rules: [nowhere/]\ntargets:\n  litellm:\n    config: config.yaml\n", "rinsync.yaml:2:9:",
                      "site-missing-path"),
    "version-2": ("targets:\n  litellm: {}\n", "rinsync.yaml:1:10:", "site-value"),
    "reload-without-proxy": ("targets:\n  litellm:\n    config: config.yaml\n    reload: kill -HUP 1\n",
                             "rinsync.yaml:5:13:", "site-reload-without-proxy"),
    "alias-bomb": ("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
                   + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 12))
                   + "targets: {litellm: {config: config.yaml}}\n", "rinsync.yaml:", "yaml-limit"),
    "deep-nesting": ("targets: " + "[" * 5000 + "]" * 5000 + "\n", "rinsync.yaml:2:", "yaml-limit"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_site_file_is_one_located_line_and_the_config_stays_byte_for_byte(env, case):
    text, where, code = BAD[case]
    config = env / "config.yaml"
    config.write_bytes(b"model_list: []  # mine\n")
    if text is None:
        (env / "rinsync.yaml").write_text("targets:\n  litellm:\n    config: config.yaml\n")
    elif case == "version-2":
        (env / "rinsync.yaml").write_text("version: 2\n" + text)
    else:
        site(env, text)
    done = run_limited("sync", "--catalog", CATALOG, cwd=env,
                       **{"LITELLM_MASTER_KEY": KEY})
    text_out = done.out + done.err
    assert done.code == 1, text_out
    assert "Traceback" not in text_out and KEY not in text_out and "hunter2" not in text_out
    located = [line for line in text_out.splitlines() if line.startswith(where) or f": {where}" in line]
    assert located and code in located[0], text_out
    assert len([line for line in done.err.splitlines() if "error" in line]) == 1, done.err
    assert config.read_bytes() == b"model_list: []  # mine\n"
    lint = run_limited("lint", RULES, cwd=env)
    if case not in ("missing-rules", "reload-without-proxy"):  # checked when syncing, with the flags
        assert lint.code == 1 and any(line.startswith(where) and code in line for line in lint.out.splitlines())
        assert KEY not in lint.out + lint.err and "hunter2" not in lint.out + lint.err


def test_lint_checks_the_shipped_example_site_file(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    r = run_cli("lint", "--site", "rinsync.yaml")
    assert r.code == 0 and r.out == "", r.out


def test_the_readmes_site_file_example_is_a_valid_site_file(tmp_path):
    import re

    from rinsync.site import check_site

    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.S) if "targets:" in b]
    assert blocks
    for block in blocks:
        path = tmp_path / "rinsync.yaml"
        path.write_text(block)
        assert check_site(path)[2] == []


def test_sync_and_reload_script_runs_from_the_site_file_with_only_the_key(env, httpserver):
    """The cron line: `scripts/sync-and-reload.sh` in the directory of rinsync.yaml, only the proxy's key in the
    environment (no RINSYNC_RELOAD_CMD, RINSYNC_PROXY_URL…): it reloads, the proxy confirms."""
    import os
    import subprocess
    import sys

    config = env / "cfg" / "config.yaml"
    proxy = StandIn(httpserver, config, env, KEY)
    marker = env / "reloads.log"
    site(env, f"""rules: [{RULES}]
targets:
  litellm:
    config: cfg/config.yaml
    proxies: [{proxy.url}]
    reload: "echo reloaded >> {marker}; touch RELOAD"
    reload_timeout: 5
""")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RINSYNC_") and not k.endswith("_KEY")}
    clean.update(RINSYNC_BIN=f"{sys.executable} -m rinsync", LITELLM_MASTER_KEY=KEY, SOURCE_DATE_EPOCH="1795478400",
                 NO_PROXY="127.0.0.1,localhost")
    done = subprocess.run([str(REPO / "scripts" / "sync-and-reload.sh"), "--catalog", CATALOG], env=clean, cwd=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "reloaded\n" and "serves the new config" in done.stderr
    assert proxy.served() == generated(config) and KEY not in done.stdout + done.stderr


def test_a_site_file_with_only_open_webui_writes_no_litellm_config(env, httpserver, run_cli, monkeypatch):
    webui = FakeOpenWebUI(httpserver, TOKEN)
    site(env, f"rules: [{RULES}]\ntargets:\n  openwebui:\n    url: {webui.url}\n    key_env: TEAM_WEBUI_KEY\n")
    monkeypatch.setenv("TEAM_WEBUI_KEY", TOKEN)
    monkeypatch.delenv("OPENWEBUI_API_KEY", raising=False)
    r = run_cli("sync", "--catalog", CATALOG)
    assert r.code == 0, r.err
    assert len(webui.records) == 27 and not (env / "config" / "litellm" / "config.yaml").exists()
    assert TOKEN not in r.out + r.err
    monkeypatch.delenv("TEAM_WEBUI_KEY")
    missing = run_cli("sync", "--catalog", CATALOG)
    assert missing.code == 2 and "TEAM_WEBUI_KEY is not set" in missing.err


@pytest.mark.parametrize("name", ["LITELLM_MASTER_KEY", "team_proxy_key_for_region_2", "KEY2"])
def test_long_or_lower_case_variable_names_are_names_not_secrets(tmp_path, name):
    from rinsync.site import check_site

    path = site(tmp_path, f"targets:\n  litellm:\n    key_env: {name}\n")
    assert check_site(path)[2] == []
