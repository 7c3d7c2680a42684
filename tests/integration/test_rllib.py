"""Ray RLlib 2.60 trains on generated envs named by their Gymnasium ids, in remote env
runners, after one `envgen.rllib.register_envs()` call."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

from .conftest import generated_package

pytestmark = pytest.mark.slow

pytest.importorskip("ray.rllib")
torch = pytest.importorskip("torch")

from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.utils.metrics import (  # noqa: E402
    ENV_RUNNER_RESULTS,
    EPISODE_LEN_MEAN,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
)
from ray.tune.registry import ENV_CREATOR, _global_registry  # noqa: E402

import envgen.rllib  # noqa: E402

ENV_IDS = sorted(generated_package().ENVS)
VISUAL_ID = "envgen/SimpleVisual-v0"
DICT_ID = "envgen/DictNavigation-v0"


def _require(env_id: str) -> None:
    if env_id not in ENV_IDS:
        pytest.skip(f"{env_id} is not in generated/ (no spec for it yet)")


def test_registry_holds_a_picklable_creator_per_env(ray_session) -> None:
    """Every generated id is in Tune's registry (which lives in the cluster, not in the
    driver), and the creator pickles and makes the env from an RLlib-style config."""
    for env_id in ENV_IDS:
        assert _global_registry.contains(ENV_CREATOR, env_id), env_id
        creator = _global_registry.get(ENV_CREATOR, env_id)
        assert creator == envgen.rllib.EnvCreator(env_id)
        creator = pickle.loads(pickle.dumps(creator))
        env = creator({})
        observation, _ = env.reset(seed=0)
        assert env.observation_space.contains(observation)
        space = env.observation_space
        if not isinstance(space, (gym.spaces.Sequence, gym.spaces.Graph)):
            # what RLlib's default encoders take: a float32 vector (MLP) or image (CNN)
            assert isinstance(space, gym.spaces.Box) and space.dtype == np.float32, space
            assert len(space.shape) in (1, 3), space
        env.close()
    if DICT_ID in ENV_IDS:
        plain = envgen.rllib.EnvCreator(DICT_ID, adapt_observations=False)({})
        assert isinstance(plain.observation_space, gym.spaces.Dict)
    env = envgen.rllib.EnvCreator("envgen/GoLeft-v0")({"size": 4})
    assert env.reset(seed=0)[0].tolist() == [3.0]
    with pytest.raises(ValueError, match="Valid params: size"):
        envgen.rllib.EnvCreator("envgen/GoLeft-v0")({"sise": 4})


def test_remote_worker_makes_env_by_plain_id(ray_session) -> None:
    """A fresh Ray worker process (which never imported `generated`) resolves the plain
    id through the registry, as RLlib's env runners do."""
    ray = ray_session

    @ray.remote
    def make(env_id: str):
        from ray.tune.registry import ENV_CREATOR, _global_registry

        env = _global_registry.get(ENV_CREATOR, env_id)({})
        observation, _ = env.reset(seed=0)
        return env.observation_space, observation

    space, observation = ray.get(make.remote("envgen/CartPole-v1"))
    assert space == gym.make("envgen/CartPole-v1").observation_space
    assert space.contains(observation)


def _config(env_id: str, num_env_runners: int, **training) -> PPOConfig:
    return (
        PPOConfig()
        .environment(env_id)
        .env_runners(num_env_runners=num_env_runners, sample_timeout_s=120)
        .training(**training)
        .debugging(seed=0)
    )


def test_ppo_learns_go_left_with_two_env_runners(ray_session) -> None:
    """PPO, two remote env runners, the env given by its plain Gymnasium id: the mean
    episode length falls from a random walk's (~40 steps) to near the optimum (9)."""
    algo = _config(
        "envgen/GoLeft-v0",
        2,
        train_batch_size_per_learner=500,
        minibatch_size=125,
        num_epochs=8,
        lr=3e-3,
        gamma=0.95,
    ).build_algo()
    try:
        lengths = []
        for _ in range(12):
            result = algo.train()
            lengths.append(result[ENV_RUNNER_RESULTS][EPISODE_LEN_MEAN])
            if lengths[-1] <= 11:
                break
        assert lengths[0] > 20, lengths  # the first batch is close to a random walk
        assert lengths[-1] <= 11, lengths  # optimal: 9
        runner_spaces = algo.env_runner_group.foreach_env_runner(
            lambda runner: runner.env.single_observation_space, local_env_runner=False
        )
        assert len(runner_spaces) == 2
    finally:
        algo.stop()


def _one_iteration(env_id: str, num_env_runners: int = 1):
    algo = _config(
        env_id,
        num_env_runners,
        train_batch_size_per_learner=128,
        minibatch_size=64,
        num_epochs=1,
    ).build_algo()
    try:
        result = algo.train()
        assert result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME] >= 128
        return algo.get_module()
    finally:
        algo.stop()


def test_one_iteration_on_images_uses_the_default_cnn(ray_session) -> None:
    """64x64x3 uint8 image observations: RLlib's default CNN encoder, one PPO iteration."""
    _require(VISUAL_ID)
    space = gym.make(VISUAL_ID).observation_space
    assert space.shape == (64, 64, 3) and space.dtype == np.uint8
    module = _one_iteration(VISUAL_ID)
    assert any(isinstance(layer, torch.nn.Conv2d) for layer in module.modules())


def test_one_iteration_on_dict_observations(ray_session) -> None:
    """Dict observations (Box and Discrete entries), flattened for RLlib's default MLP."""
    _require(DICT_ID)
    assert isinstance(gym.make(DICT_ID).observation_space, gym.spaces.Dict)
    _one_iteration(DICT_ID)


def test_native_vector_env_in_env_runners(ray_session) -> None:
    """With `gym_env_vectorize_mode="vector_entry_point"`, each env runner steps the spec's
    native NumPy vector env (where the spec has one) instead of N single envs."""
    vector_ids = [i for i in ENV_IDS if generated_package().ENVS[i]["vector_entry_point"]]
    if "envgen/CartPole-v1" not in vector_ids:
        pytest.skip("envgen/CartPole-v1 has no native vector env")
    algo = (
        _config(
            "envgen/CartPole-v1",
            1,
            train_batch_size_per_learner=128,
            minibatch_size=64,
            num_epochs=1,
        )
        .env_runners(num_envs_per_env_runner=4, gym_env_vectorize_mode="vector_entry_point")
        .build_algo()
    )
    try:
        names = algo.env_runner_group.foreach_env_runner(
            lambda runner: type(runner.env.unwrapped).__name__, local_env_runner=False
        )
        assert names == ["CartPoleV1VectorEnv"], names
        result = algo.train()
        assert result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME] >= 128
    finally:
        algo.stop()
