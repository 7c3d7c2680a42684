"""The conformance properties: each has a name, a one-line contract and a check."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import inspect
import io
import math
import pickle
import random
import re
import time
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
from ._repro import Script, Violation, actions_lines, comment, difference, same, short_repr
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
    budget: seconds per env (default 60; None: no budget). When the measured step cost says
        the suite would take longer, examples and episode lengths are cut to fit (the report
        says what was cut), and a property past its share stops drawing new examples.
    limit_examples: examples of the ``time_limit`` property (whole episodes of T steps; default:
        ``examples``); the budget lowers it for long time limits.
    vector_rtol: the relative tolerance of the ``vector`` property (a vector env against single
        envs); default: exact for vector envs that promise bit-exact results (envgen's native
        vector envs, or ``metadata["bit_exact"] is True``), else 1e-5. 0: exact.
    deterministic: the env promises that the seed does not matter (also read from
        ``env.unwrapped.metadata["deterministic"] is True``): ``seeding`` then checks that
        different seeds give the same trajectory instead of warning that they do.
    """

    examples: int = 10
    max_steps: int | None = None
    seed: int = 0
    strict: bool = False
    shrink_seconds: float = 20.0
    num_envs: int = 2
    stateful_steps: int = 30
    budget: float | None = 60.0
    limit_examples: int | None = None
    vector_rtol: float | None = None
    deterministic: bool = False

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
    limit_name: str = "max_episode_steps"
    vector: bool = False
    step_seconds: float = 0.0
    make_seconds: float = 0.0  # making a fresh env and its first reset (measured by the runner)
    single_action_space: gym.Space | None = None  # of a vector env
    num_envs: int = 1
    deterministic: str | None = None  # who declared the env deterministic, if anyone
    has_action_masks: bool = False  # the env has an action_masks() method (sb3-contrib)

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
    vector_check: Callable[[Property, Context], Outcome] | None = None

    def __call__(self, ctx: Context) -> Outcome:
        if ctx.vector:
            if self.vector_check is None:
                return Outcome(SKIP, "does not apply to a vector env")
            return self.vector_check(self, ctx)
        return self.check(self, ctx)


PROPERTIES: dict[str, Property] = {}


def register_property(name: str, contract: str) -> Callable:
    """Decorator: add ``check(prop, ctx) -> Outcome`` to the suite as property ``name``.

    Properties run in the order they are registered; a module that adds properties (its own
    file) is imported at the end of this one. A vector env check is attached to an existing
    property with ``_vector.vector_check(name)``. Add the contract to docs/fuzzing.md's table
    (a test compares them).
    """

    def register(fn: Callable[[Property, Context], Outcome]) -> Callable:
        if name in PROPERTIES:
            raise ValueError(f"property {name!r} is registered already")
        PROPERTIES[name] = Property(name, contract, fn)
        return fn

    return register


_property = register_property


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


@dataclass
class Clock:
    """The running property's time share and its progress (set by the runner, read by search)."""

    deadline: float | None = None
    tick: Callable[[int, int], None] | None = None
    run: int = 0
    skipped: int = 0
    planned: int = 0

    def past(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline


class OutOfTime(KeyboardInterrupt):  # noqa: N818
    """The property's time share is spent: stop drawing examples.

    A KeyboardInterrupt, because that is how Hypothesis lets a run stop without recording the
    stopped example: any other exception is recorded in its data tree as an example that drew
    nothing, which contradicts the earlier examples (they drew a seed first), and Hypothesis
    raises FlakyStrategyDefinition ("stopped drawing earlier than the first run") -- only when
    the deadline passed mid-property, hence only under a budget, and only intermittently.
    Caught by :func:`search` and the state machine's runner; never escapes.
    """


CLOCK: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("envgen_clock", default=None)


def search(body: Callable[[Any], None], settings: Settings, examples: int | None = None) -> Any:
    """Run ``body(data)`` under Hypothesis; return the shrunk Violation, or None.

    Past the property's deadline (see :class:`Clock`) no new example starts (the search stops
    before the next one draws anything), and the count of skipped examples goes in the report.
    """
    clock = CLOCK.get()
    total = examples or settings.examples
    if clock is not None:
        clock.planned += total
    failing, ran = [False], [0]

    @hypothesis_settings(settings, examples)
    @seed(settings.seed)
    @given(st.data())
    def test(data: Any) -> None:
        if clock is not None and not failing[0]:
            if ran[0] and clock.past():
                clock.skipped += max(total - ran[0], 1)
                raise OutOfTime  # Hypothesis lets it through, unrecorded (see OutOfTime)
            ran[0] += 1
            clock.run += 1
            if clock.tick is not None:
                clock.tick(clock.run, clock.planned)
        try:
            body(data)
        except Violation:
            failing[0] = True  # shrinking: never rejected for time (its own cap applies)
            raise

    with _shrink_budget(settings.shrink_seconds):
        try:
            test()
        except OutOfTime:
            return None  # the examples that ran found nothing
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
    "dtype and shape, info a dict (vector envs: batched spaces, infos with their _key masks)",
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
    "two resets of one instance and across two fresh instances, whatever the global RNG state",
)
def _check_determinism(prop: Property, ctx: Context) -> Outcome:
    def body(data: Any) -> None:
        sd = data.draw(SEEDS, label="seed")
        actions = draw_actions(data, ctx.action_space, ctx.steps)
        s = _new_script(prop, ctx)
        env_a = s.make("env_a")
        mark = len(s.events)
        try:
            first = recorded_rollout(s, env_a, "env_a", sd, actions)
            second = recorded_rollout(s, env_a, "env_a", sd, actions)
            _compare_rollouts(
                s, mark, first, second, sd, actions, "env_a", [], "a second reset(seed) of env_a"
            )
            s.code(*_PERTURB)
            _perturb_globals()
            env_b = s.make("env_b")
            with _closing(env_b):
                third = recorded_rollout(s, env_b, "env_b", sd, actions)
                _compare_rollouts(
                    s, mark, first, third, sd, actions, "env_b", _PERTURB, "a fresh instance"
                )
        finally:
            with contextlib.suppress(Exception):
                env_a.close()

    return _outcome(search(body, ctx.settings))


def _ended(result: Any) -> bool:
    return isinstance(result, tuple) and len(result) == 5 and bool(result[2] or result[3])


def recorded_rollout(s: Script, env: Any, var: str, sd: int | None, actions: list[Any]) -> list:
    """``_rollouts.rollout``, with every call recorded: a crash points at the call that raised."""
    results = [copy.deepcopy(s.reset(env, sd, var))]
    for action in actions:
        results.append(copy.deepcopy(s.step(env, action, var, autoreset=True)))
        if _ended(results[-1]):
            results.append(copy.deepcopy(s.autoreset(env, var)))
    return results


def recorded_continuation(s: Script, env: Any, var: str, actions: list[Any]) -> list:
    """``_rollouts.continue_rollout``, with every call recorded."""
    results = []
    for action in actions:
        results.append(copy.deepcopy(s.step(env, action, var, autoreset=True)))
        if _ended(results[-1]):
            results.append(copy.deepcopy(s.autoreset(env, var)))
    return results


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


def call_name(
    results: list[Any], index: int, sd: int | None = None, continuation: bool = False
) -> str:
    """What call gave ``results[index]`` of a rollout (of a continuation: no reset first)."""
    if index == 0 and not continuation:
        return "reset()" if sd is None else f"reset(seed={sd})"
    steps = sum(1 for r in results[: index + 1] if _is_step(r))
    if index < len(results) and not _is_step(results[index]):
        return f"reset() after step {steps}"
    return f"step {steps}"


def _is_step(result: Any) -> bool:
    return isinstance(result, tuple) and len(result) == 5


def describe_pair(first: list[Any], second: list[Any], i: int) -> str:
    """The first differing field of results ``i`` of two runs, both values (or a missing call)."""
    if i >= len(first) or i >= len(second):
        longer = "first" if i < len(first) else "second"
        return f"only the {longer} run made this call"
    return difference(first[i], second[i]) or "results differ"


_COMPARE = [
    "i = next((i for i, (x, y) in enumerate(zip(first, second)) if not same(x, y)), None)",
    "assert i is None and len(first) == len(second), (",
    "    f'call {i} differs: {difference(first[i], second[i])}' if i is not None",
    "    else f'{len(first)} calls != {len(second)} calls'",
    ")",
]


def _compare_rollouts(
    s: Script,
    mark: int,
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
    del s.events[mark:]
    s.helper("import copy")
    s.helper(_helper_source(same, difference, _rollouts.rollout))
    make_b = [] if var == "env_a" else [s.target.make_source(var, None)[1]]
    s.code(
        *actions_lines("actions", actions[:k]),
        f"first = rollout(env_a, {sd}, actions)",
        *perturb,
        *make_b,
        f"second = rollout({var}, {sd}, actions)",
        *_COMPARE,
    )
    s.fail(
        f"same seed ({sd}) and actions, different results with {what}, at "
        f"{call_name(first, i, sd)}: {describe_pair(first, second, i)}"
    )


@_property(
    "seeding",
    "different seeds give different initial states or trajectories (a warning when never: the "
    "env is deterministic, or ignores its seed); an env declared deterministic must give the "
    "same trajectory whatever the seed",
)
def _check_seeding(prop: Property, ctx: Context) -> Outcome:
    if ctx.deterministic:
        return _check_declared_deterministic(prop, ctx)
    n_seeds, n_steps = 8, min(ctx.steps, 50)
    seeds = [ctx.settings.seed + i for i in range(n_seeds)]
    space = copy.deepcopy(ctx.action_space)
    space.seed(ctx.settings.seed)
    actions = [space.sample() for _ in range(n_steps)]
    s = _new_script(prop, ctx)
    try:
        with _closing(s.make()) as env:
            # copies: an env reusing its buffers must not look as if it ignored its seed
            starts = [
                copy.deepcopy(s._call(lambda sd=sd: env.reset(seed=sd), "reset")[0]) for sd in seeds
            ]
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


def _check_declared_deterministic(prop: Property, ctx: Context) -> Outcome:
    """An env declared deterministic: two different seeds, the same actions, the same results."""
    n = ctx.short_steps()

    def body(data: Any) -> None:
        sd_a = data.draw(SEEDS, label="seed")
        sd_b = data.draw(SEEDS.filter(lambda x: x != sd_a), label="other seed")
        actions = draw_actions(data, ctx.action_space, n)
        s = _new_script(prop, ctx)
        with _closing(s.make("env_a")) as env_a, _closing(s.make("env_b")) as env_b:
            mark = len(s.events)
            first = recorded_rollout(s, env_a, "env_a", sd_a, actions)
            second = recorded_rollout(s, env_b, "env_b", sd_b, actions)
            i = first_difference(first, second)
            if i is None:
                return
            k = _actions_until(first, i)
            del s.events[mark:]
            s.helper("import copy")
            s.helper(_helper_source(same, difference, _rollouts.rollout))
            s.code(
                *actions_lines("actions", actions[:k]),
                f"first = rollout(env_a, {sd_a}, actions)",
                f"second = rollout(env_b, {sd_b}, actions)",
                *_COMPARE,
            )
            where = "the first reset" if i == 0 else call_name(first, i)
            s.fail(
                f"the env is declared deterministic ({ctx.deterministic}), but seeds {sd_a} and "
                f"{sd_b} with the same actions differ at {where}: "
                f"{describe_pair(first, second, i)}"
            )

    return _outcome(
        search(body, ctx.settings),
        ok=f"deterministic, as declared ({ctx.deterministic}): different seeds, same results",
    )


@_property(
    "time_limit",
    "with a time limit T (max_episode_steps, or an env's own max_steps/max_path_length), an "
    "episode is truncated exactly at step T: not before, not after (unless it terminated first)",
)
def _check_time_limit(prop: Property, ctx: Context) -> Outcome:
    limit, name = ctx.max_episode_steps, ctx.limit_name
    if limit is None:
        why = "; ".join(ctx.notes) or "no max_episode_steps, max_steps or max_path_length"
        return Outcome(SKIP, f"no time limit found ({why})")

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
                        f"truncated at step {t}, before the time limit {name}={limit}",
                        [f"assert not truncated, 'truncated at step {t} < {limit}'"],
                    )
                if terminated or truncated:
                    return
            s.fail(
                f"not truncated at step {limit} = {name} (terminated=False, truncated=False)",
                [f"assert terminated or truncated, 'step {limit} should truncate'"],
            )

    examples = ctx.settings.limit_examples
    if examples == 0:  # the budget's plan: one whole episode would not fit
        episode = limit * ctx.step_seconds
        return Outcome(
            SKIP,
            f"budget: one episode of {name}={limit} steps would take about {episode:.0f}s at "
            f"{ctx.step_seconds * 1000:.1f} ms per step (a larger --budget, or 0, checks it)",
        )
    return _outcome(search(body, ctx.settings, examples=examples), ok=f"{name}={limit}")


TERMINATION_MIN_STEPS = 10  # below this (a budget's cut), termination is not checked


def _policies(space: gym.Space, seed0: int, n: int) -> list[tuple[str, list[Any]]]:
    """Eight action sequences of length ``n``: four constant ones, four sampled ones."""
    if isinstance(space, gym.spaces.Discrete):
        values = [space.start + i for i in range(min(int(space.n), 4))]
        constants = [np.int64(v) for v in values]
    else:
        constants = [_rollouts.sampled_actions(space, seed0 + 100 + j, 1)[0] for j in range(4)]
    policies = [(f"[{_src(c)}] * n", [copy.deepcopy(c) for _ in range(n)]) for c in constants]
    for j in range(8 - len(policies)):
        sd = seed0 + j
        policies.append(
            (
                f"sampled_actions(env.action_space, {sd}, n)",
                _rollouts.sampled_actions(space, sd, n),
            )
        )
    return policies


@_property(
    "termination",
    "an episode that ends at the same step whatever the seed and actions is a time limit: it "
    "must end with truncated=True, not terminated=True (a warning; a failure at the declared "
    "time limit)",
)
def _check_termination(prop: Property, ctx: Context) -> Outcome:
    n = ctx.steps
    if ctx.settings.budget and n < TERMINATION_MIN_STEPS:
        # eight runs that cannot reach an episode's end would cost eight resets for nothing
        return Outcome(
            SKIP,
            f"budget: runs cut to {n} steps are too short to see where episodes end (a larger "
            "--budget, or 0, checks it)",
        )
    policies = _policies(ctx.action_space, ctx.settings.seed, n)
    seeds = [ctx.settings.seed + i for i in range(len(policies))]
    s = _new_script(prop, ctx)
    try:
        with _closing(s.make()) as env:
            ends = [
                s._call(
                    lambda sd=sd, a=actions: _rollouts.episode_end(env, sd, a),
                    f"episode_end(env, {sd}, {src.replace('n)', f'{n})')})",
                )
                for sd, (src, actions) in zip(seeds, policies, strict=True)
            ]
    except Violation as violation:
        return _outcome(violation)
    if len(set(ends)) > 1 or ends[0] is None:
        return Outcome(PASS, "episodes end at different steps, or not at all")
    step, terminated, truncated = ends[0]
    if not terminated:
        return Outcome(PASS, f"every episode was truncated at step {step}")
    if step == 1:
        return Outcome(PASS, "every episode is one step long")
    s.helper("import copy")
    s.helper(_helper_source(_rollouts.sampled_actions, _rollouts.episode_end))
    s.code(
        f"n = {n}",
        "runs = [",
        *[f"    ({sd}, {src})," for sd, (src, _) in zip(seeds, policies, strict=True)],
        "]",
        "ends = [episode_end(env, seed, actions) for seed, actions in runs]",
        "assert len(set(ends)) > 1 or not ends[0][1], "
        "f'every episode ended with (step, terminated, truncated) = {ends[0]}'",
    )
    runs = f"{len(ends)} episodes (seeds {seeds[0]}..{seeds[-1]}, constant and random actions)"
    flags = f"terminated=True, truncated={truncated}"
    limit = ctx.max_episode_steps
    if limit is not None and limit - 1 <= step <= limit:
        # at the declared limit (or one step before it, the off-by-one of a hand-rolled
        # `t >= limit - 1`): the limit itself, reported as a terminal state
        message = (
            f"every one of {runs} ended at step {step} with {flags}: that is a time limit "
            f"(the env declares {ctx.limit_name}={limit}), and a time limit must end an episode "
            "with truncated=True, terminated=False (terminated tells a learner the state has no "
            "future)"
        )
        return Outcome(FAIL, message, s.source(message=message))
    declared = "" if limit is None else f" (the declared {ctx.limit_name}={limit} is later)"
    message = (
        f"every one of {runs} terminated at step {step}, whatever the actions{declared}: is "
        "this a time limit? A time limit must end an episode with truncated=True, "
        "terminated=False; a task of fixed length whose end is a real terminal state (Catch, a "
        "crossing, a game of fixed depth) may ignore this warning"
    )
    return Outcome(WARN, message, s.source(message=message))


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
                "  # should raise, but returns",
                "raise AssertionError(f'env.step accepted {action!r}, outside {env.action_space}')"
                "  # <- fails here",
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
    frames = 1 + ctx.short_steps(10)  # after the reset and 10 steps (fewer under a budget cut)
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
                for t in range(frames):
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


def held_parts(value: Any, path: str) -> list[tuple[str, Any, Any]]:
    """(path, object, snapshot) for each part of a returned value that can change in place:
    arrays, and the dicts and lists holding them (objects of other types are not looked at)."""
    if isinstance(value, np.ndarray):
        return [(path, value, value.copy())] if value.dtype.kind != "O" else []
    parts: list[tuple[str, Any, Any]] = []
    if isinstance(value, dict):
        parts.append((path, value, dict(value)))
        for key, item in value.items():
            parts.extend(held_parts(item, f"{path}[{key!r}]"))
    elif isinstance(value, (list, tuple)):
        if isinstance(value, list):
            parts.append((path, value, list(value)))
        for i, item in enumerate(value):
            parts.extend(held_parts(item, f"{path}[{i}]"))
    return parts


def changed(obj: Any, snapshot: Any) -> bool:
    if isinstance(obj, np.ndarray):
        return obj.shape != snapshot.shape or not np.array_equal(
            obj, snapshot, equal_nan=obj.dtype.kind in "fc"
        )
    if isinstance(obj, dict):
        return obj.keys() != snapshot.keys() or any(
            obj[k] is not snapshot[k] and not same(obj[k], snapshot[k]) for k in obj
        )
    return len(obj) != len(snapshot) or any(
        x is not y and not same(x, y) for x, y in zip(obj, snapshot, strict=False)
    )


class Holder:
    """Keeps what a run's calls returned, with snapshots, to find a later call changing it.

    After each call only what the last two calls returned is compared (buffer reuse shows at
    once); :meth:`check_all` at the end of a run compares everything. Shrinking then makes the
    changing call the last one of the run.
    """

    RECENT = 2

    def __init__(self, s: Script) -> None:
        self.s = s
        self.held: list[tuple[str, Any, Any, str, int]] = []  # path, obj, snapshot, call, event
        self.groups: list[int] = []

    def hold(self, result: Any, names: tuple[str, ...], call: str) -> None:
        if not isinstance(result, tuple) or len(result) != len(names):
            return
        event = len(self.s.events) - 1
        self.groups.append(len(self.held))
        for name, value in zip(names, result, strict=True):
            for path, obj, snap in held_parts(value, name):
                self.held.append((path, obj, snap, call, event))

    def check(self, call: str, fields: str = "obs, info") -> None:
        start = self.groups[-self.RECENT] if len(self.groups) >= self.RECENT else 0
        self._compare(self.held[start:], call, fields, exact=True)

    def check_all(self, call: str, fields: str = "obs, info") -> None:
        self._compare(self.held, call, fields, exact=False)

    def _compare(self, items: list, call: str, fields: str, exact: bool) -> None:
        for path, obj, snap, when, event in items:
            if not changed(obj, snap):
                continue
            s = self.s
            s.helper("import copy")
            s.helper(_helper_source(same, difference))
            if s.events[event][0] == "step":
                s.events[event] = (*s.events[event][:3], False)  # shown on its own line
            s.events.insert(
                event + 1,
                (
                    "code",
                    [
                        f"held, where = {path}, {path!r}  # from {when}",
                        "snapshot = copy.deepcopy(held)",
                    ],
                ),
            )
            what = difference(snap, obj, path) or "changed"
            by = call if exact else f"a call after it (seen after {call})"
            s.fail(
                f"{by} changed in place the {path} returned by {when} ({fields} must be new "
                f"objects, or copies): {what}",
                [
                    "assert same(held, snapshot), "
                    "f'changed in place: {difference(snapshot, held, where)}'"
                ],
            )


@_property(
    "fresh_arrays",
    "returned observations and infos are not reused: no later call changes in place an array "
    "(or dict, list) that reset() or step() returned",
)
def _check_fresh_arrays(prop: Property, ctx: Context) -> Outcome:
    n = ctx.short_steps()

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        holder = Holder(s)
        with _closing(s.make()) as env:
            sd = data.draw(SEEDS, label="seed")
            holder.hold(s.reset(env, sd), ("obs", "info"), f"reset(seed={sd})")
            last = f"reset(seed={sd})"
            for t, action in enumerate(draw_actions(data, ctx.action_space, n), 1):
                result = s.step(env, action, autoreset=True)
                holder.check(f"step {t}")
                holder.hold(result, STEP_NAMES, f"step {t}")
                last = f"step {t}"
                if _ended(result):
                    reset = s.autoreset(env)
                    last = f"reset() after step {t}"
                    holder.check(last)
                    holder.hold(reset, ("obs", "info"), last)
            holder.check_all(last)

    return _outcome(search(body, ctx.settings))


STEP_NAMES = ("obs", "reward", "terminated", "truncated", "info")


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
            mark = len(s.events)
            k, x, y = lockstep_recorded(s, mark, env_a, env_b, sd, actions)
            if x is None:
                return
            del s.events[mark:]
            s.helper("import copy")
            s.helper(_helper_source(same, difference, _rollouts.lockstep))
            s.code(
                *actions_lines("actions", actions[:k]),
                f"diff = lockstep(env_a, env_b, actions, seed={sd})",
                "assert diff is None, "
                "f'diverged at step {diff[0]}: {difference(diff[1], diff[2])}'",
            )
            where = f"step {k}" if k else f"reset(seed={sd})"
            s.fail(
                f"two instances with the same seed ({sd}) and actions diverge at {where}: "
                f"{difference(x, y) or 'results differ'}"
            )

    return _outcome(search(body, ctx.settings))


def lockstep_recorded(
    s: Script, mark: int, env_a: Any, env_b: Any, sd: int, actions: list[Any]
) -> tuple[int, Any, Any]:
    """``_rollouts.lockstep``, run here so that a crash shows the very call that raised.

    Returns (step, result_a, result_b) of the first differing call, or (n, None, None).
    """

    def call(k: int, line: str, fn: Callable[[], Any]) -> Any:
        try:
            return copy.deepcopy(fn())
        except Exception as exc:
            del s.events[mark:]
            s.code(*_lockstep_prefix(sd, actions[: max(k - 1, 0)], k > 0), *done_lines, line)
            s.crashed(exc, line.split(" = ")[-1] + (f" (step {k})" if k else ""))

    done_lines: list[str] = []
    first = call(0, f"result_a = env_a.reset(seed={sd})", lambda: env_a.reset(seed=sd))
    done_lines.append(f"result_a = env_a.reset(seed={sd})")
    second = call(0, f"result_b = env_b.reset(seed={sd})", lambda: env_b.reset(seed=sd))
    if not same(first, second):
        return 0, first, second
    for k, action in enumerate(actions, 1):
        src = _src(action)
        done_lines = []
        first = call(k, f"result_a = env_a.step({src})", lambda a=action: env_a.step(a))
        done_lines.append(f"result_a = env_a.step({src})")
        second = call(k, f"result_b = env_b.step({src})", lambda a=action: env_b.step(a))
        if not same(first, second):
            return k, first, second
        if _ended(first):
            done_lines.append(f"result_b = env_b.step({src})")
            first = call(k, "result_a = env_a.reset()", env_a.reset)
            done_lines.append("result_a = env_a.reset()")
            second = call(k, "result_b = env_b.reset()", env_b.reset)
            if not same(first, second):
                return k, first, second
    return len(actions), None, None


def _lockstep_prefix(sd: int, actions: list[Any], reset_first: bool) -> list[str]:
    if not reset_first:
        return []
    lines = [f"result_a = env_a.reset(seed={sd})", f"result_b = env_b.reset(seed={sd})"]
    if actions:
        lines += [
            *actions_lines("actions", actions),
            "for action in actions:",
            "    result_a = env_a.step(action)",
            "    result_b = env_b.step(action)",
            "    if result_a[2] or result_a[3]:",
            "        result_a = env_a.reset()",
            "        result_b = env_b.reset()",
        ]
    return lines


PICKLE_CONTINUATION = 20  # steps each clone and the original take after the clone

_CLONES = {
    "pickle": ("pickle.loads(pickle.dumps(env))", lambda env: pickle.loads(pickle.dumps(env))),
    "deepcopy": ("copy.deepcopy(env)", lambda env: copy.deepcopy(env)),
}


def is_ezpickle(env: Any) -> bool:
    """True for envs pickled through their constructor arguments (gymnasium.utils.EzPickle)."""
    return isinstance(getattr(env, "unwrapped", env), gym.utils.EzPickle)


@_property(
    "pickle",
    "pickle and deepcopy of a mid-episode env give clones that continue exactly like the "
    "original (AsyncVectorEnv and Ray need this); an EzPickle env's clones restart as fresh envs "
    "(a warning) and must then replay a fresh env exactly",
)
def _check_pickle(prop: Property, ctx: Context) -> Outcome:
    n = ctx.short_steps(50)
    cont = ctx.short_steps(PICKLE_CONTINUATION)  # a budget cutting the runs cuts this too
    restarted: set[str] = set()

    def body(data: Any) -> None:
        s = _new_script(prop, ctx)
        with _closing(s.make()) as env:
            sd = data.draw(SEEDS, label="seed")
            s.reset(env, sd)
            prefix = draw_actions(data, ctx.action_space, n, "prefix")
            for action in prefix:
                result = s.step(env, action, autoreset=True)
                if _ended(result):
                    s.autoreset(env)
            rest = draw_actions(data, ctx.action_space, cont, "continuation", fixed=True)
            s.helper("import copy")
            s.helper("import pickle")
            ez = is_ezpickle(env)
            mark = len(s.events)
            clones = {}
            for how, (src, make_clone) in _CLONES.items():
                s.code(f"clone = {src}")
                clones[how] = s._call(lambda f=make_clone: f(env), f"{how} of a mid-episode env")
                del s.events[-1]
            expected = recorded_continuation(s, env, "env", rest)
            del s.events[mark:]
            for how, clone in clones.items():
                s.code(f"clone = {_CLONES[how][0]}")
                start = len(s.events)
                with _closing(clone):
                    try:
                        got = recorded_continuation(s, clone, "clone", rest)
                    except Violation:
                        if not ez:
                            raise
                        got = None
                i = None if got is None else first_difference(expected, got)
                if got is not None and i is None:
                    del s.events[mark:]
                    continue
                if ez:
                    del s.events[mark:]
                    _check_fresh_clone(s, ctx, env, how, sd, rest)
                    restarted.add(how)
                    continue
                del s.events[start:]
                k = sum(1 for r in expected[: i + 1] if _is_step(r))
                s.helper(_helper_source(same, difference, _rollouts.continue_rollout))
                s.code(
                    *actions_lines("actions", rest[:k]),
                    "first = continue_rollout(env, actions)",
                    "second = continue_rollout(clone, actions)",
                    *_COMPARE,
                )
                s.fail(
                    f"a {how} clone of the env diverges from the original at "
                    f"{call_name(expected, i, continuation=True)} after the clone: "
                    f"{describe_pair(expected, got, i)}"
                )

    examples = max(1, ctx.settings.examples // 2)
    violation = search(body, ctx.settings, examples=examples)
    if violation is not None or not restarted:
        return _outcome(violation)
    hows = " and ".join(sorted(restarted))
    return Outcome(
        WARN,
        f"pickles as a fresh env (EzPickle): a {hows} clone of a mid-episode env restarts from "
        "its constructor arguments instead of continuing the episode (Gymnasium's convention "
        "for envs that wrap C/C++ code); after reset(seed=...) each clone replays a fresh env "
        "exactly",
    )


def _check_fresh_clone(
    s: Script, ctx: Context, env: Any, how: str, sd: int, actions: list[Any]
) -> None:
    """An EzPickle clone restarts: after reset(seed) it must replay a fresh env exactly."""
    src, make_clone = _CLONES[how]
    s.code(f"clone = {src}  # EzPickle: a fresh env, built from the constructor arguments")
    clone = s._call(lambda: make_clone(env), f"{how} of a mid-episode env")
    fresh = s.make("fresh")
    mark = len(s.events)
    with _closing(clone), _closing(fresh):
        expected = recorded_rollout(s, fresh, "fresh", sd, actions)
        got = recorded_rollout(s, clone, "clone", sd, actions)
    i = first_difference(expected, got)
    if i is None:
        return
    del s.events[mark:]
    k = _actions_until(expected, i)
    s.helper(_helper_source(same, difference, _rollouts.rollout))
    s.code(
        *actions_lines("actions", actions[:k]),
        f"first = rollout(fresh, {sd}, actions)",
        f"second = rollout(clone, {sd}, actions)",
        *_COMPARE,
    )
    s.fail(
        f"a {how} clone of this EzPickle env, reset with seed {sd}, does not replay a fresh env "
        f"(so it does not restart from its constructor arguments either), at "
        f"{call_name(expected, i, sd)}: {describe_pair(expected, got, i)}"
    )


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
    kwargs = dict(target.kwargs)  # the target's params: the vector env must get them too

    def make_vec() -> Any:
        return gym.make_vec(
            target.env_id, num_envs=num, vectorization_mode="vector_entry_point", **kwargs
        )

    try:
        with _closing(make_vec()) as probe_vec:
            mode = probe_vec.metadata.get("autoreset_mode", "NextStep")
            mode = str(getattr(mode, "value", mode))
            batch_space = probe_vec.action_space
            batch_obs_space = probe_vec.observation_space
            rtol = vector_tolerance(ctx.settings, probe_vec)
            obs, _ = probe_vec.reset(seed=ctx.settings.seed)
            singles = [target.factory() for _ in range(num)]
            try:
                starts = [e.reset(seed=ctx.settings.seed + i)[0] for i, e in enumerate(singles)]
            finally:
                for e in singles:
                    e.close()
            subs = list(gym.vector.utils.iterate(batch_obs_space, obs))
            comparable = all(_rollouts.close(a, b, rtol) for a, b in zip(subs, starts, strict=True))
    except Exception as exc:
        return Outcome(FAIL, f"creating and resetting the vector env raised {exc!r}")
    if not comparable and num > 1 and all(_rollouts.close(starts[0], b, 0.0) for b in starts):
        # single envs seeded seed + i all start alike: their start does not depend on the
        # seed, so a sub-env starting elsewhere computes another number; no seeding at play
        # (hostile trial 6 Q15: a deterministic spec's disagreement was only a warning)
        i = next(i for i, a in enumerate(subs) if not _rollouts.close(a, starts[i], rtol))
        return Outcome(
            FAIL,
            f"reset(seed={ctx.settings.seed}): sub-env {i} obs {short_repr(subs[i], 150)} != "
            f"single env obs {short_repr(starts[i], 150)}, and single envs start alike "
            "whatever their seed",
        )
    if mode not in ("NextStep", "SameStep"):
        comparable = False
    n = ctx.short_steps()
    exactly = "exactly" if rtol == 0 else f"to rtol {rtol:g}"

    def vec_source() -> tuple[list[str], list[str]]:
        pre, _ = target.make_source("env_0", None)
        more = "".join(f", {k}={_src(v)}" for k, v in kwargs.items())
        lines = [
            f"vec = gym.make_vec({target.env_id!r}, num_envs={num}, "
            f"vectorization_mode='vector_entry_point'{more})"
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
                        vec, envs, sd, actions, same_step=mode == "SameStep", rtol=rtol
                    ),
                    "vector_vs_single",
                )
                if diff is None:
                    return
                s.helper(
                    _helper_source(
                        same,
                        _rollouts.close,
                        _rollouts.sub_info,
                        _rollouts._info_difference,
                        _rollouts.vector_vs_single,
                    )
                )
                k = int(diff.split(":")[0].split()[-1]) if diff.startswith("step") else 0
                s.code(
                    *actions_lines("actions", actions[:k]),
                    f"diff = vector_vs_single(vec, [{', '.join(f'env_{i}' for i in range(num))}]"
                    f", {sd}, actions, same_step={mode == 'SameStep'}, rtol={rtol!r})",
                    "assert diff is None, diff",
                )
                s.fail(f"vector env and single envs differ (compared {exactly}): {diff}")
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
    return Outcome(PASS, f"{num} sub-envs match single envs ({exactly})")


# the tolerance of the vector property for vector envs that do not promise bit-exact results
VECTOR_RTOL = 1e-5


def vector_tolerance(settings: Settings, vec: Any) -> float:
    """The relative tolerance comparing a vector env with single envs: ``settings.vector_rtol``
    when given, else 0 (exact) for a vector env that promises bit-exact results (envgen's
    native vector envs do), else :data:`VECTOR_RTOL` (batched arithmetic may round otherwise)."""
    if settings.vector_rtol is not None:
        return float(settings.vector_rtol)
    return 0.0 if promises_exact(vec) else VECTOR_RTOL


def promises_exact(vec: Any) -> bool:
    """True for a vector env that promises to match its single env bit for bit: one of envgen's
    native vector envs (found without importing envgen's runtime), or one whose metadata says
    ``"bit_exact": True``."""
    import sys

    inner = getattr(vec, "unwrapped", vec)
    if (getattr(inner, "metadata", None) or {}).get("bit_exact") is True:
        return True
    runtime = sys.modules.get("envgen.runtime.vector")
    native = getattr(runtime, "NativeVectorEnv", None)
    return native is not None and isinstance(inner, native)


@_property(
    "autoreset",
    "a vector env honours the autoreset mode it declares in metadata['autoreset_mode']: "
    "NEXT_STEP (the step after an episode ends resets that sub-env: reward 0, flags False), "
    "SAME_STEP (info['final_obs'] and info['final_info'], masked exactly where episodes ended), "
    "DISABLED (reset(options={'reset_mask': ...}) resets only the masked sub-envs)",
)
def _check_autoreset(prop: Property, ctx: Context) -> Outcome:
    return Outcome(SKIP, "not a vector env")


@_property(
    "sub_envs",
    "a vector env's sub-envs are independent: sub-env 0's results do not depend on the other "
    "sub-envs' actions (a failure in its first episode; a warning after its resets)",
)
def _check_sub_envs(prop: Property, ctx: Context) -> Outcome:
    return Outcome(SKIP, "not a vector env")


def describe() -> list[tuple[str, str]]:
    return [(p.name, p.contract) for p in PROPERTIES.values()]


__all__ += [
    "describe",
    "check_obs",
    "check_step_result",
    "check_reset_result",
    "search",
    "register_property",
]
_ = comment  # re-exported for _stateful

# modules that add properties (action_mask, jax_agreement) or attach vector env checks to them
from . import _jax, _masks, _vector  # noqa: E402, F401
