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
        **expected_prices(record),
        "generated_by": "rinsync",
        "openrouter_id": record["id"],
    }


# --------------------------------------------------------------------------
# prices: what LiteLLM must be told, and what OpenRouter bills (docs/pricing.md)
# --------------------------------------------------------------------------

# OpenRouter's min_prompt_tokens -> LiteLLM's threshold suffix, and the components LiteLLM has a key for there
LITELLM_TIERS = {128000: ("128k", ("prompt", "completion")),
                 200000: ("200k", ("prompt", "completion", "input_cache_read", "input_cache_write")),
                 272000: ("272k", ("prompt", "completion", "input_cache_read", "input_cache_write"))}
_TIER_KEYS = {"prompt": "input_cost_per_token", "completion": "output_cost_per_token",
              "input_cache_read": "cache_read_input_token_cost",
              "input_cache_write": "cache_creation_input_token_cost"}
_PLAIN_KEYS = {"audio": "input_cost_per_audio_token", "input_audio_cache": "cache_read_input_audio_token_cost",
               "audio_output": "output_cost_per_audio_token", "image_token": "input_cost_per_image_token",
               "image_output": "output_cost_per_image_token"}


def _cache_price(pricing: dict, component: str, tier: dict | None = None) -> float | None:
    """A cache price: listed by the tier, else by the base, else the (tier's) prompt price."""
    if tier is not None and component in tier:
        return price(tier[component])
    if price(pricing.get(component)) is not None:
        return None if tier is not None else price(pricing[component])  # a tier keeps the base price
    return price((tier or pricing).get("prompt"))


def expected_prices(record: dict) -> dict:
    """Every LiteLLM cost key for a record (None: the key must be absent)."""
    pricing = record.get("pricing") or {}
    prompt = price(pricing.get("prompt"))
    out: dict = {key: None for key in _PLAIN_KEYS.values()}
    out["input_cost_per_token"] = prompt
    out["output_cost_per_token"] = price(pricing.get("completion"))
    if prompt is None:  # a dynamically priced router: no price at all
        for key in ("cache_read_input_token_cost", "cache_creation_input_token_cost",
                    "cache_creation_input_token_cost_above_1hr"):
            out[key] = None
    else:
        out["cache_read_input_token_cost"] = _cache_price(pricing, "input_cache_read")
        out["cache_creation_input_token_cost"] = _cache_price(pricing, "input_cache_write")
        out["cache_creation_input_token_cost_above_1hr"] = (
            price(pricing["input_cache_write_1h"]) if "input_cache_write_1h" in pricing
            else out["cache_creation_input_token_cost"])
    reasoning = price(pricing.get("internal_reasoning"))
    out["output_cost_per_reasoning_token"] = (
        reasoning if reasoning is not None and reasoning != price(pricing.get("completion")) else None)
    for component, key in _PLAIN_KEYS.items():
        out[key] = price(pricing.get(component))
    search = price(pricing.get("web_search"))
    out["search_context_cost_per_query"] = None if search is None else {
        f"search_context_size_{size}": search for size in ("low", "medium", "high")}
    tiers = {o.get("min_prompt_tokens"): o for o in pricing.get("overrides") or []}
    for threshold, (suffix, components) in LITELLM_TIERS.items():
        tier = tiers.get(threshold)
        for component in components:
            key = f"{_TIER_KEYS[component]}_above_{suffix}_tokens"
            if tier is None:
                out[key] = None
            elif component.startswith("input_cache"):
                out[key] = _cache_price(pricing, component, tier)
            else:
                out[key] = price(tier.get(component))
    return out


def openrouter_bill(record: dict, usage: dict, searches: int = 0) -> float:
    """USD OpenRouter bills for one chat completion's ``usage`` and ``searches`` web searches, by hand
    from the raw catalog record. ``usage`` may hold cached, written and audio prompt tokens and
    reasoning, audio and image completion tokens (OpenRouter's usage shape).

    The tier is the override with the largest ``min_prompt_tokens`` the prompt reaches; a price the
    tier does not list is the base price; a missing cache price is the tier's prompt price, a missing
    audio or image price the prompt (input) or completion (output) price; reasoning tokens cost
    ``internal_reasoning`` when it differs from the base completion price, else the tier's
    completion price."""
    pricing = record["pricing"]
    prompt_tokens, completion_tokens = usage["prompt_tokens"], usage["completion_tokens"]
    details = usage.get("prompt_tokens_details") or {}
    cached, written = details.get("cached_tokens", 0), details.get("cache_write_tokens", 0)
    audio_in = details.get("audio_tokens", 0)
    out = usage.get("completion_tokens_details") or {}
    reasoning, audio_out, image_out = (out.get(k, 0) for k in ("reasoning_tokens", "audio_tokens", "image_tokens"))
    reached = [o for o in pricing.get("overrides") or []
               if o.get("min_prompt_tokens") is not None and prompt_tokens >= o["min_prompt_tokens"]]
    tier = max(reached, key=lambda o: o["min_prompt_tokens"]) if reached else {}

    def rate(component: str, default: Decimal | None = None) -> Decimal | None:
        value = tier.get(component, pricing.get(component))
        return default if value in (None, "") else Decimal(value)

    prompt_rate, completion_rate = rate("prompt"), rate("completion")
    base_reasoning = pricing.get("internal_reasoning")
    reasoning_rate = (Decimal(base_reasoning) if base_reasoning not in (None, "")
                      and Decimal(base_reasoning) != Decimal(pricing["completion"]) else completion_rate)
    total = ((prompt_tokens - cached - written - audio_in) * prompt_rate
             + cached * rate("input_cache_read", prompt_rate) + written * rate("input_cache_write", prompt_rate)
             + audio_in * rate("audio", prompt_rate)
             + (completion_tokens - reasoning - audio_out - image_out) * completion_rate
             + reasoning * reasoning_rate + audio_out * rate("audio_output", completion_rate)
             + image_out * rate("image_output", completion_rate)
             + searches * rate("web_search", Decimal(0)))
    return float(total)


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


def _family_of(model_id: str) -> str:
    """An id without ':variant', a '-NNk' size and a trailing date stamp (as docs/rules.md describes)."""
    text = model_id.split(":")[0]
    text = re.sub(r"-\d+k(?=-|$)", "", text, count=1)
    for stamp in (r"-\d{4}-\d{2}-\d{2}$", r"-\d{8}$", r"-\d{4}$", r"-\d{2}-\d{2}$"):
        if re.search(stamp, text):
            return re.sub(stamp, "", text)
    return text


def expected_families(records: list[dict]) -> dict[str, str]:
    """id -> family name: the stripped id, joined with every id whose stripped canonical_slug is the same;
    a family is named by its alphabetically first key."""
    groups: dict[str, set[str]] = {}
    for record in records:
        keys = {_family_of(record["id"])}
        slug = record.get("canonical_slug")
        if slug and not record["id"].startswith("~"):
            keys.add(_family_of(slug))
        merged = set(keys)
        for key in keys:
            merged |= groups.get(key, set())
        for key in merged:
            groups[key] = merged
    return {r["id"]: min(groups[_family_of(r["id"])]) for r in records}


def _line_of(family: str) -> str:
    provider, name = family.split("/", 1) if "/" in family else ("", family)
    kept = []
    for word in name.split("-"):
        if re.fullmatch(r"v?\d+(\.\d+)*[a-z]?", word) or re.fullmatch(r"([ae]?\d+(\.\d+)?[bmt]|\d+x\d+b)", word):
            continue  # a version (5.4, v2, 4o) or a size (27b, a3b, 1t)
        word = re.sub(r"[\d.]", "", word) if re.search(r"\d", word) else word
        if word and word not in ("preview", "exp", "instruct", "it", "thinking", "reasoning", "high"):
            kept.append(word)
    return f"{provider}/{'-'.join(kept) or name}" if provider else "-".join(kept) or name


def _brand_of(family: str) -> str:
    provider, name = family.split("/", 1) if "/" in family else ("", family)
    first = name.split("-")[0]
    word = re.sub(r"[\d.]", "", first) or first
    return f"{provider}/{word}" if provider else word


def expected_shown(records: list[dict]) -> set[str]:
    """The ids the curated view of the shipped rules shows (before the guard and expiry rule): no ':batch',
    no ':free' twin of a listed id, no '~' alias, no dated snapshot of a listed undated id; only the newest
    family of a line; no line whose newest model is more than 180 days older than its brand's newest."""
    ids = {r["id"] for r in records}
    created = {r["id"]: r.get("created") if isinstance(r.get("created"), (int, float)) else None for r in records}
    family = expected_families(records)
    lines: dict[str, list[str]] = {}
    brands: dict[str, list[str]] = {}
    for model_id in ids:
        lines.setdefault(_line_of(family[model_id]), []).append(model_id)
        brands.setdefault(_brand_of(family[model_id]), []).append(model_id)

    def newest(group: list[str]) -> str:
        return sorted(group, key=lambda i: (-(created[i] if created[i] is not None else float("-inf")), i))[0]

    shown = set()
    for model_id in ids:
        base, _, variant = model_id.partition(":")
        fam = family[model_id]
        if variant == "batch" or model_id.startswith("~") or (variant == "free" and base in ids):
            continue
        if fam != base and fam in ids:
            continue
        top = newest(lines[_line_of(fam)])
        if family[top] != fam:
            continue
        lead = newest(brands[_brand_of(fam)])
        if created[top] is not None and created[lead] is not None and created[lead] - created[top] > 180 * 86400:
            continue
        shown.add(model_id)
    return shown


def expected_openwebui(record: dict, today: dt.date, shown: set[str] | None = None) -> dict:
    """The Open WebUI record fields the shipped rules must give a kept record (``shown``: the curated
    view's ids, expected_shown of the catalog; None checks the record without the curated view)."""
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
        "active": not ("guard" in record["id"].lower() or soon) and (shown is None or record["id"] in shown),
        "capabilities": {"vision": vision, "file_upload": True, "file_context": True, "web_search": True,
                         "image_generation": tools, "code_interpreter": tools, "builtin_tools": tools,
                         "citations": True, "usage": True},
        "params": {"function_calling": "native" if tools else "legacy"},
    }
