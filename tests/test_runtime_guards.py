"""Runtime guards of the committed generated envs: misuse fails loudly and clearly.

- step() before reset() and after close() raise Gymnasium's own errors;
- an action outside the action space raises `InvalidAction` naming the space, unless the
  env is made with `invalid_action="clip"` (clipped into the space) or `"ignore"`;
- `check_state=True` raises when a float state becomes NaN or infinite;
- unknown or out-of-range params are refused when the env is made.
"""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import data_equivalence

from envgen.runtime import InvalidAction, InvalidParam

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import generated  # noqa: E402

IDS = sorted(generated.ENVS)


def _make(env_id: str, **kwargs):  # type: ignore[no-untyped-def]
    """The env class itself, without Gymnasium's checker wrappers (they add their own errors)."""
    return gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped


def _outside(space: spaces.Space):  # type: ignore[no-untyped-def]
    """A value that is not in `space` but has the right shape, or None if there is none."""
    if isinstance(space, spaces.Discrete):
        return int(space.start + space.n + 3)
    if isinstance(space, spaces.Box):
        high = np.where(np.isfinite(space.high), space.high, 0).astype(np.float64)
        value = (high + 5).astype(space.dtype)
        return value if not space.contains(value) else None
    if isinstance(space, spaces.MultiDiscrete):
        return (space.start + space.nvec + 2).astype(space.dtype)
    if isinstance(space, spaces.MultiBinary):
        return np.full(space.shape, 3, dtype=space.dtype)
    return None


@pytest.mark.parametrize("env_id", IDS)
def test_step_before_reset_raises(env_id: str) -> None:
    env = _make(env_id)
    with pytest.raises(gym.error.ResetNeeded, match="before reset"):
        env.step(env.action_space.sample())


@pytest.mark.parametrize("env_id", IDS)
def test_step_after_close_raises_and_close_is_idempotent(env_id: str) -> None:
    env = _make(env_id)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.close()
    env.close()
    with pytest.raises(gym.error.ClosedEnvironmentError, match="after close"):
        env.step(env.action_space.sample())
    env.reset(seed=0)  # a closed env may be reset and used again
    env.step(env.action_space.sample())


@pytest.mark.parametrize("env_id", IDS)
def test_an_action_outside_the_space_is_refused_naming_the_space(env_id: str) -> None:
    env = _make(env_id, invalid_action="raise")  # some specs default to "clip"
    env.reset(seed=0)
    bad = _outside(env.action_space)
    if bad is None:
        pytest.skip(f"no out-of-space value of the right shape for {env.action_space}")
    with pytest.raises(InvalidAction) as raised:
        env.step(bad)
    assert str(env.action_space) in str(raised.value)
    for junk in (None, "left"):
        with pytest.raises(InvalidAction):
            env.step(junk)


@pytest.mark.parametrize("env_id", IDS)
def test_a_ragged_action_is_refused_as_invalid(env_id: str) -> None:
    env = _make(env_id, invalid_action="raise")
    env.reset(seed=0)
    with pytest.raises(InvalidAction):
        env.step([[1, 2], [3]])


@pytest.mark.parametrize("env_id", IDS)
def test_invalid_action_clip_moves_the_action_into_the_space(env_id: str) -> None:
    env = _make(env_id, invalid_action="clip")
    obs, _ = env.reset(seed=0)
    bad = _outside(env.action_space)
    if bad is None or not isinstance(
        env.action_space, (spaces.Discrete, spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)
    ):
        pytest.skip("no clipping for this action space")
    obs, reward, terminated, truncated, info = env.step(bad)
    assert env.observation_space.contains(obs)
    assert math.isfinite(reward)
    # Clipping equals stepping a twin env with the clipped action.
    twin = _make(env_id)
    twin.reset(seed=0)
    if isinstance(env.action_space, spaces.Discrete):
        clipped = env.action_space.start + env.action_space.n - 1
    elif isinstance(env.action_space, spaces.Box):
        clipped = np.clip(bad, env.action_space.low, env.action_space.high)
    elif isinstance(env.action_space, spaces.MultiDiscrete):
        clipped = env.action_space.start + env.action_space.nvec - 1
    else:
        clipped = np.ones(env.action_space.shape, dtype=env.action_space.dtype)
    expected = twin.step(clipped)
    assert reward == expected[1] and terminated == expected[2]
    assert data_equivalence(obs, expected[0])


def test_invalid_action_ignore_passes_the_action_through() -> None:
    env = _make("envgen/GoLeft-v0", invalid_action="ignore")
    env.reset(seed=0)
    env.step(7)  # not in Discrete(2); GoLeft treats anything but RIGHT as left
    assert env.pos == env.size - 2


def test_invalid_action_mode_must_be_known() -> None:
    with pytest.raises(InvalidParam, match="invalid_action must be one of"):
        _make("envgen/GoLeft-v0", invalid_action="explode")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_check_state_catches_nan_and_inf_in_float_state(bad: float) -> None:
    """A NaN in CartPole's state propagates through the physics; the check names the state."""
    env = _make("envgen/CartPole-v1", check_state=True)
    env.reset(seed=0)
    env.theta_dot = bad
    with pytest.raises(FloatingPointError, match=r"CartPole-v1: state '\w+' became"):
        env.step(0)
    # Off by default: the same state steps on silently.
    quiet = _make("envgen/CartPole-v1")
    quiet.reset(seed=0)
    quiet.theta_dot = bad
    quiet.step(0)


def test_check_state_catches_state_that_overflows_from_params() -> None:
    """No injection: an infinite volatility makes the price non-finite within a few steps."""
    env = _make("envgen/SimpleTrading-v0", check_state=True, volatility=math.inf)
    env.reset(seed=0)
    with pytest.raises(FloatingPointError, match="state '\\w+' became"):
        for _ in range(10):
            env.step(0)
    with pytest.raises(InvalidParam, match="must not be NaN"):
        _make("envgen/SimpleTrading-v0", volatility=math.nan)


def test_every_generated_env_checks_its_state() -> None:
    """Every module with state passes all of it to check_finite after reset and step."""
    for env_id in IDS:
        env = _make(env_id)
        source = Path(sys.modules[type(env).__module__].__file__).read_text()
        if "_rt.check_finite" in source:
            assert source.count("_rt.check_finite(") >= 2, env_id  # reset and step
            assert _checked_state(source), env_id


def _checked_state(source: str) -> list[str]:
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "check_finite"
        ):
            return [k.arg for k in node.keywords if k.arg]
    return []


def test_unknown_and_out_of_range_params_are_refused() -> None:
    with pytest.raises(InvalidParam, match="did you mean 'size'|Did you mean 'size'"):
        _make("envgen/GoLeft-v0", sise=5)
    with pytest.raises(InvalidParam, match=">= 2"):
        _make("envgen/GoLeft-v0", size=1)
    with pytest.raises(InvalidParam, match="must be an int"):
        _make("envgen/GoLeft-v0", size="10")


@pytest.mark.parametrize("env_id", IDS)
def test_render_without_a_mode_warns_and_returns_none(env_id: str) -> None:
    env = _make(env_id)
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None
    with pytest.raises(ValueError, match="render_mode must be one of"):
        _make(env_id, render_mode="hologram")
