"""Issue 17, families 1, 2 and 5 on the apply, verify and Open WebUI paths: hostile or huge answers, time, and
secrets. Stub servers on 127.0.0.1; the CLI runs under a time and memory limit (tests/hostile.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hostile import assert_one_line_error, run_limited
from hostile_servers import (
    Stub,
    big_number_json,
    deep_json,
    echo_auth,
    endless,
    gzip_bomb,
    json_answer,
    proxy_answers,
    raw_answer,
    redirect,
    switch,
    trickle,
)

from rinsync import exitcodes
from rinsync.diagnostics import RinsyncError
from rinsync.httpclient import HttpClient, HttpError, Secret, may_send_secret, plain_http_hosts
from rinsync.litellm.verify import load_model_list
from rinsync.openwebui.client import Client, OpenWebUIError
from rinsync.redact import Redactor
from support import REPO, SAMPLE_CATALOG

KEY = "sk-net-master-0123456789abcdef"
TOKEN = "owui-net-token-0123456789abcdef"
KEY_ENV = "RINSYNC_TEST_PROXY_KEY"
# the reload command flips the stub between its normal and hostile answers: the first reload makes it
# hostile (the confirmation fails), the rollback's reload makes it normal again (the restore is confirmed)
FLIP = "if [ -e HOSTILE ]; then rm HOSTILE; else touch HOSTILE; fi"


@pytest.fixture
def site(tmp_path):
    """A config compiled from the sample catalog, and a smaller catalog for the next sync."""
    config = tmp_path / "config.yaml"
    done = run_limited("compile", "--catalog", str(SAMPLE_CATALOG), "--rules", str(REPO / "rules"), "--config",
                       str(config), cwd=tmp_path)
    assert done.code == 0, done.err
    smaller = tmp_path / "smaller.json"
    data = json.loads(SAMPLE_CATALOG.read_text())
    data["data"] = data["data"][:20]
    smaller.write_text(json.dumps(data))
    return config, smaller


def proxy(config: Path, flag: Path, hostile_info, hostile_models=None) -> Stub:
    """A stand-in proxy serving ``config`` as it is now; ``hostile_*`` while ``flag`` exists."""
    models, info = proxy_answers(load_model_list(config))
    return Stub({"/v1/models": switch(flag, raw_answer(models), hostile_models or raw_answer(models)),
                 "/model/info": switch(flag, raw_answer(info), hostile_info)})


def sync(tmp_path: Path, config: Path, catalog: Path, url: str, *extra: str, timeout: float = 60):
    return run_limited("compile", "--catalog", str(catalog), "--rules", str(REPO / "rules"), "--config", str(config),
                       "--reload-cmd", FLIP, "--proxy", url, "--key-env", KEY_ENV, *extra, cwd=tmp_path,
                       timeout=timeout, **{KEY_ENV: KEY})


def verify(tmp_path: Path, config: Path, url: str, *extra: str, timeout: float = 30, **env: str):
    env = {KEY_ENV: KEY, **env}
    return run_limited("verify", "--proxy", url, "--config", str(config), "--key-env", KEY_ENV, *extra,
                       cwd=tmp_path, timeout=timeout, **env)


def no_secret(done, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in done.out + done.err
        assert secret[:12] not in done.out + done.err, "a piece of the secret was shown"


# --------------------------------------------------------------------------- family 1: hostile or huge answers

HOSTILE_INFO = {
    "deep": (raw_answer(deep_json()), "nested"),
    "big-integer": (raw_answer(big_number_json()), "beyond float range"),
    "infinity": (raw_answer(b'{"data": [{"model_name": "m", "model_info": {"max_tokens": 1e400}}]}'),
                 "no float can hold"),
    "huge": (endless(), "larger than 32 MiB"),
    "gzip-bomb": (gzip_bomb(), "larger than 32 MiB"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_INFO))
def test_verify_refuses_a_hostile_model_info_in_one_line(tmp_path, site, case):
    config, _ = site
    answer, words = HOSTILE_INFO[case]
    flag = tmp_path / "HOSTILE"
    flag.touch()
    with proxy(config, flag, answer) as stub:
        done = verify(tmp_path, config, stub.url)
    assert_one_line_error(done, exitcodes.ERROR, "/model/info", words)
    no_secret(done, KEY)


@pytest.mark.parametrize("case", ["deep", "big-integer", "huge"])
def test_a_hostile_answer_to_the_confirmation_is_a_failed_confirmation_rolled_back(tmp_path, site, case):
    config, smaller = site
    before = config.read_bytes()
    answer, words = HOSTILE_INFO[case]
    with proxy(config, tmp_path / "HOSTILE", answer) as stub:
        done = sync(tmp_path, config, smaller, stub.url, "--reload-timeout", "10")
    assert done.code == exitcodes.APPLY_ROLLED_BACK, done.err
    assert "Traceback" not in done.err and "MemoryError" not in done.err
    errors = [line for line in done.err.splitlines() if line.startswith("rinsync: error:")]
    assert len(errors) == 1 and "previous config restored" in errors[0] and words in errors[0], done.err
    assert config.read_bytes() == before  # nothing lost: the previous config, byte for byte
    no_secret(done, KEY)


OWUI_RECORDS = {
    "meta-a-string": ([{"id": "m", "name": "M", "meta": "oops", "params": {}}], "meta of type string"),
    "name-a-list": ([{"id": "m", "name": ["M"], "meta": {}, "params": {}}], "name of type array"),
    "tags-an-object": ([{"id": "m", "name": "M", "meta": {"tags": {"a": 1}}, "params": {}}], "meta.tags"),
    "not-a-record": ([5], "record 0 is number"),
    "not-a-list": ({"data": []}, "did not return a list"),
}


@pytest.mark.parametrize("case", sorted(OWUI_RECORDS))
def test_open_webui_records_of_the_wrong_shape_are_one_line(tmp_path, case):
    body, words = OWUI_RECORDS[case]
    with Stub({"/api/v1/models/all": json_answer(body)}) as stub:
        done = run_limited("openwebui", "sync", "--url", stub.url, "--catalog", str(SAMPLE_CATALOG), "--rules",
                           str(REPO / "rules"), "--config", str(tmp_path / "config.yaml"), cwd=tmp_path,
                           OPENWEBUI_API_KEY=TOKEN)
        assert [r["path"] for r in stub.requests] == ["/api/v1/models/all"]  # nothing was changed
    assert_one_line_error(done, exitcodes.OPENWEBUI_FAILED, words)
    no_secret(done, TOKEN)


@pytest.mark.parametrize("body", [deep_json(), big_number_json()], ids=["deep", "big-integer"])
def test_open_webui_hostile_json_is_one_line(tmp_path, body):
    with Stub({"/api/v1/models/all": raw_answer(body)}) as stub:
        done = run_limited("openwebui", "sync", "--url", stub.url, "--catalog", str(SAMPLE_CATALOG), "--rules",
                           str(REPO / "rules"), "--config", str(tmp_path / "config.yaml"), cwd=tmp_path,
                           OPENWEBUI_API_KEY=TOKEN)
    assert_one_line_error(done, exitcodes.OPENWEBUI_FAILED, "reading Open WebUI's model records", "refused")


# --------------------------------------------------------------------------- family 2: time


def test_a_dripping_open_webui_is_bounded_by_the_total_deadline():
    with Stub({}) as stub:
        stub.routes["/api/v1/models/all"] = trickle(b"[]", 0.2, stub.stop)
        client = Client(stub.url, TOKEN, Redactor([TOKEN]), timeout=30.0, total=1.5)
        started = time.monotonic()
        with pytest.raises(OpenWebUIError) as info:
            client.records()
        took = time.monotonic() - started
    assert 1.4 < took < 4, took
    assert info.value.exit_code == exitcodes.OPENWEBUI_FAILED
    assert "gave no complete answer within the total deadline of 1.5s" in info.value.message


def test_each_request_gets_what_is_left_of_the_total_deadline():
    with Stub({}) as stub:
        stub.routes["/slow"] = trickle(b'{"ok": true}', 0.1, stub.stop)  # about 9 s for the whole answer
        client = HttpClient(total=2.0, exchange=1.5)
        started = time.monotonic()
        with pytest.raises(HttpError) as first:
            client.get(stub.url + "/slow")
        assert first.value.kind == "deadline" and 1.4 < time.monotonic() - started < 3
        with pytest.raises(HttpError) as second:
            client.get(stub.url + "/slow")
        assert second.value.kind == "deadline"
        assert time.monotonic() - started < 3.5  # the second got the 0.5 s left, not another 1.5 s


def test_verify_wait_is_a_total_deadline_even_when_the_proxy_trickles(tmp_path, site):
    config, _ = site
    with Stub({}) as stub:
        models, _ = proxy_answers(load_model_list(config))
        stub.routes["/v1/models"] = trickle(models, 0.05, stub.stop)
        started = time.monotonic()
        done = verify(tmp_path, config, stub.url, "--wait", "3")
        took = time.monotonic() - started
    assert done.code == exitcodes.TEMPFAIL, done.err
    assert took < 3 + 3, took  # the wait, plus the start of a Python process under load
    assert_one_line_error(done, exitcodes.TEMPFAIL, "did not complete GET /v1/models")


def test_a_trickling_proxy_cannot_stretch_a_3s_confirmation(tmp_path, site):
    config, smaller = site
    before = config.read_bytes()
    with Stub({}) as stub:
        models, info = proxy_answers(load_model_list(config))
        flag = tmp_path / "HOSTILE"
        stub.routes["/v1/models"] = switch(flag, raw_answer(models), trickle(models, 0.05, stub.stop))
        stub.routes["/model/info"] = raw_answer(info)
        started = time.monotonic()
        done = sync(tmp_path, config, smaller, stub.url, "--reload-timeout", "3")
        took = time.monotonic() - started
    assert done.code == exitcodes.APPLY_ROLLED_BACK, done.err
    assert "did not serve the new config within 3s" in done.err
    # the confirmation (3 s) and the rollback's confirmation (3 s at most, quick here), plus process start-up
    assert took < 3 + 3 + 4, took
    assert config.read_bytes() == before


# --------------------------------------------------------------------------- family 5: secrets


def test_credentials_in_the_proxy_url_are_never_shown(tmp_path, site):
    config, smaller = site
    models, info = proxy_answers(load_model_list(config))
    with Stub({"/v1/models": raw_answer(models), "/model/info": raw_answer(info)}) as stub:
        url = stub.url.replace("http://", "http://admin:hunter2-proxy-pass@")
        done = verify(tmp_path, config, url)
        assert_one_line_error(done, exitcodes.USAGE, "carries credentials", stub.url)
        no_secret(done, "hunter2-proxy-pass")
        before = config.read_bytes()
        done = sync(tmp_path, config, smaller, url)
        assert done.code != 0 and "Traceback" not in done.err
        no_secret(done, "hunter2-proxy-pass")
        assert config.read_bytes() == before  # refused before anything was written
        assert stub.requests == []  # the credentials never left


@pytest.mark.parametrize("key", [KEY + "\n", KEY + "\r\n", "sk-net-\x1b[31m-0123456789", "sk-net 0123456789",
                                 "sk-net-Ключ-0123456789", "sk-net-\u2028-0123456789"],
                         ids=["newline", "crlf", "escape", "space", "cyrillic", "line-separator"])
def test_a_key_no_header_can_carry_is_one_line_naming_the_variable(tmp_path, site, key):
    config, _ = site
    models, info = proxy_answers(load_model_list(config))
    with Stub({"/v1/models": raw_answer(models), "/model/info": raw_answer(info)}) as stub:
        done = verify(tmp_path, config, stub.url, **{KEY_ENV: key})
        assert stub.requests == []
    line = assert_one_line_error(done, exitcodes.USAGE, KEY_ENV, "nothing was sent")
    for piece in key.split():
        assert piece not in line


def test_an_odd_open_webui_token_is_one_line_naming_the_variable(tmp_path):
    with Stub({"/api/v1/models/all": json_answer([])}) as stub:
        done = run_limited("openwebui", "sync", "--url", stub.url, "--catalog", str(SAMPLE_CATALOG), "--rules",
                           str(REPO / "rules"), "--config", str(tmp_path / "config.yaml"), cwd=tmp_path,
                           OPENWEBUI_API_KEY="owui-Tökén-€-0123456789")
        assert stub.requests == []
    line = assert_one_line_error(done, exitcodes.USAGE, "OPENWEBUI_API_KEY", "Latin-1")
    assert "Tökén" not in line


def test_secrets_go_over_plain_http_only_to_loopback_or_named_hosts(tmp_path, site):
    config, _ = site
    done = verify(tmp_path, config, "http://litellm.invalid:4000")  # refused before any DNS lookup: exit 2, not 75
    assert_one_line_error(done, exitcodes.USAGE, "refusing to send", KEY_ENV,
                          "RINSYNC_ALLOW_PLAIN_HTTP=litellm.invalid")
    done = verify(tmp_path, config, "http://litellm.invalid:4000", RINSYNC_ALLOW_PLAIN_HTTP="other, LiteLLM.invalid")
    assert_one_line_error(done, exitcodes.TEMPFAIL, "cannot reach the LiteLLM proxy")  # opted in: it was tried
    assert may_send_secret("https://litellm.example/x") and may_send_secret("http://[::1]:4000")
    assert may_send_secret("http://localhost:4000") and may_send_secret("http://127.0.0.2:4000")
    assert not may_send_secret("http://10.0.0.5:4000")
    assert may_send_secret("http://10.0.0.5:4000", plain_http_hosts({"RINSYNC_ALLOW_PLAIN_HTTP": "10.0.0.5"}))
    done = run_limited("openwebui", "sync", "--url", "http://webui.invalid:3000", "--catalog", str(SAMPLE_CATALOG),
                       "--rules", str(REPO / "rules"), "--config", str(tmp_path / "config.yaml"), cwd=tmp_path,
                       OPENWEBUI_API_KEY=TOKEN)
    assert_one_line_error(done, exitcodes.USAGE, "refusing to send OPENWEBUI_API_KEY over plain HTTP")


def test_a_server_echoing_the_token_in_its_error_never_shows_it(tmp_path):
    with Stub({"/api/v1/models/all": json_answer([]), "/api/v1/models/create": echo_auth(400)}) as stub:
        done = run_limited("openwebui", "sync", "--url", stub.url, "--catalog", str(SAMPLE_CATALOG), "--rules",
                           str(REPO / "rules"), "--config", str(tmp_path / "config.yaml"), cwd=tmp_path,
                           OPENWEBUI_API_KEY=TOKEN)
        assert any(r["path"] == "/api/v1/models/create" for r in stub.requests)
    assert_one_line_error(done, exitcodes.OPENWEBUI_FAILED, "HTTP 400", "invalid credentials")
    no_secret(done, TOKEN)


def test_redirects_keep_the_secret_with_its_origin():
    with Stub({}) as other, Stub({}) as first:
        other.routes["/models"] = json_answer({"data": []})
        first.routes["/models"] = redirect(other.url + "/models")
        first.routes["/loop"] = redirect("/loop")
        client = HttpClient(Redactor(), secret=Secret(KEY, KEY_ENV), total=10)
        assert client.get(first.url + "/models").json() == {"data": []}
        assert first.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
        assert "Authorization" not in other.requests[0]["headers"]  # another origin: the key stays behind
        with pytest.raises(HttpError) as info:
            client.get(first.url + "/loop")
        assert info.value.kind == "redirect"
    with pytest.raises(HttpError) as info:
        client._redirect("https://proxy.example/x", "http://proxy.example/y", "https://proxy.example/x",
                         {"Authorization": "Bearer k"}, ("https", "proxy.example", 443))
    assert info.value.kind == "redirect" and "plain http" in info.value.reason


def test_every_form_of_a_key_is_redacted():
    redact = Redactor([KEY + "\n", None, ""])
    redact.add_url("http://admin:p%40ss-word-1@host:4000/x?token=tok-123456&page=2")
    text = f"{KEY} {KEY}\n Bearer sk-unknown-98765 p%40ss-word-1 p@ss-word-1 tok-123456 admin:p%40ss-word-1"
    shown = redact.quoted(text)
    for secret in (KEY, "sk-unknown-98765", "p@ss-word-1", "p%40ss-word-1", "tok-123456", "admin"):
        assert secret not in shown, shown


def test_the_key_is_checked_before_the_client_is_built():
    with pytest.raises(RinsyncError) as info:
        HttpClient(secret=Secret("sk-ok-but-\n-not", "SOME_KEY"))
    assert info.value.exit_code == exitcodes.USAGE and "SOME_KEY holds a control character" in info.value.message
    assert "sk-ok-but" not in info.value.message


def test_an_open_webui_url_with_credentials_is_refused_without_showing_them():
    with pytest.raises(OpenWebUIError) as info:
        Client("http://admin:owui-url-pass@127.0.0.1:3000", TOKEN, Redactor([TOKEN]))
    assert info.value.exit_code == exitcodes.USAGE and "carries credentials" in info.value.message
    assert "owui-url-pass" not in info.value.message and "admin" not in info.value.message
    with pytest.raises(OpenWebUIError) as info:
        Client("http://127.0.0.1:3000/?token=owui-query-secret", TOKEN, Redactor([TOKEN]))
    assert "carries a query string" in info.value.message and "owui-query-secret" not in info.value.message
    assert Client("http://LocalHost:3000/api/v1/", TOKEN, Redactor([TOKEN])).url == "http://LocalHost:3000"


def test_names_from_the_proxy_cannot_forge_a_line(tmp_path, site):
    config, _ = site
    models, info = proxy_answers(load_model_list(config))
    forged = json.loads(models)
    forged["data"].append({"id": "evil\nrinsync: OK: the proxy agrees\x1b[2K"})
    with Stub({"/v1/models": json_answer(forged), "/model/info": raw_answer(info)}) as stub:
        done = verify(tmp_path, config, stub.url)
    assert done.code == exitcodes.ERROR
    assert done.out.splitlines() == ["extra: evil\\x0arinsync: OK: the proxy agrees\\x1b[2K (served by the proxy, "
                                     "not in config)"]
    assert "\x1b" not in done.out + done.err


@pytest.mark.parametrize("text, words", [
    ('{"a": NaN}', "NaN"), ('[-Infinity]', "Infinity"), ("[1e400]", "no float can hold"),
    ("[-" + "9" * 400 + "]", "beyond float range"), ("[" * 65 + "]" * 65, "more than 64 levels"),
    ("[" + "0," * 100 + "0]", "more than 100 values")])
def test_bounded_json_refuses_what_no_comparison_survives(text, words):
    from rinsync.limits import JsonRefused, load_json

    with pytest.raises(JsonRefused) as info:
        load_json(text, max_depth=64, max_values=100, finite=True)
    assert words in str(info.value)
    assert load_json('{"a": [1, 2.5e-06, -3, {"b": null}]}', max_depth=64, max_values=100, finite=True) == \
        {"a": [1, 2.5e-06, -3, {"b": None}]}
    assert load_json("[1e400]") == [float("inf")]  # without finite=True: json's own behaviour (rinsync's files)
