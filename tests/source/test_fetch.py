"""Fetching the catalog from a local server: faults keep the config byte for byte and exit 75."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from helpers_sync import (
    CATALOG_NEW,
    Reply,
    closed_port_url,
    load,
    make_rules,
    new_site,
    snapshot,
)

from rinsync.source.fetch import (
    CatalogCache,
    FetchError,
    FetchSettings,
    Redactor,
    display_url,
    fetch_catalog,
    may_send_key,
    resolve_api_key,
)

CATALOG = CATALOG_NEW.read_bytes()
VALID = json.loads(CATALOG)




@pytest.fixture
def rules(tmp_path):
    return make_rules(tmp_path / "rules", retries=2, connect=1.0, read=0.5)


def settings(url: str, **kw) -> FetchSettings:
    values = {"retries": 2, "backoff": 0.01, "read_timeout": 0.5, "connect_timeout": 1.0, **kw}
    return FetchSettings(url=url, **values)


# --------------------------------------------------------------------------- fetch unit tests


def test_retries_on_503_and_429_then_succeeds(server):
    server.queue(Reply(503), Reply(429, headers={"Retry-After": "0"}))
    server.serve(CATALOG)
    waits: list[float] = []
    fetched = fetch_catalog(settings(server.url), sleep=waits.append)
    assert fetched.payload == CATALOG and fetched.attempts == 3
    assert len(server.requests) == 3 and len(waits) == 2
    assert waits[1] == 0.0  # Retry-After: 0 honoured instead of the backoff


def test_retry_after_is_honoured_and_capped(server):
    server.queue(Reply(429, headers={"Retry-After": "7"}), Reply(503, headers={"Retry-After": "3600"}))
    server.serve(CATALOG)
    waits: list[float] = []
    fetch_catalog(settings(server.url, max_wait=20), sleep=waits.append)
    assert waits == [7.0, 20.0]


def test_retry_after_http_date(server):
    server.queue(Reply(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))  # in the past: no wait
    server.serve(CATALOG)
    waits: list[float] = []
    fetch_catalog(settings(server.url), sleep=waits.append)
    assert waits == [0.0]


def test_backoff_doubles_without_retry_after(server):
    server.serve(b"busy", status=502)
    waits: list[float] = []
    with pytest.raises(FetchError) as info:
        fetch_catalog(settings(server.url, retries=3, backoff=1.0, max_wait=100), sleep=waits.append)
    assert [int(w) for w in waits] == [1, 2, 4]
    assert info.value.reason == "HTTP 502 Bad Gateway after 3 retries"
    assert len(server.requests) == 4


def test_4xx_is_not_retried(server):
    server.serve(b"nope", status=404)
    with pytest.raises(FetchError) as info:
        fetch_catalog(settings(server.url), sleep=lambda s: None)
    assert info.value.reason == "HTTP 404 Not Found" and len(server.requests) == 1


def test_query_params_and_headers(server):
    server.serve(CATALOG)
    fetch_catalog(settings(server.url, params={"output_modalities": "all"}), api_key="sk-test-123456")
    request = server.requests[0]
    assert request["path"] == "/api/v1/models?output_modalities=all"
    assert request["headers"]["Authorization"] == "Bearer sk-test-123456"
    assert request["headers"]["User-Agent"].startswith("rinsync/")


def test_no_key_no_authorization_header(server):
    server.serve(CATALOG)
    fetch_catalog(settings(server.url))
    assert "Authorization" not in server.requests[0]["headers"]


def test_key_only_over_https_or_loopback():
    assert may_send_key("https://openrouter.ai/api/v1/models")
    assert may_send_key("http://127.0.0.1:8080/models") and may_send_key("http://localhost/x")
    assert may_send_key("http://[::1]:80/x")
    assert not may_send_key("http://mirror.example.org/models")


def test_read_timeout(server):
    server.queue(Reply(200, CATALOG, delay=2.0))
    with pytest.raises(FetchError) as info:
        fetch_catalog(settings(server.url, retries=0, read_timeout=0.2))
    assert info.value.reason == "read timeout after 0.2s"


def test_connection_refused():
    with pytest.raises(FetchError) as info:
        fetch_catalog(settings(closed_port_url()))
    assert info.value.reason == "connection refused"
    assert info.value.exit_code == 75


def test_dns_failure(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "catalog.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(FetchError) as info:
        fetch_catalog(settings("http://catalog.invalid/api/v1/models"))
    assert info.value.reason == "DNS lookup failed for catalog.invalid"


def test_connection_cut_mid_body(server):
    server.queue(Reply(200, CATALOG, cut=True))
    with pytest.raises(FetchError) as info:
        fetch_catalog(settings(server.url, retries=0))
    assert info.value.reason == "connection broken while reading the response"


def test_conditional_request_and_304(server, tmp_path):
    cache = CatalogCache(tmp_path / "cache")
    server.serve(CATALOG, ETag='"v1"', **{"Last-Modified": "Wed, 19 Aug 2026 00:00:00 GMT"})
    first = fetch_catalog(settings(server.url), cache=cache)
    assert not first.not_modified and first.etag == '"v1"'
    cache.store(first)
    assert (tmp_path / "cache" / "catalog.json").stat().st_mode & 0o777 == 0o600
    second = fetch_catalog(settings(server.url), cache=cache)
    assert second.not_modified and second.payload == CATALOG and second.status == 304
    headers = server.requests[1]["headers"]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Wed, 19 Aug 2026 00:00:00 GMT"


def test_cache_ignored_for_another_url_or_when_tampered(server, tmp_path):
    cache = CatalogCache(tmp_path / "cache")
    server.serve(CATALOG, ETag='"v1"')
    cache.store(fetch_catalog(settings(server.url), cache=cache))
    assert cache.validators(server.url) == {"If-None-Match": '"v1"'}
    assert cache.validators(server.url + "?x=1") == {}
    (tmp_path / "cache" / "catalog.json").write_bytes(b'{"data": []}')
    assert cache.load() is None and cache.validators(server.url) == {}


def test_display_url_hides_credentials_and_query():
    assert display_url("https://user:secret@openrouter.ai/api/v1/models?key=abc") == \
        "https://openrouter.ai/api/v1/models"


def test_redactor_and_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("OTHER=1\nOPENROUTER_API_KEY=sk-from-dotenv-0000\n")
    assert resolve_api_key("OPENROUTER_API_KEY", env_file, {}) == ("sk-from-dotenv-0000",
                                                                 f"OPENROUTER_API_KEY in {env_file}")
    assert resolve_api_key("OPENROUTER_API_KEY", env_file, {"OPENROUTER_API_KEY": "sk-env-1111"})[0] == "sk-env-1111"
    assert resolve_api_key("OPENROUTER_API_KEY", None, {}) == (None, "none")
    redact = Redactor(["sk-env-1111", None, ""])
    assert redact("Bearer sk-env-1111 sk-env-1111") == "Bearer *** ***"


def test_requests_exception_text_never_used():
    """requests puts URLs (with any credentials) into exception text; reasons come from types only."""
    from rinsync.source.fetch import _network_reason

    exc = requests.exceptions.ConnectionError("HTTPConnectionPool(host='x', port=1): Max retries exceeded with url: "
                                              "/models?token=SECRET (Caused by refused)")
    assert "SECRET" not in _network_reason(exc, settings("http://x:1/models"))


# --------------------------------------------------------------------------- faults through the CLI

FAULTS = {
    "http-500": ([], Reply(500, b"oops")),
    "http-503-retry-after": ([], Reply(503, b"later", headers={"Retry-After": "0"})),
    "http-429": ([], Reply(429, b"slow down")),
    "http-404": ([], Reply(404, b"missing")),
    "http-401": ([], Reply(401, b'{"error": "bad key"}')),
    "html": ([], Reply(200, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})),
    "data-object": ([], Reply(200, b'{"data": {}}')),
    "empty-list": ([], Reply(200, b'{"data": []}')),
    "empty-body": ([], Reply(200, b"")),
    "truncated-json": ([], Reply(200, CATALOG[: len(CATALOG) // 3])),
    "cut-connection": ([], Reply(200, CATALOG, cut=True)),
    "dropped": ([], Reply(drop=True)),
    "read-timeout": ([], Reply(200, CATALOG, delay=3.0)),
    "all-records-bad": ([], Reply(200, b'{"data": [{"id": 5}, {"name": "x"}]}')),
    "error-then-5xx": ([Reply(502)], Reply(504, b"gateway timeout")),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_keeps_config_and_exits_75(fault, env, server, rules, run_cli):
    config = new_site(env)
    before = snapshot(env)
    queued, default = FAULTS[fault]
    server.queue(*queued)
    server.default = default
    result = run_cli("compile", "--rules", str(rules), "--config", str(config), "--source-url", server.url)
    assert result.code == 75, result.err
    assert snapshot(env) == before  # byte for byte; no backup, state, cache or lock file either
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"rinsync: fetch failed: {server.url}: ")
    assert lines[0].endswith("; kept config/litellm/config.yaml unchanged")
    assert "Traceback" not in result.err and result.out == ""


@pytest.mark.parametrize("kind", ["refused", "dns"])
def test_network_down_exits_75(kind, env, rules, run_cli, monkeypatch):
    config = new_site(env)
    before = config.read_bytes()
    url = closed_port_url()
    if kind == "dns":
        real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (_ for _ in ()).throw(
            socket.gaierror(socket.EAI_NONAME, "Name or service not known")) if host == "openrouter.invalid"
            else real(host, *a, **k))
        url = "http://openrouter.invalid/api/v1/models"
    monkeypatch.setenv("RINSYNC_SOURCE_URL", url)  # the environment variable works like --source-url
    result = run_cli("compile", "--rules", str(rules), "--config", str(config))
    assert result.code == 75
    reason = "connection refused" if kind == "refused" else "DNS lookup failed for openrouter.invalid"
    assert result.err == f"rinsync: fetch failed: {url}: {reason}; kept config/litellm/config.yaml unchanged\n"
    assert config.read_bytes() == before


def test_retry_message_names_the_retries(env, server, rules, run_cli):
    config = new_site(env)
    server.serve(b"down", status=503)
    result = run_cli("compile", "--rules", str(rules), "--config", str(config), "--source-url", server.url)
    assert result.code == 75
    assert "HTTP 503 Service Unavailable after 2 retries; kept" in result.err
    assert len(server.requests) == 3


def test_one_malformed_record_is_skipped_with_a_warning(env, server, rules, run_cli):
    config = new_site(env)
    bad = {"data": VALID["data"][:40] + [{"id": "broken/model", "context_length": "lots"}]}
    server.serve(json.dumps(bad).encode())
    result = run_cli("compile", "--rules", str(rules), "--config", str(config), "--source-url", server.url)
    assert result.code == 0, result.err
    assert "warning:" in result.err and "'broken/model'" in result.err
    names = {e["model_name"] for e in load(config)["model_list"]}
    assert "openrouter/broken-model" not in names and len(names) > 30


def test_fetch_sync_then_304_then_cache(env, server, rules, run_cli):
    config = new_site(env)
    server.serve(CATALOG, ETag='"abc"')
    args = ("compile", "--rules", str(rules), "--config", str(config), "--source-url", server.url)
    first = run_cli(*args)
    assert first.code == 0, first.err
    cache = config.parent / ".rinsync-cache"
    assert (cache / "catalog.json").read_bytes() == CATALOG
    assert json.loads((cache / "catalog.meta.json").read_text())["etag"] == '"abc"'
    written = config.read_bytes()
    second = run_cli(*args)
    assert second.code == 0, second.err
    assert server.requests[-1]["headers"].get("If-None-Match") == '"abc"'
    assert "no changes" in second.err and config.read_bytes() == written
    # offline: the server is gone, --catalog cache still compiles
    server.serve(b"down", status=500)
    offline = run_cli("compile", "--rules", str(rules), "--config", str(config), "--catalog", "cache")
    assert offline.code == 0, offline.err
    assert len(server.requests) == 2


def test_catalog_cache_without_cache_exits_75(env, rules, run_cli):
    config = new_site(env)
    before = config.read_bytes()
    result = run_cli("compile", "--rules", str(rules), "--config", str(config), "--catalog", "cache")
    assert result.code == 75
    assert result.err.startswith("rinsync: no cached catalog in config/litellm/.rinsync-cache")
    assert config.read_bytes() == before


def test_failed_fetch_does_not_touch_the_cache(env, server, rules, run_cli):
    config = new_site(env)
    server.serve(CATALOG)
    args = ("compile", "--rules", str(rules), "--config", str(config), "--source-url", server.url)
    assert run_cli(*args).code == 0
    before = snapshot(env)
    server.serve(b'{"data": {}}')
    assert run_cli(*args).code == 75
    assert snapshot(env) == before


def test_bearer_from_env_file_option_and_default_dotenv(env, server, rules, run_cli):
    config = new_site(env)
    server.serve(CATALOG)
    args = ("compile", "--rules", str(rules), "--config", str(config), "--source-url", server.url, "--dry-run")
    assert run_cli(*args).code == 0
    assert "Authorization" not in server.requests[-1]["headers"]  # optional: the catalog is public
    secrets = env / "secrets.env"
    secrets.write_text("OPENROUTER_API_KEY=sk-or-v1-from-env-file-1234\n")
    assert run_cli(*args, "--env-file", str(secrets)).code == 0
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-or-v1-from-env-file-1234"
    (env / ".env").write_text("OPENROUTER_API_KEY=sk-or-v1-from-dot-env-5678\n")
    assert run_cli(*args).code == 0
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-or-v1-from-dot-env-5678"


def test_api_key_env_name_comes_from_the_rules(env, server, tmp_path, run_cli, monkeypatch):
    rules = make_rules(tmp_path / "rules2")
    source = (rules / "00-source.yaml").read_text().replace("OPENROUTER_API_KEY", "MY_OR_KEY")
    (rules / "00-source.yaml").write_text(source)
    monkeypatch.setenv("MY_OR_KEY", "sk-custom-var-0000")
    config = new_site(env)
    server.serve(CATALOG)
    assert run_cli("compile", "--rules", str(rules), "--config", str(config), "--source-url", server.url).code == 0
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-custom-var-0000"
