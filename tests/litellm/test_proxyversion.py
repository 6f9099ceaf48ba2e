"""Which LiteLLM a proxy runs (rinsync.litellm.proxyversion), against a stub proxy on 127.0.0.1 that
answers the readiness endpoints the way LiteLLM 1.106.2 and 1.108.7 do (proxy/health_endpoints)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from rinsync.litellm import proxyversion
from rinsync.litellm.proxyversion import TESTED_VERSIONS, ProxyVersion, parse, read_version

KEY = "sk-version-secret-0123456789abcdef"
KEY_ENV = "RINSYNC_TEST_PROXY_KEY"
DETAILS = "/health/readiness/details"
PUBLIC = "/health/readiness"


def details(version: object) -> dict:
    """The authenticated readiness payload of LiteLLM without a database."""
    return {"status": "healthy", "db": "Not connected", "cache": None, "litellm_version": version,
            "success_callbacks": [], "log_level": "WARNING", "is_detailed_debug": False}


def url(httpserver) -> str:
    return httpserver.url_for("/").rstrip("/")


# --------------------------------------------------------------------------
# the rule and the warning
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "rule"), [
    ("1.106.2", proxyversion.USAGE_COST_WINS),
    ("1.106.12", proxyversion.USAGE_COST_WINS),
    ("1.107.99", proxyversion.USAGE_COST_WINS),
    ("1.108.0", proxyversion.WRITTEN_WINS),
    ("1.108.7", proxyversion.WRITTEN_WINS),
    ("1.108.7.post1", proxyversion.WRITTEN_WINS),
    ("2.0.0", proxyversion.WRITTEN_WINS),
])
def test_the_billing_rule_changes_at_1_108_0(version, rule):
    assert ProxyVersion(version).line() == f"LiteLLM {version} ({rule})"


@pytest.mark.parametrize(("version", "side"), [("1.106.1", "older"), ("1.80.0", "older"), ("1.108.8", "newer"),
                                               ("1.109.0", "newer"), ("2.0.0", "newer")])
def test_a_version_outside_the_tested_range_warns_naming_the_tested_versions(version, side):
    warning = ProxyVersion(version).warning()
    assert warning is not None and "\n" not in warning
    assert f"LiteLLM {version} is {side}" in warning
    assert all(tested in warning for tested in TESTED_VERSIONS)


@pytest.mark.parametrize("version", [*TESTED_VERSIONS, "1.106.12", "1.107.0"])
def test_no_warning_inside_the_tested_range(version):
    assert ProxyVersion(version).warning() is None
    assert ProxyVersion(version).lines() == [ProxyVersion(version).line()]


@pytest.mark.parametrize("text", [None, "", "latest", "1.108", "v1.108.7", "1.108.7\nwarning: forged",
                                  "1.108.7" + "x" * 500, 1.108, ["1.108.7"]], ids=lambda text: repr(text)[:20])
def test_what_is_not_a_version_is_not_one(text):
    assert parse(text) is None
    assert ProxyVersion(None, "why").line().startswith("LiteLLM version unknown: why")


def test_the_tested_versions_are_the_ones_ci_installs():
    """ci/install-integration.sh installs exactly TESTED_VERSIONS: one place for the range."""
    script = Path(__file__).resolve().parents[2] / "ci" / "install-integration.sh"
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_VERSIONS"}
    done = subprocess.run(["bash", str(script), "--print-versions"], capture_output=True, text=True, timeout=30,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert tuple(done.stdout.split()) == TESTED_VERSIONS
    assert len(TESTED_VERSIONS) == 2 and parse(TESTED_VERSIONS[0]) < parse(TESTED_VERSIONS[1])


# --------------------------------------------------------------------------
# reading it from a proxy
# --------------------------------------------------------------------------


@pytest.mark.parametrize("version", TESTED_VERSIONS)
def test_reads_the_authenticated_details_endpoint_with_the_key(httpserver, version):
    httpserver.expect_request(DETAILS, method="GET", headers={"Authorization": f"Bearer {KEY}"}) \
        .respond_with_json(details(version))
    assert read_version(url(httpserver) + "/v1", KEY) == ProxyVersion(version)


def test_falls_back_to_the_public_probe_when_it_shows_details(httpserver):
    """A wrong key: details answer 401 (or 400 without a database); a proxy with
    allow_public_health_readiness_details still reports the version publicly."""
    httpserver.expect_request(DETAILS).respond_with_json({"error": {"message": "Authentication Error"}}, status=401)
    httpserver.expect_request(PUBLIC).respond_with_json(details("1.106.2"))
    assert read_version(url(httpserver), "sk-wrong").version == "1.106.2"


def test_unknown_when_neither_endpoint_reports_it(httpserver):
    httpserver.expect_request(DETAILS).respond_with_json({"error": "auth"}, status=401)
    httpserver.expect_request(PUBLIC).respond_with_json({"status": "healthy", "db": "Not connected"})
    found = read_version(url(httpserver), None)
    assert found.version is None
    assert found.line() == ("LiteLLM version unknown: GET /health/readiness/details answered HTTP 401 "
                            "(billing rule unknown: see docs/pricing.md)")
    assert found.warning() is None


@pytest.mark.parametrize("body", [b"", b"not json", b"[" * 50_000, b"{\"litellm_version\": \"" + b"9" * 70_000 + b"\"}",
                                  b"{\"litellm_version\": \"1.108.7\\n\\u001b[31mforged\"}",
                                  b"{\"litellm_version\": {\"major\": 1}}"],
                         ids=lambda body: f"{len(body)}-bytes")
def test_hostile_answers_give_unknown_never_an_exception(httpserver, body):
    for path in (DETAILS, PUBLIC):
        httpserver.expect_request(path).respond_with_data(body, content_type="application/json")
    found = read_version(url(httpserver), KEY)
    assert found.version is None and "\n" not in found.line() and "\x1b" not in found.line()


def test_a_proxy_that_does_not_answer_costs_a_bounded_time(httpserver):
    def slow(_request):
        time.sleep(3)
        return None

    httpserver.expect_request(DETAILS).respond_with_handler(slow)
    httpserver.expect_request(PUBLIC).respond_with_handler(slow)
    start = time.monotonic()
    found = read_version(url(httpserver), KEY, timeout=0.3)
    assert time.monotonic() - start < 2.0
    assert found.version is None and "GET /health/readiness failed" in found.line()


def test_an_unreachable_proxy_is_unknown():
    found = read_version("http://127.0.0.1:9", KEY, timeout=0.5)
    assert found.version is None and "failed" in found.line()


# --------------------------------------------------------------------------
# rinsync verify prints it
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "warns"), [("1.108.7", False), ("1.110.0", True)])
def test_verify_prints_the_version_and_its_billing_rule(httpserver, tmp_path, run_cli, monkeypatch, version, warns):
    monkeypatch.setenv(KEY_ENV, KEY)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"model_list": [{"model_name": "hand", "litellm_params": {"model": "x/y"}}]}))
    auth = {"Authorization": f"Bearer {KEY}"}
    httpserver.expect_request("/v1/models", headers=auth).respond_with_json({"data": [{"id": "hand"}]})
    httpserver.expect_request("/model/info", headers=auth).respond_with_json({"data": []})
    httpserver.expect_request(DETAILS, headers=auth).respond_with_json(details(version))
    result = run_cli("verify", "--proxy", url(httpserver), "--config", str(config), "--key-env", KEY_ENV)
    assert result.code == 0, result.err
    assert f"rinsync: proxy: LiteLLM {version} ({proxyversion.WRITTEN_WINS})" in result.err.splitlines()
    warnings = [line for line in result.err.splitlines() if "warning: LiteLLM" in line]
    assert len(warnings) == (1 if warns else 0), result.err
    assert KEY not in result.out + result.err


# --------------------------------------------------------------------------
# every confirmation of an applied sync names it
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "warns"), [("1.106.2", False), ("1.105.0", True)])
def test_the_reload_confirmation_names_the_version_and_its_rule(env, tmp_path, run_cli, httpserver, monkeypatch,
                                                                 version, warns):
    from helpers_sync import subset_catalog
    from standin_proxy import StandIn

    from support import SAMPLE_CATALOG

    monkeypatch.setenv(KEY_ENV, KEY)
    config = tmp_path / "config.yaml"
    assert run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(config)).code == 0
    smaller = tmp_path / "smaller.json"
    smaller.write_bytes(subset_catalog(SAMPLE_CATALOG, 24))
    proxy = StandIn(httpserver, config, tmp_path, KEY)
    httpserver.expect_request(DETAILS, headers={"Authorization": f"Bearer {KEY}"}).respond_with_json(details(version))
    done = run_cli("compile", "--catalog", str(smaller), "--config", str(config), "--reload-cmd", "touch RELOAD",
                   "--proxy", proxy.url, "--key-env", KEY_ENV)
    assert done.code == 0, done.err
    confirmed = [line for line in done.err.splitlines() if "confirmed: the proxy at" in line]
    assert len(confirmed) == 1, done.err
    assert confirmed[0].endswith(f"; LiteLLM {version} ({proxyversion.USAGE_COST_WINS})"), confirmed[0]
    warnings = [line for line in done.err.splitlines() if f"warning: LiteLLM {version} is older" in line]
    assert len(warnings) == (1 if warns else 0), done.err
    assert KEY not in done.out + done.err
