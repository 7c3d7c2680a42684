"""Developer tools on the `envgen` command line: schema, new, show, play, bench.

`envgen.cli` attaches :data:`COMMANDS` to its group. This module is the click layer only:
options, printing, exit codes. The work is done in

- `envgen.compiler.schema`: the JSON Schema and the Markdown reference, from the models in
  `envgen.compiler.spec` and the DSL function table;
- `envgen.cli._resolve`: finding the env a command runs (a spec path or a registered id);
- `envgen.cli._show`: what `show` reports; `envgen.cli._scaffold`: the specs `new` writes;
- `envgen.cli._play` and `envgen.cli._media`: episodes, GIF / MP4 / PNG recordings and plots;
- `envgen.cli._bench`: steps per second of each backend.

Everything here prints a one-line error with a hint instead of a traceback (the
:class:`~envgen.cli._failure.Failure` those modules raise): exit 2 for a usage error (a missing
file, an unknown env id, a bad option), exit 1 when the command itself fails.

    envgen schema -o envgen.schema.json --markdown docs/reference.md
    python -m envgen.cli._commands reference          # the same two files, from the repo root
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from envgen.cli._failure import Failure
from envgen.cli._params import SEED, FiniteFloatRange, param_options, read_params
from envgen.cli._scaffold import TEMPLATES
from envgen.compiler.diagnostics import markup_safe as escape  # no ESC, bidi or markup
from envgen.compiler.schema import (
    REFERENCE_FILE,
    SCHEMA_FILE,
    reference_markdown,
    schema_text,
    write_if_changed,
)

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, hint: str = "", code: int = 1) -> None:
    stderr.print(f"[red]error[/red]: {escape(message)}")
    if hint:
        stderr.print(f"  [cyan]hint[/cyan]: {escape(hint)}")
    sys.exit(code)


class _Command(click.Command):
    """A click command that turns :class:`Failure` into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Failure as failure:
            _fail(failure.message, failure.hint, failure.code)
        except KeyboardInterrupt:
            stderr.print("interrupted")
            sys.exit(130)


# --- envgen schema ---------------------------------------------------------------------


@click.command(cls=_Command)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    callback=lambda ctx, param, value: _file_name(param, value),
    help=f"Write the JSON Schema here (e.g. {SCHEMA_FILE}); default: print it.",
)
@click.option(
    "--markdown",
    type=click.Path(dir_okay=False),
    callback=lambda ctx, param, value: _file_name(param, value),
    help=f"Also write the reference documentation (e.g. {REFERENCE_FILE}).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if the files given by -o / --markdown are stale.",
)
def schema(output: Path | None, markdown: Path | None, check: bool) -> None:
    """The JSON Schema of spec files, for editors (and the reference docs).

    Start a spec with `# yaml-language-server: $schema=envgen.schema.json` to get
    completion and validation in VS Code (Red Hat YAML) or Neovim (yamlls).
    """
    if output and markdown and os.path.realpath(output) == os.path.realpath(markdown):
        raise click.UsageError(
            f"-o and --markdown both name {output}: the reference would overwrite the schema; "
            f"give two files, e.g. -o {SCHEMA_FILE} --markdown {REFERENCE_FILE}"
        )
    outputs = [
        (output, schema_text) if output else None,
        (markdown, reference_markdown) if markdown else None,
    ]
    outputs = [o for o in outputs if o]
    if check:
        if not outputs:
            raise click.UsageError("--check needs -o and/or --markdown")
        stale = []
        for path, make in outputs:
            try:
                same = path.read_text(encoding="utf-8") == make()
            except OSError:
                same = False
            if not same:
                stale.append(str(path))
        if stale:
            raise Failure(
                f"out of date: {', '.join(stale)}",
                "regenerate with `envgen schema -o envgen.schema.json "
                "--markdown docs/reference.md`",
            )
        stdout.print(f"up to date: {', '.join(str(p) for p, _ in outputs)}")
        return
    if output is None:
        click.echo(schema_text(), nl=False)
    for path, make in outputs:
        try:
            changed = write_if_changed(path, make())
        except OSError as exc:
            raise Failure(
                f"cannot write {path}: {exc.strerror or exc}", "choose a writable path"
            ) from None
        stderr.print(f"{'wrote' if changed else 'unchanged'} {path}")


def _file_name(param: click.Parameter, value: str | None) -> Path | None:
    """A file to write, as given: not empty, and not a folder (a trailing `/`)."""
    if value is None:
        return None
    if not value.strip() or value.endswith(("/", os.sep)):
        raise click.BadParameter(
            f"'{value}' is not a file name; give a file, e.g. {SCHEMA_FILE}", param=param
        )
    return Path(value)


# --- envgen show -----------------------------------------------------------------------


@click.command(cls=_Command)
@click.argument("target", metavar="SPEC|ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@param_options
def show(
    target: str, as_json: bool, param_pairs: tuple[str, ...], params_file: Path | None
) -> None:
    """What an env is: params, spaces with bounds, reward, termination, time limit.

    SPEC is a spec file; ID a registered Gymnasium id (envgen's or any other), in any form
    gym.make takes (module:ns/Name-v0 imports the module from the current folder first).
    With -p/--params, spaces and limits are those of the env made with these params.
    """
    from envgen.cli._show import show_info, space_rows

    params = read_params(param_pairs, params_file)
    info = show_info(target, params)
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    stdout.print(f"[bold]{escape(info['id'])}[/bold]")
    if info["description"]:
        stdout.print(escape(info["description"]))
    stdout.print(f"[dim]source: {escape(info['source'] or info['entry_point'])}[/dim]")
    if info.get("trusted_hooks"):
        stdout.print(
            "[yellow]trusted code[/yellow]: reset()/step() import and run the Python hooks "
            f"{escape(', '.join(info['trusted_hooks']))}; review them (SECURITY.md)"
        )
    if info["params"]:
        table = Table(title="Params", title_justify="left")
        given = bool(params)
        columns = ("name", "type", "default", *(["value"] if given else []), "constraints", "doc")
        for column in columns:
            table.add_column(column)
        for p in info["params"]:
            value = [escape(repr(p["value"]))] if given else []
            table.add_row(
                p["name"],
                p["type"],
                escape(repr(p["default"])),
                *value,
                escape(", ".join(p["constraints"])),
                escape(p["doc"]),
            )
        stdout.print(table)
    table = Table(title="Spaces", title_justify="left")
    for column in ("space", "type", "shape", "dtype", "values"):
        table.add_column(column)
    for name in ("action_space", "observation_space"):
        for row in space_rows(name.removesuffix("_space"), info[name]):
            table.add_row(*(escape(str(c)) for c in row))
    stdout.print(table)
    table = Table(title="Dynamics", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    limit = info["max_episode_steps"]
    expr = info["max_episode_steps_expr"]
    if limit is not None and expr is not None and str(expr) != str(limit):
        limit_text = f"{limit} steps ({expr})"
    else:
        limit_text = f"{limit} steps" if limit is not None else "none"
    rows = [
        ("reward", info["reward"]),
        ("terminated", info["terminated"]),
        ("time limit", limit_text),
    ]
    rows += [(f"info.{k}", v) for k, v in info["info"].items()]
    rows += [
        ("render modes", ", ".join(info["render_modes"]) or "none"),
        (
            "vector env",
            info["vector_entry_point"]
            or f"SyncVectorEnv (no native one: {info.get('vector_fallback') or 'not vectorized'})",
        ),
        ("vector steps", info["vector_backend"]),
        ("jax", info.get("jax")),
    ]
    for what, value in rows:
        if value is not None:
            table.add_row(what, escape(str(value)))
    stdout.print(table)


# --- envgen new ------------------------------------------------------------------------


@click.command(cls=_Command)
@click.argument("name")
@click.option(
    "-t",
    "--template",
    type=click.Choice(TEMPLATES),
    default="discrete",
    show_default=True,
    help="What kind of env to start from.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="File (or folder) to write; default: specs/<name>.yaml if specs/ exists, "
    "else ./<name>.yaml.",
)
def new(name: str, template: str, output: Path | None) -> None:
    """Scaffold a commented spec NAME that builds and passes the conformance suite as is.

    NAME is an env name (GoRight, go_right) or a full id (acme/GoRight-v1).
    """
    from envgen.cli._scaffold import write_spec

    written = write_spec(name, template, output)
    path = written.path
    stdout.print(f"wrote {path} ({template} template, id {written.env_id})")
    if not written.schema_found:
        stdout.print(
            f"[yellow]note[/yellow]: no {SCHEMA_FILE} found above it; for editor "
            f"completion run `envgen schema -o {SCHEMA_FILE}`"
        )
    stdout.print(f"next: `envgen show {path}`, `envgen play {path}`, `envgen build {path.parent}`")


# --- envgen play -----------------------------------------------------------------------


@click.command(cls=_Command)
@click.argument("target", metavar="SPEC|ID")
@click.option(
    "--policy",
    default="random",
    show_default=True,
    help="'random' or 'module:function' taking an observation, returning an action.",
)
@click.option("-n", "--episodes", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Stop an episode after this many steps even without a time limit.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Record rgb_array frames: .gif, .mp4 (needs imageio-ffmpeg) or .png "
    "(a contact sheet of 8 frames).",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a PNG of reward, return and each observation dimension (drawn with "
    "matplotlib if installed, else Pillow).",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not print ansi frames.")
@param_options
def play(
    target: str,
    policy: str,
    episodes: int,
    seed: int,
    max_steps: int,
    out: Path | None,
    plot: Path | None,
    quiet: bool,
    param_pairs: tuple[str, ...],
    params_file: Path | None,
) -> None:
    """Run episodes of an env and show what it does: ansi frames, a GIF/MP4/PNG, a plot.

    SPEC is a spec file; ID a registered Gymnasium id, in any form gym.make takes.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from envgen.cli._media import WRITERS, check_frame, write_plot
    from envgen.cli._play import load_policy, run_episodes
    from envgen.cli._resolve import make_env, resolve

    writer_class = None
    if out is not None:
        writer_class = WRITERS.get(out.suffix.lower())
        if writer_class is None:
            raise Failure(
                f"--out {out}: unknown format '{out.suffix}'", "use .gif, .mp4 or .png", code=2
            )
    if plot is not None and plot.suffix.lower() != ".png":
        raise Failure(f"--plot {plot}: write a .png", code=2)
    for path in (out, plot):
        if path is not None and not path.resolve().parent.is_dir():
            raise Failure(f"no such folder: {path.parent}", code=2)
    params = read_params(param_pairs, params_file)
    resolved = resolve(target)
    env_id = resolved.env_id
    probe = make_env(env_id, params)
    modes = list(probe.unwrapped.metadata.get("render_modes", []))
    fps = probe.unwrapped.metadata.get("render_fps") or 30
    probe.close()
    if out is not None and "rgb_array" not in modes:
        raise Failure(
            f"{env_id} has no rgb_array render mode (it offers: "
            f"{', '.join(modes) or 'none'}), so there are no frames to record",
            "drop --out" + (" to print ansi frames" if "ansi" in modes else ""),
        )
    render_mode = (
        "rgb_array" if out is not None else ("ansi" if "ansi" in modes and not quiet else None)
    )
    env = make_env(env_id, params, render_mode=render_mode)
    act = load_policy(policy, env, seed)
    writer = writer_class(out, fps) if writer_class else None
    limit = env.spec.max_episode_steps if env.spec else None
    expected = episodes * min(limit or max_steps, max_steps)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal or expected < 200,
    )

    def on_frame(episode: int, step: int) -> None:
        if render_mode is None:
            return
        frame = env.render()
        if render_mode == "ansi":
            stdout.print(f"[dim]ep {episode} step {step:>4}[/dim] {escape(str(frame).rstrip())}")
        elif writer is not None and frame is not None:
            writer.add(check_frame(frame, env_id))

    try:
        with progress:
            task = progress.add_task(f"playing {env_id}", total=expected)
            played = run_episodes(
                env,
                act,
                policy=policy,
                episodes=episodes,
                seed=seed,
                max_steps=max_steps,
                on_frame=on_frame,
                on_step=lambda: progress.advance(task),
            )
    finally:
        env.close()
        if writer is not None:
            writer.close()
    table = Table(title=f"{env_id}, policy {policy}", title_justify="left")
    for column in ("episode", "seed", "steps", "return", "end"):
        table.add_column(column, justify="right" if column != "end" else "left")
    for e in played:
        table.add_row(str(e.index), str(e.seed), str(e.steps), f"{e.total:.4g}", e.end)
    stdout.print(table)
    if len(played) > 1:
        returns = [e.total for e in played]
        mean = sum(returns) / len(returns)
        stdout.print(f"mean return {mean:.4g} over {len(returns)} episodes")
    if out is not None:
        stdout.print(f"wrote {out}")
    if plot is not None:
        traces = [{"obs": e.obs, "rewards": e.rewards} for e in played]
        note = write_plot(plot, env_id, traces, env.observation_space)
        if note:
            stdout.print(f"[yellow]note[/yellow]: {escape(note)}")
        stdout.print(f"wrote {plot}")


# --- envgen bench ----------------------------------------------------------------------


@click.command(cls=_Command)
@click.argument("target", metavar="SPEC|ID")
@click.option(
    "-n",
    "--num-envs",
    type=click.IntRange(min=1, max=1_000_000),
    default=16,
    show_default=True,
    help="Sub-envs of the vector envs.",
)
@click.option(
    "-s",
    "--seconds",
    type=FiniteFloatRange(min=0.01, max=3600),
    default=1.0,
    show_default=True,
    help="Time spent measuring each backend.",
)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@param_options
def bench(
    target: str,
    num_envs: int,
    seconds: float,
    seed: int,
    as_json: bool,
    param_pairs: tuple[str, ...],
    params_file: Path | None,
) -> None:
    """Steps per second: the single env, SyncVectorEnv and the native vector env (if any).

    Actions are random (sampled beforehand); episodes reset when they end. Every backend
    is made with the same -p/--params.
    """
    from envgen.cli._bench import benchmark
    from envgen.cli._resolve import resolve

    params = read_params(param_pairs, params_file)
    env_id = resolve(target).env_id
    result = benchmark(env_id, num_envs, seconds, seed, params)
    rows, problem = result.rows, result.problem
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": env_id,
                    "params": params.values,
                    "seconds": seconds,
                    "results": rows,
                    "native": result.native,
                    "error": problem,
                },
                indent=2,
            )
        )
        if problem:
            sys.exit(1)
        return
    table = Table(
        title=f"{env_id}: env steps per second ({seconds:g} s each)", title_justify="left"
    )
    for column in ("backend", "envs", "steps/s", "vs single"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for row in rows:
        table.add_row(
            escape(row["backend"]),
            str(row["num_envs"]),
            f"{row['steps_per_s']:,.0f}",
            f"{row['speedup']:.2f}×",
        )
    stdout.print(table)
    if not result.native:
        stdout.print(
            "[dim]no native vector env registered for this id "
            "(gym.make_vec falls back to SyncVectorEnv)[/dim]"
        )
    if problem:
        raise Failure(f"the native vector env failed: {problem}")


COMMANDS = [schema, new, show, play, bench]


def _main(argv: list[str]) -> int:
    """`python -m envgen.cli._commands reference [ROOT]`: rewrite envgen.schema.json and
    docs/reference.md under ROOT (default: the current folder)."""
    if not argv or argv[0] != "reference":
        print(_main.__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1]) if len(argv) > 1 else Path(".")
    for path, text in (
        (root / SCHEMA_FILE, schema_text()),
        (root / REFERENCE_FILE, reference_markdown()),
    ):
        print(f"{'wrote' if write_if_changed(path, text) else 'unchanged'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
