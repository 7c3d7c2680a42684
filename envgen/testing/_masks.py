"""The ``action_mask`` property: action masks the way the ecosystem uses them.

Two conventions are checked, wherever an env follows one:

- Gymnasium's (Taxi): ``info["action_mask"]`` from ``reset()`` and ``step()``, in the form the
  action space's ``sample(mask=...)`` takes -- for ``Discrete(n)`` an ``np.int8`` array of
  shape ``(n,)`` of 0/1, for ``MultiBinary`` an ``np.int8`` array of 0/1/2, for a 1-D
  ``MultiDiscrete`` a tuple of ``np.int8`` arrays, one per dimension;
- sb3-contrib's (MaskablePPO): an ``action_masks()`` method returning one bool per action
  (``Discrete``), the per-dimension masks concatenated (``MultiDiscrete``), or two per element
  (``MultiBinary``).

The functions named ``*_mask_problem``, ``allows_nothing`` and ``sb3_to_gymnasium`` are pasted
into reproductions: keep them self-contained (``numpy as np``, ``gymnasium as gym``).
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np

from . import _properties as P
from ._properties import PASS, SKIP, Context, Outcome, Property
from ._repro import Script, short_repr
from ._vector import vector_check

__all__ = ["MASK_KEY", "gymnasium_mask_problem", "sb3_mask_problem", "allows_nothing"]

MASK_KEY = "action_mask"


def gymnasium_mask_problem(space, mask):
    """What is wrong with ``mask`` as ``space.sample(mask=mask)`` takes it (None: nothing)."""
    if isinstance(space, gym.spaces.Discrete):
        shape = (int(space.n),)
    elif isinstance(space, gym.spaces.MultiBinary):
        shape = tuple(space.shape)
    elif isinstance(space, gym.spaces.MultiDiscrete) and len(space.nvec.shape) == 1:
        if not isinstance(mask, tuple) or len(mask) != len(space.nvec):
            return (
                f"the mask is {type(mask).__name__}, not a tuple of {len(space.nvec)} masks (one "
                "per dimension, as MultiDiscrete.sample(mask=...) takes)"
            )
        for i, n in enumerate(space.nvec):
            problem = gymnasium_mask_problem(gym.spaces.Discrete(int(n)), mask[i])
            if problem:
                return f"dimension {i}: {problem}"
        return None
    else:
        try:
            copy.deepcopy(space).sample(mask=mask)
        except Exception as exc:
            return f"{space}.sample(mask=...) refuses it: {type(exc).__name__}: {exc}"
        return None
    if not isinstance(mask, np.ndarray) or mask.dtype != np.int8 or mask.shape != shape:
        got = (
            f"dtype {mask.dtype} and shape {mask.shape}"
            if isinstance(mask, np.ndarray)
            else f"type {type(mask).__name__}"
        )
        return f"the mask has {got}, not dtype int8 and shape {shape}"
    allowed = (0, 1, 2) if isinstance(space, gym.spaces.MultiBinary) else (0, 1)
    if not np.isin(mask, allowed).all():
        return f"the mask holds {sorted(set(mask.ravel().tolist()))}, not only {list(allowed)}"
    return None


def allows_nothing(space, mask):
    """True when a (well-formed, Gymnasium form) mask allows no action at all."""
    if isinstance(space, gym.spaces.Discrete):
        return not np.any(mask)
    if isinstance(space, gym.spaces.MultiDiscrete) and isinstance(mask, tuple):
        return any(not np.any(m) for m in mask)
    return False


def _sb3_length(space):
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, gym.spaces.MultiDiscrete) and len(space.nvec.shape) == 1:
        return int(np.sum(space.nvec))
    if isinstance(space, gym.spaces.MultiBinary) and len(space.shape) == 1:
        return 2 * int(space.shape[0])
    return None


def sb3_mask_problem(space, mask):
    """What is wrong with ``mask`` as sb3-contrib's ``action_masks()`` returns it (None: ok)."""
    length = _sb3_length(space)
    if length is None:
        return f"sb3-contrib masks Discrete, MultiDiscrete and MultiBinary spaces, not {space}"
    mask = np.asarray(mask)
    if mask.shape != (length,):
        return f"action_masks() has shape {mask.shape}, not ({length},) for {space}"
    if mask.dtype != np.bool_ and not (mask.dtype.kind in "iu" and np.isin(mask, (0, 1)).all()):
        return f"action_masks() has dtype {mask.dtype} and values {mask.tolist()}, not bools"
    return None


def sb3_to_gymnasium(space, mask):
    """sb3-contrib's flat mask in the form ``space.sample(mask=...)`` takes."""
    mask = np.asarray(mask).astype(bool)
    if isinstance(space, gym.spaces.Discrete):
        return mask.astype(np.int8)
    if isinstance(space, gym.spaces.MultiDiscrete):
        cuts = np.cumsum(space.nvec)[:-1]
        return tuple(m.astype(np.int8) for m in np.split(mask, cuts))
    pairs = mask.reshape(-1, 2)  # MultiBinary: (may be 0, may be 1) per element
    return np.where(pairs.all(axis=1), 2, np.where(pairs[:, 1], 1, 0)).astype(np.int8)


# ---------------------------------------------------------------------------------------------
# the property
# ---------------------------------------------------------------------------------------------


def _method_mask(s: Script, env: Any) -> Any:
    getter = getattr(env, "get_wrapper_attr", None)
    fn = getter("action_masks") if getter is not None else env.action_masks
    return s._call(fn, "env.action_masks()")


def _masks_of(s: Script, ctx: Context, env: Any, info: Any, where: str) -> Any:
    """Check the masks after ``where`` (a reset, or a step that did not end the episode: one
    action at least must be allowed); return the mask to sample with (Gymnasium's form)."""
    space = ctx.action_space
    mask = None
    if isinstance(info, dict) and MASK_KEY in info:
        mask = info[MASK_KEY]
        problem = gymnasium_mask_problem(space, mask)
        if problem:
            s.helper("import copy")
            s.helper(P._helper_source(gymnasium_mask_problem))
            s.fail(
                f"{where}: info['action_mask'] = {short_repr(mask, 120)}: {problem}",
                [
                    "problem = gymnasium_mask_problem(env.action_space, info['action_mask'])",
                    "assert problem is None, problem",
                ],
            )
        if allows_nothing(space, mask):
            s.helper(P._helper_source(allows_nothing))
            s.fail(
                f"{where}: info['action_mask'] = {short_repr(mask, 120)} allows no action, "
                "though the episode goes on",
                ["assert not allows_nothing(env.action_space, info['action_mask'])"],
            )
    if ctx.has_action_masks:
        s.code("mask = env.get_wrapper_attr('action_masks')()")
        flat = _method_mask(s, env)
        del s.events[-1]
        problem = sb3_mask_problem(space, flat)
        check = ["mask = env.get_wrapper_attr('action_masks')()"]
        if problem:
            s.helper(P._helper_source(sb3_mask_problem, _sb3_length))
            s.fail(
                f"{where}: action_masks() = {short_repr(flat, 120)}: {problem}",
                [
                    *check,
                    "problem = sb3_mask_problem(env.action_space, mask)",
                    "assert not problem",
                ],
            )
        converted = sb3_to_gymnasium(space, flat)
        if allows_nothing(space, converted):
            s.helper(P._helper_source(allows_nothing, sb3_to_gymnasium))
            s.fail(
                f"{where}: action_masks() = {short_repr(flat, 120)} allows no action, though the "
                "episode goes on",
                [
                    *check,
                    "mask = sb3_to_gymnasium(env.action_space, mask)",
                    "assert not allows_nothing(env.action_space, mask), mask",
                ],
            )
        if mask is None:
            mask = converted
    return mask


@P.register_property(
    "action_mask",
    "an action mask (info['action_mask'], Gymnasium's Taxi convention, or an action_masks() "
    "method, sb3-contrib's) has the form the action space's sample(mask=...) takes, allows an "
    "action while the episode runs, and step() accepts every action sampled with it",
)
def _check_action_mask(prop: Property, ctx: Context) -> Outcome:
    n = ctx.short_steps()
    s = P._new_script(prop, ctx)
    try:
        with P._closing(s.make()) as env:
            first = s.reset(env, ctx.settings.seed)
            sampler = copy.deepcopy(ctx.action_space)
            sampler.seed(ctx.settings.seed)
            try:  # an allowed action, where the reset says which (checked in the search)
                action = sampler.sample(mask=first[1][MASK_KEY])
            except Exception:
                action = sampler.sample()
            after = s.step(env, action)
    except P.Violation:
        return Outcome(SKIP, "the env cannot reset and step (see the other properties)")
    infos = [r[-1] for r in (first, after) if isinstance(r, tuple) and r]
    if not ctx.has_action_masks and not any(isinstance(i, dict) and MASK_KEY in i for i in infos):
        return Outcome(SKIP, "no info['action_mask'] (after reset and a step), no action_masks()")

    def body(data: Any) -> None:
        s = P._new_script(prop, ctx)
        with P._closing(s.make()) as env:
            sd = data.draw(P.SEEDS, label="seed")
            steps = data.draw(P.st.integers(1, n), label="number of steps")
            sampler = copy.deepcopy(ctx.action_space)
            sampler.seed(int(data.draw(P.SEEDS, label="seed of the masked sampler")))
            result = s.reset(env, sd)
            mask = _masks_of(s, ctx, env, result[1], f"reset(seed={sd})")
            for t in range(1, steps + 1):
                action = sampler.sample() if mask is None else sampler.sample(mask=mask)
                result = s.step(env, action, autoreset=True)
                P.check_step_result(s, env.observation_space, result, f"step {t}")
                if P._ended(result):
                    result = s.autoreset(env)
                    where = f"reset() after step {t}"
                else:
                    where = f"step {t}"
                mask = _masks_of(s, ctx, env, result[-1], where)

    violation = P.search(body, ctx.settings)
    if violation is not None:
        return P._outcome(violation)
    kinds = []
    if any(isinstance(i, dict) and MASK_KEY in i for i in infos):
        kinds.append("info['action_mask']")
    if ctx.has_action_masks:
        kinds.append("action_masks()")
    return Outcome(PASS, f"{' and '.join(kinds)} checked on {n}-step runs of masked actions")


# ---------------------------------------------------------------------------------------------
# vector envs: info["action_mask"] batched (one row per sub-env), with its mask "_action_mask"
# ---------------------------------------------------------------------------------------------


def _vec_masks(s: Script, ctx: Context, info: Any, where: str, running: np.ndarray) -> list:
    """Each sub-env's mask (None where it reports none), checked; ``running``: the sub-envs
    whose episode goes on (one action at least must be allowed)."""
    n = ctx.num_envs
    single = ctx.single_action_space
    if not isinstance(info, dict) or MASK_KEY not in info:
        return [None] * n
    batch, present = info[MASK_KEY], info.get(f"_{MASK_KEY}", np.ones(n, dtype=bool))
    masks: list = []
    for i in range(n):
        if not present[i]:
            masks.append(None)
            continue
        mask = batch[i]
        problem = gymnasium_mask_problem(single, mask)
        if problem:
            s.helper("import copy")
            s.helper(P._helper_source(gymnasium_mask_problem))
            s.fail(
                f"{where}: sub-env {i}'s info['action_mask'][{i}] = {short_repr(mask, 120)}: "
                f"{problem}",
                [
                    "problem = gymnasium_mask_problem(vec.single_action_space, "
                    f"info['action_mask'][{i}])",
                    "assert problem is None, problem",
                ],
            )
        if running[i] and allows_nothing(single, mask):
            s.helper(P._helper_source(allows_nothing))
            s.fail(
                f"{where}: sub-env {i}'s info['action_mask'][{i}] = {short_repr(mask, 120)} "
                "allows no action, though its episode goes on",
                [f"assert not allows_nothing(vec.single_action_space, info['action_mask'][{i}])"],
            )
        masks.append(mask)
    return masks


@vector_check("action_mask")
def _vec_action_mask(prop: Property, ctx: Context) -> Outcome:
    from ._vector import autoreset_mode

    mode = autoreset_mode(ctx.metadata)[0]
    n_envs, single = ctx.num_envs, ctx.single_action_space
    s = P._new_script(prop, ctx)
    try:
        with P._closing(s.make("vec")) as vec:
            info = s.reset(vec, ctx.settings.seed, "vec")[1]
    except P.Violation:
        return Outcome(SKIP, "the vector env cannot reset (see the other properties)")
    if not isinstance(info, dict) or MASK_KEY not in info:
        return Outcome(SKIP, "no info['action_mask'] after reset")
    n = ctx.short_steps()

    def body(data: Any) -> None:
        s = P._new_script(prop, ctx)
        with P._closing(s.make("vec")) as vec:
            sd = data.draw(P.SEEDS, label="seed")
            steps = data.draw(P.st.integers(1, n), label="number of steps")
            base = int(data.draw(P.SEEDS, label="seed of the masked samplers"))
            samplers = [copy.deepcopy(single) for _ in range(n_envs)]
            for i, sampler in enumerate(samplers):
                sampler.seed(base + i)
            result = s.reset(vec, sd, "vec")
            running = np.ones(n_envs, dtype=bool)
            masks = _vec_masks(s, ctx, result[-1], f"vec.reset(seed={sd})", running)
            for t in range(1, steps + 1):
                parts = [
                    sampler.sample() if mask is None else sampler.sample(mask=mask)
                    for sampler, mask in zip(samplers, masks, strict=True)
                ]
                empty = gym.vector.utils.create_empty_array(single, n_envs)
                action = gym.vector.utils.concatenate(single, parts, empty)
                result = s.step(vec, action, "vec")
                done = np.logical_or(result[2], result[3])
                where = f"step {t}"
                if mode == "Disabled" and done.any():
                    s.code(f"obs, info = vec.reset(options={{'reset_mask': {P._src(done)}}})")
                    reset_mask = done.copy()
                    result = s._call(
                        lambda m=reset_mask: vec.reset(options={"reset_mask": m}),
                        f"vec.reset(options={{'reset_mask': ...}}) after step {t}",
                    )
                    where = f"the masked reset after step {t}"
                    done = np.zeros(n_envs, dtype=bool)
                # NEXT_STEP: an ended sub-env's mask is its last state's; SAME_STEP: the reset's
                running = ~done if mode == "NextStep" else np.ones(n_envs, dtype=bool)
                masks = _vec_masks(s, ctx, result[-1], where, running)

    violation = P.search(body, ctx.settings, examples=max(1, ctx.settings.examples // 2))
    if violation is not None:
        return P._outcome(violation)
    return Outcome(PASS, f"info['action_mask'] of each sub-env checked on {n}-step runs")
