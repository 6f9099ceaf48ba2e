"""Command line: click commands only; the work happens in the modules they call."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__, exitcodes
from .diagnostics import RinsyncError

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
    from .rules import load_rules

    return load_rules(_rules_paths(rules))


def _warn(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"rinsync: warning: {line}", err=True)


def _load_catalog(path: Path):
    from .catalog import load_catalog_file

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
def lint(paths: tuple[Path, ...], fmt: str, catalog: Path | None, fail_on: str) -> int:
    """Check rules files (default: rules/). Exit 0 clean, 1 on findings, 2 on usage errors."""
    from .diagnostics import format_findings
    from .engine import compile_date
    from .lint import lint as run_lint

    records = _load_catalog(catalog).records if catalog else None
    findings = run_lint(_rules_paths(paths), records, compile_date())
    if findings or fmt == "json":
        click.echo(format_findings(findings, fmt))
    errors = sum(1 for f in findings if f.severity == "error")
    if fmt == "text":
        click.echo(f"{errors} error(s), {len(findings) - errors} warning(s)", err=True)
    failing = findings if fail_on == "warning" else [f for f in findings if f.severity == "error"]
    return exitcodes.ERROR if failing else exitcodes.OK


@cli.command(name="compile")
@catalog_option
@rules_option
@click.option("--output", "-o", required=True, help="Where to write the config; '-' for standard output.")
def compile_command(catalog: Path | None, rules: tuple[Path, ...], output: str) -> int:
    """Compile a catalog into a LiteLLM config (model_list)."""
    from .engine import Engine, compile_date
    from .output import render_config

    if catalog is None:
        raise click.UsageError("--catalog FILE is required")
    ruleset = _load(rules)
    records = _load_catalog(catalog).records
    result = Engine(ruleset, compile_date()).compile(records)
    text = render_config(result.entries)
    if output == "-":
        click.echo(text, nl=False)
    else:
        _write_text(Path(output), text)
    dropped = len(records) - len(result.entries)
    click.echo(f"rinsync: compiled {len(result.entries)} models from {len(records)} catalog records "
               f"({dropped} dropped) -> {output}", err=True)
    return exitcodes.OK


def _write_text(path: Path, text: str) -> None:
    from .atomic import write_atomic

    write_atomic(path, text.encode("utf-8"))


@cli.command()
@click.argument("model_id")
@catalog_option
@rules_option
def explain(model_id: str, catalog: Path | None, rules: tuple[Path, ...]) -> int:
    """Show which rules matched MODEL_ID, whether it is kept, and its entry."""
    from .engine import Engine, compile_date
    from .explain import render_explanation

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
def functions() -> int:
    """List the JMESPath functions rinsync adds for rules."""
    from .expr import function_table

    rows = function_table()
    width = max(len(signature) for _, signature, _ in rows)
    for _, signature, doc in rows:
        click.echo(f"{signature.ljust(width)}  {doc}")
    click.echo("\nJMESPath's built-in functions (contains, starts_with, length, to_number…) work too: "
               "https://jmespath.org/specification.html#built-in-functions")
    return exitcodes.OK


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with documented exit codes, never a traceback for user errors."""
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
    except RinsyncError as exc:
        if exc.findings:
            from .diagnostics import format_findings

            click.echo(format_findings(exc.findings, "text"), err=True)
        else:
            click.echo(f"rinsync: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(exitcodes.OK)
    sys.exit(result if isinstance(result, int) else exitcodes.OK)
