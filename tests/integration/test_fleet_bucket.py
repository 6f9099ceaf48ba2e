"""REAL LiteLLM replicas reading their config from one S3 object (docs/fleet.md, the bucket store).

The S3 server is moto in server mode on 127.0.0.1, started here: a stand-in for S3's HTTP API, not S3
itself. Each replica runs in gunicorn mode with ``LITELLM_CONFIG_BUCKET_NAME`` / ``_OBJECT_KEY`` /
``_TYPE=s3`` and no ``--config``; a ``SIGHUP`` to its master makes the new worker read the object again.
``rinsync compile --config s3://BUCKET/KEY --reload-cmd 'kill -HUP …{index}' --proxy A --proxy B`` merges
into the object (the hand-written entry kept), writes a new version, reloads each replica canary first,
while a client sends requests round-robin to both. Asserted: 0 failed requests for models present before
and after, each replica serves the compiled set; a replica whose reload does nothing makes the fleet roll
back: the object holds the previous bytes again and both replicas serve them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from fleet_load import RoundRobin, cut, start_all
from load import GunicornProxy
from moto_s3 import SECRET_KEY, MotoS3

import harness
from harness import MASTER_KEY
from support import RULES_DIR

BUCKET, KEY = "litellm-config", "prod/config.yaml"
REPLICAS = 2


class BucketProxy(GunicornProxy):
    """LiteLLM with its config in the bucket: no --config at all."""

    def _argv(self) -> list[str]:
        return [self.bin, "--host", "127.0.0.1", "--port", str(self.port), "--run_gunicorn", "--num_workers",
                str(self.workers)]



def model_names(data: bytes) -> list[str]:
    return [e["model_name"] for e in yaml.safe_load(data)["model_list"]]


@pytest.mark.integration
def test_replicas_reading_one_bucket_object_are_synced_under_load_and_rolled_back(tmp_path, fake_openrouter):
    harness.require_integration("litellm")
    rules = tmp_path / "90-attribution.yaml"
    rules.write_text(harness.attribution_rules(fake_openrouter.api_base))
    first, second = cut(tmp_path, "v0.json", 0, 40), cut(tmp_path, "v1.json", 8, 48)
    with MotoS3(tmp_path / "moto.log") as s3:
        s3.bucket(BUCKET)
        s3.client().put_object(Bucket=BUCKET, Key=KEY,
                               Body=harness.hand_written_config(fake_openrouter.api_base).encode())
        env = {**s3.env, "LITELLM_MASTER_KEY": MASTER_KEY}

        def compile_(catalog: Path, *extra: str):
            return harness.run_rinsync("compile", "--catalog", catalog, "--rules", RULES_DIR, "--rules", rules,
                                       "--config", f"s3://{BUCKET}/{KEY}", *extra, env=env, timeout=400)

        created = compile_(first)
        assert created.returncode == 0, created.stderr
        before_bytes = s3.read(BUCKET, KEY)
        before = model_names(before_bytes)
        assert "gpt-4o-direct" in before and len(before) > 30  # the hand-written entry is kept in the object
        bucket_env = {**s3.env, "LITELLM_CONFIG_BUCKET_NAME": BUCKET, "LITELLM_CONFIG_BUCKET_OBJECT_KEY": KEY,
                      "LITELLM_CONFIG_BUCKET_TYPE": "s3"}
        proxies = [BucketProxy(tmp_path / "unused.yaml", env=bucket_env, log_dir=tmp_path / f"proxy{i}", workers=1)
                   for i in range(1, REPLICAS + 1)]
        try:
            start_all(proxies)
            for i, proxy in enumerate(proxies, 1):
                (tmp_path / f"pid{i}").write_text(str(proxy.proc.pid))
                harness.assert_serves_exactly(proxy.models(), before)
            hup = f"kill -HUP $(cat {tmp_path}/pid{{index}})"
            fleet = [a for p in proxies for a in ("--proxy", p.url)]
            plan = compile_(second, "--dry-run", "-v")
            out = plan.stdout.splitlines() + plan.stderr.splitlines()
            added = [ln[4:] for ln in out if ln.startswith("  + ")]
            removed = {ln[4:] for ln in out if ln.startswith("  - ")}
            assert added and removed, plan.stderr
            with RoundRobin([p.url for p in proxies], MASTER_KEY) as load:
                load.set_window([n for n in before if n not in removed], added + sorted(removed))
                time.sleep(1.0)
                done = compile_(second, "--reload-cmd", hup, *fleet, "--reload-timeout", "120")
                assert done.returncode == 0, done.stderr
                after_bytes = s3.read(BUCKET, KEY)
                after = model_names(after_bytes)
                assert set(after) == (set(before) - removed) | set(added)
                assert len(s3.versions(BUCKET, KEY)) == 3  # the hand-written one, the first sync, this one
                entries = yaml.safe_load(after_bytes)["model_list"]
                for proxy in proxies:
                    assert f"confirmed: the proxy at {proxy.url} serves the new config" in done.stderr
                    harness.assert_serves_exactly(proxy.models(), after)
                    harness.assert_model_info_matches([e for e in entries if harness.is_generated(e)],
                                                      proxy.model_info())
                load.set_window(after, [])
                time.sleep(1.0)

                # replica 2 ignores its reload: the canary must go back, the object holds the previous bytes
                load.set_window([n for n in after if n in set(before)], sorted(set(before) ^ set(after)))
                ignore_2 = f"[ {{index}} = 2 ] || kill -HUP $(cat {tmp_path}/pid{{index}})"
                rejected = compile_(first, "--reload-cmd", ignore_2, *fleet, "--reload-timeout", "20")
                assert rejected.returncode == 5, rejected.stderr
                errors = [ln for ln in rejected.stderr.splitlines() if ln.startswith("rinsync: error:")]
                assert len(errors) == 1 and errors[0].startswith(
                    "rinsync: error: new config rejected by the proxy, previous config restored: replica 2 of 2: "
                    f"the proxy at {proxies[1].url} did not serve the new config within 20s"), rejected.stderr
                assert f"rollback: restored s3://{BUCKET}/{KEY}" in rejected.stderr
                assert s3.read(BUCKET, KEY) == after_bytes
                for proxy in proxies:
                    harness.assert_serves_exactly(proxy.models(), after)
                load.set_window(after, [])
                time.sleep(1.0)
            output = "".join(r.stdout + r.stderr for r in (created, done, rejected))
            assert MASTER_KEY not in output and SECRET_KEY not in output
            records = load.snapshot()
            failed = load.failures()
            print(f"\n{len(records)} requests to {REPLICAS} bucket replicas, {len(failed)} failed that must not, "
                  f"{len(load.resets())} connection reset(s) retried")
            assert not failed, f"{len(failed)} failed requests, e.g. {failed[:3]}"
            assert len([r for r in records if r["kind"] == "chat" and r["must"]]) > 20
        finally:
            for proxy in proxies:
                proxy.stop()
