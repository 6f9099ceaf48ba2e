"""Benchmark: what clients of the REAL LiteLLM proxy notice while a sync is applied, restart vs zero downtime.

One run, on loopback, with the full config compiled from the 2026-08-19 catalog (413 models), chat
completions answered by the test harness's fake OpenRouter:

* **restart** (the baseline a user of the original script pays): the proxy runs plainly
  (``litellm --config``); an apply is ``rinsync compile`` and then a stop and start of the proxy
  (what ``docker compose restart litellm`` does), until ``rinsync verify --wait`` agrees.
* **zero downtime**: the proxy runs in gunicorn mode (``--run_gunicorn --num_workers N``); an apply is
  ``rinsync compile --reload-cmd CMD --proxy URL`` with CMD ``kill -HUP <master pid>`` (all workers
  replaced at once: requests wait while the new ones start) or ``scripts/gunicorn-rolling-reload.sh``
  (new workers first, old ones retired ``--overlap`` seconds later) (docs/apply.md).

* **fleet**: ``--replicas`` proxies in gunicorn mode sharing one config file; an apply is ``rinsync compile
  --reload-cmd 'kill -HUP $(cat pid{index})' --proxy URL1 --proxy URL2 …  --fleet-batch B``: the canary is
  reloaded and confirmed first, then the rest B at a time, each confirmed on its own address (docs/fleet.md).
  The load goes round-robin to every replica. With ``kill -HUP`` and with the rolling reload script per
  replica. Target: the whole fleet confirmed within 1.5 x the time of one replica's apply by the same
  reload (its single-proxy row) plus the reload's overlap (``--overlap``; none for ``kill -HUP``).

Each apply alternates between the full config and the same catalog with an hourly-sized change
(5 models fewer, 20 prices changed). Meanwhile ``--clients`` threads each keep one request in flight
(``GET /v1/models`` and chat completions for models in both configs). Printed per path: requests
during the applies, failed requests (as a client sees them, and after one retry of a connection
reset, which the OpenAI SDK does by default), the longest stall (the longest time without a
successful answer) and the longest single request. Targets for the zero-downtime paths: 0 failed
requests and the longest stall <= 2 s.

    python benchmarks/bench_apply.py [--quick] [--applies N] [--clients N] [--workers N] [--overlap S]
                                     [--replicas N] [--fleet-batch B] [--paths restart,hup,rolling,fleet,fleet-rolling]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(1, str(REPO / "tests"))

from fleet_load import RoundRobin, start_all  # noqa: E402
from load import GunicornProxy, Load  # noqa: E402

import harness  # noqa: E402

SHARED = Path(os.environ.get("RINSYNC_SHARED_DIR", REPO.parent / "shared"))
CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
TARGET_FAILED = 0
TARGET_STALL = 2.0
TARGET_FLEET_FACTOR = 1.5  # the whole fleet confirmed within 1.5 x one replica's apply (+ the reload's overlap)


def catalogs(tmp: Path) -> tuple[Path, Path]:
    """The full catalog, and the same with an hourly-sized change (5 models fewer, 20 new prices)."""
    data = json.loads(CATALOG.read_bytes())
    changed = copy.deepcopy(data)
    changed["data"] = changed["data"][5:]
    priced = [r for r in changed["data"] if r.get("pricing", {}).get("prompt") not in (None, "", "0", "-1")]
    for record in priced[:20]:
        record["pricing"]["prompt"] = str(float(record["pricing"]["prompt"]) * 1.1)
    full, hourly = tmp / "full.json", tmp / "hourly.json"
    full.write_text(json.dumps(data))
    hourly.write_text(json.dumps(changed))
    return full, hourly


def compile_args(catalog: Path, rules: Path, config: Path) -> list:
    return ["compile", "--catalog", catalog, "--rules", REPO / "rules", "--rules", rules, "--config", config,
            "--force"]


def run(args: list, **env: str):
    done = harness.run_rinsync(*args, env={"LITELLM_MASTER_KEY": harness.MASTER_KEY, **env}, timeout=600)
    if done.returncode != 0:
        sys.exit(f"bench_apply: rinsync {args[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done


def names(config: Path) -> set[str]:
    return {e["model_name"] for e in harness.load_model_list(config)}


def measure(label: str, proxy, apply, start_on: Path, order: list[Path], rules: Path, config: Path,
            clients: int) -> dict:
    """Start ``proxy`` (or a list of replicas) on ``start_on``'s config, then apply each catalog of ``order``
    under load (spread round-robin over the replicas)."""
    run(compile_args(start_on, rules, config))
    proxies = proxy if isinstance(proxy, list) else [proxy]
    spans = []
    try:
        start_all(proxies)
        load = (RoundRobin([p.url for p in proxies], harness.MASTER_KEY, clients=clients) if len(proxies) > 1
                else Load(proxies[0].url, harness.MASTER_KEY, clients=clients))
        with load:
            for catalog in order:
                before = names(config)
                after = set(compiled_names(catalog, rules))
                # models in both configs (and the hand-written ones) must never fail
                load.set_window(sorted(n for n in before if n in after or not n.startswith("openrouter/")))
                time.sleep(1.5)
                start = time.monotonic()
                apply(catalog)
                end = time.monotonic()
                time.sleep(1.0)
                spans.append((start, end))
                load.set_window(sorted(names(config)))
        records = [r for r in load.snapshot() if any(a <= r["start"] <= b + 1.0 for a, b in spans)]
        stalls = [load.longest_stall(a, b + 1.0) for a, b in spans]
        longest = [load.longest_request(a, b + 1.0) for a, b in spans]
    finally:
        for each in proxies:
            each.stop()
    return {
        "path": label,
        "applies": len(spans),
        "requests": len(records),
        "failed": sum(1 for r in records if r["must"] and (r["reset"] or r["status"] != 200)),
        "failed_after_retry": sum(1 for r in records if r["must"] and r["status"] != 200),
        "stall": max(stalls),
        "request": max(longest),
        "apply": max(b - a for a, b in spans),
    }


def compiled_names(catalog: Path, rules: Path) -> list[str]:
    out = rules.parent / "names.yaml"
    run(["compile", "--catalog", catalog, "--rules", REPO / "rules", "--rules", rules, "--output", out])
    return [e["model_name"] for e in harness.load_model_list(out)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one apply per path (CI)")
    parser.add_argument("--applies", type=int, default=4, help="applies per path (default 4)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients, each one request in flight")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers of the zero-downtime proxies")
    parser.add_argument("--overlap", type=float, default=15, help="seconds the rolling reload lets new workers start")
    parser.add_argument("--replicas", type=int, default=3, help="replicas of the fleet path (default 3)")
    parser.add_argument("--fleet-batch", type=int, default=2,
                        help="replicas reloaded together after the canary (rinsync --fleet-batch; default 2)")
    parser.add_argument("--paths", default="restart,hup,rolling,fleet,fleet-rolling",
                        help="comma-separated subset of restart,hup,rolling,fleet,fleet-rolling (default: all)")
    args = parser.parse_args()
    paths = set(args.paths.split(","))
    ok, reason = harness.integration_available("litellm")
    if not ok:
        print(f"bench_apply: {reason}", file=sys.stderr)
        return 1
    applies = 1 if args.quick else max(args.applies, 1)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rinsync-bench-apply-") as tmp_name, harness.FakeOpenRouter() as fake:
        tmp = Path(tmp_name)
        full, hourly = catalogs(tmp)
        order = [full if i % 2 == 0 else hourly for i in range(applies)]  # the first apply brings the 413
        rules = tmp / "90-fake-openrouter.yaml"
        rules.write_text(harness.attribution_rules(fake.api_base))
        models = len(compiled_names(full, rules))

        config = tmp / "restart" / "config.yaml"
        config.parent.mkdir()
        config.write_text(harness.hand_written_config(fake.api_base))
        plain = harness.LiteLLMProxy(config, log_dir=config.parent)

        def restart(catalog: Path) -> None:
            run(compile_args(catalog, rules, config))
            plain.restart()
            run(["verify", "--proxy", plain.url, "--config", config, "--wait", "120"])

        rows = []
        if "restart" in paths:
            rows.append(measure("restart (stop + start)", plain, restart, hourly, order, rules, config, args.clients))

        config_hup = tmp / "hup" / "config.yaml"
        config_hup.parent.mkdir()
        config_hup.write_text(harness.hand_written_config(fake.api_base))
        gunicorn = GunicornProxy(config_hup, log_dir=config_hup.parent, workers=args.workers)

        def hup(catalog: Path) -> None:
            run(compile_args(catalog, rules, config_hup) + ["--reload-cmd", f"kill -HUP {gunicorn.proc.pid}",
                                                            "--proxy", gunicorn.url])

        if "hup" in paths or "fleet" in paths:  # a fleet row's baseline is one replica's
            rows.append(measure(f"gunicorn x{args.workers}, kill -HUP", gunicorn, hup, hourly, order, rules,
                                config_hup, args.clients))

        config_roll = tmp / "rolling" / "config.yaml"
        config_roll.parent.mkdir()
        config_roll.write_text(harness.hand_written_config(fake.api_base))
        rolling_proxy = GunicornProxy(config_roll, log_dir=config_roll.parent, workers=args.workers)

        def rolling(catalog: Path) -> None:
            script = REPO / "scripts" / "gunicorn-rolling-reload.sh"
            command = f"{script} 'kill -s %s {rolling_proxy.proc.pid}' {args.workers} {args.overlap:g}"
            run(compile_args(catalog, rules, config_roll) + ["--reload-cmd", command, "--proxy", rolling_proxy.url,
                                                             "--reload-timeout", "180"])

        if "rolling" in paths or "fleet-rolling" in paths:
            rows.append(measure(f"gunicorn x{args.workers}, rolling TTIN/TTOU", rolling_proxy, rolling, hourly,
                                order, rules, config_roll, args.clients))

        config_fleet = tmp / "fleet" / "config.yaml"
        config_fleet.parent.mkdir()
        config_fleet.write_text(harness.hand_written_config(fake.api_base))
        replicas = [GunicornProxy(config_fleet, log_dir=config_fleet.parent / f"r{i}", workers=args.workers)
                    for i in range(1, args.replicas + 1)]

        def fleet_apply(rolling_reload: bool):
            def apply(catalog: Path) -> None:
                for i, replica in enumerate(replicas, 1):
                    (config_fleet.parent / f"pid{i}").write_text(str(replica.proc.pid))
                signal = f"kill -s %s $(cat {config_fleet.parent}/pid{{index}})"
                command = (f"{REPO / 'scripts' / 'gunicorn-rolling-reload.sh'} '{signal}' {args.workers} "
                           f"{args.overlap:g}" if rolling_reload else signal.replace("-s %s", "-HUP"))
                urls = [a for r in replicas for a in ("--proxy", r.url)]
                run(compile_args(catalog, rules, config_fleet) + ["--reload-cmd", command, *urls, "--fleet-batch",
                                                                  str(args.fleet_batch), "--reload-timeout", "180"])
            return apply

        label = f"fleet x{args.replicas}, canary + {args.fleet_batch},"
        if "fleet" in paths:
            rows.append(measure(f"{label} kill -HUP", replicas, fleet_apply(False), hourly, order, rules,
                                config_fleet, args.clients))
        if "fleet-rolling" in paths:
            rows.append(measure(f"{label} rolling", replicas, fleet_apply(True), hourly, order, rules,
                                config_fleet, args.clients))
    print(f"bench_apply: {models} generated models ({CATALOG.name}), {args.clients} client(s) with one request "
          f"in flight each, {applies} apply(s) per path; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores (other work on the machine slows both paths)")
    print(f"{'path':<34} {'applies':>7} {'requests':>8} {'failed':>6} {'after retry':>11} {'longest stall':>13} "
          f"{'longest request':>15} {'apply took':>10}")
    for r in rows:
        print(f"{r['path']:<34} {r['applies']:>7} {r['requests']:>8} {r['failed']:>6} {r['failed_after_retry']:>11} "
              f"{r['stall']:>12.2f}s {r['request']:>14.2f}s {r['apply']:>9.1f}s")
    for zero in [r for r in rows if not r["path"].startswith("restart")]:
        print(f"targets ({zero['path']}): failed requests {zero['failed']} (target {TARGET_FAILED}: "
              f"{'met' if zero['failed'] <= TARGET_FAILED else 'MISSED'}), longest stall {zero['stall']:.2f}s "
              f"(target <= {TARGET_STALL:g}s: {'met' if zero['stall'] <= TARGET_STALL else 'MISSED'})")
    for fleet_row in [r for r in rows if r["path"].startswith("fleet")]:
        rolling_reload = fleet_row["path"].endswith("rolling")
        one = next((r for r in rows if not r["path"].startswith("fleet")
                    and r["path"].endswith("rolling TTIN/TTOU" if rolling_reload else "kill -HUP")), None)
        if one is None:
            continue
        overlap = args.overlap if rolling_reload else 0.0
        bound = TARGET_FLEET_FACTOR * one["apply"] + overlap
        print(f"target ({fleet_row['path']}): whole fleet confirmed after {fleet_row['apply']:.1f}s, one replica "
              f"{one['apply']:.1f}s (target <= {TARGET_FLEET_FACTOR:g} x one replica + overlap {overlap:g}s = "
              f"{bound:.1f}s: {'met' if fleet_row['apply'] <= bound else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
