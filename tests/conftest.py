"""Shared fixtures: the committed generated package and helpers to build specs in tmp dirs."""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

#: Numbers the packages `build_package` writes: Python caches imports by name, so a name
#: used twice in one run would import the first spec's module for the second.
_PACKAGES = itertools.count()

# pygame (pulled in by minigrid) renders headless; without this SDL warns on every render.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def envgen_script() -> str:
    """The installed `envgen` console script, as a user types `envgen ...` (`python -m`
    would put the working folder first on sys.path by itself)."""
    script = Path(sys.executable).with_name("envgen")
    if not script.exists():
        pytest.fail(f"the envgen console script is not installed next to {sys.executable}")
    return str(script)


def run_envgen(
    *args: str,
    cwd: Path = ROOT,
    check: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    script: bool = False,
    no_traceback: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real `envgen` CLI in a subprocess (`env`: its whole environment; `script`:
    the console script rather than `python -m envgen.cli`; `no_traceback`: fail the test
    if the command printed one)."""
    command = [envgen_script()] if script else [sys.executable, "-m", "envgen.cli"]
    result = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"envgen {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    if no_traceback:
        assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="session")
def generated_ids() -> list[str]:
    import generated

    return sorted(generated.ENVS)


class BuiltPackage(NamedTuple):
    """What `build_package` built and imported."""

    package: str
    compiled: Any  # envgen.build.Compiled
    model: Any  # the spec's EnvModel
    single: type
    vector: type | None  # None where the compiler wrote no vector module
    jax: ModuleType | None  # imported only when asked for, where JAX is installed


def build_package(
    tmp_path: Path,
    spec: str | Path,
    *,
    spec_name: str = "spec.yaml",
    register: bool = False,
    jax: bool = False,
) -> BuiltPackage:
    """Compile one spec (its text, written to `tmp_path / spec_name`, or a spec file),
    write it as a package of its own (a fresh name each call) under `tmp_path` and import
    its single env and vector env classes; `register` also imports the package itself (it
    registers the env with Gymnasium), `jax` its JAX module where JAX is installed.
    sys.path holds `tmp_path` only while the modules are imported."""
    from envgen.build import compile_specs, write

    if isinstance(spec, str):
        path = tmp_path / spec_name
        path.write_text(spec)
        spec = path
    package = f"built_{os.getpid()}_{next(_PACKAGES)}"
    compiled = compile_specs([spec], tmp_path / package)
    assert not compiled.diagnostics, "\n".join(d.format() for d in compiled.diagnostics)
    write(compiled, tmp_path / package)
    (model,) = compiled.models
    name = model.module_name
    sys.path.insert(0, str(tmp_path))
    try:
        if register:
            importlib.import_module(package)
        single = getattr(importlib.import_module(f"{package}.{name}"), model.class_name)
        vector = None
        if f"{name}_vector.py" in compiled.files:
            module = importlib.import_module(f"{package}.{name}_vector")
            vector = getattr(module, f"{model.class_name.removesuffix('Env')}VectorEnv")
        jax_module = None
        if jax and importlib.util.find_spec("jax") is not None:
            jax_module = importlib.import_module(f"{package}.{name}_jax")
    finally:
        sys.path.remove(str(tmp_path))
    return BuiltPackage(package, compiled, model, single, vector, jax_module)
