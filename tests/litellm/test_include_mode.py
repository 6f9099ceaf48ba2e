"""Include mode: ``rinsync compile --include-file F`` writes the generated entries to F and only ever adds
F to config.yaml's ``include:`` list, as text; everything else in config.yaml stays byte for byte."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from helpers_sync import CatalogServer, snapshot, subset_catalog

from rinsync.litellm.entries import is_generated
from rinsync.litellm.include import IncludeEditError, add_include
from rinsync.litellm.state import state_path
from support import CATALOGS, REPO, RULES_DIR, SAMPLE_CATALOG

LATEST = CATALOGS[-1]
INC = "openrouter.models.yaml"

# comments, odd spacing, flow mappings, quoted keys, blank lines, no include: yet
HAND_CONFIG = """\
# LiteLLM proxy -- maintained by hand.   Do not reformat!
general_settings:
    master_key:   os.environ/LITELLM_MASTER_KEY     # from .env
    "alerting": [ "slack" ]


model_list:   # my own deployments
  # direct OpenAI, not through OpenRouter
  - model_name: gpt-4o-direct
    litellm_params: { model: openai/gpt-4o,  api_key: os.environ/OPENAI_API_KEY }
  - model_name: openrouter/openai-gpt-4o      # pinned by hand: wins over the generated one
    litellm_params:
      model: openrouter/openai/gpt-4o
      api_key: os.environ/OPENROUTER_API_KEY
      temperature: 0.2

litellm_settings:
  drop_params: true   # trailing comment
router_settings: {routing_strategy: simple-shuffle}
# last line: a comment without a newline"""



@pytest.fixture
def site(env):
    config = env / "litellm" / "config.yaml"
    config.parent.mkdir()
    config.write_text(HAND_CONFIG)
    return config


@pytest.fixture
def sync(run_cli):
    def run(config, *args, catalog=LATEST, include=INC):
        extra = ["--catalog", str(catalog)] if catalog is not None else []
        return run_cli("compile", "--rules", str(RULES_DIR), "--config", str(config), "--include-file", include,
                       *extra, *args)
    return run


def load(path):
    return yaml.safe_load(path.read_bytes())


def without_locks(directory):
    return {k: v for k, v in snapshot(directory).items() if ".rinsync-lock" not in k}


def standalone(run_cli, env, catalog=LATEST) -> list[dict]:
    out = env / "standalone.yaml"
    assert run_cli("compile", "--rules", str(RULES_DIR), "--catalog", str(catalog), "-o", str(out)).code == 0
    entries = load(out)["model_list"]
    out.unlink()
    return entries


# --------------------------------------------------------------------------- config.yaml is never rewritten


def test_config_gains_one_include_line_then_stays_byte_identical_over_every_catalog(site, sync):
    first = sync(site)
    assert first.code == 0, first.err
    # the only change: a new include: block appended (the file had no final newline)
    assert site.read_text() == HAND_CONFIG + "\ninclude:\n  - openrouter.models.yaml\n"
    after_first = site.read_bytes()
    mtime = site.stat().st_mtime_ns
    generated_files = set()
    for catalog in [*CATALOGS, LATEST, LATEST]:
        result = sync(site, "--force", catalog=catalog)
        assert result.code == 0, (catalog.name, result.err)
        assert site.read_bytes() == after_first, catalog.name
        assert "config.yaml already includes openrouter.models.yaml; left as it was" in result.err or \
            "no changes, files left as they were" in result.err
        generated_files.add((site.parent / INC).read_bytes())
    assert site.stat().st_mtime_ns == mtime  # never even rewritten with the same bytes
    assert len(generated_files) == len(set(CATALOGS))  # the include file did follow the catalogs
    assert load(site)["include"] == [INC]
    backups = sorted(p.name for p in site.parent.glob("config.yaml.backup*"))
    assert len(backups) == 2 and site.with_name("config.yaml.backup").read_text() == HAND_CONFIG


def test_include_already_listed_in_another_spelling_is_not_added_again(site, sync):
    text = HAND_CONFIG + "\ninclude:\n  - ./sub/../openrouter.models.yaml\n"
    site.write_text(text)
    assert sync(site).code == 0
    assert site.read_text() == text
    assert (site.parent / INC).is_file()


@pytest.mark.parametrize("block,expected", [
    ("include:\n  - extra.yaml   # models I keep apart\n\n# notes\n",
     "include:\n  - extra.yaml   # models I keep apart\n  - openrouter.models.yaml\n\n# notes\n"),
    ("include:\n- extra.yaml\n- 'other.yaml'\nrouter_settings: {}\n",
     "include:\n- extra.yaml\n- 'other.yaml'\n- openrouter.models.yaml\nrouter_settings: {}\n"),
    ("include:\n    -   extra.yaml", "include:\n    -   extra.yaml\n    - openrouter.models.yaml\n"),
])
def test_existing_include_list_is_appended_to(env, sync, block, expected):
    config = env / "config.yaml"
    head = "# top\nmodel_list:\n  - model_name: mine\n    litellm_params: {model: openai/gpt-4o}\n"
    config.write_text(head + block)
    for name in ("extra.yaml", "other.yaml"):
        (env / name).write_text("model_list:\n  - model_name: from-" + name + "\n    litellm_params: {model: x/y}\n")
    for _ in range(3):
        assert sync(config).code == 0
        assert config.read_text() == head + expected


def test_crlf_config_gets_a_crlf_line(env, sync):
    config = env / "config.yaml"
    config.write_bytes(b"# windows\r\ninclude:\r\n  - extra.yaml\r\n")
    (env / "extra.yaml").write_text("model_list: []\n")
    assert sync(config).code == 0
    assert config.read_bytes() == b"# windows\r\ninclude:\r\n  - extra.yaml\r\n  - openrouter.models.yaml\r\n"


@pytest.mark.parametrize("text,reason", [
    ("include: [extra.yaml]\n", "flow-style"),
    ("{model_list: [], include: [extra.yaml]}\n", "flow style"),
    ("files: &inc\n  - extra.yaml\ninclude: *inc\n", "alias"),
    ("include: &inc\n  - extra.yaml\nx: *inc\n", "anchor"),
    ("include:\n", "'include' must be a list"),
    ("include: extra.yaml\n", "'include' must be a list"),
    ("model_list: []\n...\n", "would not read back"),
])
def test_include_that_cannot_be_edited_safely_is_refused_with_the_line_to_add(env, sync, text, reason):
    config = env / "config.yaml"
    config.write_text(text)
    (env / "extra.yaml").write_text("model_list: []\n")
    before = without_locks(env)
    result = sync(config)
    assert result.code == 1, result.err
    assert reason in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rinsync: error: config.yaml:")
    if "must be a list" not in reason:
        assert "add '  - openrouter.models.yaml' under a block 'include:' key yourself" in lines[0]
    assert without_locks(env) == before  # no include file, no state, no backup


def test_missing_config_is_created_with_just_the_include(env, sync):
    config = env / "new" / "config.yaml"
    result = sync(config)
    assert result.code == 0, result.err
    assert config.read_text() == "include:\n  - openrouter.models.yaml\n"
    assert "created new/config.yaml holding only 'include: [openrouter.models.yaml]'" in result.err
    assert len(load(config.parent / INC)["model_list"]) > 300


def test_invalid_config_is_an_error_and_nothing_is_written(env, sync):
    config = env / "config.yaml"
    config.write_text("model_list:\n  - model_name: x\n   bad: indentation\n")
    before = without_locks(env)
    result = sync(config)
    assert result.code == 1
    assert result.err.startswith("rinsync: error: config.yaml: not valid YAML (")
    assert without_locks(env) == before


def test_include_file_path_is_relative_to_the_config_directory_not_the_cwd(env, sync):
    config = env / "etc" / "litellm" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("model_list: []\n")
    assert sync(config, include="generated/openrouter.yaml").code == 0
    assert (config.parent / "generated" / "openrouter.yaml").is_file()
    assert not (env / "generated").exists()
    assert load(config)["include"] == ["generated/openrouter.yaml"]
    absolute = env / "elsewhere" / "models.yaml"
    assert sync(config, include=str(absolute)).code == 0
    assert absolute.is_file() and load(config)["include"] == ["generated/openrouter.yaml", str(absolute)]


# --------------------------------------------------------------------------- the generated file


def test_generated_file_holds_exactly_the_generated_entries(site, sync, run_cli, env):
    assert sync(site).code == 0
    path = site.parent / INC
    text = path.read_text()
    assert text.startswith("# Generated by rinsync (rinsync compile --include-file): rewritten on every sync.\n")
    document = load(path)
    assert list(document) == ["model_list"]
    expected = [e for e in standalone(run_cli, env) if e["model_name"] != "openrouter/openai-gpt-4o"]
    assert document["model_list"] == expected
    assert all(is_generated(e) for e in document["model_list"])
    assert state_path(path).is_file() and not state_path(site).exists()


def test_hand_written_names_in_config_and_other_includes_win(env, sync, run_cli):
    taken = {"openrouter/openai-gpt-4o", "openrouter/anthropic-claude-haiku-4.5", "openrouter/google-gemini-2.5-pro"}
    assert taken <= {e["model_name"] for e in standalone(run_cli, env)}  # all three are generated names
    config = env / "config.yaml"
    config.write_text("model_list:\n  - model_name: openrouter/openai-gpt-4o\n"
                      "    litellm_params: {model: openai/gpt-4o}\ninclude:\n  - extra.yaml\n")
    (env / "extra.yaml").write_text("model_list:\n  - model_name: openrouter/anthropic-claude-haiku-4.5\n"
                                    "    litellm_params: {model: anthropic/claude-haiku-4-5}\n"
                                    "include:\n  - nested/more.yaml\n")
    (env / "nested").mkdir()
    (env / "nested" / "more.yaml").write_text("model_list:\n  - model_name: openrouter/google-gemini-2.5-pro\n"
                                              "    litellm_params: {model: gemini/gemini-2.5-pro}\n")
    result = sync(config)
    assert result.code == 0, result.err
    assert "  ! openrouter/openai-gpt-4o: skipped, a hand-written entry already uses this model_name in " \
           "config.yaml" in result.err
    assert "  ! openrouter/anthropic-claude-haiku-4.5: skipped, a hand-written entry already uses this " \
           "model_name in extra.yaml" in result.err
    assert "  ! openrouter/google-gemini-2.5-pro: skipped, a hand-written entry already uses this " \
           "model_name in nested/more.yaml" in result.err
    assert "3 skipped (hand-written name wins)" in result.err
    names = [e["model_name"] for e in load(env / INC)["model_list"]]
    assert len(names) > 300
    assert not taken & set(names)


def test_hand_edits_in_the_include_file_survive_the_next_sync(site, sync):
    assert sync(site, catalog=CATALOGS[-2]).code == 0
    path = site.parent / INC
    document = load(path)
    target = next(e for e in document["model_list"] if e["model_name"] == "openrouter/anthropic-claude-sonnet-4")
    target["litellm_params"]["temperature"] = 0.7
    mine = {"model_name": "my-own-in-generated-file", "litellm_params": {"model": "openai/gpt-4o-mini"}}
    document["model_list"].append(mine)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    config_before = site.read_bytes()
    result = sync(site, "-v")
    assert result.code == 0, result.err
    assert "= openrouter/anthropic-claude-sonnet-4: kept hand edits litellm_params.temperature" in result.err
    after = load(path)["model_list"]
    edited = next(e for e in after if e["model_name"] == "openrouter/anthropic-claude-sonnet-4")
    assert edited["litellm_params"]["temperature"] == 0.7
    assert after[0] == mine  # an entry without the marker is the operator's, kept first
    assert site.read_bytes() == config_before


# --------------------------------------------------------------------------- guarantees of the normal mode


def test_dry_run_writes_nothing_and_shows_both_files(site, sync, env):
    before = snapshot(env)
    result = sync(site, "--dry-run")
    assert result.code == 0, result.err
    assert snapshot(env) == before  # not even a lock file
    assert "  + openrouter/anthropic-claude-sonnet-4" in result.out
    assert result.out.strip().splitlines()[-1].startswith("rinsync: dry run: ")
    assert "-> litellm/openrouter.models.yaml; litellm/config.yaml: would add openrouter.models.yaml to include:, " \
           "nothing else changed (nothing written)" in result.out
    assert sync(site).code == 0
    before = snapshot(env)
    again = sync(site, "--dry-run", catalog=CATALOGS[-2])
    assert again.code == 0 and snapshot(env) == before
    assert "litellm/config.yaml already includes openrouter.models.yaml; would be left as it was" in again.out


def test_shrink_guard_leaves_both_files_unchanged(site, sync, env):
    assert sync(site).code == 0
    small = env / "small.json"
    small.write_bytes(subset_catalog(LATEST, 30))
    before = snapshot(env)
    result = sync(site, catalog=small)
    assert result.code == 3
    assert "kept litellm/config.yaml and litellm/openrouter.models.yaml unchanged" in result.err
    assert {k: v for k, v in snapshot(env).items() if k != "small.json"} == \
        {k: v for k, v in before.items() if k != "small.json"}


def test_shrink_guard_on_the_first_sync_leaves_config_without_the_include(site, sync, env, run_cli):
    """Refused before anything is written: config.yaml does not gain an include naming a missing file."""
    assert run_cli("compile", "--rules", str(RULES_DIR), "--config", str(site), "--include-file", INC,
                   "--catalog", str(LATEST)).code == 0
    site.write_text(HAND_CONFIG)  # the operator removed the include again
    small = env / "small.json"
    small.write_bytes(subset_catalog(LATEST, 30))
    before = snapshot(env)
    assert sync(site, catalog=small).code == 3
    assert snapshot(env) == before


def test_fetch_failure_exits_75_and_leaves_both_files_unchanged(site, sync, env):
    assert sync(site).code == 0
    before = snapshot(env)
    with CatalogServer() as server:
        server.serve(b"<html>maintenance</html>", status=503)
        result = sync(site, "--source-url", server.url, catalog=None)
    assert result.code == 75, result.err
    assert len(server.requests) >= 2  # retried
    assert result.err.strip() == (f"rinsync: fetch failed: {server.url}: HTTP 503 Service Unavailable after "
                                  f"{len(server.requests) - 1} retries; kept litellm/config.yaml and "
                                  "litellm/openrouter.models.yaml unchanged")
    assert snapshot(env) == before


def test_validate_cmd_checks_the_include_file_and_a_failure_keeps_both(site, sync, env):
    seen = env / "seen.yaml"
    checker = env / "check.py"
    checker.write_text("import shutil, sys, yaml\n"
                       "doc = yaml.safe_load(open(sys.argv[1]))\n"
                       f"shutil.copy(sys.argv[1], {str(seen)!r})\n"
                       "sys.exit(0 if len(doc['model_list']) > 300 else 1)\n")
    assert sync(site, "--validate-cmd", f"{sys.executable} {checker}").code == 0
    assert seen.read_bytes() == (site.parent / INC).read_bytes()
    small = env / "small.json"
    small.write_bytes(subset_catalog(LATEST, 60))
    before = without_locks(env)
    result = sync(site, "--force", "--validate-cmd", f"{sys.executable} {checker}", catalog=small)
    assert result.code == 4
    assert {k: v for k, v in without_locks(env).items() if k != "seen.yaml"} == \
        {k: v for k, v in before.items() if k != "seen.yaml"}


# --------------------------------------------------------------------------- switching modes


def test_switching_from_normal_mode_needs_migrate(site, sync, run_cli, env):
    normal = run_cli("compile", "--rules", str(RULES_DIR), "--config", str(site), "--catalog", str(CATALOGS[-2]))
    assert normal.code == 0, normal.err
    document = load(site)
    for item in document["model_list"]:
        if item["model_name"] == "openrouter/anthropic-claude-sonnet-4":
            item["litellm_params"]["temperature"] = 0.3  # a hand edit on a generated entry
    normal_text = site.read_text().split("model_list:")[0] + yaml.safe_dump(
        {"model_list": document["model_list"]}, sort_keys=False) + "litellm_settings:\n  drop_params: true\n"
    site.write_text(normal_text)
    before = without_locks(env)
    refused = sync(site)
    assert refused.code == 1
    assert "still holds" in refused.err and "run once with --migrate" in refused.err
    assert without_locks(env) == before

    migrated = sync(site, "--migrate", "-v")
    assert migrated.code == 0, migrated.err
    assert "moved" in migrated.err and "generated entries out of its model_list block" in migrated.err
    config = load(site)
    assert [e["model_name"] for e in config["model_list"]] == ["gpt-4o-direct", "openrouter/openai-gpt-4o"]
    assert config["include"] == [INC] and config["litellm_settings"] == {"drop_params": True}
    assert site.read_text().startswith(HAND_CONFIG.split("model_list:")[0])  # the text above is untouched
    generated = load(site.parent / INC)["model_list"]
    sonnet = next(e for e in generated if e["model_name"] == "openrouter/anthropic-claude-sonnet-4")
    assert sonnet["litellm_params"]["temperature"] == 0.3  # the hand edit moved along
    assert site.with_name("config.yaml.backup").read_text() == normal_text

    settled = site.read_bytes()
    for _ in range(2):
        assert sync(site).code == 0
        assert site.read_bytes() == settled

    # and back: a normal sync refuses while config.yaml includes the generated file
    back = run_cli("compile", "--rules", str(RULES_DIR), "--config", str(site), "--catalog", str(LATEST))
    assert back.code == 1 and "sync it with --include-file" in back.err
    assert site.read_bytes() == settled


def test_option_combinations(env, run_cli):
    both = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--include-file", INC, "-o", "x.yaml")
    assert both.code == 2 and "--include-file and --output exclude each other" in both.err
    migrate = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--migrate")
    assert migrate.code == 2 and "--migrate needs --include-file" in migrate.err
    same = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", "c.yaml", "--include-file", "./c.yaml")
    assert same.code == 2 and "names the config itself" in same.err
    assert not list(env.iterdir())


def test_sample_catalog_cli_in_a_subprocess(env):
    """The installed entry point, from another working directory, with the repo's example catalog."""
    import subprocess

    from helpers_sync import subprocess_env

    config = env / "conf" / "config.yaml"
    config.parent.mkdir()
    config.write_text("# mine\nmodel_list: []\n")
    done = subprocess.run([sys.executable, "-m", "rinsync", "compile", "--config", str(config), "--include-file",
                           INC, "--catalog", str(SAMPLE_CATALOG), "--rules", str(REPO / "rules")],
                          env=subprocess_env(), cwd=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert config.read_text() == "# mine\nmodel_list: []\ninclude:\n  - openrouter.models.yaml\n"
    sample = json.loads(SAMPLE_CATALOG.read_text())["data"]
    assert 0 < len(load(config.parent / INC)["model_list"]) <= len(sample)


# --------------------------------------------------------------------------- add_include, directly


@pytest.mark.parametrize("raw,expected", [
    (None, "include:\n  - a.yaml\n"),
    (b"", "include:\n  - a.yaml\n"),
    (b"# only a comment", "# only a comment\ninclude:\n  - a.yaml\n"),
    (b"x: 1\n", "x: 1\ninclude:\n  - a.yaml\n"),
    (b"include:\n  - b.yaml  # b\n  - c.yaml", "include:\n  - b.yaml  # b\n  - c.yaml\n  - a.yaml\n"),
])
def test_add_include_text(raw, expected):
    assert add_include(raw, "a.yaml").decode() == expected


def test_add_include_quotes_names_that_need_it():
    out = add_include(b"x: 1\n", "my models: #1.yaml")
    assert yaml.safe_load(out)["include"] == ["my models: #1.yaml"]


def test_add_include_refuses_duplicate_keys():
    with pytest.raises(IncludeEditError):
        add_include(b"include:\n  - b.yaml\ninclude:\n  - c.yaml\n", "a.yaml")
