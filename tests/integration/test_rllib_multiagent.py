"""Ray RLlib 2.60 (new API stack) trains on generated multi-agent envs by their plain ids,
in two remote env runners: a shared policy learns the cooperative landmarks game, and one
policy per role learns pursuit (predators that catch, prey that escape), each measured
against random play of the same role."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("ray.rllib")
pytest.importorskip("torch")
pytest.importorskip("pettingzoo")

import torch  # noqa: E402
from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS  # noqa: E402
from ray.rllib.utils.pre_checks.env import check_multiagent_environments  # noqa: E402
from ray.tune.registry import ENV_CREATOR, _global_registry  # noqa: E402

import envgen.multiagent  # noqa: E402
import envgen.rllib  # noqa: E402
from envgen._rllib_multiagent import RLlibMultiAgentEnv  # noqa: E402

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


def _algo(env_id: str, env_config: dict, model_config: dict | None = None, **training):
    policies, mapping = envgen.rllib.policies_by_role(env_id, env_config)
    specs = envgen.rllib.module_specs(env_id, env_config, model_config)
    assert set(specs.rl_module_specs) == policies
    config = (
        PPOConfig()
        .environment(env_id, env_config=env_config)
        .multi_agent(policies=policies, policy_mapping_fn=mapping)
        .rl_module(rl_module_spec=specs)
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


def _greedy(module):
    """A policy that takes the trained module's most likely action."""

    def act(observation: np.ndarray, rng: np.random.Generator) -> int:
        with torch.no_grad():
            out = module.forward_inference({"obs": torch.as_tensor(observation[None])})
        return int(out["action_dist_inputs"][0].argmax())

    return act


def _uniform(observation: np.ndarray, rng: np.random.Generator) -> int:
    return int(rng.integers(5))


def _mean_returns(env_config: dict, policies: dict, episodes: int = 200) -> dict[str, float]:
    """Mean episode return of predator_0 and prey_0 when each role plays `policies[role]`,
    over seeded episodes (the same starts for every pairing)."""
    env = RLlibMultiAgentEnv("envgen/Pursuit-v0", env_config)
    roles = env.env.agent_roles
    rng = np.random.default_rng(0)
    totals = {"predator_0": 0.0, "prey_0": 0.0}
    for episode in range(episodes):
        observations, _ = env.reset(seed=10_000 + episode)
        while True:
            actions = {a: policies[roles[a]](o, rng) for a, o in observations.items()}
            observations, rewards, terms, truncs, _ = env.step(actions)
            for agent in totals:
                totals[agent] += rewards.get(agent, 0.0)
            observations = {
                a: o for a, o in observations.items() if not (terms.get(a) or truncs.get(a))
            }
            if terms["__all__"] or truncs["__all__"]:
                break
    return {agent: total / episodes for agent, total in totals.items()}


def test_ppo_learns_pursuit_with_one_policy_per_role(multiagent_session) -> None:
    """Two predators (starting on the left edge) and a prey (on the right edge) on a 7×7
    grid, 30 steps, each role its own PPO policy. Random predators catch a random prey in
    about 29% of episodes (predator return about +0.01); predators that chase catch it in
    all (about +0.93), and a prey that runs from random predators is never caught (about
    +0.30 against -0.02). After training, each role's greedy policy is played against the
    *random* other role and must beat the random policy of its own role there."""
    env_config: dict = {}
    torch.set_num_threads(1)  # the learner shares 2 cores with the env runners
    algo = _algo(
        "envgen/Pursuit-v0",
        env_config,
        {"fcnet_hiddens": [64, 64]},
        train_batch_size_per_learner=2000,
        minibatch_size=500,
        num_epochs=4,
        lr=1e-3,
    )
    try:
        history = []
        for _ in range(ITERATIONS):
            history.append(_returns(algo.train()))
        predator = _greedy(algo.get_module("predator"))
        prey = _greedy(algo.get_module("prey"))
    finally:
        algo.stop()
    random_play = _mean_returns(env_config, {"predator": _uniform, "prey": _uniform})
    learned_predators = _mean_returns(env_config, {"predator": predator, "prey": _uniform})
    learned_prey = _mean_returns(env_config, {"predator": _uniform, "prey": prey})
    print(
        f"pursuit, per-role PPO, {ITERATIONS} iterations: training returns {history}; "
        f"random vs random {random_play}; learned predators vs random prey "
        f"{learned_predators}; random predators vs learned prey {learned_prey}"
    )
    assert random_play["predator_0"] < 0.3, random_play  # the game is not won at random
    # +0.3 above random (about +0.05): learned predators gave +0.60, +0.73 and +0.41 in three
    # CI runs (seeded, but 2 env runners on 2 loaded cores do not sample in a fixed order)
    assert learned_predators["predator_0"] >= random_play["predator_0"] + 0.3
    assert learned_prey["prey_0"] >= random_play["prey_0"] + 0.15


#: PPO iterations for pursuit (2000 env steps each).
ITERATIONS = 6


def test_masked_actions_are_never_taken_with_rllibs_masking_module(multiagent_session) -> None:
    """Tic-tac-toe with `module_specs`: RLlib's action-masking PPO module samples inside
    each player's mask, in two remote env runners (the env refuses a masked-out move with
    InvalidAgentAction, which would fail the runner), and the trained module never
    samples a taken cell on the positions of 100 games."""
    env_id = "envgen/TicTacToe-v0"
    policies, mapping = envgen.rllib.policies_by_role(env_id)
    specs = envgen.rllib.module_specs(env_id)
    assert set(specs.rl_module_specs) == {"shared"}
    assert specs.rl_module_specs["shared"].module_class.__name__ == "ActionMaskingTorchRLModule"
    config = (
        PPOConfig()
        .environment(env_id)
        .multi_agent(policies=policies, policy_mapping_fn=mapping)
        .rl_module(rl_module_spec=specs)
        .env_runners(num_env_runners=2, num_envs_per_env_runner=1, sample_timeout_s=600)
        .training(train_batch_size_per_learner=400, minibatch_size=100, num_epochs=2)
        .debugging(seed=0)
    )
    algo = config.build_algo()
    try:
        for _ in range(2):
            result = algo.train()
        runners = result[ENV_RUNNER_RESULTS]
        assert runners["num_env_steps_sampled_lifetime"] >= 800, runners
        assert not runners.get("num_env_step_failures_lifetime"), runners
        module = algo.get_module("shared")
    finally:
        algo.stop()
    env = RLlibMultiAgentEnv(env_id)
    torch.manual_seed(0)
    moves = 0
    for seed in range(100):
        observations, _ = env.reset(seed=seed)
        while observations:
            (agent,) = [a for a in observations if a in env.env.agents]
            value = observations[agent]
            batch = {
                "obs": {k: torch.as_tensor(v[None]) for k, v in value.items()},
            }
            with torch.no_grad():
                logits = module.forward_exploration(batch)["action_dist_inputs"][0]
            action = int(torch.distributions.Categorical(logits=logits).sample())
            assert value["action_mask"][action] == 1.0, (seed, value, action)
            moves += 1
            observations, _, terms, truncs, _ = env.step({agent: action})
            if terms["__all__"] or truncs["__all__"]:
                break
    assert moves > 500
