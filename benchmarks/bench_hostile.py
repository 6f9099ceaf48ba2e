"""Benchmark: how fast, and in how much memory, rinsync refuses catalogs far beyond any real one.

Each case runs `rinsync compile --catalog FILE -o /dev/null` as a fresh process and prints its exit code,
wall time and peak resident memory (ru_maxrss of the child), beside the same for the real catalog as a
baseline. Targets (docs/security.md): every oversized case ends with exit 1 in under 5 s and under
512 MB; nothing grows with the attacker's input beyond the 64 MiB byte limit.

    python benchmarks/bench_hostile.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RINSYNC_SHARED_DIR", REPO.parent / "shared"))
REAL = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
RECORD = '{"id":"p/m%d","context_length":1000,"pricing":{"prompt":"0.000001","completion":"0.000002"}}'


def cases(work: Path) -> list[tuple[str, Path]]:
    records = work / "records-300k.json"
    records.write_text('{"data":[' + ",".join(RECORD % i for i in range(300_000)) + "]}")
    values = work / "empty-objects-4M.json"
    values.write_text('{"data":[' + ",".join(["{}"] * 4_000_000) + "]}")
    big = work / "bytes-70MB.json"
    big.write_text(json.dumps({"data": [{"id": "p/m", "description": "x" * (70 * 1024 * 1024)}]}))
    return [("real catalog (baseline)", REAL), ("300,000 records, 30 MB", records),
            ("4,000,000 empty objects, 12 MB", values), ("one 70 MB string", big)]


MEASURE = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:], capture_output=True).returncode; "
           "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def run(catalog: Path) -> tuple[int, float, float]:
    """Exit code, seconds and peak RSS (MB) of one compile, measured by a small wrapper process (a child
    forked from this large process would count this process's memory as its own)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "rinsync", "compile", "--catalog",
                           str(catalog), "-o", os.devnull], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    elapsed = time.perf_counter() - started
    code, peak_kib = done.stdout.split()
    return int(code), elapsed, int(peak_kib) / 1024


def main() -> None:
    print(f"python {sys.version.split()[0]}, one fresh process per case")
    print(f"{'case':34} {'exit':>4} {'seconds':>8} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in cases(Path(tmp)):
            code, seconds, peak = run(path)
            print(f"{label:34} {code:>4} {seconds:>8.2f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
