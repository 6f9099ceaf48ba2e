"""``rinsync test``: the shipped rules tests, failing and broken test files, --select, --fail-only, coverage."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rinsync.cli import main
from rinsync.commands.testing import TEST_SCHEMA
from rinsync.resources import load_schema

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "rules_tests"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


@pytest.fixture
def run(monkeypatch, capsys):
    """Run ``rinsync ARGS`` in-process in a directory; return (exit code, stdout, stderr)."""

    def _run(args: list[str], cwd: Path = REPO) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        with pytest.raises(SystemExit) as exc:
            main(args)
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return _run


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the shipped rules (and their tests) plus the sample catalog the tests read."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "sample-catalog.json", tmp_path / "examples")
    return tmp_path


def summary(out: str) -> tuple[int, int]:
    match = SUMMARY.match(out.rstrip("\n").splitlines()[-1])
    assert match, f"last line is not the summary: {out!r}"
    return int(match[1]), int(match[2])


def line_of(path: Path, text: str, start: str | None = None) -> tuple[int, int]:
    """1-based line and column of ``text`` in a file (after the line containing ``start``)."""
    lines = path.read_text().splitlines()
    begin = next(i for i, line in enumerate(lines) if start in line) if start else 0
    for number, line in enumerate(lines[begin:], begin + 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} not in {path}")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the shipped tests -------------------------------------------------------------------------


def test_shipped_rules_pass_and_cover_every_rule(run):
    code, out, err = run(["test"])
    assert code == 0, out + err
    passed, failed = summary(out)
    assert failed == 0 and passed >= 60
    assert "FAIL" not in out and "coverage:" not in out
    assert out.count(": PASS ") == passed
    # one PASS line per case and model, located at the case
    assert "rules/tests/filter.test.yaml:" in out and "rules/tests/sample-catalog.test.yaml:" in out


def test_shipped_rules_pass_through_the_console_script():
    exe = Path(sys.executable).parent / "rinsync"
    proc = subprocess.run([str(exe), "test", "--fail-only", "--fail-uncovered"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert SUMMARY.match(proc.stdout.strip())  # --fail-only and nothing failed: the summary alone
    assert proc.stdout.count("\n") == 1


def test_shipped_test_files_use_the_catalog_file_and_inline_records():
    files = sorted((REPO / "rules" / "tests").glob("*.test.yaml"))
    texts = [f.read_text() for f in files]
    assert any("catalog: ../../examples/sample-catalog.json" in t for t in texts)
    assert sum("\nrecords:" in t for t in texts) >= 3


def test_test_schema_is_valid_draft_2020_12():
    from jsonschema import Draft202012Validator

    schema = load_schema(TEST_SCHEMA)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith("/rules-test.v1.schema.json")


# --- a rules change that breaks a shipped behaviour ----------------------------------------------


def run_broken(run, checkout: Path, rules_file: str, old: str, new: str) -> str:
    """Change one shipped rules file (the text must be there), run ``rinsync test``; it must fail (exit 1)."""
    path = checkout / "rules" / rules_file
    text = path.read_text()
    assert old in text, f"{rules_file} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new))
    code, out, _ = run(["test", "--fail-only", "rules"], cwd=checkout)
    assert code == 1, out
    return out


def test_breaking_the_expired_rule_fails_naming_model_and_expectation(run, checkout):
    out = run_broken(run, checkout, "10-filter.yaml", "exclude: expired(expiration_date)",
                     "exclude: expired(knowledge_cutoff)")
    tests = checkout / "rules" / "tests" / "filter.test.yaml"
    line, col = line_of(tests, "drop-expired", start="a model past its expiration date is dropped")
    expected = (f"rules/tests/filter.test.yaml:{line}:{col}: "
                "FAIL a model past its expiration date is dropped: model 'anthropic/claude-3.7-sonnet:thinking': "
                "expected dropped_by 'drop-expired', got kept")
    assert expected in out.splitlines()
    assert ("FAIL the sample's expired models are dropped: model 'nvidia/nemotron-nano-12b-v2-vl:free': "
            "expected dropped_by 'drop-expired', got kept") in out
    assert "PASS" not in out
    passed, failed = summary(out)
    assert failed >= 4 and passed > 0


def test_removing_an_exception_fails_the_test_of_that_exception(run, checkout):
    out = run_broken(run, checkout, "10-filter.yaml", "      - contains(id, '128k-online')\n", "")
    assert ("FAIL the '128k-online' exception alone keeps a non-Sonar online model: model 'acme/search-128k-online': "
            "expected kept, got dropped by rule 'drop-extended-variants'") in out
    # the Sonar 128k-online model is still kept by the 'sonar' exception
    assert "perplexity/llama-3.1-sonar-large-128k-online" not in out


def test_changing_the_name_template_fails_naming_tests(run, checkout):
    out = run_broken(run, checkout, "20-naming.yaml", "|replace(':', '-')", "")
    assert ("FAIL the ':variant' suffix becomes '-variant': model 'meta-llama/llama-3.3-70b-instruct:free': "
            "expected model_name 'openrouter/meta-llama-llama-3.3-70b-instruct-free', "
            "got 'openrouter/meta-llama-llama-3.3-70b-instruct:free'") in out


def test_dropping_a_capability_fails_the_entry_test(run, checkout):
    out = run_broken(run, checkout, "30-entries.yaml",
                     "  supports_vision: has(architecture.input_modalities, 'image')\n", "")
    assert ("FAIL the old 'multimodal' modality means image input: model 'openai/gpt-4-vision-preview': "
            "expected entry.model_info.supports_vision true, got no such key") in out


def test_rules_that_do_not_load_make_every_test_file_fail(run, checkout):
    filter_yaml = checkout / "rules" / "10-filter.yaml"
    filter_yaml.write_text(filter_yaml.read_text().replace("expired(expiration_date)", "expird(expiration_date)"))
    code, out, _ = run(["test", "rules"], cwd=checkout)
    assert code == 1
    assert "rules/tests/filter.test.yaml: ERROR the test file could not be run:" in out
    assert "rules/10-filter.yaml:21:14: error jmespath-unknown-function unknown function expird()" in out
    assert summary(out) == (0, 5)  # five test files, none could run


def test_runtime_error_in_a_rule_names_the_model(run, tmp_path):
    write(tmp_path / "rules" / "10.yaml", "version: 1\nrules:\n  - id: r\n    exclude: contains(description, 'x')\n")
    write(tmp_path / "rules" / "tests" / "a.test.yaml",
          "version: 1\nrecords: [{id: a/b}]\ntests:\n  - {name: t, model: a/b, kept: true}\n")
    code, out, _ = run(["test"], cwd=tmp_path)
    assert code == 1
    assert "rule 'r' failed on model 'a/b'" in out
    assert summary(out) == (0, 1)


def test_coverage_survives_an_exception_that_fails_where_compile_did_not_reach_it(run, tmp_path):
    """decide() stops at the first exception that fires; coverage evaluates the others, and one
    failing at runtime is not exercised, not a traceback."""
    write(tmp_path / "rules" / "10.yaml", "version: 1\nrules:\n  - id: r\n    exclude: '`true`'\n    except:\n"
          "      - \"id == 'a/b'\"\n      - context_length < name\n")
    write(tmp_path / "rules" / "tests" / "a.test.yaml",
          "version: 1\nrecords: [{id: a/b, name: B, context_length: 1}]\n"
          "tests:\n  - {name: t, model: a/b, kept: true}\n")
    code, out, _ = run(["test"], cwd=tmp_path)
    assert code == 0, out
    assert "rules/10.yaml:7:9: coverage: rule 'r' except[1] is exercised by no test" in out
    assert summary(out) == (1, 0)


# --- expectations that fail -----------------------------------------------------------------------


def test_failing_expectations_are_located_and_explained(run):
    code, out, _ = run(["test", "--fail-only", "tests/fixtures/rules_tests/failing.test.yaml"])
    assert code == 1
    f = "tests/fixtures/rules_tests/failing.test.yaml"
    assert out.splitlines()[:13] == [
        f"{f}:21:12: FAIL no such model: model 'openai/gpt-4o-mini': not found in the test's records "
        "(did you mean 'openai/gpt-4o'?)",
        f"{f}:25:17: FAIL unknown rule: model 'anthropic/claude-3.7-sonnet:thinking': expected dropped_by "
        "'drop-expird', but the rules have no rule 'drop-expird' (did you mean 'drop-expired'?)",
        f"{f}:28:17: FAIL wrong rule: model 'anthropic/claude-3.7-sonnet:thinking': expected dropped_by "
        "'drop-unpriced', got dropped by rule 'drop-expired'",
        f"{f}:31:17: FAIL wrong name and entry: model 'openai/gpt-4o': expected model_name 'openrouter/gpt-4o', "
        "got 'openrouter/openai-gpt-4o'",
        f"{f}:34:26: FAIL wrong name and entry: model 'openai/gpt-4o': expected entry.model_info.supports_vision "
        "false, got true",
        f"{f}:35:29: FAIL wrong name and entry: model 'openai/gpt-4o': expected entry.model_info.supports_reasoning "
        "true, got false",
        f"{f}:36:28: FAIL wrong name and entry: model 'openai/gpt-4o': expected entry.model_info.max_output_tokens "
        "absent, got 16384",
        f"{f}:37:31: FAIL wrong name and entry: model 'openai/gpt-4o': expected entry.model_info.input_cost_per_token"
        " '1e-06', got 2.5e-06 (the test has a string: YAML reads numbers like 1e-06 as strings; write 1.0e-06)",
        f"{f}:38:22: FAIL wrong name and entry: model 'openai/gpt-4o': expected entry.model_info.no_such_key 1, "
        "got no such key",
        f"{f}:41:12: FAIL entry of a dropped model: model 'anthropic/claude-3.7-sonnet:thinking': expected an "
        "entry, got dropped by rule 'drop-expired' (no entry)",
        f"{f}:42:14: FAIL entry of a dropped model: model 'anthropic/claude-3.7-sonnet:thinking': expected "
        "model_info.supports_vision absent from the entry, got dropped by rule 'drop-expired' (no entry)",
        f"{f}:45:14: FAIL present key said absent: model 'openai/gpt-4o': expected model_info.max_output_tokens "
        "absent, got 16384",
        f"{f}:48:20: FAIL exception that does not fire: model 'openai/gpt-4o:extended': expected excepted_from "
        "'drop-extended-variants', got: the rule matches and none of its exceptions fires",
    ]
    assert summary(out) == (1, 7)


def test_missing_model_fails_even_alone(run):
    code, out, _ = run(["test", "--select", "no such model", "tests/fixtures/rules_tests/failing.test.yaml"])
    assert code == 1
    assert out.splitlines()[0].endswith("FAIL no such model: model 'openai/gpt-4o-mini': not found in the "
                                        "test's records (did you mean 'openai/gpt-4o'?)")
    assert summary(out) == (0, 1)


def test_models_list_checks_every_model(run, tmp_path):
    write(tmp_path / "rules" / "10.yaml", "version: 1\nrules:\n  - id: drop-b\n    exclude: id == 'p/b'\n")
    write(tmp_path / "rules" / "tests" / "a.test.yaml",
          "version: 1\nrecords: [{id: p/a}, {id: p/b}]\n"
          "tests:\n  - name: all kept\n    models: [p/a, p/b, p/c]\n    kept: true\n")
    code, out, _ = run(["test"], cwd=tmp_path)
    assert code == 1
    lines = out.splitlines()
    assert "rules/tests/a.test.yaml:4:5: PASS all kept: model 'p/a'" in lines
    assert "rules/tests/a.test.yaml:6:11: FAIL all kept: model 'p/b': expected kept, got dropped by rule 'drop-b'" \
        in lines
    assert "rules/tests/a.test.yaml:5:24: FAIL all kept: model 'p/c': not found in the test's records " \
        "(did you mean 'p/b'?)" in lines
    assert summary(out) == (1, 2)


def test_kept_by_and_rules_of_the_wrong_kind(run, tmp_path):
    write(tmp_path / "rules" / "10.yaml",
          "version: 1\ndefault_action: exclude\nrules:\n"
          "  - id: keep-openai\n    include: starts_with(id, 'openai/')\n")
    write(tmp_path / "rules" / "tests" / "a.test.yaml",
          "version: 1\nrecords: [{id: openai/a}, {id: x/y}]\ntests:\n"
          "  - {name: kept by include, model: openai/a, kept_by: keep-openai}\n"
          "  - {name: default drops, model: x/y, kept: false}\n"
          "  - {name: wrong action, model: x/y, dropped_by: keep-openai}\n"
          "  - {name: wrong kept_by, model: x/y, kept_by: keep-openai}\n"
          "  - {name: no except, model: openai/a, excepted_from: keep-openai}\n")
    code, out, _ = run(["test", "--fail-only"], cwd=tmp_path)
    assert code == 1
    assert out.splitlines() == [
        "rules/tests/a.test.yaml:6:50: FAIL wrong action: model 'x/y': expected dropped_by 'keep-openai', "
        "but rule 'keep-openai' is an include rule",
        "rules/tests/a.test.yaml:7:48: FAIL wrong kept_by: model 'x/y': expected kept_by 'keep-openai', "
        "got dropped by default_action",
        "rules/tests/a.test.yaml:8:55: FAIL no except: model 'openai/a': expected excepted_from 'keep-openai', "
        "but rule 'keep-openai' has no 'except'",
        "2 passed, 3 failed",
    ]


def test_inline_record_replaces_the_catalog_record_with_its_id(run, tmp_path):
    write(tmp_path / "catalog.json", json.dumps({"data": [
        {"id": "a/b", "pricing": {"prompt": "1", "completion": "1"}, "expiration_date": "2020-01-01"},
        {"id": "a/c", "pricing": {"prompt": "1", "completion": "1"}}]}))
    write(tmp_path / "suite" / "x.test.yaml",
          "version: 1\nrules: ../rules\ncatalog: ../catalog.json\ntoday: 2026-11-24\n"
          "records:\n  - {id: a/b, pricing: {prompt: '1', completion: '1'}}\n"
          "tests:\n  - {name: replaced record, model: a/b, kept: true}\n"
          "  - {name: catalog record, model: a/c, kept: true}\n")
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    code, out, _ = run(["test", "suite"], cwd=tmp_path)
    assert code == 0, out
    assert summary(out) == (2, 0)


def test_today_pins_the_compile_date(run, tmp_path, monkeypatch):
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    body = ("records:\n  - {id: a/b, pricing: {prompt: '1', completion: '1'}, expiration_date: 2026-06-01}\n"
            "tests:\n  - {name: expired, model: a/b, dropped_by: drop-expired}\n")
    write(tmp_path / "rules" / "tests" / "late.test.yaml", "version: 1\ntoday: 2026-06-02\n" + body)
    write(tmp_path / "rules" / "tests" / "early.test.yaml", "version: 1\ntoday: 2026-06-01\n" + body)
    code, out, _ = run(["test", "--fail-only"], cwd=tmp_path)
    assert code == 1
    assert [line for line in out.splitlines() if "coverage" not in line] == [
        "rules/tests/early.test.yaml:6:45: FAIL expired: model 'a/b': expected dropped_by 'drop-expired', got kept",
        "1 passed, 1 failed",
    ]
    # without 'today', SOURCE_DATE_EPOCH (or the real date) decides
    write(tmp_path / "rules" / "tests" / "late.test.yaml", "version: 1\n" + body)
    (tmp_path / "rules" / "tests" / "early.test.yaml").unlink()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780272000")  # 2026-06-01
    code, out, _ = run(["test", "--fail-only"], cwd=tmp_path)
    assert (code, summary(out)) == (1, (0, 1))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780444800")  # 2026-06-03
    code, out, _ = run(["test", "--fail-only"], cwd=tmp_path)
    assert (code, summary(out)) == (0, (1, 0))


# --- test files that cannot run ------------------------------------------------------------------


def test_malformed_test_file_gives_located_findings(run):
    code, out, _ = run(["test", "tests/fixtures/rules_tests/malformed.test.yaml"])
    assert code == 1
    f = "tests/fixtures/rules_tests/malformed.test.yaml"
    assert out.splitlines() == [
        f"{f}: ERROR the test file could not be run:",
        f"  {f}:8:5: error test-schema-shape a test needs at least one expectation: kept, dropped_by, kept_by, "
        "excepted_from, model_name, entry, absent or openwebui",
        f"  {f}:10:5: error test-schema-unknown-key unknown key 'kept_b' in 'tests[0]' (hint: did you mean "
        "'kept_by'?)",
        f"  {f}:11:5: error test-schema-shape a test needs at least one expectation: kept, dropped_by, kept_by, "
        "excepted_from, model_name, entry, absent or openwebui",
        f"  {f}:13:5: error test-schema-shape a test names its model with 'model' (one id) or 'models' (a list), "
        "exactly one of them",
        "0 passed, 1 failed",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 1\ntests: [\n", "a.test.yaml:3:1: error yaml-syntax"),
    ("version: 2\nrecords: [{id: a/b}]\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:1:10: error test-schema-value 'version' must be 1 (got 2)"),
    ("version: 1\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:1:1: error test-schema-shape a test file needs 'records' (inline catalog records), 'catalog' "
     "(a catalog file), or both"),
    ("version: 1\nrecords: [{id: a/b}]\ntests: [{name: t, model: a/b, kept: 'yes'}]\n",
     "a.test.yaml:3:37: error test-schema-type 'tests[0].kept' must be a boolean, not a string"),
    ("version: 1\ntoday: 2026-13-01\nrecords: [{id: a/b}]\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:2:8: error yaml-value cannot read value '2026-13-01': month must be in 1..12"),
    ("version: 1\ntoday: '2026-02-30'\nrecords: [{id: a/b}]\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:2:8: error test-today 'today' '2026-02-30' is not a date"),
    ("version: 1\nrecords:\n  - id: a/b\n    context_length: '128000'\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:4:21: error test-record records[0] ('a/b'): context_length: '128000' is not of type"),
    ("version: 1\nrecords: [{id: a/b}, {id: a/b}]\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:2:27: error test-duplicate-record record 'a/b' is already given at records[0]"),
    ("version: 1\nrecords: [{id: a/b}]\ntests:\n  - {name: t, model: a/b, kept: true}\n"
     "  - {name: t, model: a/b, kept: true}\n",
     "a.test.yaml:5:12: error test-duplicate-name test name 't' is already used by tests[0]"),
    ("version: 1\nrules: [../nowhere]\nrecords: [{id: a/b}]\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:2:9: error test-rules rules path '../nowhere' does not exist"),
    ("version: 1\ncatalog: missing.json\ntests: [{name: t, model: a/b, kept: true}]\n",
     "a.test.yaml:2:10: error test-catalog"),
])
def test_broken_test_files(run, tmp_path, text, expected):
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    write(tmp_path / "rules" / "tests" / "a.test.yaml", text)
    code, out, _ = run(["test"], cwd=tmp_path)
    assert code == 1
    assert f"  rules/tests/{expected}" in out, out
    assert summary(out) == (0, 1)


def test_test_file_outside_a_tests_directory_must_name_its_rules(run, tmp_path):
    write(tmp_path / "x.test.yaml", "version: 1\nrecords: [{id: a/b}]\ntests: [{name: t, model: a/b, kept: true}]\n")
    code, out, _ = run(["test", "x.test.yaml"], cwd=tmp_path)
    assert code == 1
    assert "x.test.yaml:1:1: error test-rules no 'rules' given, and the file is not in the tests/ directory" in out


def test_no_test_files_is_an_error(run, tmp_path):
    (tmp_path / "rules").mkdir()
    write(tmp_path / "rules" / "10.yaml", "version: 1\n")
    code, _, err = run(["test"], cwd=tmp_path)
    assert code == 1
    assert "rinsync: error: rules/tests: no such test file or directory (rules tests go in " in err
    (tmp_path / "rules" / "tests").mkdir()
    code, _, err = run(["test"], cwd=tmp_path)
    assert code == 1
    assert "no test files (*.test.yaml) found in rules/tests" in err


# --- --select, --fail-only, formats, coverage ------------------------------------------------------


def test_select_by_rule_id_glob(run):
    code, out, _ = run(["test", "--select", "drop-expired"])
    assert code == 0
    models = re.findall(r"PASS [^\n]*: model '([^']+)'$", out, re.M)
    assert set(models) == {"anthropic/claude-3.7-sonnet:thinking", "openai/gpt-4o-2024-08-06",
                           "nvidia/nemotron-nano-12b-v2-vl:free"}
    assert "coverage" not in out
    code, out, _ = run(["test", "--select", "drop-ex*"])
    assert summary(out)[0] > len(models)


def test_select_by_model_and_by_test_name(run):
    code, out, _ = run(["test", "--select", "openai/gpt-4o"])
    assert code == 0
    models = set(re.findall(r": model '([^']+)'$", out, re.M))
    assert models == {"openai/gpt-4o"}
    code, out, _ = run(["test", "--select", "an alias keeps its '~'"])
    assert code == 0 and summary(out) == (1, 0)


def test_select_that_matches_nothing_fails(run):
    code, out, err = run(["test", "--select", "no-such-rule"])
    assert code == 1
    assert "--select no-such-rule matched no test" in err


def test_fail_only_prints_failures_coverage_and_summary(run):
    code, out, _ = run(["test", "--fail-only", "tests/fixtures/rules_tests/failing.test.yaml"])
    assert code == 1
    assert "PASS" not in out
    lines = out.splitlines()
    assert all(": FAIL " in line or ": coverage: " in line for line in lines[:-1])
    code, out, _ = run(["test", "tests/fixtures/rules_tests/failing.test.yaml"])
    assert "tests/fixtures/rules_tests/failing.test.yaml:17:5: PASS passes: model 'openai/gpt-4o'" in out.splitlines()


def test_coverage_lists_rules_and_exceptions_no_test_exercises(run):
    code, out, _ = run(["test", "rules/tests/naming.test.yaml"])
    assert code == 0
    coverage = [line for line in out.splitlines() if ": coverage: " in line]
    assert coverage == [
        "rules/10-filter.yaml:14:14: coverage: rule 'drop-unpriced' is exercised by no test",
        "rules/10-filter.yaml:21:14: coverage: rule 'drop-expired' is exercised by no test",
        "rules/10-filter.yaml:27:14: coverage: rule 'drop-deprecated' is exercised by no test",
        "rules/10-filter.yaml:38:14: coverage: rule 'drop-extended-variants' is exercised by no test",
        "rules/10-filter.yaml:40:9: coverage: rule 'drop-extended-variants' except[0] is exercised by no test",
        "rules/10-filter.yaml:41:9: coverage: rule 'drop-extended-variants' except[1] is exercised by no test",
        "rules/10-filter.yaml:42:9: coverage: rule 'drop-extended-variants' except[2] is exercised by no test",
    ]
    code, out, _ = run(["test", "--fail-uncovered", "rules/tests/naming.test.yaml"])
    assert code == 1 and summary(out) == (5, 0)


def test_coverage_of_a_single_exception(run, tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    write(tmp_path / "rules" / "tests" / "a.test.yaml",
          "version: 1\nrecords:\n  - {id: 'perplexity/sonar-32k', pricing: {prompt: '1', completion: '1'}}\n"
          "  - {id: a/b, pricing: {}}\n  - {id: a/c, pricing: {prompt: '1', completion: '1'}, "
          "expiration_date: '2000-01-01'}\n  - {id: a/d, deprecated: true, pricing: {prompt: '1', completion: '1'}}\n"
          "tests:\n  - {name: t, models: [perplexity/sonar-32k, a/b, a/c, a/d], kept: true}\n")
    code, out, _ = run(["test", "--fail-uncovered"], cwd=tmp_path)
    assert code == 1
    assert [line for line in out.splitlines() if "coverage" in line] == [
        "rules/10-filter.yaml:40:9: coverage: rule 'drop-extended-variants' except[0] is exercised by no test"]


def test_json_format(run):
    code, out, _ = run(["test", "--format", "json", "--fail-only", "tests/fixtures/rules_tests/failing.test.yaml"])
    assert code == 1
    data = json.loads(out)
    assert data["summary"] == {"passed": 1, "failed": 7}
    assert all(r["status"] == "fail" for r in data["results"])
    first = data["results"][0]
    assert (first["test"], first["model"]) == ("no such model", "openai/gpt-4o-mini")
    assert first["failures"][0]["line"] == 21
    assert {g["message"] for g in data["coverage"]["uncovered"]} >= {"rule 'drop-deprecated' is exercised by no test"}
    code, out, _ = run(["test", "--format", "json"])
    assert json.loads(out)["coverage"] == {"uncovered": []}


def test_github_format(run):
    code, out, _ = run(["test", "--format", "github", "tests/fixtures/rules_tests/failing.test.yaml"])
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == ("::error file=tests/fixtures/rules_tests/failing.test.yaml,line=21,col=12,"
                        "title=rinsync test::FAIL no such model: model 'openai/gpt-4o-mini': not found in the test's "
                        "records (did you mean 'openai/gpt-4o'?)")
    assert any(line.startswith("::warning file=rules/10-filter.yaml,line=27,col=14,title=coverage::") for line in lines)
    assert lines[-1] == "1 passed, 7 failed"


# --- CI wiring ---------------------------------------------------------------------------------


def test_pre_commit_hooks_run_cleanly_on_the_shipped_rules(run):
    import shlex

    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["rinsync-lint", "rinsync-test"]
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert re.match(hook["files"], "rules/10-filter.yaml") and re.match(hook["files"], "rules/tests/x.test.yaml")
        command = shlex.split(hook["entry"])
        assert command[0] == "rinsync"
        code, out, err = run(command[1:])
        assert code == 0, out + err


def test_documented_github_workflow_commands_pass_on_the_shipped_rules(run):
    import shlex

    import yaml

    text = (REPO / "docs" / "ci.md").read_text()
    workflow = yaml.safe_load(re.search(r"```yaml\n(# \.github/workflows/rules\.yml\n.*?)```", text, re.S)[1])
    steps = workflow["jobs"]["rules"]["steps"]
    commands = [s["run"] for s in steps if s.get("run", "").startswith("rinsync ")]
    assert commands == ["rinsync lint --format github rules/", "rinsync test --format github --fail-uncovered"]
    assert workflow[True]["pull_request"]["paths"][0] == "rules/**"  # YAML 1.1 reads the key 'on' as true
    for command in commands:
        code, out, err = run(shlex.split(command)[1:])
        assert code == 0, out + err
        assert "::error" not in out
