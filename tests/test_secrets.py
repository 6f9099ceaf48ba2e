"""The API key never shows up: not in stdout/stderr (also with -v/--debug), messages, files, backups or the cache."""

from __future__ import annotations

import json
import sys

import pytest
from helpers_sync import (
    CATALOG_NEW,
    FAKE_KEY,
    CatalogServer,
    Reply,
    closed_port_url,
    make_rules,
    new_site,
    rinsync_cmd,
    run,
    subprocess_env,
    subset_catalog,
)

FRAGMENT = FAKE_KEY[10:30]  # a distinctive piece: partial leaks count too
CATALOG = CATALOG_NEW.read_bytes()


def echoing_catalog() -> bytes:
    """A valid catalog that quotes the key back (a hostile or buggy mirror)."""
    data = json.loads(CATALOG)
    data["data"][0]["description"] = f"your key is {FAKE_KEY}"
    return json.dumps(data).encode()


@pytest.fixture
def site(tmp_path):
    config = new_site(tmp_path)
    rules = make_rules(tmp_path / "rules", retries=1, read=1.0)
    return tmp_path, config, rules


def test_fake_key_never_leaks(site):
    tmp, config, rules = site
    outputs: list[str] = []
    with CatalogServer() as server:
        env = subprocess_env(OPENROUTER_API_KEY=FAKE_KEY, RINSYNC_RETRY_BACKOFF="0.01")

        def sync(*args: str, environ=env, expect: int = 0, url: str | None = None) -> None:
            cmd = rinsync_cmd("compile", "--rules", str(rules), "--config", str(config), "-v", "--debug",
                              "--source-url", url or server.url, *args)
            done = run(cmd, environ, tmp)
            outputs.extend([done.stdout, done.stderr])
            assert done.returncode == expect, done.stderr

        server.serve(CATALOG, ETag='"v1"')
        sync()  # 200, cache written
        sync()  # 304 from the cache
        sync("--dry-run")
        server.queue(Reply(500, f"internal error for Bearer {FAKE_KEY}".encode()),
                     Reply(500, f"still failing {FAKE_KEY}".encode()))
        sync(expect=75)
        server.queue(Reply(401, json.dumps({"error": f"invalid key {FAKE_KEY}"}).encode()))
        sync(expect=75)
        server.queue(Reply(200, f"<html>{FAKE_KEY}</html>".encode()))
        sync(expect=75)
        server.queue(Reply(200, echoing_catalog(), headers={"ETag": f'"{FAKE_KEY}"'}))
        sync(expect=75)  # a response holding the key is a failed fetch: nothing of it is used or stored
        server.queue(Reply(200, CATALOG, headers={"ETag": f'"{FAKE_KEY}"'}))
        sync(expect=75)  # the same for the key in a header that would go to the cache
        server.queue(Reply(200, subset_catalog(CATALOG_NEW, 20)))
        sync(expect=3)  # shrink guard
        sync(url=closed_port_url(), expect=75)
        with_userinfo = server.url.replace("http://", f"http://user:{FAKE_KEY}@")
        sync(url=with_userinfo)
        checker = tmp / "check.py"
        checker.write_text("import os, sys\nprint('key=' + os.environ.get('OPENROUTER_API_KEY', ''), file=sys.stderr)\n"
                           "sys.exit(1)\n")
        server.serve(subset_catalog(CATALOG_NEW, 300))
        sync("--validate-cmd", f"{sys.executable} {checker}", "--force", expect=4)
        # the key from a .env file instead of the environment
        dotenv = tmp / ".env"
        dotenv.write_text(f"OPENROUTER_API_KEY={FAKE_KEY}\n")
        server.serve(CATALOG)
        sync(environ=subprocess_env(RINSYNC_RETRY_BACKOFF="0.01"))
        sync("--env-file", str(dotenv), environ=subprocess_env(RINSYNC_RETRY_BACKOFF="0.01"))
        bearer = [r["headers"].get("Authorization") for r in server.requests]
    # the tests above are not vacuous: the key was really used and really echoed back
    assert bearer.count(f"Bearer {FAKE_KEY}") >= 8
    assert sum("the response contains the API key" in out for out in outputs) == 3  # html, body, ETag
    assert any("rinsync: debug" in out or "GET http://127.0.0.1" in out for out in outputs)
    for out in outputs:
        assert FRAGMENT not in out, out
    leaks = [p for p in tmp.rglob("*") if p.is_file() and p.name not in (".env", "check.py")
             and FRAGMENT.encode() in p.read_bytes()]
    assert leaks == []
    assert (config.parent / ".rinsync-cache" / "catalog.json").is_file()
    assert list(config.parent.glob("config.yaml.backup*"))


def test_in_process_errors_are_redacted(tmp_path, monkeypatch, run_cli):
    """The in-process path (main() turning errors into one line) redacts too."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENROUTER_API_KEY", FAKE_KEY)
    config = new_site(tmp_path)
    result = run_cli("compile", "--config", str(config), "--debug",
                     "--source-url", closed_port_url().replace("http://", f"http://{FAKE_KEY}@"))
    assert result.code == 75
    assert FRAGMENT not in result.out + result.err
    assert "connection refused" in result.err


def test_key_in_the_source_url_query_never_reaches_the_cache(tmp_path, monkeypatch, run_cli):
    """A mirror that takes the key as a query parameter: the cache records the query only as a hash."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENROUTER_API_KEY", FAKE_KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    config = new_site(tmp_path)
    with CatalogServer() as server:
        server.serve(CATALOG)
        result = run_cli("compile", "--config", str(config), "--source-url", f"{server.url}?key={FAKE_KEY}")
    assert result.code == 0, result.err
    assert FRAGMENT not in result.out + result.err
    meta = json.loads((config.parent / ".rinsync-cache" / "catalog.meta.json").read_text())
    assert "?sha256=" in meta["url"]
    assert [p for p in tmp_path.rglob("*") if p.is_file() and FRAGMENT.encode() in p.read_bytes()] == []
