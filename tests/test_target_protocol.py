"""The target protocol: the LiteLLM target's plan (per model name, the old and the new generated entry, for the
change report), the order run_targets keeps, and a later target's failure after an earlier one wrote."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from rinsync import exitcodes
from rinsync.diagnostics import RinsyncError
from rinsync.dsl.rules import load_rules
from rinsync.sync import SyncOptions, run_sync
from rinsync.target import Compiled, SyncReport, run_targets
from support import RULES_DIR, SAMPLE_CATALOG


@pytest.fixture(scope="module")
def ruleset():
    return load_rules([RULES_DIR])


def _catalog(tmp_path: Path, change) -> Path:
    payload = json.loads(SAMPLE_CATALOG.read_text())
    change(payload["data"])
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(payload))
    return path


@pytest.mark.parametrize("include_file", [None, "generated.yaml"])
def test_the_litellm_plan_gives_each_names_old_and_new_entry(tmp_path, ruleset, monkeypatch, include_file):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795478400")
    config = tmp_path / "config.yaml"
    first = run_sync(ruleset, SyncOptions(config=config, catalog=str(SAMPLE_CATALOG), include_file=include_file,
                                          cache_dir=tmp_path / "cache"))
    assert set(first.plans) == {"litellm"}
    assert all(c.old is None and c.new is not None for c in first.plans["litellm"].changes.values())

    records = json.loads(SAMPLE_CATALOG.read_text())["data"]
    gone, repriced = records[0]["id"], records[1]["id"]

    def edit(data):
        del data[0]
        data[0]["context_length"] = 12345  # was data[1]

    before = config.read_bytes()
    report = run_sync(ruleset, SyncOptions(config=config, catalog=str(_catalog(tmp_path, edit)), dry_run=True,
                                           include_file=include_file, cache_dir=tmp_path / "cache"))
    assert config.read_bytes() == before  # a dry run plans, writes nothing
    plan = report.plans["litellm"]
    by_id = {c.openrouter_id: c for c in plan.changes.values()}
    assert by_id[gone].old is not None and by_id[gone].new is None
    assert by_id[repriced].old["model_info"]["max_input_tokens"] != 12345
    assert by_id[repriced].new["model_info"]["max_input_tokens"] == 12345
    unchanged = [c for c in plan.changes.values() if c.old == c.new]
    assert len(unchanged) == len(plan.changes) - 2
    assert plan.path.name == (include_file or "config.yaml")


class _Recorder:
    """A target that records the protocol's calls (and can fail at one step)."""

    title = "Recorder"
    failure_code = exitcodes.OPENWEBUI_FAILED
    keeps_cache = True

    def __init__(self, name: str, calls: list, fail_at: str | None = None, code: int = exitcodes.ERROR):
        self.name, self.calls, self.fail_at, self.code = name, calls, fail_at, code
        self.written_note = f"{name} was written"

    def _step(self, step: str):
        self.calls.append(f"{self.name}.{step}")
        if step == self.fail_at:
            raise RinsyncError(f"{self.name} refused", self.code)

    def check(self):
        self._step("check")

    def prepare(self, compiled, report):
        self._step("prepare")

    @contextlib.contextmanager
    def locked(self):
        self._step("lock")
        yield
        self.calls.append(f"{self.name}.unlock")

    def plan(self, report):
        self._step("plan")
        return f"{self.name}-plan"

    def gate(self, plan, report):
        self._step("gate")
        return False

    def write(self, plan, report):
        self._step("write")
        return "written"

    def apply(self, written, report):
        self._step("apply")

    def rollback(self, written, report):
        self._step("rollback")


def test_targets_prepare_first_then_run_in_order_and_the_cache_is_stored_once():
    calls: list[str] = []
    report = SyncReport()
    run_targets([_Recorder("a", calls), _Recorder("b", calls)], Compiled(None, None, []), report, False,
                lambda: calls.append("cache"))
    assert calls == ["a.prepare", "b.prepare", "a.lock", "a.plan", "a.gate", "a.write", "a.apply", "cache",
                     "a.unlock", "b.lock", "b.plan", "b.gate", "b.write", "b.apply", "b.unlock"]
    assert report.plans == {"a": "a-plan", "b": "b-plan"} and report.written


def test_a_failure_in_a_later_target_names_what_the_earlier_one_did():
    calls: list[str] = []
    with pytest.raises(RinsyncError) as raised:
        run_targets([_Recorder("a", calls), _Recorder("b", calls, "write", exitcodes.SHRINK_REFUSED)],
                    Compiled(None, None, []), SyncReport(), False)
    assert raised.value.exit_code == exitcodes.OPENWEBUI_FAILED
    assert raised.value.message == "Recorder not synced: b refused (a was written)"
    with pytest.raises(RinsyncError) as first:  # the first target's own refusal keeps its code
        run_targets([_Recorder("a", [], "gate", exitcodes.SHRINK_REFUSED)], Compiled(None, None, []), SyncReport(),
                    False)
    assert first.value.exit_code == exitcodes.SHRINK_REFUSED


def test_a_failing_prepare_stops_every_target_before_any_write():
    calls: list[str] = []
    with pytest.raises(RinsyncError):
        run_targets([_Recorder("a", calls), _Recorder("b", calls, "prepare")], Compiled(None, None, []),
                    SyncReport(), False)
    assert calls == ["a.prepare", "b.prepare"]


@pytest.mark.parametrize("include_file", [None, "generated.yaml"])
def test_the_litellm_targets_rollback_puts_back_what_write_replaced(tmp_path, ruleset, monkeypatch, include_file):
    from rinsync.engine import Engine, compile_date
    from rinsync.litellm.target import LiteLLMSettings, litellm_target
    from rinsync.source.catalog import load_catalog_file

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795478400")
    config = tmp_path / "config.yaml"
    config.write_bytes(b"general_settings: {}  # mine\n")
    records = load_catalog_file(SAMPLE_CATALOG).records
    engine = Engine(ruleset, compile_date())
    target = litellm_target(LiteLLMSettings(config=config, include_file=include_file))
    report = SyncReport()
    target.prepare(Compiled(engine, engine.compile(records), records), report)
    with target.locked():
        written = target.write(target.plan(report), report)
    assert written is not None and config.read_bytes() != b"general_settings: {}  # mine\n"
    target.rollback(written, report)
    assert config.read_bytes() == b"general_settings: {}  # mine\n"
    assert not (tmp_path / "generated.yaml").exists()
