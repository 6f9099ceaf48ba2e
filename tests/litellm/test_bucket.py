"""`rinsync compile --config s3://BUCKET/KEY`: the bucket store, against moto's S3 server on 127.0.0.1.

moto is a stand-in for S3's HTTP API (tests/moto_s3.py), not S3 itself. The real proxies reading the
object run in tests/integration/test_fleet_bucket.py.
"""

from __future__ import annotations

import sys

import pytest
import yaml
from moto_s3 import SECRET_KEY, MotoS3

from rinsync import exitcodes
from rinsync.litellm import bucket as bucket_module
from rinsync.litellm.bucket import BucketStore
from support import SAMPLE_CATALOG

BUCKET, KEY = "cfg", "team/config.yaml"
URL = f"s3://{BUCKET}/{KEY}"
HAND = b"""# operators' config
model_list:
- model_name: mine
  litellm_params: {model: openai/gpt-4o}
general_settings: {}
"""


@pytest.fixture(scope="module")
def s3():
    with MotoS3() as server:
        yield server


@pytest.fixture
def bucket(s3, env, monkeypatch, request):
    name = f"b{abs(hash(request.node.name)) % 10**8}"
    s3.bucket(name)
    s3.client().put_object(Bucket=name, Key=KEY, Body=HAND)
    for k, v in s3.env.items():
        monkeypatch.setenv(k, v)
    return name


def sync(run_cli, bucket: str, *extra: str):
    result = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", f"s3://{bucket}/{KEY}", *extra)
    assert SECRET_KEY not in result.out + result.err and "Traceback" not in result.err
    return result


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("rinsync: error:")]


def test_merges_into_the_object_keeps_hand_entries_and_writes_only_on_change(s3, bucket, run_cli, tmp_path):
    done = sync(run_cli, bucket)
    assert done.code == 0, done.err
    data = s3.read(bucket, KEY)
    names = [e["model_name"] for e in yaml.safe_load(data)["model_list"]]
    assert names[0] == "mine" and len(names) > 10
    assert s3.read(bucket, "team/.rinsync-state.config.yaml.json")  # the merge base lives beside the object
    assert len(s3.versions(bucket, KEY)) == 2
    assert f"wrote s3://{bucket}/{KEY}" in done.err
    again = sync(run_cli, bucket)
    assert again.code == 0 and "no changes, object left as it was" in again.err
    assert len(s3.versions(bucket, KEY)) == 2 and s3.read(bucket, KEY) == data
    # a hand edit on a generated entry survives the next sync (three-way merge, as for a file)
    doc = yaml.safe_load(data)
    doc["model_list"][1]["model_info"]["mode"] = "hand-set"
    s3.client().put_object(Bucket=bucket, Key=KEY, Body=yaml.safe_dump(doc, sort_keys=False).encode())
    kept = sync(run_cli, bucket)
    assert kept.code == 0, kept.err
    assert yaml.safe_load(s3.read(bucket, KEY))["model_list"][1]["model_info"]["mode"] == "hand-set"
    assert not list(tmp_path.glob("s3*")), "nothing named after the url on the local disk"


@pytest.mark.parametrize("when", ["before-the-check", "after-the-check"])
def test_a_concurrent_writer_is_detected_not_overwritten(s3, bucket, run_cli, monkeypatch, when):
    theirs = HAND + b"# their change\n"
    original_head, original_put = BucketStore.head, BucketStore.put

    def head(self, key):
        if when == "before-the-check":
            s3.client().put_object(Bucket=bucket, Key=KEY, Body=theirs)
            return original_head(self, key)
        seen = original_head(self, key)  # the check passes; the other writer comes right after it
        s3.client().put_object(Bucket=bucket, Key=KEY, Body=theirs)
        return seen

    monkeypatch.setattr(BucketStore, "head", head)
    monkeypatch.setattr(BucketStore, "put", original_put)
    done = sync(run_cli, bucket)
    assert done.code == exitcodes.TEMPFAIL, done.err
    [line] = [ln for ln in done.err.splitlines() if "another writer" in ln]  # exit 75 lines have no "error:"
    assert line.startswith(f"rinsync: s3://{bucket}/{KEY} was changed by another writer")
    assert "nothing overwritten" in line
    assert s3.read(bucket, KEY) == theirs


def test_without_boto3_one_line_names_the_extra(bucket, run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    done = sync(run_cli, bucket)
    assert done.code == exitcodes.ERROR
    [line] = error_lines(done.err)
    assert "pip install 'rinsync[s3]'" in line


def test_a_missing_bucket_or_a_bad_url_is_one_line(s3, bucket, run_cli):
    done = sync(run_cli, "no-such-bucket-here")
    assert done.code == exitcodes.ERROR, done.err
    [line] = error_lines(done.err)
    assert "s3://no-such-bucket-here/" in line and "nothing written" in line
    bad = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", "s3://x/")
    assert bad.code == exitcodes.USAGE and "Traceback" not in bad.err
    assert len(error_lines(bad.err)) == 1 and "s3://BUCKET/KEY" in bad.err


def test_an_unreachable_endpoint_is_a_retry_later(bucket, run_cli, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(bucket_module, "_client", _fast_client)
    done = sync(run_cli, bucket)
    assert done.code == exitcodes.TEMPFAIL, done.err
    [line] = [ln for ln in done.err.splitlines() if ln.startswith("rinsync: ")]
    assert "cannot reach the S3 endpoint" in line


def _fast_client(url):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}))


def test_an_object_that_is_not_a_config_is_one_line_and_stays_as_it_is(s3, bucket, run_cli):
    broken = b"model_list: [\n  - {model_name: x\n"
    s3.client().put_object(Bucket=bucket, Key=KEY, Body=broken)
    done = sync(run_cli, bucket)
    assert done.code == exitcodes.ERROR, done.err
    [line] = error_lines(done.err)
    assert line.startswith(f"rinsync: error: s3://{bucket}/{KEY}: not valid YAML") and "nothing written" in line
    assert "rinsync-bucket-" not in done.err, "the private local copy is never named"
    assert s3.read(bucket, KEY) == broken and len(s3.versions(bucket, KEY)) == 2
