"""Running the property suite over targets and collecting a report."""

from __future__ import annotations

import contextlib
import difflib
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._properties import (
    CLOCK,
    ERROR,
    FAIL,
    PASS,
    PROPERTIES,
    SKIP,
    WARN,
    Clock,
    Context,
    Outcome,
    Settings,
)
from ._repro import Script, Violation
from ._targets import Target, TargetError, resolve_targets

__all__ = [
    "PropertyResult",
    "Report",
    "UnknownPropertyError",
    "fuzz",
    "make_settings",
    "check_property_names",
    "prepare",
]


class UnknownPropertyError(ValueError):
    """A property name that does not exist (a usage error, with a suggestion)."""


@dataclass
class PropertyResult:
    target: str
    property: str
    status: str
    message: str = ""
    reproduction: str | None = None
    detail: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in (FAIL, ERROR)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    settings: Settings
    results: list[PropertyResult] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # per target: budget cuts...

    @property
    def ok(self) -> bool:
        """True when no contract failed (warnings and skips are fine)."""
        return not any(r.failed for r in self.results)

    @property
    def failures(self) -> list[PropertyResult]:
        return [r for r in self.results if r.failed]

    @property
    def warnings(self) -> list[PropertyResult]:
        return [r for r in self.results if r.status == WARN]

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(r.target for r in self.results))

    def result(self, prop: str, target: str | None = None) -> PropertyResult:
        for r in self.results:
            if r.property == prop and (target is None or r.target == target):
                return r
        raise KeyError(prop)

    def status(self, prop: str, target: str | None = None) -> str:
        return self.result(prop, target).status

    def to_dict(self) -> dict[str, Any]:
        counts = {s: 0 for s in (PASS, FAIL, WARN, SKIP, ERROR)}
        for r in self.results:
            counts[r.status] += 1
        return {
            "ok": self.ok,
            "settings": asdict(self.settings),
            "targets": self.targets,
            "summary": counts,
            "notes": self.notes,
            "results": [r.to_dict() for r in self.results],
        }


def make_settings(settings: Settings | None = None, **overrides: Any) -> Settings:
    names = {f.name for f in fields(Settings)}
    unknown = set(overrides) - names
    if unknown:
        raise TypeError(f"unknown fuzz settings: {', '.join(sorted(unknown))}")
    return replace(settings or Settings(), **overrides)


def check_property_names(names: Iterable[str] | None) -> list[str]:
    if names is None:
        return list(PROPERTIES)
    chosen = []
    for name in names:
        if name not in PROPERTIES:
            close = difflib.get_close_matches(name, PROPERTIES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UnknownPropertyError(
                f"unknown property {name!r}{hint} (properties: {', '.join(PROPERTIES)})"
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


# attributes under which envs keep their own time limit (MiniGrid: max_steps; Metaworld:
# max_path_length), read from env.unwrapped when the registration declares none
LIMIT_ATTRIBUTES = ("max_episode_steps", "max_steps", "max_path_length")


def _positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def find_time_limit(target: Target, env: Any) -> tuple[int | None, str, list[str]]:
    """The env's time limit, where it was found, and notes on attributes that could not be used.

    In order: given explicitly (``resolve_target(..., max_episode_steps=T)``), the
    registration (``env.spec.max_episode_steps``), then an ``env.unwrapped`` attribute named
    ``max_episode_steps``, ``max_steps`` or ``max_path_length`` (a positive int).
    """
    if target.max_episode_steps is not None:
        return target.max_episode_steps, "max_episode_steps", []
    limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
    if _positive_int(limit):
        return int(limit), "max_episode_steps", []
    inner = getattr(env, "unwrapped", env)
    notes = []
    for attr in LIMIT_ATTRIBUTES:
        try:
            value = getattr(inner, attr, None)
        except Exception as exc:  # a property that raises
            notes.append(f"reading env.unwrapped.{attr} raised {type(exc).__name__}")
            continue
        if value is None:
            continue
        if _positive_int(value):
            return int(value), f"env.unwrapped.{attr}", notes
        notes.append(f"env.unwrapped.{attr} = {value!r} is not a positive int: not checked")
    return None, "max_episode_steps", notes


def time_limit_of(target: Target, env: Any) -> int | None:
    """The env's time limit (see :func:`find_time_limit`), or None."""
    return find_time_limit(target, env)[0]


def declared_deterministic(settings: Settings, env: Any) -> str | None:
    """Who declared the env deterministic (the seed does not matter): ``--deterministic``, or
    ``env.unwrapped.metadata["deterministic"] is True``; None when nobody did."""
    if settings.deterministic:
        return "--deterministic"
    inner = getattr(env, "unwrapped", env)
    metadata = getattr(inner, "metadata", None)
    if isinstance(metadata, dict) and metadata.get("deterministic") is True:
        return "metadata['deterministic'] is True"
    return None


def wrapper_attr(env: Any, name: str) -> Any:
    """``env.get_wrapper_attr(name)`` (Gymnasium 1.x wrappers forward nothing else), or None."""
    try:
        getter = getattr(env, "get_wrapper_attr", None)
        if getter is not None:
            return getter(name)
        return getattr(env, name, None)
    except Exception:  # AttributeError, or a property that raises
        return None


PROBE_STEPS, PROBE_SECONDS = 30, 1.0


def measure_step(env: Any, space: Any) -> tuple[float, float]:
    """Seconds per step (the resets that episodes need included) over a short run of sampled
    actions (at least one step), and seconds of the first ``reset(seed=0)``."""
    import copy

    space = copy.deepcopy(space)
    space.seed(0)
    start = time.perf_counter()
    env.reset(seed=0)
    first = time.perf_counter()
    steps = 0
    while steps < 1 or (steps < PROBE_STEPS and time.perf_counter() - first < PROBE_SECONDS):
        result = env.step(space.sample())
        steps += 1
        if _ended_any(result):
            env.reset()
    return (time.perf_counter() - first) / steps, first - start


def _ended_any(result: Any) -> bool:
    terminated, truncated = result[2], result[3]
    return bool(np.any(terminated) or np.any(truncated))


def prepare(target: Target, settings: Settings) -> Context:
    """Probe the env once for its spaces, metadata, time limit and step cost.

    Raises Violation if it cannot be made.
    """
    import gymnasium as gym

    s = Script(target, "make", "the env can be created")
    start = time.perf_counter()
    env = s.make()
    make_seconds = time.perf_counter() - start
    try:
        vector = isinstance(env, gym.vector.VectorEnv)
        limit, name, notes = None, "max_episode_steps", []
        if not vector:
            limit, name, notes = find_time_limit(target, env)
        step_seconds = reset_seconds = 0.0
        if settings.budget:
            with contextlib.suppress(Exception):  # the properties will show what breaks
                step_seconds, reset_seconds = measure_step(env, env.action_space)
            # the first make may pay one-off costs (imports, JIT compilation: seconds for a
            # Numba vector env): a second one says what each example pays
            with contextlib.suppress(Exception):
                start = time.perf_counter()
                again = target.factory()
                try:
                    again.reset(seed=0)
                    seconds = time.perf_counter() - start
                    make_seconds, reset_seconds = min(make_seconds + reset_seconds, seconds), 0.0
                finally:
                    again.close()
        return Context(
            target=target,
            settings=settings,
            observation_space=env.observation_space,
            action_space=env.action_space,
            metadata=dict(getattr(env, "metadata", {}) or {}),
            max_episode_steps=limit,
            notes=notes,
            limit_name=name,
            vector=vector,
            step_seconds=step_seconds,
            make_seconds=make_seconds + reset_seconds,  # each example makes and resets
            single_action_space=getattr(env, "single_action_space", None) if vector else None,
            num_envs=int(getattr(env, "num_envs", 1)) if vector else 1,
            deterministic=declared_deterministic(settings, env),
            has_action_masks=callable(wrapper_attr(env, "action_masks")),
        )
    finally:
        with contextlib.suppress(Exception):
            env.close()


def run_property(
    name: str,
    ctx: Context,
    deadline: float | None = None,
    tick: Callable[[int, int], None] | None = None,
) -> PropertyResult:
    prop = PROPERTIES[name]
    start = time.perf_counter()
    clock = Clock(deadline=deadline, tick=tick)
    token = CLOCK.set(clock)
    try:
        outcome = prop(ctx)
    except Violation as violation:  # raised outside a search (e.g. while probing)
        outcome = Outcome(FAIL, violation.message, violation.reproduction, violation.detail)
    except Exception as exc:
        outcome = Outcome(
            ERROR,
            f"envgen fuzz crashed: {type(exc).__name__}: {exc}",
            detail="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )
    finally:
        CLOCK.reset(token)
    if clock.skipped and clock.run < clock.planned and outcome.status in (PASS, WARN):
        outcome.message = (outcome.message + "; " if outcome.message else "") + (
            f"budget: stopped after {clock.run} of {clock.planned} examples"
        )
    return PropertyResult(
        target=ctx.target.name,
        property=name,
        status=outcome.status,
        message=outcome.message,
        reproduction=outcome.reproduction,
        detail=outcome.detail,
        seconds=time.perf_counter() - start,
    )


def _cache_dir() -> Path:
    """Where Hypothesis may keep its files while envgen fuzzes: a user cache folder."""
    import os
    import tempfile

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for folder in (Path(base) / "envgen" / "hypothesis", Path(tempfile.gettempdir()) / "envgen"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix="envgen-hypothesis-"))


@contextlib.contextmanager
def hypothesis_home() -> Iterator[None]:
    """Keep Hypothesis' files (its constants cache, written even with ``database=None``) out of
    the user's working folder: in a cache folder while fuzzing, restored after. A folder the
    user chose (``HYPOTHESIS_STORAGE_DIRECTORY``, or one set already) is left alone."""
    import os

    from hypothesis import configuration

    current = getattr(configuration, "__hypothesis_home_directory", None)
    if current is not None or os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    configuration.set_hypothesis_home_dir(_cache_dir())
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(None)


def fuzz(
    targets: Any | Sequence[Any],
    *,
    properties: Iterable[str] | None = None,
    settings: Settings | None = None,
    progress: Callable[[PropertyResult], None] | None = None,
    on_start: Callable[[str, str], None] | None = None,
    on_note: Callable[[str, str], None] | None = None,
    on_tick: Callable[[str, str, int, int], None] | None = None,
    **overrides: Any,
) -> Report:
    """Run the conformance properties against one target or a list of targets.

    ``targets``: env ids, ``module:Class`` / ``file.py:Class`` strings, spec paths, env classes
    or factories (see ``resolve_target``). ``properties``: names to run (default: all).
    Keyword ``overrides`` set fields of :class:`Settings` (``examples``, ``max_steps``, ``seed``,
    ``strict``, ``budget``...). Returns a :class:`Report`; nothing is raised for a failing env.

    Callbacks: ``on_start(target, property)`` before a property runs, ``on_tick(target,
    property, example, examples)`` as its examples start, ``progress(result)`` after it,
    ``on_note(target, note)`` for what the time budget cut.
    """
    from ._budget import plan

    settings = make_settings(settings, **overrides)
    names = check_property_names(properties)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, (list, tuple)):
        targets = [targets]
    resolved: list[Target] = []
    for t in targets:
        resolved.extend(resolve_targets(t))
    report = Report(settings)
    with warnings.catch_warnings(), hypothesis_home():
        warnings.simplefilter("ignore")
        for target in resolved:
            try:
                ctx = prepare(target, settings)
            except Violation as violation:
                for name in names:
                    result = PropertyResult(
                        target.name,
                        name,
                        FAIL,
                        violation.message,
                        violation.reproduction,
                        violation.detail,
                    )
                    report.results.append(result)
                    if progress:
                        progress(result)
                continue
            env_start = time.perf_counter()
            budget_plan = plan(ctx, names)
            ctx.settings = budget_plan.settings
            if budget_plan.note:
                report.notes.setdefault(target.name, []).append(budget_plan.note)
                if on_note:
                    on_note(target.name, budget_plan.note)
            for index, name in enumerate(names):
                if on_start:
                    on_start(target.name, name)
                deadline = None
                if settings.budget:
                    now = time.perf_counter()
                    share = budget_plan.shares.get(name, 0.0)
                    # at least an even part of what is left: the estimate counts steps, not
                    # what a property pays per example beyond them (a vector env made per
                    # example), and one property alone may use the whole budget (trial 6 P10:
                    # --property vector stopped after 1 of 10 examples, in 1.5 s of 60)
                    left = env_start + settings.budget - now
                    even = left / (len(names) - index)
                    deadline = min(now + max(2 * share, even, 1.0), env_start + settings.budget)
                tick = None
                if on_tick:

                    def tick(i: int, n: int, t: str = target.name, p: str = name) -> None:
                        on_tick(t, p, i, n)

                result = run_property(name, ctx, deadline, tick)
                report.results.append(result)
                if progress:
                    progress(result)
    return report


__all__ += ["TargetError"]
