"""The conformance properties: each has a name, a one-line contract and a check."""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import math
import pickle
import random
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, seed
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from . import _rollouts
from ._repro import Script, Violation, actions_lines, comment, same, short_repr
from ._strategies import from_space, outside_space, space_contains
from ._targets import Target

__all__ = [
    "PROPERTIES",
    "Property",
    "Settings",
    "Outcome",
    "Context",
    "PASS",
    "FAIL",
    "WARN",
    "SKIP",
    "ERROR",
]

PASS, FAIL, WARN, SKIP, ERROR = "pass", "fail", "warn", "skip", "error"

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
DEFAULT_STEPS_WITHOUT_LIMIT = 300
STEPS_PAST_LIMIT = 5


@dataclass(frozen=True)
class Settings:
    """How hard to fuzz.

    examples: Hypothesis examples per property (each one a fresh env and a fresh action
        sequence).
    max_steps: steps per run of the long-episode properties; default: the time limit
        (``max_episode_steps``) plus 5 when known, else 300.
    seed: seeds Hypothesis, so a run is reproducible.
    strict: an env that silently accepts an action outside its action space fails
        (``strict=True``) or only gets a warning (default: Gymnasium's own Pendulum and
        MountainCarContinuous clip such actions instead of refusing them).
    shrink_seconds: time allowed to shrink one failure to a minimal reproduction.
    num_envs: sub-envs of the vector env in ``vector_consistency``.
    stateful_steps: rule calls per run of the ``stateful`` state machine.
    """

    examples: int = 10
    max_steps: int | None = None
    seed: int = 0
    strict: bool = False
    shrink_seconds: float = 20.0
    num_envs: int = 2
    stateful_steps: int = 30

    def episode_steps(self, max_episode_steps: int | None) -> int:
        if self.max_steps is not None:
            return self.max_steps
        if max_episode_steps is not None:
            return max_episode_steps + STEPS_PAST_LIMIT
        return DEFAULT_STEPS_WITHOUT_LIMIT


@dataclass
class Outcome:
    status: str
    message: str = ""
    reproduction: str | None = None
    detail: str | None = None


@dataclass
class Context:
    """What a property needs: the target, the settings and a probe of the env's interface."""

    target: Target
    settings: Settings
    observation_space: gym.Space
    action_space: gym.Space
    metadata: dict[str, Any]
    max_episode_steps: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return self.settings.episode_steps(self.max_episode_steps)

    def short_steps(self, cap: int = 100) -> int:
        return min(self.steps, cap)


@dataclass(frozen=True)
class Property:
    name: str
    contract: str
    check: Callable[[Property, Context], Outcome]

    def __call__(self, ctx: Context) -> Outcome:
        return self.check(self, ctx)


PROPERTIES: dict[str, Property] = {}


def _property(name: str, contract: str) -> Callable:
    def register(fn: Callable[[Property, Context], Outcome]) -> Callable:
        PROPERTIES[name] = Property(name, contract, fn)
        return fn

    return register


# ---------------------------------------------------------------------------------------------
# running a Hypothesis search
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _shrink_budget(seconds: float) -> Iterator[None]:
    """Cap Hypothesis' shrinking time (5 minutes by default: too long for long episodes)."""
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:  # pragma: no cover - private module moved
        yield
        return
    old = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if old is None:
        yield
        return
    engine.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = old


def hypothesis_settings(settings: Settings, examples: int | None = None, **extra: Any) -> Any:
    return hyp_settings(
        max_examples=examples or settings.examples,
        deadline=None,
        database=None,
        derandomize=False,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        **extra,
    )


def _first_violation(exc: BaseException) -> Violation | None:
    if isinstance(exc, Violation):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = _first_violation(inner)
        if found is not None:
            return found
    if exc.__cause__ is not None and exc.__cause__ is not exc:
        return _first_violation(exc.__cause__)
    return None


def search(body: Callable[[Any], None], settings: Settings, examples: int | None = None) -> Any:
    """Run ``body(data)`` under Hypothesis; return the shrunk Violation, or None."""

    @hypothesis_settings(settings, examples)
    @seed(settings.seed)
    @given(st.data())
    def test(data: Any) -> None:
        body(data)

    with _shrink_budget(settings.shrink_seconds):
        try:
            test()
        except Violation as violation:
            return violation
        except Flaky as exc:  # FlakyFailure / FlakyReplay: failure did not reproduce
            violation = _first_violation(exc)
            if violation is None:
                raise
            violation.message += (
                " (flaky: the failing example did not fail again when replayed, so the env"
                " is not deterministic)"
            )
            return violation
    return None


# Hypothesis caps one example at 8K choices; long episodes of composite actions overrun it. Past
# this many (estimated) choices, actions come from the action space's own sampler, seeded by a
# drawn integer: still reproducible (reproductions list every action), shrinking to seed 0.
CHOICE_BUDGET = 5000


def _choice_cost(space: gym.Space) -> int:
    """A rough count of the Hypothesis choices one drawn value of ``space`` costs."""
    sp = gym.spaces
    if isinstance(space, sp.Discrete):
        return 2
    if isinstance(space, (sp.Box, sp.MultiDiscrete, sp.MultiBinary)):
        return 3 + 5 * int(np.prod(space.shape, dtype=np.int64))
    if isinstance(space, sp.Text):
        return 3 + 3 * space.max_length
    if isinstance(space, sp.Dict):
        return 1 + sum(_choice_cost(s) for s in space.spaces.values())
    if isinstance(space, sp.Tuple):
        return 1 + sum(_choice_cost(s) for s in space.spaces)
    if isinstance(space, sp.Sequence):
        return 3 + 6 * _choice_cost(space.feature_space)
    if isinstance(space, sp.Graph):
        edge = _choice_cost(space.edge_space) if space.edge_space is not None else 0
        return 5 + 6 * _choice_cost(space.node_space) + 6 * (edge + 3)
    if isinstance(space, sp.OneOf):
        return 2 + max(_choice_cost(s) for s in space.spaces)
    return 50


def _draw_action_runs(data: Any, space: gym.Space, n: int, fixed: bool) -> list[Any]:
    """Runs of one repeated action: pushes an env to its extremes (always heat, always left),
    where bounds and overflow bugs live, far more often than independent random actions.

    The runs are a Hypothesis list, so shrinking can drop whole runs; their total length is
    capped at ``n`` (and padded up to it when ``fixed``).
    """
    runs = data.draw(
        st.lists(st.tuples(from_space(space), st.integers(1, n)), min_size=1, max_size=8),
        label="runs of repeated actions",
    )
    actions: list[Any] = []
    for action, repeat in runs:
        actions.extend(copy.deepcopy(action) for _ in range(repeat))
    actions = actions[:n]
    while fixed and len(actions) < n:
        actions.append(copy.deepcopy(runs[-1][0]))
    return actions


def draw_actions(
    data: Any, space: gym.Space, n: int, label: str = "actions", *, fixed: bool = False
) -> list[Any]:
    """Up to ``n`` actions: drawn by Hypothesis while the choice budget lasts, then sampled.

    Unless ``fixed``, the length is drawn first (``n`` half of the time): shrinking then finds
    the shortest failing sequence before simplifying the actions themselves.
    """
    if n > 1 and data.draw(st.booleans(), label="repeat actions"):
        return _draw_action_runs(data, space, n, fixed)
    if not fixed and n > 1:
        n = data.draw(st.one_of(st.integers(1, n), st.just(n)), label="number of steps")
    k = min(n, max(1, CHOICE_BUDGET // _choice_cost(space)))
    actions = list(data.draw(st.lists(from_space(space), min_size=k, max_size=k), label=label))
    if k < n:
        sampler = copy.deepcopy(space)
        sampler.seed(int(data.draw(SEEDS, label="seed for the remaining actions")))
        actions.extend(sampler.sample() for _ in range(n - k))
    return actions


def _outcome(violation: Violation | None, status: str = FAIL, ok: str = "") -> Outcome:
    if violation is None:
        return Outcome(PASS, ok)
    return Outcome(status, violation.message, violation.reproduction, violation.detail)


@contextlib.contextmanager
def _closing(env: Any) -> Iterator[Any]:
    try:
        yield env
    finally:
        with contextlib.suppress(Exception):
            env.close()


# ---------------------------------------------------------------------------------------------
# contract checks shared by several properties
# ---------------------------------------------------------------------------------------------


def _dtype_problem(space: gym.Space, value: Any, path: str, sp: str) -> tuple[str, str] | None:
    """Exact dtype/shape of array leaves (``contains`` accepts safely castable dtypes)."""
    if isinstance(space, (gym.spaces.Box, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        if (
            not isinstance(value, np.ndarray)
            or value.dtype != space.dtype
            or value.shape != space.shape
        ):
            got = (
                f"dtype {value.dtype} and shape {value.shape}"
                if isinstance(value, np.ndarray)
                else f"type {type(value).__name__}"
            )
            return (
                f"{path} has {got}, but {sp} has dtype {space.dtype} and shape {space.shape}",
                f"assert isinstance({path}, np.ndarray) and {path}.dtype == {sp}.dtype"
                f" and {path}.shape == {sp}.shape, (type({path}), getattr({path}, 'dtype', None),"
                f" getattr({path}, 'shape', None))",
            )
        return None
    if isinstance(space, gym.spaces.Dict) and isinstance(value, dict):
        for key, sub in space.spaces.items():
            found = _dtype_problem(sub, value.get(key), f"{path}[{key!r}]", f"{sp}[{key!r}]")
            if found:
                return found
    if isinstance(space, gym.spaces.Tuple) and isinstance(value, (tuple, list)):
        for i, sub in enumerate(space.spaces):
            found = _dtype_problem(sub, value[i], f"{path}[{i}]", f"{sp}[{i}]")
            if found:
                return found
    return None


def check_obs(script: Script, space: gym.Space, obs: Any, where: str, var: str = "env") -> None:
    sp = f"{var}.observation_space"
    problem = _dtype_problem(space, obs, "obs", sp)
    if problem:
        script.fail(f"{where}: {problem[0]}", [problem[1]])
    if not space_contains(space, obs):
        script.fail(
            f"{where} returned an observation outside the observation space: obs = "
            f"{short_repr(obs, 200)} is not in {space}",
            [f"assert {sp}.contains(obs), f'obs {{obs!r}} is not in {{{sp}}}'"],
        )


def _show_raw_result(script: Script, kind: str) -> None:
    """Make the last recorded reset/step assign ``result`` instead of unpacking it."""
    from ._repro import to_source

    for i in range(len(script.events) - 1, -1, -1):
        event = script.events[i]
        if event[0] in ("reset", "autoreset") and kind == "reset":
            seed = event[2] if event[0] == "reset" else None
            args = "" if seed is None else f"seed={seed}"
            script.events[i] = ("code", [f"result = {event[1]}.reset({args})"])
            return
        if event[0] == "step" and kind == "step":
            script.events[i] = ("code", [f"result = {event[1]}.step({to_source(event[2])})"])
            return


def check_reset_result(script: Script, space: gym.Space, result: Any, where: str) -> None:
    if not isinstance(result, tuple) or len(result) != 2:
        _show_raw_result(script, "reset")
        script.fail(
            f"{where} returned {short_repr(result, 200)}, not an (obs, info) tuple",
            ["assert isinstance(result, tuple) and len(result) == 2, repr(result)"],
        )
    obs, info = result
    check_obs(script, space, obs, where)
    if not isinstance(info, dict):
        script.fail(
            f"{where} returned info of type {type(info).__name__}, not dict",
            ["assert isinstance(info, dict), type(info)"],
        )


_REWARD_CHECK = (
    "assert isinstance(reward, (int, float, np.integer, np.floating))"
    " and not isinstance(reward, (bool, np.bool_)) and np.isfinite(reward), repr(reward)"
)


def check_step_result(script: Script, space: gym.Space, result: Any, where: str) -> None:
    if not isinstance(result, tuple) or len(result) != 5:
        _show_raw_result(script, "step")
        script.fail(
            f"{where} returned {short_repr(result, 200)}, not a 5-tuple "
            "(obs, reward, terminated, truncated, info)",
            ["assert isinstance(result, tuple) and len(result) == 5, repr(result)"],
        )
    obs, reward, terminated, truncated, info = result
    check_obs(script, space, obs, where)
    if isinstance(reward, (bool, np.bool_)) or not isinstance(
        reward, (int, float, np.integer, np.floating)
    ):
        script.fail(
            f"{where} returned reward {short_repr(reward)} of type {type(reward).__name__}, "
            "not a real scalar",
            [_REWARD_CHECK],
        )
    if not math.isfinite(float(reward)):
        script.fail(f"{where} returned a non-finite reward: {reward!r}", [_REWARD_CHECK])
    for flag, value in (("terminated", terminated), ("truncated", truncated)):
        if not isinstance(value, (bool, np.bool_)):
            script.fail(
                f"{where} returned {flag} = {short_repr(value)} of type "
                f"{type(value).__name__}, not bool",
                [f"assert isinstance({flag}, (bool, np.bool_)), type({flag})"],
            )
    if not isinstance(info, dict):
        script.fail(
            f"{where} returned info of type {type(info).__name__}, not dict",
            ["assert isinstance(info, dict), type(info)"],
        )


def _new_script(prop: Property, ctx: Context) -> Script:
    return Script(ctx.target, prop.name, prop.contract)


def _helper_source(*functions: Callable) -> str:
    sources = [re.sub(r"  # noqa: \w+", "", inspect.getsource(fn)).rstrip() for fn in functions]
    return "\n\n\n".join(sources)


# ---------------------------------------------------------------------------------------------
# the properties
# ---------------------------------------------------------------------------------------------


@_property(
    "reset",
    "reset(seed=...) and reset() return (obs, info): obs in the observation space with its exact "
    "dtype and shape, info a dict",
)
def _check_reset(prop: Property, ctx: Context) -> Outcome:
    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        with _closing(s.make()) as env:
            sd = data.draw(SEEDS, label="seed")
            check_reset_result(s, env.observation_space, s.reset(env, sd), f"reset(seed={sd})")
            check_reset_result(s, env.observation_space, s.reset(env), "reset()")

    return _outcome(search(body, ctx.settings))


@_property(
    "step",
    "every step of long episodes (through the time limit and resets) returns obs in the space, "
    "a finite real reward, bool terminated/truncated and a dict info, and never raises",
)
def _check_step(prop: Property, ctx: Context) -> Outcome:
    n = ctx.steps

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        with _closing(s.make()) as env:
            sd = data.draw(SEEDS, label="seed")
            actions = draw_actions(data, ctx.action_space, n)
            check_reset_result(s, env.observation_space, s.reset(env, sd), f"reset(seed={sd})")
            for t, action in enumerate(actions, 1):
                result = s.step(env, action, autoreset=True)
                check_step_result(s, env.observation_space, result, f"step {t}")
                if result[2] or result[3]:
                    reset = s.autoreset(env)
                    check_reset_result(s, env.observation_space, reset, f"reset() after step {t}")

    return _outcome(search(body, ctx.settings), ok=f"{n} steps per run")


_PERTURB = [
    "import random",
    "np.random.seed(12345)  # perturb the global RNGs: a seeded env must not depend on them",
    "random.seed(12345)",
]


def _perturb_globals() -> None:
    np.random.seed(12345)
    random.seed(12345)


@_property(
    "determinism",
    "the same seed and actions give identical trajectories (obs, reward, flags, info), across "
    "two resets and across two fresh instances, whatever the global RNG state",
)
def _check_determinism(prop: Property, ctx: Context) -> Outcome:
    def body(data: Any) -> None:
        sd = data.draw(SEEDS, label="seed")
        actions = draw_actions(data, ctx.action_space, ctx.steps)
        s = _new_script(prop, ctx)
        env_a = s.make("env_a")
        try:
            first = s._call(lambda: _rollouts.rollout(env_a, sd, actions), "rollout(env_a)")
            second = s._call(lambda: _rollouts.rollout(env_a, sd, actions), "rollout(env_a)")
            _compare_rollouts(s, first, second, sd, actions, "env_a", [], "a second reset")
            _perturb_globals()
            env_b = s.make("env_b")
            with _closing(env_b):
                third = s._call(lambda: _rollouts.rollout(env_b, sd, actions), "rollout(env_b)")
                _compare_rollouts(
                    s, first, third, sd, actions, "env_b", _PERTURB, "a fresh instance"
                )
        finally:
            with contextlib.suppress(Exception):
                env_a.close()

    return _outcome(search(body, ctx.settings))


def first_difference(first: list[Any], second: list[Any]) -> int | None:
    """Index of the first differing item of two result lists (or of the shorter's end)."""
    for i, (x, y) in enumerate(zip(first, second, strict=False)):
        if not same(x, y):
            return i
    if len(first) != len(second):
        return min(len(first), len(second))
    return None


def _actions_until(results: list[Any], index: int) -> int:
    """How many actions were taken to produce ``results[: index + 1]`` of a rollout."""
    return sum(1 for r in results[1 : index + 1] if isinstance(r, tuple) and len(r) == 5)


def _compare_rollouts(
    s: Script,
    first: list[Any],
    second: list[Any],
    sd: int,
    actions: list[Any],
    var: str,
    perturb: list[str],
    what: str,
) -> None:
    i = first_difference(first, second)
    if i is None:
        return
    k = _actions_until(first, i)
    s.helper("import copy")
    s.helper(_helper_source(same, _rollouts.rollout))
    s.code(
        *actions_lines("actions", actions[:k]),
        f"first = rollout(env_a, {sd}, actions)",
        *perturb,
        f"second = rollout({var}, {sd}, actions)",
        "for i, (x, y) in enumerate(zip(first, second)):",
        "    assert same(x, y), f'call {i} differs:\\n{x!r}\\n{y!r}'",
    )
    x = first[i] if i < len(first) else None
    y = second[i] if i < len(second) else None
    s.fail(
        f"same seed ({sd}) and actions, different results with {what} after {k} steps: "
        f"{short_repr(x, 200)} != {short_repr(y, 200)}"
    )


@_property(
    "seeding",
    "different seeds give different initial states or trajectories (a warning when never: the "
    "env is deterministic, or ignores its seed)",
)
def _check_seeding(prop: Property, ctx: Context) -> Outcome:
    n_seeds, n_steps = 8, min(ctx.steps, 50)
    seeds = [ctx.settings.seed + i for i in range(n_seeds)]
    space = copy.deepcopy(ctx.action_space)
    space.seed(ctx.settings.seed)
    actions = [space.sample() for _ in range(n_steps)]
    s = _new_script(prop, ctx)
    try:
        with _closing(s.make()) as env:
            starts = [s._call(lambda sd=sd: env.reset(seed=sd), "reset")[0] for sd in seeds]
            if any(not same(starts[0], o) for o in starts[1:]):
                return Outcome(PASS, "initial observations depend on the seed")
            runs = [
                s._call(lambda sd=sd: _rollouts.rollout(env, sd, actions), "rollout")
                for sd in seeds
            ]
    except Violation as violation:
        return _outcome(violation)
    if any(not same(runs[0], r) for r in runs[1:]):
        return Outcome(PASS, "trajectories depend on the seed")
    s.helper("import copy")
    s.helper(_helper_source(same, _rollouts.rollout))
    s.code(
        *actions_lines("actions", actions),
        f"runs = [rollout(env, seed, actions) for seed in {seeds!r}]",
        "assert any(not same(runs[0], run) for run in runs[1:]), 'the seed changes nothing'",
    )
    message = (
        f"{n_seeds} seeds gave identical initial observations and identical trajectories over "
        f"{n_steps} steps: the env is deterministic, or ignores its seed"
    )
    return Outcome(WARN, message, s.source(message=message))


@_property(
    "time_limit",
    "with max_episode_steps = T, an episode is truncated exactly at step T: not before, not "
    "after (unless it terminated first)",
)
def _check_time_limit(prop: Property, ctx: Context) -> Outcome:
    limit = ctx.max_episode_steps
    if limit is None:
        return Outcome(SKIP, "no max_episode_steps (no time limit declared)")

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        with _closing(s.make()) as env:
            sd = data.draw(SEEDS, label="seed")
            actions = draw_actions(data, ctx.action_space, limit, fixed=True)
            s.reset(env, sd)
            for t, action in enumerate(actions, 1):
                result = s.step(env, action)
                terminated, truncated = bool(result[2]), bool(result[3])
                if truncated and not terminated and t < limit:
                    s.fail(
                        f"truncated at step {t}, before max_episode_steps={limit}",
                        [f"assert not truncated, 'truncated at step {t} < {limit}'"],
                    )
                if terminated or truncated:
                    return
            s.fail(
                f"not truncated at step {limit} = max_episode_steps (terminated=False, "
                "truncated=False)",
                [f"assert terminated or truncated, 'step {limit} should truncate'"],
            )

    return _outcome(search(body, ctx.settings), ok=f"max_episode_steps={limit}")


@_property(
    "invalid_action",
    "step() refuses an action outside the action space with an exception (strict: failure; "
    "lenient, the default: warning)",
)
def _check_invalid_action(prop: Property, ctx: Context) -> Outcome:
    bad_actions = outside_space(ctx.action_space)

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        with _closing(s.make()) as env:
            sd = data.draw(SEEDS, label="seed")
            s.reset(env, sd)
            bad = data.draw(bad_actions, label="action")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = env.step(bad)
            except Exception:
                return  # refused: good
            s.code(
                f"action = {_src(bad)}",
                "assert not env.action_space.contains(action)",
                "obs, reward, terminated, truncated, info = env.step(action)"
                "  # <- should raise, but returns",
                "raise AssertionError(f'env.step accepted {action!r}, outside {env.action_space}')",
            )
            s.fail(
                f"step() accepted the action {short_repr(bad, 120)}, which is not in "
                f"{env.action_space}, and returned {short_repr(result, 160)}"
            )

    status = FAIL if ctx.settings.strict else WARN
    return _outcome(search(body, ctx.settings), status, ok="invalid actions raise")


def _src(value: Any) -> str:
    from ._repro import to_source

    return to_source(value)


def _frame_problem(mode: str, frame: Any, shapes: dict[str, tuple]) -> str | None:
    base = mode[: -len("_list")] if mode.endswith("_list") else mode
    frames = frame if mode.endswith("_list") else [frame]
    if mode.endswith("_list") and not isinstance(frame, list):
        return f"render() in mode {mode!r} returned {type(frame).__name__}, not a list"
    for f in frames:
        if base == "ansi":
            if not isinstance(f, (str, io.StringIO)):
                return f"render() in mode 'ansi' returned {type(f).__name__}, not str"
        elif base in ("rgb_array", "depth_array"):
            if not isinstance(f, np.ndarray):
                return f"render() in mode {base!r} returned {type(f).__name__}, not np.ndarray"
            if base == "rgb_array" and (f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3):
                return (
                    f"render() in mode 'rgb_array' returned dtype {f.dtype} and shape "
                    f"{f.shape}, not uint8 (height, width, 3)"
                )
            if base == "depth_array" and f.ndim != 2:
                return f"render() in mode 'depth_array' returned shape {f.shape}, not 2-D"
            first = shapes.setdefault(base, f.shape)
            if f.shape != first:
                return f"render() frame shape changed from {first} to {f.shape}"
    return None


_FRAME_CHECK = {
    "ansi": "assert isinstance(frame, str), type(frame)",
    "rgb_array": "assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 "
    "and frame.shape == first_shape, (frame.dtype, frame.shape, first_shape)",
}


@_property(
    "render",
    "each declared render mode except 'human' returns what Gymnasium specifies: ansi a str, "
    "rgb_array a uint8 (height, width, 3) array of constant shape",
)
def _check_render(prop: Property, ctx: Context) -> Outcome:
    modes = [m for m in ctx.metadata.get("render_modes", []) or [] if m != "human"]
    if not modes:
        return Outcome(SKIP, "no render modes other than 'human'")
    actions = from_space(ctx.action_space)
    skipped, checked = [], []
    for mode in modes:
        try:
            with warnings.catch_warnings(), _closing(ctx.target.factory(render_mode=mode)) as env:
                warnings.simplefilter("ignore")
                env.reset(seed=0)
                env.render()
        except (gym.error.DependencyNotInstalled, ImportError) as exc:
            skipped.append(f"{mode} ({exc})".splitlines()[0])
            continue
        except Exception:
            pass  # the search below reports it, with a reproduction

        def body(data: Any, mode: str = mode) -> None:
            s = _new_script(prop, ctx)
            shapes: dict[str, tuple] = {}
            with _closing(s.make(render_mode=mode)) as env:
                s.reset(env, data.draw(SEEDS, label="seed"))
                for t in range(11):
                    if t:
                        result = s.step(env, data.draw(actions), autoreset=True)
                        if result[2] or result[3]:
                            s.autoreset(env)
                    problem = _frame_problem(mode, s.render(env), shapes)
                    if problem:
                        base = mode.removesuffix("_list")
                        check = _FRAME_CHECK.get(base)
                        lines = []
                        if base == "rgb_array" and "_list" not in mode:
                            lines = ["first_shape = ...  # the shape of the first frame"]
                            first = shapes.get("rgb_array")
                            lines = [f"first_shape = {first!r}  # the first frame's shape"]
                        s.fail(problem, [*lines, check] if check and "_list" not in mode else [])

        violation = search(body, ctx.settings, examples=max(1, min(ctx.settings.examples, 5)))
        if violation is not None:
            return _outcome(violation)
        checked.append(mode)
    if not checked:
        return Outcome(SKIP, "cannot render: " + "; ".join(skipped))
    note = f"checked {', '.join(checked)}"
    if skipped:
        note += f"; skipped {'; '.join(skipped)}"
    return Outcome(PASS, note)


@_property(
    "fresh_arrays",
    "returned observations are not reused: a step never mutates an observation returned earlier",
)
def _check_fresh_arrays(prop: Property, ctx: Context) -> Outcome:
    n = ctx.short_steps()

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        with _closing(s.make()) as env:
            obs, _ = s.reset(env, data.draw(SEEDS, label="seed"))
            for t, action in enumerate(draw_actions(data, ctx.action_space, n), 1):
                previous, snapshot = obs, copy.deepcopy(obs)
                result = s.step(env, action, autoreset=True)
                obs = result[0]
                if not same(previous, snapshot):
                    s.helper("import copy")
                    s.helper(_helper_source(same))
                    s.events.insert(
                        len(s.events) - 1,
                        ("code", ["previous = obs", "snapshot = copy.deepcopy(previous)"]),
                    )
                    s.fail(
                        f"step {t} mutated the observation returned by the previous call: "
                        f"{short_repr(snapshot, 150)} became {short_repr(previous, 150)}",
                        [
                            "assert same(previous, snapshot), "
                            "f'previous obs mutated: {snapshot!r} -> {previous!r}'"
                        ],
                    )
                if result[2] or result[3]:
                    previous, snapshot = obs, copy.deepcopy(obs)
                    obs, _ = s.autoreset(env)
                    if not same(previous, snapshot):
                        s.helper("import copy")
                        s.helper(_helper_source(same))
                        s.events.insert(
                            len(s.events) - 2,
                            ("code", ["previous = obs", "snapshot = copy.deepcopy(previous)"]),
                        )
                        s.fail(
                            "reset() mutated the last observation of the previous episode",
                            ["assert same(previous, snapshot), (snapshot, previous)"],
                        )

    return _outcome(search(body, ctx.settings))


@_property(
    "independent_instances",
    "two instances stepped side by side with the same seed and actions give identical results "
    "(no state shared between instances)",
)
def _check_independent(prop: Property, ctx: Context) -> Outcome:
    n = ctx.short_steps()

    def body(data: Any) -> None:
        sd = data.draw(SEEDS, label="seed")
        actions = draw_actions(data, ctx.action_space, n)
        s = _new_script(prop, ctx)
        with _closing(s.make("env_a")) as env_a, _closing(s.make("env_b")) as env_b:
            diff = s._call(lambda: _rollouts.lockstep(env_a, env_b, actions, seed=sd), "lockstep")
            if diff is None:
                return
            k, x, y = diff
            s.helper("import copy")
            s.helper(_helper_source(same, _rollouts.lockstep))
            s.code(
                *actions_lines("actions", actions[:k]),
                f"diff = lockstep(env_a, env_b, actions, seed={sd})",
                "assert diff is None, f'diverged at step {diff[0]}:\\n{diff[1]!r}\\n{diff[2]!r}'",
            )
            s.fail(
                f"two instances with the same seed ({sd}) and actions diverge at step {k}: "
                f"{short_repr(x, 150)} != {short_repr(y, 150)}"
            )

    return _outcome(search(body, ctx.settings))


@_property(
    "pickle",
    "pickle and deepcopy of a mid-episode env give clones that continue exactly like the "
    "original (AsyncVectorEnv and Ray need this)",
)
def _check_pickle(prop: Property, ctx: Context) -> Outcome:
    n = ctx.short_steps(50)

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        with _closing(s.make()) as env:
            sd = data.draw(SEEDS, label="seed")
            s.reset(env, sd)
            prefix = draw_actions(data, ctx.action_space, n, "prefix")
            for action in prefix:
                result = s.step(env, action, autoreset=True)
                if result[2] or result[3]:
                    s.autoreset(env)
            rest = draw_actions(data, ctx.action_space, 20, "continuation", fixed=True)
            s.helper("import copy")
            s.helper("import pickle")
            clones = {}
            for how, src, make_clone in (
                (
                    "pickle",
                    "pickle.loads(pickle.dumps(env))",
                    lambda: pickle.loads(pickle.dumps(env)),
                ),
                ("deepcopy", "copy.deepcopy(env)", lambda: copy.deepcopy(env)),
            ):
                s.code(f"clone = {src}")
                clones[how] = s._call(make_clone, f"{how} of a mid-episode env")
                s.events.pop()
            s.helper(_helper_source(same, _rollouts.continue_rollout))
            s.code(*actions_lines("actions", rest), "expected = continue_rollout(env, actions)")
            expected = s._call(lambda: _rollouts.continue_rollout(env, rest), "the original")
            s.events.pop()
            for how, clone in clones.items():
                with _closing(clone):
                    got = s._call(lambda c=clone: _rollouts.continue_rollout(c, rest), how)
                i = first_difference(expected, got)
                if i is None:
                    continue
                x = expected[i] if i < len(expected) else None
                y = got[i] if i < len(got) else None
                k = sum(1 for r in expected[: i + 1] if len(r) == 5)
                clone_src = (
                    "pickle.loads(pickle.dumps(env))" if how == "pickle" else "copy.deepcopy(env)"
                )
                s.helper(_helper_source(same, _rollouts.continue_rollout))
                s.code(
                    f"clone = {clone_src}",
                    *actions_lines("actions", rest[:k]),
                    "expected = continue_rollout(env, actions)",
                    "got = continue_rollout(clone, actions)",
                    "for i, (x, y) in enumerate(zip(expected, got)):",
                    "    assert same(x, y), f'call {i} differs:\\n{x!r}\\n{y!r}'",
                )
                s.fail(
                    f"a {how} clone of the env diverges from the original {k} steps later: "
                    f"{short_repr(x, 150)} != {short_repr(y, 150)}"
                )

    return _outcome(search(body, ctx.settings, examples=max(1, ctx.settings.examples // 2)))


@_property("close", "close() can be called twice, after an episode and on a never-reset env")
def _check_close(prop: Property, ctx: Context) -> Outcome:
    actions = from_space(ctx.action_space)

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        env = s.make()
        s.reset(env, data.draw(SEEDS, label="seed"))
        for _ in range(3):
            result = s.step(env, data.draw(actions), autoreset=True)
            if result[2] or result[3]:
                s.autoreset(env)
        s.close(env)
        s.close(env)
        other = s.make("other")
        s.close(other, "other")
        s.close(other, "other")

    return _outcome(search(body, ctx.settings, examples=min(ctx.settings.examples, 3)))


@_property(
    "stateful",
    "any interleaving of reset/step/render/close keeps every contract, and reset(seed=s) always "
    "gives the obs a fresh env gives for s (Hypothesis state machine)",
)
def _check_stateful(prop: Property, ctx: Context) -> Outcome:
    from ._stateful import run_state_machine

    return _outcome(run_state_machine(ctx, prop))


@_property(
    "vector",
    "a vector env (vector_entry_point) with N sub-envs matches N single envs seeded seed+i, "
    "step by step, with autoreset accounted for",
)
def _check_vector(prop: Property, ctx: Context) -> Outcome:
    target = ctx.target
    if not target.has_vector_entry_point or target.env_id is None:
        return Outcome(SKIP, "no vector_entry_point in the env's spec")
    num = ctx.settings.num_envs

    def make_vec() -> Any:
        return gym.make_vec(target.env_id, num_envs=num, vectorization_mode="vector_entry_point")

    try:
        with _closing(make_vec()) as probe_vec:
            mode = probe_vec.metadata.get("autoreset_mode", "NextStep")
            mode = str(getattr(mode, "value", mode))
            batch_space = probe_vec.action_space
            batch_obs_space = probe_vec.observation_space
            obs, _ = probe_vec.reset(seed=ctx.settings.seed)
            singles = [target.factory() for _ in range(num)]
            try:
                starts = [e.reset(seed=ctx.settings.seed + i)[0] for i, e in enumerate(singles)]
            finally:
                for e in singles:
                    e.close()
            subs = list(gym.vector.utils.iterate(batch_obs_space, obs))
            comparable = all(_rollouts.close(a, b) for a, b in zip(subs, starts, strict=True))
    except Exception as exc:
        return Outcome(FAIL, f"creating and resetting the vector env raised {exc!r}")
    if mode not in ("NextStep", "SameStep"):
        comparable = False
    n = ctx.short_steps()

    def vec_source() -> tuple[list[str], list[str]]:
        pre, _ = target.make_source("env_0", None)
        lines = [
            f"vec = gym.make_vec({target.env_id!r}, num_envs={num}, "
            "vectorization_mode='vector_entry_point')"
        ]
        for i in range(num):
            lines.append(target.make_source(f"env_{i}", None)[1])
        return pre, lines

    def body(data: Any) -> None:
        sd = data.draw(SEEDS, label="seed")
        actions = draw_actions(data, batch_space, n)
        s = _new_script(prop, ctx)
        pre, lines = vec_source()
        s.preamble.extend(p for p in pre if p not in s.preamble)
        s.code(*lines)
        vec = s._call(make_vec, "gym.make_vec")
        envs = []
        try:
            envs = [s._call(target.factory, "make") for _ in range(num)]
            if comparable:
                diff = s._call(
                    lambda: _rollouts.vector_vs_single(
                        vec, envs, sd, actions, same_step=mode == "SameStep"
                    ),
                    "vector_vs_single",
                )
                if diff is None:
                    return
                s.helper(_helper_source(same, _rollouts.close, _rollouts.vector_vs_single))
                k = int(diff.split(":")[0].split()[-1]) if diff.startswith("step") else 0
                s.code(
                    *actions_lines("actions", actions[:k]),
                    f"diff = vector_vs_single(vec, [{', '.join(f'env_{i}' for i in range(num))}]"
                    f", {sd}, actions, same_step={mode == 'SameStep'})",
                    "assert diff is None, diff",
                )
                s.fail(f"vector env and single envs differ: {diff}")
            # structural checks only
            obs, _ = s._call(lambda: vec.reset(seed=sd), "vec.reset")
            s.code(f"obs, infos = vec.reset(seed={sd})")
            for t, batch in enumerate(actions, 1):
                out = s._call(lambda b=batch: vec.step(b), f"vec.step (step {t})")
                obs, rewards, terminated, truncated, infos = out
                problem = None
                if not space_contains(batch_obs_space, obs):
                    problem = f"step {t}: batched obs {short_repr(obs, 150)} not in the space"
                for name, arr in (("rewards", rewards), ("terminations", terminated)):
                    if np.shape(arr) != (num,):
                        problem = f"step {t}: {name} has shape {np.shape(arr)}, not ({num},)"
                if problem:
                    s.code(
                        *actions_lines("batches", actions[:t]),
                        "for batch in batches:",
                        "    obs, rewards, terminations, truncations, infos = vec.step(batch)",
                        "assert vec.observation_space.contains(obs) and "
                        f"np.shape(rewards) == ({num},), (obs, rewards)",
                    )
                    s.fail(problem)
        finally:
            for e in [vec, *envs]:
                with contextlib.suppress(Exception):
                    e.close()

    violation = search(body, ctx.settings, examples=max(1, ctx.settings.examples // 2))
    if violation is not None:
        return _outcome(violation)
    if not comparable:
        why = (
            f"autoreset mode {mode}"
            if mode not in ("NextStep", "SameStep")
            else "the vector env does not seed sub-env i like a single env with seed+i"
        )
        return Outcome(
            WARN,
            f"trajectories not compared ({why}); batched obs, rewards and flags checked",
        )
    return Outcome(PASS, f"{num} sub-envs match single envs")


def describe() -> list[tuple[str, str]]:
    return [(p.name, p.contract) for p in PROPERTIES.values()]


__all__ += ["describe", "check_obs", "check_step_result", "check_reset_result", "search"]
_ = comment  # re-exported for _stateful
