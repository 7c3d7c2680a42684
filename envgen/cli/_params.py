"""Params from the command line: `-p NAME=VALUE` (repeatable) and `--params FILE.yaml`.

`play`, `show`, `bench` and `fuzz` take them. Each VALUE is read as YAML (with envgen's
YAML 1.2 booleans), so `-p size=7` is an int, `-p layout='[S.., .#., ..G]'` a list of
strings and `-p name=on` the string "on". A `-p` wins over the same key in the file. The
values are checked by the env itself at construction (`InvalidParam` names the param and
its constraint); :func:`param_failure` turns that into a one-line error that also says
where the value came from (`-p size=1`, or `params.yaml:2:7`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from envgen.cli._failure import Failure

#: Seeds as Gymnasium and NumPy take them: whole numbers from 0 to 2**63 - 1.
SEED = click.IntRange(min=0, max=2**63 - 1)


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan and inf (click lets nan through any range)."""

    name = "finite float range"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


_NAME = re.compile(r"^[A-Za-z_]\w*$")


@dataclass
class Params:
    """Params given on the command line, and where each one came from (for messages)."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # name -> "-p x=1" or "f.yaml:2:3"

    def __bool__(self) -> bool:
        return bool(self.values)


def param_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The click options `-p/--param NAME=VALUE` (repeatable) and `--params FILE`."""
    command = click.option(
        "--params",
        "params_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="A YAML file mapping param names to values (-p overrides it).",
    )(command)
    return click.option(
        "-p",
        "--param",
        "param_pairs",
        multiple=True,
        metavar="NAME=VALUE",
        help="Set a param of the env (repeatable); VALUE is read as YAML: "
        "-p size=7, -p layout='[S.., .#., ..G]'.",
    )(command)


def read_params(pairs: tuple[str, ...] | list[str], file: Path | None = None) -> Params:
    """The params of `--params FILE` then every `-p NAME=VALUE`; a :class:`Failure` (exit 2)
    for a malformed pair, a file that is not a YAML mapping, or a value that is not YAML."""
    from envgen.compiler.diagnostics import DiagnosticError
    from envgen.compiler.load import load_value

    params = Params()
    if file is not None:
        _read_file(file, params)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise Failure(
                f"-p {pair}: expected NAME=VALUE",
                "e.g. -p size=7 or -p layout='[S.., .#., ..G]' (the value is read as YAML)",
                code=2,
            )
        try:
            value = load_value(text, f"-p {name}") if text.strip() else ""
        except DiagnosticError as exc:
            problem = exc.diagnostics[0]
            raise Failure(
                f"-p {name}=...: the value is not valid YAML ({problem.message})",
                problem.hint
                if problem.code.startswith("yaml-too")
                else "quote it to pass text: -p name='\"a, b\"'",
                code=2,
            ) from None
        params.values[name] = value
        params.origins[name] = f"-p {pair}"
    return params


def _read_file(file: Path, params: Params) -> None:
    from envgen.cli import print_diagnostics
    from envgen.compiler.diagnostics import DiagnosticError
    from envgen.compiler.load import load_document

    if not file.is_file():
        raise Failure(f"--params {file}: no such file", code=2)
    try:
        document = load_document(file)
    except DiagnosticError as exc:
        # the loader reads specs: "not a mapping" and "empty" are said here in params' terms
        if not {d.code for d in exc.diagnostics} <= {"spec-not-mapping", "spec-empty"}:
            print_diagnostics(exc.diagnostics)
            raise Failure(f"--params {file} is not valid YAML (see above)", code=2) from None
        document = None
    if document is None or not isinstance(document.data, dict):
        raise Failure(
            f"--params {file}: expected a mapping of param names to values",
            "e.g. a file holding `size: 7` and `layout: [S.., .#., ..G]`, one param a line",
            code=2,
        )
    for name, value in document.data.items():
        if not isinstance(name, str) or not _NAME.match(name):
            location = document.location((name,))
            raise Failure(f"{location}: '{name}' is not a param name", code=2)
        params.values[name] = value
        params.origins[name] = str(document.location((name,)))


def param_failure(env_id: str, exc: Exception, params: Params) -> Failure:
    """A one-line :class:`Failure` for an env that refused its params (exit 2), naming the
    param, its constraint, and where the value was given; the valid params as the hint."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    named = re.search(r"param '([^']+)'", message)
    origin = params.origins.get(named.group(1)) if named else None
    if origin is None:  # a TypeError of a hand-written env: "unexpected keyword argument 'x'"
        keyword = re.search(r"keyword argument '([^']+)'", message)
        origin = params.origins.get(keyword.group(1)) if keyword else None
    where = f" (given by {origin})" if origin else ""
    return Failure(f"{message}{where}", _valid_params_hint(env_id), code=2)


def _valid_params_hint(env_id: str) -> str:
    """'params of X: size (int, >= 2, default 10), ...' for an envgen env, else ''."""
    import importlib

    import gymnasium as gym

    env_id = env_id.split(":", 1)[-1]  # `module:ns/Name-v0`
    entry = gym.registry[env_id].entry_point if env_id in gym.registry else None
    module = None
    if isinstance(entry, str) and ":" in entry:
        try:
            module = importlib.import_module(entry.split(":", 1)[0])
        except Exception:  # noqa: BLE001 - the hint is best effort
            module = None
    elif entry is not None:
        module = importlib.import_module(getattr(entry, "__module__", "builtins"))
    declared = getattr(module, "PARAMS", None)
    if not declared:
        return ""
    parts = []
    for param in declared:
        bits = [param.type]
        bits += [
            f"{op} {_number(getattr(param, attr))}"
            for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
            if getattr(param, attr, None) is not None
        ]
        if getattr(param, "choices", None):
            bits.append("one of " + ", ".join(map(repr, param.choices)))
        bits.append(f"default {param.default!r}")
        parts.append(f"{param.name} ({', '.join(bits)})")
    return f"params of {env_id}: " + "; ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
