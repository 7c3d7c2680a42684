"""Ray RLlib 2.60 (new API stack) trains on generated multi-agent envs by their plain ids,
in two remote env runners: a shared policy learns the cooperative landmarks game; the
per-role policy mapping is checked (pursuit has no learning test yet, see docs/multiagent.md)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("ray.rllib")
pytest.importorskip("torch")
pytest.importorskip("pettingzoo")

from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec  # noqa: E402
from ray.rllib.core.rl_module.rl_module import RLModuleSpec  # noqa: E402
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS  # noqa: E402
from ray.rllib.utils.pre_checks.env import check_multiagent_environments  # noqa: E402
from ray.tune.registry import ENV_CREATOR, _global_registry  # noqa: E402

import envgen.multiagent  # noqa: E402
import envgen.rllib  # noqa: E402

MULTIAGENT_IDS = envgen.multiagent.registered()


@pytest.fixture(scope="module")
def multiagent_session(ray_session):
    assert envgen.rllib.register_multiagent_envs() == MULTIAGENT_IDS
    return ray_session


def test_every_multiagent_env_is_an_rllib_multiagent_env(multiagent_session) -> None:
    for env_id in MULTIAGENT_IDS:
        creator = pickle.loads(pickle.dumps(_global_registry.get(ENV_CREATOR, env_id)))
        env = creator({})
        check_multiagent_environments(env)
        for seed in range(3):  # whole random episodes, turn-based ones too
            observations, _ = env.reset(seed=seed)
            done: set[str] = set()
            for _ in range(200):
                for agent, value in observations.items():
                    assert env.observation_spaces[agent].contains(value), (env_id, agent)
                actions = {}
                for agent in observations:
                    if agent in done:  # its last observation: RLlib sends it no action
                        continue
                    space = env.action_spaces[agent]
                    mask = getattr(env.env, "_action_mask", None)
                    legal = mask(env.env._index[agent]) if mask is not None else None
                    actions[agent] = (
                        int(np.flatnonzero(legal)[0]) if legal is not None else space.sample()
                    )
                observations, rewards, terms, truncs, _ = env.step(actions)
                assert all(np.isfinite(r) for r in rewards.values())
                done |= {a for a in observations if terms.get(a) or truncs.get(a)}
                if terms["__all__"] or truncs["__all__"]:
                    break
            else:
                pytest.fail(f"{env_id}: an episode did not end in 200 steps")
        env.close()


def test_policies_by_role_maps_agents_to_their_roles() -> None:
    policies, mapping = envgen.rllib.policies_by_role("envgen/Pursuit-v0", {"n_prey": 2})
    assert policies == {"predator", "prey"}
    mapping = pickle.loads(pickle.dumps(mapping))
    assert [mapping(a) for a in ("predator_0", "predator_1", "prey_0", "prey_1")] == [
        "predator",
        "predator",
        "prey",
        "prey",
    ]
    policies, mapping = envgen.rllib.policies_by_role("envgen/Landmarks-v0")
    assert policies == {"shared"} and mapping("agent_2") == "shared"


def _algo(env_id: str, env_config: dict, **training):
    policies, mapping = envgen.rllib.policies_by_role(env_id, env_config)
    config = (
        PPOConfig()
        .environment(env_id, env_config=env_config)
        .multi_agent(policies=policies, policy_mapping_fn=mapping)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={policy: RLModuleSpec() for policy in policies}
            )
        )
        # a generous timeout: a loaded CI machine must not drop samples (it did at 60 s)
        .env_runners(num_env_runners=2, num_envs_per_env_runner=1, sample_timeout_s=600)
        .training(**training)
        .debugging(seed=0)
    )
    return config.build_algo()


def _returns(result) -> dict[str, float]:
    assert ENV_RUNNER_RESULTS in result, result.get("fault_tolerance")  # runners dropped?
    return dict(result[ENV_RUNNER_RESULTS]["module_episode_returns_mean"])


def test_ppo_learns_landmarks_with_a_shared_policy(multiagent_session) -> None:
    """Two agents, each walking to its own landmark on a 4×4 grid: random walkers mostly
    time out (about -2 each over 20 steps); walking straight there earns about +0.8 each."""
    algo = _algo(
        "envgen/Landmarks-v0",
        {"n_agents": 2, "size": 4, "max_cycles": 20},
        train_batch_size_per_learner=1000,
        minibatch_size=200,
        num_epochs=8,
        lr=1e-3,
    )
    try:
        history = []
        for _ in range(15):
            history.append(_returns(algo.train())["shared"])
            if history[-1] >= 0.3:
                break
        print(f"landmarks, shared policy, mean return per iteration: {history}")
        assert history[0] < 0.0, history
        assert history[-1] >= 0.3, history
    finally:
        algo.stop()
