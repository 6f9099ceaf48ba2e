"""Issue 9, family 4: rules, configs, options and state files that attack the parser.

Every hostile case runs rinsync in a subprocess under RLIMIT_AS and a timeout (tests/hostile.py), and
checks the documented exit code, one error line, no traceback and the config byte for byte unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hostile import assert_one_line_error, run_limited

from support import REPO, SAMPLE_CATALOG

BOMB = "".join(
    [f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
     for prev, name in zip([None, "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)])
DEEP = "[" * 100_000 + "]" * 100_000


def short_id(value: object) -> str | None:
    """A test id for a huge parameter: pytest < 9.2 puts the whole string in the id, and the id goes into
    PYTEST_CURRENT_TEST, which makes a subprocess's environment too big to start (E2BIG)."""
    return f"{len(value)}-chars" if isinstance(value, str | bytes) and len(value) > 100 else None


def site(tmp_path: Path, text: str | bytes = "model_list: []\n") -> Path:
    config = tmp_path / "config.yaml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    return config


def compile_into(config: Path, *extra: str, catalog: Path = SAMPLE_CATALOG):
    return run_limited("compile", "--config", str(config), "--catalog", str(catalog), *extra, cwd=config.parent)


def rules_dir(tmp_path: Path, extra: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules, ignore=shutil.ignore_patterns("tests"))
    (rules / "90-hostile.yaml").write_text(extra)
    return rules


# --------------------------------------------------------------------------- YAML bombs and depth


@pytest.mark.parametrize("text,fragment", [
    (BOMB + "model_list: *i\n", "aliases are expanded"),
    (BOMB + "model_list: []\n", "aliases are expanded"),  # unused, but walked by a comparison or a dump
    ("model_list: " + DEEP + "\n", "nested more than 100 levels"),  # libyaml's composer would crash
    ("a: &a [*a]\nmodel_list: []\n", "recursive alias"),
], ids=short_id)
def test_hostile_config_is_refused_quickly(tmp_path, text, fragment):
    config = site(tmp_path, text)
    before = config.read_bytes()
    result = compile_into(config)
    assert_one_line_error(result, 1, "config.yaml: refused:", fragment, "nothing written")
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rinsync-lock.config.yaml", "config.yaml"]


def test_bomb_in_an_included_file_is_refused(tmp_path):
    config = site(tmp_path, "include:\n  - extra.yaml\nmodel_list: []\n")
    (tmp_path / "extra.yaml").write_text(BOMB + "model_list: *i\n")
    before = config.read_bytes()
    result = compile_into(config)
    assert_one_line_error(result, 1, "includes extra.yaml: refusing to read", "aliases are expanded")
    assert config.read_bytes() == before


def test_bomb_in_a_rules_file_is_a_located_finding(tmp_path):
    rules = rules_dir(tmp_path, "version: 1\n" + BOMB.replace(": &", "x: &") + "rules: []\n")
    config = site(tmp_path)
    before = config.read_bytes()
    for args in (["lint", str(rules)], ["compile", "--rules", str(rules), "--config", str(config),
                                         "--catalog", str(SAMPLE_CATALOG)]):
        result = run_limited(*args, cwd=tmp_path)
        assert_one_line_error(result, 1, "rules/90-hostile.yaml:8:9: error yaml-limit", "aliases are expanded")
    assert config.read_bytes() == before


def test_bomb_in_a_rule_test_file_fails_that_file(tmp_path):
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    (tests_dir / "bomb.test.yaml").write_text("version: 1\n" + BOMB + "records: *i\ntests: []\n")
    result = run_limited("test", str(tests_dir), cwd=tmp_path)
    assert result.code == 1 and "Traceback" not in result.err
    assert "yaml-limit" in result.out + result.err and "aliases are expanded" in result.out + result.err


# --------------------------------------------------------------------------- include: devices, FIFOs, huge files


@pytest.mark.parametrize("kind", ["fifo", "device", "huge", "directory"])
def test_include_naming_a_non_regular_or_huge_file_is_refused_without_blocking(tmp_path, kind):
    target = tmp_path / "extra.yaml"
    if kind == "fifo":
        os.mkfifo(target)  # opening it for reading would block forever: no writer
        why = "it is a FIFO, not a regular file"
    elif kind == "device":
        target.symlink_to("/dev/zero")  # endless
        why = "it is a device, not a regular file"
    elif kind == "directory":
        target.mkdir()
        why = "it is a directory, not a regular file"
    else:
        with target.open("wb") as handle:  # sparse: 17 MiB without using the disk
            handle.truncate(17 * 1024 * 1024)
        why = "more than the limit of 16,777,216"
    config = site(tmp_path, "include:\n  - extra.yaml\nmodel_list: []\n")
    before = config.read_bytes()
    result = compile_into(config)
    assert_one_line_error(result, 1, "config.yaml includes extra.yaml: refusing to read", why, "nothing written")
    assert config.read_bytes() == before


def test_config_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    config = tmp_path / "config.yaml"
    os.mkfifo(config)
    result = compile_into(config)
    assert_one_line_error(result, 1, "refusing to read config.yaml: it is a FIFO")


# --------------------------------------------------------------------------- regexes and JMESPath


def hostile_catalog(tmp_path: Path, model_id: str) -> Path:
    data = json.loads(SAMPLE_CATALOG.read_bytes())
    data["data"][0]["id"] = model_id
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    return path


def test_catastrophic_regex_runs_in_linear_time(tmp_path):
    """'(a+)+$' on 'aaaa…!' takes 2^n steps with backtracking; RE2 answers at once."""
    rules = rules_dir(tmp_path, "version: 1\nrules:\n  - id: drop-as\n    exclude: regex_match(id, '(a+)+$')\n")
    catalog = hostile_catalog(tmp_path, "evil/" + "a" * 5000 + "!")
    config = site(tmp_path)
    result = run_limited("compile", "--rules", str(rules), "--config", str(config), "--catalog", str(catalog),
                         cwd=tmp_path, timeout=20)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err


def test_pattern_re2_cannot_bound_is_an_error_in_lint_and_compile(tmp_path):
    rules = rules_dir(tmp_path, "version: 1\nrules:\n  - id: look\n    exclude: regex_match(id, '(?<!free)x')\n")
    config = site(tmp_path)
    before = config.read_bytes()
    lint = run_limited("lint", str(rules), cwd=tmp_path)
    line = assert_one_line_error(lint, 1, "90-hostile.yaml:4:14", "regex-unbounded", "(?<!free)x",
                                 "lookaround and backreferences are not supported")
    assert "absl" not in lint.err and "re2.cc" not in lint.err, lint.err  # RE2's own logging stays silent
    compiled = run_limited("compile", "--rules", str(rules), "--config", str(config), "--catalog",
                           str(SAMPLE_CATALOG), cwd=tmp_path)
    assert assert_one_line_error(compiled, 1, "regex-unbounded") == line
    assert config.read_bytes() == before


def test_runaway_jmespath_is_refused_before_it_runs(tmp_path):
    doubling = "|".join(["[@,@]"] * 40)
    rule = f"  - id: grow\n    exclude: \"length(to_string({doubling})) > `5`\"\n"
    rules = rules_dir(tmp_path, f"version: 1\nrules:\n{rule}")
    config = site(tmp_path)
    before = config.read_bytes()
    result = run_limited("compile", "--rules", str(rules), "--config", str(config), "--catalog",
                         str(SAMPLE_CATALOG), cwd=tmp_path)
    assert_one_line_error(result, 1, "90-hostile.yaml:4:", "jmespath-growth", "cannot be bounded")
    assert config.read_bytes() == before
    models = run_limited("models", "--catalog", str(SAMPLE_CATALOG), "--where", f"length({doubling}) > `1`",
                         cwd=tmp_path)
    assert models.code == 2 and "jmespath-growth" in models.err and "Traceback" not in models.err


def test_non_finite_numbers_in_rules_are_located_errors(tmp_path):
    rules = rules_dir(tmp_path, "version: 1\ndefaults:\n  litellm_params:\n    max_tokens: .nan\n"
                                "overrides:\n  - when: \"id == 'x'\"\n    model_info: {input_cost_per_token: -.inf}\n")
    result = run_limited("lint", str(rules), cwd=tmp_path)
    assert result.code == 1 and "Traceback" not in result.err
    assert ("90-hostile.yaml:4:17: error non-finite-number defaults.litellm_params.max_tokens: nan is not a "
            "finite number") in result.out
    assert ("90-hostile.yaml:7:40: error non-finite-number overrides.0.model_info.input_cost_per_token: -inf is "
            "not a finite number") in result.out


def test_shipped_rules_stay_within_the_bounds():
    from rinsync.dsl.rules import load_rules

    ruleset = load_rules([REPO / "rules"])
    assert not [f for f in ruleset.warnings if f.severity == "error"]


# --------------------------------------------------------------------------- name templates


@pytest.mark.parametrize("template,model_id,fragment", [
    ("{variant}", None, "renders an empty model_name for model"),
    ("x\\n{id}", None, "renders a model_name with control characters ('x\\\\x0a"),
    ("{id|replace('/', '\\u2028')}", None, "control characters ('qwen\\\\u2028qwen3.8-27b')"),
    ("{id|replace('/', '\\u202e')}", None, "control characters ('qwen\\\\u202eqwen3.8-27b')"),  # bidi override
])
def test_name_template_rendering_an_unusable_name_names_the_model(tmp_path, template, model_id, fragment):
    rules = rules_dir(tmp_path, f'version: 1\nname: "{template}"\n')
    catalog = hostile_catalog(tmp_path, model_id) if model_id else SAMPLE_CATALOG
    config = site(tmp_path)
    before = config.read_bytes()
    result = run_limited("compile", "--rules", str(rules), "--config", str(config), "--catalog", str(catalog),
                         cwd=tmp_path)
    assert_one_line_error(result, 1, fragment.replace("\\\\", "\\"), "give it an override")
    assert config.read_bytes() == before


# --------------------------------------------------------------------------- option values


@pytest.mark.parametrize("option,value", [
    ("--max-remove-fraction", "nan"), ("--max-remove-fraction", "inf"), ("--max-remove-fraction", "-0.1"),
    ("--max-remove-fraction", "1e999"), ("--lock-timeout", "nan"), ("--lock-timeout", "inf"),
    ("--lock-timeout", "-1"), ("--backups", "-1"), ("--backups", "nan"),
])
def test_non_finite_or_negative_option_values_are_usage_errors(tmp_path, run_cli, option, value):
    config = site(tmp_path)
    before = config.read_bytes()
    result = run_cli("compile", "--config", str(config), "--catalog", str(SAMPLE_CATALOG), option, value)
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and option in errors[0] and "Traceback" not in result.err
    assert config.read_bytes() == before


def test_non_finite_environment_value_is_a_usage_error(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("RINSYNC_MAX_REMOVE_FRACTION", "nan")
    config = site(tmp_path)
    result = run_cli("compile", "--config", str(config), "--catalog", str(SAMPLE_CATALOG))
    assert result.code == 2 and "'nan' is not a finite number" in result.err


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_verify_timeout_must_be_finite(run_cli, value):
    result = run_cli("verify", "--proxy", "http://127.0.0.1:9", "--timeout", value)
    assert result.code == 2 and "--timeout" in result.err


# --------------------------------------------------------------------------- damaged state and cache


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, "{\"version\": 2, \"generations\": [", "\x00\xff"],
                         ids=short_id)
def test_damaged_or_deep_state_is_treated_as_missing_with_a_warning(tmp_path, content):
    config = site(tmp_path)
    assert compile_into(config).code == 0
    state = tmp_path / ".rinsync-state.config.yaml.json"
    state.write_bytes(content.encode("latin-1"))
    result = compile_into(config, "--catalog", str(SAMPLE_CATALOG))
    assert result.code == 0, result.err
    assert "Traceback" not in result.err and "RecursionError" not in result.err
    assert "warning: merge base: state file .rinsync-state.config.yaml.json is damaged" in result.err
    assert json.loads(state.read_text())["version"] == 2  # repaired by the sync


def test_state_that_is_a_fifo_does_not_block(tmp_path):
    config = site(tmp_path)
    before = config.read_bytes()
    os.mkfifo(tmp_path / ".rinsync-state.config.yaml.json")
    result = compile_into(config)  # a planted FIFO is refused (family 1), never opened for a blocking read
    assert_one_line_error(result, 74, "refusing to write", ".rinsync-state.config.yaml.json: it is a FIFO")
    assert config.read_bytes() == before


@pytest.mark.parametrize("command", [["models"], ["lint", str(REPO / "rules")], ["explain", "x/y"]])
def test_catalog_option_naming_a_fifo_or_device_is_refused_without_blocking(tmp_path, command):
    fifo = tmp_path / "catalog.json"
    os.mkfifo(fifo)
    for catalog, why in ((fifo, "it is a FIFO"), (Path("/dev/zero"), "it is a device")):
        result = run_limited(*command, "--catalog", str(catalog), cwd=tmp_path)
        assert_one_line_error(result, 1, f"{catalog}: cannot read catalog: {why}, not a regular file")


def test_cache_that_is_a_fifo_is_no_cache(tmp_path):
    config = site(tmp_path)
    cache = tmp_path / ".rinsync-cache"
    cache.mkdir()
    os.mkfifo(cache / "catalog.json")
    (cache / "catalog.meta.json").write_text("{}")
    result = run_limited("compile", "--config", str(config), "--catalog", "cache", cwd=tmp_path)
    assert_one_line_error(result, 75, "no cached catalog", "the cache is not rinsync's own plain file")


def test_deep_cache_is_no_cache(tmp_path):
    config = site(tmp_path)
    before = config.read_bytes()
    cache = tmp_path / ".rinsync-cache"
    cache.mkdir()
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    (cache / "catalog.json").write_bytes(deep)
    (cache / "catalog.meta.json").write_bytes(deep)
    result = run_limited("compile", "--config", str(config), "--catalog", "cache", cwd=tmp_path)
    assert_one_line_error(result, 75, "no cached catalog in .rinsync-cache (the cache is damaged: nested too deeply")
    assert config.read_bytes() == before


def test_missing_regex_engine_is_a_finding_not_a_traceback(monkeypatch):
    import sys

    from rinsync.dsl import regex
    from rinsync.dsl.expr import check

    regex.compile_pattern.cache_clear()
    monkeypatch.setitem(sys.modules, "re2", None)  # an install from before google-re2 was a dependency
    try:
        problem = check("regex_match(id, 'x-[0-9]+')")
    finally:
        regex.compile_pattern.cache_clear()
    assert problem.code == "regex-engine" and "google-re2" in problem.message and "pip install" in problem.hint


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b"{\"version\": 1, \"inst", b"\xff\xfe"])
def test_damaged_or_deep_openwebui_state_is_unreadable_not_a_traceback(tmp_path, content):
    from rinsync.openwebui.state import load_base

    path = tmp_path / ".rinsync-state.openwebui.json"
    path.write_bytes(content)
    assert load_base(path, "http://127.0.0.1:1") == ({}, f"state file {path.name} is unreadable")


def test_openwebui_state_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    import signal

    from rinsync.files.safeopen import UnsafeFile
    from rinsync.openwebui.state import load_base

    path = tmp_path / ".rinsync-state.openwebui.json"
    os.mkfifo(path)
    signal.alarm(20)  # a blocking open would fail the test instead of hanging it
    try:
        with pytest.raises(UnsafeFile, match="it is a FIFO"):
            load_base(path, "http://127.0.0.1:1")
    finally:
        signal.alarm(0)
