"""The LiteLLM target builds its model_list entries from the engine's decisions."""

from __future__ import annotations

import copy
from typing import Any

GENERATED_BY = "rinsync"
MARKER_KEY = "generated_by"
SOURCE_ID_KEY = "openrouter_id"


def build_entry(model_id: str, values: Any, *, share: bool = False) -> dict:
    """One model_list entry from a kept model's evaluated values (rinsync.decision.Values): rinsync's
    marker and the OpenRouter id end its model_info. The values are copied (``share``: only model_info's
    top level, for the compile's own entries, which nothing changes in place)."""
    info = dict(values.model_info) if share else copy.deepcopy(values.model_info)
    info[MARKER_KEY] = GENERATED_BY
    info[SOURCE_ID_KEY] = model_id
    params = values.litellm_params if share else copy.deepcopy(values.litellm_params)
    return {"model_name": values.name, "litellm_params": params, "model_info": info}


def build_entries(decisions: list) -> list[dict]:
    """The entries of every kept decision, sorted by name then OpenRouter id (the config's order)."""
    entries = [build_entry(d.model_id, d.values, share=True) for d in decisions if d.kept and d.values is not None]
    return sorted(entries, key=lambda e: (e["model_name"], e["model_info"][SOURCE_ID_KEY]))


def is_generated(entry: Any) -> bool:
    """True for model_list entries carrying rinsync's marker."""
    return (isinstance(entry, dict) and isinstance(entry.get("model_info"), dict)
            and entry["model_info"].get(MARKER_KEY) == GENERATED_BY)
