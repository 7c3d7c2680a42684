"""The classic-control and toy-text ports behave exactly like Gymnasium's own envs.

For many seeds and random action sequences both envs must produce the same observations
(to 1e-6 for floats, exactly for integers), rewards and flags at every step, across
resets — which requires consuming the seeded generator in the same order and calls.
"""

from __future__ import annotations

import inspect

import gymnasium as gym
import numpy as np
import pytest

import generated  # noqa: F401  (registers the envgen ids)

CASES = [
    ("CartPole-v1", "envgen/CartPole-v1", {}),
    ("CartPole-v1", "envgen/CartPole-v1", {"sutton_barto_reward": True}),
    ("MountainCar-v0", "envgen/MountainCar-v0", {}),
    ("MountainCar-v0", "envgen/MountainCar-v0", {"goal_velocity": 0.01}),
    ("MountainCarContinuous-v0", "envgen/MountainCarContinuous-v0", {}),
    ("FrozenLake-v1", "envgen/FrozenLake-v1", {}),
    ("FrozenLake-v1", "envgen/FrozenLake-v1", {"map_name": "8x8"}),
    ("FrozenLake-v1", "envgen/FrozenLake-v1", {"is_slippery": False}),
    ("FrozenLake-v1", "envgen/FrozenLake-v1", {"desc": ["SFH", "FFF", "HFG"]}),
    ("FrozenLake-v1", "envgen/FrozenLake-v1", {"success_rate": 0.6, "reward_schedule": (5, -1, 0)}),
]


def _supported(gym_id: str, kwargs: dict) -> bool:
    """Whether the installed Gymnasium's env takes these arguments (1.2.2 lacks some)."""
    env_class = type(gym.make(gym_id).unwrapped)
    params = inspect.signature(env_class.__init__).parameters
    return all(key in params for key in kwargs)


def _action(space: gym.Space, rng: np.random.Generator):
    if isinstance(space, gym.spaces.Discrete):
        return int(rng.integers(space.n))
    # Outside the bounds too: Gymnasium clamps the force but charges the whole action.
    return rng.uniform(-1.5, 1.5, size=space.shape).astype(space.dtype)


def _assert_same(expected, actual, where: str) -> None:
    if isinstance(expected, (int, np.integer)):
        assert int(expected) == actual and isinstance(actual, int), where
    else:
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6, err_msg=where)
        assert np.asarray(actual).dtype == np.asarray(expected).dtype, where


@pytest.mark.parametrize(("gym_id", "envgen_id", "kwargs"), CASES, ids=lambda v: str(v))
def test_trajectories_match_gymnasium(gym_id: str, envgen_id: str, kwargs: dict) -> None:
    if not _supported(gym_id, kwargs):
        pytest.skip(f"this Gymnasium's {gym_id} does not take {sorted(kwargs)}")
    reference = gym.make(gym_id, **kwargs)
    ported = gym.make(envgen_id, **kwargs)
    steps = 0
    for seed in range(12):
        rng = np.random.default_rng(1000 + seed)
        expected, _ = reference.reset(seed=seed)
        actual, _ = ported.reset(seed=seed)
        _assert_same(expected, actual, f"seed {seed} reset")
        for t in range(600):
            action = _action(reference.action_space, rng)
            e_obs, e_reward, e_term, e_trunc, _ = reference.step(action)
            a_obs, a_reward, a_term, a_trunc, _ = ported.step(action)
            where = f"seed {seed} step {t}"
            _assert_same(e_obs, a_obs, where)
            assert a_reward == pytest.approx(e_reward, abs=1e-9), where
            assert (a_term, a_trunc) == (e_term, e_trunc), where
            steps += 1
            if e_term or e_trunc:
                expected, _ = reference.reset()
                actual, _ = ported.reset()
                _assert_same(expected, actual, f"{where} autoreset")
    assert steps == 12 * 600


@pytest.mark.parametrize("kwargs", [{}, {"map_name": "8x8"}])
def test_frozen_lake_ansi_render_matches_gymnasium(kwargs: dict) -> None:
    reference = gym.make("FrozenLake-v1", render_mode="ansi", **kwargs)
    ported = gym.make("envgen/FrozenLake-v1", render_mode="ansi", **kwargs)
    reference.reset(seed=5)
    ported.reset(seed=5)
    assert ported.render() == reference.render()
    for action in [1, 2, 2, 1, 0, 3, 1, 2]:
        reference.step(action)
        ported.step(action)
        assert ported.render() == reference.render()


@pytest.mark.parametrize(
    "env_id",
    [
        "envgen/CartPole-v1",
        "envgen/MountainCar-v0",
        "envgen/MountainCarContinuous-v0",
        "envgen/FrozenLake-v1",
    ],
)
def test_rgb_array_pictures_have_content(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    colors = np.unique(frame.reshape(-1, 3), axis=0)
    assert len(colors) >= 3, "a picture has a background and at least two other colors"


@pytest.mark.parametrize(
    ("gym_id", "envgen_id", "options"),
    [
        ("CartPole-v1", "envgen/CartPole-v1", {"low": -0.2, "high": 0.1}),
        ("MountainCar-v0", "envgen/MountainCar-v0", {"low": -0.9, "high": -0.1}),
        ("MountainCar-v0", "envgen/MountainCar-v0", {"high": -0.5}),
    ],
)
def test_reset_options_change_the_start_like_gymnasium(
    gym_id: str, envgen_id: str, options: dict
) -> None:
    reference = gym.make(gym_id)
    ported = gym.make(envgen_id)
    for seed in range(5):
        expected, _ = reference.reset(seed=seed, options=options)
        actual, _ = ported.reset(seed=seed, options=options)
        _assert_same(expected, actual, f"seed {seed}")
        default, _ = ported.reset(seed=seed)
        assert not np.array_equal(default, actual)  # the options made a difference


def test_vector_reset_options_apply_to_the_reset_only() -> None:
    vector = gym.make_vec("envgen/CartPole-v1", num_envs=3, vectorization_mode="vector_entry_point")
    sync = gym.make_vec("envgen/CartPole-v1", num_envs=3, vectorization_mode="sync")
    options = {"low": -0.3, "high": 0.3}
    np.testing.assert_array_equal(
        vector.reset(seed=4, options=options)[0], sync.reset(seed=4, options=options)[0]
    )
    for _ in range(200):  # autoresets draw with the default bounds, as in SyncVectorEnv
        actions = np.array([0, 1, 1])
        np.testing.assert_array_equal(vector.step(actions)[0], sync.step(actions)[0])
