"""envgen's JAX CartPole against gymnax's hand-written CartPole-v1, side by side.

    python benchmarks/jax_bench.py            # 2^10 ... 2^16 envs, a few minutes on CPU
    python benchmarks/jax_bench.py --quick    # 2^10 and 2^12 envs
    python benchmarks/jax_bench.py --max-log2 22   # on a GPU

Both envs go through the same gymnax interface (`reset(key, params)`, `step(key, state,
action, params)` with auto-reset), vmapped over the envs, with uniformly random actions, in
JAX's default float32 mode. Two ways of stepping:

- scan: one jitted `lax.scan` rollout of T steps (the whole loop compiled);
- loop: a Python loop of T calls of one jitted batched step.

Compilation is excluded (a warm-up call first). Each repeat is a round that times both envs,
in turns (the order alternates), in one process; a cell's rates are the medians over the
rounds, its ratio the median of the per-round ratios (envgen's env-steps/s / gymnax's: >= 1
means envgen is at least as fast), with their range: on a loaded machine the per-round ratio
is steadier than either rate. Needs the `jax` extra (gymnax).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import time

import gymnax
import jax
import jax.numpy as jnp

import envgen.jax


def _rollout(env, params, n: int, steps: int):
    """A jitted function running `steps` random steps of `n` envs in one lax.scan."""
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    @jax.jit
    def run(key):
        key, sub = jax.random.split(key)
        _, state = reset(jax.random.split(sub, n), params)

        def body(carry, _):
            key, state, total = carry
            key, k_action, k_step = jax.random.split(key, 3)
            action = jax.random.randint(k_action, (n,), 0, 2)
            _, state, reward, _, _, _ = step(jax.random.split(k_step, n), state, action, params)
            return (key, state, total + reward.sum()), None

        (_, _, total), _ = jax.lax.scan(body, (key, state, jnp.zeros(())), None, steps)
        return total

    return run


def _stepper(env, params, n: int):
    """A jitted batched step (random actions drawn inside) and the start state."""
    reset = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    @jax.jit
    def one(key, state):
        key, k_action, k_step = jax.random.split(key, 3)
        action = jax.random.randint(k_action, (n,), 0, 2)
        _, state, reward, _, _, _ = step(jax.random.split(k_step, n), state, action, params)
        return key, state, reward

    _, state = reset(jax.random.split(jax.random.key(1), n), params)
    return one, state


def _time_scan(run, repeats: int) -> float:
    jax.block_until_ready(run(jax.random.key(0)))  # compile
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(run(jax.random.key(r + 1)))
        best = min(best, time.perf_counter() - start)
    return best


def _time_loop(one, state, steps: int, repeats: int) -> float:
    key = jax.random.key(0)
    key, state, reward = one(key, state)  # compile
    jax.block_until_ready(reward)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            key, state, reward = one(key, state)
        jax.block_until_ready(reward)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2^10 and 2^12 envs only")
    parser.add_argument("--min-log2", type=int, default=10)
    parser.add_argument("--max-log2", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100, help="T, steps per rollout")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [10, 12] if args.quick else list(range(args.min_log2, args.max_log2 + 1, 2))
    ours = envgen.jax.make("envgen/CartPole-v1")
    theirs = gymnax.make("CartPole-v1")
    device = jax.devices()[0]
    print(
        f"# envgen JAX CartPole vs gymnax {importlib.metadata.version('gymnax')} CartPole-v1 on "
        f"{device.platform} ({device.device_kind}; {platform.processor() or platform.machine()}), "
        f"jax {jax.__version__}, T={args.steps}, median of {args.repeats}"
    )
    print()
    print(
        f"# load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    print()
    print("| envs | mode | envgen steps/s | gymnax steps/s | ratio | ratio range |")
    print("|---:|---|---:|---:|---:|---:|")
    for log2 in sizes:
        n = 2**log2
        work = n * args.steps
        for mode in ("scan", "loop"):
            runners = {}
            for name, (env, params) in (("envgen", ours), ("gymnax", theirs)):
                if mode == "scan":
                    run = _rollout(env, params, n, args.steps)
                    runners[name] = lambda run=run: _time_scan(run, 1)
                else:
                    one, state = _stepper(env, params, n)
                    runners[name] = lambda one=one, state=state: _time_loop(
                        one, state, args.steps, 1
                    )
            samples: dict[str, list[float]] = {name: [] for name in runners}
            ratios = []
            for r in range(args.repeats):  # rounds of both, in turns, so both see one load
                order = list(runners) if r % 2 == 0 else list(reversed(runners))
                took = {name: runners[name]() for name in order}
                for name, seconds in took.items():
                    samples[name].append(seconds)
                ratios.append(took["gymnax"] / took["envgen"])
            rate = {k: work / statistics.median(v) for k, v in samples.items()}
            print(
                f"| 2^{log2} | {mode} | {rate['envgen']:.3g} | {rate['gymnax']:.3g} | "
                f"{statistics.median(ratios):.2f} | {min(ratios):.2f}-{max(ratios):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
