"""Multi-agent specs in RLlib (new API stack): a `MultiAgentEnv` per generated PettingZoo
module, registered by id, and a policy mapping per role. Used through `envgen.rllib`:

    import envgen.rllib
    from ray.rllib.algorithms.ppo import PPOConfig

    envgen.rllib.register_multiagent_envs()          # every multi-agent env in `generated`
    policies, mapping = envgen.rllib.policies_by_role("envgen/Pursuit-v0")
    config = (
        PPOConfig()
        .environment("envgen/Pursuit-v0", env_config={"n_prey": 2})
        .multi_agent(policies=policies, policy_mapping_fn=mapping)
        .env_runners(num_env_runners=2)
    )

RLlib's own `ParallelPettingZooEnv` reads the agents before `reset` (a PettingZoo env has
none then) and keeps them in a set (no fixed order); this adapter takes `possible_agents`,
in order, and adapts observations the way `envgen.rllib` does for single-agent envs, so the
default models encode them: images become float32 in [-1, 1], everything else a flat
float32 vector (RLlib's default CNN has filters only for a few image sizes, so small grids
such as the pursuit planes are flattened too).

Turn-based (AEC) specs step one agent at a time: the observations returned are those of
the agent who moves next.

Agents with an action mask (PettingZoo's `{"observation", "action_mask"}` dict) get
observations in the layout of RLlib's own action-masking module
(`ray.rllib.examples.rl_modules.classes.action_masking_rlm.ActionMaskingTorchRLModule`):
`{"observations": <the adapted observation>, "action_mask": <float32 0/1 per action>}`.
`module_specs(env_id)` gives each policy the RLModuleSpec it needs: that module (RLlib's
default PPO model, whose action logits are masked, so masked-out actions are never
sampled) for roles with masks, the default one for the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from envgen import multiagent

__all__ = [
    "MultiAgentEnvCreator",
    "RLlibMultiAgentEnv",
    "RoleMapping",
    "module_specs",
    "policies_by_role",
]


def _is_image(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8


def _is_masked(space: spaces.Space) -> bool:
    """PettingZoo's masked observation: a Dict of `observation` and `action_mask`."""
    return isinstance(space, spaces.Dict) and set(space.spaces) == {"observation", "action_mask"}


class _MaskedAdapter:
    """A masked agent's observations in the layout of RLlib's action-masking module."""

    def __init__(self, space: spaces.Dict) -> None:
        self.inner = _Adapter(space["observation"])
        n = space["action_mask"].shape[0]
        self.space = spaces.Dict(
            {
                "action_mask": spaces.Box(0.0, 1.0, (n,), np.float32),
                "observations": self.inner.space,
            }
        )

    def __call__(self, value: Any) -> dict[str, np.ndarray]:
        return {
            "action_mask": np.asarray(value["action_mask"], dtype=np.float32),
            "observations": self.inner(value["observation"]),
        }


class _Adapter:
    """One agent's observations as RLlib's default models take them."""

    def __init__(self, space: spaces.Space) -> None:
        self.original = space
        self.image = _is_image(space)
        if self.image:
            self.space = spaces.Box(-1.0, 1.0, space.shape, np.float32)
        else:
            flat = spaces.flatten_space(space)
            self.space = spaces.Box(
                np.asarray(flat.low, dtype=np.float32),
                np.asarray(flat.high, dtype=np.float32),
                flat.shape,
                np.float32,
            )

    def __call__(self, value: Any) -> np.ndarray:
        if self.image:
            return np.asarray(value, dtype=np.float32) / 128.0 - 1.0
        return np.asarray(spaces.flatten(self.original, value), dtype=np.float32)


class RLlibMultiAgentEnv(MultiAgentEnv):
    """A generated multi-agent env as an RLlib `MultiAgentEnv` (new API stack)."""

    def __init__(
        self, env_id: str, config: Mapping[str, Any] | None = None, adapt: bool = True
    ) -> None:
        super().__init__()
        params = dict(config or {})
        params.pop("num_envs", None)
        module = multiagent.module(env_id)
        self.turn_based = not hasattr(module, "parallel_env")
        self.env = module.raw_env(**params) if self.turn_based else module.parallel_env(**params)
        self.possible_agents = list(self.env.possible_agents)
        self.agents = list(self.possible_agents)
        raw = {a: self.env.observation_space(a) for a in self.possible_agents}
        self._adapters = {
            a: (_MaskedAdapter(s) if _is_masked(s) else _Adapter(s)) if adapt else None
            for a, s in raw.items()
        }
        self.observation_spaces = {
            a: (self._adapters[a].space if adapt else raw[a]) for a in self.possible_agents
        }
        self.action_spaces = {a: self.env.action_space(a) for a in self.possible_agents}
        self.observation_space = spaces.Dict(self.observation_spaces)
        self.action_space = spaces.Dict(self.action_spaces)

    def _obs(self, agent: str, value: Any) -> Any:
        adapter = self._adapters[agent]
        return adapter(value) if adapter is not None else value

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self.turn_based:
            self.env.reset(seed=seed, options=options)
            self.agents = list(self.env.agents)
            return self._next_turn({})[0], {}
        observations, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        return {a: self._obs(a, o) for a, o in observations.items()}, dict(infos)

    def step(self, action_dict: Mapping[str, Any]):
        if self.turn_based:
            self.env.step(action_dict[self.env.agent_selection])
            rewards: dict[str, float] = {}
            observations, terms, truncs, infos = self._next_turn(rewards)
            return observations, rewards, terms, truncs, infos
        observations, rewards, terms, truncs, infos = self.env.step(dict(action_dict))
        self._still_here(observations)
        terms = dict(terms)
        truncs = dict(truncs)
        terms["__all__"] = not self.env.agents and all(terms.values())
        truncs["__all__"] = not self.env.agents and not terms["__all__"]
        obs = {a: self._obs(a, o) for a, o in observations.items()}
        return obs, dict(rewards), terms, truncs, dict(infos)

    def _next_turn(self, rewards: dict[str, float]):
        """Play the dead steps PettingZoo asks for; return the next mover's observation
        (and the final observation of agents that just finished)."""
        env = self.env
        observations: dict[str, Any] = {}
        terms: dict[str, bool] = {}
        truncs: dict[str, bool] = {}
        infos: dict[str, Any] = {}
        while env.agents:
            agent = env.agent_selection
            obs, reward, term, trunc, info = env.last()
            observations[agent] = self._obs(agent, obs)
            rewards[agent] = rewards.get(agent, 0.0) + float(reward)
            terms[agent], truncs[agent], infos[agent] = bool(term), bool(trunc), info
            if not (term or trunc):
                break
            env.step(None)
        for agent in env.agents:  # rewards of agents waiting for their turn
            if agent not in rewards and env.rewards.get(agent):
                rewards[agent] = float(env.rewards[agent])
        self._still_here(observations)
        terms["__all__"] = not env.agents and all(terms.values())
        truncs["__all__"] = not env.agents and not terms["__all__"]
        return observations, terms, truncs, infos

    def _still_here(self, observations: Mapping[str, Any]) -> None:
        """`agents`: those in the game, and those that just finished (RLlib reads their
        last observation with the agents of this step)."""
        self.agents = [a for a in self.possible_agents if a in self.env.agents or a in observations]

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


class MultiAgentEnvCreator:
    """Makes the RLlib env from an `EnvContext`; picklable by reference (Ray ships it)."""

    def __init__(self, env_id: str, package: str = "generated", adapt: bool = True) -> None:
        self.env_id = env_id
        self.package = package
        self.adapt = adapt

    def __call__(self, config: Mapping[str, Any] | None = None) -> RLlibMultiAgentEnv:
        multiagent.module(f"{self.package}:{self.env_id}")  # registers the package's ids
        return RLlibMultiAgentEnv(self.env_id, dict(config or {}), self.adapt)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultiAgentEnvCreator) and (
            self.env_id,
            self.package,
            self.adapt,
        ) == (other.env_id, other.package, other.adapt)

    def __hash__(self) -> int:
        return hash((self.env_id, self.package, self.adapt))


class RoleMapping:
    """`policy_mapping_fn`: an agent's policy is its role's (picklable)."""

    def __init__(self, roles: Mapping[str, str]) -> None:
        self.roles = dict(roles)

    def __call__(self, agent_id: str, episode: Any = None, **kwargs: Any) -> str:
        return self.roles[agent_id]


def policies_by_role(
    env_id: str, params: Mapping[str, Any] | None = None
) -> tuple[set[str], RoleMapping]:
    """One policy per role (`shared` for a spec without roles): the policy ids and the
    mapping function for `AlgorithmConfig.multi_agent`. `params` must be those of the
    `env_config` (agent names can depend on them)."""
    env = multiagent.make(env_id, **dict(params or {}))
    roles = dict(env.unwrapped.agent_roles)
    env.close()
    return set(roles.values()), RoleMapping(roles)


def module_specs(
    env_id: str, params: Mapping[str, Any] | None = None, model_config: Any = None
) -> Any:
    """A `MultiRLModuleSpec` with one module per policy of `policies_by_role`: RLlib's
    action-masking PPO module for roles whose agents have action masks, its default
    module for the others, each with `model_config` (a dict or RLlib's
    `DefaultModelConfig`, e.g. `fcnet_hiddens`). For `AlgorithmConfig.rl_module(...)`."""
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
        ActionMaskingTorchRLModule,
    )

    env = multiagent.make(env_id, **dict(params or {}))
    masked: dict[str, bool] = {}
    for agent, role in env.unwrapped.agent_roles.items():
        masked[role] = masked.get(role, False) or _is_masked(env.observation_space(agent))
    env.close()
    return MultiRLModuleSpec(
        rl_module_specs={
            policy: RLModuleSpec(
                module_class=ActionMaskingTorchRLModule if has_mask else None,
                model_config=model_config,
            )
            for policy, has_mask in masked.items()
        }
    )


def register(ids: Iterable[str] | None, package: str, adapt: bool) -> list[str]:
    import importlib

    from ray.tune.registry import register_env

    known = list(getattr(importlib.import_module(package), "MULTIAGENT_ENVS", {}))
    chosen = known if ids is None else [ids] if isinstance(ids, str) else list(ids)
    for env_id in chosen:
        if env_id not in known:
            raise KeyError(f"{env_id!r} is not a multi-agent env of {package!r}: {known}")
        register_env(env_id, MultiAgentEnvCreator(env_id, package, adapt))
    return chosen
