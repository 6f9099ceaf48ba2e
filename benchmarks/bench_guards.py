"""Benchmark: the price of the parser guards (docs/security.md), each beside its unguarded baseline.

* the YAML guard (alias/depth scan) on a real 412-model config, against PyYAML's libyaml load of it;
* RE2 against Python's ``re`` for the shipped rules' regexes over every description of a real catalog;
* an alias bomb and a catastrophic regex: time to the refusal (the baseline would not finish).

    python benchmarks/bench_guards.py [--catalog PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RINSYNC_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
PATTERNS = [r"(?i)\b(is|is being|has been) deprecated\b", r"-[0-9]+k\b"]


def best(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from rinsync import yamlguard
    from rinsync.dsl import regex

    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "config.yaml"
        subprocess.run([sys.executable, "-m", "rinsync", "compile", "--catalog", str(args.catalog), "--config",
                        str(config)], check=True, cwd=REPO, capture_output=True,
                       env=dict(os.environ, SOURCE_DATE_EPOCH="1795478400"))
        raw = config.read_bytes()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    guard = best(lambda: yamlguard.check(raw), args.repeat)
    load = best(lambda: yaml.load(raw, Loader=loader), args.repeat)  # noqa: S506
    print(f"python {sys.version.split()[0]}, best of {args.repeat}")
    print(f"{'what':<52}{'guarded s':>11}{'baseline s':>12}{'ratio':>8}")
    print(f"{'YAML guard vs yaml.load, config of ' + str(len(raw) // 1024) + ' KiB':<52}{guard:>11.4f}{load:>12.4f}"
          f"{guard / load:>8.2f}")
    texts = [r.get("description") or "" for r in json.loads(args.catalog.read_bytes())["data"]] + \
            [r["id"] for r in json.loads(args.catalog.read_bytes())["data"]]
    compiled = [re.compile(p) for p in PATTERNS]
    ours = best(lambda: [regex.search(p, t) for p in PATTERNS for t in texts], args.repeat)
    theirs = best(lambda: [c.search(t) for c in compiled for t in texts], args.repeat)
    print(f"{'RE2 vs re, shipped patterns x ' + str(len(texts)) + ' texts':<52}{ours:>11.4f}{theirs:>12.4f}"
          f"{ours / theirs:>8.2f}")
    bomb = "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['x'] * 9)}]\n"
                   for p, n in zip([None, *"abcdefgh"], "abcdefghi", strict=True))
    start = time.perf_counter()
    try:
        yamlguard.check(bomb)
    except yamlguard.YamlLimitError:
        pass
    print(f"{'alias bomb (10^9 values) refused after':<52}{time.perf_counter() - start:>11.4f}{'never':>12}")
    evil = "a" * 100_000 + "!"
    start = time.perf_counter()
    regex.search(r"(a+)+$", evil)
    print(f"{'(a+)+$ on 100,000 a and a !':<52}{time.perf_counter() - start:>11.4f}{'2^n steps':>12}")


if __name__ == "__main__":
    main()
