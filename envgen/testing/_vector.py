"""The properties for vector env targets, against Gymnasium 1.x's vector contract.

A target whose factory returns a ``gymnasium.vector.VectorEnv`` (hand-written, or made by
``gym.make_vec``) is fuzzed with these checks in place of the single-env ones, under the same
property names where the idea carries over (reset, step, determinism, seeding, fresh_arrays,
independent_instances, close) plus two of its own: ``autoreset`` (the declared autoreset mode:
NEXT_STEP, SAME_STEP with ``final_obs``/``final_info``, DISABLED with
``reset(options={"reset_mask": ...})``) and ``sub_envs`` (a sub-env's results do not depend on
the other sub-envs' actions).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from . import _properties as P
from ._properties import FAIL, PASS, SKIP, WARN, Context, Outcome, Property
from ._repro import Script, Violation, actions_lines, difference, same, short_repr, to_source
from ._strategies import space_contains

__all__ = ["MODES", "autoreset_mode", "vector_rollout", "check_infos", "vector_check"]

MODES = ("NextStep", "SameStep", "Disabled")
VEC_STEP_NAMES = ("obs", "reward", "terminated", "truncated", "info")


def autoreset_mode(metadata: dict[str, Any]) -> tuple[str, str | None]:
    """The declared autoreset mode (its value) and, if the declaration is wrong, why."""
    if "autoreset_mode" not in metadata:
        return "NextStep", "metadata has no 'autoreset_mode' (Gymnasium then assumes NEXT_STEP)"
    raw = metadata["autoreset_mode"]
    value = getattr(raw, "value", raw)
    if value not in MODES:
        return "NextStep", (
            f"metadata['autoreset_mode'] = {raw!r} is not a gymnasium.vector.AutoresetMode"
        )
    return str(value), None


def vector_rollout(vec, seed, actions):
    """Reset ``vec`` with ``seed`` and step it through batched ``actions``; in DISABLED
    autoreset mode, reset the sub-envs that ended with ``options={"reset_mask": ...}``.
    Returns every result (deep copies)."""
    mode = vec.metadata.get("autoreset_mode", "NextStep")
    mode = getattr(mode, "value", mode)
    results = [copy.deepcopy(vec.reset(seed=seed))]
    for action in actions:
        results.append(copy.deepcopy(vec.step(action)))
        done = np.logical_or(results[-1][2], results[-1][3])
        if mode == "Disabled" and done.any():
            results.append(copy.deepcopy(vec.reset(options={"reset_mask": done})))
    return results


# ---------------------------------------------------------------------------------------------
# contract checks
# ---------------------------------------------------------------------------------------------


def check_infos(infos, n, path="info"):
    """Vector infos: a dict whose every key ``k`` holds an array (or dict) of ``n`` items, with
    its mask ``_k``, a bool array of shape (n,). Returns what is wrong, or None.
    (Pasted into reproductions: self-contained.)"""
    if not isinstance(infos, dict):
        return f"{path} is a {type(infos).__name__}, not a dict"
    for key, value in infos.items():
        if isinstance(key, str) and key.startswith("_") and key[1:] in infos:
            continue  # a mask
        mask = infos.get(f"_{key}")
        if mask is None:
            return f"{path}[{key!r}] has no mask {path}[{'_' + str(key)!r}]"
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (n,):
            return (
                f"{path}[{'_' + str(key)!r}] is {repr(mask)[:80]}, not a bool array of shape ({n},)"
            )
        if isinstance(value, dict):
            problem = check_infos(value, n, f"{path}[{key!r}]")
            if problem:
                return problem
        elif not isinstance(value, np.ndarray) or value.shape[:1] != (n,):
            return f"{path}[{key!r}] is {repr(value)[:80]}, not an array of {n} items"
    return None


def _check_batch(s: Script, vec: Any, result: Any, where: str, kind: str) -> None:
    n = vec.num_envs
    size = 2 if kind == "reset" else 5
    if not isinstance(result, tuple) or len(result) != size:
        what = "(obs, infos)" if kind == "reset" else "(obs, rewards, terminations, ...)"
        P._show_raw_result(s, kind)
        s.fail(
            f"{where} returned {short_repr(result, 200)}, not a {size}-tuple {what}",
            [f"assert isinstance(result, tuple) and len(result) == {size}, repr(result)"],
        )
    obs = result[0]
    problem = P._dtype_problem(vec.observation_space, obs, "obs", "vec.observation_space")
    if problem:
        s.fail(f"{where}: {problem[0]}", [problem[1]])
    if not space_contains(vec.observation_space, obs):
        s.fail(
            f"{where} returned batched obs outside vec.observation_space: "
            f"{short_repr(obs, 200)} is not in {vec.observation_space}",
            ["assert vec.observation_space.contains(obs), obs"],
        )
    single = getattr(vec, "single_observation_space", None)
    if single is not None:
        for i, sub in enumerate(gym.vector.utils.iterate(vec.observation_space, obs)):
            if not space_contains(single, sub):
                s.fail(
                    f"{where}: sub-env {i}'s obs {short_repr(sub, 150)} is not in "
                    f"vec.single_observation_space {single}",
                    [
                        f"sub = list(gym.vector.utils.iterate(vec.observation_space, obs))[{i}]",
                        "assert vec.single_observation_space.contains(sub), sub",
                    ],
                )
    if kind == "step":
        _, rewards, terminations, truncations, _ = result
        if (
            not isinstance(rewards, np.ndarray)
            or rewards.shape != (n,)
            or rewards.dtype.kind not in "fiu"
        ):
            s.fail(
                f"{where} returned rewards {short_repr(rewards, 120)}, not a real array of shape "
                f"({n},)",
                [f"assert isinstance(reward, np.ndarray) and reward.shape == ({n},), reward"],
            )
        if not np.all(np.isfinite(rewards)):
            s.fail(
                f"{where} returned non-finite rewards {short_repr(rewards, 120)}",
                ["assert np.all(np.isfinite(reward)), reward"],
            )
        for name, flags in (("terminations", terminations), ("truncations", truncations)):
            if not isinstance(flags, np.ndarray) or flags.dtype != np.bool_ or flags.shape != (n,):
                var = "terminated" if name == "terminations" else "truncated"
                s.fail(
                    f"{where} returned {name} {short_repr(flags, 120)}, not a bool array of "
                    f"shape ({n},)",
                    [
                        f"assert isinstance({var}, np.ndarray) and {var}.dtype == np.bool_ "
                        f"and {var}.shape == ({n},), {var}"
                    ],
                )
    problem = check_infos(result[-1], n)
    if problem:
        s.helper(P._helper_source(check_infos))
        s.fail(
            f"{where}: {problem} (Gymnasium's vector info convention)",
            [f"assert check_infos(info, {n}) is None, check_infos(info, {n})"],
        )


def _check_mode(
    s: Script, vec: Any, mode: str, result: Any, previous_done: np.ndarray, where: str
) -> None:
    """The autoreset mode's promises for one step's result."""
    obs, rewards, terminations, truncations, infos = result
    done = np.logical_or(terminations, truncations)
    if mode == "NextStep":
        for i in np.flatnonzero(previous_done):
            if rewards[i] != 0 or terminations[i] or truncations[i]:
                s.fail(
                    f"{where}: sub-env {i} ended on the step before, so in NEXT_STEP mode this "
                    f"step resets it (reward 0, terminated and truncated False), but it returned "
                    f"reward {rewards[i]!r}, terminated {terminations[i]!r}, truncated "
                    f"{truncations[i]!r}",
                    [
                        f"assert reward[{i}] == 0 and not terminated[{i}] and not truncated[{i}], "
                        f"(reward[{i}], terminated[{i}], truncated[{i}])"
                    ],
                )
    elif mode == "SameStep":
        for key in ("final_obs", "final_info"):
            mask = infos.get(f"_{key}")
            if done.any() and (key not in infos or mask is None):
                s.fail(
                    f"{where}: sub-envs {np.flatnonzero(done).tolist()} ended, but in SAME_STEP "
                    f"mode info has no {key!r} (with its mask '_{key}')",
                    [f"assert {key!r} in info and '_{key}' in info, sorted(info)"],
                )
            if mask is not None and not np.array_equal(np.asarray(mask, bool), done):
                s.fail(
                    f"{where}: info['_{key}'] = {mask!r} does not mark exactly the sub-envs that "
                    f"ended ({done!r})",
                    [
                        f"assert np.array_equal(info['_{key}'], terminated | truncated), "
                        f"(info['_{key}'], terminated | truncated)"
                    ],
                )
        single = getattr(vec, "single_observation_space", None)
        for i in np.flatnonzero(done):
            final = infos["final_obs"][i]
            if single is not None and not space_contains(single, final):
                s.fail(
                    f"{where}: info['final_obs'][{i}] = {short_repr(final, 150)} is not in "
                    f"vec.single_observation_space {single}",
                    [f"assert vec.single_observation_space.contains(info['final_obs'][{i}])"],
                )


def vector_run(
    s: Script,
    vec: Any,
    var: str,
    sd: int | None,
    actions: list[Any],
    mode: str,
    checks: bool = True,
    mode_checks: bool = False,
) -> list[Any]:
    """Reset and step ``vec`` (recorded), checking each result; like :func:`vector_rollout`."""
    result = s.reset(vec, sd, var)
    if checks:
        _check_batch(s, vec, result, f"{var}.reset(seed={sd})", "reset")
    results = [copy.deepcopy(result)]
    done = np.zeros(vec.num_envs, dtype=bool)
    for t, action in enumerate(actions, 1):
        result = s.step(vec, action, var)
        if checks:
            _check_batch(s, vec, result, f"step {t}", "step")
        if mode_checks:
            _check_mode(s, vec, mode, result, done, f"step {t}")
        results.append(copy.deepcopy(result))
        done = np.logical_or(result[2], result[3])
        if mode == "Disabled" and done.any():
            mask = done.copy()
            s.code(f"obs, info = {var}.reset(options={{'reset_mask': {to_source(mask)}}})")
            before = results[-1][0]
            reset = s._call(
                lambda m=mask: vec.reset(options={"reset_mask": m}),
                f"{var}.reset(options={{'reset_mask': ...}}) after step {t}",
            )
            where = f"reset(options={{'reset_mask': ...}}) after step {t}"
            if checks:
                _check_batch(s, vec, reset, where, "reset")
            if mode_checks:
                _check_masked_reset(s, vec, before, reset[0], mask, where)
            results.append(copy.deepcopy(reset))
            done = np.zeros(vec.num_envs, dtype=bool)
    return results


def _check_masked_reset(
    s: Script, vec: Any, before: Any, after: Any, mask: np.ndarray, where: str
) -> None:
    space = vec.observation_space
    old = list(gym.vector.utils.iterate(space, before))
    new = list(gym.vector.utils.iterate(space, after))
    for i in np.flatnonzero(~mask):
        if not same(old[i], new[i]):
            s.helper(P._helper_source(same))
            s.events.insert(len(s.events) - 1, ("code", ["before = obs"]))
            s.fail(
                f"{where}: sub-env {i} was not in the reset_mask, yet its obs changed: "
                f"sub-env {i} {difference(old[i], new[i], 'obs')}",
                [
                    "sub = lambda o: list(gym.vector.utils.iterate(vec.observation_space, o))"
                    f"[{i}]",
                    f"assert same(sub(before), sub(obs)), 'sub-env {i} was reset: not in the mask'",
                ],
            )


def _make_vec(s: Script, ctx: Context, var: str = "vec") -> Any:
    return s.make(var)


def _mode(ctx: Context) -> str:
    return autoreset_mode(ctx.metadata)[0]


def _batches(data: Any, ctx: Context, n: int, label: str = "actions") -> list[Any]:
    return P.draw_actions(data, ctx.action_space, n, label)


# ---------------------------------------------------------------------------------------------
# the properties
# ---------------------------------------------------------------------------------------------


def vector_check(name: str) -> Callable:
    """Decorator: ``check(prop, ctx)`` runs in place of property ``name`` for vector envs."""

    def attach(fn: Callable[[Property, Context], Outcome]) -> Callable:
        prop = P.PROPERTIES[name]
        P.PROPERTIES[name] = Property(prop.name, prop.contract, prop.check, fn)
        return fn

    return attach


_vector_check = vector_check


def _check_spaces(s: Script, vec: Any) -> None:
    """num_envs, and batched spaces that are the single ones batched (gym.vector.utils)."""
    n = getattr(vec, "num_envs", None)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        s.fail(f"vec.num_envs is {n!r}, not a positive int", ["assert vec.num_envs >= 1"])
    for kind in ("observation", "action"):
        single = getattr(vec, f"single_{kind}_space", None)
        if single is None:
            s.fail(
                f"the vector env has no single_{kind}_space",
                [f"assert vec.single_{kind}_space is not None"],
            )
        batched = getattr(vec, f"{kind}_space")
        expected = gym.vector.utils.batch_space(single, n)
        if batched != expected:
            s.fail(
                f"vec.{kind}_space is {batched}, not batch_space(vec.single_{kind}_space, {n}) "
                f"= {expected}",
                [
                    f"assert vec.{kind}_space == gym.vector.utils.batch_space("
                    f"vec.single_{kind}_space, vec.num_envs), vec.{kind}_space"
                ],
            )


@_vector_check("reset")
def _vec_reset(prop: Property, ctx: Context) -> Outcome:
    def body(data: Any) -> None:
        s = P._new_script(prop, ctx)
        with P._closing(_make_vec(s, ctx)) as vec:
            _check_spaces(s, vec)
            sd = data.draw(P.SEEDS, label="seed")
            _check_batch(s, vec, s.reset(vec, sd, "vec"), f"vec.reset(seed={sd})", "reset")
            _check_batch(s, vec, s.reset(vec, None, "vec"), "vec.reset()", "reset")

    return P._outcome(P.search(body, ctx.settings))


@_vector_check("step")
def _vec_step(prop: Property, ctx: Context) -> Outcome:
    mode = _mode(ctx)

    def body(data: Any) -> None:
        s = P._new_script(prop, ctx)
        with P._closing(_make_vec(s, ctx)) as vec:
            sd = data.draw(P.SEEDS, label="seed")
            vector_run(s, vec, "vec", sd, _batches(data, ctx, ctx.steps), mode)

    return P._outcome(P.search(body, ctx.settings), ok=f"{ctx.steps} batched steps per run")


@_vector_check("autoreset")
def _vec_autoreset(prop: Property, ctx: Context) -> Outcome:
    mode, problem = autoreset_mode(ctx.metadata)
    asked = ctx.target.autoreset_mode
    if asked is not None and asked != mode:
        s = P._new_script(prop, ctx)
        with P._closing(_make_vec(s, ctx)):
            pass
        declared = ctx.metadata.get("autoreset_mode")
        message = (
            f"make_vec was asked for autoreset mode {asked}, but the vector env declares "
            f"metadata['autoreset_mode'] = {declared!r}"
        )
        s.code(
            "declared = vec.metadata.get('autoreset_mode')",
            f"assert getattr(declared, 'value', declared) == {asked!r}, declared",
        )
        return Outcome(FAIL, message, s.source(message=message))

    def body(data: Any) -> None:
        s = P._new_script(prop, ctx)
        with P._closing(_make_vec(s, ctx)) as vec:
            sd = data.draw(P.SEEDS, label="seed")
            actions = _batches(data, ctx, ctx.steps)
            vector_run(s, vec, "vec", sd, actions, mode, checks=False, mode_checks=True)

    violation = P.search(body, ctx.settings)
    if violation is not None:
        return P._outcome(violation)
    if problem:
        status = FAIL if "is not a" in problem else WARN
        return Outcome(status, f"{problem}; NEXT_STEP checked")
    return Outcome(PASS, f"autoreset mode {mode}")


@_vector_check("determinism")
def _vec_determinism(prop: Property, ctx: Context) -> Outcome:
    mode = _mode(ctx)

    def body(data: Any) -> None:
        sd = data.draw(P.SEEDS, label="seed")
        actions = _batches(data, ctx, ctx.short_steps())
        s = P._new_script(prop, ctx)
        vec_a = s.make("env_a")
        mark = len(s.events)
        try:
            first = vector_run(s, vec_a, "env_a", sd, actions, mode, checks=False)
            second = vector_run(s, vec_a, "env_a", sd, actions, mode, checks=False)
            _compare(s, mark, first, second, sd, actions, "env_a", "a second reset(seed)")
            vec_b = s.make("env_b")
            with P._closing(vec_b):
                third = vector_run(s, vec_b, "env_b", sd, actions, mode, checks=False)
                _compare(s, mark, first, third, sd, actions, "env_b", "a fresh instance")
        finally:
            with contextlib.suppress(Exception):
                vec_a.close()

    return P._outcome(P.search(body, ctx.settings, examples=max(1, ctx.settings.examples // 2)))


def _compare(
    s: Script,
    mark: int,
    first: list,
    second: list,
    sd: int,
    actions: list,
    var: str,
    what: str,
) -> None:
    i = P.first_difference(first, second)
    if i is None:
        return
    k = P._actions_until(first, i)
    del s.events[mark:]
    s.helper("import copy")
    s.helper(P._helper_source(same, difference, vector_rollout))
    make_b = [] if var == "env_a" else [s.target.make_source(var, None)[1]]
    s.code(
        *actions_lines("actions", actions[:k]),
        f"first = vector_rollout(env_a, {sd}, actions)",
        *make_b,
        f"second = vector_rollout({var}, {sd}, actions)",
        *P._COMPARE,
    )
    s.fail(
        f"same seed ({sd}) and batched actions, different results with {what}, at "
        f"{P.call_name(first, i, sd)}: {P.describe_pair(first, second, i)}"
    )


@_vector_check("seeding")
def _vec_seeding(prop: Property, ctx: Context) -> Outcome:
    seeds = [ctx.settings.seed + i for i in range(8)]
    n_steps = min(ctx.steps, 50)
    space = copy.deepcopy(ctx.action_space)
    space.seed(ctx.settings.seed)
    actions = [space.sample() for _ in range(n_steps)]
    s = P._new_script(prop, ctx)
    runs: list | None = None
    try:
        with P._closing(s.make("vec")) as vec:
            starts = [
                copy.deepcopy(s._call(lambda sd=sd: vec.reset(seed=sd)[0], "vec.reset"))
                for sd in seeds
            ]
            differ = next((i for i, o in enumerate(starts[1:], 1) if not same(starts[0], o)), None)
            if differ is None and not ctx.deterministic:
                # the same initial state for every seed (a fixed start, a game against a
                # random reply): the seed may still show in the trajectories, as the single
                # env's check allows
                runs = [
                    s._call(lambda sd=sd: vector_rollout(vec, sd, actions), "vector_rollout")
                    for sd in seeds
                ]
    except Violation as violation:
        return P._outcome(violation)
    if ctx.deterministic:
        if differ is None:
            return Outcome(
                PASS,
                f"deterministic, as declared ({ctx.deterministic}): {len(seeds)} seeds, "
                "identical batched initial observations",
            )
        s.helper(P._helper_source(same, difference))
        s.code(
            f"first, _ = vec.reset(seed={seeds[0]})",
            f"other, _ = vec.reset(seed={seeds[differ]})",
            "assert same(first, other), difference(first, other, 'obs')",
        )
        message = (
            f"the vector env is declared deterministic ({ctx.deterministic}), but seeds "
            f"{seeds[0]} and {seeds[differ]} give different batched initial observations: "
            f"{difference(starts[0], starts[differ], 'obs')}"
        )
        return Outcome(FAIL, message, s.source(message=message))
    if differ is not None:
        return Outcome(PASS, "initial observations depend on the seed")
    assert runs is not None
    if any(not same(runs[0], r) for r in runs[1:]):
        return Outcome(PASS, "trajectories depend on the seed")
    s.helper("import copy")
    s.helper(P._helper_source(same, vector_rollout))
    s.code(
        *actions_lines("actions", actions),
        f"runs = [vector_rollout(vec, seed, actions) for seed in {seeds!r}]",
        "assert any(not same(runs[0], run) for run in runs[1:]), 'the seed changes nothing'",
    )
    message = (
        f"{len(seeds)} seeds gave identical batched initial observations and identical "
        f"trajectories over {n_steps} steps: the env is deterministic, or ignores its seed"
    )
    return Outcome(WARN, message, s.source(message=message))


@_vector_check("fresh_arrays")
def _vec_fresh(prop: Property, ctx: Context) -> Outcome:
    mode = _mode(ctx)

    def body(data: Any) -> None:
        s = P._new_script(prop, ctx)
        holder = P.Holder(s)
        fields = "batched obs, rewards, flags and infos"
        with P._closing(_make_vec(s, ctx)) as vec:
            sd = data.draw(P.SEEDS, label="seed")
            holder.hold(s.reset(vec, sd, "vec"), ("obs", "info"), f"reset(seed={sd})")
            for t, action in enumerate(_batches(data, ctx, ctx.short_steps()), 1):
                result = s.step(vec, action, "vec")
                holder.check(f"step {t}", fields)
                holder.hold(result, VEC_STEP_NAMES, f"step {t}")
                done = np.logical_or(result[2], result[3])
                if mode == "Disabled" and np.any(done):
                    mask = np.asarray(done, dtype=bool).copy()
                    s.code(f"obs, info = vec.reset(options={{'reset_mask': {to_source(mask)}}})")
                    reset = s._call(
                        lambda m=mask: vec.reset(options={"reset_mask": m}), "vec.reset(mask)"
                    )
                    holder.check(f"reset(options={{'reset_mask': ...}}) after step {t}", fields)
                    holder.hold(reset, ("obs", "info"), f"the reset after step {t}")
            holder.check_all("the last call", fields)

    return P._outcome(P.search(body, ctx.settings))


@_vector_check("independent_instances")
def _vec_independent(prop: Property, ctx: Context) -> Outcome:
    mode = _mode(ctx)

    def body(data: Any) -> None:
        sd = data.draw(P.SEEDS, label="seed")
        actions = _batches(data, ctx, ctx.short_steps())
        s = P._new_script(prop, ctx)
        with P._closing(s.make("env_a")) as vec_a, P._closing(s.make("env_b")) as vec_b:
            mark = len(s.events)
            first = [copy.deepcopy(s.reset(vec_a, sd, "env_a"))]
            second = [copy.deepcopy(s.reset(vec_b, sd, "env_b"))]
            for action in actions:
                if not same(first[-1], second[-1]):
                    break
                first.append(copy.deepcopy(s.step(vec_a, action, "env_a")))
                second.append(copy.deepcopy(s.step(vec_b, action, "env_b")))
                done = np.logical_or(first[-1][2], first[-1][3])
                if mode == "Disabled" and np.any(done) and same(first[-1], second[-1]):
                    for var, vec, out in (("env_a", vec_a, first), ("env_b", vec_b, second)):
                        s.code(
                            f"obs, info = {var}.reset(options={{'reset_mask': {to_source(done)}}})"
                        )
                        out.append(
                            copy.deepcopy(
                                s._call(
                                    lambda v=vec, m=done: v.reset(options={"reset_mask": m}),
                                    f"{var}.reset(mask)",
                                )
                            )
                        )
            i = P.first_difference(first, second)
            if i is None:
                return
            del s.events[mark:]
            k = P._actions_until(first, i)
            s.helper("import copy")
            s.helper(P._helper_source(same, difference))
            s.code(
                *actions_lines("actions", actions[:k]),
                f"first = [env_a.reset(seed={sd})]",
                f"second = [env_b.reset(seed={sd})]",
                "for action in actions:",
                "    first.append(copy.deepcopy(env_a.step(action)))",
                "    second.append(copy.deepcopy(env_b.step(action)))",
                *P._COMPARE,
            )
            s.fail(
                f"two vector envs with the same seed ({sd}) and batched actions diverge at "
                f"{P.call_name(first, i, sd)}: {P.describe_pair(first, second, i)}"
            )

    return P._outcome(P.search(body, ctx.settings, examples=max(1, ctx.settings.examples // 2)))


def sub_env_results(results, space, i):
    """Sub-env ``i``'s part of a vector run's results, call by call: (obs, reward, terminated,
    truncated, {}) for each step, (obs, {}) for the first reset and for each (DISABLED mode)
    masked reset that reset sub-env ``i``."""
    import gymnasium as gym

    out, reset_me = [], True
    for result in results:
        obs = list(gym.vector.utils.iterate(space, result[0]))[i]
        if len(result) == 5:
            out.append((obs, result[1][i], bool(result[2][i]), bool(result[3][i]), {}))
            reset_me = out[-1][2] or out[-1][3]
        elif reset_me:
            out.append((obs, {}))
            reset_me = False
    return out


@_vector_check("sub_envs")
def _vec_sub_envs(prop: Property, ctx: Context) -> Outcome:
    mode = _mode(ctx)
    later: list[str] = []

    def body(data: Any) -> None:
        sd = data.draw(P.SEEDS, label="seed")
        n = ctx.short_steps()
        mine = _batches(data, ctx, n)
        theirs = P.draw_actions(data, ctx.action_space, len(mine), "other actions", fixed=True)
        space, single = ctx.action_space, ctx.single_action_space
        other = []
        for a, b in zip(mine, theirs, strict=True):
            parts = list(gym.vector.utils.iterate(space, b))
            parts[0] = next(iter(gym.vector.utils.iterate(space, a)))
            empty = gym.vector.utils.create_empty_array(single, len(parts))
            other.append(gym.vector.utils.concatenate(single, parts, empty))
        s = P._new_script(prop, ctx)
        with P._closing(s.make("env_a")) as vec_a, P._closing(s.make("env_b")) as vec_b:
            mark = len(s.events)
            first = vector_run(s, vec_a, "env_a", sd, mine, mode, checks=False)
            second = vector_run(s, vec_b, "env_b", sd, other, mode, checks=False)
            obs_space = vec_a.observation_space
            a0 = sub_env_results(first, obs_space, 0)
            b0 = sub_env_results(second, obs_space, 0)
            i = P.first_difference(a0, b0)
            if i is None:
                return
            ended = [r for r in a0[:i] if len(r) == 5 and (r[2] or r[3])]
            where = P.call_name(a0, i, sd)
            found = P.describe_pair(a0, b0, i)
            if ended:
                later.append(f"{where}: {found}")
                return
            del s.events[mark:]
            k = P._actions_until(a0, i)
            s.helper("import copy")
            s.helper(P._helper_source(same, difference, vector_rollout, sub_env_results))
            s.code(
                *actions_lines("mine", mine[:k]),
                *actions_lines("other", other[:k]),
                "# the same actions for sub-env 0, other actions for the other sub-envs",
                f"first = sub_env_results(vector_rollout(env_a, {sd}, mine), "
                "env_a.observation_space, 0)",
                f"second = sub_env_results(vector_rollout(env_b, {sd}, other), "
                "env_b.observation_space, 0)",
                *P._COMPARE,
            )
            s.fail(
                f"sub-env 0 depends on the other sub-envs' actions (same seed {sd}, same actions "
                f"for sub-env 0) in its first episode, at {where}: {found}"
            )

    if ctx.num_envs < 2:
        return Outcome(SKIP, "one sub-env: nothing to be independent of")
    violation = P.search(body, ctx.settings, examples=max(1, ctx.settings.examples // 2))
    if violation is not None:
        return P._outcome(violation)
    if later:
        return Outcome(
            WARN,
            "sub-env 0's episodes after its first reset depend on the other sub-envs' actions "
            f"(a random generator shared between sub-envs?), e.g. at {later[0]}",
        )
    return Outcome(PASS, "sub-env 0 is unaffected by the other sub-envs' actions")


@_vector_check("close")
def _vec_close(prop: Property, ctx: Context) -> Outcome:
    def body(data: Any) -> None:
        s = P._new_script(prop, ctx)
        vec = s.make("vec")
        vector_run(s, vec, "vec", data.draw(P.SEEDS, label="seed"), [], _mode(ctx), False)
        s.close(vec, "vec")
        s.close(vec, "vec")
        other = s.make("other")
        s.close(other, "other")
        s.close(other, "other")

    return P._outcome(P.search(body, ctx.settings, examples=min(ctx.settings.examples, 3)))
