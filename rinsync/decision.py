"""What the rules decided about one catalog record: the engine's output, read by every target.

A :class:`Decision` carries the rules' evaluated values (:class:`Values`: the rendered name, the
capabilities and overrides merged into the defaults); a target builds its own records from them
(``rinsync.litellm.entries`` the model_list entries). This module imports no other part of the package
but the rules' types, so the engine, the selections and the targets can all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .dsl.rules import Override, Rule, Selection


@dataclass
class RuleMatch:
    rule: Rule
    excepted: bool  # an exception of this exclude rule fired


@dataclass
class SelectionTrace:
    """What one selection did with one model it applied to."""

    selection: Selection
    group: str
    rank: int  # 1-based place in its group
    kept: bool
    reason: str


@dataclass
class Values:
    """The rules' evaluated values for one kept model (no target's marker or layout yet)."""

    name: str  # the rendered name template
    litellm_params: dict[str, Any]  # defaults, then every matching override (merge patch), max_tokens clamped
    model_info: dict[str, Any]  # defaults, the capabilities, then every matching override

    def as_mapping(self) -> dict[str, Any]:
        """The values in the layout the safety checks and messages name (model_name, litellm_params, model_info)."""
        return {"model_name": self.name, "litellm_params": self.litellm_params, "model_info": self.model_info}


@dataclass
class Decision:
    """What the rules did with one catalog record."""

    record: dict
    kept: bool = True
    decided_by: Rule | None = None  # None: the default action decided
    matches: list[RuleMatch] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    values: Values | None = None  # set while the model is kept
    notes: list[str] = field(default_factory=list)
    dropped_reason: str | None = None
    selected_out_by: Selection | None = None  # the selection that dropped a model the rules kept
    selections: list[SelectionTrace] = field(default_factory=list)

    @property
    def model_id(self) -> str:
        return self.record["id"]

    @property
    def name(self) -> str | None:
        """The model's name while it is kept, else None."""
        return self.values.name if self.values is not None else None

    @property
    def entry(self) -> dict | None:
        """The LiteLLM model_list entry of a kept model, built by rinsync.litellm.entries (a fresh dict)."""
        if self.values is None:
            return None
        from .litellm.entries import build_entry

        return build_entry(self.model_id, self.values)

    def drop(self, reason: str) -> None:
        self.kept = False
        self.values = None
        self.dropped_reason = reason
