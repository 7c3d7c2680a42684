"""What generated multi-agent (PettingZoo) modules import besides `envgen.runtime`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from envgen.runtime import InvalidParam, contains, fix_action


class InvalidAgentAction(ValueError):
    """An action a multi-agent env refuses: masked out, missing, or for an agent that has
    left the game."""


#: The most agents a game may have (names, dicts and spaces are made per agent, at `make`);
#: the compiler checks literal counts and param defaults against the same number.
MAX_AGENTS = 10_000


def agent_names(env_id: str, prefix: str, count: Any) -> list[str]:
    """`prefix_0`, `prefix_1`, ... for a count that the params decide."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise InvalidParam(
            f"{env_id}: the number of '{prefix}' agents must be at least 1, got {count!r}"
        )
    if count > MAX_AGENTS:  # the compiler's limit (compiler/_multiagent.py)
        raise InvalidParam(
            f"{env_id}: the number of '{prefix}' agents must be at most {MAX_AGENTS}, got {count}"
        )
    return [f"{prefix}_{i}" for i in range(int(count))]


def check_distinct(env_id: str, names: list[str], params: Mapping[str, Any]) -> None:
    """Two roles' agents may not share a name (a fixed name against a counted one)."""
    if len(set(names)) != len(names):
        clash = sorted({n for n in names if names.count(n) > 1})
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        raise InvalidParam(
            f"{env_id}: with {shown}, two agents are named {', '.join(clash)} (a role's "
            "fixed name is also a counted role's name); rename the agent or change the params"
        )


def rejoin_names(
    env_id: str, names: list[str], times: list[Any]
) -> tuple[list[list[str]], list[str]]:
    """The names each agent takes as it comes back (`name`, `name_r1`, `name_r2`, ...:
    PettingZoo's agents never come back under a name they left with), and every name in
    order (each agent's first, then the second ones, ...): `possible_agents`."""
    lives = []
    total = 0
    for name, count in zip(names, times, strict=True):
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise InvalidParam(
                f"{env_id}: how many times {name} may come back must be an integer >= 0, "
                f"got {count!r}"
            )
        total += int(count) + 1  # each return is one more name in possible_agents
        if total > MAX_AGENTS:
            raise InvalidParam(
                f"{env_id}: with the agents that come back the game has more than "
                f"{MAX_AGENTS} agent names; lower `times` or the number of agents"
            )
        lives.append([name] + [f"{name}_r{k}" for k in range(1, int(count) + 1)])
    longest = max((len(life) for life in lives), default=1)
    possible = [life[k] for k in range(longest) for life in lives if k < len(life)]
    if len(set(possible)) != len(possible):
        clash = sorted({n for n in possible if possible.count(n) > 1})
        raise InvalidParam(
            f"{env_id}: agents that come back take the names {', '.join(clash)}, which "
            "other agents already have; rename those agents"
        )
    return lives, possible


def mask_space(n: int) -> spaces.Box:
    """The space of an action mask: one 0/1 int8 per action (PettingZoo's convention)."""
    return spaces.Box(0, 1, shape=(n,), dtype=np.int8)


def mask_array(value: Any, n: int, env_id: str, agent: str) -> np.ndarray:
    """The mask as PettingZoo's int8 0/1 per action: a computed value that is not 0/1 (a
    count, say) allows the action where it is nonzero, never a truncated int8."""
    mask = (np.asarray(value) != 0).astype(np.int8)
    if mask.shape != (n,):
        raise ValueError(f"{env_id}: the action mask of {agent} has shape {mask.shape}, not ({n},)")
    return mask


def checked_action(
    space: spaces.Space, action: Any, mode: str, agent: str, mask: np.ndarray | None = None
) -> Any:
    """One agent's action, checked against its space (and its action mask)."""
    if isinstance(space, spaces.Discrete):
        if action.__class__ is not int or not space.start <= action < space.start + space.n:
            action = int(action) if contains(space, action) else fix_action(space, action, mode)
        if mask is not None and mode != "ignore":
            index = int(action) - int(space.start)
            if not (0 <= index < len(mask)) or not mask[index]:
                raise InvalidAgentAction(
                    f"action {action!r} of {agent} is not allowed now (its action mask is "
                    f"{mask.tolist()})"
                )
        return action
    if not contains(space, action):
        action = fix_action(space, action, mode)
    return action


def acting_agents(
    env_id: str, possible: list[str], live: np.ndarray, actions: Mapping[str, Any]
) -> list[int]:
    """Indices of the agents that act this step; every live agent must give an action."""
    if not isinstance(actions, Mapping):
        raise TypeError(f"{env_id}: step() takes a dict agent -> action, got {type(actions)}")
    acting = [i for i, name in enumerate(possible) if live[i]]
    names = {possible[i] for i in acting}
    missing = [name for name in names if name not in actions]
    if missing:
        raise InvalidAgentAction(f"{env_id}: no action for {', '.join(sorted(missing))}")
    extra = [name for name in actions if name not in names]
    if extra:
        raise InvalidAgentAction(
            f"{env_id}: actions for agents not in the game: {', '.join(map(str, extra))}"
        )
    return acting


def next_live(live: np.ndarray, index: Any) -> int:
    """The first agent still in the game from `index` on (wrapping round)."""
    n = len(live)
    start = int(index) % n
    for k in range(n):
        i = (start + k) % n
        if live[i]:
            return i
    return start
