"""--notify: the digest (or the report) posted to a receiver on 127.0.0.1; bounded, retried, never failing."""

from __future__ import annotations

import json
import time

import pytest
from helpers_sync import closed_port_url, new_site
from jsonschema import Draft202012Validator
from werkzeug import Response

from rinsync.report.notify import post
from rinsync.resources import load_schema
from support import SHARED

OLD = SHARED / "catalogs" / "openrouter-models-2026-05-01.json"
NEW = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
TOKEN = "XyZsecretWebhookToken0123456789"


@pytest.fixture
def site(env, run_cli):
    config = new_site(env)
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(config)).code == 0
    return config


def sync(run_cli, site, url, *extra):
    return run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--notify", url, *extra)


def test_a_notable_sync_posts_the_digest_as_slack_text(site, run_cli, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    result = sync(run_cli, site, httpserver.url_for("/hook"))
    assert result.code == 0 and "warning" not in result.err
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    assert request.headers["Content-Type"] == "application/json"
    payload = json.loads(request.get_data())
    assert list(payload) == ["text"]
    assert "removed (89)" in payload["text"] and "price increases above 10%" in payload["text"]


def test_json_format_posts_the_report(site, run_cli, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    assert sync(run_cli, site, httpserver.url_for("/hook"), "--notify-format", "json").code == 0
    report = json.loads(httpserver.log[0][0].get_data())
    Draft202012Validator(load_schema("report.v1.schema.json")).validate(report)
    assert len(report["targets"]["litellm"]["removed"]) == 89


def test_nothing_is_posted_when_nothing_notable_happened(env, run_cli, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    config = new_site(env)
    result = run_cli("compile", "--catalog", str(NEW), "--config", str(config), "--notify", httpserver.url_for("/hook"))
    assert result.code == 0
    assert httpserver.log == []  # only additions: not notable


def test_a_failed_sync_is_posted(env, run_cli, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    config = new_site(env)
    result = run_cli("compile", "--catalog", "cache", "--config", str(config), "--notify", httpserver.url_for("/hook"))
    assert result.code == 75
    assert "outcome: exit 75" in json.loads(httpserver.log[0][0].get_data())["text"]


def test_a_5xx_is_retried(site, run_cli, httpserver):
    answers = iter([Response("busy", status=503), Response("ok", status=200)])
    httpserver.expect_request("/hook").respond_with_handler(lambda request: next(answers))
    result = sync(run_cli, site, httpserver.url_for("/hook"))
    assert result.code == 0 and "warning" not in result.err
    assert len(httpserver.log) == 2


def test_a_refusing_receiver_is_one_warning_without_the_token(site, run_cli, httpserver):
    httpserver.expect_request(f"/services/T01/B02/{TOKEN}").respond_with_data("no", status=404)
    url = httpserver.url_for(f"/services/T01/B02/{TOKEN}")
    result = sync(run_cli, site, url)
    assert result.code == 0  # a notification never fails the sync
    assert len(httpserver.log) == 1  # a 4xx is not retried
    warnings = [line for line in result.err.splitlines() if "notification" in line]
    assert len(warnings) == 1 and "HTTP 404" in warnings[0]
    assert f"http://{httpserver.host}:{httpserver.port}/…" in warnings[0]
    assert TOKEN not in result.err + result.out


def test_a_slow_receiver_is_cut_off_at_the_deadline(site, run_cli, httpserver):
    def slow(request):
        time.sleep(4)
        return Response("late")

    httpserver.expect_request("/hook").respond_with_handler(slow)
    started = time.monotonic()
    result = sync(run_cli, site, httpserver.url_for("/hook"), "--notify-timeout", "1")
    elapsed = time.monotonic() - started
    assert result.code == 0
    assert "notification to" in result.err and "failed" in result.err
    assert elapsed < 3.5, elapsed  # the sync itself takes well under a second more than the deadline


def test_connection_refused_is_retried_within_the_deadline():
    started = time.monotonic()
    sent = post(closed_port_url(), b"{}", deadline=5, attempts=3)
    assert not sent.ok and sent.attempts == 3 and "connection failed" in sent.problem
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("url", [f"http://hooks.example.com/services/{TOKEN}", f"ftp://127.0.0.1/{TOKEN}",
                                 f"https://exa mple.com/{TOKEN}"])
def test_a_url_that_may_leak_or_cannot_work_is_a_usage_error_without_the_token(site, run_cli, url):
    before = site.read_bytes()
    result = sync(run_cli, site, url)
    assert result.code == 2
    assert TOKEN not in result.err + result.out
    assert site.read_bytes() == before


def test_the_webhook_token_is_redacted_but_plain_path_words_are_not():
    from rinsync.report.run import _hide_url
    from rinsync.source.fetch import Redactor

    redactor = Redactor()
    _hide_url(redactor, f"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/{TOKEN}?key=querysecret99")
    shown = redactor(f"services webhooks T0123ABCD B0456EFGH {TOKEN} querysecret99")
    assert shown.startswith("services webhooks ")
    assert "T0123ABCD" not in shown and TOKEN not in shown and "querysecret99" not in shown
