"""Finding the env a developer command runs: a spec path (compiled in memory and
registered) or a registered Gymnasium id, with a did-you-mean hint when it is neither."""

from __future__ import annotations

import difflib
import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envgen.cli._failure import Failure
from envgen.cli._params import Params, param_failure


@dataclass
class Resolved:
    """The env a command runs: its id, and the spec it came from when known."""

    env_id: str
    spec_path: Path | None = None
    model: Any = None  # envgen.compiler.analysis.EnvModel when known


def _load_generated() -> None:
    try:
        importlib.import_module("generated")
    except ImportError:
        pass


def _registered_ids() -> list[str]:
    import gymnasium as gym

    _load_generated()
    return sorted(gym.registry)


def _suggest_id(env_id: str, ids: list[str]) -> str:
    lowered = {i.lower(): i for i in ids}
    if env_id.lower() in lowered:
        return f"did you mean '{lowered[env_id.lower()]}'?"
    close = difflib.get_close_matches(env_id, ids, n=2, cutoff=0.8) or difflib.get_close_matches(
        env_id, ids, n=1, cutoff=0.6
    )
    if not close:
        short = {i.split("/")[-1]: i for i in ids}
        close = [short[c] for c in difflib.get_close_matches(env_id, list(short), n=3, cutoff=0.6)]
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return 'list ids with `python -c "import gymnasium, generated; gymnasium.pprint_registry()"`'


#: `module:id`, as `gym.make` takes it: the module is imported first (it registers the id).
_MODULE_ID = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[^:\\]+$")


def _looks_like_path(target: str) -> bool:
    if Path(target).exists():
        return True
    if _MODULE_ID.match(target):
        return False
    return (
        target.endswith((".yaml", ".yml"))
        or "\\" in target
        or ("/" in target and not re.search(r"-v\d+$", target))
    )


def resolve(target: str) -> Resolved:
    """A spec path (compiled in memory and registered) or an id in any form `gym.make`
    takes: `ns/Name-v0`, `Name-v0`, `ns/Name` (its latest version), `module:ns/Name-v0`
    (the module, importable from the current folder, registers it)."""
    if _looks_like_path(target):
        path = Path(target)
        if not path.exists():
            if "/" in target and not target.endswith((".yaml", ".yml")):
                try:  # a versionless id such as `envgen/GoLeft` looks like a path too
                    return _resolve_id(target)
                except Failure:
                    pass
            hint = ""
            if path.parent.is_dir():
                names = [p.name for p in path.parent.iterdir()]
                close = difflib.get_close_matches(path.name, names, n=1)
                if close:
                    hint = f"did you mean '{path.parent / close[0]}'?"
            raise Failure(
                f"no such file: {target}",
                hint or "give a spec file (.yaml) or an env id such as envgen/GoLeft-v0",
                code=2,
            )
        if path.is_dir():
            specs = sorted(list(path.glob("*.yaml")) + list(path.glob("*.yml")))
            if len(specs) != 1:
                raise Failure(
                    f"{target} is a folder with {len(specs)} specs", "give one spec file", code=2
                )
            path = specs[0]
        return _resolve_spec(path)
    return _resolve_id(target)


def _resolve_id(target: str) -> Resolved:
    """The registered id `gym.make(target)` would make, found the way `gym.make` finds it."""
    import warnings

    ids = _registered_ids()
    module = target.split(":", 1)[0] if _MODULE_ID.match(target) else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            env_spec = _find_spec(target)
        except ModuleNotFoundError as exc:
            raise Failure(
                f"cannot import module '{module}' (named by '{target}'): {exc.msg}",
                "run envgen from the folder that holds it (the current folder is importable), "
                "or install it",
                code=2,
            ) from None
        except Exception as exc:  # noqa: BLE001 - an unknown id, or a module that fails
            if module is not None and module not in sys.modules:
                raise Failure(
                    f"importing module '{module}' (named by '{target}') failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            bare = target.split(":", 1)[1] if module else target
            registry = sys.modules.get(module or "generated")
            if bare in (getattr(registry, "MULTIAGENT_ENVS", None) or {}):
                raise Failure(
                    f"'{bare}' is a multi-agent (PettingZoo) env of module "
                    f"'{registry.__name__}': this command takes single-agent (Gymnasium) envs",
                    f"use envgen.multiagent.make({target!r}) in Python, or "
                    f"`envgen fuzz {target}` for multi-agent checks",
                    code=2,
                ) from None
            raise Failure(
                f"unknown env id '{bare}'"
                + (f" (module '{module}' does not register it)" if module else ""),
                _suggest_id(bare, sorted(set(ids) | set(_registered_ids()))),
                code=2,
            ) from None
    for warning in caught:
        text = str(warning.message)
        if "latest versioned environment" in text or "out of date" in text:
            from envgen.cli import stderr

            stderr.print(f"[yellow]note[/yellow]: {_plain(text)}")
    return Resolved(env_spec.id, _spec_of_registered(env_spec.id))


def _plain(text: str) -> str:
    """A Gymnasium warning without its colour codes and `WARN:` prefix, markup-escaped."""
    from envgen.compiler.diagnostics import markup_safe as escape  # no ESC, bidi or markup

    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return escape(text.removeprefix("WARN: ").strip())


def _find_spec(target: str) -> Any:
    """`gym.make`'s own lookup (imports `module:`, picks the latest version of a
    versionless id); the public `gym.spec` where a Gymnasium lacks it."""
    import gymnasium as gym

    try:
        from gymnasium.envs.registration import _find_spec as find
    except ImportError:  # pragma: no cover - Gymnasium 1.x has it
        if ":" in target:
            importlib.import_module(target.split(":", 1)[0])
            target = target.split(":", 1)[1]
        return gym.spec(target)
    return find(target)


def _resolve_spec(path: Path) -> Resolved:
    from envgen.build import check_spec, env_ids_from_specs
    from envgen.cli import print_diagnostics
    from envgen.compiler.diagnostics import DiagnosticError

    model, diagnostics = check_spec(path)
    if diagnostics:
        print_diagnostics(diagnostics)
        raise Failure(f"{path} has errors (see above)", "fix them; `envgen validate` checks a spec")
    if model is not None and hasattr(model, "roles"):  # a multi-agent spec (PettingZoo)
        raise Failure(
            f"{path} is a multi-agent spec: this command takes single-agent (Gymnasium) envs",
            "use envgen.multiagent.make(id) in Python, or `envgen fuzz` for multi-agent checks",
        )
    try:
        ids = env_ids_from_specs([path])
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        raise Failure(f"{path} has errors (see above)") from None
    except Exception as exc:  # noqa: BLE001 - a compiler crash is still one line
        raise Failure(
            f"envgen crashed compiling {path}: {type(exc).__name__}: {exc}",
            "this is a bug in envgen; `envgen build` then an id may work",
        ) from None
    return Resolved(ids[0], path, model)


def _spec_of_registered(env_id: str) -> Path | None:
    """The spec file a generated env came from (its module's `# Source:` line), if present."""
    import gymnasium as gym

    entry = gym.registry[env_id].entry_point
    if not isinstance(entry, str) or ":" not in entry:
        return None
    try:
        module = importlib.import_module(entry.split(":", 1)[0])
    except Exception:  # noqa: BLE001
        return None
    file = getattr(module, "__file__", None)
    if not file:
        return None
    try:
        head = Path(file).read_text(encoding="utf-8")[:2000]
    except OSError:
        return None
    match = re.search(r"^# Source: '([^']+)'", head, re.M)
    if not match:
        return None
    candidate = Path(file).resolve().parent.parent / match.group(1)
    return candidate if candidate.is_file() else None


def make_env(env_id: str, params: Params | None = None, **kwargs: Any) -> Any:
    """`gym.make` with the command line's params, or a :class:`Failure` saying why the env
    cannot be made (a refused param: its name, its constraint and where it was given)."""
    import gymnasium as gym

    from envgen.runtime import InvalidParam

    values = dict(params.values) if params else {}
    try:
        return gym.make(env_id, **{**values, **kwargs})
    except Exception as exc:  # noqa: BLE001 - an env that cannot be made is a failure
        if params is not None and (
            isinstance(exc, InvalidParam)
            or (isinstance(exc, TypeError) and "keyword argument" in str(exc))
        ):
            raise param_failure(env_id, exc, params) from None
        raise Failure(f"cannot make {env_id}: {type(exc).__name__}: {exc}") from None
