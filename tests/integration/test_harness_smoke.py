"""Smoke tests of the integration harness against the REAL LiteLLM proxy and
the REAL Open WebUI, using a hand-written config in exactly the shape rinsync
generates (one generated OpenRouter entry + one hand-written entry).

Once rinsync compiles configs, the same fixtures take its real output instead
of ``HAND_WRITTEN_CONFIG``.
"""

from __future__ import annotations

import time

import pytest

import harness
from harness import FAKE_OPENROUTER_KEY, FakeOpenRouter, LiteLLMProxy, OpenWebUI

REFERER = "https://example.test"
TITLE = "rinsync-test"

# `{api_base}` is filled with the FakeOpenRouter's http://127.0.0.1:PORT/api/v1
HAND_WRITTEN_CONFIG = """\
model_list:
  - model_name: openrouter/openai-gpt-4o
    litellm_params:
      model: openrouter/openai/gpt-4o
      api_key: os.environ/OPENROUTER_API_KEY
      api_base: {api_base}
      extra_headers: {{HTTP-Referer: https://example.test, X-Title: rinsync-test}}
    model_info:
      mode: chat
      supports_function_calling: true
      supports_vision: true
      supports_reasoning: false
      supports_response_schema: true
      max_input_tokens: 128000
      max_output_tokens: 16384
      input_cost_per_token: 2.5e-06
      output_cost_per_token: 1.0e-05
      generated_by: rinsync
      openrouter_id: openai/gpt-4o
  - model_name: gpt-4o-direct          # a hand-written entry
    litellm_params: {{model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}}
"""

GENERATED_NAME = "openrouter/openai-gpt-4o"
HAND_NAME = "gpt-4o-direct"

EXPECTED_GENERATED_MODEL_INFO = {
    "mode": "chat",
    "supports_function_calling": True,
    "supports_vision": True,
    "supports_reasoning": False,
    "supports_response_schema": True,
    "max_input_tokens": 128000,
    "max_output_tokens": 16384,
    "input_cost_per_token": 2.5e-06,
    "output_cost_per_token": 1.0e-05,
    "generated_by": "rinsync",
    "openrouter_id": "openai/gpt-4o",
}


# --------------------------------------------------------------------------
# LiteLLM proxy alone
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, fake_openrouter: FakeOpenRouter):
    harness.require_integration("litellm")
    d = tmp_path_factory.mktemp("proxy-smoke")
    cfg = d / "config.yaml"
    cfg.write_text(HAND_WRITTEN_CONFIG.format(api_base=fake_openrouter.api_base))
    with LiteLLMProxy(cfg, log_dir=d) as p:
        yield p


@pytest.mark.integration
class TestLiteLLMProxy:
    def test_v1_models_lists_exactly_the_configured_names(self, proxy: LiteLLMProxy):
        assert sorted(proxy.models()) == sorted([GENERATED_NAME, HAND_NAME])

    def test_model_info_keeps_configured_flags_limits_costs_and_custom_keys(self, proxy: LiteLLMProxy):
        info = proxy.model_info_by_name()
        assert set(info) == {GENERATED_NAME, HAND_NAME}
        mi = info[GENERATED_NAME]["model_info"]
        got = {k: mi.get(k) for k in EXPECTED_GENERATED_MODEL_INFO}
        assert got == EXPECTED_GENERATED_MODEL_INFO
        assert mi["litellm_provider"] == "openrouter"
        lp = info[GENERATED_NAME]["litellm_params"]
        assert lp["model"] == "openrouter/openai/gpt-4o"
        assert lp["extra_headers"] == {"HTTP-Referer": REFERER, "X-Title": TITLE}
        assert "api_key" not in lp  # the proxy strips secrets from model info

    def test_hand_written_entry_has_no_rinsync_marker(self, proxy: LiteLLMProxy):
        mi = proxy.model_info_by_name()[HAND_NAME]["model_info"]
        assert "generated_by" not in mi
        assert "openrouter_id" not in mi

    def test_chat_reaches_fake_openrouter_with_id_key_and_headers(
        self, proxy: LiteLLMProxy, fake_openrouter: FakeOpenRouter
    ):
        fake_openrouter.clear()
        resp = proxy.chat(GENERATED_NAME, [{"role": "user", "content": "ping"}])
        assert resp["choices"][0]["message"]["content"] == fake_openrouter.reply

        reqs = fake_openrouter.chat_requests()
        assert len(reqs) == 1, fake_openrouter.requests
        req = reqs[0]
        assert req["path"] == "/api/v1/chat/completions"
        assert req["json"]["model"] == "openai/gpt-4o"  # no "openrouter/" prefix upstream
        assert req["json"]["messages"] == [{"role": "user", "content": "ping"}]
        assert req["headers"]["authorization"] == f"Bearer {FAKE_OPENROUTER_KEY}"
        assert req["headers"]["http-referer"] == REFERER
        assert req["headers"]["x-title"] == TITLE


# --------------------------------------------------------------------------
# LiteLLM proxy + Open WebUI
# --------------------------------------------------------------------------


def new_model_list(api_base: str) -> list[dict]:
    """A different model set for the restart scenario (two generated + the hand-written one)."""

    def generated(or_id: str) -> dict:
        return {
            "model_name": "openrouter/" + or_id.replace("/", "-"),
            "litellm_params": {
                "model": "openrouter/" + or_id,
                "api_key": "os.environ/OPENROUTER_API_KEY",
                "api_base": api_base,
                "extra_headers": {"HTTP-Referer": REFERER, "X-Title": TITLE},
            },
            "model_info": {"mode": "chat", "generated_by": "rinsync", "openrouter_id": or_id},
        }

    return [
        generated("anthropic/claude-sonnet-4"),
        generated("meta-llama/llama-3.1-8b-instruct"),
        {"model_name": HAND_NAME, "litellm_params": {"model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_API_KEY"}},
    ]


@pytest.fixture(scope="class")
def stack(tmp_path_factory, fake_openrouter: FakeOpenRouter):
    harness.require_integration("litellm", "openwebui")
    d = tmp_path_factory.mktemp("e2e")
    cfg = d / "config.yaml"
    cfg.write_text(HAND_WRITTEN_CONFIG.format(api_base=fake_openrouter.api_base))
    with LiteLLMProxy(cfg, log_dir=d / "proxy") as proxy:
        with OpenWebUI(proxy.url + "/v1", openai_key=proxy.master_key, log_dir=d / "webui") as webui:
            yield proxy, webui, cfg


def _wait_for_ids(webui: OpenWebUI, expected: list[str], refresh: bool, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        ids = webui.model_ids(refresh=refresh)
        if sorted(ids) == sorted(expected) or time.monotonic() > deadline:
            return ids
        time.sleep(1)


@pytest.mark.e2e
class TestOpenWebUIFollowsProxy:
    def test_openwebui_lists_the_proxy_models(self, stack):
        proxy, webui, _ = stack
        assert sorted(webui.model_ids()) == sorted(proxy.models()) == sorted([GENERATED_NAME, HAND_NAME])

    def test_openwebui_follows_a_new_config_after_proxy_restart(self, stack, fake_openrouter: FakeOpenRouter):
        proxy, webui, cfg = stack
        model_list = new_model_list(fake_openrouter.api_base)
        harness.write_config(cfg, model_list)
        proxy.restart()
        expected = [e["model_name"] for e in model_list]
        assert sorted(proxy.models()) == sorted(expected)
        # Open WebUI caches the OpenAI model list for MODELS_CACHE_TTL (1 s by
        # default); a plain GET /api/models picks the new list up by itself...
        assert sorted(_wait_for_ids(webui, expected, refresh=False)) == sorted(expected)
        # ...and ?refresh=true forces a re-fetch at once.
        assert sorted(webui.model_ids(refresh=True)) == sorted(expected)

    def test_chat_through_openwebui_reaches_fake_openrouter(self, stack, fake_openrouter: FakeOpenRouter):
        proxy, webui, _ = stack
        model = proxy.models()[0]
        if not model.startswith("openrouter/"):
            model = next(m for m in proxy.models() if m.startswith("openrouter/"))
        fake_openrouter.clear()
        status, body = harness.http_json(
            "POST",
            f"{webui.url}/api/chat/completions",
            body={"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": False},
            headers=webui.auth,
            timeout=60,
        )
        assert status == 200, body
        assert body["choices"][0]["message"]["content"] == fake_openrouter.reply
        reqs = fake_openrouter.chat_requests()
        assert reqs, fake_openrouter.requests
        assert reqs[-1]["headers"]["authorization"] == f"Bearer {FAKE_OPENROUTER_KEY}"
