"""Small hand-written PettingZoo envs for the multi-agent fuzzer's tests: a correct one of
each kind, and copies with one planted bug each."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import AECEnv, ParallelEnv

# --- a parallel race: each agent walks right along a line; at the end it leaves -------------


class Race(ParallelEnv):
    metadata = {"name": "race", "render_modes": []}
    LENGTH = 3

    def __init__(self) -> None:
        self.possible_agents = ["runner_0", "runner_1"]
        self._obs = {a: spaces.Box(0, self.LENGTH, (1,), np.int64) for a in self.possible_agents}
        self._act = {a: spaces.Discrete(2) for a in self.possible_agents}
        self.np_random, _ = seeding.np_random(None)
        self.agents: list[str] = []

    def observation_space(self, agent):
        return self._obs[agent]

    def action_space(self, agent):
        return self._act[agent]

    def _observe(self, agent):
        return np.array([self.pos[agent]], dtype=np.int64)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        self.agents = list(self.possible_agents)
        self.pos = {a: int(self.np_random.integers(0, 2)) for a in self.agents}
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        acting = list(self.agents)
        for agent in acting:
            self.pos[agent] = min(self.pos[agent] + int(actions[agent]), self.LENGTH)
        terms = {a: self.pos[a] == self.LENGTH for a in acting}
        truncs = dict.fromkeys(acting, False)
        rewards = {a: 1.0 if terms[a] else 0.0 for a in acting}
        obs = {a: self._observe(a) for a in acting}
        self.agents = [a for a in acting if not terms[a]]
        return obs, rewards, terms, truncs, {a: {} for a in acting}


class RaceKeepsDoneAgents(Race):
    """Planted bug: an agent that reached the end stays in `agents` and keeps acting."""

    def step(self, actions):
        result = super().step(actions)
        self.agents = [a for a in self.possible_agents if a in actions]
        return result


class RaceObservesTheDead(Race):
    """Planted bug: agents that left still get observations."""

    def step(self, actions):
        obs, rewards, terms, truncs, infos = super().step(actions)
        obs = {a: self._observe(a) for a in self.possible_agents}
        return obs, rewards, terms, truncs, infos


class RaceObservationOutOfSpace(Race):
    """Planted bug: at position 2 the observation says 7 (outside Box(0, 3))."""

    def _observe(self, agent):
        value = 7 if self.pos[agent] == 2 else self.pos[agent]
        return np.array([value], dtype=np.int64)


class RaceRelay(Race):
    """Correct: a runner that reached the end hands over to a fresh runner, a new agent
    (`runner_0` to `runner_0_relay`) starting at 0, once."""

    def __init__(self) -> None:
        super().__init__()
        self.possible_agents = [*self.possible_agents, "runner_0_relay", "runner_1_relay"]
        self._obs = {a: spaces.Box(0, self.LENGTH, (1,), np.int64) for a in self.possible_agents}
        self._act = {a: spaces.Discrete(2) for a in self.possible_agents}

    def reset(self, seed=None, options=None):
        self.agents = []
        obs, infos = super().reset(seed=seed, options=options)
        self.agents = ["runner_0", "runner_1"]
        return {a: obs[a] for a in self.agents}, {a: {} for a in self.agents}

    def _successor(self, agent: str) -> str | None:
        return None if agent.endswith("_relay") else f"{agent}_relay"

    def step(self, actions):
        obs, rewards, terms, truncs, infos = super().step(actions)
        for agent in [a for a in actions if terms[a]]:
            fresh = self._successor(agent)
            if fresh is None:
                continue
            self.pos[fresh] = 0
            self.agents.append(fresh)
            obs[fresh], rewards[fresh], infos[fresh] = self._observe(fresh), 0.0, {}
            terms[fresh] = truncs[fresh] = False
        return obs, rewards, terms, truncs, infos


class RaceRevivesTheFinished(Race):
    """Planted bug: a runner that reached the end comes back under its own name one step
    later (PettingZoo agents cannot: a policy would see an ended episode go on)."""

    def reset(self, seed=None, options=None):
        self._finished: list[str] = []
        return super().reset(seed=seed, options=options)

    def step(self, actions):
        obs, rewards, terms, truncs, infos = super().step(actions)
        for agent in self._finished:  # back, under the same name
            self.pos[agent] = 0
            self.agents.append(agent)
            obs[agent], rewards[agent], infos[agent] = self._observe(agent), 0.0, {}
            terms[agent] = truncs[agent] = False
        self._finished = [a for a in actions if terms[a]]
        return obs, rewards, terms, truncs, infos


# --- a turn-based game with action masks: claim free cells -----------------------------------


class Claim(AECEnv):
    """Two players take turns claiming free cells of a row of 4; the game ends when the row
    is full."""

    metadata = {"name": "claim", "render_modes": [], "is_parallelizable": False}
    CELLS = 4

    def __init__(self) -> None:
        super().__init__()
        self.possible_agents = ["first", "second"]
        self._obs = {
            a: spaces.Dict(
                {
                    "observation": spaces.Box(0, 2, (self.CELLS,), np.int8),
                    "action_mask": spaces.Box(0, 1, (self.CELLS,), np.int8),
                }
            )
            for a in self.possible_agents
        }
        self._act = {a: spaces.Discrete(self.CELLS) for a in self.possible_agents}

    def observation_space(self, agent):
        return self._obs[agent]

    def action_space(self, agent):
        return self._act[agent]

    def mask(self):
        return (self.board == 0).astype(np.int8)

    def observe(self, agent):
        return {"observation": self.board.copy(), "action_mask": self.mask()}

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.board = np.zeros(self.CELLS, dtype=np.int8)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self.agent_selection = self.agents[0]

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if self.board[action] != 0:
            raise ValueError(f"cell {action} is already claimed")
        self._cumulative_rewards[agent] = 0.0
        self.board[action] = self.agents.index(agent) + 1
        self._clear_rewards()
        self.rewards[agent] = 1.0
        if not (self.board == 0).any():
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self.agents[1 - self.agents.index(agent)]
        self._accumulate_rewards()


class ClaimMaskAllowsTakenCells(Claim):
    """Planted bug: the mask allows every cell, also the claimed ones."""

    def mask(self):
        return np.ones(self.CELLS, dtype=np.int8)


class ClaimDoneAgentsKeepPlaying(Claim):
    """Planted bug: a done agent's None step does not remove it (it keeps its turn)."""

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self.agent_selection = self.agents[1 - self.agents.index(agent)]
            return
        super().step(action)
