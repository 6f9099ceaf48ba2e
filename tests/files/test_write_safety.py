"""SIGKILL at random moments, concurrent runs, and a crash between the state and the config write."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from helpers_sync import (
    CATALOG_NEW,
    CATALOG_OLD,
    dump,
    load,
    new_site,
    rinsync_cmd,
    run,
    subprocess_env,
    wait_until,
)

from rinsync.files.atomic import tmp_glob
from rinsync.files.lock import ConfigLock
from rinsync.litellm.state import state_path

TRIALS = 40


def compile_args(config: Path, catalog: Path, *extra: str) -> list[str]:
    return rinsync_cmd("compile", "--config", str(config), "--catalog", str(catalog), *extra)


def prepared_site(root: Path) -> Path:
    """The example config synced from the older capture, then edited by hand (so every run merges)."""
    config = new_site(root)
    done = run(compile_args(config, CATALOG_OLD), subprocess_env(), root)
    assert done.returncode == 0, done.stderr
    document = load(config)
    for item in document["model_list"]:
        if item["model_name"] == "openrouter/openai-gpt-4o":
            item["litellm_params"]["temperature"] = 0.7
    config.write_text(dump(document))
    return config


def strays(config: Path) -> list[Path]:
    return list(config.parent.glob(tmp_glob(config)))


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_the_old_or_the_new_config(tmp_path):
    base = tmp_path / "base"
    config_rel = Path("config/litellm/config.yaml")
    prepared_site(base)
    old = (base / config_rel).read_bytes()
    env = subprocess_env()

    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    started = time.monotonic()
    done = run(compile_args(reference / config_rel, CATALOG_NEW), env, reference)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    new = (reference / config_rel).read_bytes()
    assert new != old and yaml.safe_load(new)["model_list"]

    rng = random.Random(20260819)
    outcomes = {"old": 0, "new": 0}
    for trial in range(TRIALS):
        site = tmp_path / f"trial{trial}"
        shutil.copytree(base, site)
        config = site / config_rel
        state_before = state_path(config).read_bytes()
        proc = subprocess.Popen(compile_args(config, CATALOG_NEW), env=env, cwd=site,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.2) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = config.read_bytes()
        assert data in (old, new), f"trial {trial}: config is neither the old nor the new file"
        assert isinstance(yaml.load(data, Loader=yaml.CSafeLoader), dict)
        outcomes["old" if data == old else "new"] += 1
        killed_between = data == old and state_path(config).read_bytes() != state_before
        if killed_between or trial % 8 == 0:
            # the next run recovers: the stray temporary file goes, the result is what a clean run writes
            again = run(compile_args(config, CATALOG_NEW), env, site)
            assert again.returncode == 0, again.stderr
            assert config.read_bytes() == new, f"trial {trial}: recovery differs from a clean run"
            assert strays(config) == []
        shutil.rmtree(site)
    print("sigkill outcomes", outcomes)
    assert outcomes["old"] and outcomes["new"], outcomes


class Killed(BaseException):
    """Stands in for SIGKILL at one precise point: nothing in rinsync catches a BaseException."""


def test_crash_between_state_and_config_write_recovers_the_merge_base(tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    config = prepared_site(tmp_path / "a")
    clean = tmp_path / "b"
    shutil.copytree(tmp_path / "a", clean)
    clean_config = clean / "config/litellm/config.yaml"
    assert run_cli("compile", "--config", str(clean_config), "--catalog", str(CATALOG_NEW)).code == 0
    old = config.read_bytes()

    from rinsync.files import atomic

    real_commit = atomic.PendingFile.commit

    def crash(self):
        if self.target.name == "config.yaml":
            raise Killed()
        real_commit(self)

    monkeypatch.setattr(atomic.PendingFile, "commit", crash)
    with pytest.raises(Killed):
        run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    assert config.read_bytes() == old  # the state was written, the config was not
    monkeypatch.setattr(atomic.PendingFile, "commit", real_commit)
    assert run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW)).code == 0
    assert config.read_bytes() == clean_config.read_bytes()
    gpt4o = next(e for e in load(config)["model_list"] if e["model_name"] == "openrouter/openai-gpt-4o")
    assert gpt4o["litellm_params"]["temperature"] == 0.7


def test_concurrent_runs_end_valid(tmp_path):
    root = tmp_path / "site"
    config = new_site(root)
    env = subprocess_env()
    expected = {}
    for catalog in (CATALOG_OLD, CATALOG_NEW):
        copy = tmp_path / catalog.stem
        shutil.copytree(root, copy)
        assert run(compile_args(copy / "config/litellm/config.yaml", catalog), env, copy).returncode == 0
        expected[(copy / "config/litellm/config.yaml").read_bytes()] = catalog
    for _ in range(3):
        procs = [subprocess.Popen(compile_args(config, catalog, "--force"), env=env, cwd=root,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for catalog in (CATALOG_NEW, CATALOG_OLD, CATALOG_NEW)]
        results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert [code for code, _ in results] == [0, 0, 0], results
        data = config.read_bytes()
        assert data in expected, "concurrent runs produced a config no single run would write"
        assert strays(config) == []
        # the state matches the config: syncing the same catalog again changes nothing
        again = run(compile_args(config, expected[data]), env, root)
        assert again.returncode == 0 and again.stderr.strip().endswith("no changes, file left as it was"), again.stderr


def test_a_second_run_waits_for_the_lock(tmp_path):
    root = tmp_path / "site"
    config = new_site(root)
    before = config.read_bytes()
    lock = ConfigLock(config)
    lock.acquire()
    try:
        proc = subprocess.Popen(compile_args(config, CATALOG_NEW), env=subprocess_env(), cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)  # long enough to compile; it must still be waiting
        assert proc.poll() is None and config.read_bytes() == before
    finally:
        lock.release()
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    proc.stderr.close()
    assert wait_until(lambda: config.read_bytes() != before)


def test_stale_tmp_cleanup_and_backup_pruning_match_only_their_own_file(tmp_path):
    """Glob characters in the config's name: another file's temporary files and backups are not its own."""
    from rinsync.files.atomic import remove_stale_tmp
    from rinsync.files.backups import Backup

    config = tmp_path / "config[1].yaml"
    other_tmp = tmp_path / ".config1.yaml.abc123.rinsync-tmp.yaml"  # config1.yaml being written right now
    own_tmp = tmp_path / ".config[1].yaml.def456.rinsync-tmp.yaml"
    other_tmp.write_text("x")
    own_tmp.write_text("x")
    assert remove_stale_tmp(config) == 1
    assert other_tmp.exists() and not own_tmp.exists()
    for number in range(4):
        Backup(config, f"v{number}\n".encode(), keep=2).take().prune()
        time.sleep(0.002)
    stamped = sorted(p.name for p in tmp_path.glob("config?1?.yaml.backup.*"))
    assert len(stamped) == 2 and [(tmp_path / n).read_text() for n in stamped] == ["v2\n", "v3\n"]


def test_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    from rinsync.files import atomic

    config = tmp_path / "config.yaml"
    config.write_text("old: 1\n")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr("rinsync.files.atomic.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_atomic(config, b"new: 1\n")
    assert config.read_text() == "old: 1\n" and strays(config) == []


def test_a_lock_the_file_system_refuses_is_one_line_exit_74(tmp_path, monkeypatch, run_cli):
    import errno

    monkeypatch.chdir(tmp_path)
    config = new_site(tmp_path)
    before = config.read_bytes()

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr("rinsync.files.lock.fcntl.flock", no_locks)
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    assert result.code == 74
    assert result.err.startswith("rinsync: error: cannot lock ") and "No locks available" in result.err
    assert len(result.err.strip().splitlines()) == 1 and config.read_bytes() == before
