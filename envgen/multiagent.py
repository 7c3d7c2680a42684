"""Multi-agent envs by id: `envgen.multiagent.make("envgen/TicTacToe-v0")`.

Multi-agent specs compile to PettingZoo modules (not Gymnasium envs, so they are not in
Gymnasium's registry). The output package lists them in `MULTIAGENT_ENVS`; `make` finds an
id there (importing `generated`, or the package named before a colon as in
`"mypkg:envgen/TicTacToe-v0"`), or in what `register` added (specs compiled in memory).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["from_specs", "make", "module", "register", "registered"]

_REGISTRY: dict[str, str | ModuleType] = {}


def register(env_id: str, target: str | ModuleType) -> None:
    """Make `env_id` reachable by `make`: `target` is a module or its import path."""
    _REGISTRY[env_id] = target


def from_specs(paths: list[Any]) -> list[str]:
    """Compile spec files in memory, register their multi-agent envs, return their ids.

    Raises `DiagnosticError` when a spec has a problem. (`envgen fuzz spec.yaml` uses it.)
    """
    import tempfile
    from pathlib import Path

    from envgen.build import _import_file, compile_specs
    from envgen.compiler.diagnostics import DiagnosticError

    compiled = compile_specs([Path(p) for p in paths])
    if compiled.diagnostics:
        raise DiagnosticError(compiled.diagnostics)
    directory = Path(tempfile.mkdtemp(prefix="envgen-ma-"))
    ids = []
    for model in compiled.multiagent:
        path = directory / f"{model.module_name}.py"
        path.write_text(compiled.files[path.name], encoding="utf-8")
        register(model.spec.id, _import_file(path, f"_envgen_specs.{model.module_name}"))
        ids.append(model.spec.id)
    return ids


def registered() -> list[str]:
    """Every multi-agent id `make` can reach now (after importing `generated` if it can)."""
    _load_package("generated", quiet=True)
    return sorted(_REGISTRY)


def _load_package(package: str, quiet: bool = False) -> None:
    try:
        imported = importlib.import_module(package)
    except ImportError:
        if quiet:
            return
        raise
    for env_id, path in getattr(imported, "MULTIAGENT_ENVS", {}).items():
        _REGISTRY.setdefault(env_id, path)


def module(env_id: str) -> ModuleType:
    """The generated PettingZoo module of `env_id` (it has `env`, `raw_env`, and
    `parallel_env` where the game is simultaneous)."""
    package, _, bare = env_id.rpartition(":")
    if package:
        _load_package(package)
    elif bare not in _REGISTRY:
        _load_package("generated", quiet=True)
    if bare not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(
            f"no multi-agent env '{bare}' (known: {known}); build its spec with `envgen build`"
        )
    target = _REGISTRY[bare]
    return importlib.import_module(target) if isinstance(target, str) else target


def make(env_id: str, parallel: bool = False, **params: Any) -> Any:
    """A new env: a PettingZoo `AECEnv`, or with `parallel=True` a `ParallelEnv` (only
    for simultaneous games; turn-based ones are AEC only). `params` go to the env."""
    found = module(env_id)
    if parallel:
        if not hasattr(found, "parallel_env"):
            raise ValueError(
                f"{env_id} is turn-based: it has no parallel form; make it with parallel=False"
            )
        return found.parallel_env(**params)
    return found.env(**params)
