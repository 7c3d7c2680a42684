"""Property-based conformance testing for PettingZoo envs (multi-agent ``envgen fuzz``).

Works on any PettingZoo env, generated or hand-written: an AEC env (``env()``), a Parallel
env (``parallel_env()``), or a module holding them (PettingZoo's convention). Hypothesis
draws a seed and a list of per-step choices; each choice seeds the sampling of that step's
actions (inside each agent's action mask), so a failure shrinks to the fewest, simplest
steps, printed as a script that replays the exact actions and fails at its last line.

>>> from envgen.testing._multiagent import fuzz_multiagent
>>> report = fuzz_multiagent("pettingzoo.classic.rps_v2")
>>> report.ok
True
"""

from __future__ import annotations

import importlib
import math
import pickle
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ._properties import ERROR, FAIL, PASS, SKIP, WARN, Settings
from ._repro import difference, same
from ._runner import PropertyResult, Report

__all__ = [
    "MULTIAGENT_PROPERTIES",
    "MultiAgentTarget",
    "fuzz_multiagent",
    "is_multiagent_target",
    "resolve_multiagent_target",
    "resolve_multiagent_targets",
]


# --- targets ----------------------------------------------------------------------------


@dataclass
class MultiAgentTarget:
    """How to make the env (AEC and/or Parallel) and how a reproduction makes it."""

    name: str
    make_aec: Callable[[], Any] | None = None
    make_parallel: Callable[[], Any] | None = None
    preamble: list[str] = field(default_factory=list)
    aec_source: str = ""
    parallel_source: str = ""


def _module_target(module: types.ModuleType, name: str, preamble: list[str], ref: str):
    aec = getattr(module, "env", None)
    par = getattr(module, "parallel_env", None)
    if not callable(aec) and not callable(par):
        raise ValueError(f"{name} has neither env() nor parallel_env()")
    return MultiAgentTarget(
        name=name,
        make_aec=aec if callable(aec) else None,
        make_parallel=par if callable(par) else None,
        preamble=preamble,
        aec_source=f"{ref}.env()",
        parallel_source=f"{ref}.parallel_env()",
    )


def with_params(target: MultiAgentTarget, params: dict[str, Any]) -> MultiAgentTarget:
    """The same target made with `params` (`envgen fuzz -p`), in its reproductions too."""
    if not params:
        return target
    import functools

    arguments = ", ".join(f"{name}={value!r}" for name, value in params.items())

    def source(text: str) -> str:
        return f"{text[:-1]}{arguments})" if text.endswith("()") else text

    return MultiAgentTarget(
        name=target.name,
        make_aec=functools.partial(target.make_aec, **params) if target.make_aec else None,
        make_parallel=(
            functools.partial(target.make_parallel, **params) if target.make_parallel else None
        ),
        preamble=target.preamble,
        aec_source=source(target.aec_source),
        parallel_source=source(target.parallel_source),
    )


def is_multiagent_target(target: Any) -> bool:
    """Whether `target` names a PettingZoo env rather than a Gymnasium one."""
    if isinstance(target, types.ModuleType):
        return hasattr(target, "env") or hasattr(target, "parallel_env")
    if isinstance(target, (str, Path)):
        text = str(target)
        if Path(text).is_dir():
            specs = _spec_files(Path(text))
            return bool(specs) and all(is_multiagent_target(p) for p in specs)
        if text.endswith((".yaml", ".yml")):
            try:
                from envgen.compiler._multiagent_spec import is_multiagent
                from envgen.compiler.load import load_document

                return is_multiagent(load_document(Path(text)).data)
            except Exception:
                return False
        if text.startswith("pettingzoo."):
            return True
        if ":" in text and "/" not in text.split(":", 1)[1]:
            try:
                return _is_pettingzoo_env_factory(_attribute(text))
            except Exception:
                return False
        try:
            from envgen import multiagent

            multiagent.module(text)
            return True
        except Exception:
            return False
    return _is_pettingzoo_env_factory(target)


def _spec_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))


def resolve_multiagent_targets(target: Any) -> list[MultiAgentTarget]:
    """Like `resolve_multiagent_target`; a folder of specs gives one target per env."""
    if isinstance(target, (str, Path)) and Path(str(target)).is_dir():
        return [resolve_multiagent_target(str(p)) for p in _spec_files(Path(str(target)))]
    return [resolve_multiagent_target(target)]


def _is_pettingzoo_env_factory(target: Any) -> bool:
    from pettingzoo import AECEnv, ParallelEnv

    return isinstance(target, type) and issubclass(target, (AECEnv, ParallelEnv))


def _attribute(text: str) -> Any:
    """`module:Class` (the module importable from the current folder, as for Gymnasium)."""
    import sys

    module_name, _, attr = text.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    return getattr(importlib.import_module(module_name), attr)


def resolve_multiagent_target(target: Any) -> MultiAgentTarget:
    """A module, a module path (``pettingzoo.classic.tictactoe_v3``), an envgen multi-agent
    id, a multi-agent spec file, or a PettingZoo env class."""
    from pettingzoo import AECEnv, ParallelEnv

    if isinstance(target, types.ModuleType):
        name = target.__name__
        return _module_target(target, name, [f"import {name} as game"], "game")
    if isinstance(target, type) and issubclass(target, (AECEnv, ParallelEnv)):
        ref = f"{target.__module__}.{target.__qualname__}"
        preamble = [f"from {target.__module__} import {target.__qualname__}"]
        if issubclass(target, ParallelEnv):
            return MultiAgentTarget(
                ref, None, target, preamble, parallel_source=f"{target.__qualname__}()"
            )
        return MultiAgentTarget(ref, target, None, preamble, aec_source=f"{target.__qualname__}()")
    text = str(target)
    if text.endswith((".yaml", ".yml")):
        from envgen import multiagent

        for env_id in multiagent.from_specs([Path(text)]):
            module = multiagent.module(env_id)
            preamble = [
                "from pathlib import Path",
                "from envgen import multiagent",
                "",
                f"multiagent.from_specs([Path({text!r})])",
                f"game = multiagent.module({env_id!r})",
            ]
            return _module_target(module, env_id, preamble, "game")
        raise ValueError(f"{text} holds no multi-agent env")
    if ":" in text and "/" not in text.split(":", 1)[1]:
        return resolve_multiagent_target(_attribute(text))
    if "/" in text:
        from envgen import multiagent

        module = multiagent.module(text)
        preamble = ["from envgen import multiagent", "", f"game = multiagent.module({text!r})"]
        return _module_target(module, text, preamble, "game")
    module = importlib.import_module(text)
    return _module_target(module, text, [f"import {text} as game"], "game")


# --- recording a run as a script ------------------------------------------------------------


class Broken(Exception):
    """A broken contract; `check` is a line that fails when pasted after the script."""

    def __init__(self, message: str, check: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.check = check
        self.script: list[str] = []


def literal(value: Any) -> str:
    """Python source for an action or observation (NumPy arrays with their dtype)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype=np.{value.dtype})"
    if isinstance(value, np.generic):
        return f"np.{value.dtype}({value.item()!r})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + "".join(f"{literal(v)}, " for v in value) + ")"
    return repr(value)


def _mask_of(obs: Any, info: Any) -> np.ndarray | None:
    if isinstance(obs, dict) and "action_mask" in obs:
        return np.asarray(obs["action_mask"], dtype=np.int8)
    if isinstance(info, dict) and "action_mask" in info:
        return np.asarray(info["action_mask"], dtype=np.int8)
    return None


def _sample(space: Any, mask: np.ndarray | None, choice: int) -> Any:
    from gymnasium import spaces

    space.seed(int(choice))
    if mask is not None and isinstance(space, spaces.Discrete):
        legal = np.flatnonzero(mask)
        if len(legal) == 0:
            raise Broken("an agent that must act has an action mask that allows nothing")
        return int(space.start + legal[choice % len(legal)])
    return space.sample()


def _finite_real(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(float(value))
    )


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _in_space(space: Any, value: Any) -> bool:
    try:
        return bool(space.contains(value))
    except Exception:
        return False


class Run:
    """One env and the script of what was done to it."""

    def __init__(self, make: Callable[[], Any], source: str) -> None:
        self.make = make
        self.env = make()
        self.script = [f"env = {source}"]
        self.seed: int | None = None
        self.actions: list[Any] = []  # AEC actions so far, to replay on a fresh env

    def do(self, line: str, call: Callable[[], Any]) -> Any:
        self.script.append(line)
        try:
            return call()
        except Broken:
            raise
        except Exception as exc:
            raise Broken(
                f"`{line}` raised {type(exc).__name__}: {exc}",
            ) from exc


# --- parallel rollouts ---------------------------------------------------------------------


def _parallel_rollout(run: Run, seed: int, choices: list[int], trace: list | None = None) -> None:
    env = run.env
    obs, infos = run.do(
        f"observations, infos = env.reset(seed={seed})", lambda: env.reset(seed=seed)
    )
    _check_parallel_observations(env, obs, set(env.agents), set(), "reset")
    if set(obs) != set(env.agents):
        raise Broken(
            f"reset() returned observations for {sorted(obs)} but the agents are "
            f"{sorted(env.agents)}",
            "assert set(observations) == set(env.agents)",
        )
    if trace is not None:
        trace.append((obs, infos, list(env.agents)))
    left: set[str] = set()
    for choice in choices:
        if not env.agents:
            break
        acting = list(env.agents)
        actions = {}
        for i, agent in enumerate(acting):
            mask = _mask_of(obs.get(agent), infos.get(agent))
            actions[agent] = _sample(env.action_space(agent), mask, choice + i)
        outputs = "observations, rewards, terminations, truncations, infos"
        result = run.do(
            f"{outputs} = env.step({literal(actions)})",
            lambda a=actions: env.step(a),
        )
        obs, rewards, terms, truncs, infos = result
        if trace is not None:
            trace.append((obs, rewards, terms, truncs, infos, list(env.agents)))
        joined = [agent for agent in env.agents if agent not in acting]
        _check_joined(env, joined, left)
        _check_parallel_step(env, acting + joined, left, obs, rewards, terms, truncs, infos)
        for agent in acting:
            if terms.get(agent) or truncs.get(agent):
                left.add(agent)


def _check_joined(env: Any, joined: list[str], left: set[str]) -> None:
    """Agents that joined during a step (new agents, or agents that come back): PettingZoo
    never lets an agent come back under a name it left with, and lists every agent it
    will ever have in `possible_agents`."""
    for agent in joined:
        if agent in left:
            raise Broken(
                f"step: agent {agent!r} left the game earlier and is back in env.agents "
                "under the same name (an agent that comes back needs a new name)",
                f"assert {agent!r} not in env.agents",
            )
        possible = getattr(env, "possible_agents", None)
        if possible is not None and agent not in possible:
            raise Broken(
                f"step: agent {agent!r} joined the game but is not in env.possible_agents",
                f"assert {agent!r} in env.possible_agents",
            )


def _check_parallel_observations(
    env: Any, obs: dict, acting: set[str], left: set[str], when: str
) -> None:
    for agent, value in obs.items():
        if agent in left:
            raise Broken(
                f"{when}: agent {agent!r} left the game earlier but still gets an observation",
                f"assert {agent!r} not in observations",
            )
        if not _in_space(env.observation_space(agent), value):
            raise Broken(
                f"{when}: the observation of {agent!r} is not in its observation space: "
                f"{literal(value)[:200]}",
                f"assert env.observation_space({agent!r}).contains(observations[{agent!r}])",
            )


def _check_parallel_step(env, acting, left, obs, rewards, terms, truncs, infos) -> None:
    _check_parallel_observations(env, obs, set(acting), left, "step")
    for name, table in (
        ("rewards", rewards),
        ("terminations", terms),
        ("truncations", truncs),
        ("infos", infos),
    ):
        if set(table) != set(acting):
            raise Broken(
                f"step: {name} has keys {sorted(table)} but the agents that acted "
                f"(and joined) are {sorted(acting)}",
                f"assert set({name}) == {set(acting)!r}",
            )
    for agent in acting:
        if not _finite_real(rewards[agent]):
            raise Broken(
                f"step: the reward of {agent!r} is {rewards[agent]!r}, not a finite number",
                f"assert math.isfinite(rewards[{agent!r}])",
            )
        for name, table in (("terminations", terms), ("truncations", truncs)):
            if not _is_bool(table[agent]):
                raise Broken(
                    f"step: {name}[{agent!r}] is {table[agent]!r}, not a bool",
                    f"assert isinstance({name}[{agent!r}], bool)",
                )
        if not isinstance(infos[agent], dict):
            raise Broken(f"step: infos[{agent!r}] is not a dict", "")
    for agent in env.agents:
        if agent not in obs:
            raise Broken(
                f"step: agent {agent!r} is in env.agents but got no observation (it cannot "
                "choose its next action)",
                f"assert {agent!r} in observations",
            )
    for agent in acting:
        if (terms[agent] or truncs[agent]) and agent in env.agents:
            raise Broken(
                f"step: agent {agent!r} is done but stays in env.agents (it would act again)",
                f"assert {agent!r} not in env.agents",
            )


# --- AEC rollouts -----------------------------------------------------------------------------


def _aec_rollout(
    run: Run, seed: int, choices: list[int], trace: list | None = None, try_masks: bool = False
) -> None:
    env = run.env
    run.seed = seed
    run.do(f"env.reset(seed={seed})", lambda: env.reset(seed=seed))
    removed: set[str] = set()
    dead_step_due: set[str] = set()
    for n, choice in enumerate(choices):
        if not env.agents:
            break
        agent = env.agent_selection
        if agent in removed:
            raise Broken(
                f"agent {agent!r} left the game but is selected to act again",
                f"assert env.agent_selection != {agent!r}",
            )
        obs, reward, term, trunc, info = run.do(
            "observation, reward, termination, truncation, info = env.last()", env.last
        )
        if not _in_space(env.observation_space(agent), obs):
            raise Broken(
                f"the observation of {agent!r} is not in its observation space: "
                f"{literal(obs)[:200]}",
                f"assert env.observation_space({agent!r}).contains(observation)",
            )
        _check_aec_tables(env, removed)
        if trace is not None:
            trace.append((agent, obs, reward, term, trunc, info, list(env.agents)))
        if term or trunc:
            action = None
            dead_step_due.add(agent)
        else:
            if agent in dead_step_due:
                raise Broken(
                    f"agent {agent!r} was done but acts again (its flags were reset)",
                    "assert termination or truncation",
                )
            mask = _mask_of(obs, info)
            if try_masks and mask is not None and n < 12:
                _every_allowed_action_is_accepted(run, agent, mask)
            action = _sample(env.action_space(agent), mask, choice)
        run.do(f"env.step({literal(action)})", lambda a=action: env.step(a))
        run.actions.append(action)
        if action is None:
            if agent in env.agents:
                raise Broken(
                    f"agent {agent!r} is done and made its last (None) step, but it is still "
                    "in env.agents (it keeps acting)",
                    f"assert {agent!r} not in env.agents",
                )
            removed.add(agent)
        for other in env.agents:
            if env.terminations.get(other) or env.truncations.get(other):
                dead_step_due.add(other)


def _check_aec_tables(env: Any, removed: set[str]) -> None:
    for name in ("rewards", "terminations", "truncations", "infos"):
        table = getattr(env, name)
        if set(table) != set(env.agents):
            gone = sorted(set(table) & removed)
            what = f" (agents that left: {gone})" if gone else ""
            raise Broken(
                f"env.{name} has keys {sorted(table)} but the agents are {sorted(env.agents)}"
                + what,
                f"assert set(env.{name}) == set(env.agents)",
            )
    for agent in env.agents:
        if not _finite_real(env.rewards[agent]):
            raise Broken(f"the reward of {agent!r} is {env.rewards[agent]!r}, not finite", "")
        for name in ("terminations", "truncations"):
            if not _is_bool(getattr(env, name)[agent]):
                raise Broken(f"env.{name}[{agent!r}] is not a bool", "")


def _every_allowed_action_is_accepted(run: Run, agent: str, mask: np.ndarray) -> None:
    env = run.env
    space = env.action_space(agent)
    for index in np.flatnonzero(mask):
        action = int(space.start + index)
        # A replay, not a copy: deepcopy of an EzPickle env is a fresh, unreset env.
        trial = run.make()
        trial.reset(seed=run.seed)
        for earlier in run.actions:
            trial.step(earlier)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                trial.step(action)
            except Exception as exc:
                raise Broken(
                    f"the action mask of {agent!r} allows action {action}, but step({action}) "
                    f"raised {type(exc).__name__}: {exc}",
                    f"env.step({action})  # allowed by the mask {mask.tolist()}",
                ) from exc
            illegal = getattr(trial, "_illegal_move", None)  # never set by PettingZoo
            if illegal:
                raise Broken(f"the action mask of {agent!r} allows an illegal action {action}")
            if _illegal_wrapper_fired(trial):
                raise Broken(
                    f"the action mask of {agent!r} allows action {action}, but the env treats "
                    "it as an illegal move",
                    f"env.step({action})  # allowed by the mask {mask.tolist()}",
                )


def _illegal_wrapper_fired(env: Any) -> bool:
    """PettingZoo's TerminateIllegalWrapper marks an illegal move with `_terminated`."""
    layer = env
    while layer is not None:
        if type(layer).__name__ == "TerminateIllegalWrapper" and getattr(
            layer, "_terminated", False
        ):
            return True
        layer = getattr(layer, "env", None)
    return False


# --- properties ----------------------------------------------------------------------------


@dataclass
class Prop:
    contract: str
    kind: str  # aec, parallel
    check: Callable[[MultiAgentTarget, int, list[int]], list[str]]


def _rollout_check(kind: str, try_masks: bool = False):
    def check(target: MultiAgentTarget, seed: int, choices: list[int]) -> list[str]:
        if kind == "parallel":
            run = Run(target.make_parallel, target.parallel_source)  # type: ignore[arg-type]
            _guard(run, lambda: _parallel_rollout(run, seed, choices))
        else:
            run = Run(target.make_aec, target.aec_source)  # type: ignore[arg-type]
            _guard(run, lambda: _aec_rollout(run, seed, choices, try_masks=try_masks))
        return run.script

    return check


def _guard(run: Run, body: Callable[[], None]) -> None:
    try:
        body()
    except Broken as broken:
        broken.script = list(run.script)
        raise


def _determinism(kind: str):
    def check(target: MultiAgentTarget, seed: int, choices: list[int]) -> list[str]:
        traces = []
        for _ in range(2):
            trace: list = []
            if kind == "parallel":
                run = Run(target.make_parallel, target.parallel_source)  # type: ignore[arg-type]
                _guard(run, lambda r=run, t=trace: _parallel_rollout(r, seed, choices, t))
            else:
                run = Run(target.make_aec, target.aec_source)  # type: ignore[arg-type]
                _guard(run, lambda r=run, t=trace: _aec_rollout(r, seed, choices, t))
            traces.append((trace, run))
        (first, run), (second, _) = traces
        for i, (a, b) in enumerate(zip(first, second, strict=False)):
            if not same(a, b):
                broken = Broken(
                    f"two runs with seed {seed} and the same actions differ at call {i}: "
                    f"{difference(a, b) or 'values differ'}",
                    "# run the script twice: the printed values differ",
                )
                broken.script = run.script
                raise broken
        if len(first) != len(second):
            broken = Broken(f"two runs with seed {seed} have different lengths")
            broken.script = run.script
            raise broken
        return run.script

    return check


def _pickling(kind: str):
    def check(target: MultiAgentTarget, seed: int, choices: list[int]) -> list[str]:
        half = len(choices) // 2
        make = target.make_parallel if kind == "parallel" else target.make_aec
        source = target.parallel_source if kind == "parallel" else target.aec_source
        rollout = _parallel_rollout if kind == "parallel" else _aec_rollout
        run = Run(make, source)  # type: ignore[arg-type]
        _guard(run, lambda: rollout(run, seed, choices[:half]))
        if _uses_ezpickle(run.env):
            raise Unpicklable(
                "the env pickles through EzPickle: a copy is a new, unreset env (its state "
                "is not kept), so a pickled env cannot continue an episode"
            )
        try:
            clone = pickle.loads(pickle.dumps(run.env))
        except Exception as exc:
            broken = Broken(f"the env does not pickle: {type(exc).__name__}: {exc}")
            broken.script = run.script + ["clone = pickle.loads(pickle.dumps(env))"]
            raise broken from None
        a_trace: list = []
        b_trace: list = []
        for env, trace in ((run.env, a_trace), (clone, b_trace)):
            if kind == "parallel":
                trace.append(sorted(env.agents))
                for choice in choices[half:]:
                    if not env.agents:
                        break
                    actions = {
                        agent: _sample(env.action_space(agent), None, choice + i)
                        for i, agent in enumerate(env.agents)
                    }
                    trace.append(env.step(actions))
            else:
                for choice in choices[half:]:
                    if not env.agents:
                        break
                    obs, *_, term, trunc, info = env.last()
                    action = None
                    if not (term or trunc):
                        mask = _mask_of(obs, info)
                        action = _sample(env.action_space(env.agent_selection), mask, choice)
                    trace.append((env.agent_selection, env.last()))
                    env.step(action)
        for i, (a, b) in enumerate(zip(a_trace, b_trace, strict=False)):
            if not same(a, b):
                broken = Broken(
                    f"a pickled copy continues differently at step {i}: "
                    f"{difference(a, b) or 'values differ'}",
                    "clone = pickle.loads(pickle.dumps(env))  # then step both alike",
                )
                broken.script = run.script
                raise broken
        return run.script

    return check


class Unpicklable(Exception):
    """The env pickles by its constructor arguments only (a warning, not a failure)."""


def _uses_ezpickle(env: Any) -> bool:
    from gymnasium.utils import EzPickle

    seen, layers = set(), [env]
    while layers:
        layer = layers.pop()
        if layer is None or id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, EzPickle):
            return True
        layers += [getattr(layer, n, None) for n in ("env", "aec_env", "par_env", "unwrapped")]
    return False


def _spaces(target: MultiAgentTarget, seed: int, choices: list[int]) -> list[str]:
    from gymnasium import spaces

    make = target.make_aec or target.make_parallel
    run = Run(make, target.aec_source if target.make_aec else target.parallel_source)  # type: ignore[arg-type]
    env = run.env
    for agent in env.possible_agents:
        for name in ("observation_space", "action_space"):
            space = getattr(env, name)(agent)
            if not isinstance(space, spaces.Space):
                raise Broken(
                    f"{name}({agent!r}) is {space!r}, not a gymnasium Space",
                    f"assert isinstance(env.{name}({agent!r}), gymnasium.spaces.Space)",
                )
            if getattr(env, name)(agent) is not space:
                raise Broken(
                    f"{name}({agent!r}) returns a new space each call (seeding it does nothing)",
                    f"assert env.{name}({agent!r}) is env.{name}({agent!r})",
                )
    return run.script


MULTIAGENT_PROPERTIES: dict[str, Prop] = {
    "ma_spaces": Prop(
        "observation_space(agent) / action_space(agent) are Spaces, the same object each call",
        "any",
        _spaces,
    ),
    "ma_aec_rollout": Prop(
        "AEC: observations in each agent's space, per-agent tables keyed by the live agents, "
        "done agents step once with None and leave, agents that left are never selected",
        "aec",
        _rollout_check("aec"),
    ),
    "ma_masks_respected": Prop(
        "AEC: every action an agent's action mask allows is accepted by step",
        "aec",
        _rollout_check("aec", try_masks=True),
    ),
    "ma_parallel_rollout": Prop(
        "Parallel: observations in each agent's space, per-agent flags and rewards for exactly "
        "the agents that acted (and those that joined), done agents leave env.agents, agents "
        "that left get no observation and never come back under the same name",
        "parallel",
        _rollout_check("parallel"),
    ),
    "ma_aec_determinism": Prop(
        "AEC: same seed and actions give the same trajectory", "aec", _determinism("aec")
    ),
    "ma_parallel_determinism": Prop(
        "Parallel: same seed and actions give the same trajectory",
        "parallel",
        _determinism("parallel"),
    ),
    "ma_aec_pickle": Prop(
        "AEC: a pickled env continues exactly like the original", "aec", _pickling("aec")
    ),
    "ma_parallel_pickle": Prop(
        "Parallel: a pickled env continues exactly like the original",
        "parallel",
        _pickling("parallel"),
    ),
}


def reproduction(target: MultiAgentTarget, broken: Broken) -> str:
    lines = [
        "import math",
        "import pickle",
        "",
        "import gymnasium",
        "import numpy as np",
        *target.preamble,
        "",
        *broken.script,
    ]
    if broken.check:
        lines.append(broken.check + f"  # {broken.message[:200]}")
    else:
        lines.append(f"# {broken.message[:300]}")
    return "\n".join(lines) + "\n"


def _run_property(name: str, target: MultiAgentTarget, config: Settings) -> PropertyResult:
    prop = MULTIAGENT_PROPERTIES[name]
    start = time.perf_counter()
    if prop.kind == "parallel" and target.make_parallel is None:
        return PropertyResult(target.name, name, SKIP, "no parallel_env")
    if prop.kind == "aec" and target.make_aec is None:
        return PropertyResult(target.name, name, SKIP, "no AEC env")
    found: list[Broken] = []

    @settings(
        max_examples=config.examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(
        seed=st.integers(0, 2**16),
        # the length first (uniform, so long episodes are common; it shrinks towards 0)
        choices=st.integers(0, config.max_steps or 60).flatmap(
            lambda n: st.lists(st.integers(0, 2**16), min_size=n, max_size=n)
        ),
    )
    def search(seed: int, choices: list[int]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                prop.check(target, seed, choices)
            except Broken as broken:
                found.append(broken)
                raise

    try:
        search()
    except Unpicklable as exc:
        return PropertyResult(
            target.name, name, WARN, str(exc), seconds=time.perf_counter() - start
        )
    except Broken:
        broken = found[-1]  # Hypothesis re-runs the shrunk example last
        return PropertyResult(
            target.name,
            name,
            FAIL,
            broken.message,
            reproduction(target, broken),
            seconds=time.perf_counter() - start,
        )
    except Exception as exc:
        return PropertyResult(
            target.name,
            name,
            ERROR,
            f"envgen fuzz crashed: {type(exc).__name__}: {exc}",
            detail="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            seconds=time.perf_counter() - start,
        )
    return PropertyResult(target.name, name, PASS, seconds=time.perf_counter() - start)


def fuzz_multiagent(
    targets: Any,
    *,
    properties: Iterable[str] | None = None,
    examples: int = 20,
    max_steps: int = 60,
    progress: Callable[[PropertyResult], None] | None = None,
) -> Report:
    """Run the multi-agent properties on each target; nothing is raised for a failing env."""
    if isinstance(targets, (str, Path, types.ModuleType)) or not isinstance(targets, (list, tuple)):
        targets = [targets]
    names = list(properties) if properties is not None else list(MULTIAGENT_PROPERTIES)
    for name in names:
        if name not in MULTIAGENT_PROPERTIES:
            raise ValueError(
                f"unknown multi-agent property {name!r} "
                f"(properties: {', '.join(MULTIAGENT_PROPERTIES)})"
            )
    config = Settings(examples=examples, max_steps=max_steps)
    report = Report(config)
    for target in targets:
        found = (
            [target] if isinstance(target, MultiAgentTarget) else resolve_multiagent_targets(target)
        )
        for resolved in found:
            for name in names:
                result = _run_property(name, resolved, config)
                report.results.append(result)
                if progress is not None:
                    progress(result)
    return report


def run_cli(
    out: Any,
    err: Any,
    targets: Iterable[str],
    examples: int | None,
    max_steps: int | None,
    properties: Iterable[str],
    as_json: bool,
    params: Any = None,
) -> None:
    """`envgen fuzz` on PettingZoo targets: the table, failures with reproductions, exit.

    `params` (`-p`/`--params`, as `envgen play` reads them) make every target; a param an
    env does not take, or a value it refuses, is a usage error before any property runs."""
    import json
    import sys

    from envgen.compiler.diagnostics import markup_safe as escape  # no ESC, bidi or markup

    from ._api import format_result
    from ._cli import _STYLE, EXIT_FAIL, EXIT_OK, _check_params, _print_table, _usage_error

    names = list(properties) or list(MULTIAGENT_PROPERTIES)
    unknown = [n for n in names if n not in MULTIAGENT_PROPERTIES]
    if unknown:
        _usage_error(
            f"unknown multi-agent property {unknown[0]!r} "
            f"(properties: {', '.join(MULTIAGENT_PROPERTIES)})"
        )
    resolved = []
    for target in targets:
        try:
            resolved.extend(resolve_multiagent_targets(target))
        except Exception as exc:
            _usage_error(f"{target}: {type(exc).__name__}: {exc}".splitlines()[0])
    if params is not None and params.values:
        resolved = [with_params(target, params.values) for target in resolved]
    makers = [(target.name, target.make_parallel or target.make_aec) for target in resolved]
    _check_params(makers, params)

    def progress(result: PropertyResult) -> None:
        style = _STYLE.get(result.status, "")
        err.print(
            f"{escape(result.target)} {result.property}: [{style}]{result.status}[/{style}] "
            f"[dim]({result.seconds:.2f}s)[/dim]"
        )

    start = time.perf_counter()
    report = fuzz_multiagent(
        resolved,
        properties=names,
        examples=examples or 20,
        max_steps=max_steps or 60,
        progress=progress,
    )
    if as_json:
        data = report.to_dict()
        data["seconds"] = round(time.perf_counter() - start, 3)
        out.print(json.dumps(data, indent=2, default=str), markup=False)
    else:
        _print_table(out, report, names)
        for result in [*report.failures, *report.warnings]:
            out.print()
            out.print(format_result(result), markup=False)
        verdict = "[green]OK[/green]" if report.ok else "[bold red]FAILED[/bold red]"
        out.print(f"\n{verdict} in {time.perf_counter() - start:.1f}s")
    sys.exit(EXIT_OK if report.ok else EXIT_FAIL)
