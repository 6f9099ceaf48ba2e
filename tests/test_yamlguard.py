"""rinsync's YAML bounds decide its messages, whatever PyYAML (and its libyaml) refuses on its own."""

from __future__ import annotations

import pytest
import yaml

from rinsync import yamlguard
from rinsync.yamlguard import YamlLimitError, check


class _LibraryRefusal(yaml.MarkedYAMLError):
    """What a libyaml with its own nesting limit raises while scanning ahead (its wording is its own)."""


def _refusing_parser(limit_index: int):
    """A stand-in for a PyYAML whose scanner refuses at ``limit_index``, before any event crosses our limit."""

    class Mark:
        index = limit_index
        line = 0
        column = limit_index

    def parse(text, Loader=None):  # noqa: N803 - PyYAML's keyword
        raise _LibraryRefusal(problem="some library wording", problem_mark=Mark())
        yield  # a generator, as yaml.parse is

    return parse


def test_deep_flow_nesting_is_refused_by_rinsyncs_own_limit():
    with pytest.raises(YamlLimitError) as caught:
        check("model_list: " + "[" * 150 + "]" * 150 + "\n")
    assert "nested more than 100 levels deep" in str(caught.value)


def test_a_library_refusal_of_deep_nesting_gets_rinsyncs_message(monkeypatch):
    text = "model_list: " + "[" * 1000 + "]" * 1000 + "\n"
    monkeypatch.setattr(yamlguard.yaml, "parse", _refusing_parser(1012))
    with pytest.raises(YamlLimitError) as caught:
        check(text)
    assert str(caught.value) == "nested more than 100 levels deep (line 1)"
    assert caught.value.problem_mark.column == len("model_list: ") + 100  # where the 101st level opens


def test_a_library_refusal_of_a_shallow_text_stays_the_librarys(monkeypatch):
    monkeypatch.setattr(yamlguard.yaml, "parse", _refusing_parser(20))
    with pytest.raises(yaml.YAMLError) as caught:
        quoted = "[" * 110
        check(f"a: '{quoted}'\nb: [1, 2]  # {quoted}\n")
    assert not isinstance(caught.value, YamlLimitError)


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, "{a: " * 1000 + "1" + "}" * 1000])
def test_real_parser_deep_documents_get_rinsyncs_message(text):
    with pytest.raises(YamlLimitError) as caught:
        check("model_list: " + text + "\n")
    assert "nested more than 100 levels deep" in str(caught.value)
