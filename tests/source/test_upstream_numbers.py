"""Issue 17, family 7: an integer beyond float range from upstream (JSON integers have no size limit).

``10**400`` in a price, a context length, a max_completion_tokens or a benchmark score used to end in a
traceback (``int too large to convert to float``) or be written into the config, breaking ``verify`` and the
Open WebUI step later. Now the record is skipped with one escaped warning, like NaN; every case runs under
a time and memory limit (tests/hostile.py).
"""

from __future__ import annotations

import json

import pytest
import yaml
from helpers_sync import CATALOG_NEW, entry, load, new_site
from hostile import run_limited

from rinsync.dsl import prices, scores
from rinsync.litellm.state import read_generations, sha256, state_path
from rinsync.untrusted import finite, number, record_problem, value_problem

HUGE = 10 ** 400
MARK = '"__HUGE__"'


def _path_set(record: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        record = record.setdefault(key, {}) if isinstance(key, str) else record[key]
    record[path[-1]] = value


def _catalog(tmp_path, path: tuple, digits: str):
    """The real catalog with one value of its first record replaced by the JSON integer ``digits``."""
    data = json.loads(CATALOG_NEW.read_bytes())
    first = data["data"][0]
    if path[0] == "benchmarks" and path[1] == "design_arena":
        first.setdefault("benchmarks", {})["design_arena"] = [{"arena": "web", "elo": 0}]
    _path_set(first, path, "__HUGE__")
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(data).replace(MARK, digits))
    return catalog, first["id"], len(data["data"])


CASES = [
    (("pricing", "prompt"), str(HUGE)),
    (("pricing", "completion"), str(-HUGE)),
    (("pricing", "prompt"), '"' + str(HUGE) + '"'),  # a price string of 401 digits
    (("context_length",), str(HUGE)),
    (("context_length",), str(10 ** 309)),  # just past float range, below the parser's digit cut
    (("top_provider", "max_completion_tokens"), str(HUGE)),
    (("top_provider", "context_length"), str(HUGE)),
    (("benchmarks", "artificial_analysis", "intelligence_index"), str(HUGE)),
    (("benchmarks", "design_arena", 0, "elo"), str(HUGE)),
    (("context_length",), "9" * 5000),  # more digits than Python converts at all (4,300)
]
IDS = [".".join(map(str, path)) + f"={len(digits)}digits" for path, digits in CASES]


@pytest.mark.parametrize("path,digits", CASES, ids=IDS)
def test_a_huge_integer_skips_its_record_with_one_warning(tmp_path, path, digits):
    catalog, model_id, total = _catalog(tmp_path, path, digits)
    config = new_site(tmp_path)
    result = run_limited("compile", "--config", str(config), "--catalog", str(catalog), cwd=tmp_path)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    warnings = [line for line in result.err.splitlines() if "warning" in line]
    assert len(warnings) == 1, result.err
    shown = ".".join(str(p) for p in path).replace(".0.", "[0].")
    assert f"skipped record '{model_id}'" in warnings[0] and f"{shown} is not a finite number" in warnings[0]
    assert len(warnings[0]) < 300  # the digits are not echoed
    text = config.read_text()
    assert "0" * 100 not in text and "9" * 100 not in text
    ids = {e["model_info"].get("openrouter_id") for e in load(config)["model_list"]}
    assert model_id not in ids and len(ids) > total // 2  # the other records still compile


@pytest.mark.parametrize("command", [("recommend",), ("recommend", "--by", "arena"),
                                     ("models", "--sort", "-intelligence"), ("models", "--sort", "input")])
def test_readers_of_scores_and_prices_never_see_it(tmp_path, command):
    for index, (path, digits) in enumerate(CASES[:9]):
        catalog, _, _ = _catalog(tmp_path, path, digits)
        result = run_limited(*command, "--catalog", str(catalog), cwd=tmp_path)
        assert result.code == 0 and "Traceback" not in result.err, (IDS[index], result.err)
        assert "0" * 100 not in result.out


def test_a_huge_number_written_by_an_older_version_is_corrected_by_the_next_good_catalog(tmp_path):
    config = new_site(tmp_path)
    assert run_limited("compile", "--config", str(config), "--catalog", str(CATALOG_NEW), cwd=tmp_path).code == 0
    name = "openrouter/openai-gpt-4o"
    good = entry(config, name)["model_info"]["max_input_tokens"]
    document = load(config)
    for item in document["model_list"]:
        if item.get("model_name") == name:
            item["model_info"]["max_input_tokens"] = HUGE
    poisoned = yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False).encode()
    assert str(HUGE).encode() in poisoned
    config.write_bytes(poisoned)
    entries = read_generations(state_path(config))[0][0].entries  # what the older version recorded
    entries[name]["model_info"]["max_input_tokens"] = HUGE
    state = {"version": 1, "generations": [{"config_sha256": sha256(poisoned), "entries": entries}]}
    state_path(config).write_text(json.dumps(state))
    result = run_limited("compile", "--config", str(config), "--catalog", str(CATALOG_NEW), "-v", cwd=tmp_path)
    assert result.code == 0, result.err
    assert entry(config, name)["model_info"]["max_input_tokens"] == good
    assert str(HUGE) not in config.read_text() and "kept hand edits" not in result.err


@pytest.mark.parametrize("value,ok", [(HUGE, False), (-HUGE, False), (10 ** 308, True), (2 ** 1024, False),
                                      (float("nan"), False), (float("-inf"), False), ("1e999999999", False),
                                      (str(HUGE), False), ("0.000001", True), (3, True), (True, True),
                                      ("-1", True), ("free", True), (None, True)])
def test_one_check_of_upstream_numbers(value, ok):
    assert finite(value) is ok
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        assert (number(value) is not None) is ok
        assert (value_problem({"a": [value]}) is None) is ok
        assert (record_problem({"id": "a/b", "x": {"y": [value]}}) is None) is ok


def test_price_and_score_readers_treat_a_huge_integer_as_unknown():
    assert prices.parse_price(HUGE) is None and prices.per_million(HUGE) is None
    assert prices.parse_price(str(HUGE)) is None
    record = {"benchmarks": {"artificial_analysis": {"intelligence_index": HUGE},
                             "design_arena": [{"elo": HUGE}, {"elo": 1200}]},
              "pricing": {"prompt": HUGE, "completion": "0.000001"}}
    assert scores.score(record, "intelligence") is None and scores.arena_elo(record) == 1200
    assert scores.blended_per_million(record) is None and scores.value(HUGE, 1.0) is None


def test_a_huge_integer_in_the_message_is_shown_by_its_size():
    problem = record_problem({"id": "a/b", "context_length": 10 ** 350})
    assert problem is not None and "about 350 digits" in problem and "0" * 50 not in problem


def test_a_lower_python_digit_limit_still_skips_only_the_record(tmp_path):
    catalog, model_id, _ = _catalog(tmp_path, ("context_length",), "7" * 1000)
    config = new_site(tmp_path)
    result = run_limited("compile", "--config", str(config), "--catalog", str(catalog), cwd=tmp_path,
                         PYTHONINTMAXSTRDIGITS="640")
    assert result.code == 0, result.err
    assert f"skipped record '{model_id}'" in result.err and "context_length is not a finite number" in result.err


def test_a_huge_integer_in_the_rules_is_a_located_error_not_a_skip_of_every_model(tmp_path):
    import shutil

    from support import REPO

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules, ignore=shutil.ignore_patterns("tests"))
    (rules / "90-big.yaml").write_text(f"version: 1\ndefaults:\n  model_info:\n    custom_big: {HUGE}\n")
    config = new_site(tmp_path)
    before = config.read_bytes()
    result = run_limited("compile", "--rules", str(rules), "--config", str(config), "--catalog", str(CATALOG_NEW),
                         cwd=tmp_path)
    assert result.code == 1 and "Traceback" not in result.err + result.out
    findings = [line for line in (result.out + result.err).splitlines() if "non-finite-number" in line]
    assert len(findings) == 1 and "90-big.yaml:4:17:" in findings[0] and "about 400 digits" in findings[0]
    assert "skipped model" not in result.err
    assert config.read_bytes() == before
