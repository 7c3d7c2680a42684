"""Round three of the fuzzer (issue 15's leftovers, issue 16's determinism and masks): a planted
bug per gap, each caught by its property with a reproduction that fails where it says."""

from __future__ import annotations

import time

import broken_envs
import gymnasium as gym
import pytest
from fuzz_helpers import assert_fails_at_mark, broken

from envgen.testing import FAIL, PASS, SKIP, Settings, TargetError, fuzz, resolve_target
from envgen.testing._runner import prepare, run_property

# ------------------------------------------------------------------------------------------
# vector entry points: the autoreset mode as a keyword, the target's params, exactness
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def walker_ids():
    entries = {
        "ulp": broken_envs.ulp_vector_walker,
        "exact-ulp": broken_envs.exact_ulp_vector_walker,
        "ignores-autoreset": broken_envs.ignoring_vector_walker,
    }
    ids = {}
    for name, entry in entries.items():
        ids[name] = f"envgen-fuzz-r3/{name}-v0"
        gym.register(ids[name], entry_point=broken_envs.Walker, vector_entry_point=entry)
    ids["start"] = "envgen-fuzz-r3/start-v0"
    gym.register(
        ids["start"],
        entry_point=broken_envs.StartWalker,
        vector_entry_point=broken_envs.start_vector_walker,
    )
    yield ids
    for env_id in ids.values():
        gym.registry.pop(env_id, None)


def test_vector_entry_point_takes_the_autoreset_mode_as_a_keyword():
    # Gymnasium refuses vector_kwargs for a custom vector env; envgen's take autoreset_mode
    target = resolve_target(
        "generated:envgen/GoLeft-v0",
        vector="vector_entry_point",
        vector_kwargs={"autoreset_mode": "SameStep"},
    )
    assert "autoreset_mode=gym.vector.AutoresetMode.SAME_STEP" in target.make_source("v", None)[1]
    report = fuzz(target, properties=["reset", "step", "autoreset", "sub_envs"], examples=3)
    assert report.ok, [r.message for r in report.failures]
    assert report.result("autoreset").message == "autoreset mode SameStep"


def test_an_entry_point_that_cannot_take_the_mode_is_a_usage_error():
    with pytest.raises(TargetError, match="takes no autoreset_mode argument.*is NextStep"):
        resolve_target(
            "CartPole-v1",
            vector="vector_entry_point",
            vector_kwargs={"autoreset_mode": "SameStep"},
        )
    # the mode it has anyway is no error: nothing to pass
    target = resolve_target(
        "CartPole-v1", vector="vector_entry_point", vector_kwargs={"autoreset_mode": "NextStep"}
    )
    assert "autoreset_mode" not in target.make_source("vec", None)[1]
    assert target.autoreset_mode == "NextStep"
    assert fuzz(target, properties=["autoreset"], examples=2).status("autoreset") == PASS
    with pytest.raises(TargetError, match="unknown autoreset mode 'Sometimes'"):
        resolve_target("CartPole-v1", vector="sync", vector_kwargs={"autoreset_mode": "Sometimes"})


def test_an_entry_point_ignoring_the_mode_fails_autoreset(walker_ids, tmp_path):
    target = resolve_target(
        walker_ids["ignores-autoreset"],
        vector="vector_entry_point",
        vector_kwargs={"autoreset_mode": "SameStep"},
    )
    result = fuzz(target, properties=["autoreset"]).result("autoreset")
    assert result.status == FAIL
    assert "asked for autoreset mode SameStep, but the vector env declares" in result.message
    assert_fails_at_mark(result.reproduction, tmp_path, "AutoresetMode.NEXT_STEP")


def test_the_vector_property_passes_the_targets_params_on(walker_ids):
    # without the param, the vector env starts elsewhere than the single envs: not comparable
    target = resolve_target(walker_ids["start"], start=5.0)
    result = fuzz(target, properties=["vector"], examples=3).result("vector")
    assert result.status == PASS, result.message
    assert result.message.startswith("2 sub-envs match single envs")


def test_the_vector_property_passes_an_envgen_envs_params_on_and_compares_exactly():
    target = resolve_target("generated:envgen/GoLeft-v0", size=5)
    result = fuzz(target, properties=["vector"], examples=3).result("vector")
    assert (result.status, result.message) == (PASS, "2 sub-envs match single envs (exactly)")


def test_rounding_differences_pass_within_the_tolerance_and_fail_exactly(walker_ids, tmp_path):
    result = fuzz(walker_ids["ulp"], properties=["vector"], examples=3).result("vector")
    assert result.status == PASS and "(to rtol 1e-05)" in result.message
    # asked for exactness
    result = fuzz(walker_ids["ulp"], properties=["vector"], vector_rtol=0).result("vector")
    assert result.status == FAIL and "(compared exactly)" in result.message
    assert "reward" in result.message
    assert_fails_at_mark(result.reproduction, tmp_path, "reward")
    # promised exactness (metadata["bit_exact"])
    result = fuzz(walker_ids["exact-ulp"], properties=["vector"]).result("vector")
    assert result.status == FAIL and "(compared exactly)" in result.message


# ------------------------------------------------------------------------------------------
# the budget: a stop that Hypothesis does not record, the state machine stopped too
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_a_deadline_mid_property_stops_cleanly(seed):
    # Stopping by raising an ordinary exception before the example draws anything made
    # Hypothesis record an example that drew nothing, contradicting the earlier ones:
    # FlakyStrategyDefinition, only when a deadline passed mid-property (never with budget 0)
    ctx = prepare(resolve_target(broken_envs.SlowWalker), Settings(budget=None))
    ctx.settings = Settings(budget=None, seed=seed)
    result = run_property("time_limit", ctx, deadline=time.perf_counter() + 1.0)
    assert result.status == PASS, (result.message, result.detail)
    assert "budget: stopped after" in result.message


def test_the_state_machine_stops_at_its_deadline():
    ctx = prepare(resolve_target(broken_envs.SlowWalker), Settings(budget=None))
    ticks = []
    result = run_property(
        "stateful", ctx, deadline=time.perf_counter() - 1, tick=lambda i, n: ticks.append(i)
    )
    assert result.status == PASS, (result.message, result.detail)
    assert result.message == "budget: stopped after 1 of 10 examples" and ticks == [1]


def test_a_state_machine_failure_is_still_shrunk_past_the_deadline():
    class ResetsOutside(broken_envs.Walker):  # every run of the machine starts with a reset
        def reset(self, *, seed=None, options=None):
            obs, info = super().reset(seed=seed, options=options)
            return obs + 50, info

    ctx = prepare(resolve_target(ResetsOutside), Settings(budget=None))
    result = run_property("stateful", ctx, deadline=time.perf_counter() - 1)
    assert result.status == FAIL and "outside the observation space" in result.message


# ------------------------------------------------------------------------------------------
# determinism declared
# ------------------------------------------------------------------------------------------


def test_a_declared_deterministic_env_passes_seeding_instead_of_a_warning():
    result = fuzz(broken("FixedStartWalker"), properties=["seeding"]).result("seeding")
    assert result.status == PASS
    assert "deterministic, as declared (metadata['deterministic'] is True)" in result.message
    # undeclared, the same env gets the seeding warning
    result = fuzz(broken("IgnoresSeed"), properties=["seeding"]).result("seeding")
    assert result.status == "warn"
    result = fuzz(broken("IgnoresSeed"), properties=["seeding"], deterministic=True)
    assert result.result("seeding").status == PASS


def test_a_claimed_determinism_that_uses_the_rng_fails(tmp_path):
    result = fuzz(broken("ClaimsDeterminism"), properties=["seeding"]).result("seeding")
    assert result.status == FAIL
    assert "declared deterministic (metadata['deterministic'] is True), but seeds" in result.message
    assert "differ at step 1: obs[0]" in result.message
    assert_fails_at_mark(result.reproduction, tmp_path, "call 1 differs: obs[0]")


def test_the_deterministic_flag_checks_an_env_that_does_not_say_so(tmp_path):
    result = fuzz(broken("Walker"), properties=["seeding"], deterministic=True).result("seeding")
    assert result.status == FAIL and "(--deterministic)" in result.message
    assert "differ at the first reset" in result.message
    assert_fails_at_mark(result.reproduction, tmp_path, "call 0 differs: obs[0]")


# ------------------------------------------------------------------------------------------
# action masks
# ------------------------------------------------------------------------------------------


def test_well_formed_masks_pass_in_both_conventions():
    result = fuzz(broken("MaskedWalker"), properties=["action_mask"]).result("action_mask")
    assert result.status == PASS
    assert result.message.startswith("info['action_mask'] and action_masks() checked")


def test_an_env_without_masks_skips():
    result = fuzz(broken("Walker"), properties=["action_mask"]).result("action_mask")
    assert result.status == SKIP and "no info['action_mask']" in result.message


# planted bug, what the message says, what the reproduction's failure shows
MASK_CASES = [
    ("MaskWrongDtype", "the mask has dtype bool and shape (3,), not dtype int8", "dtype bool"),
    ("MaskWrongShape", "the mask has dtype int8 and shape (2,), not dtype int8 and shape (3,)", ""),
    ("MaskAllowsNothing", "step 5: info['action_mask'] = array([0, 0, 0], dtype=int8) allows", ""),
    ("MaskedActionCrashes", "raised IndexError: no cell to the right", "IndexError"),
    ("MethodMaskWrongShape", "action_masks() has shape (4,), not (3,) for Discrete(3)", ""),
]


@pytest.mark.parametrize(("name", "says", "shows"), MASK_CASES, ids=[c[0] for c in MASK_CASES])
def test_mask_bug_is_caught_by_action_mask(tmp_path, name, says, shows):
    result = fuzz(broken(name), properties=["action_mask"]).result("action_mask")
    assert result.status == FAIL, (result.status, result.message)
    assert says in result.message
    assert_fails_at_mark(result.reproduction, tmp_path, shows)


def test_taxi_masks_pass():
    taxi = next(i for i in ("Taxi-v4", "Taxi-v3") if i in gym.registry)
    result = fuzz(taxi, properties=["action_mask"], examples=3).result("action_mask")
    assert result.status == PASS and result.message.startswith("info['action_mask'] checked")


def test_mask_helpers_know_each_spaces_form():
    import numpy as np

    from envgen.testing._masks import (
        allows_nothing,
        gymnasium_mask_problem,
        sb3_mask_problem,
        sb3_to_gymnasium,
    )

    md = gym.spaces.MultiDiscrete([2, 3])
    good = (np.array([1, 0], np.int8), np.array([0, 1, 1], np.int8))
    assert gymnasium_mask_problem(md, good) is None
    assert "dimension 1" in gymnasium_mask_problem(md, (good[0], np.ones(2, np.int8)))
    assert allows_nothing(md, (good[0], np.zeros(3, np.int8)))
    flat = np.array([True, False, False, True, True])
    assert sb3_mask_problem(md, flat) is None
    converted = sb3_to_gymnasium(md, flat)
    assert all(np.array_equal(a, b) for a, b in zip(converted, good, strict=True))
    mb = gym.spaces.MultiBinary(2)
    assert gymnasium_mask_problem(mb, np.array([2, 3], np.int8)).startswith("the mask holds")
    assert sb3_to_gymnasium(mb, np.array([1, 1, 0, 1], bool)).tolist() == [2, 1]
    assert "not" in sb3_mask_problem(gym.spaces.Box(0, 1, (2,)), np.ones(2, bool))


def test_a_vector_env_declared_deterministic_is_checked(tmp_path):
    result = fuzz(broken("VecWalkers"), properties=["seeding"], deterministic=True)
    result = result.result("seeding")
    assert result.status == FAIL and "declared deterministic (--deterministic)" in result.message
    assert_fails_at_mark(result.reproduction, tmp_path, "obs[0, 0]")


# ------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------


def test_the_command_line_takes_the_new_options():
    import json

    from test_fuzz_cli import fuzz_cli

    run = fuzz_cli(
        "generated:envgen/GoLeft-v0",
        "--vector",
        "vector_entry_point",
        "--autoreset",
        "SameStep",
        "--property",
        "autoreset",
        "--json",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["targets"] == ["generated:envgen/GoLeft-v0[vector_entry_point x2, SameStep]"]
    assert report["results"][0]["message"].startswith("autoreset mode SameStep")
    run = fuzz_cli(broken("Walker"), "--deterministic", "--property", "seeding")
    assert run.returncode == 1 and "declared deterministic (--deterministic)" in run.stdout
    run = fuzz_cli(broken("MaskWrongShape"), "--property", "action_mask", "--vector-rtol", "0")
    assert run.returncode == 1 and "not dtype int8 and shape (3,)" in run.stdout


def test_a_time_limit_episode_longer_than_the_budget_allows_is_not_run():
    # CarRacing on a loaded machine: 1000 steps at 130 ms took 163 s of a 60 s budget
    from envgen.testing._budget import plan

    class LongSlowWalker(broken_envs.SlowWalker):  # 20 ms per step
        max_episode_steps = 1000

    ctx = prepare(resolve_target(LongSlowWalker), Settings(budget=10))
    cut = plan(ctx, ["step", "time_limit"])
    assert "time_limit not checked (one episode of 1000 steps would take about" in cut.note
    assert cut.settings.limit_examples == 0
    ctx.settings = cut.settings
    result = run_property("time_limit", ctx)
    assert result.status == SKIP and result.message.startswith("budget: one episode of")
    # a budget that fits one episode runs it
    ctx = prepare(resolve_target(LongSlowWalker), Settings(budget=200))
    assert plan(ctx, ["step", "time_limit"]).settings.limit_examples != 0


def test_vector_masks_are_checked_row_by_row(tmp_path):
    result = fuzz(broken("VecMaskedWalkers"), properties=["action_mask"]).result("action_mask")
    assert result.status == PASS, result.message
    result = fuzz(broken("VecMaskAllowsNothing"), properties=["action_mask"])
    result = result.result("action_mask")
    assert result.status == FAIL
    assert "sub-env 1's info['action_mask'][1] = array([0, 0, 0], dtype=int8) allows no" in (
        result.message
    )
    assert_fails_at_mark(result.reproduction, tmp_path, "AssertionError")


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_taxi_in_a_sync_vector_env_passes_action_mask(mode):
    taxi = next(i for i in ("Taxi-v4", "Taxi-v3") if i in gym.registry)
    target = resolve_target(taxi, vector="sync", vector_kwargs={"autoreset_mode": mode})
    result = fuzz(target, properties=["action_mask"], examples=4).result("action_mask")
    assert result.status == PASS, result.message


def test_termination_is_skipped_when_the_budget_cuts_runs_below_ten_steps():
    ctx = prepare(resolve_target(broken_envs.FixedHorizon), Settings(budget=None))
    ctx.settings = Settings(budget=60, max_steps=5)  # what a plan gives a very slow env
    result = run_property("termination", ctx)
    assert result.status == SKIP and result.message.startswith("budget: runs cut to 5 steps")
    ctx.settings = Settings(budget=None, max_steps=5)  # asked for, not cut: checked
    assert run_property("termination", ctx).status == PASS  # ends at 25: not seen in 5 steps


def test_fuzzing_leaves_no_hypothesis_folder_in_the_working_folder(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env |= {"XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(Path(__file__).parents[2])}
    code = "from envgen.testing import fuzz; assert fuzz('CartPole-v1', properties=['reset']).ok"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert list(work.iterdir()) == []  # Hypothesis' constants cache went elsewhere
    assert (cache / "envgen" / "hypothesis").is_dir()


# ------------------------------------------------------------------------------------------
# vector seeding: a fixed start is fine when the seed shows in the trajectory
# ------------------------------------------------------------------------------------------


def test_vector_seeding_looks_past_a_fixed_start(tmp_path):
    # a newcomer's Nim (always the same heap, a random reply) got "seeds gave identical batched
    # initial observations" from the vector check where the single env's check passed, with a
    # reproduction that ran nothing
    ids = {"gusts": "envgen-fuzz-r3/gusts-v0", "ignores": "envgen-fuzz-r3/ignores-seed-v0"}
    gym.register(ids["gusts"], entry_point=broken_envs.FixedStartGusts)
    gym.register(ids["ignores"], entry_point=broken_envs.FixedStartNoDraws)
    try:
        gusts = fuzz(resolve_target(ids["gusts"], vector="sync"), properties=["seeding"])
        assert gusts.result("seeding").status == PASS
        assert gusts.result("seeding").message == "trajectories depend on the seed"
        ignores = fuzz(resolve_target(ids["ignores"], vector="sync"), properties=["seeding"])
        result = ignores.result("seeding")
        assert result.status == "warn" and "identical trajectories" in result.message
        assert_fails_at_mark(result.reproduction, tmp_path, "the seed changes nothing")
    finally:
        for env_id in ids.values():
            gym.registry.pop(env_id, None)
