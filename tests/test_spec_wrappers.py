"""A spec with `wrappers:` under gym.make_vec and envgen fuzz (newcomer trial 4, N12/N13):
make_vec raised (Gymnasium refuses a vector entry point for an id with wrappers), and
RecordEpisodeStatistics' wall-clock `info["episode"]["t"]` failed determinism and pickle."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import build_package

from envgen.cli import main
from envgen.testing import PASS, fuzz
from envgen.testing._repro import same

STATS = """\
id: wr/Stats-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -10, high: 10, shape: [1]}}
state:
  x: {dtype: float64, init: "uniform(-1.0, 1.0)"}
step: |
  x = clip(x + (0.5 if action == 1 else -0.5), -10.0, 10.0)
observation: "[x]"
reward: -abs(x)
terminated: abs(x) > 3.0
max_episode_steps: 20
wrappers: [RecordEpisodeStatistics]
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("wrappers")
    (folder / "stats.yaml").write_text(STATS)
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(folder / "wrgen")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "wr/Stats-v0: no native vector env (the spec applies Gymnasium wrappers" in text
    sys.path.insert(0, str(folder))
    __import__("wrgen")
    yield "wrgen"
    sys.path.remove(str(folder))


def test_make_vec_of_a_spec_with_wrappers_wraps_each_sub_env(built) -> None:
    envs = gym.make_vec("wr/Stats-v0", num_envs=3)
    assert isinstance(envs, gym.vector.SyncVectorEnv)
    assert all(isinstance(e, gym.wrappers.RecordEpisodeStatistics) for e in envs.envs)
    envs.reset(seed=0)
    ended = 0
    for _ in range(25):
        _, _, _, _, info = envs.step(np.ones(3, dtype=np.int64))
        if "episode" in info:
            ended += int(info["_episode"].sum())
            assert (info["episode"]["l"][info["_episode"]] > 0).all()
    assert ended >= 3  # x walks past 3 within 8 steps: each sub-env's statistics report it


def test_fuzz_ignores_only_the_wall_clock_time_of_episode_statistics(built) -> None:
    report = fuzz(
        "wrgen:wr/Stats-v0", properties=["determinism", "independent_instances", "pickle"]
    )
    assert [(r.property, r.status) for r in report.results] == [
        ("determinism", PASS),
        ("independent_instances", PASS),
        ("pickle", PASS),
    ], [r.message for r in report.results]
    episode = {"r": 1.0, "l": 5, "t": 0.01}
    assert same({"episode": episode}, {"episode": {**episode, "t": 0.02}})
    assert not same({"episode": episode}, {"episode": {**episode, "r": 2.0}})
    assert not same({"r": 1.0, "t": 0.01}, {"r": 1.0, "t": 0.02})  # not the episode dict


def test_wrappers_are_tried_on_the_spaces_the_default_params_give(tmp_path) -> None:
    # hostile trial 6 Q4: the build's stand-in env invented -1 for a Box bound of params
    # (high: n), so DtypeObservation uint8 on a Box from 0 to n was refused as "low=[-1. -1.]"
    spec = """\
id: wrapped/ToBytes-v0
params:
  n: {default: 10}
  k: {default: 2}
action_space: {Discrete: 2}
observation_space: {Box: {low: 0, high: n, shape: [k], dtype: float64}}
state:
  x: {init: 0.0}
step: |
  x = min(x + 1.0, 1.0 * n)
observation: "zeros(k) + x"
reward: x
max_episode_steps: 50
wrappers:
  - {DtypeObservation: {dtype: uint8}}
"""
    built = build_package(tmp_path, spec, register=True)
    env = gym.make("wrapped/ToBytes-v0")
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(1)
    assert obs.dtype == np.uint8 and obs.tolist() == [1, 1], obs
    assert built.model.wrappers[0][0] == "DtypeObservation"


def test_the_jax_id_applies_the_specs_wrappers_too(built) -> None:
    # newcomer trial 6 P8: gym.make("...-jax-v0") dropped the spec's wrappers silently
    pytest.importorskip("jax")
    plain, jax_face = gym.make("wr/Stats-v0"), gym.make("wr/Stats-jax-v0")
    assert [w.name for w in plain.spec.additional_wrappers] == ["RecordEpisodeStatistics"]
    assert jax_face.spec.additional_wrappers == plain.spec.additional_wrappers
    jax_face.reset(seed=0)
    for _ in range(20):
        *_, terminated, truncated, info = jax_face.step(1)
        if terminated or truncated:
            break
    assert "episode" in info and info["episode"]["l"] >= 1, info
    vec = gym.make_vec("wr/Stats-jax-v0", num_envs=2)
    assert isinstance(vec, gym.vector.SyncVectorEnv)
