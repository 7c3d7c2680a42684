"""The spec's Gymnasium wrappers, tried at build time on a stand-in env with the spec's spaces.

`wrappers:` values are data for Gymnasium's own constructors, which check them when
`gym.make` runs: `{FrameStackObservation: {stack_size: 0}}`, `{ClipReward: {min_reward: 5,
max_reward: 1}}`, `RescaleAction` on a Discrete action space or `{DtypeObservation: {dtype:
banana}}` used to build and then fail at every `gym.make` (hostile trial 5, K6). Gymnasium is
the authority on what its wrappers accept, so the build asks it: each wrapper is constructed
over a stand-in env whose spaces have the spec's kinds, dtypes, shapes and bounds at the
default params, made by `gym.make` as the generated registry entry is (its time limit,
its `additional_wrappers`), reset and stepped once. What raises becomes a located error.
Where a shape or bound cannot be folded at the default params the trial is skipped (a miss,
never a false alarm).
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np

from envgen.compiler._limits import default_values, fold
from envgen.compiler._spaces import _at
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
        values = {**default_values(model.spec), "inf": math.inf, "pi": math.pi, "e": math.e}
        action_space = _stand_in(model.action_space, values)
        observation_space = _stand_in(model.observation_space, values)
    except (_NoStandIn, ValueError, TypeError):  # bounds Gymnasium refuses: reported elsewhere
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
                f"see gymnasium.wrappers.{name} for what it takes and which spaces it wraps"
                + (
                    f"; it wraps the env as {', '.join(w[0] for w in wrappers[:index])} "
                    "left it (the list applies in order)"
                    if index
                    else ""
                ),
                "wrapper",
            )
        ]
    return []


def _value(code: Any, values: dict[str, Any]) -> Any:
    """A bound's value at the default params (a number, or an array for a list of them),
    or None where the analysis cannot fold it."""
    if isinstance(code, list):
        items = [_value(c, values) for c in code]
        return None if any(i is None for i in items) else np.array(items, dtype=np.float64)
    value = fold(getattr(code, "expr", None), values)
    return value if isinstance(value, (int, float)) else None


def _shape(space: Any, values: dict[str, Any]) -> tuple[int, ...]:
    codes = space.args.get("shape", space.args.get("n"))
    if isinstance(codes, list) and space.kind in ("Box", "MultiBinary"):
        dims = [fold(getattr(c, "expr", None), values) for c in codes]  # written lengths
    elif space.shape is not None:
        dims = [d if isinstance(d, int) else _at(d, values) for d in space.shape]
    else:
        raise _NoStandIn
    if not all(isinstance(d, int) and d > 0 for d in dims):
        raise _NoStandIn
    return tuple(int(d) for d in dims)


def _stand_in(space: Any, values: dict[str, Any]) -> Any:
    """A Gymnasium space of `space`'s kind, dtype, shape and bounds at the default params;
    `_NoStandIn` where one of them cannot be folded (no invented bounds: a trial on other
    spaces could refuse a valid spec)."""
    from gymnasium import spaces

    kind = space.kind
    if kind == "Discrete":
        return spaces.Discrete(2)
    if kind == "Box":
        shape, dtype = _shape(space, values), np.dtype(space.dtype or "float32")
        low, high = _value(space.args.get("low"), values), _value(space.args.get("high"), values)
        if low is None or high is None:
            raise _NoStandIn
        return spaces.Box(low, high, shape=shape, dtype=dtype)
    if kind == "MultiBinary":
        return spaces.MultiBinary(_shape(space, values))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.full(_shape(space, values), 2, dtype=np.int64))
    if kind == "Dict":
        return spaces.Dict({str(key): _stand_in(child, values) for key, child in space.children})
    if kind == "Tuple":
        return spaces.Tuple(tuple(_stand_in(child, values) for _, child in space.children))
    raise _NoStandIn  # Text, Graph, Sequence, OneOf: left to gym.make
