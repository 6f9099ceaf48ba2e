"""lint, explain, functions and compile --output through the command line, with exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO, SAMPLE_CATALOG

BROKEN = REPO / "tests" / "fixtures" / "broken_rules"


def test_lint_clean_default_rules_exit_0(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("lint")
    assert result.code == 0
    assert result.out == ""
    assert result.err.strip() == "0 error(s), 0 warning(s)"


def test_lint_errors_exit_1_with_located_lines(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("lint", "tests/fixtures/broken_rules/unknown-function.yaml")
    assert result.code == 1
    assert result.out.splitlines() == [
        "tests/fixtures/broken_rules/unknown-function.yaml:5:27: error jmespath-unknown-function unknown "
        "function varient() (hint: did you mean variant()?)"]


def test_lint_github_format(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("lint", "--format", "github", "tests/fixtures/broken_rules/version-2.yaml")
    assert result.code == 1
    assert result.out.strip() == (
        "::error file=tests/fixtures/broken_rules/version-2.yaml,line=2,col=10,title=version::unsupported rules "
        "version 2; this rinsync reads version 1 (hint: upgrade rinsync or rewrite the file for version 1)")


def test_lint_json_format(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("lint", "--format", "json", str(BROKEN / "arity.yaml"), str(BROKEN / "bad-regex.yaml"))
    payload = json.loads(result.out)
    assert result.code == 1
    assert payload["summary"] == {"errors": 2, "warnings": 0}
    assert [(f["code"], f["line"], f["col"]) for f in payload["findings"]] == [
        ("jmespath-arity", 4, 25), ("regex-syntax", 5, 14)]


def test_lint_usage_errors_exit_2(run_cli):
    assert run_cli("lint", "/no/such/rules").code == 2
    assert run_cli("lint", "--format", "xml").code == 2


def test_lint_with_catalog_warns_about_dead_rules_and_collisions(run_cli, tmp_path):
    (tmp_path / "r.yaml").write_text(
        "version: 1\n"
        "rules:\n"
        "  - id: drop-nitro\n"
        "    exclude: variant(id) == 'nitro-never'\n"
        "  - id: drop-extended\n"
        "    exclude: variant(id) == 'extended'\n"
        "    except: contains(id, 'nothing-like-this')\n"
        "name: \"openrouter/{slug}\"\n")
    result = run_cli("lint", "--catalog", str(SAMPLE_CATALOG), str(tmp_path))
    codes = [line.split()[2] for line in result.out.splitlines()]
    assert codes.count("rule-matches-nothing") == 1 and "exception-never-fires" in codes
    assert "name-collision" in codes
    assert result.code == 0  # warnings only
    assert run_cli("lint", "--fail-on", "warning", "--catalog", str(SAMPLE_CATALOG), str(tmp_path)).code == 1


def test_lint_with_catalog_reports_a_failing_exception_that_compile_did_not_reach(run_cli, tmp_path):
    """decide() stops at the first exception that fires; lint evaluates the others and must report,
    not raise, a runtime error in one of them."""
    (tmp_path / "r.yaml").write_text(
        "version: 1\n"
        "rules:\n"
        "  - id: drop-all\n"
        "    exclude: '`true`'\n"
        "    except:\n"
        "      - '`true`'\n"
        "      - lower(context_length) == 'x'\n")
    result = run_cli("lint", "--catalog", str(SAMPLE_CATALOG), str(tmp_path))
    assert result.code == 1
    assert result.out.splitlines()[0].startswith(
        f"{tmp_path / 'r.yaml'}:7:9: error jmespath-runtime exception of rule 'drop-all' failed on model ")


def test_cli_module_imports_only_click(tmp_path):
    """`rinsync --help` start-up time is benchmarked: importing rinsync.cli loads nothing heavy."""
    code = ("import sys, rinsync.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rinsync', 'yaml', 'jmespath', 'requests')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    # rinsync.options: the click types of the options (imports only click and math); rinsync.report.cliopts:
    # the report options' decorator, itself importing only click (issue 19)
    assert run.stdout.strip() == ("['rinsync', 'rinsync.cli', 'rinsync.exitcodes', 'rinsync.options', "
                                  "'rinsync.report', 'rinsync.report.cliopts']")


def test_explain_dropped_model(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("explain", "openai/gpt-4o:extended", "--catalog", str(SAMPLE_CATALOG))
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "model: openai/gpt-4o:extended"
    assert lines[1] == ("verdict: DROPPED - excluded by rule 'drop-extended-variants' "
                        "(rules/10-filter.yaml:38:14)")
    assert "  - drop-extended-variants (exclude) at rules/10-filter.yaml:38:14" in lines
    assert "entry it would have had if kept:" in lines
    assert "      model: openrouter/openai/gpt-4o:extended" in lines


def test_explain_kept_model_with_exception(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("explain", "perplexity/llama-3.1-sonar-large-128k-online", "--catalog", str(SAMPLE_CATALOG))
    assert "verdict: KEPT - kept (no rule excluded it)" in result.out
    assert "drop-extended-variants (exception fired, rule ignored)" in result.out
    assert "  - model_name: openrouter/perplexity-llama-3.1-sonar-large-128k-online" in result.out


def test_explain_unknown_model_suggests(run_cli):
    result = run_cli("explain", "openai/gpt-4", "--catalog", str(SAMPLE_CATALOG))
    assert result.code == 1
    assert "model 'openai/gpt-4' is not in" in result.err and "openai/gpt-4o" in result.err


def test_functions_lists_signatures(run_cli):
    result = run_cli("functions")
    assert result.code == 0
    assert any(line.startswith("price(string|number|null)") for line in result.out.splitlines())


def test_compile_with_broken_rules_exit_1_no_output(run_cli, tmp_path):
    output = tmp_path / "out.yaml"
    result = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--rules", str(BROKEN / "arity.yaml"),
                     "--output", str(output))
    assert result.code == 1
    assert "arity.yaml:4:25: error jmespath-arity" in result.err
    assert "Traceback" not in result.err
    assert not output.exists()


def test_compile_broken_catalog_exit_1(run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("<html>502 Bad Gateway</html>")
    result = run_cli("compile", "--catalog", str(bad), "--output", "-")
    assert result.code == 1
    assert result.err.strip() == f"rinsync: error: {bad}: not a JSON catalog (Expecting value: line 1 column 1 " \
        "(char 0))"


@pytest.mark.slow
def test_non_editable_install_finds_schemas_and_rules(tmp_path):
    """Build a wheel, install it without the source tree, and run it outside the checkout."""
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    build = REPO / "build"
    had_build = build.exists()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheel_dir), str(REPO)], check=True, cwd=tmp_path)
    if not had_build:
        shutil.rmtree(build, ignore_errors=True)
    wheel = next(wheel_dir.glob("rinsync-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True)
    env = dict(os.environ, PYTHONPATH=str(target), SOURCE_DATE_EPOCH="1795478400")
    run = subprocess.run([sys.executable, "-m", "rinsync", "compile", "--catalog", str(SAMPLE_CATALOG),
                          "--output", "-"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "openrouter/openai-gpt-4o" in run.stdout
    lint = subprocess.run([sys.executable, "-m", "rinsync", "lint"], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert lint.returncode == 0, lint.stderr
    tests = subprocess.run([sys.executable, "-m", "rinsync", "test"], capture_output=True, text=True, env=env,
                           cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert tests.stdout.splitlines()[-1].endswith(" passed, 0 failed")
    installed = Path(target, "rinsync")
    assert (installed / "schemas" / "rules.v1.schema.json").is_file()
    assert (installed / "rules" / "10-filter.yaml").is_file()
    assert (installed / "openwebui" / "records.py").is_file() and (installed / "rules" / "40-openwebui.yaml").is_file()
