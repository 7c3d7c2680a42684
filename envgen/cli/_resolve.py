"""Finding the env a developer command runs: a spec path (compiled in memory and
registered) or a registered Gymnasium id, with a did-you-mean hint when it is neither."""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envgen.cli._failure import Failure


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


def _looks_like_path(target: str) -> bool:
    return (
        target.endswith((".yaml", ".yml"))
        or "\\" in target
        or Path(target).exists()
        or ("/" in target and not re.search(r"-v\d+$", target))
    )


def resolve(target: str) -> Resolved:
    """A spec path (compiled in memory and registered) or a registered id."""
    import gymnasium as gym

    if _looks_like_path(target):
        path = Path(target)
        if not path.exists():
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
    ids = _registered_ids()
    if target not in gym.registry:
        try:  # `module:Env-v0` imports the module first
            gym.spec(target)
        except Exception:  # noqa: BLE001 - any failure is an unknown id
            raise Failure(f"unknown env id '{target}'", _suggest_id(target, ids), code=2) from None
        target = target.split(":", 1)[-1] if ":" in target else target
    return Resolved(target, _spec_of_registered(target))


def _resolve_spec(path: Path) -> Resolved:
    from envgen.build import check_spec, env_ids_from_specs
    from envgen.cli import print_diagnostics
    from envgen.compiler.diagnostics import DiagnosticError

    model, diagnostics = check_spec(path)
    if diagnostics:
        print_diagnostics(diagnostics)
        raise Failure(f"{path} has errors (see above)", "fix them; `envgen validate` checks a spec")
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


def make_env(env_id: str, **kwargs: Any) -> Any:
    """`gym.make`, or a :class:`Failure` saying why the env cannot be made."""
    import gymnasium as gym

    try:
        return gym.make(env_id, **kwargs)
    except Exception as exc:  # noqa: BLE001 - an env that cannot be made is a failure
        raise Failure(f"cannot make {env_id}: {type(exc).__name__}: {exc}") from None
