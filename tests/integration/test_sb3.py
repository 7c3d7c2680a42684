"""Stable-Baselines3 trains on generated envs as on any Gymnasium env: no glue code."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from .conftest import generated_package

pytestmark = pytest.mark.slow

sb3 = pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.base_class import maybe_make_env  # noqa: E402
from stable_baselines3.common.env_checker import check_env  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.evaluation import evaluate_policy  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402

#: Observation spaces SB3's policies accept (a Dict of these, not nested, too).
SB3_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def _sb3_supports(space: spaces.Space) -> bool:
    if isinstance(space, spaces.Dict):
        return all(isinstance(s, SB3_SPACES) for s in space.spaces.values())
    return isinstance(space, SB3_SPACES)


def _sb3_ids() -> list[str]:
    ids = []
    for env_id in sorted(generated_package().ENVS):
        env = gym.make(env_id)
        if _sb3_supports(env.observation_space) and _sb3_supports(env.action_space):
            ids.append(env_id)
        env.close()
    return ids


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny networks train fastest on one thread (and leave the other core to the envs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _linear(start: float):
    return lambda progress_remaining: progress_remaining * start


@pytest.mark.parametrize("env_id", _sb3_ids())
def test_check_env(env_id: str) -> None:
    """SB3's own env checker accepts every env whose spaces SB3 supports."""
    env = gym.make(env_id)
    check_env(env.unwrapped, warn=True, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id", _sb3_ids())
def test_make_vec_env_by_id(env_id: str) -> None:
    """SB3's `make_vec_env(id)` works for every env, whatever render modes it has.

    `make_vec_env` (and `PPO("MlpPolicy", env_id)`) pass `render_mode="rgb_array"` and
    retry without it only on a `TypeError`, so an env without rgb_array must refuse the
    mode with a TypeError (or accept it, as Gymnasium's own envs do), not a ValueError.
    """
    maybe_make_env(env_id, verbose=0).close()  # what PPO("MlpPolicy", env_id) does
    env = make_vec_env(env_id, n_envs=2, seed=0)
    try:
        env.reset()
        env.step(np.array([env.action_space.sample() for _ in range(2)]))
    finally:
        env.close()


def _make_vec_env(env_id: str, n_envs: int):
    # render_mode=None: see test_make_vec_env_by_id (kept independent of it).
    return make_vec_env(env_id, n_envs=n_envs, seed=0, env_kwargs={"render_mode": None})


def test_ppo_learns_go_left() -> None:
    """PPO finds the shortest walk down the corridor: 9 steps from cell 9 to cell 0."""
    env = _make_vec_env("envgen/GoLeft-v0", 4)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=64,
        batch_size=64,
        n_epochs=10,
        learning_rate=3e-3,
        gamma=0.95,
        seed=0,
        device="cpu",
    )
    model.learn(6_000)
    returns, lengths = evaluate_policy(
        model,
        Monitor(gym.make("envgen/GoLeft-v0")),
        n_eval_episodes=5,
        deterministic=True,
        return_episode_rewards=True,
    )
    env.close()
    assert lengths == [9] * 5, lengths
    assert returns == [1.0] * 5


def test_ppo_learns_cartpole() -> None:
    """PPO with rl-zoo's CartPole-v1 settings balances the generated CartPole: a mean return
    of at least 195 (the classic "solved" bar) after 30k steps, seeds fixed."""
    env = _make_vec_env("envgen/CartPole-v1", 8)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=_linear(1e-3),
        clip_range=_linear(0.2),
        seed=0,
        device="cpu",
    )
    model.learn(30_000)
    mean, std = evaluate_policy(
        model, Monitor(gym.make("envgen/CartPole-v1")), n_eval_episodes=10, deterministic=True
    )
    env.close()
    assert mean >= 195, (mean, std)
    assert np.isfinite(std)
