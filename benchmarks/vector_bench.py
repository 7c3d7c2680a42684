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
import importlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from gymnasium.envs.classic_control import CartPoleEnv
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import SyncVectorEnv

from envgen.runtime.vector import numba_module

ROOT = Path(__file__).resolve().parent.parent
SPECS = {
    "envgen/CartPole-v1": "cartpole",
    "envgen/SimpleTrading-v0": "trading",
    "envgen/ResourceManagement-v0": "resource",
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


def rate_single(make: Callable[[], object], steps: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        env = make()
        env.reset(seed=0)  # type: ignore[attr-defined]
        actions = np.random.default_rng(0).integers(0, 2, size=steps).tolist()
        step, reset = env.step, env.reset  # type: ignore[attr-defined]
        start = time.perf_counter()
        for action in actions:
            _, _, terminated, truncated, _ = step(action)
            if terminated or truncated:
                reset()
        rates.append(steps / (time.perf_counter() - start))
    return float(np.median(rates))


def rate_vector(make: Callable[[], object], n: int, steps: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        env = make()
        env.reset(seed=0)  # type: ignore[attr-defined]
        space = env.action_space  # type: ignore[attr-defined]
        space.seed(0)
        actions = [space.sample() for _ in range(min(steps, 64))]
        step = env.step  # type: ignore[attr-defined]
        step(actions[0])  # one-time work after reset(seed=...), e.g. envgen's generator list
        start = time.perf_counter()
        for t in range(steps):
            step(actions[t % len(actions)])
        rates.append(n * steps / (time.perf_counter() - start))
        env.close()  # type: ignore[attr-defined]
    return float(np.median(rates))


def fmt(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:.2f}M"
    return f"{rate / 1e3:.0f}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (about 20 s)")
    args = parser.parse_args()
    quick = args.quick
    repeats = 3 if quick else 5
    budget = 0.25e6 if quick else 2.0e6  # env-steps per vector measurement
    sync_budget = 0.02e6 if quick else 0.1e6

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
    numba = numba_module()  # None where Numba is missing or ENVGEN_JIT=0
    threads = min(2, numba.config.NUMBA_NUM_THREADS) if numba is not None else 1
    for env_id, short in SPECS.items():
        if env_id not in classes:
            rows.append((env_id, "-", "spec missing", "", "", ""))
            continue
        single, vector = classes[env_id]
        if vector is None:
            rows.append((env_id, "-", "not vectorized", "", "", ""))
            continue
        for n in sizes:
            steps = max(20, min(2000, int(budget / n)))
            ours = rate_vector(lambda n=n, v=vector: v(num_envs=n), n, steps, repeats)
            if short == "cartpole":
                theirs = rate_vector(lambda n=n: CartPoleVectorEnv(num_envs=n), n, steps, repeats)
                rows.append(
                    (
                        f"{env_id} vector",
                        str(n),
                        fmt(ours),
                        "CartPoleVectorEnv",
                        fmt(theirs),
                        f"{ours / theirs:.2f}x",
                    )
                )
                if n >= 1024 and threads > 1:
                    threaded = rate_vector(
                        lambda n=n, v=vector: v(num_envs=n, threads=threads), n, steps, repeats
                    )
                    rows.append(
                        (
                            f"{env_id} vector, threads={threads}",
                            str(n),
                            fmt(threaded),
                            "CartPoleVectorEnv (one thread)",
                            fmt(theirs),
                            f"{threaded / theirs:.2f}x",
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
                        f"{env_id} vector",
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
                    f"{env_id} vector",
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
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for env_id in SPECS:
        vector = classes.get(env_id, (None, None))[1]
        if vector is not None:
            env = vector(num_envs=1)
            note = f" ({env.backend_note})" if env.backend_note else ""
            print(f"{env_id}: native vector env steps with {env.backend}{note}")


if __name__ == "__main__":
    main()
