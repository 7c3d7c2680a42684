"""Shared fixtures: the committed generated package and helpers to build specs in tmp dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

# pygame (pulled in by minigrid) renders headless; without this SDL warns on every render.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def run_envgen(
    *args: str,
    cwd: Path = ROOT,
    check: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run the real `envgen` CLI in a subprocess (`env`: its whole environment)."""
    result = subprocess.run(
        [sys.executable, "-m", "envgen.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"envgen {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def generated_ids() -> list[str]:
    import generated

    return sorted(generated.ENVS)
