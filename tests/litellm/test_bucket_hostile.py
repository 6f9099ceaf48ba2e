"""Hostile S3 answers for `--config s3://…`, under a time and memory limit (tests/hostile.py): one line, a
documented exit code, no traceback, and no secret in the output. The "S3 server" is a stub on 127.0.0.1."""

from __future__ import annotations

import pytest
from hostile import assert_one_line_error, run_limited
from moto_s3 import ACCESS_KEY, SECRET_KEY, require_s3_tools
from werkzeug import Response

from rinsync import exitcodes
from rinsync.limits import MAX_YAML_BYTES
from support import SAMPLE_CATALOG

URL = "s3://cfg/team/config.yaml"


def run(httpserver, tmp_path):
    env = {"AWS_ENDPOINT_URL": httpserver.url_for("/").rstrip("/"), "AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    done = run_limited("compile", "--catalog", str(SAMPLE_CATALOG), "--config", URL, cwd=tmp_path, **env)
    assert SECRET_KEY not in done.out + done.err and ACCESS_KEY not in done.out + done.err
    return done


@pytest.mark.parametrize("answer", ["html-403", "huge", "bomb"])
def test_hostile_s3_answers_are_one_line(httpserver, tmp_path, answer):
    require_s3_tools()
    if answer == "html-403":
        response = Response(f"<html>denied {SECRET_KEY}</html>", 403, content_type="text/html")
    elif answer == "huge":
        response = Response(b"#" * (MAX_YAML_BYTES + 10), 200, content_type="application/yaml")
    else:  # aliases that expand beyond any memory limit
        nine = ", ".join(["*{p}"] * 9)
        bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [{nine.format(p=p)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
        response = Response("model_list: []\n" + bomb, 200, content_type="application/yaml")
    httpserver.expect_request("/cfg/team/config.yaml").respond_with_response(response)
    httpserver.expect_request("/cfg/team/.rinsync-state.config.yaml.json").respond_with_response(
        Response("<Error><Code>NoSuchKey</Code></Error>", 404, content_type="application/xml"))
    done = run(httpserver, tmp_path)
    fragment = {"html-403": "s3://cfg/team/config.yaml: GET failed", "huge": "more than the",
                "bomb": "s3://cfg/team/config.yaml"}[answer]
    assert_one_line_error(done, exitcodes.ERROR, fragment)
    assert not [r for r in httpserver.log if r[0].method == "PUT"], "nothing written"
