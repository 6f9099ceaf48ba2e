"""Name templates: allowlisted fields and filters, no attribute access, exact error offsets."""

from __future__ import annotations

import pytest

from rinsync.dsl.template import Template, TemplateError

RECORD = {"id": "meta-llama/llama-3.3-70b-instruct:free", "name": "Meta: Llama 3.3 70B Instruct (free)"}


@pytest.mark.parametrize("source, expected", [
    ("openrouter/{id|replace('/', '-')|replace(':', '-')}", "openrouter/meta-llama-llama-3.3-70b-instruct-free"),
    ("openrouter/{provider}-{model|replace(':', '-')}", "openrouter/meta-llama-llama-3.3-70b-instruct-free"),
    ("{slug}{variant|prefix(':')}", "llama-3.3-70b-instruct:free"),
    ("{base_id}", "meta-llama/llama-3.3-70b-instruct"),
    ("{name|slug}", "meta-llama-3.3-70b-instruct-free"),
    ("{canonical_slug|default('none')}", "none"),
    ("{{literal}} {provider|upper}", "{literal} META-LLAMA"),
    ('{id|replace("llama", "L")}', "meta-L/L-3.3-70b-instruct:free"),
])
def test_render(source, expected):
    assert Template(source).render(RECORD) == expected


@pytest.mark.parametrize("source, offset, code", [
    ("{vendor}", 1, "template-field"),
    ("x-{id|kebab}", 6, "template-filter"),
    ("{id.__class__}", 3, "template-syntax"),
    ("{id[0]}", 3, "template-syntax"),
    ("{id|replace('a')}", 4, "template-filter"),
    ("{id|replace(a, b)}", 12, "template-syntax"),
    ("{id", 0, "template-syntax"),
    ("id}", 2, "template-syntax"),
    ("{}", 1, "template-syntax"),
    ("{__import__}", 1, "template-field"),
])
def test_errors(source, offset, code):
    with pytest.raises(TemplateError) as info:
        Template(source)
    assert (info.value.offset, info.value.code) == (offset, code)


def test_values_are_never_formatted_as_code():
    hostile = {"id": "evil/{id.__class__}:x"}
    assert Template("{id}").render(hostile) == "evil/{id.__class__}:x"
