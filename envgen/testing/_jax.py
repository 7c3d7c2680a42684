"""The JAX backend against the reference env: same draws in, same trajectory out.

`replay_problem` runs the generated single env (the reference) with a recording generator,
and the spec's JAX functions eagerly on the same start and actions, feeding each JAX draw
the value the reference drew (`envgen.jax._runtime.Replay`). Deterministic and stochastic
specs are checked alike: observations, rewards, flags, state and the draws consumed must
agree at every step, across resets. `ks_statistic` is a two-sample Kolmogorov-Smirnov
statistic (for the distribution tests of the real `jax.random` draws).

The `jax_agreement` property runs it in `envgen fuzz` for envs that have a JAX module (it
is skipped where JAX is not installed). JAX is imported only when it runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from ._properties import FAIL, PASS, SKIP, Context, Outcome, Property, _property


class RecordingGenerator:
    """A NumPy Generator that keeps every value it hands out (in call order)."""

    def __init__(self, generator: np.random.Generator) -> None:
        self._generator = generator
        self.values: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._generator, name)
        if not callable(attr):
            return attr

        def recorded(*args: Any, **kwargs: Any) -> Any:
            value = attr(*args, **kwargs)
            self.values.append(value)
            return value

        return recorded

    def take(self) -> list[Any]:
        values, self.values = self.values, []
        return values


def jax_module(env_id: str) -> tuple[Any, dict[str, Any]] | str:
    """The generated JAX module of a registered envgen env and the env's kwargs (its
    registration's, and a variant's defaults), or why there is none (in words)."""
    from envgen.jax._registry import JAX_ENTRY_POINT, JAX_ID_KWARGS, find

    bare = env_id.split(":", 1)[-1]
    try:
        spec = gym.spec(bare)
    except gym.error.Error:
        return f"{bare!r} is not a registered env"
    try:
        entry = find(env_id)
    except ValueError as exc:
        return f"not an envgen env with a JAX module ({exc})"
    if entry.module is None:
        return f"the spec has no JAX module: {entry.fallback}"
    kwargs = dict(spec.kwargs or {})
    if spec.entry_point == JAX_ENTRY_POINT:  # a `-jax` id: the rest of its kwargs are params
        kwargs = {k: v for k, v in kwargs.items() if k not in JAX_ID_KWARGS}
    return importlib.import_module(entry.module), {**entry.kwargs, **kwargs}


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        # float32 values (float32 state, observations) may differ in their last bits where
        # XLA's float32 math rounds differently from NumPy's
        low = min((np.finfo(x.dtype).eps for x in (a, b) if x.dtype.kind in "fc"), default=0.0)
        rtol = max(rtol, 8 * float(low))
        # NaN where both have NaN is agreement: IEEE's answer in every backend (docs/spec.md)
        return bool(
            np.allclose(
                a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True
            )
        )
    return bool(np.array_equal(a, b))


def _tree_close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    if isinstance(a, dict):
        return set(a) == set(b) and all(_tree_close(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (tuple, list)) and not isinstance(a, np.ndarray):
        return len(a) == len(b) and all(
            _tree_close(x, y, rtol, atol) for x, y in zip(a, b, strict=True)
        )
    return _close(a, b, rtol, atol)


def replay_problem(
    module: Any,
    overrides: dict[str, Any],
    seed: int,
    steps: int,
    policy: Callable[[int], Any] | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-9,
) -> str | None:
    """The first disagreement between the reference env and the JAX functions fed its draws
    (None when they agree for `steps` steps from `reset(seed)`), run under JAX's x64 mode."""
    import jax
    import jax.numpy as jnp

    from envgen.jax._runtime import Replay

    with jax.enable_x64(True):
        ref = module.SingleEnv(**overrides)
        static = module.SingleEnv(**overrides)
        params = module.default_params(static)
        recorder = RecordingGenerator(np.random.default_rng(seed))
        ref.reset(seed=seed)
        ref._np_random = recorder  # noqa: SLF001 - the generator Gymnasium's Env keeps
        ref.action_space.seed(seed)
        limit = ref.max_episode_steps

        def start(where: str) -> tuple[Any, str | None]:
            obs, _ = ref.reset()
            replay = Replay(recorder.take())
            state = module.reset(replay, params, static)
            if replay.taken != len(replay.values):
                return state, f"{where}: JAX drew {replay.taken} of {len(replay.values)} values"
            got = module.observe(state, params, static)
            if not _tree_close(obs, jax.tree.map(np.asarray, got), rtol, atol):
                return state, f"{where}: observation {obs!r} != JAX {got!r}"
            return state, _state_problem(state, where)

        def _state_problem(state: Any, where: str) -> str | None:
            for name in module.State.__dataclass_fields__:
                if name == "elapsed_steps":
                    continue
                want, got = getattr(ref, name), getattr(state, name)
                if not _close(want, got, rtol, atol):
                    return f"{where}: state {name} {want!r} != JAX {got!r}"
            return None

        state, problem = start(f"reset(seed={seed})")
        if problem:
            return problem
        for t in range(1, steps + 1):
            action = policy(t) if policy is not None else ref.action_space.sample()
            obs, reward, terminated, truncated, _ = ref.step(action)
            replay = Replay(recorder.take())
            state, j_reward, j_terminated, _ = module.step(
                replay, state, jax.tree.map(jnp.asarray, action), params, static
            )
            where = f"seed {seed}, step {t} (action {action!r})"
            if replay.taken != len(replay.values):
                return f"{where}: JAX drew {replay.taken} of {len(replay.values)} values"
            j_obs = jax.tree.map(np.asarray, module.observe(state, params, static))
            if not _tree_close(obs, j_obs, rtol, atol):
                return f"{where}: observation {obs!r} != JAX {j_obs!r}"
            if not math.isclose(float(reward), float(j_reward), rel_tol=rtol, abs_tol=atol):
                return f"{where}: reward {reward!r} != JAX {float(j_reward)!r}"
            if bool(terminated) != bool(j_terminated):
                return f"{where}: terminated {terminated} != JAX {bool(j_terminated)}"
            j_truncated = limit is not None and int(state.elapsed_steps) >= limit
            if bool(truncated) != j_truncated:
                return f"{where}: truncated {truncated} != JAX {j_truncated}"
            problem = _state_problem(state, where)
            if problem:
                return problem
            if terminated or truncated:
                state, problem = start(f"reset() after {where}")
                if problem:
                    return problem
    return None


def ks_statistic(a: Any, b: Any) -> float:
    """The two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b| (NumPy only)."""
    a, b = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def ks_critical(n: int, m: int, alpha: float = 1e-3) -> float:
    """The KS statistic above which equal distributions are rejected at level `alpha`."""
    c = math.sqrt(-0.5 * math.log(alpha / 2))
    return c * math.sqrt((n + m) / (n * m))


@_property(
    "jax_agreement",
    "the env's JAX functions (envgen JAX backend), fed the reference env's draws, give the "
    "same observations, rewards, flags and state at every step (x64, from the same seeds)",
)
def _check_jax_agreement(prop: Property, ctx: Context) -> Outcome:
    env_id = ctx.target.env_id
    if not env_id:
        return Outcome(SKIP, "the target is not a registered env id (no JAX module to find)")
    if importlib.util.find_spec("jax") is None:
        return Outcome(SKIP, "JAX is not installed (pip install -e '.[jax]')")
    found = jax_module(env_id)
    if isinstance(found, str):
        return Outcome(SKIP, found)
    module, kwargs = found
    overrides = {**kwargs, **ctx.target.kwargs}
    steps = ctx.short_steps(100)
    for seed in range(2):
        try:
            problem = replay_problem(module, overrides, seed, steps)
        except Exception as exc:  # the env's JAX functions (or the env) failing: a finding
            lines = str(exc).strip().splitlines()
            problem = f"seed {seed}: raised {type(exc).__name__}: {lines[0] if lines else ''}"
        if problem is not None:
            return Outcome(FAIL, problem, reproduction(prop, ctx, overrides, seed, steps, problem))
    return Outcome(PASS, f"2 seeds x {steps} steps with replayed draws")


def reproduction(
    prop: Property, ctx: Context, overrides: dict[str, Any], seed: int, steps: int, problem: str
) -> str:
    """A runnable script that replays the failing seed and prints the first disagreement
    (None once fixed), as the other properties print the env calls that broke."""
    from ._repro import comment, to_source

    preamble, _ = ctx.target.make_source("env", None)
    lines = [f"# envgen fuzz reproduction: {ctx.target.name}"]
    lines += comment(f"property {prop.name}: {prop.contract}")
    lines += comment(f"violation: {problem}")
    lines += ["import gymnasium as gym", *preamble]
    lines += ["from envgen.testing._jax import jax_module, replay_problem", "", ""]
    lines.append(f"module, _ = jax_module({ctx.target.env_id!r})")
    lines.append(
        f"problem = replay_problem(module, {to_source(overrides)}, seed={seed}, steps={steps})"
    )
    lines.append("print(problem)  # <- the first step where the JAX functions disagree")
    lines.append("assert problem is None, problem")
    return "\n".join(lines) + "\n"
