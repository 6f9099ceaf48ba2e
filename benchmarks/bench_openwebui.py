"""Benchmark: `rinsync openwebui sync` against the real Open WebUI 0.12.4 on loopback.

Times, as fresh processes, best of N:
- writing every record of a real catalog into an empty Open WebUI (the 2026-08-19 catalog: 412 records);
- a no-op re-sync (nothing changed: one GET of every record, the plan, no write);
beside a floor that does the least any tool must: POST the same prepared records to /api/v1/models/create
one by one with requests (no rules, no plan, no state), and one GET /api/v1/models/all.
Needs the integration tools (ci/install-integration.sh); starts Open WebUI itself (~30 s).

    python benchmarks/bench_openwebui.py [--catalog PATH] [--repeat 3]
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

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RINSYNC_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
sys.path.insert(0, str(REPO / "tests" / "integration"))

FLOOR_CREATE = r"""
import json, sys, requests
url, token, path = sys.argv[1:4]
s = requests.Session(); s.trust_env = False
s.headers["Authorization"] = "Bearer " + token
for form in json.load(open(path)):
    r = s.post(url + "/api/v1/models/create", json=form, timeout=60)
    r.raise_for_status()
"""

FLOOR_READ = r"""
import sys, requests
url, token = sys.argv[1:3]
r = requests.get(url + "/api/v1/models/all", headers={"Authorization": "Bearer " + token}, timeout=60)
r.raise_for_status(); r.json()
"""


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(argv[:4])}...\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import harness

    ok, why = harness.integration_available("openwebui")
    if not ok:
        sys.exit(f"bench_openwebui: {why}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-openwebui-"))
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(NO_PROXY="127.0.0.1", SOURCE_DATE_EPOCH=harness.TODAY_EPOCH)
    rinsync = [sys.executable, "-m", "rinsync", "openwebui", "sync", "--catalog", str(args.catalog),
               "--rules", str(REPO / "rules"), "--config", str(tmp / "config.yaml")]
    with harness.FakeOpenRouter() as fake, harness.OpenWebUI(fake.api_base, log_dir=tmp / "webui") as webui:
        token = webui.token()
        env["OPENWEBUI_API_KEY"] = token
        forms = tmp / "forms.json"
        dry = subprocess.run([*rinsync, "--url", webui.url, "--dry-run"], env=env, capture_output=True, text=True)
        # "dry run: 412 Open WebUI model records: …" (the order's own dry-run line says "would set …")
        count = int(re.search(r"dry run: (\d+) Open WebUI model records", dry.stdout + dry.stderr)[1])
        _write_forms(args.catalog, forms)

        def wipe() -> None:
            status, _ = harness.http_json("DELETE", f"{webui.url}/api/v1/models/delete/all", headers=webui.auth)
            assert status == 200
            (tmp / ".rinsync-state.openwebui.json").unlink(missing_ok=True)

        rows: dict[str, list[float]] = {"floor create": [], "rinsync first sync": [], "floor read": [],
                                        "rinsync no-op sync": []}
        for _ in range(args.repeat):
            wipe()
            rows["floor create"].append(timed([sys.executable, "-c", FLOOR_CREATE, webui.url, token, str(forms)], env))
            wipe()
            rows["rinsync first sync"].append(timed([*rinsync, "--url", webui.url], env))
            rows["rinsync no-op sync"].append(timed([*rinsync, "--url", webui.url], env))
            rows["floor read"].append(timed([sys.executable, "-c", FLOOR_READ, webui.url, token], env))
    best = {k: min(v) for k, v in rows.items()}
    print(f"catalog {args.catalog.name}: {count} Open WebUI records, best of {args.repeat}")
    print(f"{'':22} {'seconds':>8} {'floor':>8} {'ratio':>6}")
    for label, floor in (("rinsync first sync", "floor create"), ("rinsync no-op sync", "floor read")):
        print(f"{label:22} {best[label]:8.3f} {best[floor]:8.3f} {best[label] / best[floor]:6.2f}")


def _write_forms(catalog: Path, path: Path) -> None:
    """The records rinsync would create, prepared ahead (the floor pays nothing for computing them)."""
    import datetime as dt

    from rinsync.dsl.rules import load_rules
    from rinsync.engine import Engine
    from rinsync.openwebui.plan import plan
    from rinsync.openwebui.records import build_records
    from rinsync.source.catalog import load_catalog_file

    engine = Engine(load_rules([REPO / "rules"]), dt.date(2026, 11, 24))
    records = build_records(engine, engine.compile(load_catalog_file(catalog).records).decisions)
    path.write_text(json.dumps([c.form for c in plan(records, [], {}).changes]))


if __name__ == "__main__":
    main()
