"""End to end (marker ``e2e``): rinsync syncs a real catalog into a LiteLLM config, the REAL
proxy serves it, the REAL Open WebUI lists it; a sync of a NEWER catalog plus a proxy restart
makes the new models appear in Open WebUI and the removed ones disappear.

One proxy + one Open WebUI start and one proxy restart for the whole class; the tests run in
order (the second one syncs the newer catalog).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import harness
from harness import FAKE_OPENROUTER_KEY, FakeOpenRouter, LiteLLMProxy, OpenWebUI
from support import RULES_DIR, SHARED

OLD = SHARED / "catalogs" / "openrouter-models-2026-05-01.json"
NEW = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
HAND_NAMES = harness.HAND_WRITTEN_NAMES


@dataclass
class Stack:
    dir: Path
    config: Path
    extra_rules: Path
    old: list[dict]  # standalone compile of OLD
    new: list[dict]  # standalone compile of NEW
    proxy: LiteLLMProxy
    webui: OpenWebUI
    notes: dict = field(default_factory=dict)

    @property
    def old_names(self) -> set[str]:
        return {e["model_name"] for e in self.old}

    @property
    def new_names(self) -> set[str]:
        return {e["model_name"] for e in self.new}


@pytest.fixture(scope="class")
def stack(tmp_path_factory, fake_openrouter: FakeOpenRouter):
    harness.require_integration("litellm", "openwebui")
    for catalog in (OLD, NEW):
        if not catalog.is_file():
            pytest.fail(f"shared catalog {catalog} missing (set RINSYNC_SHARED_DIR)")
    d = tmp_path_factory.mktemp("e2e-sync")
    extra = d / "attribution.yaml"
    extra.write_text(harness.attribution_rules(fake_openrouter.api_base))
    config = d / "config.yaml"
    config.write_text(harness.hand_written_config(fake_openrouter.api_base))
    old = harness.compile_standalone(d / "old.yaml", OLD, RULES_DIR, extra)
    new = harness.compile_standalone(d / "new.yaml", NEW, RULES_DIR, extra)
    harness.compile_into_config(config, OLD, RULES_DIR, extra)
    with LiteLLMProxy(config, log_dir=d / "proxy") as proxy:
        with OpenWebUI(proxy.url + "/v1", openai_key=proxy.master_key, log_dir=d / "webui") as webui:
            yield Stack(d, config, extra, old, new, proxy, webui)


def wait_for_ids(webui: OpenWebUI, expected: set[str], timeout: float = 15) -> list[str]:
    """Open WebUI's model ids once they equal ``expected`` (or the last answer after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        ids = webui.model_ids(refresh=False)
        if set(ids) == expected or time.monotonic() > deadline:
            return ids
        time.sleep(1)


@pytest.mark.e2e
class TestSyncShowsUpInOpenWebUI:
    def test_openwebui_lists_exactly_the_synced_models(self, stack: Stack):
        expected = [e["model_name"] for e in stack.old] + HAND_NAMES
        ids = stack.webui.model_ids()
        harness.assert_serves_exactly(ids, expected)
        assert ids == stack.proxy.models()  # same order as the proxy
        r = harness.rinsync_verify(stack.proxy.url, stack.config)
        assert r.returncode == 0, r.stdout + r.stderr

    def test_newer_catalog_after_restart_adds_and_removes_models(self, stack: Stack):
        added = stack.new_names - stack.old_names
        removed = stack.old_names - stack.new_names
        assert added and removed, "the two catalogs must differ both ways for this test to mean anything"

        harness.compile_into_config(stack.config, NEW, RULES_DIR, stack.extra_rules)

        # synced but not restarted: the proxy (and so Open WebUI) still serve the old set,
        # and verify says exactly what is stale
        r = harness.rinsync_verify(stack.proxy.url, stack.config)
        assert r.returncode == 1
        lines = r.stdout.splitlines()
        missing = {ln.split()[1] for ln in lines if ln.startswith("missing: ")}
        extra = {ln.split()[1] for ln in lines if ln.startswith("extra: ")}
        assert (missing, extra) == (added, removed)
        assert set(stack.webui.model_ids()) == stack.old_names | set(HAND_NAMES)

        stack.proxy.restart()
        expected = stack.new_names | set(HAND_NAMES)
        harness.assert_serves_exactly(stack.proxy.models(), expected)
        ids = wait_for_ids(stack.webui, expected)  # plain GET /api/models: cache TTL is 1 s
        harness.assert_serves_exactly(ids, expected)
        assert added <= set(ids)
        assert not removed & set(ids)
        harness.assert_serves_exactly(stack.webui.model_ids(refresh=True), expected)

        r = harness.rinsync_verify(stack.proxy.url, stack.config)
        assert r.returncode == 0, r.stdout + r.stderr
        stack.notes["added"] = sorted(added)

    def test_chat_to_a_newly_added_model_through_openwebui(self, stack: Stack, fake_openrouter: FakeOpenRouter):
        if "added" not in stack.notes:
            pytest.skip("needs the previous test (sync of the newer catalog)")
        name = stack.notes["added"][0]
        or_id = next(e["model_info"]["openrouter_id"] for e in stack.new if e["model_name"] == name)
        fake_openrouter.clear()
        status, body = harness.http_json(
            "POST",
            f"{stack.webui.url}/api/chat/completions",
            body={"model": name, "messages": [{"role": "user", "content": "hi"}], "stream": False},
            headers=stack.webui.auth,
            timeout=60,
        )
        assert status == 200, body
        assert body["choices"][0]["message"]["content"] == fake_openrouter.reply
        reqs = fake_openrouter.chat_requests()
        assert reqs, fake_openrouter.requests
        assert reqs[-1]["json"]["model"] == or_id
        assert reqs[-1]["headers"]["authorization"] == f"Bearer {FAKE_OPENROUTER_KEY}"
        assert reqs[-1]["headers"]["http-referer"] == harness.REFERER
