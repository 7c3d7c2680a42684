"""Helpers for the envgen.testing tests (a plain module: tests/conftest.py is taken)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

HERE = Path(__file__).resolve().parent
BROKEN = HERE / "broken_envs.py"


def broken(name: str) -> str:
    """A `path/to/file.py:Class` target for one of the deliberately broken envs."""
    return f"{BROKEN}:{name}"


def registered(*candidates: str) -> str:
    """The first of several versions of an env id registered in this Gymnasium."""
    for env_id in candidates:
        if env_id in gym.registry:
            return env_id
    pytest.skip(f"none of {candidates} is registered")


def run_python(source: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a Python script in a fresh interpreter (outside the repository)."""
    script = tmp_path / "repro.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
