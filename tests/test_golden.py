"""Golden-file tests: the exact code generated for a few fixed specs.

When a change to the compiler changes generated code on purpose, regenerate with
`ENVGEN_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envgen.build import compile_specs

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
EXPECTED = GOLDEN / "generated"


def _compiled() -> dict[str, str]:
    """The single-env modules (the vector backend and registry have tests of their own)."""
    compiled = compile_specs([GOLDEN / "specs"], out_dir=EXPECTED)
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    return {
        name: text
        for name, text in compiled.files.items()
        if name != "__init__.py" and not name.endswith(("_vector.py", "_jax.py"))
    }


def test_golden_files_match() -> None:
    files = _compiled()
    if os.environ.get("ENVGEN_UPDATE_GOLDEN"):
        EXPECTED.mkdir(exist_ok=True)
        for stale in EXPECTED.glob("*.py"):
            stale.unlink()
        for name, text in files.items():
            (EXPECTED / name).write_text(text, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in EXPECTED.glob("*.py")}
    assert sorted(files) == sorted(expected)
    for name, text in files.items():
        assert text == expected[name], f"{name} differs from its golden file"


@pytest.mark.parametrize("name", ["envgen_go_left_v0.py", "envgen_dict_navigation_v0.py"])
def test_generated_code_reads_like_gymnasium(name: str) -> None:
    text = _compiled()[name]
    for section in (
        "## Description",
        "## Action Space",
        "## Observation Space",
        "## Rewards",
        "## Starting State",
        "## Episode End",
        "## Arguments",
    ):
        assert section in text
    assert "def reset(" in text and "super().reset(seed=seed)" in text
    assert "metadata = {" in text


def test_builds_are_byte_for_byte_reproducible(tmp_path: Path) -> None:
    """Two builds in separate processes, with different hash seeds (set and dict orders of
    strings differ between them), write identical bytes."""
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"build{seed}" / "pkg"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-m", "envgen.cli", "build", str(ROOT / "specs"), "-o", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        outputs.append({p.name: p.read_bytes() for p in sorted(out.glob("*.py"))})
    assert len(outputs[0]) > 20 and outputs[0] == outputs[1]
