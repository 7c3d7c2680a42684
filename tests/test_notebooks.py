"""The notebooks in examples/ run top to bottom in a real Jupyter kernel (nbclient +
ipykernel), and envgen's notebook face works there: `envgen.make` from a cell's text,
`%%envgen`, spec errors without tracebacks, episodes shown inline.

Cells tagged `rllib` need Ray RLlib: here (the main venv, no Ray) they are left out, and
tests/integration/test_notebooks_rllib.py runs the whole notebook in the RL venv
(`.ci/rl-tests`). Cells tagged `raises-exception` must raise (nbclient's convention).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
HAS_RAY = importlib.util.find_spec("ray") is not None


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kernelspec for this very interpreter (a `python3` kernelspec installed elsewhere on
    the machine could start another Python), found through JUPYTER_PATH."""
    from ipykernel.kernelspec import write_kernel_spec

    share = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(share / "kernels" / "envgen-test")
    spec = json.loads((share / "kernels" / "envgen-test" / "kernel.json").read_text())
    spec["argv"][0] = sys.executable
    (share / "kernels" / "envgen-test" / "kernel.json").write_text(json.dumps(spec))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(share))
    mp.setenv("SDL_VIDEODRIVER", "dummy")
    yield "envgen-test"
    mp.undo()


def execute(nb, workdir: Path, kernel_name: str, timeout: int = 600):
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return nb


def without_rllib_cells(nb) -> tuple[object, int]:
    kept = [c for c in nb.cells if "rllib" not in c.get("metadata", {}).get("tags", [])]
    dropped = len(nb.cells) - len(kept)
    nb.cells = kept
    return nb, dropped


def outputs(cell) -> list[dict]:
    return list(cell.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, kernel_name: str) -> None:
    nb = nbformat.read(path, as_version=4)
    if not HAS_RAY:
        nb, _ = without_rllib_cells(nb)
    execute(nb, tmp_path, kernel_name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)
    for cell in code:
        errors = [o for o in outputs(cell) if o["output_type"] == "error"]
        expected = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == expected, (cell.source[:200], errors)
        for error in errors:  # a spec error: its diagnostics, not a traceback wall
            text = "\n".join(error["traceback"])
            assert error["ename"] == "SpecError" and "Traceback" not in text, text
            assert "<spec>:" in text and "hint:" in text, text
    # every episode shown inline is a real animation (a GIF) or text
    shown = [
        o["data"]["text/html"]
        for c in code
        for o in outputs(c)
        if o["output_type"] == "execute_result" and "text/html" in o.get("data", {})
    ]
    gifs = [h for h in shown if "data:image/gif;base64," in h]
    for page in gifs:
        data = page.split("data:image/gif;base64,", 1)[1].split("'", 1)[0]
        assert base64.b64decode(data)[:6] in (b"GIF87a", b"GIF89a")
    assert gifs, "no episode animation was shown"
    # nothing written to the working folder by envgen (Hypothesis, which envgen.testing.fuzz
    # runs, keeps its own cache of constants in ./.hypothesis whatever its database setting)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".hypothesis") == []


def test_notebooks_exist_and_are_clean() -> None:
    """Two walkthroughs, committed without outputs (the test run makes them)."""
    names = {p.name for p in NOTEBOOKS}
    assert {"gymnasium_basic_usage.ipynb", "custom_environments.ipynb"} <= names
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def _cells(*sources: str, raises: tuple[int, ...] = ()) -> object:
    nb = nbformat.v4.new_notebook()
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if i in raises:
            cell.metadata["tags"] = ["raises-exception"]
        nb.cells.append(cell)
    return nb


CORRIDOR = """id: nbtest/Corridor-v0
params:
  size: {default: 5, ge: 2}
action_space: {Discrete: 2, labels: [left, right]}
observation_space: {Box: {low: 0, high: size, shape: [1], dtype: float32}}
state:
  pos: {dtype: int64, init: size - 1}
step: |
  pos = clip(pos + (1 if action == RIGHT else -1), 0, size)
observation: [pos]
reward: 1.0 if pos == 0 else 0.0
terminated: pos == 0
max_episode_steps: 50
render:
  ansi: "{{ '.' * pos }}x{{ '.' * (size - pos) }}"
"""


def test_magic_make_errors_and_episodes_in_a_kernel(tmp_path: Path, kernel_name: str) -> None:
    typo = CORRIDOR.replace("clip(pos +", "clip(poss +")
    nb = _cells(
        "%load_ext envgen\nimport envgen, gymnasium as gym",
        f"%%envgen corridor -p size=3\n{CORRIDOR}",
        "print(corridor.reset(seed=0)[0].tolist(), gym.make('nbtest/Corridor-v0').spec.id)",
        f"envgen.make({typo!r})",
        f"%%envgen\n{typo}",
        f"envgen.make({CORRIDOR!r}, size=1)",
        "envgen.show_episode('nbtest/Corridor-v0', policy=lambda o: 0, size=4)",
        f"envgen.check({typo!r})",
        raises=(3, 4, 5),
    )
    execute(nb, tmp_path, kernel_name, timeout=300)
    cells = nb.cells
    assert "[2.0] nbtest/Corridor-v0" in cells[2].outputs[0]["text"]
    for index in (3, 4):  # a broken spec: located diagnostics, no traceback
        [error] = [o for o in cells[index].outputs if o["output_type"] == "error"]
        text = "\n".join(error["traceback"])
        assert error["ename"] == "SpecError" and "Traceback" not in text
        assert "<spec>:9:14: error[name]: unknown name 'poss'" in text, text
        assert "hint: did you mean 'pos'?" in text
    [error] = [o for o in cells[5].outputs if o["output_type"] == "error"]
    assert error["ename"] == "InvalidParam"
    assert "param 'size' must be >= 2" in error["evalue"]
    frames = cells[6].outputs[0]["data"]
    assert "...x" in frames["text/plain"] and "terminated" in frames["text/plain"]
    assert "<pre" in frames["text/html"]
    report = cells[7].outputs[0]["data"]["text/html"]
    assert "unknown name" in report and "&#x27;poss&#x27;" in report
    assert list(tmp_path.iterdir()) == []


# --- envgen.make / check / show_episode in this process --------------------------------


def test_make_from_text_registers_the_id_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gymnasium as gym

    import envgen

    monkeypatch.chdir(tmp_path)
    env = envgen.make(CORRIDOR.replace("nbtest/", "nbapi/"), size=3, render_mode="ansi")
    assert env.reset(seed=0)[0].tolist() == [2.0]
    assert env.render() == "..x."
    assert gym.make("nbapi/Corridor-v0", size=4).reset(seed=0)[0].tolist() == [3.0]
    spec_file = tmp_path / "corridor.yaml"
    spec_file.write_text(CORRIDOR.replace("nbtest/", "nbfile/"))
    assert envgen.make(spec_file).spec.id == "nbfile/Corridor-v0"
    assert envgen.make(str(spec_file)).spec.id == "nbfile/Corridor-v0"
    assert envgen.make("envgen/GoLeft-v0", size=3).reset(seed=0)[0].tolist() == [2.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corridor.yaml"]


def test_make_raises_located_diagnostics() -> None:
    import envgen
    from envgen.runtime import InvalidParam

    typo = CORRIDOR.replace("clip(pos +", "clip(poss +")
    with pytest.raises(envgen.SpecError) as caught:
        envgen.make(typo)
    text = str(caught.value)
    assert "<spec>:9:14: error[name]: unknown name 'poss'" in text
    assert "    pos = clip(poss + (1 if action == RIGHT else -1), 0, size)" in text
    assert "\n                 ^" in text and "hint: did you mean 'pos'?" in text
    assert "<b style='color:#c00'>error[name]</b>" in caught.value._repr_html_()
    import pickle  # as Ray sends a worker's error to the driver

    assert str(pickle.loads(pickle.dumps(caught.value))) == text
    report = envgen.check(typo)
    assert not report.ok and "unknown name 'poss'" in repr(report)
    assert envgen.check(CORRIDOR).ok and envgen.check(CORRIDOR).env_ids == ["nbtest/Corridor-v0"]
    with pytest.raises(InvalidParam, match="param 'size' must be >= 2"):
        envgen.make(CORRIDOR, size=1)


def test_show_episode_animates_rgb_and_prints_ansi() -> None:
    import gymnasium as gym

    import envgen

    episode = envgen.show_episode("envgen/CartPole-v1", seed=0, max_steps=40)
    assert episode.render_mode == "rgb_array" and len(episode.frames) == episode.steps + 1
    gif = episode.gif()
    assert gif[:6] == b"GIF89a"
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(gif)).n_frames == len(episode.frames)
    assert "data:image/gif;base64," in episode._repr_html_()
    # an env made without a render mode is made again from its spec with one it offers
    episode = envgen.show_episode(gym.make("envgen/GoLeft-v0", size=4), policy=lambda o: 0)
    assert episode.render_mode == "ansi" and episode.end == "terminated"
    assert episode.frames == ["...x.", "..x..", ".x...", "x...."]
    assert episode.total == 1.0 and "x...." in repr(episode)
