"""`envgen bench`: env steps per second of the single env, SyncVectorEnv and the
native vector env (if the id has one). Actions are random, sampled beforehand."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envgen.cli._failure import Failure
from envgen.cli._params import Params
from envgen.cli._resolve import make_env
from envgen.cli._show import entry_name


def _rate(step: Callable[[], int], seconds: float) -> tuple[float, int]:
    """Env steps per second of `step` (which returns how many env steps it made)."""
    warmup_end = time.perf_counter() + min(0.1, seconds / 5)
    while time.perf_counter() < warmup_end:
        step()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        for _ in range(16):
            count += step()
        now = time.perf_counter()
    return count / (now - start), count


def bench_single(
    env_id: str, seconds: float, seed: int, params: Params | None = None
) -> tuple[float, int]:
    """Steps per second (and steps made) of one env, random actions, resetting as needed."""
    env = make_env(env_id, params, disable_env_checker=True)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(256)]
    env.reset(seed=seed)
    i = 0

    def step() -> int:
        nonlocal i
        _, _, terminated, truncated, _ = env.step(actions[i & 255])
        i += 1
        if terminated or truncated:
            env.reset()
        return 1

    try:
        return _rate(step, seconds)
    finally:
        env.close()


def bench_vector(
    env_id: str,
    num_envs: int,
    mode: str,
    seconds: float,
    seed: int,
    params: Params | None = None,
) -> tuple[float, int, str | None]:
    """Env steps per second, env steps made, and the native env's step backend (numba or
    numpy; None for other vector envs) of `gym.make_vec(..., vectorization_mode=mode)`."""
    import gymnasium as gym

    try:
        envs = gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode=mode, **(params.values if params else {})
        )
    except Exception as exc:  # noqa: BLE001
        raise Failure(
            f"cannot make a {mode} vector env of {env_id}: {type(exc).__name__}: {exc}"
        ) from None
    envs.action_space.seed(seed)
    actions = [envs.action_space.sample() for _ in range(64)]
    envs.reset(seed=seed)
    i = 0

    def step() -> int:
        nonlocal i
        envs.step(actions[i & 63])
        i += 1
        return num_envs

    try:
        rate, count = _rate(step, seconds)
    finally:
        envs.close()
    return rate, count, getattr(envs, "backend", None)


@dataclass
class Benchmark:
    """Rows `{backend, num_envs, steps_per_s, steps, speedup}`: single env, sync, native."""

    rows: list[dict[str, Any]]
    native: bool  # whether the id registers a native vector env
    problem: str | None = None  # why the native vector env failed, if it did


def benchmark(
    env_id: str, num_envs: int, seconds: float, seed: int, params: Params | None = None
) -> Benchmark:
    """Measure each backend of `env_id` (made with `params`) for `seconds`; `speedup` is
    relative to the single env."""
    import gymnasium as gym

    rows = []
    rate, count = bench_single(env_id, seconds, seed, params)
    rows.append({"backend": "single env", "num_envs": 1, "steps_per_s": rate, "steps": count})
    rate, count, _ = bench_vector(env_id, num_envs, "sync", seconds, seed, params)
    rows.append(
        {"backend": "SyncVectorEnv", "num_envs": num_envs, "steps_per_s": rate, "steps": count}
    )
    native = gym.registry[env_id].vector_entry_point
    problem = None
    if native is not None:
        try:
            rate, count, backend = bench_vector(
                env_id, num_envs, "vector_entry_point", seconds, seed, params
            )
        except Failure as failure:
            problem = failure.message
        else:
            name = (entry_name(native) or "").rsplit(":", 1)[-1]
            rows.append(
                {
                    "backend": f"native ({name}, {backend})" if backend else f"native ({name})",
                    "num_envs": num_envs,
                    "steps_per_s": rate,
                    "steps": count,
                }
            )
    base = rows[0]["steps_per_s"]
    for row in rows:
        row["speedup"] = row["steps_per_s"] / base if base else None
    return Benchmark(rows, native is not None, problem)
