"""What the REAL LiteLLM proxy charges for rinsync's compiled entries (marker ``integration``).

One proxy runs the full compiled 2026-08-19 config (plus hand-written entries), pointed at the
FakeOpenRouter, with a small LiteLLM callback that appends every call's ``response_cost`` to a file
(the ``x-litellm-response-cost`` header is not sent on streamed responses). The FakeOpenRouter
answers with usage holding cached, written and reasoning tokens; the cost the proxy reports must
equal ``spec_oracle.openrouter_bill`` -- computed by hand from the raw catalog record, not from
rinsync's output -- to a millionth of a cent. With OpenRouter's own ``usage.cost`` in the answer,
the tests pin what the installed LiteLLM does: ``usage.cost`` wins on 1.106.x, the written prices from
1.108.0 (docs/pricing.md says the same); ``.ci/run`` runs this module on both tested versions.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from spec_oracle import expected_name, openrouter_bill

import harness
from harness import FakeOpenRouter, LiteLLMProxy
from rinsync.litellm.proxyversion import (
    TESTED_VERSIONS,
    USAGE_COST_WINS,
    WRITTEN_PRICES_WIN_FROM,
    WRITTEN_WINS,
    parse,
    read_version,
)
from support import RULES_DIR, SHARED

pytestmark = pytest.mark.integration

CATALOG = "openrouter-models-2026-08-19.json"
WARNING = "cache_read_input_token_cost will default to 0"
TOLERANCE = 1e-8  # USD: a millionth of a cent

COST_LOG_CALLBACK = '''\
import json, os
from litellm.integrations.custom_logger import CustomLogger


class CostLog(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        with open(os.environ["RINSYNC_COST_LOG"], "a") as f:
            f.write(json.dumps({"model": kwargs.get("model"), "stream": bool(kwargs.get("stream")),
                                "response_cost": kwargs.get("response_cost")}) + "\\n")


cost_log = CostLog()
'''

# (OpenRouter id, why it is here): cache read/write prices and a 200k tier; reasoning priced as
# completion and a 200k tier; a 272k tier; reasoning priced apart; no cache price at all (cached
# tokens cost the prompt price) with a 272k tier; a 128k tier.
MODELS = {
    "anthropic/claude-sonnet-4.5": 200_000,
    "~google/gemini-pro-latest": 200_000,
    "openai/gpt-5.5": 272_000,
    "perplexity/sonar-deep-research": None,
    "openai/gpt-5.4-pro": 272_000,
    "bytedance-seed/seed-2.0-code": 128_000,
}


def usage(prompt: int, cached: int, written: int, completion: int, reasoning: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}


SHORT = usage(3_000, 1_200, 500, 700, 300)


def long_usage(threshold: int, with_cache: bool) -> dict:
    """A prompt well above the tier's threshold (LiteLLM compares with '>', OpenRouter with '>=')."""
    return usage(threshold + 50_000, 20_000 if with_cache else 0, 3_000 if with_cache else 0, 900, 400)


@dataclass
class Billing:
    proxy: LiteLLMProxy
    records: dict[str, dict]
    cost_log: Path
    log_path: Path

    def costs(self, count: int) -> list[dict]:
        """The last ``count`` lines of the callback's log (waits for them: the callback runs after the reply)."""
        deadline = time.monotonic() + 15
        while True:
            lines = self.cost_log.read_text().splitlines() if self.cost_log.exists() else []
            if len(lines) >= count or time.monotonic() > deadline:
                return [json.loads(line) for line in lines[-count:]]
            time.sleep(0.1)


def start_proxy(d: Path, fake: FakeOpenRouter, config: Path) -> LiteLLMProxy:
    (d / "cost_log.py").write_text(COST_LOG_CALLBACK)
    data = harness.load_yaml(config)
    data.setdefault("litellm_settings", {})["callbacks"] = "cost_log.cost_log"
    top = {k: v for k, v in data.items() if k != "model_list"}
    harness.write_config(config, data["model_list"], **top)
    env = {"RINSYNC_COST_LOG": str(d / "costs.jsonl"), "PYTHONPATH": str(d)}
    return LiteLLMProxy(config, env=env, log_dir=d / "proxy")


@pytest.fixture(scope="module")
def billing(tmp_path_factory, fake_openrouter: FakeOpenRouter):
    harness.require_integration("litellm")
    catalog = SHARED / "catalogs" / CATALOG
    d = tmp_path_factory.mktemp("billing")
    config, extra = harness.fake_site(d, fake_openrouter.api_base)
    harness.compile_into_config(config, catalog, RULES_DIR, extra)
    records = {r["id"]: r for r in json.loads(catalog.read_text())["data"]}
    with start_proxy(d, fake_openrouter, config) as proxy:
        yield Billing(proxy, records, d / "costs.jsonl", proxy.log_path)


def chat_cost(billing: Billing, fake: FakeOpenRouter, model_id: str, use: dict, stream: bool = False) -> tuple:
    """(header cost or None, the callback's response_cost) of one chat whose reply carries ``use``."""
    fake.usage[model_id] = use
    before = len(billing.cost_log.read_text().splitlines()) if billing.cost_log.exists() else 0
    _, headers = billing.proxy.chat_raw(expected_name(model_id), [{"role": "user", "content": "bill me"}],
                                        stream=stream)
    logged = billing.costs(before + 1)[-1]
    assert logged["model"] == model_id and logged["stream"] is stream, logged
    header = headers.get("x-litellm-response-cost")
    return (None if header is None else float(header)), logged["response_cost"]


# --------------------------------------------------------------------------
# start-up log
# --------------------------------------------------------------------------


def test_start_up_log_has_no_pricing_warning(billing: Billing):
    log = billing.log_path.read_text()
    assert WARNING not in log, [line for line in log.splitlines() if WARNING in line][:3]
    assert "Uvicorn running on" in log or "Application startup complete" in log  # the log is the real one
    assert len(billing.proxy.models()) == 412 + len(harness.HAND_WRITTEN_NAMES)


def test_the_warning_check_catches_entries_without_cache_prices(billing: Billing, tmp_path: Path,
                                                                 fake_openrouter: FakeOpenRouter):
    """Negative control: the same config with the cache prices as rinsync wrote them before (only
    ``cache_read_input_token_cost``, only where OpenRouter lists ``input_cache_read``) makes the real
    proxy warn, naming only models that lost their cache prices."""
    data = harness.load_yaml(billing.proxy.config_path)
    stripped = set()
    for entry in data["model_list"]:
        info = entry.get("model_info") or {}
        record = billing.records.get(info.get("openrouter_id"))
        if record is None or "input_cost_per_token" not in info:
            continue
        for key in [k for k in info if k.startswith("cache_creation_input_token_cost")]:
            del info[key]
        if not record["pricing"].get("input_cache_read"):
            del info["cache_read_input_token_cost"]
            stripped.add(f"openrouter/{record['id']}")
    top = {k: v for k, v in data.items() if k != "model_list"}
    config = harness.write_config(tmp_path / "config.yaml", data["model_list"], **top)
    with start_proxy(tmp_path, fake_openrouter, config) as proxy:
        warned = [line.split("model=", 1)[1].split(" ", 1)[0]
                  for line in proxy.log_path.read_text().splitlines() if WARNING in line]
        # the warning's "default to 0" is not what happens: cached tokens cost the input price
        model_id = "perplexity/sonar-deep-research"
        assert f"openrouter/{model_id}" in warned
        stripped_billing = Billing(proxy, billing.records, tmp_path / "costs.jsonl", proxy.log_path)
        header, _ = chat_cost(stripped_billing, fake_openrouter, model_id, SHORT)
        cached_free = openrouter_bill(billing.records[model_id], SHORT) - 1_200 * 2e-06
        assert abs(header - openrouter_bill(billing.records[model_id], SHORT)) <= TOLERANCE, (header, cached_free)
    assert len(warned) > 150, len(warned)
    assert set(warned) <= stripped, sorted(set(warned) - stripped)


# --------------------------------------------------------------------------
# the cost of a call
# --------------------------------------------------------------------------


def cases(billing: Billing) -> list[tuple[str, dict]]:
    out = []
    for model_id, threshold in MODELS.items():
        out.append((model_id, SHORT))
        if threshold:
            # LiteLLM has no cache-price keys for the 128k tier: that tier is checked without cached tokens
            out.append((model_id, long_usage(threshold, with_cache=threshold != 128_000)))
    return out


def test_cost_without_usage_cost_is_the_catalog_price_by_hand(billing: Billing, fake_openrouter: FakeOpenRouter):
    checked = []
    for model_id, use in cases(billing):
        record = billing.records[model_id]
        want = openrouter_bill(record, use)
        header, logged = chat_cost(billing, fake_openrouter, model_id, use)
        assert header is not None, model_id
        assert abs(header - want) <= TOLERANCE, (model_id, use["prompt_tokens"], header, want)
        assert abs(logged - want) <= TOLERANCE, (model_id, use["prompt_tokens"], logged, want)
        streamed_header, streamed = chat_cost(billing, fake_openrouter, model_id, use, stream=True)
        assert streamed_header is None  # LiteLLM sends no cost header on a stream
        assert abs(streamed - want) <= TOLERANCE, (model_id, "stream", streamed, want)
        checked.append((model_id, use["prompt_tokens"], want))
    # the cases really cover tiers, cache and reasoning prices (not all at the base rate)
    assert len(checked) == 11
    flat = {m: openrouter_bill(billing.records[m], SHORT) for m in MODELS}
    for model_id, threshold in MODELS.items():
        if threshold:
            use = long_usage(threshold, with_cache=threshold != 128_000)
            base_only = dict(billing.records[model_id], pricing={
                k: v for k, v in billing.records[model_id]["pricing"].items() if k != "overrides"})
            assert openrouter_bill(billing.records[model_id], use) > openrouter_bill(base_only, use), model_id
    deep = billing.records["perplexity/sonar-deep-research"]
    as_completion = dict(deep, pricing={**deep["pricing"], "internal_reasoning": deep["pricing"]["completion"]})
    assert flat["perplexity/sonar-deep-research"] != openrouter_bill(as_completion, SHORT)


def modality_usage(audio_in: int = 0, audio_out: int = 0, image_out: int = 0) -> dict:
    use = usage(2_000, 0, 0, 1_500, 0)
    use["prompt_tokens_details"]["audio_tokens"] = audio_in
    use["completion_tokens_details"].update(audio_tokens=audio_out, image_tokens=image_out)
    return use


def test_audio_image_and_web_search_prices(billing: Billing, fake_openrouter: FakeOpenRouter):
    """Audio in and out (priced apart from text), image output tokens, and one web search (a reply
    with a url_citation annotation) cost what the catalog says."""
    cases = [("openai/gpt-audio", modality_usage(audio_in=600, audio_out=900), 0),
             ("google/gemini-2.5-flash-image", modality_usage(image_out=1_290), 0),
             ("anthropic/claude-sonnet-4.5", SHORT, 1)]
    for model_id, use, searches in cases:
        record = billing.records[model_id]
        want = openrouter_bill(record, use, searches)
        assert want != openrouter_bill(record, usage(use["prompt_tokens"], 0, 0, use["completion_tokens"], 0))
        if searches:
            fake_openrouter.annotations[model_id] = [{"type": "url_citation", "url_citation": {
                "url": "https://example.org/", "title": "Example", "start_index": 0, "end_index": 4}}]
        try:
            header, logged = chat_cost(billing, fake_openrouter, model_id, use)
        finally:
            fake_openrouter.annotations.pop(model_id, None)
        assert abs(header - want) <= TOLERANCE and abs(logged - want) <= TOLERANCE, (model_id, header, want)


def without_override(record: dict, min_prompt_tokens: int) -> dict:
    pricing = dict(record["pricing"])
    pricing["overrides"] = [o for o in pricing["overrides"] if o.get("min_prompt_tokens") != min_prompt_tokens]
    return dict(record, pricing=pricing)


def test_what_litellm_cannot_bill_is_billed_as_docs_pricing_md_says(billing: Billing,
                                                                      fake_openrouter: FakeOpenRouter):
    """The documented gaps, measured: a prompt of exactly a tier's min_prompt_tokens stays at the
    price below (LiteLLM compares with '>'), and a 32k tier (no LiteLLM key) is not applied."""
    sonnet = billing.records["anthropic/claude-sonnet-4.5"]
    at_boundary = usage(200_000, 20_000, 3_000, 900, 400)
    header, _ = chat_cost(billing, fake_openrouter, "anthropic/claude-sonnet-4.5", at_boundary)
    below = openrouter_bill(without_override(sonnet, 200_000), at_boundary)
    assert abs(header - below) <= TOLERANCE and below < openrouter_bill(sonnet, at_boundary)

    qwen = billing.records["qwen/qwen3-max-thinking"]
    mid = usage(50_000, 0, 0, 900, 0)
    header, _ = chat_cost(billing, fake_openrouter, "qwen/qwen3-max-thinking", mid)
    base = openrouter_bill(without_override(qwen, 32_000), mid)
    assert abs(header - base) <= TOLERANCE and base < openrouter_bill(qwen, mid)
    high = usage(150_000, 0, 0, 900, 0)  # above 128k the 128k tier applies
    header, _ = chat_cost(billing, fake_openrouter, "qwen/qwen3-max-thinking", high)
    assert abs(header - openrouter_bill(qwen, high)) <= TOLERANCE


def test_usage_cost_or_the_written_prices_win_as_the_version_says(billing: Billing,
                                                                   fake_openrouter: FakeOpenRouter):
    """A reply carrying OpenRouter's ``usage.cost`` to an entry with prices of its own. LiteLLM 1.106.x
    charges ``usage.cost``, plain and streamed. From 1.108.0 a plain reply is charged from the written
    prices (``response_cost_calculator``: ``... and not custom_pricing``), while a streamed reply is
    still charged ``usage.cost`` (measured on 1.108.7; docs/pricing.md). Run on each version CI installs."""
    version = parse(harness.litellm_version())
    assert version is not None, harness.litellm_version()
    model_id = "anthropic/claude-sonnet-4.5"
    billed = 0.0421337
    by_prices = openrouter_bill(billing.records[model_id], SHORT)
    assert abs(by_prices - billed) > 0.001
    want = by_prices if version >= WRITTEN_PRICES_WIN_FROM else billed
    header, logged = chat_cost(billing, fake_openrouter, model_id, {**SHORT, "cost": billed})
    assert header == pytest.approx(want, abs=TOLERANCE) and logged == pytest.approx(want, abs=TOLERANCE), (
        harness.litellm_version(), header, logged, want)
    _, streamed = chat_cost(billing, fake_openrouter, model_id, {**SHORT, "cost": billed}, stream=True)
    assert streamed == pytest.approx(billed, abs=TOLERANCE), (harness.litellm_version(), streamed, billed)


def test_the_proxy_reports_its_version_and_rinsync_names_the_rule_just_measured(billing: Billing):
    """rinsync.litellm.proxyversion reads the version the real proxy reports (GET
    /health/readiness/details with the master key), and ``rinsync verify`` prints it with the billing
    rule the test above measured on this version; no warning for a version CI tests."""
    found = read_version(billing.proxy.url, billing.proxy.master_key)
    assert found.version == harness.litellm_version()
    assert found.version in TESTED_VERSIONS and found.warning() is None
    rule = WRITTEN_WINS if parse(found.version) >= WRITTEN_PRICES_WIN_FROM else USAGE_COST_WINS
    assert found.line() == f"LiteLLM {found.version} ({rule})"
    assert read_version(billing.proxy.url, "sk-wrong-key").version is None  # the details need the key
    done = harness.rinsync_verify(billing.proxy.url, billing.proxy.config_path, key=billing.proxy.master_key)
    assert f"rinsync: proxy: LiteLLM {found.version} ({rule})" in done.stderr.splitlines(), done.stderr[-2000:]
    assert billing.proxy.master_key not in done.stdout + done.stderr


def test_the_openrouter_bills_recipe_on_the_real_proxy(billing: Billing, tmp_path: Path,
                                                       fake_openrouter: FakeOpenRouter):
    """docs/rules.md's recipe: without prices the proxy charges OpenRouter's ``usage.cost``, and a
    reply without one (plain or streamed) costs 0 -- the trade-off the docs state."""
    doc = (Path(harness.REPO_ROOT) / "docs" / "rules.md").read_text()
    start = doc.index("```yaml\nversion: 1\noverrides:\n  - id: openrouter-bills")
    recipe = tmp_path / "90-local.yaml"
    recipe.write_text(doc[start + len("```yaml\n"):doc.index("```\n", start + 7)])
    extra = tmp_path / "attribution.yaml"
    extra.write_text(harness.attribution_rules(fake_openrouter.api_base))
    compiled = harness.compile_standalone(tmp_path / "all.yaml", SHARED / "catalogs" / CATALOG, RULES_DIR, extra,
                                          recipe)
    keep = {expected_name(m) for m in MODELS}
    entries = [e for e in compiled if e["model_name"] in keep]
    assert len(entries) == len(MODELS) and not any("cost" in k for e in entries for k in e["model_info"])
    config = harness.write_config(tmp_path / "config.yaml", entries)
    cost_log = tmp_path / "costs.jsonl"
    with start_proxy(tmp_path, fake_openrouter, config) as proxy:
        assert WARNING not in proxy.log_path.read_text()
        recipe_billing = Billing(proxy, billing.records, cost_log, proxy.log_path)
        model_id = "anthropic/claude-sonnet-4.5"
        for stream in (False, True):
            _, logged = chat_cost(recipe_billing, fake_openrouter, model_id, SHORT, stream=stream)
            assert logged == 0.0, (stream, logged)
            _, logged = chat_cost(recipe_billing, fake_openrouter, model_id, {**SHORT, "cost": 0.0421337},
                                  stream=stream)
            assert logged == pytest.approx(0.0421337, abs=TOLERANCE), (stream, logged)


LITELLM_PRICE_FIELDS = """\
import json, sys
from litellm.types.utils import CustomPricingLiteLLMParams, without_server_derived_pricing
info = json.load(sys.stdin)
print(json.dumps({"not_params": sorted(k for k in info if k not in CustomPricingLiteLLMParams.model_fields),
                  "kept_by_model_new": sorted(without_server_derived_pricing(info))}))
"""


def test_every_price_key_can_move_to_litellm_params_for_an_api_applier(billing: Billing):
    """docs/pricing.md's note for a future API-based applier, checked against the installed LiteLLM:
    every price key rinsync writes is a custom-pricing field of ``litellm_params``, and ``/model/new``'s
    cleaning of ``model_info`` (``without_server_derived_pricing``) drops every one of them."""
    info: dict = {}
    for entry in harness.load_model_list(billing.proxy.config_path):
        info.update({k: v for k, v in (entry.get("model_info") or {}).items() if "cost" in k})
    assert len(info) >= 20
    python = Path(harness.litellm_bin()).with_name("python")
    result = subprocess.run([str(python), "-c", LITELLM_PRICE_FIELDS], input=json.dumps(info), capture_output=True,
                            text=True, timeout=120, env=harness.litellm_env())
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"not_params": [], "kept_by_model_new": []}
