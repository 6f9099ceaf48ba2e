"""A corpus of broken rules files: each must give exactly the FILE:LINE:COL CODE its header names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rinsync.diagnostics import RulesError
from rinsync.dsl.rules import check_rules, load_rules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = sorted((FIXTURES / "broken_rules").glob("*.yaml"))


def _expected(path: Path) -> list[str]:
    sidecar = path.with_name(path.name + ".expect")
    text = sidecar.read_text() if sidecar.exists() else path.read_text()
    found = re.findall(r"^(?:# expect: )?(\d+:\d+ [a-z-]+)$", text, re.M)
    assert found, f"{path.name} names no expected finding"
    return found


def _located(findings, display: str) -> list[str]:
    return [f"{display}:{f.line}:{f.col}: {f.severity} {f.code}" for f in findings]


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_file_reports_exact_location_and_code(path: Path, monkeypatch):
    monkeypatch.chdir(FIXTURES.parent.parent)
    display = str(path.relative_to(FIXTURES.parent.parent))
    _, findings = check_rules([path])
    expected = [f"{display}:{where.split()[0]}: error {where.split()[1]}" for where in _expected(path)]
    assert _located(findings, display) == expected
    assert all(f.file == display for f in findings)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 20


def test_duplicate_rule_id_across_files_points_at_second_and_names_first(monkeypatch):
    monkeypatch.chdir(FIXTURES.parent.parent)
    _, findings = check_rules([FIXTURES / "broken_rules_dir"])
    assert [f.text() for f in findings] == [
        "tests/fixtures/broken_rules_dir/20-second.yaml:5:9: error duplicate-rule-id rule id 'drop-free' is "
        "already used at tests/fixtures/broken_rules_dir/10-first.yaml:3:9 (hint: give every rule, override "
        "and selection its own id)"
    ]


def test_file_with_nul_bytes_is_not_text(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"version: 1\n\x00\x01")
    _, findings = check_rules([path])
    assert [(f.line, f.col, f.code) for f in findings] == [(1, 1, "not-text")]


def test_file_with_invalid_utf8_points_at_the_bad_byte(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\nrules:\n  - id: caf\xe9\n")
    _, findings = check_rules([path])
    assert [(f.line, f.col, f.code) for f in findings] == [(3, 12, "not-text")]


def test_directory_without_rules_files_is_an_error(tmp_path):
    _, findings = check_rules([tmp_path])
    assert [f.code for f in findings] == ["no-rules"]


def test_load_rules_raises_with_every_error(tmp_path):
    (tmp_path / "a.yaml").write_text("version: 1\nrules:\n  - id: x\n    exclude: nope(\n")
    (tmp_path / "b.yaml").write_text("version: 3\n")
    with pytest.raises(RulesError) as info:
        load_rules([tmp_path])
    assert [f.code for f in info.value.findings] == ["jmespath-syntax", "version"]
    assert "(and 1 more)" in info.value.message


def test_schema_noise_collapses_to_one_finding_per_mistake(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\nrules:\n  - id: ok\n    exclude: id == 'a'\n    except: [1, 'x']\n")
    _, findings = check_rules([path])
    assert len(findings) == 1
    assert (findings[0].line, findings[0].col, findings[0].code) == (5, 13, "schema-shape")


def test_unknown_key_suggests_the_close_one(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\ncapabilities: {}\noverides: []\n")
    _, findings = check_rules([path])
    assert findings[0].hint == "did you mean 'overrides'?"


def test_literal_api_key_in_rules_is_a_warning_that_never_shows_the_value(tmp_path, run_cli):
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\ndefaults:\n  litellm_params:\n    api_key: sk-or-v1-SECRETVALUE\n"
                    "overrides:\n  - when: \"`true`\"\n    litellm_params: {api_key: os.environ/OK_KEY}\n")
    ruleset, findings = check_rules([path])
    assert [(f.line, f.col, f.severity, f.code) for f in findings] == [(4, 14, "warning", "literal-secret")]
    assert "SECRETVALUE" not in findings[0].text()
    result = run_cli("lint", str(tmp_path))
    assert result.code == 0 and "literal-secret" in result.out and "SECRETVALUE" not in result.out + result.err
