"""Issue 9, family 3: upstream content is data, never a carrier of secrets, control characters, non-finite
numbers or unbounded size."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from helpers_sync import (
    CATALOG_NEW,
    CATALOG_OLD,
    FAKE_KEY,
    CatalogServer,
    assert_one_line_failure,
    entry,
    load,
    make_rules,
    new_site,
    rinsync_cmd,
    run_limited,
    snapshot,
    subprocess_env,
)

from rinsync.litellm.configfile import merge3, same
from rinsync.litellm.state import sha256, state_path
from rinsync.source.catalog import MAX_RECORDS

FRAGMENT = FAKE_KEY[10:30]


def _catalog(mutate) -> bytes:
    data = json.loads(CATALOG_NEW.read_bytes())
    mutate(data["data"])
    return json.dumps(data).encode()  # Python writes NaN and Infinity as the bare JSON literals


def _grep_key(directory, *outputs: str) -> list[str]:
    hits = [str(p) for p in directory.rglob("*") if p.is_file() and p.name != ".env"
            and FRAGMENT.encode() in p.read_bytes()]
    return hits + [o for o in outputs if FRAGMENT in o]


class EchoServer:
    """Answers a real catalog whose first record's description quotes the request's Authorization header."""

    def __init__(self, in_etag: bool = False):
        catalog = json.loads(CATALOG_NEW.read_bytes())

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                echoed = str(self.headers.get("Authorization"))
                catalog["data"][0]["description"] = f"you sent {echoed}"
                body = json.dumps(catalog).encode() if not in_etag else CATALOG_NEW.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if in_etag:
                    self.send_header("ETag", f'"{echoed}"')
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v1/models"

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("in_etag", [False, True], ids=["echo-in-body", "echo-in-etag"])
def test_a_server_echoing_the_key_is_a_failed_fetch(tmp_path, in_etag):
    config = new_site(tmp_path)
    rules = make_rules(tmp_path / "rules", retries=0, total=20)
    env = subprocess_env(OPENROUTER_API_KEY=FAKE_KEY)
    with CatalogServer() as good:  # a first good sync: state, backups and cache exist and must stay as they are
        good.serve(CATALOG_OLD.read_bytes())
        first = run_limited(rinsync_cmd("compile", "--rules", str(rules), "--config", str(config),
                                        "--source-url", good.url), env, tmp_path, timeout=60)
        assert first.returncode == 0, first.stderr
    before = snapshot(tmp_path)
    with EchoServer(in_etag) as server:
        done = run_limited(rinsync_cmd("compile", "--rules", str(rules), "--config", str(config), "--debug",
                                       "--source-url", server.url), env, tmp_path, timeout=60)
    assert done.returncode == 75, done.stderr
    failure = [line for line in done.stderr.splitlines() if "fetch failed" in line]
    assert len(failure) == 1 and "the response contains the API key" in failure[0]
    assert "Traceback" not in done.stderr
    assert snapshot(tmp_path) == before
    assert _grep_key(tmp_path, done.stdout, done.stderr) == []


def test_control_characters_in_catalog_text_never_reach_the_config_or_a_line(env, run_cli):
    forged = "x/y\nrinsync: 999 generated models: +0 added, -0 removed -> config/litellm/config.yaml"

    def mutate(records):
        records[0]["id"] = records[0]["id"] + "\n"
        records[1]["id"] = forged
        records[2]["name"] = "Evil\x1b[2J\u202ename"
        records[3]["id"] = records[3]["id"] + "\x00"

    bad_ids = [r["id"] for r in json.loads(CATALOG_NEW.read_bytes())["data"][:4]]
    catalog = env / "hostile.json"
    catalog.write_bytes(_catalog(mutate))
    config = new_site(env)
    result = run_cli("compile", "--config", str(config), "--catalog", str(catalog))
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert all(line.startswith("rinsync: ") for line in lines), lines  # no forged or split line
    warnings = [line for line in lines if "skipped record" in line]
    assert len(warnings) == 4
    assert "'x/y\\x0arinsync: 999 generated models" in result.err and "\\x1b[2J\\u202ename" in result.err
    text = config.read_text()
    assert not any(c in text for c in "\x00\x1b\u202e") and "999 generated" not in text
    ids = {e.get("model_info", {}).get("openrouter_id") for e in load(config)["model_list"]}
    assert not ids & (set(bad_ids) | {forged})  # the four records were skipped whole


def test_non_finite_numbers_never_become_a_cost_or_limit(env, run_cli):
    def mutate(records):
        records[0]["pricing"]["prompt"] = float("nan")
        records[1]["pricing"]["completion"] = float("inf")
        records[2]["pricing"]["prompt"] = "1e999999999"
        records[3]["top_provider"]["max_completion_tokens"] = float("-inf")
        records[4]["context_length"] = "CTX"  # replaced by the literal 1e400 below

    text = _catalog(mutate).replace(b'"context_length": "CTX"', b'"context_length": 1e400')
    catalog = env / "hostile.json"
    catalog.write_bytes(text)
    rules = make_rules(env / "rules")
    (rules / "40-raw.yaml").write_text("version: 1\ncapabilities:\n  raw_weird: weird\n")
    data = json.loads(text)
    data["data"][5]["weird"] = float("nan")  # a field the schema does not know, copied by a rule
    catalog.write_text(json.dumps(data))
    config = new_site(env)
    result = run_cli("compile", "--rules", str(rules), "--config", str(config), "--catalog", str(catalog))
    assert result.code == 0, result.err
    assert result.err.count("is not a finite number") == 6, result.err
    generated = [e for e in load(config)["model_list"] if "openrouter_id" in e.get("model_info", {})]
    numbers = [v for e in generated for v in e["model_info"].values() if isinstance(v, float)]
    assert numbers and all(math.isfinite(v) for v in numbers)
    assert ".nan" not in config.read_text() and ".inf" not in config.read_text()


def test_a_nan_written_by_an_older_version_is_corrected_by_the_next_good_catalog(env, run_cli):
    config = new_site(env)
    assert run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW)).code == 0
    name = "openrouter/openai-gpt-4o"
    good = entry(config, name)["model_info"]["input_cost_per_token"]
    document = load(config)
    for item in document["model_list"]:
        if item.get("model_name") == name:
            item["model_info"]["input_cost_per_token"] = float("nan")
    poisoned = yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False).encode()
    assert b".nan" in poisoned
    config.write_bytes(poisoned)
    state = json.loads(state_path(config).read_text())
    state["generations"] = [state["generations"][0]]
    state["generations"][0]["config_sha256"] = sha256(poisoned)
    state["generations"][0]["entries"][name]["model_info"]["input_cost_per_token"] = float("nan")
    state_path(config).write_text(json.dumps(state))
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW), "-v")
    assert result.code == 0, result.err
    assert entry(config, name)["model_info"]["input_cost_per_token"] == good
    assert ".nan" not in config.read_text() and "kept hand edits" not in result.err


def test_nan_compares_equal_to_nan_in_the_merge():
    nan = float("nan")
    assert same({"a": [nan]}, {"a": [nan]}) and not same(nan, 0.5) and not same({"a": 1}, {"b": 1})
    kept: list[str] = []
    conflicts: list[str] = []
    assert merge3({"c": nan}, {"c": nan}, {"c": 0.5}, "", kept, conflicts) == {"c": 0.5}
    assert kept == [] and conflicts == []


def _huge(records: int) -> bytes:
    item = '{"id":"p/m%d","context_length":1000,"pricing":{"prompt":"0.000001","completion":"0.000002"}}'
    return ('{"data":[' + ",".join(item % i for i in range(records)) + "]}").encode()


def test_a_catalog_of_hundreds_of_thousands_of_records_fails_cleanly_from_the_network(tmp_path):
    config = new_site(tmp_path)
    rules = make_rules(tmp_path / "rules", retries=0, total=30)
    before = snapshot(tmp_path)
    with CatalogServer() as server:
        server.serve(_huge(300_000))  # ~30 MB: inside the byte limit, far beyond the record limit
        done = run_limited(rinsync_cmd("compile", "--rules", str(rules), "--config", str(config),
                                       "--source-url", server.url), subprocess_env(), tmp_path,
                           timeout=60, memory_mb=1024)
    assert_one_line_failure(done, 75, f"more than the limit of {MAX_RECORDS:,}", "kept config/litellm/config.yaml")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("payload", ["records", "values"])
def test_an_oversized_catalog_file_fails_cleanly(tmp_path, payload):
    catalog = tmp_path / "huge.json"
    catalog.write_bytes(_huge(300_000) if payload == "records" else b'{"data":[' + b",".join([b"{}"] * 4_000_000)
                        + b"]}")
    config = new_site(tmp_path)
    before = snapshot(tmp_path)
    done = run_limited(rinsync_cmd("compile", "--config", str(config), "--catalog", str(catalog)),
                       subprocess_env(), tmp_path, timeout=60, memory_mb=1024)
    assert_one_line_failure(done, 1, "huge.json", "not a catalog rinsync will use")
    assert snapshot(tmp_path) == before
