"""Issue 9, family 2: a fetch ends within its total deadline whatever the server does; bad URLs are usage
errors; credentials in a URL never reach output, logs or the cache."""

from __future__ import annotations

import json
import time

import pytest
from helpers_sync import (
    CATALOG_NEW,
    FAKE_KEY,
    CatalogServer,
    Reply,
    assert_one_line_failure,
    make_rules,
    new_site,
    rinsync_cmd,
    run_limited,
    snapshot,
    subprocess_env,
)

from rinsync.files.lock import ConfigLock
from rinsync.source.fetch import FetchError, FetchSettings, fetch_catalog

CATALOG = CATALOG_NEW.read_bytes()
HEAD = len(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")


@pytest.mark.parametrize("after", [0, 200], ids=["slow-headers", "slow-body"])
def test_a_trickling_server_ends_at_the_total_deadline(tmp_path, after):
    """One byte every 0.2 s keeps each read inside its 1 s timeout; only the total deadline (3 s) ends it."""
    config = new_site(tmp_path)
    rules = make_rules(tmp_path / "rules", retries=2, connect=1.0, read=1.0, total=3.0)
    before = snapshot(tmp_path)
    with CatalogServer() as server:
        server.serve(CATALOG)
        server.default.trickle, server.default.trickle_after = 0.2, after
        started = time.monotonic()
        done = run_limited(rinsync_cmd("compile", "--rules", str(rules), "--config", str(config),
                                       "--source-url", server.url),
                           subprocess_env(OPENROUTER_API_KEY=FAKE_KEY), tmp_path, timeout=30, memory_mb=1024)
        elapsed = time.monotonic() - started
        assert server.requests and server.requests[0]["headers"]["Authorization"] == f"Bearer {FAKE_KEY}"
    assert FAKE_KEY[10:30] not in done.stdout + done.stderr
    assert_one_line_failure(done, 75, "no complete answer within the total deadline of 3s",
                            "kept config/litellm/config.yaml unchanged")
    assert 2.9 < elapsed < 10, elapsed
    assert snapshot(tmp_path) == before  # config byte for byte, and no cache, backup or state either
    lock = ConfigLock(config, timeout=0)
    lock.acquire()  # nobody holds the lock any more
    lock.release()


def test_retries_never_wait_past_the_deadline(server):
    server.queue(Reply(503, headers={"Retry-After": "20"}))
    server.serve(CATALOG)
    waits: list[float] = []
    settings = FetchSettings(url=server.url, retries=3, read_timeout=1, connect_timeout=1, total_timeout=2)
    with pytest.raises(FetchError) as info:
        fetch_catalog(settings, sleep=waits.append)
    assert waits == [] and "would end after the total deadline of 2s" in info.value.reason


def test_the_default_deadline_is_well_under_two_minutes():
    settings = FetchSettings.from_source({})
    assert settings.total_timeout == 60
    assert FetchSettings.from_source({"timeout": {"total": 5}}).total_timeout == 5


@pytest.mark.parametrize("url", ["http://[::1", "http://host:99999/x", "ftp://example.com/models", "http:///models",
                                 "http://exa mple.com/", "openrouter.ai/api/v1/models", "http://a.example/\n",
                                 "http://h:0/x"])
def test_a_malformed_source_url_is_a_usage_error(env, run_cli, url):
    config = new_site(env)
    before = config.read_bytes()
    result = run_cli("compile", "--config", str(config), "--source-url", url)
    lines = result.err.strip().splitlines()
    assert result.code == 2, result.err
    assert len(lines) == 1 and lines[0].startswith("rinsync: error: --source-url: ") and "Traceback" not in result.err
    assert config.read_bytes() == before


def test_a_malformed_url_in_the_rules_is_a_usage_error(env, run_cli):
    config = new_site(env)
    rules = make_rules(env / "rules", url="https://[broken/api")
    before = config.read_bytes()
    result = run_cli("compile", "--rules", str(rules), "--config", str(config))
    assert result.code == 2 and result.err.strip() == ("rinsync: error: source.url in the rules: not a valid URL "
                                                       "(bad host or port) (expected http(s)://host[:port]/path)")
    assert config.read_bytes() == before


@pytest.mark.parametrize("total", [".nan", ".inf", "-1"])
def test_a_deadline_that_is_not_a_positive_number_is_refused(env, run_cli, total):
    config = new_site(env)
    rules = make_rules(env / "rules")
    source = rules / "00-source.yaml"
    source.write_text(source.read_text().replace("read: 1.0", f"read: 1.0\n    total: {total}"))
    result = run_cli("compile", "--rules", str(rules), "--config", str(config))
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert "total" in result.err


SECRET = "qs-TOKEN-5b9e2d7c41aa"
PASSWORD = "pw-9c1f3e5a7b"


def test_credentials_in_the_url_never_reach_debug_output_errors_or_the_cache(env, run_cli, server):
    config = new_site(env)
    server.serve(CATALOG, ETag='"v1"')
    url = server.url.replace("http://", f"http://mirror:{PASSWORD}@") + f"?token={SECRET}&region=eu-central"
    outputs = []
    for args in (("-v", "--debug"), ("--debug",), ("--debug", "--dry-run")):
        result = run_cli("compile", "--config", str(config), "--source-url", url, *args)
        assert result.code == 0, result.err
        outputs.append(result.out + result.err)
    server.queue(Reply(503), Reply(503), Reply(503), Reply(503))
    failed = run_cli("compile", "--config", str(config), "--source-url", url, "--debug")
    assert failed.code == 75
    outputs.append(failed.out + failed.err)
    assert any('"GET /api/v1/models?' in out for out in outputs)  # urllib3's line with the query was logged
    for out in outputs:
        assert SECRET not in out and PASSWORD not in out
    assert [p for p in env.rglob("*") if p.is_file() and (SECRET.encode() in p.read_bytes()
                                                          or PASSWORD.encode() in p.read_bytes())] == []
    meta = json.loads((config.parent / ".rinsync-cache" / "catalog.meta.json").read_text())
    assert meta["url"].startswith(server.url + "?sha256=")
    assert server.requests[0]["path"].startswith(f"/api/v1/models?token={SECRET}")  # but it was really sent


def test_verify_ends_when_a_proxy_trickles_its_answer(tmp_path):
    """The same watchdog bounds `rinsync verify`: each answer within --timeout, however slowly it trickles."""
    config = new_site(tmp_path)
    with CatalogServer() as server:
        server.serve(b'{"data": []}')
        server.default.trickle = 0.2
        started = time.monotonic()
        done = run_limited(rinsync_cmd("verify", "--proxy", server.url.rsplit("/api", 1)[0], "--config", str(config),
                                       "--timeout", "1"), subprocess_env(), tmp_path, timeout=30, memory_mb=1024)
        elapsed = time.monotonic() - started
    assert_one_line_failure(done, 75, "did not complete GET /v1/models within 1s")
    assert elapsed < 10, elapsed
