"""The custom-environments notebook in full, RLlib cells included, in a real Jupyter kernel
of the RL venv (`.ci/rl-tests`): specs written as text in cells are registered with
`register_env` and trained with PPO in remote env runners (a CNN for the image spec).
tests/test_notebooks.py runs the same notebook without its `rllib` cells everywhere."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("ray.rllib")
pytest.importorskip("torch")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "custom_environments.ipynb"


def test_custom_environments_notebook_trains_with_rllib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipykernel.kernelspec import write_kernel_spec

    kernels = tmp_path / "jupyter" / "kernels" / "envgen-rl"
    write_kernel_spec(kernels)
    spec = json.loads((kernels / "kernel.json").read_text())
    spec["argv"][0] = sys.executable  # this venv's Python, whatever else is installed
    (kernels / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    workdir = tmp_path / "work"
    workdir.mkdir()

    nb = nbformat.read(NOTEBOOK, as_version=4)
    rllib_cells = [c for c in nb.cells if "rllib" in c.metadata.get("tags", [])]
    assert len(rllib_cells) >= 4
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="envgen-rl", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    text = {  # what the cells printed (Ray's warnings go to stderr)
        id(c): "".join(
            o["text"] for o in c.outputs if o["output_type"] == "stream" and o["name"] == "stdout"
        )
        for c in rllib_cells
    }
    assert all(c.execution_count for c in rllib_cells)
    assert any("environments registered" in t for t in text.values())
    learned = next(t for t in text.values() if "mean episode length" in t)
    lengths = [float(x) for x in re.findall(r"mean episode length ([0-9.]+)", learned)]
    assert lengths[-1] <= 11 < lengths[0], lengths  # PPO learned to go left
    assert any("convolution layers" in t for t in text.values())
