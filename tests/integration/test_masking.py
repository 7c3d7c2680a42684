"""sb3-contrib's MaskablePPO trains on a masked spec with no glue: it finds the mask through
`action_masks()` of the generated env, under gym.make's wrappers and SB3's vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("sb3_contrib")
torch = pytest.importorskip("torch")

from sb3_contrib import MaskablePPO  # noqa: E402
from sb3_contrib.common.maskable.evaluation import evaluate_policy  # noqa: E402
from sb3_contrib.common.maskable.utils import get_action_masks  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402

from .conftest import generated_package  # noqa: E402

MAZE = "envgen/WallMaze-v0"
SHORTEST = 8  # steps from S to G in the default layout


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_vector_env_hands_maskable_ppo_the_masks() -> None:
    assert MAZE in generated_package().ENVS
    env = make_vec_env(MAZE, n_envs=2, seed=0, env_kwargs={"render_mode": None})
    env.reset()
    masks = get_action_masks(env)
    assert masks.shape == (2, 4) and masks.dtype == bool
    assert masks.tolist() == [[False, True, False, False]] * 2  # only "right" from S
    env.close()


def test_maskable_ppo_learns_the_shortest_way_through_the_maze() -> None:
    def mean_length(model) -> float:
        _, lengths = evaluate_policy(
            model,
            Monitor(gym.make(MAZE)),
            n_eval_episodes=3,
            deterministic=True,
            return_episode_rewards=True,
            use_masking=True,
        )
        return float(np.mean(lengths))

    env = make_vec_env(MAZE, n_envs=4, seed=0, env_kwargs={"render_mode": None})
    model = MaskablePPO(
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
    before = mean_length(model)
    model.learn(8_000)
    after = mean_length(model)
    env.close()
    # Untrained, the greedy masked policy wanders (or loops until the 60-step limit).
    assert before > SHORTEST, before
    assert after == SHORTEST, (before, after)
