"""Throughput of envgen's generated envs against Gymnasium's, measured side by side.

    python benchmarks/vector_bench.py           # about 3-4 minutes
    python benchmarks/vector_bench.py --quick   # about 30 seconds

Compiles specs/ into a temporary package (so the numbers are for the current compiler,
not for a possibly stale generated/), then prints a markdown table of env-steps per second
and ratios. Actions are uniformly random (pre-drawn), so episodes end and autoreset as in
training. Each cell is the median of a few repeats (envgen and baseline back to back, in
one process) to damp noise from other processes.

Native vector envs run on one thread (the default) unless a row says `threads=N`; those
rows compare N threads of envgen's kernel with Gymnasium's single-threaded NumPy code, so
read them as what the option buys, not as a like-for-like ratio.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
from gymnasium.envs.classic_control import CartPoleEnv
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import SyncVectorEnv

from envgen.runtime.vector import numba_module

try:
    import numba
except ImportError:  # the hand-written reference needs Numba
    numba = None

ROOT = Path(__file__).resolve().parent.parent
SPECS = {
    "envgen/CartPole-v1": "cartpole",
    "envgen/SimpleTrading-v0": "trading",
    "envgen/ResourceManagement-v0": "resource",
    "envgen/MountainCarContinuous-v0": "mcc",  # two typings of the step (float64, float32)
    "envgen/SimpleVisual-v0": "visual",
}


def build() -> tuple[str, dict[str, tuple[type, type | None]]]:
    """Compile specs/ into a temporary package; return it and {id: (Env, VectorEnv|None)}."""
    from envgen.build import compile_specs, write

    out = Path(tempfile.mkdtemp(prefix="envgen-bench-")) / "bench_envs"
    compiled = compile_specs([ROOT / "specs"], out)
    if compiled.diagnostics:
        raise SystemExit("\n".join(str(d) for d in compiled.diagnostics))
    write(compiled, out)
    sys.path.insert(0, str(out.parent))
    classes: dict[str, tuple[type, type | None]] = {}
    for model in compiled.models:
        single = importlib.import_module(f"bench_envs.{model.module_name}")
        vector = None
        if f"{model.module_name}_vector.py" in compiled.files:
            module = importlib.import_module(f"bench_envs.{model.module_name}_vector")
            vector = getattr(module, f"{model.class_name.removesuffix('Env')}VectorEnv")
        classes[model.spec.id] = (getattr(single, model.class_name), vector)
    return "bench_envs", classes


# --- the physical reference: CartPole written by hand in Numba --------------------------
# One float64 array per state variable, cos/sin in a pass of their own, autoresets (NEXT_STEP,
# Numba's own RNG), fresh output arrays each call: what a careful person would write for
# this one env, with none of envgen's generality (params, exact streams, info, checks).


def _hand_kernel(actions, resetting, x, x_dot, theta, theta_dot, elapsed, obs, rew, term, trunc):
    n = len(actions)
    cos = np.empty(n)
    sin = np.empty(n)
    for i in range(n):
        cos[i] = math.cos(theta[i])
        sin[i] = math.sin(theta[i])
    for i in range(n):
        if resetting[i]:
            x[i] = np.random.uniform(-0.05, 0.05)
            x_dot[i] = np.random.uniform(-0.05, 0.05)
            theta[i] = np.random.uniform(-0.05, 0.05)
            theta_dot[i] = np.random.uniform(-0.05, 0.05)
            elapsed[i] = 0
            rew[i] = 0.0
            term[i] = False
            trunc[i] = False
        else:
            force = 10.0 if actions[i] == 1 else -10.0
            temp = (force + 0.05 * theta_dot[i] * theta_dot[i] * sin[i]) / 1.1
            thetaacc = (9.8 * sin[i] - cos[i] * temp) / (
                0.5 * (4.0 / 3.0 - 0.1 * cos[i] * cos[i] / 1.1)
            )
            xacc = temp - 0.05 * thetaacc * cos[i] / 1.1
            x[i] += 0.02 * x_dot[i]
            x_dot[i] += 0.02 * xacc
            theta[i] += 0.02 * theta_dot[i]
            theta_dot[i] += 0.02 * thetaacc
            elapsed[i] += 1
            bound = 12 * 2 * math.pi / 360
            term[i] = x[i] < -2.4 or x[i] > 2.4 or theta[i] < -bound or theta[i] > bound
            trunc[i] = elapsed[i] >= 500
            rew[i] = 1.0
        obs[i, 0] = x[i]
        obs[i, 1] = x_dot[i]
        obs[i, 2] = theta[i]
        obs[i, 3] = theta_dot[i]


if numba is not None:
    _hand_kernel = numba.njit(cache=True, error_model="numpy", nogil=True)(_hand_kernel)


class HandCartPole:
    """The hand-written loop behind a VectorEnv-like `reset`/`step` (no checks, no info)."""

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.state = [np.zeros(num_envs) for _ in range(4)]
        self.elapsed = np.zeros(num_envs, dtype=np.int64)
        self.resetting = np.ones(num_envs, dtype=np.bool_)
        self.action_space = __import__("gymnasium").spaces.MultiDiscrete([2] * num_envs)

    def reset(self, seed: int | None = None):
        self.resetting = np.ones(self.num_envs, dtype=np.bool_)
        return self.step(np.zeros(self.num_envs, dtype=np.int64))[0], {}

    def step(self, actions):
        n = self.num_envs
        obs = np.empty((n, 4), dtype=np.float32)
        rew = np.empty(n)
        term = np.empty(n, dtype=np.bool_)
        trunc = np.empty(n, dtype=np.bool_)
        _hand_kernel(actions, self.resetting, *self.state, self.elapsed, obs, rew, term, trunc)
        self.resetting = term | trunc
        return obs, rew, term, trunc, {}

    def close(self) -> None:
        pass


def memory_per_env(make: Callable[[int], object], n: int = 16384) -> float:
    """Bytes per env that a vector env of `n` envs holds after a reset and 20 steps (traced
    allocations: NumPy arrays, Python objects; not Numba's own allocations)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    env = make(n)
    env.reset(seed=0)  # type: ignore[attr-defined]
    actions = env.action_space.sample()  # type: ignore[attr-defined]
    for _ in range(20):
        env.step(actions)  # type: ignore[attr-defined]
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    env.close()  # type: ignore[attr-defined]
    return held / n


def rate_single(make: Callable[[], object], steps: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        env = make()
        env.reset(seed=0)  # type: ignore[attr-defined]
        actions = np.random.default_rng(0).integers(0, 2, size=steps).tolist()
        step, reset = env.step, env.reset  # type: ignore[attr-defined]
        start = CLOCK[0]()
        for action in actions:
            _, _, terminated, truncated, _ = step(action)
            if terminated or truncated:
                reset()
        rates.append(steps / (CLOCK[0]() - start))
    return float(np.median(rates))


def rate_vector(
    make: Callable[[], object],
    n: int,
    steps: int,
    repeats: int,
    clock: Callable[[], float] | None = None,
) -> float:
    clock = clock or CLOCK[0]
    rates = []
    for _ in range(repeats):
        env = make()
        env.reset(seed=0)  # type: ignore[attr-defined]
        space = env.action_space  # type: ignore[attr-defined]
        space.seed(0)
        actions = [space.sample() for _ in range(min(steps, 64))]
        step = env.step  # type: ignore[attr-defined]
        step(actions[0])  # one-time work after reset(seed=...), e.g. envgen's generator list
        start = clock()
        for t in range(steps):
            step(actions[t % len(actions)])
        rates.append(n * steps / (clock() - start))
        env.close()  # type: ignore[attr-defined]
    return float(np.median(rates))


#: The clock rates are measured with: wall time, or with `--cpu-time` the CPU time of the
#: stepping thread (`time.thread_time`), which other processes' load does not inflate.
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def interleaved(
    contenders: dict[str, Callable[[], object]],
    n: int,
    steps: int,
    repeats: int,
    clock: Callable[[], float] | None = None,
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Rates of several vector envs measured in rounds (each contender once per round, in
    turn), so that a change of load hits all of them alike: median rate of each, and each
    round's rates (for ratios taken within a round)."""
    rounds: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, make in contenders.items():
            rounds[name].append(rate_vector(make, n, steps, 1, clock))
    return {name: float(np.median(r)) for name, r in rounds.items()}, rounds


def ratio(rounds: dict[str, list[float]], ours: str, theirs: str) -> float:
    """The median over rounds of ours / theirs (both measured in the same round)."""
    return float(np.median([a / b for a, b in zip(rounds[ours], rounds[theirs], strict=True)]))


def fmt(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:.2f}M"
    return f"{rate / 1e3:.0f}k"


def machine() -> str:
    """CPU model, cores and Numba's threading layer, for the table's caption."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (
        f"{model}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, NumPy {np.__version__}"
        + (f", Numba {numba.__version__}" if numba is not None else "")
    )


def load() -> float:
    import os

    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (about 30 s)")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="rates from the stepping thread's CPU time, not wall time (a loaded machine);"
        " threads=N rows stay on wall time",
    )
    args = parser.parse_args()
    quick = args.quick
    if args.cpu_time:
        CLOCK[0] = time.thread_time
    repeats = 3 if quick else 7
    budget = 0.25e6 if quick else 1.0e6  # env-steps per vector measurement
    sync_budget = 0.02e6 if quick else 0.1e6
    load_before = load()
    started = time.perf_counter()

    _, classes = build()
    rows = []

    # single env: generated vs Gymnasium's CartPoleEnv (unwrapped).
    single, _ = classes["envgen/CartPole-v1"]
    steps = 20_000 if quick else 100_000
    ours = rate_single(single, steps, repeats)
    theirs = rate_single(CartPoleEnv, steps, repeats)
    rows.append(
        ("CartPole single env", "1", fmt(ours), "CartPoleEnv", fmt(theirs), f"{ours / theirs:.2f}x")
    )

    sizes = [1, 64, 1024, 16384]
    jit = numba_module()  # None where Numba is missing or ENVGEN_JIT=0
    threads = min(2, jit.config.NUMBA_NUM_THREADS) if jit is not None else 1
    for env_id, short in SPECS.items():
        if env_id not in classes:
            rows.append((env_id, "-", "spec missing", "", "", ""))
            continue
        single, vector = classes[env_id]
        if vector is None:
            rows.append((env_id, "-", "not vectorized", "", "", ""))
            continue
        alone = None
        if short == "visual":  # 64x64 RGB frames: the single env stepping alone as well
            alone = rate_single(single, 2_000 if quick else 10_000, repeats)
        for n in sizes if short != "visual" else [64, 1024]:
            steps = max(20, min(2000, int(budget / n)))
            contenders: dict[str, Callable[[], object]] = {
                "ours": lambda n=n, v=vector: v(num_envs=n)
            }
            if short in ("resource", "mcc") and jit is not None and n >= 1024:
                # the kernel against its own NumPy code (issue 17: it was once measured slower)
                contenders["numpy"] = lambda n=n, v=vector: v(num_envs=n, backend="numpy")
            if short == "cartpole":
                contenders["gym"] = lambda n=n: CartPoleVectorEnv(num_envs=n)
                if jit is not None:
                    contenders["hand"] = lambda n=n: HandCartPole(n)
            rates, rounds = interleaved(contenders, n, steps, repeats)
            if short == "cartpole" and threads > 1 and n >= 64:
                # on wall time: the other threads' work is part of the step
                pair = {
                    "one": lambda n=n, v=vector: v(num_envs=n),
                    "threads": lambda n=n, v=vector: v(num_envs=n, threads=threads),
                }
                walls, wall_rounds = interleaved(pair, n, steps, repeats, time.perf_counter)
                rates["threads"], rates["one"] = walls["threads"], walls["one"]
                rounds["threads"], rounds["one"] = wall_rounds["threads"], wall_rounds["one"]
            ours = rates["ours"]
            name = f"{env_id} vector"
            if "gym" in rates:
                rows.append(
                    (
                        name,
                        str(n),
                        fmt(ours),
                        "CartPoleVectorEnv",
                        fmt(rates["gym"]),
                        f"{ratio(rounds, 'ours', 'gym'):.2f}x",
                    )
                )
            if "hand" in rates:
                rows.append(
                    (
                        name,
                        str(n),
                        fmt(ours),
                        "hand-written Numba loop",
                        fmt(rates["hand"]),
                        f"{ratio(rounds, 'ours', 'hand'):.2f}x",
                    )
                )
            if "numpy" in rates:
                rows.append(
                    (
                        name,
                        str(n),
                        fmt(ours),
                        "the same, backend='numpy'",
                        fmt(rates["numpy"]),
                        f"{ratio(rounds, 'ours', 'numpy'):.2f}x",
                    )
                )
            if "threads" in rates:
                rows.append(
                    (
                        f"{name}, threads={threads} (wall time)",
                        str(n),
                        fmt(rates["threads"]),
                        "the same, one thread",
                        fmt(rates["one"]),
                        f"{ratio(rounds, 'threads', 'one'):.2f}x",
                    )
                )
            if alone is not None:
                rows.append(
                    (
                        name,
                        str(n),
                        fmt(ours),
                        "its single env, alone",
                        fmt(alone),
                        f"{ours / alone:.1f}x",
                    )
                )
            sync_steps = max(3, min(2000, int(sync_budget / n)))
            if short == "cartpole":
                # The reference: Gymnasium's own CartPoleEnv copies in SyncVectorEnv.
                gym_sync = rate_vector(
                    lambda n=n: SyncVectorEnv([CartPoleEnv for _ in range(n)]), n, sync_steps, 1
                )
                rows.append(
                    (
                        name,
                        str(n),
                        fmt(ours),
                        "SyncVectorEnv(CartPoleEnv)",
                        fmt(gym_sync),
                        f"{ours / gym_sync:.1f}x",
                    )
                )
            sync = rate_vector(
                lambda n=n, s=single: SyncVectorEnv([s for _ in range(n)]), n, sync_steps, 1
            )
            rows.append(
                (
                    name,
                    str(n),
                    fmt(ours),
                    "SyncVectorEnv(envgen single)",
                    fmt(sync),
                    f"{ours / sync:.1f}x",
                )
            )

    header = (
        "benchmark",
        "num_envs",
        "envgen (env-steps/s)",
        "baseline",
        "baseline (env-steps/s)",
        "ratio",
    )
    clock = "the stepping thread's CPU time" if args.cpu_time else "wall time"
    print(
        f"Machine: {machine()}. Load average (1 min) {load_before:.1f} before, {load():.1f} after;"
        f" rates from {clock};"
        f" {time.perf_counter() - started:.0f} s. Vector rows: median of {repeats} rounds,"
        " contenders interleaved within each round; ratios are medians of per-round ratios."
    )
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    # memory: bytes per env held by a vector env of 16384 CartPoles
    n = 16384 if not quick else 4096
    cartpole = classes["envgen/CartPole-v1"][1]
    mems = [("envgen/CartPole-v1 vector", lambda n: cartpole(num_envs=n))]
    mems.append(("Gymnasium CartPoleVectorEnv", lambda n: CartPoleVectorEnv(num_envs=n)))
    if jit is not None:
        mems.append(("hand-written Numba loop", HandCartPole))
    print(f"| memory per env ({n} CartPoles, traced) | bytes per env |")
    print("|---|---|")
    for label, make in mems:
        print(f"| {label} | {memory_per_env(make, n):.0f} |")
    print()
    # every spec with a native vector env (issue 17: each should step with the kernel)
    for env_id, (_, vector) in sorted(classes.items()):
        if vector is not None:
            env = vector(num_envs=1)
            note = f" ({env.backend_note})" if env.backend_note else ""
            print(f"- {env_id}: native vector env steps with {env.backend}{note}")


if __name__ == "__main__":
    main()
