"""The operator's LiteLLM config: read it, merge the compiled models into it, plan, guard, render.

* Hand-written entries (no ``model_info.generated_by: rinsync``) and every top-level key other than
  ``model_list`` are never changed. A hand-written entry whose ``model_name`` equals a generated one wins.
* Generated entries are replaced by the new set, merged three ways against the last generated state
  (:mod:`rinsync.litellm.state`): a field edited by hand keeps the hand value, a field only the generator changed
  takes the new value (like ``kubectl apply``'s last-applied configuration).
* Only the ``model_list`` block of the file is rewritten; the text of the other top-level keys, comments
  included, is kept as it is whenever that can be done safely (see :func:`render`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import exitcodes
from ..diagnostics import RinsyncError
from ..limits import MAX_YAML_BYTES, ReadRefused, read_regular
from ..output import dump_yaml
from ..yamlguard import YamlLimitError, safe_load
from .entries import GENERATED_BY, MARKER_KEY, SOURCE_ID_KEY, is_generated

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MISSING: Any = object()


@dataclass
class ExistingConfig:
    path: Path
    raw: bytes | None  # None: the file does not exist yet
    document: dict
    model_list: list

    @property
    def generated(self) -> list[dict]:
        return [e for e in self.model_list if is_generated(e)]

    @property
    def hand_written(self) -> list:
        return [e for e in self.model_list if not is_generated(e)]


def read_config(path: Path) -> ExistingConfig:
    """Parse the current config. A missing file is an empty config; an unparseable one is an error (exit 1)."""
    from ..dsl.rules import display_path

    path = Path(path)
    shown = display_path(path)
    try:
        raw = read_regular(path, MAX_YAML_BYTES)
    except FileNotFoundError:
        return ExistingConfig(path, None, {}, [])
    except ReadRefused as exc:
        raise RinsyncError(f"refusing to read {shown}: {exc.reason}; nothing written", exitcodes.ERROR) from None
    except OSError as exc:
        raise RinsyncError(f"cannot read {shown}: {exc.strerror or exc}; nothing written", exitcodes.ERROR) from None
    try:
        document = safe_load(raw)
    except YamlLimitError as exc:
        raise RinsyncError(f"{shown}: refused: {exc}; nothing written", exitcodes.ERROR) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise RinsyncError(f"{shown}: not valid YAML ({problem}{where}); nothing written", exitcodes.ERROR) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise RinsyncError(f"{shown}: the top level must be a mapping (a LiteLLM config); nothing written",
                           exitcodes.ERROR)
    model_list = document.get("model_list")
    if model_list is None:
        model_list = []
    if not isinstance(model_list, list):
        raise RinsyncError(f"{shown}: 'model_list' must be a list; nothing written", exitcodes.ERROR)
    return ExistingConfig(path, raw, document, model_list)


# --------------------------------------------------------------------------- merge


def merge3(base: Any, current: Any, new: Any, path: str, kept: list[str], conflicts: list[str]) -> Any:
    """Three-way merge of one value; returns ``_MISSING`` for "no key".

    ``kept`` collects fields where a hand edit survived, ``conflicts`` those where both the operator and
    the generator changed the value (the operator's value is kept).
    """
    if same(current, new):
        return current
    if same(current, base):
        return new
    if same(new, base):
        kept.extend(changed_fields(base, current, path))
        return current
    if isinstance(current, dict) and isinstance(new, dict) and (base is _MISSING or isinstance(base, dict)):
        base_map = base if isinstance(base, dict) else {}
        out = {}
        for key in list(new) + [k for k in current if k not in new]:
            value = merge3(base_map.get(key, _MISSING), current.get(key, _MISSING), new.get(key, _MISSING),
                           f"{path}.{key}" if path else str(key), kept, conflicts)
            if value is not _MISSING:
                out[key] = value
        return out
    conflicts.extend(changed_fields(new, current, path))
    return current


def changed_fields(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted paths of the fields that differ (lists compare as a whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        fields: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            fields += changed_fields(old.get(key, _MISSING), new.get(key, _MISSING),
                                     f"{path}.{key}" if path else str(key))
        return fields
    return [] if same(old, new) and type(old) is type(new) else [path or "(entry)"]


def same(a: Any, b: Any) -> bool:
    """Equality in which NaN equals NaN: a NaN once written must not look like a hand edit forever."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@dataclass
class Change:
    name: str
    fields: list[str]
    kept: list[str] = field(default_factory=list)  # hand-edited fields that survived
    conflicts: list[str] = field(default_factory=list)  # changed by both; hand value kept


@dataclass
class Plan:
    entries: list  # the new model_list
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # generated names a hand-written entry already uses
    skipped_in: dict[str, str] = field(default_factory=dict)  # skipped name -> the other file that uses it
    preserved: list[Change] = field(default_factory=list)  # entries whose hand edits were kept
    hand_written: int = 0
    generated_before: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def generated_after(self) -> int:
        return sum(1 for e in self.entries if is_generated(e))

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def shrinking(self) -> list[str]:
        """Removed names that count for the shrink guard (not those a hand-written name took over)."""
        return [n for n in self.removed if n not in self.skipped]

    def remove_fraction(self) -> float:
        """How much smaller the generated set gets (net of the models added): churn is not shrinkage."""
        loss = len(self.shrinking) - len(self.added)
        return max(loss, 0) / self.generated_before if self.generated_before else 0.0


def plan_merge(existing: ExistingConfig, compiled: list[dict], base: dict[str, dict] | None,
               reserved: dict[str, str] | None = None) -> Plan:
    """Merge freshly compiled entries into the existing model_list. ``base``: last generated state or None.

    ``reserved``: model names already used in *other* files LiteLLM reads (name -> file); like the
    hand-written names of this file, they win and the generated entry is skipped.
    """
    hand = existing.hand_written
    hand_names = {e.get("model_name") for e in hand if isinstance(e, dict)}
    reserved = {n: f for n, f in (reserved or {}).items() if n not in hand_names}
    current: dict[str, dict] = {}
    duplicates: list[str] = []
    for entry in existing.generated:
        name = entry.get("model_name")
        if not isinstance(name, str) or name in current:
            duplicates.append(repr(name))
            continue
        current[name] = entry
    plan = Plan(entries=[], hand_written=len(hand), generated_before=len(existing.generated))
    if duplicates:
        plan.notes.append(f"{len(duplicates)} duplicate generated entr{'y' if len(duplicates) == 1 else 'ies'} "
                          f"dropped ({', '.join(sorted(duplicates)[:3])}); remove the 'generated_by' marker "
                          "from an entry to keep it as your own")
    if base is None and current:
        plan.notes.append("no usable last-sync state: generated entries are replaced as compiled "
                          "(hand edits on them since the last sync are not kept)")
    generated: list[dict] = []
    new_names: set[str] = set()
    for entry in compiled:
        name = entry["model_name"]
        if name in hand_names or name in reserved:
            plan.skipped.append(name)
            if name in reserved:
                plan.skipped_in[name] = reserved[name]
            continue
        new_names.add(name)
        old = current.get(name)
        if old is None:
            plan.added.append(name)
            generated.append(copy.deepcopy(entry))
            continue
        kept: list[str] = []
        conflicts: list[str] = []
        previous = base.get(name, old) if base is not None else old
        merged = merge3(previous, old, entry, "", kept, conflicts)
        merged = _with_marker(merged, entry)
        fields = changed_fields(old, merged)
        if fields:
            plan.changed.append(Change(name, fields, kept, conflicts))
        if kept or conflicts:
            plan.preserved.append(Change(name, [], kept, conflicts))
        generated.append(merged)
    plan.removed = sorted(n for n in current if n not in new_names)
    plan.entries = list(hand) + sorted(generated, key=lambda e: e["model_name"])
    return plan


def _with_marker(merged: Any, entry: dict) -> dict:
    """A merged entry always stays generated and points at its catalog id, whatever was edited."""
    if not isinstance(merged, dict):
        merged = copy.deepcopy(entry)
    merged = dict(merged)
    merged["model_name"] = entry["model_name"]
    info = merged.get("model_info")
    info = dict(info) if isinstance(info, dict) else {}
    info[MARKER_KEY] = GENERATED_BY
    info[SOURCE_ID_KEY] = entry["model_info"][SOURCE_ID_KEY]
    merged["model_info"] = info
    return merged


def check_shrink(plan: Plan, max_fraction: float, force: bool) -> str | None:
    """A refusal message when the new set would remove too many generated models (None: fine)."""
    fraction = plan.remove_fraction()
    if force or fraction <= max_fraction:
        return None
    after = plan.generated_before - len(plan.shrinking) + len(plan.added)
    return (f"refusing to remove {len(plan.shrinking)} of {plan.generated_before} generated models for "
            f"{len(plan.added)} new ones ({plan.generated_before} -> {after}, {fraction:.0%} fewer > "
            f"{max_fraction:.0%}); the upstream answer may be truncated or degraded. Use --force to accept, "
            f"or raise --max-remove-fraction")


# --------------------------------------------------------------------------- render


def new_document(existing: ExistingConfig, entries: list) -> dict:
    document = dict(existing.document)
    document["model_list"] = entries  # replaces in place: the key keeps its position
    return document


def render(existing: ExistingConfig, entries: list) -> bytes:
    """The new config text. Only the ``model_list`` block is re-emitted when the rest can be kept verbatim.

    The spliced text is parsed back and compared with the intended document; if anything differs (flow
    style, anchors shared with other keys, unusual layout) the whole document is dumped instead, which
    keeps every value and the key order but not comments. Comments are the operator's: when the new text
    would not hold every comment of the old one, nothing is written (:class:`CommentsWouldBeLost`).
    """
    document = new_document(existing, entries)
    if not existing.raw:
        return dump_yaml(document).encode("utf-8")
    from .splice import splice

    spliced = splice(existing.raw, existing.model_list, entries, is_generated)
    if spliced is not None and loads_as(spliced, document):
        _check_comments(existing, spliced, entries, spliced=True)
        return spliced
    dumped = dump_yaml(document).encode("utf-8")
    _check_comments(existing, dumped, entries, spliced=False)
    return dumped


class CommentsWouldBeLost(RinsyncError):
    """The rewrite would drop a comment of the operator's file: nothing is written (exit 1)."""


def _check_comments(existing: ExistingConfig, new: bytes, entries: list, spliced: bool) -> None:
    from ..untrusted import escape
    from .comments import lost_comments

    old_text = existing.raw.decode("utf-8", "replace").lstrip("\ufeff")
    lost = lost_comments(old_text, new.decode("utf-8", "replace").lstrip("\ufeff"))
    if not lost:
        return
    from ..dsl.rules import display_path
    from .splice import layout_problem

    first = lost[0]
    shown = display_path(existing.path) if existing.path is not None else "the config"
    count = f"{len(lost)} comment{'s' if len(lost) > 1 else ''}"
    entry = _entry_holding(existing, first.index) if spliced else None
    if entry is not None:
        name = escape(str(entry.get("model_name")), 80)
        names = {e.get("model_name") for e in entries if isinstance(e, dict)}
        fate = "rewrites" if entry.get("model_name") in names else "removes"
        why = f"it is inside generated entry '{name}', which this sync {fate}"
        how = ("move it above model_list or onto a hand-written entry, or delete 'generated_by: rinsync' "
               "from that entry to make it yours")
    else:
        why = f"rinsync must rewrite the whole file because {layout_problem(existing.raw)}"
        how = ("write the top level and model_list in block style (key: value, - item) with anchors used "
               "elsewhere kept out of model_list, or use --include-file so rinsync never rewrites this file")
    raise CommentsWouldBeLost(f"{shown}: this sync would drop {count} (line {first.line}: "
                              f"'{escape(first.text.strip(), 60)}'): {why}; nothing written. To keep them: {how}",
                              exitcodes.ERROR)


def _entry_holding(existing: ExistingConfig, index: int) -> dict | None:
    """The generated entry of the old model_list whose text holds ``index``, if any."""
    from .splice import item_spans

    for item, (start, end) in zip(existing.model_list, item_spans(existing.raw), strict=False):
        if start <= index < end and isinstance(item, dict) and is_generated(item):
            return item
    return None


def loads_as(data: bytes | str, document: dict) -> bool:
    """``data`` parses back to exactly ``document``, top-level key order included."""
    try:
        loaded = yaml.load(data, Loader=_Loader)  # noqa: S506
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and list(loaded) == list(document) and loaded == document
