"""The spec's Gymnasium wrappers, tried at build time on a stand-in env with the spec's spaces.

`wrappers:` values are data for Gymnasium's own constructors, which check them when
`gym.make` runs: `{FrameStackObservation: {stack_size: 0}}`, `{ClipReward: {min_reward: 5,
max_reward: 1}}`, `RescaleAction` on a Discrete action space or `{DtypeObservation: {dtype:
banana}}` used to build and then fail at every `gym.make` (hostile trial 5, K6). Gymnasium is
the authority on what its wrappers accept, so the build asks it: each wrapper is constructed
over a stand-in env whose spaces have the spec's kinds, dtypes and (where the analysis knows
them) shapes and bounds, made by `gym.make` as the generated registry entry is (its time limit,
its `additional_wrappers`), reset and stepped once. What raises becomes a located error.
Where a shape depends on params the stand-in cannot be faithful and the trial is skipped (a
miss, never a false alarm).
"""

from __future__ import annotations

import ast
import itertools
import math
import warnings
from typing import Any

import numpy as np

from envgen.compiler.diagnostics import Diagnostic

#: Most frames `FrameStackObservation` may stack: it allocates stack_size observations per
#: env at make time (an 84x84x3 frame stacked 10**8 times is terabytes).
MAX_STACK_SIZE = 1024

#: Wrappers whose arguments need a Python object a YAML spec cannot give.
_NEEDS_CALLABLE = {"TransformObservation": "func"}


#: A fresh registry id for each stand-in (it is removed again after the trial).
_IDS = itertools.count()


class _NoStandIn(Exception):
    """The spec's space has a part the stand-in cannot copy faithfully."""


def wrapper_problems(model: Any) -> list[Diagnostic]:
    """Located errors for wrappers whose arguments Gymnasium refuses on this spec's spaces."""
    wrappers = list(getattr(model, "wrappers", ()))
    if not wrappers or not hasattr(model, "action_space"):
        return []
    out = []
    for index, (name, _, kwargs) in enumerate(wrappers):
        where = model.document.location(("wrappers", index, name))
        if name in _NEEDS_CALLABLE and not callable(kwargs.get(_NEEDS_CALLABLE[name])):
            out.append(
                Diagnostic(
                    where,
                    f"the wrapper {name} needs a Python function as "
                    f"'{_NEEDS_CALLABLE[name]}', which a spec cannot give",
                    "compute the observation in `observation:` instead (spec functions "
                    "and `let` values help), or wrap the env in Python after gym.make",
                    "wrapper",
                )
            )
        stack = kwargs.get("stack_size")
        if name == "FrameStackObservation" and isinstance(stack, int) and stack > MAX_STACK_SIZE:
            out.append(
                Diagnostic(
                    where,
                    f"FrameStackObservation's stack_size is {stack}: every env would hold "
                    f"that many observations",
                    f"stack at most {MAX_STACK_SIZE} frames (4 is usual)",
                    "wrapper",
                )
            )
    if out:
        return out
    try:
        action_space = _stand_in(model.action_space)
        observation_space = _stand_in(model.observation_space)
    except _NoStandIn:
        return []
    return _try_wrappers(model, wrappers, action_space, observation_space)


def _try_wrappers(
    model: Any, wrappers: list[Any], action_space: Any, observation_space: Any
) -> list[Diagnostic]:
    """Make the stand-in through `gym.make` as the generated registry entry would (time
    limit, `additional_wrappers`), reset it and step it once; the first wrapper whose prefix
    of the list fails is the one to blame."""
    import gymnasium as gym
    from gymnasium.envs.registration import WrapperSpec

    class StandIn(gym.Env):
        def __init__(self) -> None:
            self.action_space = action_space
            self.observation_space = observation_space

        def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
            super().reset(seed=seed)
            return self.observation_space.sample(), {}

        def step(self, action: Any) -> Any:
            return self.observation_space.sample(), 0.0, False, False, {}

    def attempt(count: int) -> Exception | None:
        env_id = f"envgen_build_check/StandIn{next(_IDS)}-v0"
        gym.register(
            env_id,
            entry_point=StandIn,
            max_episode_steps=model.registered_time_limit,
            additional_wrappers=tuple(
                WrapperSpec(name, entry, kwargs) for name, entry, kwargs in wrappers[:count]
            ),
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                env = gym.make(env_id)
                env.reset(seed=0)
                env.action_space.seed(0)
                env.step(env.action_space.sample())
                env.close()
        except Exception as error:  # Gymnasium's own check of its arguments: any type
            return error
        finally:
            del gym.registry[env_id]
        return None

    if attempt(len(wrappers)) is None:
        return []
    for index, (name, _, kwargs) in enumerate(wrappers):
        error = attempt(index + 1)
        if error is None:
            continue
        text = str(error).strip()
        message = text.splitlines()[0] if text else ""
        arguments = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "no arguments"
        return [
            Diagnostic(
                model.document.location(("wrappers", index, name)),
                f"Gymnasium's {name} refuses this spec ({arguments}): "
                f"{type(error).__name__}: {message}"[:500],
                f"see gymnasium.wrappers.{name} for what it takes and which spaces it wraps",
                "wrapper",
            )
        ]
    return []


def _constant(code: Any) -> float | None:
    """A bound written as a number (`-2.0`, `inf`), else None."""
    node = getattr(code, "expr", None)
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1.0, node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        if not isinstance(node.value, bool):
            return sign * float(node.value)
    if isinstance(node, ast.Name) and node.id == "inf":
        return sign * math.inf
    return None


def _shape(space: Any) -> tuple[int, ...]:
    if space.shape is None or any(not isinstance(n, int) for n in space.shape):
        raise _NoStandIn
    return tuple(space.shape)


def _stand_in(space: Any) -> Any:
    """A Gymnasium space of `space`'s kind, dtype and shape; its bounds where constants."""
    from gymnasium import spaces

    kind = space.kind
    if kind == "Discrete":
        return spaces.Discrete(2)
    if kind == "Box":
        shape, dtype = _shape(space), np.dtype(space.dtype or "float32")
        low, high = _constant(space.args.get("low")), _constant(space.args.get("high"))
        if low is None or high is None or not low < high:
            low, high = (0, 1) if dtype.kind in "iub" else (-1.0, 1.0)
        return spaces.Box(low, high, shape=shape, dtype=dtype)
    if kind == "MultiBinary":
        return spaces.MultiBinary(_shape(space))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.full(_shape(space), 2, dtype=np.int64))
    if kind == "Dict":
        return spaces.Dict({str(key): _stand_in(child) for key, child in space.children})
    if kind == "Tuple":
        return spaces.Tuple(tuple(_stand_in(child) for _, child in space.children))
    raise _NoStandIn  # Text, Graph, Sequence, OneOf: left to gym.make
