"""Issue 17, family 3: every numeric option and its RINSYNC_* variable refuses nan, inf and meaningless values.

``nan`` passes every bound check, so before this a ``--lock-timeout nan`` or a ``RINSYNC_RELOAD_TIMEOUT=nan``
was accepted and then hung or disabled a guard. Each case runs under a time and memory limit
(tests/hostile.py), so a value that is accepted and hangs fails instead of blocking the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import run_limited

from support import SAMPLE_CATALOG

CONFIG_TEXT = b"# mine\nmodel_list: []\n"
BAD = ["nan", "-inf", "1e999"]

# (command words, option, its environment variable or None, a value below its meaningful range or None)
OPTIONS = [
    (("compile",), "--max-remove-fraction", "RINSYNC_MAX_REMOVE_FRACTION", "-0.1"),
    (("compile",), "--lock-timeout", None, "-1"),
    (("compile",), "--reload-timeout", "RINSYNC_RELOAD_TIMEOUT", "0"),
    (("openwebui", "sync", "--url", "http://127.0.0.1:9"), "--max-remove-fraction", "RINSYNC_MAX_REMOVE_FRACTION",
     "-0.1"),
    (("openwebui", "sync", "--url", "http://127.0.0.1:9"), "--lock-timeout", None, "-1"),
    (("recommend",), "--budget", None, "-1"),
    (("recommend",), "--min-score", None, None),
    (("verify", "--proxy", "http://127.0.0.1:9"), "--wait", None, "-1"),
    (("verify", "--proxy", "http://127.0.0.1:9"), "--timeout", None, "0"),
]
IDS = [f"{' '.join(words[:2])} {option}" for words, option, _, _ in OPTIONS]


def _args(words: tuple[str, ...], config: Path) -> list[str]:
    args = list(words) + ["--catalog", str(SAMPLE_CATALOG)] if words[0] != "verify" else list(words)
    if words[0] in ("compile", "openwebui", "verify"):
        args += ["--config", str(config)]
    return args


def _one_error(result) -> str:
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err
    return errors[0]


@pytest.mark.parametrize("words,option,envvar,below", OPTIONS, ids=IDS)
@pytest.mark.parametrize("value", BAD)
def test_non_finite_option_is_a_usage_error(tmp_path, words, option, envvar, below, value):
    config = tmp_path / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    result = run_limited(*_args(words, config), option, value, cwd=tmp_path, timeout=20,
                         OPENWEBUI_API_KEY="k", LITELLM_MASTER_KEY="k")
    error = _one_error(result)
    assert option in error and "not a finite number" in error
    assert config.read_bytes() == CONFIG_TEXT


@pytest.mark.parametrize("words,option,envvar,below", [o for o in OPTIONS if o[3] is not None],
                         ids=[i for i, o in zip(IDS, OPTIONS, strict=True) if o[3] is not None])
def test_value_below_the_meaningful_range_is_a_usage_error(tmp_path, words, option, envvar, below):
    config = tmp_path / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    result = run_limited(*_args(words, config), option, below, cwd=tmp_path, timeout=20)
    assert option in _one_error(result)
    assert config.read_bytes() == CONFIG_TEXT


@pytest.mark.parametrize("words,option,envvar", [o[:3] for o in OPTIONS if o[2]],
                         ids=[f"{o[2]} ({i})" for i, o in zip(IDS, OPTIONS, strict=True) if o[2]])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_environment_variable_is_checked_like_its_option_and_named(tmp_path, words, option, envvar, value):
    config = tmp_path / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    result = run_limited(*_args(words, config), cwd=tmp_path, timeout=20, OPENWEBUI_API_KEY="k",
                         **{envvar: value})
    error = _one_error(result)
    assert option in error and f"(from {envvar})" in error
    assert config.read_bytes() == CONFIG_TEXT


def test_finite_values_are_still_accepted(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    result = run_limited("compile", "--config", str(config), "--catalog", str(SAMPLE_CATALOG),
                         "--max-remove-fraction", "0.25", "--lock-timeout", "0", "--reload-timeout", "1.5",
                         cwd=tmp_path, RINSYNC_MAX_REMOVE_FRACTION="nan")  # the option wins over the variable
    assert result.code == 0, result.err
    assert b"generated_by: rinsync" in config.read_bytes()


@pytest.mark.parametrize("raw,fragment", [("nan", "not a finite number"), ("inf", "not a finite number"),
                                          ("-2", "at least 0"), ("soon", "not a number")])
def test_env_number_refuses_what_click_options_refuse(raw, fragment):
    from rinsync.options import OptionValueError, env_number

    with pytest.raises(OptionValueError) as caught:
        env_number("RINSYNC_RETRY_BACKOFF", 1.0, environ={"RINSYNC_RETRY_BACKOFF": raw})
    assert caught.value.message.startswith("RINSYNC_RETRY_BACKOFF=") and fragment in caught.value.message
    assert env_number("RINSYNC_RETRY_BACKOFF", 1.0, environ={"RINSYNC_RETRY_BACKOFF": " 2.5 "}) == 2.5
    assert env_number("RINSYNC_RETRY_BACKOFF", 1.0, environ={}) == 1.0


@pytest.mark.parametrize("name", ["RINSYNC_RETRY_BACKOFF", "RINSYNC_RETRY_MAX_WAIT"])
@pytest.mark.parametrize("value", BAD)
def test_non_finite_retry_variable_is_refused_before_a_fetch(tmp_path, name, value):
    config = tmp_path / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    result = run_limited("compile", "--config", str(config), "--source-url", "http://127.0.0.1:9/api/v1/models",
                         cwd=tmp_path, timeout=20, **{name: value})
    error = _one_error(result)
    assert error.startswith(f"Error: {name}=") and "not a finite number" in error
    assert config.read_bytes() == CONFIG_TEXT
