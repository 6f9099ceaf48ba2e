"""A local S3-compatible server for the bucket-store tests: moto in server mode (``moto[server]`` on PyPI).

moto is a stand-in for S3's HTTP API on 127.0.0.1, not S3 itself: conditional writes, versions and
errors are moto's rendering of S3's documented behaviour. Without moto installed the tests that need
it skip, and fail under ``RINSYNC_REQUIRE_INTEGRATION=1`` (as in .ci/run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ACCESS_KEY = "AKIAFLEETTESTKEY0001"
SECRET_KEY = "fleet-test-secret-access-key-do-not-print"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_s3_tools() -> None:
    """boto3 and moto[server] are installed, or the test skips (fails under RINSYNC_REQUIRE_INTEGRATION=1)."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as exc:
        if os.environ.get("RINSYNC_REQUIRE_INTEGRATION") == "1":
            pytest.fail(f"moto[server] and boto3 are required here: {exc}")
        pytest.skip("needs moto[server] and boto3 (pip install 'moto[server]' boto3)")


class MotoS3:
    def __init__(self, log_path=None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """What boto3 (rinsync's and LiteLLM's) needs to talk to this server."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION_NAME": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "127.0.0.1,localhost"}

    def start(self) -> MotoS3:
        require_s3_tools()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1")

    def bucket(self, name: str, versioned: bool = True) -> None:
        client = self.client()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def versions(self, bucket: str, key: str) -> list[str]:
        listing = self.client().list_object_versions(Bucket=bucket, Prefix=key)
        return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
