"""`rinsync verify` without a real proxy: a local HTTP server (pytest-httpserver) answers
/v1/models and /model/info the way LiteLLM 1.106.2 does (see docs/integration-notes.md)."""

from __future__ import annotations

import copy
import socket
import time

import pytest
import yaml

from rinsync.litellm.verify import Difference, compare, same_value

KEY = "sk-verify-secret-0123456789abcdef"
KEY_ENV = "RINSYNC_TEST_PROXY_KEY"


def generated(or_id: str, **info) -> dict:
    model_info = {
        "mode": "chat",
        "supports_function_calling": True,
        "supports_vision": False,
        "supports_reasoning": True,
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1.0e-05,
        "generated_by": "rinsync",
        "openrouter_id": or_id,
    }
    model_info.update(info)
    return {
        "model_name": "openrouter/" + or_id.replace("/", "-"),
        "litellm_params": {"model": "openrouter/" + or_id, "api_key": "os.environ/OPENROUTER_API_KEY"},
        "model_info": model_info,
    }


HAND = {"model_name": "gpt-4o-direct",
        "litellm_params": {"model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_API_KEY"},
        "model_info": {"mode": "chat", "supports_vision": True}}
CONFIG = [generated("openai/gpt-4o"), generated("anthropic/claude-sonnet-4", supports_vision=True), HAND]


def proxy_view(entries: list[dict]) -> tuple[dict, dict]:
    """What LiteLLM answers for these config entries: /v1/models and /model/info bodies."""
    models = {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "openai"}
                                         for n in dict.fromkeys(e["model_name"] for e in entries)]}
    info = []
    for e in entries:
        params = {k: v for k, v in e["litellm_params"].items() if k != "api_key"}
        params["use_in_pass_through"] = False
        mi = dict(e.get("model_info") or {})
        mi.update({"id": "hash-" + e["model_name"], "db_model": False, "key": params["model"],
                   "supports_web_search": None, "litellm_provider": "openrouter"})
        info.append({"model_name": e["model_name"], "litellm_params": params, "model_info": mi})
    return models, {"data": info}


@pytest.fixture
def config_file(tmp_path):
    def write(entries=CONFIG, **top) -> str:
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump({"general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
                                        "model_list": entries, **top}, sort_keys=False))
        return str(path)

    return write


@pytest.fixture
def serve(httpserver):
    """serve(entries) -> proxy URL answering like LiteLLM for these entries (only with the right key)."""

    def start(entries=CONFIG, key: str | None = KEY, models=None, info=None) -> str:
        m, i = proxy_view(entries)
        headers = {"Authorization": f"Bearer {key}"} if key else None
        httpserver.expect_request("/v1/models", method="GET", headers=headers).respond_with_json(models or m)
        httpserver.expect_request("/model/info", method="GET", headers=headers).respond_with_json(info or i)
        return httpserver.url_for("/").rstrip("/")

    return start


@pytest.fixture
def verify(run_cli, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)

    def run(url: str, config: str, *extra: str):
        result = run_cli("verify", "--proxy", url, "--config", config, "--key-env", KEY_ENV, *extra)
        assert KEY not in result.out + result.err, "the key leaked into the output"
        return result

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# through the CLI
# --------------------------------------------------------------------------


def test_agree_exits_0_with_no_difference_lines(serve, config_file, verify):
    url = serve()
    r = verify(url, config_file())
    assert r.code == 0, r.err
    assert r.out == ""
    assert "OK: the proxy at" in r.err and "exactly the 3 models" in r.err and "2 generated" in r.err


def test_trailing_v1_in_the_url_is_accepted(serve, config_file, verify):
    url = serve()
    assert verify(url + "/v1/", config_file()).code == 0


def test_missing_model(serve, config_file, verify):
    url = serve(CONFIG[1:])  # the proxy lacks openrouter/openai-gpt-4o
    r = verify(url, config_file())
    assert r.code == 1
    assert r.out.splitlines() == ["missing: openrouter/openai-gpt-4o (in config, not served by the proxy)"]
    assert "1 missing, 0 extra, 0 drifted" in r.err
    assert "restart the proxy" in r.err


def test_extra_model(serve, config_file, verify):
    stale = generated("mistralai/mistral-small")
    url = serve(CONFIG + [stale])
    r = verify(url, config_file())
    assert r.code == 1
    assert r.out.splitlines() == ["extra: openrouter/mistralai-mistral-small (served by the proxy, not in config)"]
    assert "0 missing, 1 extra" in r.err


def test_capability_drift(serve, config_file, verify):
    served = copy.deepcopy(CONFIG)
    served[0]["model_info"]["supports_vision"] = True
    served[0]["model_info"]["input_cost_per_token"] = 3e-06
    served[1]["model_info"]["max_output_tokens"] = None
    served[1]["litellm_params"]["model"] = "openrouter/anthropic/claude-3.5-sonnet"
    url = serve(served)
    r = verify(url, config_file())
    assert r.code == 1
    assert sorted(r.out.splitlines()) == sorted([
        "drift: openrouter/openai-gpt-4o supports_vision: config false, proxy true",
        "drift: openrouter/openai-gpt-4o input_cost_per_token: config 2.5e-06, proxy 3e-06",
        "drift: openrouter/anthropic-claude-sonnet-4 max_output_tokens: config 16384, proxy null",
        "drift: openrouter/anthropic-claude-sonnet-4 litellm_params.model: config "
        '"openrouter/anthropic/claude-sonnet-4", proxy "openrouter/anthropic/claude-3.5-sonnet"',
    ])
    assert "0 missing, 0 extra, 4 drifted value(s) in 2 generated model(s)" in r.err


def test_float_tolerance_and_hand_written_entries_are_not_drift(serve, config_file, verify):
    served = copy.deepcopy(CONFIG)
    served[0]["model_info"]["input_cost_per_token"] = 2.5e-06 * (1 + 1e-9)  # float noise
    served[0]["model_info"]["output_cost_per_token"] = 1e-05 + 1e-22
    served[2]["model_info"]["supports_vision"] = False  # hand-written: not compared
    served[2]["model_info"]["max_input_tokens"] = 128000  # litellm's cost map fills this in
    url = serve(served)
    r = verify(url, config_file())
    assert r.code == 0, r.out + r.err


def test_several_kinds_at_once_one_line_each(serve, config_file, verify):
    served = copy.deepcopy(CONFIG[1:]) + [generated("x-ai/grok-4")]
    served[0]["model_info"]["supports_reasoning"] = False
    url = serve(served)
    r = verify(url, config_file())
    assert r.code == 1
    assert r.out.splitlines() == [
        "missing: openrouter/openai-gpt-4o (in config, not served by the proxy)",
        "extra: openrouter/x-ai-grok-4 (served by the proxy, not in config)",
        "drift: openrouter/anthropic-claude-sonnet-4 supports_reasoning: config true, proxy false",
    ]


def test_unreachable_proxy_exits_75_with_one_line(config_file, verify):
    r = verify(f"http://127.0.0.1:{free_port()}", config_file())
    assert r.code == 75
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rinsync: error: cannot reach the LiteLLM proxy at http://127.0.0.1:")
    assert "connection refused" in lines[0]


def test_timeout_exits_75(httpserver, config_file, verify):
    def slow(request):
        time.sleep(1.0)
        from werkzeug import Response

        return Response("{}", content_type="application/json")

    httpserver.expect_request("/v1/models").respond_with_handler(slow)
    r = verify(httpserver.url_for("/").rstrip("/"), config_file(), "--timeout", "0.2")
    assert r.code == 75
    assert "did not complete GET /v1/models within 0.2s" in r.err


def test_http_500_exits_1_with_one_line_and_a_key_hint(httpserver, config_file, verify):
    # LiteLLM without prisma answers 500 (or 400 "No connected db.") instead of 401 to a bad key,
    # and auth errors may echo the key: it must not reach the output.
    httpserver.expect_request("/v1/models").respond_with_json(
        {"error": {"message": f"Authentication Error, invalid key {KEY}", "code": "500"}}, status=500)
    r = verify(httpserver.url_for("/"), config_file())
    assert r.code == 1
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "answered HTTP 500 to GET /v1/models" in lines[0]
    assert f"check that ${KEY_ENV} holds the proxy's master key" in lines[0]
    assert "invalid key ***" in lines[0]


@pytest.mark.parametrize("body", [{"error": "plain string error"}, {"detail": "plain string error"},
                                  ["plain string error"], "plain string error"])
def test_http_error_bodies_of_any_shape_give_one_line(httpserver, config_file, verify, body):
    if isinstance(body, str):
        httpserver.expect_request("/v1/models").respond_with_data(body, status=401)
    else:
        httpserver.expect_request("/v1/models").respond_with_json(body, status=401)
    r = verify(httpserver.url_for("/"), config_file())
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "answered HTTP 401 to GET /v1/models: " in lines[0]
    assert "plain string error" in lines[0]


def test_http_503_is_temporary(httpserver, config_file, verify):
    httpserver.expect_request("/v1/models").respond_with_data("starting", status=503)
    r = verify(httpserver.url_for("/"), config_file())
    assert r.code == 75
    assert "HTTP 503" in r.err and "retry later" in r.err


def test_model_info_error_is_reported_for_that_endpoint(httpserver, config_file, verify):
    m, _ = proxy_view(CONFIG)
    httpserver.expect_request("/v1/models").respond_with_json(m)
    httpserver.expect_request("/model/info").respond_with_data("Internal Server Error", status=500)
    r = verify(httpserver.url_for("/"), config_file())
    assert r.code == 1
    assert "answered HTTP 500 to GET /model/info" in r.err


def test_falls_back_to_v1_model_info(httpserver, config_file, verify):
    m, i = proxy_view(CONFIG)
    httpserver.expect_request("/v1/models").respond_with_json(m)
    httpserver.expect_request("/model/info").respond_with_data("not found", status=404)
    httpserver.expect_request("/v1/model/info").respond_with_json(i)
    assert verify(httpserver.url_for("/"), config_file()).code == 0


def test_not_a_litellm_proxy(httpserver, config_file, verify):
    httpserver.expect_request("/v1/models").respond_with_data("<html>hello</html>", content_type="text/html")
    r = verify(httpserver.url_for("/"), config_file())
    assert r.code == 1
    assert "is this a LiteLLM proxy?" in r.err


def test_key_is_sent_as_bearer_and_missing_key_is_explained(serve, config_file, run_cli, monkeypatch):
    url = serve()  # answers only to "Bearer KEY"; pytest-httpserver gives 500 otherwise
    monkeypatch.delenv(KEY_ENV, raising=False)
    r = run_cli("verify", "--proxy", url, "--config", config_file(), "--key-env", KEY_ENV)
    assert r.code == 1
    assert f"${KEY_ENV} is not set: the proxy probably needs its master key" in r.err
    monkeypatch.setenv(KEY_ENV, KEY)
    r = run_cli("verify", "--proxy", url, "--config", config_file(), "--key-env", KEY_ENV)
    assert r.code == 0, r.err
    assert KEY not in r.out + r.err


def test_no_auth_proxy_without_key(serve, config_file, run_cli, monkeypatch):
    url = serve(key=None)
    monkeypatch.delenv(KEY_ENV, raising=False)
    r = run_cli("verify", "--proxy", url, "--config", config_file(), "--key-env", KEY_ENV)
    assert r.code == 0, r.err


def test_config_errors(tmp_path, verify, serve):
    url = serve()
    r = verify(url, str(tmp_path / "nope.yaml"))
    assert r.code == 1 and "not found" in r.err
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: [\n")
    r = verify(url, str(bad))
    assert r.code == 1 and "not valid YAML" in r.err
    r = verify(url, str(tmp_path))
    assert r.code == 2  # a directory: usage error from click


def test_undecodable_config_and_odd_include_are_one_line_errors(tmp_path, verify, serve):
    url = serve()
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"model_list: [\xff\xfe]\n")
    r = verify(url, str(binary))
    assert r.code == 1 and r.err.startswith(f"rinsync: error: config {binary}: not valid YAML")
    assert len(r.err.splitlines()) == 1
    odd = tmp_path / "odd.yaml"
    odd.write_text("include: 5\nmodel_list: []\n")
    r = verify(url, str(odd))
    assert r.code == 1 and r.err.startswith(f"rinsync: error: config {odd}: 'include' must be a list of file paths")


def test_include_files_are_part_of_the_config(tmp_path, serve, verify):
    url = serve()
    (tmp_path / "extra.yaml").write_text(yaml.safe_dump({"model_list": [HAND]}))
    main = tmp_path / "config.yaml"
    main.write_text(yaml.safe_dump({"include": ["extra.yaml"], "model_list": CONFIG[:2]}))
    assert verify(url, str(main)).code == 0


def test_proxy_required(run_cli, config_file):
    r = run_cli("verify", "--config", config_file())
    assert r.code == 2 and "--proxy" in r.err


# --------------------------------------------------------------------------
# the comparison itself
# --------------------------------------------------------------------------


def test_same_value_rules():
    assert same_value(True, True) and not same_value(True, False)
    assert not same_value(True, 1) and not same_value(1, True) and not same_value(False, 0)
    assert same_value(128000, 128000.0)
    assert same_value(2.5e-06, 2.5000000001e-06)
    assert not same_value(2.5e-06, 2.6e-06)
    assert not same_value(0, 1e-12) and same_value(0, 0.0)
    assert not same_value(1e-05, None) and not same_value("chat", "embedding")


def test_compare_picks_the_deployment_of_a_model_group_by_openrouter_id():
    a = generated("openai/gpt-4o")
    b = copy.deepcopy(a)
    b["model_info"]["openrouter_id"] = "openai/gpt-4o-2024-08-06"
    b["litellm_params"]["model"] = "openrouter/openai/gpt-4o-2024-08-06"
    b["model_info"]["supports_vision"] = True
    models, info = proxy_view([b, a])  # same model_name, the proxy lists b first
    diffs, checked = compare([a, b], [m["id"] for m in models["data"]], info["data"])
    assert (diffs, checked) == ([], 2)
    info["data"][1]["model_info"]["supports_vision"] = True  # a's deployment drifts
    diffs, _ = compare([a, b], [m["id"] for m in models["data"]], info["data"])
    assert diffs == [Difference("drift", a["model_name"], "supports_vision", False, True)]


def test_compare_served_name_without_model_info_is_drift():
    models, _ = proxy_view(CONFIG)
    diffs, _ = compare(CONFIG, [m["id"] for m in models["data"]], [])
    assert [d.line() for d in diffs] == [
        "drift: openrouter/openai-gpt-4o (served, but not in the proxy's model info)",
        "drift: openrouter/anthropic-claude-sonnet-4 (served, but not in the proxy's model info)",
    ]


def test_difference_lines_are_json_scalars():
    assert Difference("drift", "m", "mode", "chat", None).line() == 'drift: m mode: config "chat", proxy null'
    assert Difference("drift", "m", "input_cost_per_token", 1e-05, 0).line() == (
        "drift: m input_cost_per_token: config 1e-05, proxy 0")


def test_compare_tolerates_parts_that_are_not_mappings():
    entry = generated("openai/gpt-4o")
    odd_entry = dict(entry, litellm_params="openrouter/openai/gpt-4o")  # hand-edited into a string
    deployment = {"model_name": entry["model_name"], "model_info": "?", "litellm_params": None}
    for config_entry in (entry, odd_entry):
        diffs, checked = compare([config_entry], [entry["model_name"]], [deployment])
        assert checked == 1
        assert {d.key for d in diffs} >= {"mode", "openrouter_id"}
