"""docs/training.md's Python blocks run, in order, in one namespace (like tests/test_docs.py,
which skips the blocks whose `requires=` modules are missing, as in the main venv)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "training.md"
BLOCK = re.compile(r"^```python(?P<flags>[^\n]*)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[int, dict[str, str], str]]:
    text = DOC.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        flags = dict(word.partition("=")[::2] for word in match["flags"].split())
        line = text.count("\n", 0, match.start("code")) + 1
        blocks.append((line, flags, match["code"]))
    return blocks


def test_training_doc_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks()
    required = {m for _, flags, _ in blocks for m in flags.get("requires", "").split(",") if m}
    for module in sorted(required):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"docs/training.md needs {module} (the RL venv: .ci/rl-tests)")
    request.getfixturevalue("ray_results")  # HOME and ~/ray_results in a temporary folder
    work = Path(tempfile.mkdtemp(prefix="envgen-doc-"))
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Unix socket paths
    monkeypatch.chdir(work)
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    try:
        for line, flags, code in blocks:
            if "skip" in flags:
                continue
            exec(compile(code, f"{DOC}:{line}", "exec"), namespace)  # noqa: S102
    finally:
        ray = namespace.get("ray")
        if ray is not None:
            ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ray_tmp, ignore_errors=True)
