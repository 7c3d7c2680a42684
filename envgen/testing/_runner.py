"""Running the property suite over targets and collecting a report."""

from __future__ import annotations

import contextlib
import difflib
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from ._properties import ERROR, FAIL, PASS, PROPERTIES, SKIP, WARN, Context, Outcome, Settings
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


def time_limit_of(target: Target, env: Any) -> int | None:
    """The env's time limit: given explicitly, from its registration (``env.spec``), or an int
    ``max_episode_steps`` attribute of a hand-written env that truncates episodes itself."""
    if target.max_episode_steps is not None:
        return target.max_episode_steps
    limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
    if limit is None:
        limit = getattr(getattr(env, "unwrapped", env), "max_episode_steps", None)
    if isinstance(limit, (int, np.integer)) and not isinstance(limit, bool) and limit > 0:
        return int(limit)
    return None


def prepare(target: Target, settings: Settings) -> Context:
    """Probe the env once for its spaces and metadata. Raises Violation if it cannot be made."""
    s = Script(target, "make", "the env can be created")
    env = s.make()
    try:
        return Context(
            target=target,
            settings=settings,
            observation_space=env.observation_space,
            action_space=env.action_space,
            metadata=dict(getattr(env, "metadata", {}) or {}),
            max_episode_steps=time_limit_of(target, env),
        )
    finally:
        with contextlib.suppress(Exception):
            env.close()


def run_property(name: str, ctx: Context) -> PropertyResult:
    prop = PROPERTIES[name]
    start = time.perf_counter()
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
    return PropertyResult(
        target=ctx.target.name,
        property=name,
        status=outcome.status,
        message=outcome.message,
        reproduction=outcome.reproduction,
        detail=outcome.detail,
        seconds=time.perf_counter() - start,
    )


def fuzz(
    targets: Any | Sequence[Any],
    *,
    properties: Iterable[str] | None = None,
    settings: Settings | None = None,
    progress: Callable[[PropertyResult], None] | None = None,
    on_start: Callable[[str, str], None] | None = None,
    **overrides: Any,
) -> Report:
    """Run the conformance properties against one target or a list of targets.

    ``targets``: env ids, ``module:Class`` / ``file.py:Class`` strings, spec paths, env classes
    or factories (see ``resolve_target``). ``properties``: names to run (default: all).
    Keyword ``overrides`` set fields of :class:`Settings` (``examples``, ``max_steps``, ``seed``,
    ``strict``...). Returns a :class:`Report`; nothing is raised for a failing env.
    """
    settings = make_settings(settings, **overrides)
    names = check_property_names(properties)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, (list, tuple)):
        targets = [targets]
    resolved: list[Target] = []
    for t in targets:
        resolved.extend(resolve_targets(t))
    report = Report(settings)
    with warnings.catch_warnings():
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
            for name in names:
                if on_start:
                    on_start(target.name, name)
                result = run_property(name, ctx)
                report.results.append(result)
                if progress:
                    progress(result)
    return report


__all__ += ["TargetError"]
