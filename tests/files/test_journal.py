"""rinsync.files.journal: an apply's journal on disk, read back only when it can be trusted, and recovery."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from rinsync import exitcodes
from rinsync.apply import ApplyFailed, Change
from rinsync.diagnostics import RinsyncError
from rinsync.files import journal
from rinsync.files.snapshot import Snapshot
from rinsync.litellm.state import state_path

SECRET = "sk-master-0123456789abcdef"


class Applier:
    """Records calls; ``fail`` names the steps that fail; ``rollback`` restores the snapshot like the real one."""

    proxy_url = f"http://admin:{SECRET}@127.0.0.1:4000/?key={SECRET}"

    def __init__(self, fail: set[str] = frozenset()):
        self.fail = fail
        self.calls: list[str] = []

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise ApplyFailed(f"{name} failed")

    def apply(self, change: Change) -> None:
        self._step("apply")

    def confirm(self, change: Change) -> None:
        self._step("confirm")

    def rollback(self, change: Change) -> None:
        change.snapshot.restore()
        self._step("rollback")


@pytest.fixture
def site(tmp_path):
    """config.yaml (old), its state (old), then a journal begun and the new files written."""
    config = tmp_path / "config.yaml"
    config.write_bytes(b"old config\n")
    os.chmod(config, 0o640)
    state_path(config).write_bytes(b"old state\n")
    snapshot = Snapshot([state_path(config), config], follow=[config])
    begun = journal.begin(config, snapshot, Applier())
    config.write_bytes(b"new config\n")
    state_path(config).write_bytes(b"new state\n")
    return config, begun


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_begin_writes_a_private_journal_and_copies_without_a_key(site, tmp_path):
    config, begun = site
    path = journal.journal_path(config)
    assert path == tmp_path / ".rinsync-journal.config.yaml.json" == begun.path
    files = [path, *begun.copies]
    assert len(files) == 3
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert SECRET not in file.read_text()
    document = json.loads(path.read_text())
    assert document["phase"] == "writing"
    assert document["proxies"] == [{"url": "http://127.0.0.1:4000", "state": "pending"}]
    assert [f["path"] for f in document["files"]] == [str(state_path(config)), str(config)]
    assert sorted(c.read_bytes() for c in begun.copies) == [b"old config\n", b"old state\n"]


def test_progress_per_proxy_is_recorded_and_finish_removes_everything(site, tmp_path):
    config, begun = site
    begun.mark("applying")
    begun.set_proxy("http://127.0.0.1:4000", "confirmed")
    begun.set_proxy("http://u:p@10.0.0.2:4000", "pending")
    document = json.loads(begun.path.read_text())
    assert document["phase"] == "applying"
    assert document["proxies"] == [{"url": "http://127.0.0.1:4000", "state": "confirmed"},
                                   {"url": "http://10.0.0.2:4000", "state": "pending"}]
    before = names(tmp_path)
    begun.finish()
    assert before - names(tmp_path) == {begun.path.name, *(c.name for c in begun.copies)}
    assert journal.load(config, [config]) is None


def test_recover_confirms_the_files_on_disk(site):
    config, begun = site
    applier, lines = Applier(), []
    journal.recover(config, [config], applier, lines)
    assert applier.calls == ["apply", "confirm"]
    assert config.read_bytes() == b"new config\n"
    assert lines[0].startswith("recovering: the apply journal .rinsync-journal.config.yaml.json records an apply "
                               "a killed run left unfinished (phase 'writing', started ")
    assert lines[-1] == "recovered: the proxy serves the files on disk; the interrupted apply is complete"
    assert not begun.path.exists() and not any(c.exists() for c in begun.copies)


def test_recover_restores_the_saved_files_when_the_new_ones_are_not_served(site):
    config, begun = site
    applier, lines = Applier({"confirm"}), []
    journal.recover(config, [config], applier, lines)
    assert applier.calls == ["apply", "confirm", "rollback"]
    assert config.read_bytes() == b"old config\n" and state_path(config).read_bytes() == b"old state\n"
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert lines[-1].startswith("recovered: new config rejected by the proxy, previous config restored: confirm "
                                "failed; the files are as they were")
    assert not begun.path.exists()


def test_a_failed_recovery_keeps_the_journal_for_the_next_run(site):
    config, begun = site
    with pytest.raises(RinsyncError) as caught:
        journal.recover(config, [config], Applier({"confirm", "rollback"}), [])
    assert caught.value.exit_code == exitcodes.APPLY_ROLLED_BACK
    assert "PROXY AND CONFIG DISAGREE" in caught.value.message
    assert json.loads(begun.path.read_text())["phase"] == "rollback failed"


def test_without_a_reload_command_the_sync_stops_and_a_dry_run_only_says_so(site):
    config, begun = site
    with pytest.raises(RinsyncError) as caught:
        journal.recover(config, [config], None, [])
    assert caught.value.exit_code == exitcodes.ERROR
    assert "sync again with the same --reload-cmd and --proxy" in caught.value.message
    lines: list[str] = []
    journal.recover(config, [config], Applier(), lines, dry_run=True)
    assert lines[0].startswith("dry run: the apply journal") and begun.path.exists()


def _damage_text(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.mark.parametrize("damage, why", [
    (lambda p, d: p.write_text("{not json"), "not JSON"),
    (lambda p, d: p.write_text(json.dumps({**d, "version": 99})), "not a rinsync apply journal"),
    (lambda p, d: p.write_text(json.dumps({**d, "files": [{**d["files"][0], "path": "/etc/passwd"}]})),
     "it names /etc/passwd, a file this sync does not write"),
    (lambda p, d: p.write_text(json.dumps({**d, "files": [{**d["files"][0], "copy": "../../x"}]})),
     "a copy named '../../x'"),
    (lambda p, d: p.write_text(json.dumps({**d, "files": [{**d["files"][0], "sha256": "0" * 64}]})),
     "does not match"),
    (lambda p, d: p.write_text(" " * (journal.MAX_JOURNAL_BYTES + 1)), "larger than"),
    (lambda p, d: p.write_text(json.dumps({**d, "started": "\x1b[2Jnow"})), "no phase or start time"),
    (lambda p, d: p.write_text("[" * 100000), "not JSON"),
])
def test_a_damaged_journal_stops_the_sync_with_nothing_changed(site, tmp_path, damage, why):
    config, begun = site
    damage(begun.path, json.loads(begun.path.read_text()))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    applier = Applier()
    with pytest.raises(RinsyncError) as caught:
        journal.recover(config, [config], applier, [])
    assert caught.value.exit_code == exitcodes.ERROR
    assert "is damaged" in caught.value.message and why in caught.value.message
    assert "\n" not in caught.value.message
    assert applier.calls == []
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_planted_link_or_hard_link_as_journal_is_refused(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("x\n")
    secret = tmp_path / "elsewhere.json"
    secret.write_text("{}")
    path = journal.journal_path(config)
    path.symlink_to(secret)
    with pytest.raises(RinsyncError) as caught:
        journal.recover(config, [config], Applier(), [])
    assert caught.value.exit_code == exitcodes.IO_ERROR and "symbolic link" in caught.value.message
    path.unlink()
    os.link(secret, path)
    with pytest.raises(RinsyncError) as caught:
        journal.recover(config, [config], Applier(), [])
    assert caught.value.exit_code == exitcodes.IO_ERROR and "hard links" in caught.value.message
    assert secret.read_text() == "{}"


def test_begin_refuses_a_planted_link_in_place_of_the_journal(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("x\n")
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    journal.journal_path(config).symlink_to(victim)
    with pytest.raises(RinsyncError) as caught:
        journal.begin(config, Snapshot([config]), Applier())
    assert caught.value.exit_code == exitcodes.IO_ERROR
    assert victim.read_text() == "keep\n"
