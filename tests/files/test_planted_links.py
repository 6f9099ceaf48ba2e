"""Issue 9, family 1: a link planted beside the config never makes rinsync write outside what it owns.

Someone who can write the config's directory plants a symlink, a hard link or a FIFO where rinsync keeps
its lock, state, backups, cache or include file. rinsync refuses (exit 74, one line naming the path),
the planted target keeps its bytes, and the config stays byte for byte.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from helpers_sync import CATALOG_NEW, CATALOG_OLD, FAKE_KEY, Reply, new_site, snapshot

from rinsync.files.atomic import TMP_MARK

PRECIOUS = b"root:$6$precious-hash:19000:0:99999:7:::\n"


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = new_site(tmp_path / "site")
    victim = tmp_path / "outside" / "shadow"
    victim.parent.mkdir()
    victim.write_bytes(PRECIOUS)
    victim.chmod(0o640)
    return config, victim


def _plant(kind: str, where: Path, victim: Path) -> None:
    where.parent.mkdir(parents=True, exist_ok=True)
    if kind == "symlink":
        where.symlink_to(victim)
    elif kind == "hardlink":
        os.link(victim, where)
    elif kind == "fifo":
        os.mkfifo(where)


def _assert_refused(result, config: Path, before: bytes, victim: Path, planted: Path) -> None:
    lines = result.err.strip().splitlines()
    assert result.code == 74, result.err
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    assert lines[0].startswith("rinsync: error: refusing to write ") and planted.name in lines[0], lines[0]
    assert config.read_bytes() == before
    assert victim.read_bytes() == PRECIOUS and stat.S_IMODE(victim.stat().st_mode) == 0o640
    assert not [p for p in config.parent.rglob("*") if TMP_MARK in p.name]


CASES = [
    ("symlink", ".rinsync-lock.config.yaml"),
    ("hardlink", ".rinsync-lock.config.yaml"),
    ("fifo", ".rinsync-lock.config.yaml"),
    ("symlink", ".rinsync-state.config.yaml.json"),
    ("symlink", "config.yaml.backup"),
]


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_a_planted_file_is_refused_in_normal_mode(site, run_cli, kind, name):
    config, victim = site
    planted = config.parent / name
    _plant(kind, planted, victim)
    before = config.read_bytes()
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    _assert_refused(result, config, before, victim, planted)


@pytest.mark.parametrize("name", ["openrouter.models.yaml", ".rinsync-state.openrouter.models.yaml.json",
                                  ".rinsync-lock.openrouter.models.yaml"])
def test_a_planted_link_is_refused_in_include_mode(site, run_cli, name):
    config, victim = site
    planted = config.parent / name
    _plant("symlink", planted, victim)
    before = config.read_bytes()
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW),
                     "--include-file", "openrouter.models.yaml")
    _assert_refused(result, config, before, victim, planted)


def test_a_planted_include_link_is_refused_before_it_is_read(site, run_cli):
    """Whatever the link points to (here a binary file that is not YAML), the answer is the same refusal."""
    config, victim = site
    victim.write_bytes(b"\x00\x01 not yaml: [")
    planted = config.parent / "openrouter.models.yaml"
    _plant("symlink", planted, victim)
    before = config.read_bytes()
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW),
                     "--include-file", "openrouter.models.yaml")
    assert result.code == 74 and result.err.count("\n") == 1 and "refusing to write" in result.err, result.err
    assert config.read_bytes() == before and victim.read_bytes() == b"\x00\x01 not yaml: ["


def test_backup_link_planted_after_a_first_sync(site, run_cli):
    """A planted backup of a config rinsync already manages: the new config is not written either."""
    config, victim = site
    assert run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_OLD)).code == 0
    stamped = next(config.parent.glob("config.yaml.backup.*"))
    stamped.unlink()
    (config.parent / "config.yaml.backup").unlink()
    _plant("symlink", config.parent / "config.yaml.backup", victim)
    before = config.read_bytes()
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    _assert_refused(result, config, before, victim, config.parent / "config.yaml.backup")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a link to another user")
def test_config_symlink_planted_by_another_user_is_refused(site, run_cli, tmp_path):
    config, victim = site
    before = config.read_bytes()
    config.unlink()
    config.symlink_to(victim)
    os.chown(config, 65534, 65534, follow_symlinks=False)
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    lines = result.err.strip().splitlines()
    assert result.code == 74 and len(lines) == 1 and "Traceback" not in result.err, result.err
    assert "symbolic link made by uid 65534" in lines[0]
    assert victim.read_bytes() == PRECIOUS and before  # nothing written through it


def test_the_operators_own_config_symlink_is_still_written_through(site, run_cli, tmp_path):
    config, _ = site
    real = tmp_path / "srv" / "config.yaml"
    real.parent.mkdir()
    real.write_bytes(config.read_bytes())
    config.unlink()
    config.symlink_to(real)
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    assert result.code == 0, result.err
    assert config.is_symlink() and b"generated_by: rinsync" in real.read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the lock file to another user")
def test_another_users_lock_file_is_locked_but_never_written(site, run_cli):
    config, _ = site
    lock = config.parent / ".rinsync-lock.config.yaml"
    lock.write_bytes(b"their notes\n")
    os.chown(lock, 65534, 65534)
    assert run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW)).code == 0
    assert lock.read_bytes() == b"their notes\n"


@pytest.mark.parametrize("planted", ["directory", "catalog.json", "catalog.meta.json"])
def test_a_planted_cache_link_is_not_followed(env, server, run_cli, planted, tmp_path, monkeypatch):
    """The cache is written after the config: a planted link there is a warning, and nothing leaves the cache."""
    monkeypatch.setenv("OPENROUTER_API_KEY", FAKE_KEY)
    config = new_site(tmp_path / "site")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "catalog.json").write_bytes(PRECIOUS)
    outside.chmod(0o755)
    cache = config.parent / ".rinsync-cache"
    if planted == "directory":
        cache.symlink_to(outside)
    else:
        cache.mkdir()
        (cache / planted).symlink_to(outside / "catalog.json")
    before = snapshot(outside)
    server.serve(CATALOG_NEW.read_bytes())
    result = run_cli("compile", "--config", str(config), "--source-url", server.url)
    assert result.code == 0, result.err
    assert "could not update the catalog cache: refusing to write" in result.err
    assert "Traceback" not in result.err
    assert snapshot(outside) == before and stat.S_IMODE(outside.stat().st_mode) == 0o755
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {FAKE_KEY}"
    assert FAKE_KEY not in result.out + result.err
    assert [p for p in tmp_path.rglob("*") if p.is_file() and FAKE_KEY.encode() in p.read_bytes()] == []
    # the planted link is never read as the cache either
    server.queue(Reply(304))
    assert run_cli("compile", "--config", str(config), "--catalog", "cache").code == 75
