"""Every committed generated env: made by id, checked, rolled out, deterministic."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import generated
from envgen.runtime import InvalidAction, InvalidParam

IDS = sorted(generated.ENVS)


def _rollout(env: gym.Env, seed: int, steps: int, actions_seed: int = 0):
    """Observations, rewards and flags of `steps` random steps, resetting at episode ends."""
    env.action_space.seed(actions_seed)
    obs, info = env.reset(seed=seed)
    trajectory = [("reset", obs, info)]
    for _ in range(steps):
        action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        trajectory.append((action, obs, reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            trajectory.append(("reset", obs, info))
    return trajectory


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, gym.spaces.GraphInstance):
        return all(_same(getattr(a, f), getattr(b, f)) for f in ("nodes", "edges", "edge_links"))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            np.array_equal(np.asarray(a), np.asarray(b))
            and np.asarray(a).dtype == np.asarray(b).dtype
        )
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_env_checker_passes_with_render_checks(env_id: str) -> None:
    env = gym.make(env_id)
    modes = env.metadata["render_modes"]
    render_mode = "rgb_array" if "rgb_array" in modes else (modes[0] if modes else None)
    checked = gym.make(env_id, render_mode=render_mode).unwrapped
    check_env(checked, skip_render_check=render_mode is None)


@pytest.mark.parametrize("env_id", IDS)
def test_random_episodes_to_the_time_limit_stay_in_the_observation_space(env_id: str) -> None:
    env = gym.make(env_id)
    limit = env.unwrapped.max_episode_steps or 200
    trajectory = _rollout(env, seed=123, steps=3 * limit + 5)
    for entry in trajectory:
        obs = entry[1]
        assert env.observation_space.contains(obs), f"{env_id}: {obs!r} outside the space"
        if not (isinstance(entry[0], str) and entry[0] == "reset"):
            assert isinstance(entry[2], float) and np.isfinite(entry[2])
            assert isinstance(entry[3], bool) and isinstance(entry[4], bool)


@pytest.mark.parametrize("env_id", IDS)
def test_time_limit_truncates_exactly(env_id: str) -> None:
    env = gym.make(env_id).unwrapped  # the env truncates by itself, without TimeLimit
    limit = env.max_episode_steps
    assert limit is not None
    env.reset(seed=0)
    env.action_space.seed(0)
    for step in range(1, limit + 1):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated:
            return  # an episode that ends early says nothing about the limit
        assert truncated == (step == limit), f"step {step}: truncated={truncated}"


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_and_actions_give_the_same_trajectory(env_id: str) -> None:
    first = _rollout(gym.make(env_id), seed=7, steps=150)
    second = _rollout(gym.make(env_id), seed=7, steps=150)
    assert _same(first, second)
    env = gym.make(env_id)
    again = _rollout(env, seed=7, steps=150)
    assert _same(first, again)


@pytest.mark.parametrize("env_id", IDS)
def test_pickle_and_deepcopy_continue_identically(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(5):
        env.step(env.action_space.sample())
    actions = [env.action_space.sample() for _ in range(20)]
    clones = [pickle.loads(pickle.dumps(env)), copy.deepcopy(env)]
    expected = [env.step(a) for a in actions]
    for clone in clones:
        assert _same([clone.step(a) for a in actions], expected)


def test_stochastic_specs_depend_on_the_seed() -> None:
    env = gym.make("envgen/SimpleTrading-v0")
    a = _rollout(env, seed=1, steps=20)
    b = _rollout(env, seed=2, steps=20)
    assert not _same(a, b)


def test_params_from_kwargs_and_from_a_config_mapping() -> None:
    by_kwargs = gym.make("envgen/GoLeft-v0", size=4).unwrapped
    by_config = generated.envgen_go_left_v0.GoLeftV0Env({"size": 4})
    assert by_kwargs.size == by_config.size == 4
    obs, _ = by_config.reset(seed=0)
    assert obs.tolist() == [3.0]
    assert by_config.observation_space.high.tolist() == [4.0]


def test_unknown_param_names_the_valid_ones() -> None:
    with pytest.raises(InvalidParam, match=r"unknown param 'sise'.*'size'.*Valid params: size"):
        gym.make("envgen/GoLeft-v0", sise=3)


def test_out_of_range_param_fails_at_construction() -> None:
    with pytest.raises(InvalidParam, match="size' must be >= 2"):
        gym.make("envgen/GoLeft-v0", size=1)
    with pytest.raises(InvalidParam, match="must be an int"):
        gym.make("envgen/GoLeft-v0", size="big")


def test_step_before_reset_and_after_close_raise() -> None:
    env = gym.make("envgen/GoLeft-v0").unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    env.close()
    env.close()  # idempotent
    with pytest.raises(gym.error.ClosedEnvironmentError):
        env.step(0)


def test_invalid_action_is_refused_naming_the_space() -> None:
    env = gym.make("envgen/GoLeft-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(InvalidAction, match=r"Discrete\(2\)"):
        env.step(2)
    clipping = gym.make("envgen/GoLeft-v0", invalid_action="clip").unwrapped
    clipping.reset(seed=0)
    obs, *_ = clipping.step(5)  # clipped to RIGHT: from cell 9 to cell 10
    assert obs.tolist() == [10.0]


def test_make_by_module_prefixed_id_needs_no_import() -> None:
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('generated:envgen/GoLeft-v0')\n"
        "print(env.reset(seed=0)[0].tolist())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[9.0]"


def test_ansi_render_of_the_corridor() -> None:
    env = gym.make("envgen/GoLeft-v0", size=4, render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "...x."
    env.step(0)
    assert env.render() == "..x.."


def test_visual_grid_renders_its_observation() -> None:
    env = gym.make("envgen/SimpleVisual-v0", render_mode="rgb_array")
    obs, _ = env.reset(seed=4)
    frame = env.render()
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
    assert np.array_equal(frame, obs)
    # The agent is blue in the top-left cell; the target is green somewhere else.
    assert frame[4, 4].tolist() == [0, 0, 255]
    assert (np.all(frame == [0, 200, 0], axis=-1)).sum() == 49
