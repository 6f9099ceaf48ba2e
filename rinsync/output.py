"""Serialise configs as YAML: block style, keys in insertion order, no anchors, libyaml when present."""

from __future__ import annotations

from typing import Any

import yaml

_Base: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[misc, valid-type]
    """Never emits anchors/aliases, so every entry stands on its own for LiteLLM and for humans."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=4096)


def render_config(entries: list[dict], header: str | None = None) -> str:
    """A standalone LiteLLM config holding the generated ``model_list``."""
    text = dump_yaml({"model_list": entries})
    return (header + text) if header else text
