"""Issue 17, family 9: comments are the operator's data — kept in every layout, or the sync refuses.

Before, a config whose model_list could not be rewritten line by line (a flow top level, anchors shared
with other keys…) was dumped whole and came back without its comments, with exit 0 and not a word; a
comment inside a generated entry vanished on every sync. The matrix below renders each layout (block and
flow mappings and sequences, anchors and aliases, leading, trailing and inline comments, comments inside
generated and hand-written entries, CRLF, a BOM) and checks that every comment survives or that the
render refuses with a message naming why and how; the CLI cases check the exit code, one line and the
file byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hostile import assert_one_line_error, run_limited

from rinsync.litellm.comments import comments, lost_comments
from rinsync.litellm.configfile import CommentsWouldBeLost, read_config, render
from support import SAMPLE_CATALOG

GEN = {"generated_by": "rinsync"}


def gen(name: str, **info) -> dict:
    return {"model_name": name, "litellm_params": {"model": f"openrouter/{name}", "api_key": "os.environ/K"},
            "model_info": {"mode": "chat", **info, **GEN, "openrouter_id": name}}


def gen_text(name: str, comment: str = "", price: int = 1, indent: str = "  ") -> str:
    return (f"{indent}- model_name: {name}{comment}\n{indent}  litellm_params: {{model: openrouter/{name}, "
            f"api_key: os.environ/K}}\n{indent}  model_info: {{mode: chat, price: {price}, generated_by: rinsync, "
            f"openrouter_id: {name}}}\n")


HAND = "  - model_name: mine   # my own model\n    litellm_params: {model: openai/gpt-4o}  # flow, commented\n"

# name -> config text whose comments all survive a sync that adds generated entry 'new'
KEPT = {
    "block-everything": "# header\ngeneral_settings:   # inline on a key\n  master_key: os.environ/MK  # value\n\n"
                        "model_list:\n  # before the first item\n" + HAND + "# after the list\n\n"
                        "litellm_settings:\n  drop_params: true\n# at the end\n",
    "flow-mappings-with-trailing-comments": "general_settings: {master_key: os.environ/MK}  # flow map\n"
                                            "router_settings: {fallbacks: [{mine: [other]}]}  # nested flow\n"
                                            "model_list:\n" + HAND,
    "anchor-outside-alias-inside": "x-key: &key {api_key: os.environ/OPENAI_API_KEY}  # shared\nmodel_list:\n"
                                   "  - model_name: mine  # merge key\n    litellm_params:\n      <<: *key\n"
                                   "      model: openai/gpt-4o  # model\n",
    "issue-17-anchor-and-flow": "defaults: &defaults {temperature: 0.2}   # anchor on a flow mapping\n"
                                "model_list:\n  - model_name: mine\n    litellm_params: {<<: *defaults, model: "
                                "openai/x}  # trailing\nrouter_settings: {num_retries: 2}  # flow, trailing\n",
    "anchor-inside-alias-outside": "model_list:\n  - &mine {model_name: mine, litellm_params: {model: openai/x}}"
                                   "  # anchored item\nrouter_settings:\n  fallbacks: [*mine]  # alias\n",
    "empty-flow-list": "# head\nmodel_list: []  # nothing yet\ngeneral_settings: {}  # tail\n",
    "null-model-list": "model_list:   # none yet\ngeneral_settings: {}\n",
    "one-line-flow-list": "model_list: [{model_name: mine, litellm_params: {model: openai/x}}]  # one line\n",
    "list-at-column-0": "model_list:\n- model_name: mine  # zero indent\n  litellm_params: {model: openai/x}\n",
    "block-scalar-and-quoted-hashes": "general_settings:\n  note: |\n    # not a comment\n    text\n"
                                      "  tag: 'a # b'  # real\nmodel_list:\n  - model_name: 'x#y'  # hash in a name\n"
                                      "    litellm_params: {model: \"openai/#x\"}\n",
    "comment-lines-between-generated": "model_list:\n" + HAND + gen_text("a") + "  # about b, below\n\n"
                                       + gen_text("b"),
    "unchanged-generated-with-comment": "model_list:\n" + HAND + gen_text("a", "  # pinned: ask Bob"),
    "crlf": ("# head\nmodel_list:\n" + HAND + gen_text("a", "  # unchanged") + "# tail\n").replace("\n", "\r\n"),
    "bom": "\ufeff# head\nmodel_list:\n" + HAND,
}


def _render(tmp_path: Path, text: str, entries_for=None) -> tuple[str, bytes]:
    path = tmp_path / "config.yaml"
    path.write_bytes(text.encode("utf-8"))
    config = read_config(path)
    entries = entries_for(config) if entries_for else config.model_list + [gen("new")]
    return text, render(config, entries)


@pytest.mark.parametrize("name", KEPT)
def test_every_comment_survives(tmp_path, name):
    text, out = _render(tmp_path, KEPT[name])
    new = out.decode("utf-8")
    assert comments(text.lstrip("\ufeff")), "the layout must have comments to keep"
    assert not lost_comments(text.lstrip("\ufeff"), new.lstrip("\ufeff")), new
    document = yaml.safe_load(new)
    names = [e["model_name"] for e in document["model_list"]]
    assert "new" in names and names.count("new") == 1
    if "\r\n" in text:
        assert "\r\n" in new and "\n" not in new.replace("\r\n", "")
    if text.startswith("\ufeff"):
        assert new.startswith("\ufeff")


def test_comment_lines_after_a_rewritten_generated_entry_stay_after_it(tmp_path):
    text = "model_list:\n" + gen_text("a", price=1) + "  # about a: keep below it\n" + gen_text("b")
    _, out = _render(tmp_path, text, lambda c: [gen("a", price=2), c.model_list[1]])
    new = out.decode()
    assert "# about a: keep below it" in new
    assert new.index("model_name: a") < new.index("# about a") < new.index("model_name: b")
    assert yaml.safe_load(new)["model_list"][0]["model_info"]["price"] == 2


# name -> (config text, entries from the read config, fragments of the refusal)
REFUSED = {
    "flow-top-level": ("{model_list: [], general_settings: {}}  # root\n", None,
                       ["line 1: '# root'", "top level is a flow mapping", "block style", "--include-file"]),
    "multi-line-flow-list": ("model_list: [\n  {model_name: mine, litellm_params: {model: openai/x}},  # inside\n]\n",
                             None, ["line 2: '# inside'", "flow sequence", "block style"]),
    "model-list-anchor-used-elsewhere": ("model_list: &all  # the list\n  - model_name: mine\n"
                                         "    litellm_params: {model: openai/x}\ncopy: *all  # alias of it\n",
                                         None, ["anchor inside model_list is used elsewhere"]),
    "changed-generated-with-comment": ("model_list:\n" + gen_text("a", "  # pinned: ask Bob"),
                                       lambda c: [gen("a", price=2)],
                                       ["line 2: '# pinned: ask Bob'", "generated entry 'a'", "rewrites",
                                        "generated_by: rinsync"]),
    "removed-generated-with-comment": ("model_list:\n" + HAND + gen_text("a") + "    # a's note\n" + gen_text("b"),
                                       lambda c: [c.model_list[0], c.model_list[2]],
                                       ["# a's note", "generated entry 'a'", "removes"]),
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_rewrite_that_would_drop_a_comment_is_refused(tmp_path, name):
    text, entries_for, fragments = REFUSED[name]
    with pytest.raises(CommentsWouldBeLost) as caught:
        _render(tmp_path, text, entries_for)
    message = caught.value.message
    assert "\n" not in message and "nothing written" in message and "To keep them" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_without_comments_an_odd_layout_is_still_rewritten(tmp_path):
    _, out = _render(tmp_path, "{model_list: [], general_settings: {master_key: x}}\n")
    assert yaml.safe_load(out)["general_settings"] == {"master_key": "x"}


def test_a_comment_with_control_characters_is_shown_escaped(tmp_path):
    text = "{model_list: []}  # \u202egnp.exe\n"  # a bidi override: YAML allows it, a terminal obeys it
    with pytest.raises(CommentsWouldBeLost) as caught:
        _render(tmp_path, text)
    assert "\u202e" not in caught.value.message and "\\u202e" in caught.value.message


# --------------------------------------------------------------------------- through the command line


def test_sync_keeps_comments_of_the_issue_layout(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(KEPT["issue-17-anchor-and-flow"])
    result = run_limited("compile", "--config", str(config), "--catalog", str(SAMPLE_CATALOG), cwd=tmp_path)
    assert result.code == 0, result.err
    text = config.read_text()
    for comment in ("# anchor on a flow mapping", "# trailing", "# flow, trailing"):
        assert comment in text
    assert text.count("generated_by: rinsync") > 10


@pytest.mark.parametrize("name", ["flow-top-level", "multi-line-flow-list"])
def test_sync_refuses_with_one_line_and_the_file_untouched(tmp_path, name):
    config = tmp_path / "config.yaml"
    config.write_text(REFUSED[name][0])
    before = config.read_bytes()
    result = run_limited("compile", "--config", str(config), "--catalog", str(SAMPLE_CATALOG), cwd=tmp_path)
    assert_one_line_error(result, 1, "config.yaml: this sync would drop 1 comment", "nothing written")
    assert config.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("config.yaml.")]  # no backup, no temp file


def test_sync_keeps_a_comment_on_an_unchanged_generated_entry_then_refuses_when_it_changes(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\n")
    assert run_limited("compile", "--config", str(config), "--catalog", str(SAMPLE_CATALOG), cwd=tmp_path).code == 0
    lines = config.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "- model_name:" in line)
    lines[at] = lines[at].rstrip("\n") + "  # pinned for team A\n"
    config.write_text("".join(lines))
    result = run_limited("compile", "--config", str(config), "--catalog", str(SAMPLE_CATALOG), cwd=tmp_path)
    assert result.code == 0, result.err
    assert "# pinned for team A" in config.read_text()
    # the generated entry changes (the operator asks for a smaller set): refused, file kept
    name = lines[at].split("model_name:")[1].split("#")[0].strip()
    rules = tmp_path / "rules"
    import shutil

    from support import RULES_DIR

    shutil.copytree(RULES_DIR, rules, ignore=shutil.ignore_patterns("tests"))
    (rules / "90-drop.yaml").write_text(f"version: 1\nrules:\n  - id: drop-it\n    exclude: \"id == "
                                        f"'{_source_id(config, name)}'\"\n")
    before = config.read_bytes()
    result = run_limited("compile", "--rules", str(rules), "--config", str(config), "--catalog",
                         str(SAMPLE_CATALOG), cwd=tmp_path)
    assert_one_line_error(result, 1, f"generated entry '{name}'", "removes", "nothing written")
    assert config.read_bytes() == before


def _source_id(config: Path, name: str) -> str:
    document = yaml.safe_load(config.read_text())
    return next(e["model_info"]["openrouter_id"] for e in document["model_list"] if e["model_name"] == name)
