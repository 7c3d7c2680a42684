"""Pictures without surprises.

`render_mode="human"` on a spec that draws only rgb_array frames shows them in a window:
pygame's (as Gymnasium's HumanRendering), else matplotlib's, else the mode is refused when
the env is made. Headless: SDL's dummy video driver, matplotlib's Agg backend.

`envgen play --plot` draws with matplotlib where it is installed, else with Pillow (a core
dependency), so the tutorial's plot step works on a bare install.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import envgen
from envgen.runtime.window import WindowUnavailable

SPEC = """
id: window/Dot-v0
params:
  size: {default: 24, ge: 8}
action_space: {Discrete: 2, labels: [left, right]}
observation_space: {Box: {low: 0, high: size, shape: [1], dtype: float32}}
state:
  x: {dtype: int64, init: "integers(0, size)"}
step: |
  x = clip(x + (1 if action == RIGHT else -1), 0, size - 1)
observation: [x]
reward: 0.0
max_episode_steps: 10
render:
  fps: 1000
  human: true
  rgb_array: |
    frame = zeros((size // 2, size, 3), dtype="uint8")
    fill_rect(frame, x, 0, x + 1, size // 2, (255, 40, 0))
"""


def _frames(env, actions):
    """The rgb_array frames of an episode of the same spec, seed and actions."""
    env.reset(seed=3)
    frames = [env.render()]
    for action in actions:
        env.step(action)
        frames.append(env.render())
    return frames


def test_pygame_window_shows_each_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame = pytest.importorskip("pygame")  # dev installs it (minigrid depends on it)
    expected = _frames(envgen.make(SPEC, render_mode="rgb_array"), [1, 1, 0])
    env = envgen.make(SPEC, render_mode="human")
    env.reset(seed=3)
    shown = []
    for action in [None, 1, 1, 0]:
        if action is not None:
            env.step(action)
        assert env.render() is None  # human mode draws, it returns nothing
        surface = pygame.display.get_surface()
        assert surface.get_size() == (24, 12)
        shown.append(pygame.surfarray.array3d(surface).swapaxes(0, 1).copy())
    assert all(np.array_equal(a, b) for a, b in zip(shown, expected, strict=True))
    assert not np.array_equal(shown[0], shown[1])  # the window follows the episode
    env.close()
    assert not pygame.display.get_init()


def test_matplotlib_window_without_pygame(monkeypatch: pytest.MonkeyPatch) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.setitem(sys.modules, "pygame", None)  # as if pygame were not installed
    import matplotlib.pyplot as plt

    expected = _frames(envgen.make(SPEC, render_mode="rgb_array"), [1])
    env = envgen.make(SPEC, render_mode="human")
    env.reset(seed=3)
    window = env.unwrapped._window
    assert window.backend == "matplotlib"
    assert np.array_equal(np.asarray(window.image.get_array()), expected[0])
    env.step(1)
    assert np.array_equal(np.asarray(window.image.get_array()), expected[1])
    number = window.figure.number
    env.close()
    assert not plt.fignum_exists(number)


def test_human_mode_is_refused_without_any_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(WindowUnavailable, match="needs pygame or matplotlib"):
        envgen.make(SPEC, render_mode="human")
    env = envgen.make(SPEC, render_mode="rgb_array")  # other modes are unaffected
    env.reset(seed=0)
    assert env.render().shape == (12, 24, 3)


# --- envgen play --plot ------------------------------------------------------------------

BLOCK_MATPLOTLIB = "import sys; sys.modules['matplotlib'] = None; "


def _play_plot(tmp_path: Path, prelude: str) -> Path:
    out = tmp_path / "plot.png"
    args = ["play", "envgen/GoLeft-v0", "-p", "size=5", "-n", "2", "-q", "--plot", str(out)]
    code = f"{prelude}from envgen.cli import main; main({args!r})"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and f"wrote {out}" in result.stdout
    return out


def test_plot_without_matplotlib_is_drawn_with_pillow(tmp_path: Path) -> None:
    from PIL import Image

    out = _play_plot(tmp_path, BLOCK_MATPLOTLIB)
    image = Image.open(out)
    assert image.format == "PNG"
    panels = 3  # reward, return, obs
    assert image.size == (640, 28 + 110 * panels + 24)
    colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    # each panel's line, in matplotlib's default colours
    assert {(31, 119, 180), (255, 127, 14), (44, 160, 44)} <= colours


def test_plot_with_matplotlib(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image

    image = Image.open(_play_plot(tmp_path, ""))
    assert image.format == "PNG" and image.size[0] > 300
