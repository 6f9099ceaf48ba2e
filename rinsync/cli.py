"""Command line: click commands only; the work happens in the modules they call."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from . import __version__, exitcodes
from .options import FiniteFloat
from .report.cliopts import report_options, threshold_options  # issue 19 (imports only click)

# Only click at the top: `rinsync --help` start-up time is benchmarked (benchmarks/bench_compile.py);
# everything else, RinsyncError included, is imported where it is used.

FORMATS = ("text", "json", "github")


def default_rules_paths() -> list[Path]:
    """``./rules`` when it exists, else the rules shipped with rinsync."""
    local = Path("rules")
    if local.is_dir():
        return [local]
    from .resources import default_rules_dir

    return [default_rules_dir()]


def _rules_paths(paths: tuple[Path, ...]) -> list[Path]:
    return list(paths) or default_rules_paths()


def _load(rules: tuple[Path, ...]):
    from .dsl.rules import load_rules

    ruleset = load_rules(_rules_paths(rules))
    for finding in ruleset.warnings:
        click.echo(finding.text(), err=True)
    return ruleset


def _warn(lines: list[str]) -> None:
    from .untrusted import one_line

    for line in lines:
        click.echo(f"rinsync: warning: {one_line(line)}", err=True)


def _load_catalog(path: Path):
    from .source.catalog import load_catalog_file

    catalog = load_catalog_file(path)
    _warn(catalog.warnings)
    return catalog


rules_option = click.option("--rules", "rules", multiple=True, type=click.Path(exists=True, path_type=Path),
                            help="Rules file or directory (repeatable). Default: ./rules, else the shipped rules.")
catalog_option = click.option("--catalog", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                              help="Catalog file in the shape of GET /api/v1/models.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rinsync")
def cli() -> None:
    """Compile OpenRouter's model catalog into a LiteLLM proxy config, by declarative rules."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: FILE:LINE:COL lines; json; github: GitHub Actions annotations.")
@catalog_option
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="Lowest severity that makes the exit code 1.")
@click.option("--site", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="Also check this site file (default: ./rinsync.yaml when it exists).")
def lint(paths: tuple[Path, ...], fmt: str, catalog: Path | None, fail_on: str, site: Path | None) -> int:
    """Check rules files (default: rules/) and the site file (rinsync.yaml). Exit 0 clean, 1 on findings, 2 on
    usage errors."""
    from .commands.lint import lint as run_lint
    from .diagnostics import format_findings
    from .engine import compile_date
    from .site import check_site, find_site

    records = _load_catalog(catalog).records if catalog else None
    findings = run_lint(_rules_paths(paths), records, compile_date())
    site_path = find_site(site)
    if site_path is not None:
        findings = sorted(findings + check_site(site_path)[2])
    if findings or fmt == "json":
        click.echo(format_findings(findings, fmt))
    errors = sum(1 for f in findings if f.severity == "error")
    if fmt == "text":
        click.echo(f"{errors} error(s), {len(findings) - errors} warning(s)", err=True)
    failing = findings if fail_on == "warning" else [f for f in findings if f.severity == "error"]
    return exitcodes.ERROR if failing else exitcodes.OK


# compile's options; `rinsync sync` takes the same ones (they override the site file)
COMPILE_OPTIONS = [
    click.option("--catalog", metavar="FILE|cache",
                  help="Compile this catalog file (the shape of GET /api/v1/models), or 'cache': the last good "
                       "fetched catalog. Default: fetch the catalog URL from the rules' source settings."),
    rules_option,
    click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                  default="config/litellm/config.yaml", show_default=True,
                  help="LiteLLM config to merge the generated models into (created if missing)."),
    click.option("--output", "-o", metavar="PATH|-",
                  help="Write a standalone config with only the generated model_list instead of merging "
                       "('-' for standard output)."),
    click.option("--include-file", metavar="PATH",
                  help="Include mode: write the generated entries to PATH (relative to CONFIG's directory unless "
                       "absolute) and only add PATH to CONFIG's include: list when missing; CONFIG's other bytes "
                       "are never touched."),
    click.option("--migrate", is_flag=True,
                  help="With --include-file: move generated entries left in CONFIG by an earlier sync into the "
                       "include file (rewrites CONFIG's model_list block once, with a backup)."),
    click.option("--source-url", envvar="RINSYNC_SOURCE_URL", metavar="URL",
                  help="Fetch the catalog from this URL instead (mirrors, tests). Env: RINSYNC_SOURCE_URL."),
    click.option("--env-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Read the API key variable from this file when it is not in the environment "
                       "(default: ./.env if present)."),
    click.option("--dry-run", is_flag=True, help="Print the plan (added, removed, changed fields); write nothing."),
    click.option("--force", is_flag=True, help="Apply even when the shrink guard would refuse."),
    click.option("--max-remove-fraction", type=FiniteFloat(0, 1), default=0.5, show_default=True,
                  envvar="RINSYNC_MAX_REMOVE_FRACTION",
                  help="Refuse (exit 3) when more than this fraction of the generated models would be removed."),
    click.option("--validate-cmd", metavar="CMD", envvar="RINSYNC_VALIDATE_CMD",
                  help="Check the new file before it replaces the old one; '%s' is its path (else appended). "
                       "Non-zero exit: old config kept, exit 4."),
    click.option("--backups", type=click.IntRange(min=0), default=5, show_default=True,
                  help="Timestamped backups to keep besides CONFIG.backup."),
    click.option("--lock-timeout", type=FiniteFloat(min=0), default=60, show_default=True,
                  help="Seconds to wait for another sync of the same config (then exit 75)."),
    click.option("--reload-cmd", metavar="CMD", envvar="RINSYNC_RELOAD_CMD",
                  help="After a sync that replaced the config (or its include file), run 'sh -c CMD' to make LiteLLM "
                       "re-read it (e.g. 'kill -HUP <gunicorn master pid>'), then wait until --proxy serves it; if it "
                       "does not, the previous files are restored and reloaded (exit 5). Env: RINSYNC_RELOAD_CMD."),
    click.option("--proxy", "proxy_url", metavar="URL", envvar="RINSYNC_PROXY_URL", multiple=True,
                  help="The running proxy that must confirm a --reload-cmd, e.g. http://localhost:4000. Repeat it "
                       "(or give a comma- or space-separated list) for a fleet of replicas: each is confirmed on its "
                       "own address, canary first; {proxy} and {index} in --reload-cmd run it once per replica "
                       "(docs/fleet.md). Env: RINSYNC_PROXY_URL."),
    click.option("--fleet-batch", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
                  envvar="RINSYNC_FLEET_BATCH", expose_value=False,
                  callback=lambda ctx, _p, v: ctx.meta.update({"rinsync.fleet_batch": v}),
                  help="With several --proxy and a {proxy}/{index} --reload-cmd: after the canary, reload N "
                       "replicas at a time (each still confirmed on its own address). Env: RINSYNC_FLEET_BATCH."),
    click.option("--key-env", default="LITELLM_MASTER_KEY", show_default=True, metavar="NAME",
                  help="Environment variable holding the proxy's key for --proxy (never printed)."),
    click.option("--reload-timeout", type=FiniteFloat(min=1), default=60, show_default=True, metavar="SECONDS",
                  envvar="RINSYNC_RELOAD_TIMEOUT",
                  help="Seconds for the reload command plus the proxy's confirmation (and again for a rollback)."),
    click.option("--verbose", "-v", is_flag=True, help="Per-model lines and fetch progress."),
    click.option("--debug", is_flag=True, help="Also HTTP details (the API key is never shown)."),
    click.option("--openwebui", "openwebui_url", envvar="RINSYNC_OPENWEBUI_URL", metavar="URL",
                  help="After the config is written, also sync Open WebUI's model records at URL (rinsync openwebui "
                       "sync; token from --openwebui-key-env). Env: RINSYNC_OPENWEBUI_URL."),
    click.option("--openwebui-key-env", default="OPENWEBUI_API_KEY", show_default=True, metavar="NAME",
                  help="Environment variable (or .env entry) holding an Open WebUI admin's API key or token."),
]


def with_options(options):
    """Apply a list of click decorators, first one outermost (as if written above the function)."""
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


@cli.command(name="compile")
@with_options(COMPILE_OPTIONS)
@report_options("compile")  # --report, --notify, --metrics-file
def compile_command(catalog: str | None, rules: tuple[Path, ...], config: Path, output: str | None,
                    include_file: str | None, migrate: bool, source_url: str | None, env_file: Path | None,
                    dry_run: bool, force: bool,
                    max_remove_fraction: float, validate_cmd: str | None, backups: int, lock_timeout: float,
                    reload_cmd: str | None, proxy_url: tuple[str, ...], key_env: str, reload_timeout: float,
                    verbose: bool, debug: bool, openwebui_url: str | None = None,
                    openwebui_key_env: str = "OPENWEBUI_API_KEY") -> int:
    """Sync the catalog into the LiteLLM config: fetch, compile, merge, back up, write atomically.

    Hand-written entries and other top-level keys are kept; hand edits on generated entries survive.
    Exit 0 ok, 1 error, 2 usage, 3 shrink guard refused, 4 --validate-cmd failed, 5 the proxy did not serve
    the new config (--reload-cmd): previous config restored, 6 Open WebUI sync failed or partly applied (the
    config is written), 74 write failed, 75 catalog unavailable (fetch failed): the existing config is kept
    byte for byte.
    """
    return run_compile(dict(locals()))


def run_compile(p: dict, *, settings_lines: list[str] | None = None, openwebui_state: Path | None = None,
                openwebui_fraction: float | None = None, litellm: bool = True) -> int:
    """compile's work (and sync's, with the site file's settings resolved into ``p``)."""
    from .diagnostics import RinsyncError
    from .redact import Redactor
    from .sync import SyncOptions, SyncReport, run_openwebui_sync, run_sync

    catalog, output, include_file = p["catalog"], p["output"], p["include_file"]
    _check_catalog_option(catalog)
    if include_file is not None and output is not None:
        raise click.UsageError("--include-file and --output exclude each other")
    if include_file is not None and not include_file.strip():
        raise click.BadParameter("must name a file", param_hint="'--include-file'")
    if p["migrate"] and include_file is None:
        raise click.UsageError("--migrate needs --include-file")
    env_file = _default_env_file(p["env_file"])
    redactor = Redactor()
    applier = _reload_applier(p["reload_cmd"], p["proxy_url"], p["key_env"], p["reload_timeout"], output,
                              redactor) if litellm else None
    logging_state = _log_to_stderr(redactor, p["debug"], p["verbose"])
    options = SyncOptions(config=p["config"], output=output, catalog=catalog, source_url=p["source_url"],
                          env_file=env_file, dry_run=p["dry_run"], force=p["force"],
                          max_remove_fraction=p["max_remove_fraction"], validate_cmd=p["validate_cmd"],
                          backups=p["backups"], lock_timeout=p["lock_timeout"], verbose=p["verbose"] or p["debug"],
                          include_file=include_file, migrate=p["migrate"], applier=applier,
                          openwebui_url=p["openwebui_url"] or None, openwebui_key_env=p["openwebui_key_env"],
                          openwebui_state=openwebui_state, openwebui_max_remove_fraction=openwebui_fraction)
    if output is None and _is_bucket(p["config"]):  # --config s3://BUCKET/KEY (rinsync/litellm/bucket.py)
        if options.openwebui_url:
            raise click.UsageError("--openwebui works with a config file only, not --config s3://…")
        import os

        options.cache_dir = Path(os.environ.get("RINSYNC_CACHE_DIR", "").strip() or ".rinsync-cache")
    report = SyncReport(lines=list(settings_lines or []))
    try:
        with _reporting(report, redactor, p["dry_run"], logging_state):
            (run_sync if litellm else run_openwebui_sync)(_load(p["rules"]), options, redactor, report)
    except RinsyncError as exc:
        if exc.exit_code == exitcodes.TEMPFAIL and not exc.findings:
            from .report.collect import failed  # the change report's outcome.error
            from .untrusted import one_line

            failed(exc.message)
            click.echo(f"rinsync: {one_line(exc.message)}", err=True)
            return exitcodes.TEMPFAIL
        raise
    if report.text is not None:
        click.echo(report.text, nl=False)
    _flush_report(report, redactor, p["dry_run"])
    return report.exit_code


@cli.command(name="sync")
@click.option("--site", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The site file declaring the targets (default: ./rinsync.yaml).")
@with_options(COMPILE_OPTIONS)
@click.option("--openwebui-state", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Open WebUI state file. Default: .rinsync-state.openwebui.json beside the config.")
@report_options("sync")  # --report, --notify, --metrics-file
@click.pass_context
def sync_command(ctx: click.Context, site: Path | None, **params) -> int:
    """Sync every target the site file (rinsync.yaml) declares, in order: the LiteLLM config (reloaded and
    confirmed when it says how), then Open WebUI's records. Flags and RINSYNC_* variables override the file
    (flag > RINSYNC_* > site file > default); --dry-run also prints each setting and where it came from.
    Exit codes as compile's; 1 also for a site file error (FILE:LINE:COL, nothing written)."""
    from .commands.sync import sync_params
    from .diagnostics import RinsyncError
    from .site import SITE_FILE, find_site, load_site

    path = find_site(site)
    if path is None:
        raise RinsyncError(f"no site file: ./{SITE_FILE} not found (or pass --site FILE); the README's "
                           "'Site file' section has one to start from, or use rinsync compile with flags",
                           exitcodes.USAGE)
    if not path.is_file():
        raise click.BadParameter(f"'{path}' is not a file", param_hint="'--site'")
    given_from = {}  # a parameter not given holds its default (click fills it in)
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is click.core.ParameterSource.COMMANDLINE:
            given_from[param.name] = f"flag {param.opts[0]}"
        elif source is click.core.ParameterSource.ENVIRONMENT:
            given_from[param.name] = f"env {param.envvar}"
        else:
            given_from[param.name] = None
    resolved_params, extra, resolved, warnings = sync_params(load_site(path), params, given_from)
    _warn(warnings)
    lines = ([f"settings ({path}; flag > RINSYNC_* > site file > default):"] + resolved.lines()
             if params["dry_run"] else [])
    return run_compile(resolved_params, settings_lines=lines, **extra)


def _is_bucket(config) -> bool:
    from .litellm.bucket import is_bucket_config

    return is_bucket_config(config)


def _reload_applier(reload_cmd: str | None, proxy_url: tuple[str, ...] | str | None, key_env: str, timeout: float,
                    output: str | None, redactor):
    """The applier for --reload-cmd (None without one: an empty RINSYNC_RELOAD_CMD means no reload): one
    proxy's ReloadApplier, or a FleetApplier for several --proxy (or a {proxy}/{index} command)."""
    import os

    if not reload_cmd or not reload_cmd.strip():
        return None
    from .litellm.fleet import per_replica, split_proxies

    if output is not None:
        raise click.UsageError("--reload-cmd applies a merged --config; it does not work with --output")
    try:
        proxies = split_proxies(proxy_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--proxy'") from None
    if not proxies:
        raise click.UsageError("--reload-cmd needs --proxy URL (or RINSYNC_PROXY_URL): the proxy that must confirm "
                               "the new config")
    key = os.environ.get(key_env) or None
    redactor.add(key)
    if len(proxies) == 1 and not per_replica(reload_cmd):
        from .litellm.reload import ReloadApplier

        return ReloadApplier(reload_cmd, proxies[0], key, key_env, timeout, redactor)
    from .litellm.fleet import FleetApplier

    batch = click.get_current_context().meta.get("rinsync.fleet_batch", 1)
    return FleetApplier(reload_cmd, proxies, key, key_env, timeout, redactor, batch=batch)


@cli.group()
def openwebui() -> None:
    """Open WebUI: model records (capabilities, description, tags, shown or hidden) from the same rules."""


@openwebui.command(name="sync")
@click.option("--url", required=True, envvar="RINSYNC_OPENWEBUI_URL", metavar="URL",
              help="Open WebUI's base URL, e.g. http://localhost:3000. Env: RINSYNC_OPENWEBUI_URL.")
@click.option("--key-env", default="OPENWEBUI_API_KEY", show_default=True, metavar="NAME",
              help="Environment variable (or .env entry) holding an admin's API key or token (never printed).")
@click.option("--catalog", metavar="FILE|cache",
              help="Catalog file, or 'cache' (the last catalog compile fetched). Default: fetch it, as compile does.")
@rules_option
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              default="config/litellm/config.yaml", show_default=True,
              help="The LiteLLM config: its hand-written model names get no generated record; the state file "
                   "lives beside it.")
@click.option("--include-file", metavar="PATH", help="The include file compile writes, if you use include mode.")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
              help="State file (last generated values). Default: .rinsync-state.openwebui.json beside --config.")
@click.option("--source-url", envvar="RINSYNC_SOURCE_URL", metavar="URL", help="Fetch the catalog from this URL.")
@click.option("--env-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read key variables from this file when not in the environment (default: ./.env if present).")
@click.option("--dry-run", is_flag=True, help="Print the plan (created, updated, deleted, kept edits); write nothing.")
@click.option("--force", is_flag=True, help="Delete even when the shrink guard would refuse.")
@click.option("--max-remove-fraction", type=FiniteFloat(0, 1), default=0.5, show_default=True,
              envvar="RINSYNC_MAX_REMOVE_FRACTION",
              help="Refuse (exit 3) to delete more than this fraction of rinsync's records.")
@click.option("--lock-timeout", type=FiniteFloat(min=0), default=60, show_default=True,
              help="Seconds to wait for another sync of the same Open WebUI state (then exit 75).")
@click.option("--verbose", "-v", is_flag=True, help="One line per record.")
@report_options("openwebui sync")  # --report, --notify, --metrics-file
def openwebui_sync(url: str, key_env: str, catalog: str | None, rules: tuple[Path, ...], config: Path,
                   include_file: str | None, state: Path | None, source_url: str | None, env_file: Path | None,
                   dry_run: bool, force: bool, max_remove_fraction: float, lock_timeout: float, verbose: bool) -> int:
    """Write each generated model's Open WebUI record (capabilities, description, tags, params, shown or hidden)
    through Open WebUI's API. Never touches records it did not create; deletes its records of models no
    longer generated; keeps an admin's later edits. Exit 0 ok, 1 rules/catalog error, 2 usage (token not
    set), 3 shrink guard, 6 Open WebUI failed or partly applied (the message says what was applied), 75 catalog
    unavailable.
    """
    from .redact import Redactor
    from .sync import SyncOptions, SyncReport, run_openwebui_sync

    _check_catalog_option(catalog)
    env_file = _default_env_file(env_file)
    redactor = Redactor()
    logging_state = _log_to_stderr(redactor, False, verbose)
    options = SyncOptions(config=config, catalog=catalog, source_url=source_url, env_file=env_file, dry_run=dry_run,
                          force=force, max_remove_fraction=max_remove_fraction, lock_timeout=lock_timeout,
                          verbose=verbose, include_file=include_file, openwebui_url=url, openwebui_key_env=key_env,
                          openwebui_state=state)
    report = SyncReport()
    with _reporting(report, redactor, dry_run, logging_state):
        run_openwebui_sync(_load(rules), options, redactor, report)
    _flush_report(report, redactor, dry_run)
    return exitcodes.OK


def _check_catalog_option(catalog: str | None) -> None:
    if catalog is not None and catalog != "cache" and not Path(catalog).is_file():
        raise click.BadParameter(f"'{catalog}' is not a file (or 'cache')", param_hint="'--catalog'")


def _default_env_file(env_file: Path | None) -> Path | None:
    """--env-file, else ./.env when it exists."""
    if env_file is None and Path(".env").is_file():
        return Path(".env")
    return env_file


@contextlib.contextmanager
def _reporting(report, redactor, dry_run: bool, logging_state):
    """Around a sync: on an error, its message redacted and the report so far printed; logging stopped always."""
    from .diagnostics import RinsyncError

    try:
        yield
    except RinsyncError as exc:
        exc.message = redactor(exc.message)
        _flush_report(report, redactor, dry_run)
        raise
    finally:
        _stop_logging(logging_state)


def _flush_report(report, redactor, dry_run: bool) -> None:
    _warn([redactor(w) for w in report.warnings])
    report.warnings = []
    from .untrusted import one_line

    for line in report.lines:
        line = one_line(redactor(line))  # upstream text never splits or forges a log line
        click.echo(line if line.startswith("  ") else f"rinsync: {line}", err=not dry_run)
    report.lines = []


def _log_to_stderr(redactor, debug: bool, verbose: bool):
    import logging

    from .redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(logging.Formatter("rinsync: %(message)s"))
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    names = ["rinsync", "urllib3"] if debug else ["rinsync"]
    for name in names:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return handler, names


def _stop_logging(state) -> None:
    import logging

    handler, names = state
    for name in names:
        logging.getLogger(name).removeHandler(handler)


@cli.command()
@click.argument("model_id")
@catalog_option
@rules_option
def explain(model_id: str, catalog: Path | None, rules: tuple[Path, ...]) -> int:
    """Show which rules matched MODEL_ID, whether it is kept, and its entry."""
    from .commands.explain import render_explanation
    from .diagnostics import RinsyncError
    from .engine import Engine, compile_date

    if catalog is None:
        raise click.UsageError("--catalog FILE is required")
    ruleset = _load(rules)
    records = _load_catalog(catalog).records
    engine = Engine(ruleset, compile_date())
    result = engine.compile(records)
    decision = result.decision_for(model_id)
    if decision is None:
        import difflib

        close = difflib.get_close_matches(model_id, [r["id"] for r in records], n=3)
        tip = f"; did you mean {', '.join(close)}?" if close else ""
        raise RinsyncError(f"model '{model_id}' is not in {catalog}{tip}", exitcodes.ERROR)
    click.echo(render_explanation(engine, decision))
    return exitcodes.OK


@cli.command()
@click.argument("catalogs", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@rules_option
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Compare this LiteLLM config's generated models with what a sync of NEW would write.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: the digest; json: the report (schemas/report.v1.schema.json).")
@click.option("--fail-on", multiple=True, type=click.Choice(["price-increase", "removed", "expiring"]),
              help="Exit 1 when the report has price increases above the threshold, removed or expiring "
                   "models (repeatable; for CI).")
@click.option("--verbose", "-v", is_flag=True, help="Also list added models and every changed field.")
@threshold_options
def diff(catalogs: tuple[Path, ...], rules: tuple[Path, ...], config: Path | None, fmt: str,
         fail_on: tuple[str, ...], verbose: bool, price_threshold: float | None, expiring_days: int | None) -> int:
    """The change report between catalogs OLD NEW, or between --config and catalog NEW; writes nothing.

    Both sides are compiled with the same rules and compile date (SOURCE_DATE_EPOCH or today). Exit 0, 1 when
    --fail-on found what it names (or on an unusable catalog, config or rules), 2 on usage errors.
    """
    from .commands.diff import diff_catalogs, diff_config, failing
    from .engine import compile_date
    from .report.changes import resolve_settings, to_json
    from .report.digest import text

    if len(catalogs) != (1 if config else 2):
        raise click.UsageError("give two catalogs (OLD NEW), or --config CONFIG and one catalog (NEW)")
    ruleset, today = _load(rules), compile_date()
    settings = resolve_settings(price_threshold, expiring_days, ruleset.report)
    new = _load_catalog(catalogs[-1])
    if config:
        report = diff_config(ruleset, config, new, today, settings)
    else:
        report = diff_catalogs(ruleset, _load_catalog(catalogs[0]), new, today, settings)
    found = failing(report, fail_on)
    report["outcome"]["exit_code"] = exitcodes.ERROR if found else exitcodes.OK
    click.echo(to_json(report) if fmt == "json" else text(report, verbose), nl=False)
    if found:
        click.echo(f"rinsync: --fail-on: the report has {' and '.join(found)}", err=True)
    return report["outcome"]["exit_code"]


@cli.command()
def functions() -> int:
    """List the JMESPath functions rinsync adds for rules."""
    from .dsl.expr import function_table

    rows = function_table()
    width = max(len(signature) for _, signature, _ in rows)
    for _, signature, doc in rows:
        click.echo(f"{signature.ljust(width)}  {doc}")
    click.echo("\nJMESPath's built-in functions (contains, starts_with, length, to_number…) work too: "
               "https://jmespath.org/specification.html#built-in-functions")
    return exitcodes.OK


@cli.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--select", multiple=True, metavar="PATTERN",
              help="Run only cases whose model id, test name, or a rule it names or matches, fits this glob "
                   "(repeatable). Coverage is not reported with --select.")
@click.option("--fail-only", is_flag=True, help="Print failures only (and coverage and the summary).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: FILE:LINE:COL lines; json; github: GitHub Actions annotations.")
@click.option("--fail-uncovered", is_flag=True,
              help="Also exit 1 when a rule, exception or override is exercised by no test.")
def test_command(paths: tuple[Path, ...], select: tuple[str, ...], fail_only: bool, fmt: str,
                 fail_uncovered: bool) -> int:
    """Run rules tests: *.test.yaml files or directories (default: tests/ of the default rules directory).

    Exit 0 when every test passes, 1 on any failure (or a test file that cannot run), 2 on usage errors.
    """
    from .commands.testing import default_test_paths, render, run_tests
    from .diagnostics import RinsyncError

    test_paths = list(paths) or [p for rules_dir in default_rules_paths() for p in default_test_paths(rules_dir)]
    report = run_tests(test_paths, select)
    _warn(report.warnings)
    if select and not report.results and not report.broken:
        raise RinsyncError(f"--select {' '.join(select)} matched no test (patterns match model ids, test names "
                           "and rule ids)", exitcodes.ERROR)
    click.echo(render(report, fmt, fail_only))
    uncovered = fail_uncovered and bool(report.uncovered)
    return exitcodes.ERROR if report.failed or uncovered else exitcodes.OK


@cli.command()
@catalog_option
@click.option("--where", metavar="EXPR",
              help="JMESPath predicate over each catalog record, with the rules' functions (rinsync functions), "
                   "e.g. \"has(supported_parameters, 'tools') && per_million(pricing.prompt) < `1`\".")
@click.option("--sort", "sort", default="id", show_default=True, metavar="FIELD",
              help="id, name, input (prompt), output (completion), context, max_output, created, blended "
                   "(3:1 price), intelligence, coding, agentic or arena (benchmarks); '-FIELD' sorts descending. "
                   "Models without the value come last.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N models.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models(catalog: Path | None, where: str | None, sort: str, limit: int | None, as_json: bool) -> int:
    """List catalog models matching --where: prices per million tokens, context, flags.

    Exit 0 (also when nothing matches), 1 on an unusable catalog, 2 on a bad --where or option.
    """
    from .commands.models import SortError, WhereError, parse_sort, render_json, render_table, search
    from .engine import compile_date

    if catalog is None:
        raise click.UsageError("--catalog FILE is required (a saved GET /api/v1/models response, e.g. "
                               "examples/sample-catalog.json)")
    try:
        parse_sort(sort)
    except SortError as exc:
        raise click.BadParameter(str(exc), param_hint="'--sort'") from None
    records = _load_catalog(catalog).records
    try:
        result = search(records, where, compile_date(), sort, limit)
    except WhereError as exc:
        click.echo(exc.render(), err=True)
        return exitcodes.USAGE
    if as_json:
        click.echo(render_json(result, str(catalog), where, sort))
    else:
        if result.rows:
            click.echo(render_table(result))
        shown = f" (showing {len(result.rows)})" if len(result.rows) < result.matched else ""
        click.echo(f"rinsync: {result.matched} of {result.total} models match{shown}", err=True)
    return exitcodes.OK


@cli.command()
@catalog_option
@rules_option
@click.option("--need", "needs", multiple=True, metavar="CAP[,CAP…]",
              help="Capabilities the model must have: tools, vision, file, audio-in, audio-out, image-out, "
                   "reasoning, schema (comma-separated or repeated).")
@click.option("--budget", type=FiniteFloat(min=0), metavar="USD",
              help="Most USD per million tokens, 3 input : 1 output tokens (the blended price).")
@click.option("--min-context", type=click.IntRange(min=1), metavar="TOKENS", help="Least context length.")
@click.option("--modality", type=click.Choice(["text", "image", "audio"]),
              help="An output the model must produce (default: any).")
@click.option("--by", "by", type=click.Choice(["intelligence", "coding", "agentic", "arena"]),
              default="intelligence", show_default=True,
              help="The benchmark score to rank by (Artificial Analysis index, or Design Arena elo).")
@click.option("--min-score", type=FiniteFloat(), metavar="N", help="Only models scoring at least N (keeps weak models "
                                                          "out of the value list).")
@click.option("--top", type=click.IntRange(1, 20), default=3, show_default=True, help="Picks per list.")
def recommend(catalog: Path | None, rules: tuple[Path, ...], needs: tuple[str, ...], budget: float | None,
              min_context: int | None, modality: str | None, by: str, min_score: float | None, top: int) -> int:
    """The best models the rules keep for a need, by benchmark score and by value, with a rules snippet.

    Exit 0 (also when nothing fits), 1 on an unusable catalog or rules, 2 on a bad option.
    """
    from .commands.recommend import CAPABILITIES, Need, render
    from .commands.recommend import recommend as run_recommend
    from .engine import compile_date

    if catalog is None:
        raise click.UsageError("--catalog FILE is required (a saved GET /api/v1/models response)")
    wanted = [name.strip() for item in needs for name in item.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in CAPABILITIES]
    if unknown:
        raise click.BadParameter(f"unknown capability '{unknown[0]}'; use: {', '.join(CAPABILITIES)}",
                                 param_hint="'--need'")
    need = Need(list(dict.fromkeys(wanted)), budget, min_context, modality, by, top, min_score)
    words = ["rinsync recommend"]
    words += [f"--need {','.join(need.capabilities)}"] if wanted else []
    words += [f"--budget {budget:g}"] if budget is not None else []
    words += [f"--min-context {min_context}"] if min_context is not None else []
    words += [f"--modality {modality}"] if modality else []
    words += [f"--by {by}"] if by != "intelligence" else []
    words += [f"--min-score {min_score:g}"] if min_score is not None else []
    command = " ".join(words)
    rec = run_recommend(_load(rules), _load_catalog(catalog).records, need, compile_date())
    click.echo(render(rec, command))
    if not rec.catalog_scored:
        click.echo(f"rinsync: no model of {catalog} is scored on {by} (OpenRouter's catalog carries benchmarks "
                   "since 2026); try --by arena or a newer catalog", err=True)
    elif not rec.by_score:
        click.echo("rinsync: no scored model fits this need; loosen --budget, --min-context or --need, "
                   "or rank --by arena", err=True)
    return exitcodes.OK


@cli.command()
@click.option("--proxy", "proxy_url", required=True, metavar="URL",
              help="Base URL of the running LiteLLM proxy, e.g. http://localhost:4000 (a trailing /v1 is fine).")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              default="config/litellm/config.yaml", show_default=True,
              help="The LiteLLM config the proxy should serve.")
@click.option("--key-env", default="LITELLM_MASTER_KEY", show_default=True, metavar="NAME",
              help="Environment variable holding the proxy's key (sent as a bearer token, never printed).")
@click.option("--timeout", type=FiniteFloat(min=0.1), default=10, show_default=True,
              help="Seconds to wait for each answer of the proxy.")
@click.option("--wait", type=FiniteFloat(min=0), default=0, show_default=True, metavar="SECONDS",
              help="Wait up to SECONDS for the proxy to agree (asking every 0.5 s; an unreachable proxy counts "
                   "as not yet) instead of checking once.")
def verify(proxy_url: str, config: Path, key_env: str, timeout: float, wait: float) -> int:
    """Check that a running proxy serves exactly CONFIG's models, with the capabilities rinsync compiled.

    Asks GET /v1/models and GET /model/info and prints one line per difference: 'missing' (in the
    config, not served: restart the proxy after a sync), 'extra' (served, not in the config: stale),
    'drift' (a generated entry's mode, supports_*, token limits, costs or model differ; numbers within
    1e-6 relative). With --wait, ask again until they agree or SECONDS have passed. Exit 0 when they
    agree, 1 on differences (or an unreadable config, or an HTTP error such as a wrong key), 2 usage,
    75 proxy unreachable (connection refused, timeout, HTTP 502/503/504): retry later.
    """
    import os

    from .diagnostics import RinsyncError
    from .dsl.rules import display_path
    from .litellm.verify import verify as run_verify

    if not config.is_file():
        raise RinsyncError(f"config {display_path(config)} not found (pass --config PATH)", exitcodes.ERROR)
    key = os.environ.get(key_env) or None
    result = run_verify(config, proxy_url, key, key_env, timeout, shown_config=display_path(config), wait=wait)
    for line in result.lines():
        click.echo(line)
    waited = f" (after {result.waited:.1f}s)" if wait and result.ok else f" (waited {wait:g}s)" if wait else ""
    click.echo(f"rinsync: {result.summary()}{waited}", err=True)
    from .litellm.proxyversion import read_version

    for line in read_version(proxy_url, key, min(timeout, 3.0)).lines():  # which LiteLLM, its billing rule
        click.echo(f"rinsync: proxy: {line}", err=True)
    hint = result.hint()
    if hint:
        click.echo(f"rinsync: hint: {hint}", err=True)
    return exitcodes.OK if result.ok else exitcodes.ERROR


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with documented exit codes, never a traceback for user errors."""
    import gc

    # A short-lived batch process: collect cyclic garbage rarely (as mypy does); compiling
    # thousands of entries otherwise spends half its time in the collector.
    gc.set_threshold(200_000, 50, 100)
    try:
        result = cli.main(args=argv, prog_name="rinsync", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exitcodes.USAGE if isinstance(exc, click.UsageError) else exitcodes.ERROR)
    except click.exceptions.Abort:
        click.echo("rinsync: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(exitcodes.OK)
    except Exception as exc:
        from .diagnostics import RinsyncError, format_findings
        from .untrusted import one_line

        if not isinstance(exc, RinsyncError):
            raise
        if exc.findings:
            click.echo(format_findings(exc.findings, "text"), err=True)
        else:
            click.echo(f"rinsync: error: {one_line(exc.message)}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(result if isinstance(result, int) else exitcodes.OK)
