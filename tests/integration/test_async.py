"""Every generated env under Gymnasium's vector envs (subprocesses), and pickled.

Runs with whichever Gymnasium is installed: 1.4 in the main venv, 1.2.2 (pinned by Ray
RLlib 2.60) in the RL venv.
"""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from .conftest import generated_package

pytestmark = pytest.mark.slow

ENV_IDS = sorted(generated_package().ENVS)


def _dynamic(space: spaces.Space) -> bool:
    """Whether `space` has elements of varying size (which shared memory cannot hold)."""
    if isinstance(space, (spaces.Sequence, spaces.Graph)):
        return True
    if isinstance(space, spaces.Dict):
        return any(_dynamic(s) for s in space.spaces.values())
    if isinstance(space, (spaces.Tuple, spaces.OneOf)):
        return any(_dynamic(s) for s in space.spaces)
    return False


def _equal(a, b) -> bool:
    """Structural equality of observations (arrays, tuples, dicts, graphs, strings)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, spaces.GraphInstance):
        return all(_equal(getattr(a, f), getattr(b, f)) for f in ("nodes", "edges", "edge_links"))
    if a is None or b is None:
        return a is b
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_async(env_id: str) -> None:
    """`gym.make_vec(id, num_envs=8, vectorization_mode="async")` resets and steps.

    Gymnasium cannot put Sequence/Graph observations in shared memory, so for those (and
    only those) the vector env needs `vector_kwargs={"shared_memory": False}`.
    """
    single = gym.make(env_id)
    vector_kwargs = {"shared_memory": False} if _dynamic(single.observation_space) else None
    single.close()
    envs = gym.make_vec(env_id, num_envs=8, vectorization_mode="async", vector_kwargs=vector_kwargs)
    try:
        assert isinstance(envs, gym.vector.AsyncVectorEnv)
        observations, infos = envs.reset(seed=123)
        assert isinstance(infos, dict)
        envs.action_space.seed(0)
        for _ in range(30):  # long enough for some envs to end and autoreset
            observations, rewards, terminated, truncated, infos = envs.step(
                envs.action_space.sample()
            )
            assert rewards.shape == terminated.shape == truncated.shape == (8,)
            assert np.all(np.isfinite(rewards))
            assert envs.observation_space.contains(observations) or _dynamic(
                envs.single_observation_space
            )
    finally:
        envs.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_and_spaces_pickle(env_id: str) -> None:
    """What a remote worker receives pickles: the spaces, and an env mid-episode, which then
    continues exactly as the original does."""
    env = gym.make(env_id)
    for space in (env.observation_space, env.action_space):
        assert pickle.loads(pickle.dumps(space)) == space
    env.reset(seed=7)
    env.action_space.seed(7)
    actions = [env.action_space.sample() for _ in range(20)]
    env.step(actions[0])
    clone = pickle.loads(pickle.dumps(env))
    for action in actions[1:]:
        a, b = env.step(action), clone.step(action)
        assert _equal(a[0], b[0]) and a[1:4] == b[1:4]
        if a[2] or a[3]:
            break
    env.close()
    clone.close()
