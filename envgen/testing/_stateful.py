"""A Hypothesis state machine driving reset/step/render/close in any order."""

from __future__ import annotations

import contextlib
import sys
import warnings
from typing import Any

import gymnasium as gym
from hypothesis import seed as hyp_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ._properties import (
    CLOCK,
    PROPERTIES,
    SEEDS,
    Context,
    OutOfTime,
    Property,
    Settings,
    _first_violation,
    _frame_problem,
    _helper_source,
    _shrink_budget,
    check_reset_result,
    check_step_result,
    hypothesis_settings,
)
from ._repro import Script, Violation, same, short_repr
from ._strategies import from_space
from ._targets import Target, resolve_target

__all__ = ["make_state_machine", "run_state_machine"]

# close() ends a run (nothing but close() is allowed after it): let some calls happen first.
MIN_CALLS_BEFORE_CLOSE = 6


def _working_render_mode(target: Target, metadata: dict[str, Any]) -> str | None:
    for mode in metadata.get("render_modes", []) or []:
        if mode == "human":
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                env = target.factory(render_mode=mode)
                try:
                    env.reset(seed=0)
                    env.render()
                finally:
                    with contextlib.suppress(Exception):
                        env.close()
        except (gym.error.DependencyNotInstalled, ImportError):
            continue
        except Exception:
            return mode  # broken: the machine will show how
        return mode
    return None


def make_state_machine(
    target: Any,
    *,
    render_mode: str | None = "auto",
    prop: Property | None = None,
) -> type[RuleBasedStateMachine]:
    """Build a ``RuleBasedStateMachine`` class exercising the env named by ``target``.

    Rules: ``reset(seed=None|s)``, ``step(action)`` while an episode runs, ``render()`` after a
    reset (when a non-human render mode works), ``close()`` at any time, repeatedly. Every call
    is checked against the reset/step/render contracts, and ``reset(seed=s)`` must return the
    observation a fresh env returns for ``s``. A failure raises with a runnable reproduction.

    Use it in a test module as ``TestMyEnv = make_state_machine("MyEnv-v0").TestCase``.
    """
    target = resolve_target(target)
    prop = prop or PROPERTIES["stateful"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe = target.factory()
        try:
            action_space = probe.action_space
            metadata = dict(getattr(probe, "metadata", {}) or {})
        finally:
            with contextlib.suppress(Exception):
                probe.close()
    if render_mode == "auto":
        render_mode = _working_render_mode(target, metadata)
    references: dict[int, Any] = {}

    def reference_obs(sd: int) -> Any:
        if sd not in references:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                env = target.factory(render_mode=render_mode)
                try:
                    references[sd] = env.reset(seed=sd)[0]
                finally:
                    with contextlib.suppress(Exception):
                        env.close()
        return references[sd]

    class EnvStateMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.script = Script(target, prop.name, prop.contract)
            self.has_reset = False
            self.done = False
            self.closed = False
            self.shapes: dict[str, tuple] = {}
            self.env = self.script.make(render_mode=render_mode)

        @precondition(lambda self: not self.closed)
        @rule(sd=st.none() | SEEDS)
        def reset(self, sd: int | None) -> None:
            s = self.script
            result = s.reset(self.env, sd)
            check_reset_result(s, self.env.observation_space, result, f"reset(seed={sd})")
            self.has_reset, self.done = True, False
            if sd is not None:
                expected = reference_obs(sd)
                if not same(result[0], expected):
                    pre, line = target.make_source("reference", render_mode)
                    s.preamble.extend(p for p in pre if p not in s.preamble)
                    s.helper(_helper_source(same))
                    s.code(
                        line,
                        f"expected, _ = reference.reset(seed={sd})",
                        "assert same(obs, expected), f'{obs!r} != {expected!r}'",
                    )
                    s.fail(
                        f"reset(seed={sd}) returned {short_repr(result[0], 150)}, but a fresh env "
                        f"returns {short_repr(expected, 150)} for that seed"
                    )

        @precondition(lambda self: self.has_reset and not self.done and not self.closed)
        @rule(action=from_space(action_space))
        def step(self, action: Any) -> None:
            s = self.script
            result = s.step(self.env, action)
            check_step_result(s, self.env.observation_space, result, f"step {s.step_count()}")
            self.done = bool(result[2] or result[3])

        @precondition(lambda self: self.has_reset and not self.closed and render_mode is not None)
        @rule()
        def render(self) -> None:
            frame = self.script.render(self.env)
            problem = _frame_problem(str(render_mode), frame, self.shapes)
            if problem:
                self.script.fail(problem)

        @precondition(lambda self: len(self.script.events) >= MIN_CALLS_BEFORE_CLOSE)
        @rule()
        def close(self) -> None:
            self.script.close(self.env)
            self.closed = True

        @invariant()
        def still_open_env_has_spaces(self) -> None:
            if not self.closed and self.env.observation_space is None:
                self.script.fail("observation_space became None")

        def teardown(self) -> None:
            with contextlib.suppress(Exception):
                self.env.close()

    EnvStateMachine.__name__ = EnvStateMachine.__qualname__ = "EnvStateMachine_" + "".join(
        c if c.isalnum() else "_" for c in target.name
    )
    return EnvStateMachine


def run_state_machine(ctx: Context, prop: Property) -> Violation | None:
    """Run the state machine for ``ctx``; past the property's deadline (the runner's
    :class:`Clock`), no new run of the machine starts, as in :func:`search`."""
    settings: Settings = ctx.settings
    base = make_state_machine(ctx.target, prop=prop)
    clock = CLOCK.get()
    total = settings.examples
    ran, failing = [0], [False]
    if clock is not None:
        clock.planned += total

    class TimedMachine(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            if clock is not None and not failing[0]:
                if ran[0] and clock.past():
                    clock.skipped += max(total - ran[0], 1)
                    raise OutOfTime  # before the machine draws anything
                ran[0] += 1
                clock.run += 1
                if clock.tick is not None:
                    clock.tick(clock.run, clock.planned)
            super().__init__()

        def teardown(self) -> None:
            # teardown runs in Hypothesis' `finally`: a Violation on its way out is the failure,
            # and shrinking it is never stopped for time
            if isinstance(sys.exc_info()[1], Violation):
                failing[0] = True
            super().teardown()

    TimedMachine.__name__ = TimedMachine.__qualname__ = base.__name__
    machine = hyp_seed(settings.seed)(TimedMachine)
    hs = hypothesis_settings(settings, stateful_step_count=settings.stateful_steps)
    with _shrink_budget(settings.shrink_seconds):
        try:
            run_state_machine_as_test(machine, settings=hs)
        except OutOfTime:
            return None  # the runs that happened found nothing
        except Violation as violation:
            return violation
        except Flaky as exc:
            violation = _first_violation(exc)
            if violation is None:
                raise
            violation.message += " (flaky: did not fail again when replayed)"
            return violation
    return None
