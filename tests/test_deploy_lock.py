"""requirements/deploy.txt, the hash-locked production set, against setup.cfg (no network).

CI proves the lock installs (`.ci/run`, section "deploy lock": a fresh venv, `pip install
--require-hashes`, then `rinsync --version`); this checks, on every test run, that it still matches
what setup.cfg declares, so a new dependency or a raised bound cannot ship with a stale lock.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "deploy.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked() -> dict[str, tuple[str, int]]:
    """``{name: (version, number of hashes)}`` of the lock file."""
    out: dict[str, tuple[str, int]] = {}
    name = None
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            out[name] = (match.group(2), 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = out[name]
            out[name] = (version, hashes + 1)
    return out


def declared(section: str, option: str) -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return [Requirement(line) for line in cfg[section][option].split("\n") if line.strip()]


def test_every_runtime_dependency_is_locked_within_its_declared_bounds():
    pins = locked()
    requirements = declared("options", "install_requires")
    assert len(requirements) >= 7
    for req in requirements:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in setup.cfg but not in {LOCK.name}: run `bash ci/lock.sh`"
        assert req.specifier.contains(pins[name][0], prereleases=True), (
            f"{req.name}=={pins[name][0]} in {LOCK.name} is outside setup.cfg's {req}: run `bash ci/lock.sh`")


def test_every_pin_has_a_hash_and_the_build_requirements_are_locked():
    """`pip install --require-hashes` refuses a pin without a hash; `pip install --no-deps
    --no-build-isolation .` needs setuptools and wheel from the lock, not unhashed from the index."""
    pins = locked()
    assert {name for name, (_, hashes) in pins.items() if hashes == 0} == set()
    assert {"setuptools", "wheel"} <= set(pins)
    assert "rinsync" not in pins  # installed after, from the checkout, with --no-deps
