"""rinsync's compiled config on the REAL LiteLLM proxy (marker ``integration``).

Per scenario (a real shared catalog) one proxy runs: ``rinsync compile --config`` merges the
catalog into a config holding hand-written entries (a direct OpenAI entry and a hand-written
``openrouter/...`` route without rinsync's marker), with an extra rules file that points every
generated entry at the FakeOpenRouter and adds the attribution headers. The tests compare what
the proxy serves with rinsync's standalone compile of the same catalog (``--output``), send one
chat through the proxy, run ``rinsync verify`` against it, and prove the assertion helpers fail
on a broken config.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from spec_oracle import expected_model_info, expected_name

import harness
from harness import FAKE_OPENROUTER_KEY, MASTER_KEY, REFERER, TITLE, FakeOpenRouter, LiteLLMProxy
from support import RULES_DIR, SHARED

pytestmark = pytest.mark.integration

SCENARIOS = ["openrouter-models-2026-08-19.json", "openrouter-models-2024-11-11.json"]

HAND_NAMES = harness.HAND_WRITTEN_NAMES


@dataclass
class Scenario:
    name: str
    dir: Path
    config: Path  # the merged config the proxy runs
    compiled: list[dict]  # rinsync's standalone compile of the same catalog
    proxy: LiteLLMProxy

    @property
    def expected_names(self) -> list[str]:
        return [e["model_name"] for e in self.compiled] + HAND_NAMES


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda n: n[len("openrouter-models-"):-len(".json")])
def scenario(request, tmp_path_factory, fake_openrouter: FakeOpenRouter):
    harness.require_integration("litellm")
    catalog = SHARED / "catalogs" / request.param
    if not catalog.is_file():
        pytest.fail(f"shared catalog {catalog} missing (set RINSYNC_SHARED_DIR)")
    d = tmp_path_factory.mktemp("proxy-" + catalog.stem)
    config, extra = harness.fake_site(d, fake_openrouter.api_base)
    harness.compile_into_config(config, catalog, RULES_DIR, extra)
    compiled = harness.compile_standalone(d / "compiled.yaml", catalog, RULES_DIR, extra)
    assert len(compiled) > 100 and all(harness.is_generated(e) for e in compiled)

    with LiteLLMProxy(config, log_dir=d / "proxy") as proxy:
        yield Scenario(request.param, d, config, compiled, proxy)


def chat_targets(compiled: list[dict]) -> list[dict]:
    """openai/gpt-4o when present (else the first entry), plus one id with a ':' variant suffix."""
    first = next((e for e in compiled if e["model_info"]["openrouter_id"] == "openai/gpt-4o"), compiled[0])
    colon = next((e for e in compiled if ":" in e["model_info"]["openrouter_id"]), None)
    return [first] + ([colon] if colon else [])


# --------------------------------------------------------------------------
# what the proxy serves
# --------------------------------------------------------------------------


def test_merged_config_holds_the_compiled_entries_and_the_hand_written_ones(scenario: Scenario):
    merged = harness.load_yaml(scenario.config)
    assert merged["general_settings"] == {"master_key": "os.environ/LITELLM_MASTER_KEY"}
    names = [e["model_name"] for e in merged["model_list"]]
    assert sorted(names) == sorted(scenario.expected_names)
    hand = [e for e in merged["model_list"] if not harness.is_generated(e)]
    assert [e["model_name"] for e in hand] == HAND_NAMES


def test_v1_models_lists_exactly_the_compiled_names_plus_the_hand_written(scenario: Scenario):
    harness.assert_serves_exactly(scenario.proxy.models(), scenario.expected_names)


def test_model_info_shows_what_rinsync_compiled_for_every_generated_model(scenario: Scenario):
    info = scenario.proxy.model_info()
    assert len(info) == len(scenario.expected_names)
    harness.assert_model_info_matches(scenario.compiled, info)

    # the comparison covered the capability flags, limits and costs, not just the marker
    keys = {k for e in scenario.compiled for k in e["model_info"]}
    assert {"mode", "supports_function_calling", "supports_vision", "supports_reasoning", "max_input_tokens",
            "input_cost_per_token", "output_cost_per_token"} <= keys
    with_limits = sum(1 for e in scenario.compiled if "max_output_tokens" in e["model_info"])
    assert with_limits > 0

    by_name = {d["model_name"]: d for d in info}
    for name in HAND_NAMES:
        assert "generated_by" not in by_name[name]["model_info"], name
        assert "openrouter_id" not in by_name[name]["model_info"], name
        assert "api_key" not in by_name[name]["litellm_params"]
    assert by_name["team-gpt-4o-mini"]["litellm_params"]["model"] == "openrouter/openai/gpt-4o-mini"


def test_served_model_info_follows_the_spec_for_every_catalog_record(scenario: Scenario):
    """Independent of rinsync's output: the proxy's flags, limits and costs derive from the raw catalog."""
    records = {r["id"]: r for r in json.loads((SHARED / "catalogs" / scenario.name).read_text())["data"]}
    served = [d for d in scenario.proxy.model_info() if d["model_info"].get("generated_by") == "rinsync"]
    assert len(served) == len(scenario.compiled)
    for deployment in served:
        info = deployment["model_info"]
        record = records[info["openrouter_id"]]
        assert deployment["model_name"] == expected_name(record["id"])
        for key, expected in expected_model_info(record).items():
            if expected is not None:
                assert harness.same_value(expected, info.get(key)), (record["id"], key, expected, info.get(key))


def test_chat_through_the_proxy_reaches_fake_openrouter(scenario: Scenario, fake_openrouter: FakeOpenRouter):
    for entry in chat_targets(scenario.compiled):
        or_id = entry["model_info"]["openrouter_id"]
        fake_openrouter.clear()
        resp = scenario.proxy.chat(entry["model_name"], [{"role": "user", "content": f"ping {or_id}"}])
        assert resp["choices"][0]["message"]["content"] == fake_openrouter.reply
        reqs = fake_openrouter.chat_requests()
        assert len(reqs) == 1, fake_openrouter.requests
        req = reqs[0]
        assert req["path"] == "/api/v1/chat/completions"
        assert req["json"]["model"] == or_id  # the OpenRouter id, not the openrouter/... alias
        assert req["json"]["messages"] == [{"role": "user", "content": f"ping {or_id}"}]
        assert req["headers"]["authorization"] == f"Bearer {FAKE_OPENROUTER_KEY}"
        assert req["headers"]["http-referer"] == REFERER
        assert req["headers"]["x-title"] == TITLE
        assert MASTER_KEY not in str(req["headers"])


# --------------------------------------------------------------------------
# rinsync verify against the running proxy
# --------------------------------------------------------------------------


def verify(scenario: Scenario, config: Path, key: str = MASTER_KEY):
    return harness.rinsync_verify(scenario.proxy.url, config, key)


def test_verify_agrees_with_the_running_proxy(scenario: Scenario):
    r = verify(scenario, scenario.config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""
    assert f"serves exactly the {len(scenario.expected_names)} models" in r.stderr
    assert f"model info of the {len(scenario.compiled)} generated models agrees" in r.stderr


def mutations(scenario: Scenario) -> dict[str, tuple]:
    """name -> (function changing a model_list in place, the verify line it must cause)."""
    gen = scenario.compiled
    removed, flipped = gen[0]["model_name"], gen[1]["model_name"]
    flag = "supports_vision" if "supports_vision" in gen[1]["model_info"] else "supports_function_calling"
    old = gen[1]["model_info"][flag]
    added = "openrouter/rinsync-test-not-served"

    def remove(ml):
        ml[:] = [e for e in ml if e["model_name"] != removed]

    def add(ml):
        entry = copy.deepcopy(gen[2])
        entry["model_name"] = added
        ml.append(entry)

    def flip(ml):
        next(e for e in ml if e["model_name"] == flipped)["model_info"][flag] = not old

    return {
        "removed": (remove, f"extra: {removed} (served by the proxy, not in config)"),
        "added": (add, f"missing: {added} (in config, not served by the proxy)"),
        "flag": (flip, f"drift: {flipped} {flag}: config {str(not old).lower()}, proxy {str(old).lower()}"),
    }


def write_mutated(scenario: Scenario, name: str, changes) -> Path:
    data = harness.load_yaml(scenario.config)
    for change in changes:
        change(data["model_list"])
    top = {k: v for k, v in data.items() if k != "model_list"}
    return harness.write_config(scenario.dir / f"mutated-{name}.yaml", data["model_list"], **top)


def test_verify_names_each_difference_of_another_config(scenario: Scenario):
    muts = mutations(scenario)
    for name, (change, line) in muts.items():
        r = verify(scenario, write_mutated(scenario, name, [change]))
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert r.stdout.splitlines() == [line], name
    r = verify(scenario, write_mutated(scenario, "all", [c for c, _ in muts.values()]))
    assert r.returncode == 1
    assert sorted(r.stdout.splitlines()) == sorted(line for _, line in muts.values())
    assert "1 missing, 1 extra, 1 drifted value(s) in 1 generated model(s)" in r.stderr


def test_verify_with_a_wrong_or_no_key_fails_in_one_line_without_the_key(scenario: Scenario):
    wrong = "sk-wrong-key-for-verify-test-123456"
    r = verify(scenario, scenario.config, key=wrong)
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"rinsync: error: the proxy at {scenario.proxy.url} answered HTTP ")
    assert "check that $LITELLM_MASTER_KEY holds the proxy's master key" in lines[0]

    r = verify(scenario, scenario.config, key="")  # no key at all
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "$LITELLM_MASTER_KEY is not set" in lines[0]


# --------------------------------------------------------------------------
# negative control: the assertions above can fail
# --------------------------------------------------------------------------


def test_assertion_helpers_catch_a_broken_config(scenario: Scenario):
    """A config broken after compile (a flag flipped, a limit and a cost changed, one model
    dropped, one invented) must make the same helpers the tests above use fail, naming each
    difference -- while the real compile passes them (see the tests above)."""
    served, info = scenario.proxy.models(), scenario.proxy.model_info()
    broken = copy.deepcopy(scenario.compiled)
    a = broken[0]
    b = next(e for e in broken[1:] if "max_input_tokens" in e["model_info"])
    c = next(e for e in broken[1:] if e is not b and e["model_info"].get("input_cost_per_token"))
    a["model_info"]["supports_function_calling"] = not a["model_info"]["supports_function_calling"]
    b["model_info"]["max_input_tokens"] += 1
    c["model_info"]["input_cost_per_token"] *= 1.5
    with pytest.raises(AssertionError) as exc:
        harness.assert_model_info_matches(broken, info)
    message = str(exc.value)
    assert message.startswith("3 model info mismatch(es)"), message
    assert f"{a['model_name']} model_info.supports_function_calling" in message
    assert f"{b['model_name']} model_info.max_input_tokens" in message
    assert f"{c['model_name']} model_info.input_cost_per_token" in message

    dropped = broken.pop(3)["model_name"]
    invented = "openrouter/rinsync-invented-model"
    names = [e["model_name"] for e in broken] + [invented] + HAND_NAMES
    with pytest.raises(AssertionError) as exc:
        harness.assert_serves_exactly(served, names)
    assert f"1 missing ['{invented}']" in str(exc.value)
    assert f"1 extra ['{dropped}']" in str(exc.value)

    # and the unbroken expectations pass against the same answers
    harness.assert_model_info_matches(scenario.compiled, info)
    harness.assert_serves_exactly(served, scenario.expected_names)
