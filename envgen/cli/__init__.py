"""The `envgen` command line: build, validate, fuzz, and friends.

Exit status: 0 on success, 1 when a spec or an env has a problem, 2 on a usage error.
Problems are printed as `file:line:column: error[code]: message` plus a hint; never a
traceback.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click
from rich.console import Console

from envgen.compiler.diagnostics import Diagnostic

stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
stdout = Console(highlight=False, soft_wrap=True, emoji=False)


class _Group(click.Group):
    """A group that suggests the closest command for a misspelt one."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(
                f"no such command '{name}'.{hint} Commands: {', '.join(self.list_commands(ctx))}"
            )
        return super().resolve_command(ctx, args)


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """Print every diagnostic with the offending source line and a caret."""
    for diagnostic in sorted(diagnostics, key=lambda d: d.location):
        location = diagnostic.location
        label = _escape(f"error[{diagnostic.code}]")
        stderr.print(
            f"[bold]{_escape(str(location))}[/bold]: [red]{label}[/red]: "
            f"{_escape(diagnostic.message)}"
        )
        line = _source_line(location.file, location.line)
        if line is not None:
            stderr.print(f"  {_escape(line.rstrip())}")
            stderr.print("  " + " " * max(location.column - 1, 0) + "[red]^[/red]")
        if diagnostic.hint:
            stderr.print(f"  [cyan]hint[/cyan]: {_escape(diagnostic.hint)}")
    count = len(diagnostics)
    stderr.print(f"[red]{count} error{'s' if count != 1 else ''}[/red]")


def _escape(text: str) -> str:
    """Text from a spec made inert for the terminal: no markup, no control sequences."""
    from rich.markup import escape

    text = "".join(
        f"\\x{ord(ch):02x}" if (ord(ch) < 32 and ch != "\t") or 127 <= ord(ch) < 160 else ch
        for ch in text
    )
    return escape(text)


def _source_line(file: str, line: int) -> str | None:
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if number == line:
                    return text if len(text) < 300 else text[:300] + "…"
    except (OSError, UnicodeDecodeError):
        return None
    return None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="envgen")
def main() -> None:
    """envgen: compile YAML environment specs into Gymnasium envs, and test any env."""
    current_folder_importable()


def current_folder_importable() -> None:
    """Put the working folder first on `sys.path`, as `python -m` does, so that
    `module:Env-v0` targets, `--policy module:fn` and `-o mygen` packages built here import
    without `PYTHONPATH=.` (the `envgen` script, unlike `python -m`, does not add it)."""
    import os

    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def _spec_paths(paths: tuple[Path, ...]) -> list[Path]:
    return list(paths) if paths else [Path("specs")]


@main.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("generated"),
    show_default=True,
    help="Output package folder.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 and list stale files if the output differs.",
)
def build(specs: tuple[Path, ...], output: Path, check: bool) -> None:
    """Compile SPECS (files or folders; default specs/) into a Python package."""
    from envgen.build import compile_specs, plan, write

    if not output.name.isidentifier():
        raise click.BadParameter(
            f"'{output.name}' is not a valid Python package name", param_hint="--output"
        )
    compiled = compile_specs(_spec_paths(specs), output)
    if compiled.diagnostics:
        print_diagnostics(compiled.diagnostics)
        stderr.print("nothing was written")
        sys.exit(1)
    if check:
        report = plan(compiled, output)
        stale = report.written + report.removed
        if stale:
            for name in report.written:
                stderr.print(f"stale: {output / name}")
            for name in report.removed:
                stderr.print(f"no longer generated: {output / name}")
            stderr.print("[red]generated code is out of date[/red]: run `envgen build`")
            sys.exit(1)
        stdout.print(f"{len(report.unchanged)} files up to date in {output}")
        return
    try:
        report = write(compiled, output)
    except OSError as exc:
        stderr.print(
            f"[bold]{output}[/bold]: [red]error\\[output][/red]: cannot write the "
            f"output folder: {_escape(exc.strerror or str(exc))}"
        )
        stderr.print(
            "  [cyan]hint[/cyan]: choose a writable folder with -o, or fix its "
            "permissions; nothing was changed"
        )
        sys.exit(1)
    for note in compiled.notes:
        stdout.print(f"[yellow]note[/yellow]: {_escape(note)}")
    stdout.print(
        f"built {len(compiled.models)} envs into {output}: "
        f"{len(report.written)} written, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged"
    )


@main.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
def validate(specs: tuple[Path, ...]) -> None:
    """Check SPECS without writing anything."""
    from envgen.build import compile_specs

    compiled = compile_specs(_spec_paths(specs))
    if compiled.diagnostics:
        print_diagnostics(compiled.diagnostics)
        sys.exit(1)
    for model in compiled.models:
        stdout.print(f"ok  {model.spec.id}  ({model.document.name})")


def _attach_optional_commands() -> None:
    """Commands that live in their own modules: the fuzzer and the developer tools."""
    try:
        from envgen.testing._cli import fuzz
    except ImportError:  # pragma: no cover - the fuzzer ships with envgen
        pass
    else:
        main.add_command(fuzz)
    try:
        from envgen.cli._commands import COMMANDS
    except ImportError:  # pragma: no cover - while the module does not exist yet
        return
    for command in COMMANDS:
        main.add_command(command)


_attach_optional_commands()


if __name__ == "__main__":
    main()
