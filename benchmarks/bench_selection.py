"""Benchmark: the documented keep_while running total over one group of 2,000 / 4,000 / 20,000 records.

docs/rules.md documents ``sum(map(&(blended_per_million(@) || `0`), kept)) < `20```. Written as is, it
evaluates the element expression on every kept record for every candidate (n²/2: issue 17 measured 9 s at
2,000 and 36 s at 4,000 records). rinsync now keeps the total as the stage walks the group
(rinsync/dsl/running.py). Columns, seconds for Engine.compile in this process, best of --repeat:

* ``rules only``: the shipped rules without the selection (the floor);
* ``running total``: with the selection, as rinsync runs it now;
* ``baseline``: the same selection evaluated as written (the old behaviour: the rewrite switched off).
  Above --baseline-max records it is not run but extrapolated from the largest measured size (n²),
  marked ``~``; pass --baseline-max 20000 to measure it (minutes).

    python benchmarks/bench_selection.py [--sizes 2000,4000,20000] [--repeat 1] [--baseline-max 4000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rinsync import selection as selection_module  # noqa: E402
from rinsync.dsl.rules import load_rules  # noqa: E402
from rinsync.engine import Engine  # noqa: E402

TOTAL = "sum(map(&(blended_per_million(@) || `0`), kept)) < `20`"
SELECTION = f"""version: 1
selections:
  - id: budget
    order_by: {{desc: created}}
    keep_while: "{TOTAL}"
"""
TODAY = dt.date(2026, 11, 24)


def records(count: int) -> list[dict]:
    """``count`` text models, every one kept by the rules; prices small enough that the total stays under 20."""
    return [{"id": f"bench/model-{i:05d}", "name": f"Model {i}", "created": 1_700_000_000 + i,
             "context_length": 8192, "pricing": {"prompt": "0.0000000001", "completion": "0.0000000002"},
             "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
             "supported_parameters": ["tools", "max_tokens"]} for i in range(count)]


def timed(ruleset, data: list[dict], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        engine = Engine(ruleset, TODAY)
        start = time.perf_counter()
        result = engine.compile(data)
        best = min(best, time.perf_counter() - start)
    assert len(result.entries) == len(data), "the benchmark expects every model kept"
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,4000,20000")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline-max", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(tmp) / "90-budget.yaml"
        extra.write_text(SELECTION)
        plain = load_rules([REPO / "rules"])
        selected = load_rules([REPO / "rules", extra])
        running_sums = selection_module.running_sums
        print(f"{'records':>8}  {'rules only':>10}  {'running total':>13}  {'baseline (as written)':>21}")
        measured: tuple[int, float] | None = None
        for size in (int(s) for s in args.sizes.split(",")):
            data = records(size)
            floor = timed(plain, data, args.repeat)
            now = timed(selected, data, args.repeat)
            if size <= args.baseline_max:
                selection_module.running_sums = lambda expression: None
                try:
                    old = timed(selected, data, args.repeat)
                finally:
                    selection_module.running_sums = running_sums
                measured = (size, old)
                shown = f"{old:.2f}"
            elif measured:
                shown = f"~{measured[1] * (size / measured[0]) ** 2:.0f}"
            else:
                shown = "-"
            print(f"{size:>8}  {floor:>10.2f}  {now:>13.2f}  {shown:>21}", flush=True)


if __name__ == "__main__":
    main()
