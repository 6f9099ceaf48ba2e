"""The spec's behaviour, written independently of the rules DSL: what an entry must say for a record.

Unit tests check rinsync's compiled output against it; the integration tests check what the real
LiteLLM proxy serves against it, so a wrong compile fails both layers.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

DEPRECATED = re.compile(r"(?i)\b(is|is being|has been) deprecated\b")


def price(value) -> float | None:
    if value in (None, "", "-1"):
        return None
    return float(Decimal(value))


def extended_base(model_id: str) -> str | None:
    """The model an extended-context variant extends: ``x:extended`` -> ``x``; ``a-32k-b`` -> ``a-b``."""
    if model_id.endswith(":extended"):
        return model_id.rsplit(":", 1)[0]
    match = re.search(r"-[0-9]+k\b", model_id)
    if match:
        return model_id[:match.start()] + model_id[match.end():]
    return None


def expected_drop(record: dict, today: dt.date, catalog_ids: set[str] | frozenset[str]) -> str | None:
    """Why a record must be dropped (the id of the shipped rule), or None when it is kept.

    ``catalog_ids``: every id of the catalog the record came from (an extended variant is dropped
    only beside its base model).
    """
    model_id = record["id"]
    pricing = record.get("pricing") or {}
    verdict = None
    if not pricing.get("prompt") and not pricing.get("completion"):  # "has pricing information"
        verdict = "drop-unpriced"
    expiry = record.get("expiration_date")
    if expiry and dt.date.fromisoformat(expiry[:10]) < today:
        verdict = "drop-expired"
    if record.get("deprecated") is True or DEPRECATED.search(record.get("description") or ""):
        verdict = "drop-deprecated"
    base = extended_base(model_id)
    if base is not None and base in catalog_ids and "128k-online" not in model_id and "sonar" not in model_id:
        verdict = "drop-extended-variants"
    return verdict


def expected_name(model_id: str) -> str:
    return "openrouter/" + model_id.replace("/", "-").replace(":", "-")


def input_modalities(record: dict) -> set[str]:
    arch = record.get("architecture") or {}
    if arch.get("input_modalities"):
        return set(arch["input_modalities"])
    modality = arch.get("modality") or "text"
    if modality == "multimodal":
        return {"text", "image"}
    return set(modality.split("->")[0].split("+"))


def expected_model_info(record: dict) -> dict:
    """The model_info keys the spec fixes for a kept record (None: the key must be absent)."""
    params = record.get("supported_parameters") or []
    return {
        "mode": "chat",
        "supports_function_calling": "tools" in params,
        "supports_vision": "image" in input_modalities(record),
        "supports_reasoning": "reasoning" in params or "include_reasoning" in params,
        "supports_response_schema": "structured_outputs" in params,
        "max_input_tokens": record["context_length"],
        "max_output_tokens": (record.get("top_provider") or {}).get("max_completion_tokens"),
        "input_cost_per_token": price((record.get("pricing") or {}).get("prompt")),
        "output_cost_per_token": price((record.get("pricing") or {}).get("completion")),
        "generated_by": "rinsync",
        "openrouter_id": record["id"],
    }
