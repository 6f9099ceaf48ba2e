"""Benchmark: `rinsync compile` against floors, on a real catalog and on it grown to 10,000 records.

The same-output floor (issue 15, target <= 1.5 on the 414-record 2026-08-19 catalog): a Python process
that json.loads the catalog and writes rinsync's very entries (computed beforehand by rinsync's engine in
this process, handed to the floor as a marshal file: no rule evaluated there) with libyaml's dumper and
rinsync's dumper settings; the bench checks that its file equals rinsync's byte for byte. The ratio is
the price of start-up (imports), the rules, the catalog checks and the safety around them. Times are the
best of N fresh processes, as CPU seconds (user+sys of the child: steadier than wall time on a shared
machine) and as wall seconds.
The older "hand-built" floor builds similar entries in plain Python (no sort, no drops) and dumps
them with PyYAML's C dumper (target <= 1.3); `rinsync --help` is set against `python -c "import click"`
(target <= 1.5).
The last row adds benchmarks/curation-rules.yaml (catalog-aware rules: family(), newest_in_family(),
and two selections) on the 10,000 records, beside the shipped rules alone on the same records (whose
own catalog-aware rule, drop-extended-variants, is in every row).
rinsync's CLI raises the garbage collector's thresholds (a short batch process, as mypy does); the
"floor+gc" columns give the floor the same setting, to show what that tuning alone is worth.

    python benchmarks/bench_compile.py [--catalog PATH] [--size 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RINSYNC_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
CURATION_RULES = REPO / "benchmarks" / "curation-rules.yaml"

SAME_OUTPUT_FLOOR = r"""
import json, marshal, sys, yaml

class Dumper(yaml.CSafeDumper):
    def ignore_aliases(self, data):
        return True

json.load(open(sys.argv[1], "rb"))
entries = marshal.load(open(sys.argv[2], "rb"))
text = yaml.dump({"model_list": entries}, Dumper=Dumper, sort_keys=False, allow_unicode=True,
                 default_flow_style=False, width=4096)
with open(sys.argv[3], "wb") as out:
    out.write(text.encode("utf-8"))
"""

FLOOR = r"""
import gc, json, sys, yaml
if len(sys.argv) > 3:  # the same collector setting as rinsync's CLI
    gc.set_threshold(200_000, 50, 100)
from decimal import Decimal

def price(value):
    return None if value in (None, "", "-1") else float(Decimal(value))

records = json.load(open(sys.argv[1]))["data"]
entries = []
for r in records:
    pricing = r.get("pricing") or {}
    params = r.get("supported_parameters") or []
    arch = r.get("architecture") or {}
    inputs, outputs = arch.get("input_modalities") or [], arch.get("output_modalities") or []
    info = {
        "mode": "chat",
        "supports_function_calling": "tools" in params,
        "supports_tool_choice": "tool_choice" in params,
        "supports_vision": "image" in inputs,
        "supports_pdf_input": "file" in inputs,
        "supports_audio_input": "audio" in inputs,
        "supports_audio_output": "audio" in outputs,
        "supports_reasoning": "reasoning" in params or "include_reasoning" in params,
        "supports_response_schema": "structured_outputs" in params,
        "max_input_tokens": r.get("context_length"),
        "max_output_tokens": (r.get("top_provider") or {}).get("max_completion_tokens"),
        "input_cost_per_token": price(pricing.get("prompt")),
        "output_cost_per_token": price(pricing.get("completion")),
    }
    prompt, completion = info["input_cost_per_token"], info["output_cost_per_token"]
    if prompt is not None:
        read = price(pricing.get("input_cache_read"))
        write = price(pricing.get("input_cache_write"))
        write_1h = price(pricing.get("input_cache_write_1h"))
        info["cache_read_input_token_cost"] = prompt if read is None else read
        info["cache_creation_input_token_cost"] = prompt if write is None else write
        info["cache_creation_input_token_cost_above_1hr"] = write_1h if write_1h is not None else (
            prompt if write is None else write)
    reasoning = price(pricing.get("internal_reasoning"))
    if reasoning is not None and reasoning != completion:
        info["output_cost_per_reasoning_token"] = reasoning
    for component, key in (("audio", "input_cost_per_audio_token"),
                           ("input_audio_cache", "cache_read_input_audio_token_cost"),
                           ("audio_output", "output_cost_per_audio_token"),
                           ("image_token", "input_cost_per_image_token"),
                           ("image_output", "output_cost_per_image_token")):
        info[key] = price(pricing.get(component))
    search = price(pricing.get("web_search"))
    if search is not None:
        info["search_context_cost_per_query"] = {
            "search_context_size_low": search, "search_context_size_medium": search,
            "search_context_size_high": search}
    tiers = {o.get("min_prompt_tokens"): o for o in pricing.get("overrides") or []}
    for threshold, suffix, cache in ((128000, "128k", False), (200000, "200k", True), (272000, "272k", True)):
        tier = tiers.get(threshold)
        if tier is None:
            continue
        info[f"input_cost_per_token_above_{suffix}_tokens"] = price(tier.get("prompt"))
        info[f"output_cost_per_token_above_{suffix}_tokens"] = price(tier.get("completion"))
        if cache:
            for component, key in (("input_cache_read", "cache_read_input_token_cost"),
                                   ("input_cache_write", "cache_creation_input_token_cost")):
                value = price(tier.get(component))
                if value is None and pricing.get(component) is None:
                    value = price(tier.get("prompt"))
                info[f"{key}_above_{suffix}_tokens"] = value
    info = {k: v for k, v in info.items() if v is not None}
    info["generated_by"] = "rinsync"
    info["openrouter_id"] = r["id"]
    entries.append({
        "model_name": "openrouter/" + r["id"].replace("/", "-").replace(":", "-"),
        "litellm_params": {"model": "openrouter/" + r["id"], "api_key": "os.environ/OPENROUTER_API_KEY"},
        "model_info": info,
    })
with open(sys.argv[2], "w") as out:
    yaml.dump({"model_list": entries}, out, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False)
"""


def grow(catalog: Path, size: int, target: Path) -> None:
    """Repeat the catalog's records with unique ids until it holds ``size`` records."""
    records = json.loads(catalog.read_text())["data"]
    grown = []
    for index in range(size):
        record = copy.deepcopy(records[index % len(records)])
        copy_no = index // len(records)
        if copy_no:
            base, sep, variant = record["id"].partition(":")
            record["id"] = f"{base}-copy{copy_no}{sep}{variant}"
            if record.get("canonical_slug"):  # each copy its own families, as in a real catalog
                record["canonical_slug"] = f"{record['canonical_slug']}-copy{copy_no}"
        grown.append(record)
    target.write_text(json.dumps({"data": grown}))


def timed(command: list[str], repeat: int, env: dict) -> tuple[float, float]:
    """(best CPU seconds, best wall seconds) of ``repeat`` fresh processes."""
    import resource

    cpu, wall = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(cpu), min(wall)


def best_of(command: list[str], repeat: int, env: dict) -> float:
    return timed(command, repeat, env)[1]


def rinsync_entries(catalog: Path, target: Path) -> None:
    """rinsync's entries for ``catalog`` (shipped rules, the bench's date), for the same-output floor."""
    import marshal

    os.environ["SOURCE_DATE_EPOCH"] = "1795478400"
    from rinsync.dsl.rules import load_rules
    from rinsync.engine import Engine, compile_date
    from rinsync.source.catalog import load_catalog_file

    result = Engine(load_rules([REPO / "rules"]), compile_date()).compile(load_catalog_file(catalog).records)
    target.write_bytes(marshal.dumps(result.entries))


def same_output_row(rinsync: str, catalog: Path, work: Path, repeat: int, env: dict) -> None:
    out, floor_out, entries = work / "same-rinsync.yaml", work / "same-floor.yaml", work / "entries.marshal"
    rinsync_entries(catalog, entries)
    timed([rinsync, "--version"], 1, env)  # warm-up: bytecode cached, files in the page cache
    ours = timed([rinsync, "compile", "--catalog", str(catalog), "--rules", str(REPO / "rules"), "--output",
                  str(out)], repeat, env)
    floor = timed([sys.executable, "-c", SAME_OUTPUT_FLOOR, str(catalog), str(entries), str(floor_out)], repeat,
                  env)
    same = out.read_bytes() == floor_out.read_bytes()
    records = len(json.loads(catalog.read_text())["data"])
    print(f"same-output floor ({'byte-identical' if same else 'OUTPUT DIFFERS: ratio meaningless'}), "
          f"{catalog.name}, {records} records:")
    print(f"  cpu  rinsync {ours[0]:.3f} s  floor {floor[0]:.3f} s  ratio {ours[0] / floor[0]:.2f}  (target <= 1.5)")
    print(f"  wall rinsync {ours[1]:.3f} s  floor {floor[1]:.3f} s  ratio {ours[1] / floor[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--same-output-only", action="store_true", help="Only the same-output floor row.")
    args = parser.parse_args()
    rinsync = shutil.which("rinsync") or str(Path(sys.executable).with_name("rinsync"))
    env = dict(os.environ, SOURCE_DATE_EPOCH="1795478400")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # installed packages run from cached bytecode; so must the bench
    work = Path(tempfile.mkdtemp(prefix="rinsync-bench-"))
    try:
        print(f"python {sys.version.split()[0]}, best of {args.repeat} runs, fresh process each")
        same_output_row(rinsync, args.catalog, work, args.repeat, env)
        if args.same_output_only:
            return
        grown = work / f"catalog-{args.size}.json"
        grow(args.catalog, args.size, grown)
        print("hand-built floor (wall seconds):")
        print(f"{'catalog':<34}{'records':>8}{'rinsync s':>11}{'floor s':>10}{'ratio':>8}  target"
              f"{'floor+gc s':>13}{'ratio':>8}")
        for path in (args.catalog, grown):
            records = len(json.loads(path.read_text())["data"])
            ours = best_of([rinsync, "compile", "--catalog", str(path), "--rules", str(REPO / "rules"),
                            "--output", str(work / "out.yaml")], args.repeat, env)
            floor = best_of([sys.executable, "-c", FLOOR, str(path), str(work / "floor.yaml")], args.repeat, env)
            tuned = best_of([sys.executable, "-c", FLOOR, str(path), str(work / "floor.yaml"), "gc"], args.repeat,
                            env)
            print(f"{path.name:<34}{records:>8}{ours:>11.3f}{floor:>10.3f}{ours / floor:>8.2f}  <= 1.3"
                  f"{tuned:>13.3f}{ours / tuned:>8.2f}")
        rules = [rinsync, "compile", "--catalog", str(grown), "--rules", str(REPO / "rules")]
        shipped = best_of(rules + ["--output", str(work / "out.yaml")], args.repeat, env)
        curated = best_of(rules + ["--rules", str(CURATION_RULES), "--output", str(work / "curated.yaml")],
                          args.repeat, env)
        kept = (work / "curated.yaml").read_text().count("model_name:")
        print(f"{'+ curation-rules.yaml (' + str(kept) + ' kept)':<34}{args.size:>8}{curated:>11.3f}{shipped:>10.3f}"
              f"{curated / shipped:>8.2f}  (no target; floor: the shipped rules alone, same records)")
        help_time = best_of([rinsync, "--help"], args.repeat * 2, env)
        click_time = best_of([sys.executable, "-c", "import click"], args.repeat * 2, env)
        print(f"{'rinsync --help':<34}{'':>8}{help_time:>11.3f}{click_time:>10.3f}{help_time / click_time:>8.2f}"
              "  <= 1.5 (floor: python -c 'import click')")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
