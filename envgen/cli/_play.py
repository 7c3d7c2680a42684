"""Playing episodes for `envgen play`: load a policy, run it, record what happened."""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envgen.cli._failure import Failure


def load_policy(policy: str, env: Any, seed: int) -> Callable[[Any], Any]:
    """`random` (seeded) or `module:function`, imported from the current folder or installed."""
    if policy == "random":
        env.action_space.seed(seed)
        return lambda _obs: env.action_space.sample()
    if not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", policy):
        raise Failure(
            f"bad --policy '{policy}'",
            "use 'random' or 'module:function' (function(observation) -> action)",
            code=2,
        )
    module_name, function = policy.split(":")
    from envgen.cli import importable_from_current_folder

    importable_from_current_folder(policy)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise Failure(
            f"cannot import policy module '{module_name}': {exc}",
            "run from the folder holding it, or install it",
            code=2,
        ) from None
    fn = getattr(module, function, None)
    if not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(function, names, n=1)
        raise Failure(
            f"'{module_name}' has no function '{function}'",
            f"did you mean '{module_name}:{close[0]}'?" if close else "",
            code=2,
        )
    return fn


@dataclass
class Episode:
    """One played episode: how it went, and its observations and rewards (for plots)."""

    index: int
    seed: int
    steps: int = 0
    total: float = 0.0  # the return
    end: str = ""  # terminated, truncated, or stopped at --max-steps N
    obs: list[Any] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)


def run_episodes(
    env: Any,
    act: Callable[[Any], Any],
    *,
    policy: str,
    episodes: int,
    seed: int,
    max_steps: int,
    on_frame: Callable[[int, int], None],
    on_step: Callable[[], None],
) -> list[Episode]:
    """Play `episodes` episodes, the i-th reset with `seed + i`, each stopped after
    `max_steps` steps at the latest. `on_frame(episode, step)` runs after the reset and
    every step (to render), `on_step()` after every step (to advance a progress bar)."""
    played = []
    for index in range(episodes):
        obs, _info = env.reset(seed=seed + index)
        episode = Episode(index, seed + index, obs=[obs])
        on_frame(index, 0)
        terminated = truncated = False
        while not (terminated or truncated) and episode.steps < max_steps:
            try:
                action = act(obs)
            except Exception as exc:  # noqa: BLE001 - a broken policy is a failure
                raise Failure(f"policy {policy} failed: {type(exc).__name__}: {exc}") from None
            obs, reward, terminated, truncated, _info = env.step(action)
            episode.steps += 1
            episode.total += float(reward)
            episode.obs.append(obs)
            episode.rewards.append(float(reward))
            on_frame(index, episode.steps)
            on_step()
        episode.end = (
            "terminated"
            if terminated
            else ("truncated" if truncated else f"stopped at --max-steps {max_steps}")
        )
        played.append(episode)
    return played
