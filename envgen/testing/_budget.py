"""A time budget per env: scale examples and episode lengths to the measured step cost."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ._properties import Context, Settings

__all__ = ["Plan", "plan", "estimate"]

# per drawn action: Hypothesis' choices, deep copies, comparisons (measured on CartPole: the
# default suite's ~60k steps take about a second beyond the env's own time)
OVERHEAD_PER_STEP = 20e-6
OVERHEAD_PER_EXAMPLE = 2e-3
# of the budget, the share the plan fills (shrinking a failure, makes and renders need the rest)
FILL = 0.7
MIN_EXAMPLES, MIN_STEPS = 3, 10
# the time_limit property must run whole episodes of T steps: at most this share of the plan
LIMIT_SHARE = 0.25
MAKES_PER_EXAMPLE = 2  # fresh instances per example (determinism, independent_instances: 2)


@dataclass
class Plan:
    settings: Settings
    note: str = ""
    shares: dict[str, float] = field(default_factory=dict)  # seconds per property

    @property
    def cut(self) -> bool:
        return bool(self.note)


def _steps(
    name: str, ctx: Context, examples: int, steps: int, stateful: int, limit_examples: int
) -> float:
    """About how many env steps (a reset counts as one) property ``name`` takes."""
    e, short, limit = examples, min(steps, 100), ctx.max_episode_steps or 0
    n_envs = ctx.settings.num_envs
    vec = max(1, e // 2) * 2 * n_envs * 0.8 * short if ctx.target.has_vector_entry_point else 0
    return {
        "reset": 2 * e,
        "step": 0.8 * e * steps,
        "determinism": 2.4 * e * steps,
        "seeding": 8 + 8 * min(steps, 50),
        "time_limit": min(e, limit_examples) * limit,
        "termination": 0 if ctx.vector or steps < 10 else 8 * (steps + 1),
        "invalid_action": 2 * e,
        "render": 3 * 5 * (1 + min(steps, 10)) * len(ctx.metadata.get("render_modes", []) or []),
        "fresh_arrays": 0.8 * e * short,
        "independent_instances": 1.6 * e * short,
        "pickle": max(1, e // 2) * (0.8 * min(steps, 50) + 3 * min(steps, 20) + 4),
        "close": 15,
        "stateful": e * (stateful + 3),
        "vector": vec,
        "autoreset": 0.8 * e * steps if ctx.vector else 0,
        "sub_envs": 1.6 * e * short if ctx.vector else 0,
    }.get(name, e * steps)


def estimate(
    ctx: Context,
    names: list[str],
    examples: int,
    steps: int,
    stateful: int,
    limit_examples: int | None = None,
) -> dict[str, float]:
    """Estimated seconds per property at these settings."""
    per_step = ctx.step_seconds + OVERHEAD_PER_STEP
    per_example = OVERHEAD_PER_EXAMPLE + MAKES_PER_EXAMPLE * ctx.make_seconds
    tl = examples if limit_examples is None else limit_examples
    return {
        name: _steps(name, ctx, examples, steps, stateful, tl) * per_step + examples * per_example
        for name in names
    }


def plan(ctx: Context, names: list[str]) -> Plan:
    """Settings that fit ``ctx.settings.budget`` seconds, and a note on what was cut."""
    settings = ctx.settings
    examples, steps, stateful = settings.examples, ctx.steps, settings.stateful_steps
    if not settings.budget:
        return Plan(settings, "", estimate(ctx, names, examples, steps, stateful))
    usable = FILL * settings.budget
    per_step = ctx.step_seconds + OVERHEAD_PER_STEP
    tl = examples
    too_long = False  # one whole episode would not fit: time_limit is not checked
    if ctx.max_episode_steps and "time_limit" in names:
        episode = ctx.max_episode_steps * per_step
        fits = int(LIMIT_SHARE * usable / episode)
        tl = max(1, min(examples, fits))
        too_long = episode > 2 * LIMIT_SHARE * usable
    asked = examples  # time_limit examples at default settings (for the note's estimate)
    if too_long:
        tl = 0

    def total(e: int, s: int, t: int | None = None) -> float:
        t = tl if t is None else t
        return sum(estimate(ctx, names, e, s, min(stateful, s), min(t, e)).values())

    e, s = examples, steps
    while e > MIN_EXAMPLES and total(e, s) > usable:
        e -= 1
    while s > MIN_STEPS and total(e, s) > usable:
        s = max(MIN_STEPS, int(s * 0.8))
    while e > 1 and total(e, s) > usable:
        e -= 1
    while s > 1 and total(e, s) > usable:
        s = max(1, int(s * 0.8))
    tl = 0 if too_long else min(tl, e)
    shares = estimate(ctx, names, e, s, min(stateful, s), tl)
    if (e, s, tl) == (examples, steps, examples):
        return Plan(settings, "", shares)
    cuts = []
    if e != examples:
        cuts.append(f"examples {examples} -> {e}")
    if too_long:
        cuts.append(
            f"time_limit not checked (one episode of {ctx.max_episode_steps} steps would take "
            f"about {ctx.max_episode_steps * per_step:.0f}s)"
        )
    elif tl != e:
        cuts.append(f"time_limit examples {tl} (episodes of {ctx.max_episode_steps} steps)")
    if s != steps:
        cuts.append(f"steps per run {steps} -> {s}")
        if ctx.max_episode_steps and s < ctx.max_episode_steps:
            cuts.append(f"runs no longer reach the time limit ({ctx.max_episode_steps})")
    if min(stateful, s) != stateful:
        cuts.append(f"state machine steps {stateful} -> {min(stateful, s)}")
    note = (
        f"budget {settings.budget:g}s at {ctx.step_seconds * 1000:.1f} ms per step (default "
        f"settings would take about {total(examples, steps, asked):.0f}s): {', '.join(cuts)}"
    )
    new = replace(
        settings,
        examples=e,
        max_steps=s if s != steps else settings.max_steps,
        stateful_steps=min(stateful, s),
        limit_examples=tl if tl != e or too_long else settings.limit_examples,
        shrink_seconds=min(settings.shrink_seconds, max(2.0, settings.budget / 6)),
    )
    return Plan(new, note, shares)
