"""Spec features end to end: wrappers, hooks, invalid_action modes, state checks, lets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from envgen.build import env_ids_from_specs
from envgen.runtime import InvalidAction

WALKER = """
id: features/Walker-v0
params:
  wind: {default: 0.5}
  limit: {default: 10.0, gt: 0}
let:
  half: limit / 2
action_space: {Box: {low: -1, high: 1, shape: [1], dtype: float32}}
observation_space: {Box: {low: -inf, high: inf, shape: [1], dtype: float32}}
state:
  x: {init: 0.0}
step: |
  x = x + float(action[0]) * half / 5
observation: [x]
reward: -abs(x)
terminated: abs(x) > limit
max_episode_steps: 5
"""


def _make(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    (env_id,) = env_ids_from_specs([path])
    return env_id


def test_wrappers_are_applied_by_gym_make(tmp_path: Path) -> None:
    env_id = _make(tmp_path, WALKER + "wrappers:\n  - ClipAction\n  - {TimeAwareObservation: {}}\n")
    env = gym.make(env_id)
    names = []
    while isinstance(env, gym.Wrapper):
        names.append(type(env).__name__)
        env = env.env
    assert "ClipAction" in names and "TimeAwareObservation" in names
    wrapped = gym.make(env_id)
    obs, _ = wrapped.reset(seed=0)
    assert obs.shape == (2,)  # the elapsed time is appended
    obs, *_ = wrapped.step(np.array([5.0], dtype=np.float32))  # clipped to 1.0 by ClipAction
    assert obs[0] == pytest.approx(1.0)


def test_hooks_run_after_reset_and_step(tmp_path: Path) -> None:
    from features import hooks

    hooks.CALLS.clear()
    text = (
        WALKER + "hooks:\n  after_reset: features.hooks:start\n  after_step: features.hooks:blow\n"
    )
    env = gym.make(_make(tmp_path, text))
    env.reset(seed=0)
    obs, *_ = env.step(np.array([0.0], dtype=np.float32))
    assert hooks.CALLS == ["after_reset", "after_step"]
    assert obs[0] == pytest.approx(0.5)  # the hook's wind moved the walker


def test_invalid_action_modes(tmp_path: Path) -> None:
    env_id = _make(tmp_path, WALKER)
    strict = gym.make(env_id).unwrapped
    strict.reset(seed=0)
    with pytest.raises(InvalidAction, match=r"Box\(-1.0, 1.0, \(1,\), float32\)"):
        strict.step(np.array([3.0], dtype=np.float32))
    clipping = gym.make(env_id, invalid_action="clip").unwrapped
    clipping.reset(seed=0)
    obs, *_ = clipping.step(np.array([3.0], dtype=np.float32))
    assert obs[0] == pytest.approx(1.0)
    ignoring = gym.make(env_id, invalid_action="ignore").unwrapped
    ignoring.reset(seed=0)
    obs, *_ = ignoring.step(np.array([3.0], dtype=np.float32))
    assert obs[0] == pytest.approx(3.0)


def test_check_state_catches_nan(tmp_path: Path) -> None:
    env = gym.make(_make(tmp_path, WALKER), check_state=True, invalid_action="ignore")
    env.reset(seed=0)
    with pytest.raises(FloatingPointError, match="state 'x'"):
        env.step(np.array([np.nan], dtype=np.float32))


def test_let_values_follow_params(tmp_path: Path) -> None:
    env_id = _make(tmp_path, WALKER)
    assert gym.make(env_id, limit=4.0).unwrapped.half == 2.0
    assert gym.make(env_id).unwrapped.half == 5.0


def test_time_limit_that_depends_on_a_param(tmp_path: Path) -> None:
    text = WALKER.replace("max_episode_steps: 5", "max_episode_steps: steps").replace(
        "params:\n", "params:\n  steps: {default: 3, ge: 1}\n"
    )
    env_id = _make(tmp_path, text)
    env = gym.make(env_id, steps=2)
    env.reset(seed=0)
    zero = np.array([0.0], dtype=np.float32)
    assert env.step(zero)[3] is False
    assert env.step(zero)[3] is True


def test_function_arguments_keep_their_precedence(tmp_path: Path) -> None:
    """`square(a + b)` is (a + b) ** 2, not a + b ** 2 (templates place args by operators)."""
    text = """
    id: features/Precedence-v0
    action_space: {Discrete: 2}
    observation_space: {Box: {low: -100, high: 100, shape: [3], dtype: float64}}
    state:
      a: {init: 2.0}
      b: {init: 3.0}
      s: {init: 0.0}
    step: |
      s = sign(a - b if action == 0 else b - a)
    observation:
      - square(a + b)
      - s
      - clip(a - b, -1.0, 1.0) * 2
    """
    env = gym.make(_make(tmp_path, text))
    env.reset(seed=0)
    obs, *_ = env.step(0)
    assert obs.tolist() == [25.0, -1.0, -2.0]
    obs, *_ = env.step(1)
    assert obs.tolist() == [25.0, 1.0, -2.0]
