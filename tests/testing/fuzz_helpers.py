"""Helpers for the envgen.testing tests (a plain module: tests/conftest.py is taken)."""

from __future__ import annotations

import ast
import re
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
    """The first of several versions of an env id registered in this Gymnasium (else a failure:
    a bundled env that went missing must not pass unnoticed)."""
    for env_id in candidates:
        if env_id in gym.registry:
            return env_id
    pytest.fail(f"none of {candidates} is registered in gymnasium {gym.__version__}")


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


MARK = "# <- "


def marked_line(source: str) -> int:
    """The 1-based line of the reproduction marked as the failing call (exactly one)."""
    marked = [i for i, line in enumerate(source.splitlines(), 1) if MARK in line]
    assert len(marked) == 1, f"expected one marked line, found {marked}:\n{source}"
    return marked[0]


def failing_line(stderr: str, script: str = "repro.py") -> int:
    """The line of ``script`` where the traceback in ``stderr`` left it (its last frame there)."""
    lines = re.findall(rf'File ".*{re.escape(script)}", line (\d+)', stderr)
    assert lines, f"no traceback through {script}:\n{stderr}"
    return int(lines[-1])


def assert_fails_at_mark(
    source: str, tmp_path: Path, shows: str = ""
) -> subprocess.CompletedProcess:
    """Run a reproduction: it must fail, in the statement it marks, showing ``shows``."""
    run = run_python(source, tmp_path)
    assert run.returncode != 0, f"the reproduction did not fail:\n{source}\n{run.stdout}"
    mark = marked_line(source)
    statement = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.stmt) and node.lineno == mark
    )
    line = failing_line(run.stderr)
    assert statement.lineno <= line <= statement.end_lineno, (
        f"failed at line {line}, not at the marked line {mark}:\n{run.stderr}\n---\n{source}"
    )
    assert shows in run.stderr, f"{run.stderr}\n---\n{source}"
    return run
