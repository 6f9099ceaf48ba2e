"""A full disk while writing: exit 74, one line, the old config byte-for-byte, no temporary files left."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from support import CATALOGS, REPO, TODAY_EPOCH

HAND_WRITTEN = """# my LiteLLM config
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
"""


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()
            if p.is_file() and not p.name.startswith(".rinsync-lock")}


def test_simulated_enospc_keeps_everything(run_cli, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text(HAND_WRITTEN)
    before = _snapshot(tmp_path)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("rinsync.files.atomic.os.fsync", full_disk)
    result = run_cli("compile", "--catalog", str(CATALOGS[-1]), "--rules", str(REPO / "rules"),
                     "--config", str(config))
    assert result.code == 74
    assert len(result.err.strip().splitlines()) == 1
    assert "No space left on device" in result.err and "Traceback" not in result.err
    assert "free some disk space" in result.err
    assert _snapshot(tmp_path) == before


def _mount_tmpfs(target: Path, size: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", f"rinsync-{uuid.uuid4().hex[:8]}",
                           str(target)], capture_output=True)
    return done.returncode == 0


def test_real_full_filesystem_keeps_everything(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_tmpfs(disk, "96k"):
        pytest.skip("cannot mount a small tmpfs here (needs root); the simulated ENOSPC test covers the logic")
    try:
        config = disk / "config.yaml"
        config.write_text(HAND_WRITTEN)
        before = _snapshot(disk)
        env = dict(os.environ, SOURCE_DATE_EPOCH=TODAY_EPOCH)
        run = subprocess.run([sys.executable, "-m", "rinsync", "compile", "--catalog", str(CATALOGS[-1]),
                              "--rules", str(REPO / "rules"), "--config", str(config)],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
        assert run.returncode == 74, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
        assert _snapshot(disk) == before
        assert not [p.name for p in disk.iterdir() if p.name.endswith(".tmp") or ".tmp" in p.name]
    finally:
        subprocess.run(["umount", str(disk)], check=False)
