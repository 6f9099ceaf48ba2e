"""Parse an OpenRouter catalog (``{"data": [...]}``), check it, and normalise old record shapes."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import RinsyncError
from ..resources import schema_check, schema_validator
from ..untrusted import escape, record_problem

CATALOG_SCHEMA = "catalog.schema.json"
# Limits far above any real catalog (2026: ~400 records, ~1 MB, ~65 commas a record), so that a hostile or
# broken answer fails in seconds with bounded memory instead of exhausting it (docs/security.md).
MAX_BYTES = 64 * 1024 * 1024
MAX_RECORDS = 20_000
MAX_INT_DIGITS = 4000  # far past float range (309 digits), below Python's int conversion limit (4,300)
MAX_VALUES = 3_000_000  # commas in the JSON text: an upper bound of its values, counted before parsing


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
    _check_size(payload, source)
    try:
        document = json.loads(payload, parse_int=_json_int)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if isinstance(exc, ValueError) else "nested too deeply"
        raise CatalogError(f"{source}: not a JSON catalog ({reason})") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise CatalogError(f'{source}: not an OpenRouter catalog (expected {{"data": [...]}})')
    if not document["data"]:
        raise CatalogError(f"{source}: the catalog lists no models")
    if len(document["data"]) > MAX_RECORDS:
        raise CatalogError(f"{source}: {len(document['data'])} records, more than the limit of {MAX_RECORDS:,} "
                           "(a real catalog has hundreds); not a catalog rinsync will use")
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


def _json_int(text: str) -> int | float:
    """A JSON integer. One of more than MAX_INT_DIGITS digits (or more than this Python converts, 4,300 by
    default, which would otherwise reject the whole catalog) is infinity: its record is skipped with a
    warning like any other number no float can hold."""
    if len(text) > MAX_INT_DIGITS:
        return math.inf
    try:
        return int(text)
    except ValueError:  # PYTHONINTMAXSTRDIGITS set lower than MAX_INT_DIGITS
        return math.inf


def _check_size(payload: bytes | str, source: str) -> None:
    """Refuse, before parsing, a text too large to be a catalog (memory stays in proportion to the limits)."""
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    if len(data) > MAX_BYTES:
        raise CatalogError(f"{source}: larger than {MAX_BYTES // (1024 * 1024)} MiB; not a catalog rinsync will use")
    if data.count(b",") > MAX_VALUES:
        raise CatalogError(f"{source}: more than {MAX_VALUES:,} JSON values (a real catalog has tens of "
                           "thousands); not a catalog rinsync will use")


def load_catalog_file(path: str | Path) -> Catalog:
    """Read a catalog from a file (the API's JSON shape): a regular file of at most MAX_BYTES (a FIFO or a
    device is refused before it is opened, so nothing blocks)."""
    from ..limits import ReadRefused, read_regular

    try:
        payload = read_regular(Path(path), MAX_BYTES)
    except ReadRefused as exc:
        if exc.too_large:
            raise CatalogError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB; not a catalog rinsync will "
                               "use") from None
        raise CatalogError(f"{path}: cannot read catalog: {exc.reason}") from None
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog: {exc.strerror}") from None
    return parse_catalog(payload, str(path))


def _first_problem(raw: Any) -> str | None:
    """None for a valid record; else jsonschema's first message (imported only then)."""
    if not isinstance(raw, dict):
        return f"expected an object, got {type(raw).__name__}"
    unsafe = record_problem(raw)
    if unsafe:
        return unsafe
    if schema_check(CATALOG_SCHEMA, "record")(raw):
        return None
    error = next(iter(record_validator().iter_errors(raw)), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "record"
    return escape(f"{where}: {error.message}", 160)


def _label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"'{escape(raw['id'], 80)}' (#{index})"
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
