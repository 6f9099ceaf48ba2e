"""Parse an OpenRouter catalog (``{"data": [...]}``), check it, and normalise old record shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import RinsyncError
from ..resources import schema_check, schema_validator

CATALOG_SCHEMA = "catalog.schema.json"


class CatalogError(RinsyncError):
    """The catalog as a whole is unusable (not JSON, wrong shape, empty)."""


@dataclass
class Catalog:
    records: list[dict]
    source: str
    warnings: list[str] = field(default_factory=list)


def record_validator():
    """jsonschema's validator for one catalog record (for its error messages)."""
    return schema_validator(CATALOG_SCHEMA, "record")


def parse_catalog(payload: bytes | str, source: str) -> Catalog:
    """Decode and check a catalog; malformed records are skipped with a warning naming them."""
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if isinstance(exc, ValueError) else "nested too deeply"
        raise CatalogError(f"{source}: not a JSON catalog ({reason})") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise CatalogError(f'{source}: not an OpenRouter catalog (expected {{"data": [...]}})')
    if not document["data"]:
        raise CatalogError(f"{source}: the catalog lists no models")
    catalog = Catalog([], source)
    seen: set[str] = set()
    for index, raw in enumerate(document["data"]):
        problem = _first_problem(raw)
        label = _label(raw, index)
        if problem:
            catalog.warnings.append(f"{source}: skipped record {label}: {problem}")
            continue
        if raw["id"] in seen:
            catalog.warnings.append(f"{source}: skipped duplicate record {label}")
            continue
        seen.add(raw["id"])
        catalog.records.append(normalize_record(raw))
    if not catalog.records:
        raise CatalogError(f"{source}: no usable model records ({len(catalog.warnings)} malformed)")
    return catalog


def load_catalog_file(path: str | Path) -> Catalog:
    """Read a catalog from a file (the API's JSON shape)."""
    from ..limits import read_regular
    from .fetch import MAX_BYTES

    try:
        payload = read_regular(Path(path), MAX_BYTES)  # never blocks on a FIFO or reads a device forever
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog: {exc.strerror}") from None
    return parse_catalog(payload, str(path))


def _first_problem(raw: Any) -> str | None:
    """None for a valid record; else jsonschema's first message (imported only then)."""
    if not isinstance(raw, dict):
        return f"expected an object, got {type(raw).__name__}"
    if schema_check(CATALOG_SCHEMA, "record")(raw):
        return None
    error = next(iter(record_validator().iter_errors(raw)), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "record"
    return f"{where}: {error.message[:160]}"


def _label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"'{raw['id'][:80]}'" + f" (#{index})"
    return f"#{index}"


def modalities_from_string(modality: str | None) -> tuple[list[str], list[str]]:
    """Input and output modalities from the old ``modality`` string (order-independent)."""
    if not modality:
        return ["text"], ["text"]
    if modality == "multimodal":
        return ["text", "image"], ["text"]
    inputs, _, outputs = modality.partition("->")
    split = lambda part: sorted({m.strip() for m in part.split("+") if m.strip()})  # noqa: E731
    return split(inputs) or ["text"], split(outputs or "text") or ["text"]


def normalize_record(raw: dict) -> dict:
    """A copy of the record with ``architecture.input_modalities``/``output_modalities`` always set."""
    record = dict(raw)
    architecture = dict(raw.get("architecture") or {})
    if not architecture.get("input_modalities") or not architecture.get("output_modalities"):
        inputs, outputs = modalities_from_string(architecture.get("modality"))
        architecture.setdefault("input_modalities", inputs)
        architecture["input_modalities"] = architecture["input_modalities"] or inputs
        architecture["output_modalities"] = architecture.get("output_modalities") or outputs
    record["architecture"] = architecture
    return record
