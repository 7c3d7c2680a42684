"""The `envgen` command line: build, validate, fuzz, and friends.

Exit status: 0 on success, 1 when a spec or an env has a problem, 2 on a usage error.
Problems are printed as `file:line:column: error[code]: message` plus a hint; never a
traceback.
"""

from __future__ import annotations

import difflib
import importlib.abc
import importlib.machinery
import os
import re
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from envgen.compiler.diagnostics import Diagnostic, markup_safe

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
        excerpt = _source_excerpt(location.file, location.line, location.column)
        if excerpt is not None:
            line, column = excerpt
            stderr.print(f"  {_escape(line.rstrip())}")
            stderr.print("  " + " " * max(column - 1, 0) + "[red]^[/red]")
        if diagnostic.hint:
            stderr.print(f"  [cyan]hint[/cyan]: {_escape(diagnostic.hint)}")
    count = len(diagnostics)
    stderr.print(f"[red]{count} error{'s' if count != 1 else ''}[/red]")


def _escape(text: str) -> str:
    """Text from a spec made inert for the terminal: no markup, no control or bidi
    characters, one line (see `envgen.compiler.diagnostics.printable`)."""
    return markup_safe(text, keep="\t")


def _source_excerpt(file: str, line: int, column: int) -> tuple[str, int] | None:
    # From the text the compiler read (never by reopening a path: it may lead elsewhere).
    from envgen.compiler.load import source_excerpt

    return source_excerpt(file, line, column)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="envgen")
def main() -> None:
    """envgen: compile YAML environment specs into Gymnasium envs, and test any env."""
    importable_from_current_folder(*sys.argv[1:])


#: `module:thing` as commands take it (`mygen:ns/Id-v0`, `--policy mypolicy:act`, `pkg.mod:Env`).
_NAMED_MODULE = re.compile(r"^([A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*:")


class _NamedInCurrentFolder(importlib.abc.MetaPathFinder):
    """Finds only the top-level modules a command line names (`mygen` of `mygen:ns/Id-v0`,
    and `generated`, the default package of bare ids) in the working folder, first, as
    `python -m` would. Any other import never looks there: a stray `numpy.py` or `yaml.py`
    in a cloned spec repository is not run (hostile trial 4, H13)."""

    def __init__(self) -> None:
        self.names: set[str] = {"generated"}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if path is not None or fullname not in self.names:
            return None  # a submodule (found through its package) or a name not given
        try:
            folder = os.getcwd()  # the working folder now, as '' on sys.path would be
        except OSError:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [folder])


_finder: _NamedInCurrentFolder | None = None


def importable_from_current_folder(*targets: str) -> None:
    """Let the modules that `targets` name (`module:thing`) be imported from the working
    folder (as documented for `mygen:ns/Id-v0`), and nothing else from it."""
    global _finder
    if _finder is None:
        _finder = _NamedInCurrentFolder()
        sys.meta_path.insert(0, _finder)
    for target in targets:
        found = _NAMED_MODULE.match(target)
        if found is not None:
            _finder.names.add(found.group(1))


def _spec_paths(paths: tuple[Path, ...]) -> list[Path]:
    return list(paths) if paths else [Path("specs")]


follow_symlinks_option = click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Also read specs that symlinks lead to outside the folders given (trusted links only).",
)


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
@click.option(
    "--prune",
    is_flag=True,
    help="Also remove generated modules in the output that other specs produced.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Emit and format every spec, not only changed ones (ENVGEN_BUILD_CACHE=0 too).",
)
@follow_symlinks_option
def build(
    specs: tuple[Path, ...],
    output: Path,
    check: bool,
    prune: bool,
    no_cache: bool,
    follow_symlinks: bool,
) -> None:
    """Compile SPECS (files or folders; default specs/) into a Python package.

    Unchanged specs come from the build cache (no emit, no formatting); see README.md."""
    from envgen.build import ForeignOutput, HandWrittenOutput, compile_specs, plan, write

    problem = _package_name_problem(output)
    if problem:
        raise click.BadParameter(problem, param_hint="--output")
    compiled = compile_specs(
        _spec_paths(specs), output, follow_symlinks=follow_symlinks, cache=not no_cache
    )
    for warning in compiled.warnings:
        stderr.print(f"[yellow]warning[/yellow]: {_escape(warning)}")
    if compiled.diagnostics:
        print_diagnostics(compiled.diagnostics)
        stderr.print("nothing was written")
        sys.exit(1)
    shown = _escape(str(output))
    report = plan(compiled, output, prune=prune)
    if report.hand_written:
        _hand_written_output(output, report.hand_written)
        sys.exit(1)
    if report.foreign:
        _foreign_output(output, report.foreign, specs)
        sys.exit(1)
    if check:
        stale = report.written + report.removed
        if stale:
            for name in report.written:
                stderr.print(f"stale: {_escape(str(output / name))}")
            for name in report.removed:
                stderr.print(f"no longer generated: {_escape(str(output / name))}")
            stderr.print("[red]generated code is out of date[/red]: run `envgen build`")
            sys.exit(1)
        stdout.print(f"{len(report.unchanged)} files up to date in {shown}")
        return
    try:
        report = write(compiled, output, prune=prune)
    except ForeignOutput as exc:  # an interrupted build's output came back meanwhile
        _foreign_output(output, exc.foreign, specs)
        sys.exit(1)
    except HandWrittenOutput as exc:  # written meanwhile
        _hand_written_output(output, exc.names)
        sys.exit(1)
    except OSError as exc:
        stderr.print(
            f"[bold]{shown}[/bold]: [red]error\\[output][/red]: cannot write the "
            f"output folder: {_escape(exc.strerror or str(exc))}"
        )
        stderr.print(
            "  [cyan]hint[/cyan]: choose a writable folder with -o, or fix its "
            "permissions; nothing was changed"
        )
        sys.exit(1)
    for note in compiled.notes:
        stdout.print(f"[yellow]note[/yellow]: {_escape(note)}")
    if any(model.spec.hooks is not None for model in compiled.models):
        hooked = [m.spec.id for m in compiled.models if m.spec.hooks is not None]
        stdout.print(
            f"[yellow]note[/yellow]: {len(hooked)} envs run trusted Python hooks "
            f"({_escape(', '.join(hooked))}); review the hook code (SECURITY.md)"
        )
    count = len(compiled.models) + len(compiled.multiagent)
    cached = f" ({len(compiled.cached)} from the build cache)" if compiled.cached else ""
    stdout.print(
        f"built {count} envs into {shown}{cached}: "
        f"{len(report.written)} written, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged"
    )


def _hand_written_output(output: Path, names: list[str]) -> None:
    """Say which files of the user's the build would overwrite (nothing is written)."""
    shown = _escape(str(output))
    listed = ", ".join(_escape(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
    stderr.print(
        f"[bold]{shown}[/bold]: [red]error\\[output-hand-written][/red]: the output folder "
        f"holds {len(names)} files that envgen did not write, and this build would "
        f"overwrite them: {listed}"
    )
    stderr.print(
        "  [cyan]hint[/cyan]: build into another package (-o myenvs), or move those files "
        "out of the folder. Nothing was written"
    )


def _package_name_problem(output: Path) -> str | None:
    """Why the output folder's name cannot be the package it is imported as, or None."""
    import importlib.util
    import keyword

    name = output.name
    if not name.isidentifier() or keyword.iskeyword(name):
        return f"'{name}' is not a valid Python package name; e.g. -o mygen"
    if name in sys.builtin_module_names:
        return f"'{name}' is the name of a module built into Python; choose another, e.g. -o mygen"
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    origin = getattr(found, "origin", None) or ""
    locations = list(getattr(found, "submodule_search_locations", None) or [])
    own = os.path.realpath(output)
    if found is not None and not any(os.path.realpath(p) == own for p in locations):
        if os.path.dirname(os.path.realpath(origin)) != own and not _generated_package(origin):
            return (
                f"'{name}' is the name of an installed module ({origin or 'built in'}); "
                "a package of that name would hide it (or be hidden); choose another, e.g. "
                "-o mygen"
            )
    return None


def _generated_package(origin: str) -> bool:
    """Whether `origin` is the registry of a package envgen built (building another
    package of that name is the user's choice, not a clash with an installed library)."""
    from envgen.build import _is_generated

    return _is_generated(Path(origin))


def _foreign_output(output: Path, foreign: dict[str, str], specs: tuple[Path, ...]) -> None:
    """Say which modules a build would remove, and how to keep them (nothing is written)."""
    shown = _escape(str(output))
    sources = sorted(set(foreign.values()))
    stderr.print(
        f"[bold]{shown}[/bold]: [red]error\\[output-owned][/red]: the output folder holds "
        f"{len(foreign)} generated modules that these specs did not produce; this build "
        "would remove them"
    )
    for name in sorted(foreign)[:10]:
        stderr.print(f"  would remove {_escape(name)} (from {_escape(foreign[name])})")
    if len(foreign) > 10:
        stderr.print(f"  ... and {len(foreign) - 10} more")
    given = " ".join(_escape(str(p)) for p in specs) or "specs"
    folders = {Path(s).parent for s in sources if s != "an unknown spec"}
    # The outermost folders only: `specs` rather than `specs specs/classic`.
    top = sorted(str(f) for f in folders if not any(g in f.parents for g in folders))
    together = " ".join([given, *(_escape(f) for f in top[:3])])
    stderr.print(
        "  [cyan]hint[/cyan]: to keep them, build into another package "
        f"(`envgen build {given} -o myenvs`) or build their specs too "
        f"(`envgen build {together}`); to remove them, add --prune. Nothing was written"
    )


@main.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
@follow_symlinks_option
def validate(specs: tuple[Path, ...], follow_symlinks: bool) -> None:
    """Check SPECS without writing anything."""
    from envgen.build import compile_specs

    compiled = compile_specs(_spec_paths(specs), follow_symlinks=follow_symlinks)
    if compiled.diagnostics:
        print_diagnostics(compiled.diagnostics)
        sys.exit(1)
    for model in [*compiled.models, *compiled.multiagent]:
        stdout.print(f"ok  {_escape(model.spec.id)}  ({_escape(model.document.name)})")


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
