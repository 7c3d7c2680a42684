"""Rollout helpers used by the properties *and* pasted verbatim into reproductions.

Keep every function here self-contained (only ``copy``, ``numpy as np`` and ``same`` from
``_repro``), since ``inspect.getsource`` copies them into the scripts people run.
"""

from __future__ import annotations

import copy

import numpy as np

from ._repro import same

__all__ = [
    "rollout",
    "continue_rollout",
    "lockstep",
    "close",
    "vector_vs_single",
    "sampled_actions",
    "episode_end",
]


def rollout(env, seed, actions):
    """Reset with ``seed``, take ``actions`` (resetting after each episode); return all results."""
    results = [copy.deepcopy(env.reset(seed=seed))]
    for action in actions:
        results.append(copy.deepcopy(env.step(action)))
        if results[-1][2] or results[-1][3]:
            results.append(copy.deepcopy(env.reset()))
    return results


def continue_rollout(env, actions):
    """Take ``actions`` from the env's current state (resetting after episodes); return results."""
    results = []
    for action in actions:
        results.append(copy.deepcopy(env.step(action)))
        if results[-1][2] or results[-1][3]:
            results.append(copy.deepcopy(env.reset()))
    return results


def lockstep(env_a, env_b, actions, seed=None, reset=True):
    """Run two envs side by side (optionally resetting both with ``seed`` first).

    Returns None when every call gave identical results, else (step, result_a, result_b) for
    the first call that differed.
    """
    if reset:
        first = copy.deepcopy(env_a.reset(seed=seed))
        second = copy.deepcopy(env_b.reset(seed=seed))
        if not same(first, second):
            return 0, first, second
    for i, action in enumerate(actions, 1):
        first = copy.deepcopy(env_a.step(action))
        second = copy.deepcopy(env_b.step(action))
        if not same(first, second):
            return i, first, second
        if first[2] or first[3]:
            first = copy.deepcopy(env_a.reset())
            second = copy.deepcopy(env_b.reset())
            if not same(first, second):
                return i, first, second
    return None


def close(a, b, rtol=1e-5):
    """Equal values (not types: a batched float64 reward equals a float); floats may differ by
    rounding up to ``rtol`` (and 1e-6 absolute); ``rtol=0``: exactly equal."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k], rtol) for k in a)
        )
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(close(x, y, rtol) for x, y in zip(a, b))  # noqa: B905
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if rtol and (a.dtype.kind in "fc" or b.dtype.kind in "fc"):
        return bool(np.allclose(a, b, rtol=rtol, atol=rtol / 10, equal_nan=True))
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc"))


def vector_vs_single(vec, envs, seed, actions, same_step=False, rtol=0.0):
    """Compare a vector env with one single env per sub-env (seeded ``seed + i``).

    Follows the vector env's autoreset mode: NEXT_STEP (Gymnasium's default: the step after an
    episode ends resets that sub-env and ignores its action) or SAME_STEP. Observations,
    rewards and the single env's info entries (the sub-env's part of the vector info, by
    Gymnasium's ``_key`` masks) are compared exactly, or (``rtol`` > 0) up to rounding; the
    vector info may hold more (``final_obs``, ``final_info``). Returns None when they agree,
    else a description of the first difference.
    """
    import gymnasium as gym

    obs, infos = vec.reset(seed=seed)
    expected = [env.reset(seed=seed + i) for i, env in enumerate(envs)]
    for i, sub in enumerate(gym.vector.utils.iterate(vec.observation_space, obs)):
        if not close(sub, expected[i][0], rtol):
            return f"reset: sub-env {i} obs {sub!r} != single env obs {expected[i][0]!r}"
        problem = _info_difference(sub_info(infos, i), expected[i][1], rtol)
        if problem:
            return f"reset: sub-env {i} {problem}"
    done = [False] * len(envs)
    for t, batch in enumerate(actions, 1):
        obs, rewards, terminated, truncated, infos = vec.step(batch)
        subs = list(gym.vector.utils.iterate(vec.observation_space, obs))
        per_env = list(gym.vector.utils.iterate(vec.action_space, batch))
        for i, env in enumerate(envs):
            if done[i] and not same_step:
                o, info = env.reset()
                want = (o, 0.0, False, False)
            else:
                o, r, te, tr, info = env.step(per_env[i])
                if (te or tr) and same_step:
                    o, info = env.reset()
                want = (o, r, te, tr)
            got = (subs[i], rewards[i], terminated[i], truncated[i])
            fields = ("obs", "reward", "terminated", "truncated")
            for name, x, y in zip(fields, got, want):  # noqa: B905
                differs = not close(x, y, rtol) if name in ("obs", "reward") else bool(x) != bool(y)
                if differs:
                    return f"step {t}: sub-env {i} {name} {x!r} != single env {name} {y!r}"
            problem = _info_difference(sub_info(infos, i), info, rtol)
            if problem:
                return f"step {t}: sub-env {i} {problem}"
            done[i] = bool(want[2] or want[3])
    return None


def sub_info(infos, i):
    """Sub-env ``i``'s entries of a vector info dict (those its ``_key`` mask marks)."""
    out = {}
    for key, value in infos.items():
        if isinstance(key, str) and key.startswith("_") and key[1:] in infos:
            continue
        mask = infos.get(f"_{key}")
        if mask is not None and not mask[i]:
            continue
        out[key] = sub_info(value, i) if isinstance(value, dict) else value[i]
    return out


def _info_difference(got, want, rtol):
    """How a sub-env's info differs from the single env's, for the single env's keys (the
    vector info may hold more), or None."""
    for key, value in want.items():
        if key not in got:
            return f"info has no {key!r} (single env info[{key!r}] = {value!r})"
        if not close(got[key], value, rtol):
            return f"info[{key!r}] {got[key]!r} != single env info[{key!r}] {value!r}"
    return None


def sampled_actions(space, seed, n):
    """``n`` actions from a copy of ``space`` seeded with ``seed`` (reproducible)."""
    space = copy.deepcopy(space)
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def episode_end(env, seed, actions):
    """Reset with ``seed`` and take ``actions`` until the episode ends.

    Returns (step, terminated, truncated) of the step that ended it, or None if none did.
    """
    env.reset(seed=seed)
    for t, action in enumerate(actions, 1):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return t, bool(terminated), bool(truncated)
    return None
