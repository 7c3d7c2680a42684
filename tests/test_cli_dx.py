"""End-to-end tests of `envgen new`, `show`, `play` and `bench` (`schema`: test_schema.py).

Every command runs for real in a subprocess (`python -m envgen.cli ...`).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import run_envgen
from gymnasium.utils.env_checker import check_env

from envgen.cli import _scaffold

ROOT = Path(__file__).resolve().parent.parent


def envgen(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_envgen(*args, cwd=cwd, timeout=timeout, no_traceback=True)


# --- envgen new -----------------------------------------------------------------------


def test_every_template_builds_and_conforms(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for template in _scaffold.TEMPLATES:
        result = envgen(
            "new", f"scaffold_{template}", "--template", template, "-o", str(specs), cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert f"id envgen/Scaffold{template.capitalize()}-v0" in result.stdout
    files = sorted(specs.glob("*.yaml"))
    assert [f.name for f in files] == sorted(f"scaffold_{t}.yaml" for t in _scaffold.TEMPLATES)
    for file in files:  # commented, and pointing the editor at a schema
        text = file.read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema=")
        assert text.count("\n#") >= 3
    package = tmp_path / "scaffolded_envs"
    result = envgen("build", str(specs), "-o", str(package), cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("scaffolded_envs")
        ids = list(module.ENVS)
    finally:
        sys.path.remove(str(tmp_path))
    assert len(ids) == len(_scaffold.TEMPLATES)
    for env_id in ids:
        env = gym.make(env_id)
        check_env(env.unwrapped, skip_render_check=False)
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        env.action_space.seed(0)
        for _ in range(200):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs), env_id
            assert np.isfinite(reward) and isinstance(info, dict)
            if terminated or truncated:
                obs, _ = env.reset()
        env.close()
    # The conformance suite, where it is available.
    testing = pytest.importorskip("envgen.testing")
    report = testing.fuzz([str(f) for f in files], examples=2, shrink_seconds=2)
    failures = [r for r in report.results if r.status == testing.FAIL]
    assert not failures, "\n\n".join(testing.format_result(r) for r in failures)


def test_new_names_ids_and_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "envgen.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "specs").mkdir()
    result = envgen("new", "acme/PickAndPlace-v2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = tmp_path / "specs" / "pick_and_place.yaml"  # default folder: specs/
    text = spec.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../envgen.schema.json"
    assert "id: acme/PickAndPlace-v2" in text
    before = spec.read_bytes()
    again = envgen("new", "acme/PickAndPlace-v2", "-t", "image", cwd=tmp_path)
    assert again.returncode == 1
    assert "already exists" in again.stderr and spec.read_bytes() == before
    bad = envgen("new", "9lives!", cwd=tmp_path)
    assert bad.returncode == 2 and "valid env id" in bad.stderr
    unknown = envgen("new", "X", "--template", "pixels", cwd=tmp_path)
    assert unknown.returncode == 2 and "pixels" in unknown.stderr


# --- envgen show ----------------------------------------------------------------------


def test_show_json_of_a_generated_id() -> None:
    result = envgen("show", "envgen/GoLeft-v0", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["id"] == "envgen/GoLeft-v0"
    assert info["params"][0]["name"] == "size" and info["params"][0]["default"] == 10
    assert info["params"][0]["doc"] == "number of cells"  # from the spec file
    assert info["action_space"] == {
        "type": "Discrete",
        "n": 2,
        "start": 0,
        "labels": {"LEFT": 0, "RIGHT": 1},
    }
    obs = info["observation_space"]
    assert (obs["type"], obs["shape"], obs["low"], obs["high"]) == ("Box", [1], 0.0, 10.0)
    assert info["reward"] == "1.0 if pos == 0 else 0.0"
    assert info["terminated"] == "pos == 0"
    assert info["max_episode_steps"] == 100
    assert info["render_modes"] == ["ansi"]
    assert info["vector_backend"] == "compiled kernel (numba)"


def test_show_table_of_a_spec_file_and_of_a_gymnasium_id() -> None:
    result = envgen("show", "specs/spaces/dict_obs.yaml")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "envgen/DictNavigation-v0",
        "Params",
        "arena",
        "> 0",
        "observation.position",
        "observation.steps_left",
        "NORTH=0",
        "distance < speed",
        "60 steps (max_steps)",
    ):
        assert expected in out, expected
    result = envgen("show", "CartPole-v1", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["observation_space"]["low"][1] == "-inf"
    assert info["max_episode_steps"] == 500 and info["reward"] is None
    assert info["vector_backend"] is None  # Gymnasium's own CartPoleVectorEnv


def test_show_says_why_a_vector_env_steps_without_a_kernel(tmp_path: Path) -> None:
    # every bundled spec has a kernel: MountainCarContinuous whose step calls a spec
    # function with its state (float64 after reset, float32 after a step) has none
    spec = tmp_path / "mcc_slope.yaml"
    text = (ROOT / "specs" / "classic" / "mountain_car_continuous.yaml").read_text()
    text = text.replace(
        "params:", "functions:\n  slope:\n    args: [s]\n    return: cos(3 * s)\nparams:", 1
    )
    spec.write_text(text.replace("cos(3 * position)", "slope(position)", 1), encoding="utf-8")
    result = envgen("show", str(spec), "--json")
    assert result.returncode == 0, result.stderr
    backend = json.loads(result.stdout)["vector_backend"]
    assert backend.startswith("NumPy code: no kernel: the step calls a spec function"), backend
    assert "type changes after the first step" in backend, backend
    result = envgen("show", "specs/resource_management.yaml", "--json")
    assert json.loads(result.stdout)["vector_backend"] == "compiled kernel (numba)"


@pytest.mark.parametrize("command", ["show", "play", "bench"])
def test_unknown_ids_and_missing_files_get_one_line_and_a_suggestion(command: str) -> None:
    result = envgen(command, "envgen/GoLef-v0")
    assert result.returncode == 2
    assert "unknown env id 'envgen/GoLef-v0'" in result.stderr
    assert "did you mean 'envgen/GoLeft-v0'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2
    if command != "play":  # one command suffices for files: they share the resolver
        return
    result = envgen(command, "specs/go_lef.yaml")
    assert result.returncode == 2
    assert "no such file" in result.stderr and "specs/go_left.yaml" in result.stderr


def test_a_broken_spec_prints_diagnostics_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "specs" / "go_left.yaml")
        .read_text()
        .replace("reward: 1.0 if pos == 0", "reward: 1.0 if poss == 0"),
        encoding="utf-8",
    )
    result = envgen("show", str(bad))
    assert result.returncode == 1
    assert "poss" in result.stderr and "pos" in result.stderr


# --- envgen play ----------------------------------------------------------------------


def test_play_prints_ansi_frames_and_is_reproducible() -> None:
    first = envgen("play", "envgen/GoLeft-v0", "--episodes", "2", "--seed", "5")
    assert first.returncode == 0, first.stderr
    assert "ep 0 step    0 .........x." in first.stdout  # the start, as rendered
    assert "ep 1 step" in first.stdout and "mean return" in first.stdout
    second = envgen("play", "envgen/GoLeft-v0", "--episodes", "2", "--seed", "5")
    assert second.stdout == first.stdout


def test_play_with_a_policy_module(tmp_path: Path) -> None:
    (tmp_path / "always_left.py").write_text("def act(obs):\n    return 0\n")
    result = envgen("play", "envgen/GoLeft-v0", "--policy", "always_left:act", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "terminated" in line)
    assert row.split("│")[3].strip() == "9"  # steps: from cell 9 straight to cell 0
    assert row.split("│")[4].strip() == "1"  # return
    missing = envgen("play", "envgen/GoLeft-v0", "--policy", "always_left:acts", cwd=tmp_path)
    assert missing.returncode == 2 and "did you mean 'always_left:act'" in missing.stderr
    nomodule = envgen("play", "envgen/GoLeft-v0", "--policy", "nowhere:act", cwd=tmp_path)
    assert nomodule.returncode == 2 and "cannot import" in nomodule.stderr


def test_play_records_a_gif_frame_for_frame(tmp_path: Path) -> None:
    out = tmp_path / "episode.gif"
    result = envgen("play", "envgen/SimpleVisual-v0", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    row = next(
        line for line in result.stdout.splitlines() if "terminated" in line or "truncated" in line
    )
    steps = int(row.split("│")[3])
    from PIL import Image, ImageSequence

    with Image.open(out) as gif:
        frames, durations = [], []
        for frame in ImageSequence.Iterator(gif):
            frames.append(np.asarray(frame.convert("RGB")))
            durations.append(frame.info["duration"])
    # The reset frame and one per step; Pillow merges repeated frames into longer ones.
    assert len(frames) <= steps + 1
    assert sum(durations) == (steps + 1) * 100  # the spec's render fps is 10
    import generated  # noqa: F401

    env = gym.make("envgen/SimpleVisual-v0", render_mode="rgb_array")
    env.reset(seed=3)
    assert frames[0].shape == (64, 64, 3)
    assert (frames[0] == env.render()).all()  # the grid's few colours survive quantization


def test_play_png_contact_sheet_and_formats(tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    result = envgen("play", "envgen/CartPole-v1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    from PIL import Image

    with Image.open(out) as sheet:
        assert sheet.format == "PNG" and sheet.mode == "RGB"
        assert sheet.size == (4 * 604 + 4, 2 * 404 + 4)  # 8 frames of 600×400, 2 rows of 4
    no_frames = envgen("play", "envgen/GoLeft-v0", "--out", str(tmp_path / "x.gif"))
    assert no_frames.returncode == 1 and "no rgb_array render mode" in no_frames.stderr
    bad_format = envgen("play", "envgen/GoLeft-v0", "--out", str(tmp_path / "x.avi"))
    assert bad_format.returncode == 2 and ".gif, .mp4 or .png" in bad_format.stderr


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def test_play_mp4_and_plot_need_their_optional_dependencies(tmp_path: Path) -> None:
    mp4, plot = tmp_path / "e.mp4", tmp_path / "plot.png"
    result = envgen("play", "envgen/SimpleVisual-v0", "--out", str(mp4), "-q")
    if _has("imageio") and _has("imageio_ffmpeg"):
        assert result.returncode == 0 and mp4.stat().st_size > 0, result.stderr
    else:
        assert result.returncode == 1 and "needs imageio" in result.stderr
        assert "pip install" in result.stderr
    # --plot works with or without matplotlib (Pillow draws it then: tests/test_pictures.py)
    result = envgen(
        "play", "envgen/DictNavigation-v0", "--plot", str(plot), "-q", "--episodes", "2"
    )
    assert result.returncode == 0, result.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- envgen bench ---------------------------------------------------------------------


def test_bench_measures_single_sync_and_native() -> None:
    result = envgen("bench", "CartPole-v1", "--seconds", "0.05", "-n", "4", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    backends = [row["backend"] for row in report["results"]]
    assert backends[:2] == ["single env", "SyncVectorEnv"]
    assert report["native"] and backends[2] == "native (CartPoleVectorEnv)"  # Gymnasium's
    for row in report["results"]:
        assert row["steps"] > 0 and row["steps_per_s"] > 0
        assert row["steps"] % row["num_envs"] == 0
    assert report["results"][1]["num_envs"] == 4


def test_bench_names_the_step_backend_of_envgen_vector_envs() -> None:
    result = envgen("bench", "envgen/CartPole-v1", "--seconds", "0.05", "-n", "4", "--json")
    assert result.returncode == 0, result.stderr
    backends = [row["backend"] for row in json.loads(result.stdout)["results"]]
    assert backends[2] == "native (CartPoleV1VectorEnv, numba)"


def test_bench_table_for_a_spec_file(tmp_path: Path) -> None:
    result = envgen("new", "BenchMe", "-t", "image", "-o", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Compiling the image kernel (drawing inside Numba) takes most of this command's time:
    # 80 s at a load average of 29 on 2 cores. The timeout guards against hangs, not speed.
    result = envgen("bench", str(tmp_path / "bench_me.yaml"), "-s", "0.05", "-n", "2", timeout=600)
    assert result.returncode == 0, result.stderr
    assert "envgen/BenchMe-v0" in result.stdout
    assert "single env" in result.stdout and "SyncVectorEnv" in result.stdout


def test_the_commands_are_attached_to_envgen() -> None:
    result = envgen("--help")
    for command in ("schema", "new", "show", "play", "bench"):
        assert f"  {command} " in result.stdout, command
