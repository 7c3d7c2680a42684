"""``envgen fuzz``: the conformance fuzzer on the command line."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from envgen.cli._params import SEED, FiniteFloatRange

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
TICK_SECONDS = 5.0

_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "error": "bold red",
    "warn": "yellow",
    "skip": "dim",
}


def _usage_error(message: str) -> None:
    from envgen.compiler.diagnostics import printable  # spec text: no ESC or bidi raw

    click.echo(f"envgen fuzz: error: {printable(message)}", err=True)
    sys.exit(EXIT_USAGE)


@click.command("fuzz")
@click.argument("targets", nargs=-1, metavar="TARGET...")
@click.option(
    "--examples",
    type=click.IntRange(min=1, max=100_000),
    default=None,
    help="Hypothesis examples per property (default 10).",
)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Steps per long run (default: max_episode_steps + 5, else 300).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the search.")
@click.option(
    "--property",
    "properties",
    multiple=True,
    metavar="NAME",
    help="Run only this property (repeatable). See --list.",
)
@click.option(
    "--strict/--lenient",
    default=False,
    help="Strict: accepting an out-of-space action fails. Lenient (default): a warning.",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="The env promises that its seed does not matter: check that different seeds give "
    "the same trajectory (also read from env.unwrapped.metadata['deterministic']).",
)
@click.option(
    "--budget",
    type=FiniteFloatRange(min=0, max=86_400),
    default=60.0,
    show_default=True,
    help="Seconds per env: examples and episode lengths are cut to fit the measured step "
    "cost (0: no budget).",
)
@click.option(
    "--vector",
    type=click.Choice(["sync", "async", "vector_entry_point"]),
    default=None,
    help="Fuzz gym.make_vec(TARGET, num_envs, vectorization_mode=...) of each env id: the "
    "vector env contract.",
)
@click.option(
    "--num-envs",
    type=click.IntRange(min=1, max=4096),  # each sub-env is made: a fuzz run, not a benchmark
    default=2,
    show_default=True,
    help="Sub-envs of the vector envs (--vector, and the vector property).",
)
@click.option(
    "--autoreset",
    type=click.Choice(["NextStep", "SameStep", "Disabled"]),
    default=None,
    help="With --vector: the autoreset mode to ask make_vec for.",
)
@click.option(
    "--vector-rtol",
    type=FiniteFloatRange(min=0),  # FloatRange lets nan through, and nan compares nothing
    default=None,
    help="Tolerance of the vector property (default: exact for vector envs that promise "
    "bit-exact results, such as envgen's, else 1e-5; 0: exact).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout (for CI).")
@click.option("--list", "list_only", is_flag=True, help="List the properties and exit.")
@click.option(
    "-p",
    "--param",
    "param_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A constructor argument of every target (repeatable; VALUE read as YAML).",
)
@click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False),
    help="A YAML file mapping constructor arguments to values (-p overrides it).",
)
def fuzz(
    targets: tuple[str, ...],
    examples: int | None,
    max_steps: int | None,
    seed: int,
    properties: tuple[str, ...],
    strict: bool,
    deterministic: bool,
    budget: float,
    vector: str | None,
    num_envs: int,
    autoreset: str | None,
    vector_rtol: float | None,
    as_json: bool,
    list_only: bool,
    param_pairs: tuple[str, ...] = (),
    params_file: str | None = None,
) -> None:
    """Fuzz Gymnasium envs against envgen's conformance properties.

    TARGET is a registered env id (CartPole-v1, module:ns/Name-v0), a module:Class or
    path/to/file.py:Class naming a hand-written env, or a spec file or folder (YAML).

    Exit status: 0 when every contract holds (warnings allowed), 1 when one fails, 2 on a
    usage error.
    """
    import os

    from rich.console import Console

    from envgen.compiler.diagnostics import markup_safe as escape  # no ESC, bidi or markup

    # the fuzzer never renders 'human': pygame-based rgb_array renderers need no display
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

    from . import PROPERTIES, format_result
    from ._runner import UnknownPropertyError, check_property_names
    from ._runner import fuzz as run_fuzz
    from ._targets import TargetError, resolve_targets

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False)
    if list_only:
        for name, prop in PROPERTIES.items():
            out.print(f"[bold]{name}[/bold]: {prop.contract}")
        return

    if not targets:
        _usage_error("name at least one TARGET (an env id, module:Class, file.py:Class or spec)")
    from ._multiagent import is_multiagent_target

    if all(is_multiagent_target(t) for t in targets):  # PettingZoo envs: their own suite
        from ._multiagent import run_cli

        params = _read_params(param_pairs, params_file)
        run_cli(out, err, targets, examples, max_steps, properties, as_json, params)
    try:
        names = check_property_names(properties or None)
    except UnknownPropertyError as exc:
        _usage_error(str(exc))
    if autoreset and not vector:
        _usage_error("--autoreset needs --vector")
    options: dict[str, Any] = {}
    if vector:
        options = {"vector": vector, "num_envs": num_envs}
        if autoreset:
            options["vector_kwargs"] = {"autoreset_mode": autoreset}
    params = _read_params(param_pairs, params_file)
    if params.values:
        options["env_kwargs"] = params.values
    resolved = []
    for target in targets:
        try:
            resolved.extend(resolve_targets(target, **options))
        except TargetError as exc:
            _usage_error(str(exc))
        except Exception as exc:  # e.g. a spec with diagnostics
            _usage_error(f"{target}: {type(exc).__name__}: {exc}".splitlines()[0])
    _check_params([(target.env_id or target.name, target.factory) for target in resolved], params)

    overrides: dict[str, Any] = {
        "seed": seed,
        "strict": strict,
        "budget": budget or None,
        "num_envs": num_envs,
        "deterministic": deterministic,
        "vector_rtol": vector_rtol,
    }
    if examples is not None:
        overrides["examples"] = examples
    if max_steps is not None:
        overrides["max_steps"] = max_steps

    total = len(resolved) * len(names)
    done = [0]
    start = time.perf_counter()
    running = {"since": start, "said": start}

    def on_start(target: str, prop: str) -> None:
        running["since"] = running["said"] = time.perf_counter()

    def on_tick(target: str, prop: str, example: int, examples: int) -> None:
        # a long property says where it is, every few seconds
        now = time.perf_counter()
        if now - running["said"] >= TICK_SECONDS:
            running["said"] = now
            err.print(
                f"[dim][{done[0] + 1}/{total}] {escape(target)} {prop}: example {example} of "
                f"{examples}, {now - running['since']:.0f}s[/dim]"
            )

    def on_note(target: str, note: str) -> None:
        err.print(f"[yellow]{escape(target)}: {escape(note)}[/yellow]")

    def progress(result: Any) -> None:
        done[0] += 1
        style = _STYLE.get(result.status, "")
        err.print(
            f"[dim][{done[0]}/{total}][/dim] {escape(result.target)} {result.property}: "
            f"[{style}]{result.status}[/{style}] [dim]({result.seconds:.2f}s)[/dim]"
        )

    try:
        report = run_fuzz(
            resolved,
            properties=names,
            progress=progress,
            on_start=on_start,
            on_tick=on_tick,
            on_note=on_note,
            **overrides,
        )
    except KeyboardInterrupt:
        err.print("envgen fuzz: interrupted")
        sys.exit(130)
    elapsed = time.perf_counter() - start

    if as_json:
        data = report.to_dict()
        data["seconds"] = round(elapsed, 3)
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        _print_table(out, report, names)
        for target, notes in report.notes.items():
            for note in notes:
                out.print(f"{target}: {note}", markup=False)
        for result in report.results:  # a skip says why (fuzzing.md: "with the reason")
            if result.status == "skip":
                message = result.message or "no reason given"
                out.print(f"{result.target}: {result.property} skipped: {message}", markup=False)
        for result in [*report.failures, *report.warnings]:
            out.print()
            out.print(format_result(result), markup=False)
        counts = report.to_dict()["summary"]
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        verdict = "[green]OK[/green]" if report.ok else "[bold red]FAILED[/bold red]"
        out.print(f"\n{verdict}: {summary} in {elapsed:.1f}s")
    sys.exit(EXIT_OK if report.ok else EXIT_FAIL)


def _read_params(pairs: tuple[str, ...], file: str | None) -> Any:
    """`-p NAME=VALUE` and `--params FILE`, read as `envgen play` reads them."""
    from pathlib import Path

    from envgen.cli._failure import Failure
    from envgen.cli._params import read_params

    try:
        return read_params(pairs, Path(file) if file else None)
    except Failure as failure:
        _usage_error(failure.message + (f"\n  hint: {failure.hint}" if failure.hint else ""))


def _check_params(makers: list[tuple[str, Any]], params: Any) -> None:
    """Make each env once before fuzzing. Params an env does not take are a usage error
    naming the param and its constraint; an env that refuses its own default params (a
    spec whose defaults its run-time checks reject) is one error; either way no property
    runs, rather than every property failing with the same traceback. `makers` are (env
    name, a callable that makes the env with the params): Gymnasium or PettingZoo envs."""
    from envgen.cli._params import param_failure
    from envgen.compiler.diagnostics import printable
    from envgen.runtime import InvalidParam

    given = params is not None and bool(params.values)
    for name, make in makers:
        try:
            make().close()
        except (InvalidParam, TypeError) as exc:
            if isinstance(exc, TypeError) and "keyword argument" not in str(exc):
                continue  # a broken env: the properties report it
            if not given:  # nothing from -p to blame: the env's own defaults (or arguments)
                click.echo(
                    f"envgen fuzz: error: {printable(name)} cannot be made with its default "
                    f"params: {printable(str(exc))}\n  hint: fix the defaults (a spec's params), "
                    "or give values it takes with -p NAME=VALUE",
                    err=True,
                )
                sys.exit(EXIT_FAIL)
            failure = param_failure(name, exc, params)
            _usage_error(failure.message + (f"\n  hint: {failure.hint}" if failure.hint else ""))
        except Exception:  # noqa: BLE001 - the properties report envs that do not build
            continue


def _print_table(console: Any, report: Any, names: list[str]) -> None:
    from rich.table import Table

    from envgen.compiler.diagnostics import markup_safe as escape  # no ESC, bidi or markup

    table = Table(title="envgen fuzz", show_lines=False)
    table.add_column("property", style="bold")
    targets = report.targets
    for target in targets:
        table.add_column(escape(target))
    by_key = {(r.target, r.property): r for r in report.results}
    for name in names:
        cells = []
        for target in targets:
            r = by_key.get((target, name))
            if r is None:
                cells.append("")
                continue
            style = _STYLE.get(r.status, "")
            cells.append(f"[{style}]{r.status}[/{style}]")
        table.add_row(name, *cells)
    console.print(table)


def _attach() -> None:
    """Put `fuzz` on `envgen`'s command group also when this module is imported first:
    envgen.cli then imports it while it is half-initialised (through envgen.cli._params),
    gets ImportError and leaves the command out ("no such command 'fuzz'")."""
    from envgen.cli import main

    if "fuzz" not in main.commands:
        main.add_command(fuzz)


_attach()


if __name__ == "__main__":
    fuzz(prog_name="envgen fuzz")
