"""One sync: get the catalog, compile it, merge into the config, guard, validate, back up, write.

Nothing here prints; :func:`run_sync` returns the lines to show and raises :class:`RinsyncError`
with a documented exit code. Every path out of this module leaves the config either untouched or
replaced in one rename.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import exitcodes
from .diagnostics import RinsyncError
from .report import collect as report_hook  # issue 19: no-op hooks unless a report is being collected
from .source.fetch import CACHE_DIR_NAME, Redactor

log = logging.getLogger("rinsync.sync")

DEFAULT_CONFIG = Path("config/litellm/config.yaml")
VALIDATE_TIMEOUT = 300


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


@dataclass
class SyncReport:
    lines: list[str] = field(default_factory=list)  # summary and per-model lines
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    text: str | None = None  # standalone "-o -": the YAML to print
    exit_code: int = exitcodes.OK


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


def _kept(options: SyncOptions) -> str:
    if options.output is not None:
        return "nothing written" if options.output == "-" else f"kept {_shown(options.output)} unchanged"
    if options.include_file is not None:
        from .litellm.include import include_target

        target = include_target(options.config, options.include_file)
        return f"kept {_shown(options.config)} and {_shown(target)} unchanged"
    return f"kept {_shown(options.config)} unchanged"


@dataclass
class _Source:
    catalog: object  # rinsync.source.catalog.Catalog
    fetched: object | None = None  # rinsync.source.fetch.Fetched, when it came from the network
    cache: object | None = None
    label: str = ""


def _get_catalog(ruleset, options: SyncOptions, redactor: Redactor) -> _Source:
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
            raise SyncFailed(f"no cached catalog in {where}{why}; {_kept(options)}", exitcodes.TEMPFAIL)
        payload, meta = cached
        try:
            catalog = parse_catalog(payload, f"cached catalog {_shown(cache.payload_path)}")
        except CatalogError as exc:
            raise SyncFailed(f"{redactor(exc.message)}; {_kept(options)}", exitcodes.TEMPFAIL) from None
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
        raise SyncFailed(f"fetch failed: {redactor(exc.message)}; {_kept(options)}", exitcodes.TEMPFAIL) from None
    if fetched.not_modified:
        log.info("catalog not modified since the cached copy (HTTP 304)")
    label = fetched.url + (" (not modified, cached copy)" if fetched.not_modified else "")
    return _Source(catalog, fetched, cache, label)


def run_sync(ruleset, options: SyncOptions, redactor: Redactor | None = None,
             report: SyncReport | None = None) -> SyncReport:
    """Run one sync. ``report`` (lines, warnings) is filled in as it goes, also when an error is raised."""
    redactor = redactor or Redactor()
    report = report if report is not None else SyncReport()
    token = _openwebui_token(options, redactor) if options.openwebui_url else None
    source, engine, result = _compile(ruleset, options, redactor, report)
    records = source.catalog.records
    webui_records = openwebui_records(engine, result, options, report) if token is not None else None
    if options.output is not None:
        _standalone(result.entries, records, options, report)
        if not options.dry_run:
            _store_cache(source, redactor, report)
    else:
        # the cache is updated under the config's lock, after the config: never by a refused sync
        merge = _merge_include if options.include_file is not None else _merge
        merge(result.entries, options, report, redactor, on_success=lambda: _store_cache(source, redactor, report))
    if token is not None:
        sync_openwebui(webui_records, options, token, redactor, report, after_config=True)
    _redact(report, redactor)
    return report


def _compile(ruleset, options: SyncOptions, redactor: Redactor, report: SyncReport):
    """The catalog (fetched, cached or read) compiled by the rules: (source, engine, result); the catalog's and
    the compile's warnings go to the report."""
    from .engine import Engine, compile_date

    source = _get_catalog(ruleset, options, redactor)
    report.warnings += [redactor(w) for w in source.catalog.warnings]
    engine = Engine(ruleset, compile_date())
    result = engine.compile(source.catalog.records)
    report.warnings += [redactor(w) for w in result.warnings]
    report_hook.compiled(source, engine, result, redactor)  # issue 19: the change report's catalog and decisions
    return source, engine, result


def _redact(report: SyncReport, redactor: Redactor) -> None:
    report.lines = [redactor(line) for line in report.lines]
    report.warnings = [redactor(w) for w in report.warnings]


def _openwebui_token(options: SyncOptions, redactor: Redactor) -> str:
    """The Open WebUI token from ``--key-env`` (environment or .env), checked before anything is written."""
    from .source.fetch import resolve_api_key

    token, _ = resolve_api_key(options.openwebui_key_env, options.env_file)
    if not token:
        raise RinsyncError(f"{options.openwebui_key_env} is not set: Open WebUI needs an admin's API key or token "
                           f"(Settings > Account > API keys); nothing written", exitcodes.USAGE)
    redactor.add(token)
    return token


def _litellm_hand_names(options: SyncOptions) -> set[str]:
    """Model names that hand-written LiteLLM entries serve (config.yaml's own and other included files'):
    they win over generated entries of the same name, so Open WebUI gets no generated record for them."""
    from .litellm.configfile import read_config
    from .litellm.include import include_target, scan_includes

    if options.output is not None:
        return set()
    config = Path(options.config)
    existing = read_config(config)
    names = {e["model_name"] for e in existing.hand_written
             if isinstance(e, dict) and isinstance(e.get("model_name"), str)}
    target = include_target(config, options.include_file) if options.include_file is not None else None
    with contextlib.suppress(RinsyncError):
        names |= set(scan_includes(config, existing.document, target).names)
    return names


def openwebui_records(engine, result, options: SyncOptions, report: SyncReport) -> list[dict]:
    """The Open WebUI records of a compile (a failing ``openwebui:`` expression raises here, before any write)."""
    from .openwebui.records import build_records

    if not engine.ruleset.openwebui:
        report.warnings.append("the rules have no openwebui: section; Open WebUI records get only a name")
    return build_records(engine, result.decisions, _litellm_hand_names(options))


def sync_openwebui(records: list[dict], options: SyncOptions, token: str, redactor: Redactor, report: SyncReport,
                   after_config: bool = False) -> None:
    """The Open WebUI step of a sync: the records written through Open WebUI's API. With ``after_config`` (in
    compile, after the LiteLLM config was written) every failure is exit 6, whose message says the config was
    written: exit 3 and 75 promise an unchanged config."""
    from .openwebui.state import default_state_path
    from .openwebui.target import Settings, sync_records

    settings = Settings(url=options.openwebui_url, token=token,
                        state=options.openwebui_state or default_state_path(
                            Path(options.output) if options.output not in (None, "-") else options.config),
                        dry_run=options.dry_run, force=options.force,
                        max_remove_fraction=options.max_remove_fraction, lock_timeout=options.lock_timeout,
                        detailed=options.verbose, key_env=options.openwebui_key_env)
    try:
        sync_records(records, settings, redactor, report.lines, report.warnings)
    except RinsyncError as exc:
        if not after_config or exc.exit_code == exitcodes.OPENWEBUI_FAILED or options.dry_run:
            raise
        raise RinsyncError(f"Open WebUI not synced: {exc.message} (the LiteLLM config was written)",
                           exitcodes.OPENWEBUI_FAILED) from None


def run_openwebui_sync(ruleset, options: SyncOptions, redactor: Redactor | None = None,
                       report: SyncReport | None = None) -> SyncReport:
    """``rinsync openwebui sync``: the catalog as compile gets it, compiled, written to Open WebUI only."""
    redactor = redactor or Redactor()
    report = report if report is not None else SyncReport()
    token = _openwebui_token(options, redactor)
    _, engine, result = _compile(ruleset, options, redactor, report)
    try:
        sync_openwebui(openwebui_records(engine, result, options, report), options, token, redactor, report)
    finally:
        _redact(report, redactor)
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


def _standalone(entries: list[dict], records: list[dict], options: SyncOptions, report: SyncReport) -> None:
    from .files.atomic import write_atomic
    from .output import render_config

    text = render_config(entries)
    dropped = len(records) - len(entries)
    summary = (f"compiled {len(entries)} models from {len(records)} catalog records ({dropped} dropped) "
               f"-> {options.output}")
    if options.dry_run:
        report.lines.append(f"dry run: {summary} (nothing written)")
        return
    if options.output == "-":
        report.text = text
    else:
        write_atomic(Path(options.output), text.encode("utf-8"), follow_link=True)  # the operator's path
        report.written = True
        report_hook.written()  # issue 19
    report.lines.append(summary)


def _merge(entries: list[dict], options: SyncOptions, report: SyncReport, redactor: Redactor,
           on_success=lambda: None) -> None:
    from .litellm.configfile import read_config, render
    from .litellm.state import load_base, state_bytes

    config = Path(options.config)
    with _locked(options, config):
        existing = read_config(config)
        scan = _scan_for_normal_mode(config, existing)
        report.warnings += scan.warnings
        plan = _plan(existing, entries, load_base(config, existing.raw, existing.generated), scan.names, report)
        summary = _summary(plan, config)
        if _report_and_gate(report, plan, options, summary):
            return
        # rendered only when it can differ: an unchanged plan never rewrites the file
        data = render(existing, plan.entries) if existing.raw is None or plan.has_changes else existing.raw
        if data == existing.raw:
            _write_state_if_changed(config, entries, existing.raw)
            on_success()
            report.lines.append(f"{summary}; no changes, file left as it was")
            return
        snapshot = _replace([_Replacement(config, data, existing.raw,
                                          state=lambda: state_bytes(config, entries, data, existing.raw),
                                          validate=True)], options, redactor, report)
        report.written = True
        report.lines.append(summary)
        _apply(options, snapshot, report)
        on_success()


@dataclass
class _Replacement:
    path: Path
    data: bytes
    old: bytes | None  # None: a new file (nothing to back up)
    state: object = None  # callable -> the merge state to write just before this file, or None
    validate: bool = False  # run --validate-cmd on the new content


def _replace(files: list[_Replacement], options: SyncOptions, redactor: Redactor, report: SyncReport):
    """Replace each file in order: every new content is written to a temporary file and validated first,
    so a failed check replaces nothing; then per file: backup, state, rename. With an applier, it checks
    the proxy first, and the files are recorded before (returns that Snapshot, else None)."""
    from .files.atomic import PendingFile, write_atomic
    from .files.backups import Backup
    from .files.safeopen import refuse_links
    from .files.snapshot import Snapshot
    from .litellm.state import state_path

    refuse_links(*[p for f in files for p in (f.path.with_name(f.path.name + ".backup"), state_path(f.path))])
    snapshot = None
    with contextlib.ExitStack() as stack:
        # only the operator's config is written through a symlink (one they made); rinsync's own files never
        pending = [stack.enter_context(PendingFile(f.path, f.data, follow_link=f.path == Path(options.config)))
                   for f in files]
        if options.validate_cmd:
            for item, new in zip(files, pending, strict=True):
                if item.validate:
                    _validate(options.validate_cmd, new.path, options, redactor, report)
        if options.applier is not None:
            options.applier.check()
            snapshot = Snapshot([p for f in files for p in ([state_path(f.path)] if f.state else []) + [f.path]],
                                follow=[Path(options.config)])
        for item, new in zip(files, pending, strict=True):
            backup = Backup(item.path, item.old, options.backups) if item.old is not None else None
            try:
                if backup is not None:
                    backup.take()
                if item.state is not None:
                    write_atomic(state_path(item.path), item.state(), mode=0o600)
                new.commit()
            except BaseException:
                if backup is not None:
                    backup.rollback()
                raise
            if backup is not None:
                backup.prune()
    return snapshot


def _apply(options: SyncOptions, snapshot, report: SyncReport) -> None:
    """The written files go live: the applier reloads the proxy and confirms, or restores them (exit 5)."""
    report_hook.written()  # issue 19
    if options.applier is None:
        return
    from .apply import Change, apply_change

    report_hook.applying()  # issue 19
    apply_change(options.applier, Change(Path(options.config), snapshot), report.lines)
    report_hook.confirmed()  # issue 19


@contextlib.contextmanager
def _locked(options: SyncOptions, *paths: Path):
    """Hold the lock of every path and remove the temporary files a killed run left. The locks are taken in
    one global order: two runs can never each hold one and wait for the other. A dry run takes no lock."""
    from .files.lock import ConfigLock, lock_path

    with contextlib.ExitStack() as stack:
        if not options.dry_run:
            by_lock = {lock_path(path): path for path in paths}
            for key in sorted(by_lock):
                stack.enter_context(ConfigLock(by_lock[key], options.lock_timeout))
            for path in paths:
                _remove_stale_tmp(path)
        yield


def _remove_stale_tmp(path: Path) -> None:
    """Temporary files a killed run left: of the file itself, of its state and of its backups."""
    from .files.atomic import _target, remove_stale_tmp
    from .files.backups import backup_tmp_glob
    from .litellm.state import state_path

    remove_stale_tmp(path)
    remove_stale_tmp(state_path(path))
    target = _target(path)
    for stray in target.parent.glob(backup_tmp_glob(target)):
        with contextlib.suppress(OSError):
            stray.unlink()


def _plan(current, entries: list[dict], base, reserved: dict[str, str], report: SyncReport):
    """The merge plan of ``entries`` into ``current`` against ``base`` (litellm.state.Base); notes to warnings."""
    from .litellm.configfile import plan_merge

    if base.note and base.warn:
        report.warnings.append(f"merge base: {base.note}")
    elif base.note and current.generated:
        log.info("merge base: %s", base.note)
    plan = plan_merge(current, entries, base.entries, reserved)
    report_hook.planned(current, plan)  # issue 19: the change report's old and new generated entries
    said = base.warn and "two-way" in (base.note or "")  # the merge-base warning already says what follows
    report.warnings += [n for n in plan.notes if not (said and n.startswith("no usable last-sync state"))]
    return plan


def _scan_for_normal_mode(config: Path, existing):
    """Names used by files config.yaml includes win; an included rinsync file means include mode."""
    from .litellm.include import scan_includes

    scan = scan_includes(config, existing.document)
    if scan.generated:
        where, count = next(iter(scan.generated.items()))
        raise RinsyncError(f"{_shown(config)} includes {where}, which holds {count} rinsync-generated entries: "
                           f"sync it with --include-file (a sync into {_shown(config)} would serve those models "
                           f"twice), or remove it from include:; nothing written", exitcodes.ERROR)
    return scan


def _merge_include(entries: list[dict], options: SyncOptions, report: SyncReport, redactor: Redactor,
                   on_success=lambda: None) -> None:
    """Include mode: the generated entries go to their own file; config.yaml only gains an ``include:`` line.

    The include file gets everything the normal mode gives config.yaml (three-way merge, state, backups,
    shrink guard, --validate-cmd). config.yaml is written only when it does not list the include file yet
    (one line added as text) or with --migrate (its generated entries move to the include file). The include
    file is replaced first: a run killed in between never leaves config.yaml naming a missing file.
    """
    from .litellm.configfile import ExistingConfig, read_config, render
    from .litellm.include import (
        HEADER,
        IncludeEditError,
        absolute,
        add_include,
        hint_line,
        include_target,
        same_file,
        scan_includes,
    )
    from .litellm.state import load_base, state_bytes
    from .output import render_config

    config = Path(options.config)
    target = include_target(config, options.include_file)
    if same_file(target, absolute(config)):
        raise RinsyncError(f"--include-file names the config itself ({_shown(config)})", exitcodes.USAGE)
    if not options.dry_run:
        from .files.safeopen import refuse_links

        refuse_links(target)  # rinsync's own file: a link planted there is neither read nor written
    with _locked(options, config, target):
        cfg = read_config(config)
        scan = scan_includes(config, cfg.document, target)
        report.warnings += scan.warnings
        moving = cfg.generated
        if moving and not options.migrate:
            raise RinsyncError(
                f"{_shown(config)} still holds {len(moving)} entries generated by a sync without --include-file; "
                f"run once with --migrate to move them to {_shown(target)} (rewrites the model_list block of "
                f"{_shown(config)} once, with a backup), or delete them; nothing written", exitcodes.ERROR)
        inc = read_config(target)
        reserved = dict(scan.names)
        reserved.update({e["model_name"]: _shown(config) for e in cfg.hand_written
                         if isinstance(e, dict) and isinstance(e.get("model_name"), str)})
        if moving and not inc.generated:
            # migration: config.yaml's generated entries (hand edits included) are the include file's current ones
            current = ExistingConfig(target, inc.raw, inc.document, inc.model_list + moving)
            base = load_base(config, cfg.raw, cfg.generated)
        else:
            current = inc
            base = load_base(target, inc.raw, inc.generated)
            if moving:
                report.warnings.append(f"{_shown(target)} already holds generated entries: the {len(moving)} "
                                       f"generated entries of {_shown(config)} are dropped, not merged")
        plan = _plan(current, entries, base, reserved, report)
        config_data = render(cfg, cfg.hand_written) if moving else cfg.raw
        entry = options.include_file
        if not scan.lists_target:
            try:
                config_data = add_include(config_data, entry)
            except IncludeEditError as exc:
                raise RinsyncError(f"{_shown(config)}: cannot add {entry} to its include: list safely ({exc}); "
                                   f"add {hint_line(entry)} yourself, then sync again; nothing written",
                                   exitcodes.ERROR) from None
        config_note = _config_note(config, cfg.raw is None, not scan.lists_target, len(moving), entry,
                                   options.dry_run)
        summary = _summary(plan, target)
        if _report_and_gate(report, plan, options, summary, f"; {config_note}"):
            return
        # rendered only when it can differ: an unchanged plan (and no migration) never rewrites the file
        if inc.raw is None or plan.has_changes or current is not inc:
            data = render(inc, plan.entries) if inc.raw else render_config(plan.entries, HEADER).encode("utf-8")
        else:
            data = inc.raw
        needs_target = data != inc.raw
        needs_config = config_data != cfg.raw
        if not needs_target:
            _write_state_if_changed(target, entries, inc.raw)
        if not needs_target and not needs_config:
            on_success()
            report.lines.append(f"{summary}; no changes, files left as they were")
            return
        files = []
        if needs_target:
            files.append(_Replacement(target, data, inc.raw,
                                      state=lambda: state_bytes(target, entries, data, inc.raw), validate=True))
        if needs_config:
            files.append(_Replacement(config, config_data, cfg.raw))
        snapshot = _replace(files, options, redactor, report)
        report.written = True
        report.lines.append(summary if needs_target else f"{summary}; file left as it was")
        report.lines.append(config_note)
        _apply(options, snapshot, report)
        on_success()


def _config_note(config: Path, created: bool, adds_include: bool, moved: int, entry: str, dry: bool) -> str:
    shown = _shown(config)
    would = "would " if dry else ""
    if created:
        return f"{would}{'create' if dry else 'created'} {shown} holding only 'include: [{entry}]'"
    if moved:
        return (f"{shown}: {would}{'move' if dry else 'moved'} {moved} generated entries out of its model_list "
                f"block" + (f" and {'add' if dry else 'added'} {entry} to include:" if adds_include else ""))
    if adds_include:
        return f"{shown}: {would}{'add' if dry else 'added'} {entry} to include:, nothing else changed"
    return f"{shown} already includes {entry}; {'would be ' if dry else ''}left as it was"


def _write_state_if_changed(config: Path, entries: list[dict], config_bytes: bytes) -> None:
    """After a sync that leaves ``config`` as it is: its state holds this generation (no write if it already does)."""
    from .files.atomic import write_atomic
    from .litellm.state import state_bytes, state_path

    path = state_path(config)
    data = state_bytes(config, entries, config_bytes, None)
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    write_atomic(path, data, mode=0o600)


def _report_and_gate(report: SyncReport, plan, options: SyncOptions, summary: str, dry_note: str = "") -> bool:
    """Report the plan; refuse on the shrink guard (exit 3); True when this is a dry run and must stop."""
    from .litellm.configfile import check_shrink

    report.lines += _plan_lines(plan, options.verbose or options.dry_run)
    refusal = check_shrink(plan, options.max_remove_fraction, options.force)
    if refusal:
        report.lines.append(summary)
        raise RinsyncError(f"{refusal}; {_kept(options)}", exitcodes.SHRINK_REFUSED)
    if options.dry_run:
        report.lines.append(f"dry run: {summary}{dry_note} (nothing written)")
        return True
    return False


def _summary(plan, config: Path) -> str:
    parts = [f"+{len(plan.added)} added", f"-{len(plan.removed)} removed", f"~{len(plan.changed)} changed"]
    if plan.skipped:
        parts.append(f"{len(plan.skipped)} skipped (hand-written name wins)")
    parts.append(f"kept {plan.hand_written} hand-written entr{'y' if plan.hand_written == 1 else 'ies'}")
    return f"{plan.generated_after} generated models: {', '.join(parts)} -> {_shown(config)}"


def _plan_lines(plan, detailed: bool) -> list[str]:
    lines: list[str] = []
    if detailed:
        lines += [f"  + {name}" for name in plan.added]
        lines += [f"  - {name}" for name in plan.removed]
        lines += [f"  ~ {c.name}: {', '.join(c.fields)}" for c in plan.changed]
    lines += [f"  ! {name}: skipped, a hand-written entry already uses this model_name"
              + (f" in {plan.skipped_in[name]}" if name in plan.skipped_in else "") for name in plan.skipped]
    if detailed:
        for change in plan.preserved:
            what = []
            if change.kept:
                what.append(f"kept hand edits {', '.join(change.kept)}")
            if change.conflicts:
                what.append(f"kept hand value over a new generated value for {', '.join(change.conflicts)}")
            lines.append(f"  = {change.name}: {'; '.join(what)}")
    return lines


def _validate(command: str, path: Path, options: SyncOptions, redactor: Redactor, report: SyncReport) -> None:
    """Run the operator's check on the new file before it replaces the old one (Ansible's ``validate:``)."""
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise RinsyncError(f"--validate-cmd: {exc}", exitcodes.USAGE) from None
    if not argv:
        raise RinsyncError("--validate-cmd is empty", exitcodes.USAGE)
    if any("%s" in arg for arg in argv):
        argv = [arg.replace("%s", str(path)) for arg in argv]
    else:
        argv.append(str(path))
    env = dict(os.environ, RINSYNC_NEW_CONFIG=str(path))
    shown = redactor(command)
    try:
        done = subprocess.run(argv, capture_output=True, timeout=VALIDATE_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RinsyncError(f"--validate-cmd: command not found: {redactor(argv[0])}; {_kept(options)}",
                           exitcodes.VALIDATE_FAILED) from None
    except subprocess.TimeoutExpired:
        raise RinsyncError(f"--validate-cmd timed out after {VALIDATE_TIMEOUT}s ({shown}); {_kept(options)}",
                           exitcodes.VALIDATE_FAILED) from None
    except OSError as exc:
        raise RinsyncError(f"--validate-cmd could not run ({exc.strerror or type(exc).__name__}); {_kept(options)}",
                           exitcodes.VALIDATE_FAILED) from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout or b"").decode("utf-8", "replace").strip().splitlines()[-5:]
        report.warnings += [f"validate: {redactor(line)}" for line in output]
        raise RinsyncError(f"the new config failed --validate-cmd ({shown}: exit {done.returncode}); "
                           f"{_kept(options)}", exitcodes.VALIDATE_FAILED)
    log.info("validate: %s passed", shown)
