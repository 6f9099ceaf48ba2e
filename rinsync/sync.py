"""One sync: get the catalog, compile it, run the declared targets in order (rinsync.target).

Nothing here prints; :func:`run_sync` returns the lines to show and raises :class:`RinsyncError`
with a documented exit code. This module knows the order of the steps only: what a target writes and
how lives in its own target module (``litellm/target.py``, ``openwebui/target.py``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from . import exitcodes
from .diagnostics import RinsyncError
from .redact import Redactor
from .report import collect as report_hook
from .source.cache import CACHE_DIR_NAME
from .target import Compiled, SyncReport, run_targets

log = logging.getLogger("rinsync.sync")

DEFAULT_CONFIG = Path("config/litellm/config.yaml")

__all__ = ["DEFAULT_CONFIG", "SyncFailed", "SyncOptions", "SyncReport", "run_openwebui_sync", "run_sync"]


class SyncFailed(RinsyncError):
    """No usable catalog (fetch failed, bad response, no cache): the config is kept, exit 75."""


@dataclass
class SyncOptions:
    config: Path = DEFAULT_CONFIG
    output: str | None = None  # standalone file (or "-"): no merge
    catalog: str | None = None  # None: fetch; "cache": the cached catalog; else a file
    source_url: str | None = None
    env_file: Path | None = None
    dry_run: bool = False
    force: bool = False
    max_remove_fraction: float = 0.5
    validate_cmd: str | None = None
    backups: int = 5
    lock_timeout: float = 60.0
    verbose: bool = False
    cache_dir: Path | None = None
    include_file: str | None = None  # include mode: generated entries go here (relative to the config's dir)
    migrate: bool = False  # include mode: move generated entries out of the config
    applier: object | None = None  # rinsync.apply.Applier: make the running proxy take a written config
    openwebui_url: str | None = None  # also sync Open WebUI's model records (rinsync/openwebui/)
    openwebui_key_env: str = "OPENWEBUI_API_KEY"
    openwebui_state: Path | None = None  # default: .rinsync-state.openwebui.json beside the config
    openwebui_max_remove_fraction: float | None = None  # None: max_remove_fraction


def _shown(path: Path | str) -> str:
    from .dsl.rules import display_path

    return display_path(Path(path))


def cache_dir_for(options: SyncOptions) -> Path | None:
    if options.cache_dir:
        return options.cache_dir
    env = os.environ.get("RINSYNC_CACHE_DIR", "").strip()
    if env:
        return Path(env)
    if options.output is not None:
        return None if options.output == "-" else Path(options.output).parent / CACHE_DIR_NAME
    return Path(os.path.realpath(options.config)).parent / CACHE_DIR_NAME


def litellm_target(options: SyncOptions, redactor: Redactor):
    from .litellm.target import LiteLLMSettings, litellm_target

    return litellm_target(LiteLLMSettings(
        config=options.config, output=options.output, include_file=options.include_file, migrate=options.migrate,
        dry_run=options.dry_run, force=options.force, max_remove_fraction=options.max_remove_fraction,
        validate_cmd=options.validate_cmd, backups=options.backups, lock_timeout=options.lock_timeout,
        verbose=options.verbose, applier=options.applier), redactor)


def openwebui_target(options: SyncOptions, redactor: Redactor, kept: str):
    from .litellm.target import hand_names
    from .openwebui.target import OpenWebUITarget, Settings, default_state_path

    fraction = options.openwebui_max_remove_fraction
    settings = Settings(url=options.openwebui_url, token="",
                        state=options.openwebui_state or default_state_path(
                            Path(options.output) if options.output not in (None, "-") else options.config),
                        dry_run=options.dry_run, force=options.force,
                        max_remove_fraction=options.max_remove_fraction if fraction is None else fraction,
                        lock_timeout=options.lock_timeout, detailed=options.verbose,
                        key_env=options.openwebui_key_env)
    return OpenWebUITarget(settings, options.env_file, redactor,
                           lambda: hand_names(options.config, options.include_file, options.output), kept)


@dataclass
class _Source:
    catalog: object  # rinsync.source.catalog.Catalog
    fetched: object | None = None  # rinsync.source.fetch.Fetched, when it came from the network
    cache: object | None = None
    label: str = ""


def _get_catalog(ruleset, options: SyncOptions, redactor: Redactor, kept: str) -> _Source:
    from .source.catalog import CatalogError, load_catalog_file, parse_catalog
    from .source.fetch import (
        CatalogCache,
        FetchError,
        FetchSettings,
        fetch_catalog,
        refuse_echoed_secrets,
        resolve_api_key,
    )

    cache_dir = cache_dir_for(options)
    cache = CatalogCache(cache_dir) if cache_dir else None
    if options.catalog == "cache":
        cached = cache.load() if cache else None
        if cached is None:
            where = _shown(cache_dir) if cache_dir else "(no cache for --output -)"
            why = f" (the cache is {cache.problem}; the next successful fetch replaces it)" \
                if cache and cache.problem else " (a successful fetch creates it)"
            raise SyncFailed(f"no cached catalog in {where}{why}; {kept}", exitcodes.TEMPFAIL)
        payload, meta = cached
        try:
            catalog = parse_catalog(payload, f"cached catalog {_shown(cache.payload_path)}")
        except CatalogError as exc:
            raise SyncFailed(f"{redactor(exc.message)}; {kept}", exitcodes.TEMPFAIL) from None
        return _Source(catalog, label=f"cache ({meta.get('fetched_at', '?')})")
    if options.catalog is not None:
        catalog = load_catalog_file(options.catalog)
        return _Source(catalog, label=_shown(options.catalog))
    settings = FetchSettings.from_source(ruleset.source, options.source_url)
    api_key, key_from = resolve_api_key(settings.api_key_env, options.env_file)
    redactor.add(api_key)
    log.info("API key: %s", key_from if api_key else f"none ({settings.api_key_env} not set; the catalog is public)")
    try:
        fetched = fetch_catalog(settings, api_key, cache, redactor)
        refuse_echoed_secrets(fetched, redactor)
        catalog = parse_catalog(fetched.payload, fetched.url)
    except (FetchError, CatalogError) as exc:
        raise SyncFailed(f"fetch failed: {redactor(exc.message)}; {kept}", exitcodes.TEMPFAIL) from None
    if fetched.not_modified:
        log.info("catalog not modified since the cached copy (HTTP 304)")
    label = fetched.url + (" (not modified, cached copy)" if fetched.not_modified else "")
    return _Source(catalog, fetched, cache, label)


def run_sync(ruleset, options: SyncOptions, redactor: Redactor | None = None,
             report: SyncReport | None = None) -> SyncReport:
    """``rinsync compile`` / ``rinsync sync``: the LiteLLM target, then Open WebUI when a URL is set.
    ``report`` (lines, warnings) is filled in as it goes, also when an error is raised."""
    redactor = redactor or Redactor()
    litellm = litellm_target(options, redactor)
    targets = [litellm]
    if options.openwebui_url:
        targets.append(openwebui_target(options, redactor, litellm.kept()))
    return run(ruleset, options, targets, redactor, report)


def run_openwebui_sync(ruleset, options: SyncOptions, redactor: Redactor | None = None,
                       report: SyncReport | None = None) -> SyncReport:
    """``rinsync openwebui sync``: the catalog as compile gets it, compiled, written to Open WebUI only."""
    redactor = redactor or Redactor()
    kept = litellm_target(options, redactor).kept()
    return run(ruleset, options, [openwebui_target(options, redactor, kept)], redactor, report)


def run(ruleset, options: SyncOptions, targets: list, redactor: Redactor, report: SyncReport | None = None
        ) -> SyncReport:
    """Check every target, get the catalog, compile it, run the targets in order (rinsync.target)."""
    from .engine import Engine, compile_date

    report = report if report is not None else SyncReport()
    try:
        for target in targets:
            target.check()
        source = _get_catalog(ruleset, options, redactor, targets[0].kept())
        report.warnings += [redactor(w) for w in source.catalog.warnings]
        engine = Engine(ruleset, compile_date())
        result = engine.compile(source.catalog.records)
        report.warnings += [redactor(w) for w in result.warnings]
        report_hook.compiled(source, engine, result, redactor)  # the change report (rinsync/report/)
        run_targets(targets, Compiled(engine, result, source.catalog.records), report, options.dry_run,
                    lambda: _store_cache(source, redactor, report))
    finally:
        report.lines = [redactor(line) for line in report.lines]
        report.warnings = [redactor(w) for w in report.warnings]
    return report


def _store_cache(source: _Source, redactor: Redactor, report: SyncReport) -> None:
    fetched = source.fetched
    if fetched is None or source.cache is None or fetched.not_modified:
        return
    try:
        if not source.cache.store(fetched, redactor):
            report.warnings.append("the response contains the API key; it was not cached")
    except RinsyncError as exc:
        report.warnings.append(f"could not update the catalog cache: {exc.message}")
    except OSError as exc:
        report.warnings.append(f"could not update the catalog cache in {_shown(source.cache.directory)}: "
                               f"{exc.strerror or type(exc).__name__}")
