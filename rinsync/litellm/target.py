"""The LiteLLM target (rinsync.target.Target): the one module of litellm/ that rinsync.sync imports.

:func:`litellm_target` picks the mode: ``config_target.ConfigTarget`` (entries in config.yaml),
``include_target.IncludeTarget`` (entries in their own file config.yaml includes) or
``standalone.StandaloneTarget`` (``--output``: a file holding only the generated entries). Its plan
(``ConfigPlan``) gives, per generated model name, the entry before and after the sync.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..diagnostics import RinsyncError
from .config_target import DEFAULT_CONFIG, ConfigPlan, ConfigTarget, EntryChange, LiteLLMSettings, Written

__all__ = ["DEFAULT_CONFIG", "ConfigPlan", "ConfigTarget", "EntryChange", "LiteLLMSettings", "Written", "hand_names",
           "litellm_target"]


def hand_names(config: Path, include_file: str | None, output: str | None = None) -> set[str]:
    """Model names that hand-written LiteLLM entries serve (config.yaml's own and other included files'):
    they win over generated entries of the same name (Open WebUI gets no generated record for them)."""
    from .configfile import read_config
    from .include import include_target, scan_includes

    if output is not None:
        return set()
    config = Path(config)
    existing = read_config(config)
    names = {e["model_name"] for e in existing.hand_written
             if isinstance(e, dict) and isinstance(e.get("model_name"), str)}
    target = include_target(config, include_file) if include_file is not None else None
    with contextlib.suppress(RinsyncError):
        names |= set(scan_includes(config, existing.document, target).names)
    return names


def litellm_target(settings: LiteLLMSettings, redactor=None):
    """The LiteLLM target of these settings: standalone (--output), an S3 object (--config s3://…), include mode,
    or the config itself."""
    from .bucket import is_bucket_config

    if settings.output is None and is_bucket_config(settings.config):
        from .bucket import BucketTarget

        return BucketTarget(settings, redactor)
    if settings.output is not None:
        from .standalone import StandaloneTarget

        return StandaloneTarget(settings, redactor)
    if settings.include_file is not None:
        from .include_target import IncludeTarget

        return IncludeTarget(settings, redactor)
    return ConfigTarget(settings, redactor)
