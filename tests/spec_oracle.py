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


def expected_drop(record: dict, today: dt.date) -> str | None:
    """Why a record must be dropped (the id of the shipped rule), or None when it is kept."""
    model_id = record["id"]
    pricing = record.get("pricing") or {}
    verdict = None
    if not pricing.get("prompt") or not pricing.get("completion"):
        verdict = "drop-unpriced"
    expiry = record.get("expiration_date")
    if expiry and dt.date.fromisoformat(expiry[:10]) < today:
        verdict = "drop-expired"
    if record.get("deprecated") is True or DEPRECATED.search(record.get("description") or ""):
        verdict = "drop-deprecated"
    extended = model_id.endswith(":extended") or re.search(r"-[0-9]+k\b", model_id)
    if extended and "128k-online" not in model_id and "sonar" not in model_id:
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


# --------------------------------------------------------------------------- Open WebUI (issue 11)
# What Open WebUI must show for a kept record under the shipped rules/40-openwebui.yaml, written from the
# issue's wording with plain Python (no JMESPath, no rinsync function): capabilities, description, tags.


def _per_million(value) -> Decimal | None:
    if value in (None, "", "-1"):
        return None
    return Decimal(value) * 1_000_000


def _money(amount: Decimal) -> str:
    if amount >= Decimal("0.01") or amount == 0:
        return "$" + format(amount.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"), ",")
    return "$" + format(amount.normalize(), "f")


def _context(tokens: int) -> str:
    if tokens >= 1_000_000:
        text = f"{tokens / 1_000_000:.2f}"
        while text.endswith("0"):
            text = text[:-1]
        return text.rstrip(".") + "M"
    if tokens >= 1000:
        return f"{round(tokens / 1000)}K"
    return str(tokens)


def _readable(text: str, limit: int = 240) -> str:
    """Markdown links to their text, ** __ ` removed, spaces collapsed; cut after a sentence (in the second
    half of the limit) or a word, with an ellipsis."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1), text)
    for mark in ("**", "__", "`"):
        text = text.replace(mark, "")
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    window = text[:limit]
    best = -1
    for i, ch in enumerate(window):
        if ch in ".!?" and (i + 1 == len(window) or window[i + 1] == " "):
            best = i + 1
    if best >= limit // 2:
        return window[:best]
    words = window[:window.rindex(" ")] if " " in window[1:] else window[:limit - 1]
    return words.rstrip(" ,;:-") + "…"


def expected_openwebui(record: dict, today: dt.date) -> dict:
    """The Open WebUI record fields the shipped rules must give a kept record."""
    params = record.get("supported_parameters") or []
    pricing = record.get("pricing") or {}
    tools = "tools" in params
    vision = "image" in input_modalities(record)
    prompt, completion = _per_million(pricing.get("prompt")), _per_million(pricing.get("completion"))
    free = prompt == 0 and completion == 0
    if free:
        price = "free"
    elif prompt is not None and completion is not None:
        price = f"{_money(prompt)} in / {_money(completion)} out per 1M tokens"
    else:
        price = ""
    context = f"{_context(record['context_length'])} context" if record.get("context_length") else ""
    summary = " · ".join(p for p in (price, context) if p)
    text = _readable(record.get("description") or "")
    description = "\n\n".join(p for p in (text, summary) if p)
    tags = [record["id"].partition("/")[0] if "/" in record["id"] else ""]
    tags += [t for t, on in (("free", free), ("vision", vision), ("tools", tools),
                             ("reasoning", "reasoning" in params or "include_reasoning" in params)) if on]
    expiry = record.get("expiration_date")
    soon = bool(expiry) and (dt.date.fromisoformat(expiry[:10]) - today).days < 30
    return {
        "name": record.get("name") or record["id"],
        "description": description,
        "tags": [t for t in tags if t],
        "active": not ("guard" in record["id"].lower() or soon),
        "capabilities": {"vision": vision, "file_upload": True, "file_context": True, "web_search": True,
                         "image_generation": tools, "code_interpreter": tools, "builtin_tools": tools,
                         "citations": True, "usage": True},
        "params": {"function_calling": "native" if tools else "legacy"},
    }
