"""Round two of the fuzzer: the gaps of issue 15, each with a planted bug (see broken_envs)."""

from __future__ import annotations

import broken_envs
import pytest
from fuzz_helpers import assert_fails_at_mark, broken

from envgen.testing import FAIL, PASS, WARN, Settings, fuzz, resolve_target
from envgen.testing._budget import plan
from envgen.testing._runner import prepare

# ------------------------------------------------------------------------------------------
# termination used as a time limit
# ------------------------------------------------------------------------------------------


def test_fixed_horizon_without_a_declared_limit_is_a_warning(tmp_path):
    report = fuzz(broken("FixedHorizon"), properties=["termination", "time_limit"])
    result = report.result("termination")
    assert result.status == WARN and report.ok
    assert "terminated at step 25, whatever the actions: is this a time limit?" in result.message
    assert report.status("time_limit") == "skip"  # nothing declared, nothing to check
    assert_fails_at_mark(result.reproduction, tmp_path, "(25, True, False)")


def test_termination_at_the_declared_limit_fails():
    result = fuzz(broken("TerminatesAtLimit"), properties=["termination"]).result("termination")
    assert result.status == FAIL
    assert "ended at step 29 with terminated=True, truncated=False" in result.message
    assert "max_episode_steps=30" in result.message


def test_a_fixed_length_task_far_below_its_limit_is_only_a_warning():
    # a newcomer's Catch: every episode ends at step 7 with a real terminal state, and a safety
    # limit of 30 is declared; failing it pushed them to mislabel the end or drop the limit
    result = fuzz(broken("FixedLengthTask"), properties=["termination"]).result("termination")
    assert result.status == WARN
    assert "terminated at step 7" in result.message
    assert "max_episode_steps=30 is later" in result.message


def test_episodes_ending_at_different_steps_pass():
    # CartPole terminates (pole falls) at steps that depend on the actions
    result = fuzz("CartPole-v1", properties=["termination"]).result("termination")
    assert result.status == PASS and "different steps" in result.message
    # MountainCar's episodes all end at 200, truncated: that is a time limit done right
    result = fuzz("MountainCar-v0", properties=["termination"]).result("termination")
    assert result.status == PASS and "truncated at step 200" in result.message


# ------------------------------------------------------------------------------------------
# time limits under other names
# ------------------------------------------------------------------------------------------


def test_max_path_length_is_found_and_checked():
    result = fuzz(broken("MaxPathLength"), properties=["time_limit"]).result("time_limit")
    assert result.status == PASS
    assert result.message == "env.unwrapped.max_path_length=20"


def test_max_steps_is_found_and_a_late_truncation_fails():
    result = fuzz(broken("MaxStepsLate"), properties=["time_limit"]).result("time_limit")
    assert result.status == FAIL
    assert "not truncated at step 20 = env.unwrapped.max_steps" in result.message


def test_a_limit_attribute_that_is_not_an_int_is_reported():
    class NoneLimit(broken_envs.FixedHorizon):
        max_steps = "forever"

    result = fuzz(NoneLimit, properties=["time_limit"]).result("time_limit")
    assert result.status == "skip"
    assert "env.unwrapped.max_steps = 'forever' is not a positive int" in result.message


# ------------------------------------------------------------------------------------------
# EzPickle
# ------------------------------------------------------------------------------------------


def test_ezpickle_env_pickles_as_a_fresh_env_with_a_warning():
    report = fuzz(broken("EzWalker"))
    result = report.result("pickle")
    assert result.status == WARN and report.ok
    assert result.message.startswith("pickles as a fresh env (EzPickle)")
    assert [r.property for r in report.warnings] == ["pickle"]


def test_ezpickle_env_whose_clone_is_not_a_fresh_env_fails():
    result = fuzz(broken("EzWalkerWrongArgs"), properties=["pickle"]).result("pickle")
    assert result.status == FAIL
    assert "does not replay a fresh env" in result.message
    assert "obs[0]: np.float32(" in result.message  # the first differing field, both values


# ------------------------------------------------------------------------------------------
# messages: the first differing field and both values
# ------------------------------------------------------------------------------------------


def test_divergence_messages_name_the_field_and_both_values():
    result = fuzz(broken("GlobalRNG"), properties=["determinism"]).result("determinism")
    assert "at reset(seed=0): obs[0]: np.float32(" in result.message
    assert " != np.float32(" in result.message
    result = fuzz(broken("SharedState"), properties=["independent_instances"]).result(
        "independent_instances"
    )
    assert "diverge at step 1: obs[0]:" in result.message


# ------------------------------------------------------------------------------------------
# the fuzzer's own tests: the same-instance comparison of determinism
# ------------------------------------------------------------------------------------------


def test_reseeding_the_same_instance_must_replay():
    report = fuzz(broken("ReseedDrift"), properties=["determinism", "step", "reset"])
    result = report.result("determinism")
    assert result.status == FAIL
    # caught by the second reset(seed) of one instance, not by the fresh-instance comparison
    assert "with a second reset(seed) of env_a" in result.message
    assert report.status("step") == PASS and report.status("reset") == PASS


def test_a_crash_found_by_determinism_points_at_the_step(tmp_path):
    result = fuzz(broken("ReseedCrash"), properties=["determinism"]).result("determinism")
    assert result.message.startswith("env_a.step(action) (step 2) raised TypeError")
    assert "obs, info = env_a.reset(seed=0)\nobs, reward" in result.reproduction
    assert_fails_at_mark(result.reproduction, tmp_path, "TypeError")


# ------------------------------------------------------------------------------------------
# the time budget
# ------------------------------------------------------------------------------------------


def test_budget_cuts_a_slow_env_and_says_what_it_cut():
    target = resolve_target(broken_envs.SlowWalker)
    ctx = prepare(target, Settings(budget=10))
    assert ctx.step_seconds >= 0.02  # the env sleeps 20 ms per step
    cut = plan(ctx, ["reset", "step", "determinism", "time_limit", "stateful"])
    assert cut.settings.examples < 10
    assert cut.note.startswith("budget 10s at ")
    assert "examples 10 -> " in cut.note


def test_budget_leaves_fast_envs_alone():
    ctx = prepare(resolve_target(broken_envs.Walker), Settings())
    kept = plan(ctx, ["reset", "step", "determinism"])
    assert not kept.cut and kept.settings == Settings()


def test_no_budget_no_cut():
    ctx = prepare(resolve_target(broken_envs.SlowWalker), Settings(budget=None))
    assert ctx.step_seconds == 0.0
    assert not plan(ctx, ["step", "determinism"]).cut


def test_fuzz_reports_the_cut_and_progress():
    starts, ticks, notes = [], [], []
    report = fuzz(
        broken_envs.SlowWalker,
        properties=["reset", "step"],
        budget=4,
        on_start=lambda t, p: starts.append(p),
        on_tick=lambda t, p, i, n: ticks.append((p, i, n)),
        on_note=lambda t, note: notes.append(note),
    )
    assert report.ok
    assert starts == ["reset", "step"]
    assert notes and report.notes["SlowWalker"] == notes
    examples = report.settings.examples  # the settings asked for; the plan cut them
    step_ticks = [(i, n) for p, i, n in ticks if p == "step"]
    assert step_ticks and step_ticks[0] == (1, step_ticks[0][1]) and step_ticks[0][1] < examples


@pytest.mark.parametrize("budget", [0, None])
def test_zero_or_none_budget_disables_it(budget):
    report = fuzz(broken_envs.Walker, properties=["reset"], budget=budget)
    assert report.ok and not report.notes


def test_buffer_reuse_does_not_fool_the_comparisons():
    # Gymnasium#1681: a checker that keeps the returned arrays compares a buffer with itself.
    # The fuzzer copies what it compares: the reused buffer is caught by fresh_arrays alone.
    report = fuzz(broken("ReusedObsArray"), properties=["seeding", "determinism", "fresh_arrays"])
    assert report.status("seeding") == PASS  # not "ignores its seed"
    assert report.status("determinism") == PASS
    assert report.status("fresh_arrays") == FAIL


def test_a_property_past_its_deadline_stops_after_one_example():
    import time

    from envgen.testing._runner import run_property

    ctx = prepare(resolve_target(broken_envs.Walker), Settings())
    ticks = []
    result = run_property(
        "reset", ctx, deadline=time.perf_counter() - 1, tick=lambda i, n: ticks.append((i, n))
    )
    assert result.status == PASS
    assert result.message == "budget: stopped after 1 of 10 examples"
    assert ticks == [(1, 10)]


def test_a_failure_is_still_shrunk_past_the_deadline():
    import time

    from envgen.testing._runner import run_property

    ctx = prepare(resolve_target(broken_envs.NaNReward), Settings())
    result = run_property("step", ctx, deadline=time.perf_counter() - 1)
    # the first example already fails; shrinking is not cut short by the deadline
    assert result.status == FAIL and "env.step(np.int64(0))" in result.reproduction


def test_the_docs_table_lists_every_property_with_its_contract():
    from pathlib import Path

    from envgen.testing import properties

    doc = (Path(__file__).resolve().parents[2] / "docs" / "fuzzing.md").read_text()
    missing = [n for n, c in properties().items() if f"| `{n}` | {c} |" not in doc]
    assert not missing, f"docs/fuzzing.md's table lacks or misstates {missing}"


def test_difference_names_the_first_differing_field():
    import numpy as np

    from envgen.testing._repro import difference

    step = (np.array([1.0, 2.0], dtype=np.float32), 1.0, False, False, {"lives": 3})
    assert difference(step, step) is None
    assert difference(step, (step[0], 1.0, False, True, {"lives": 3})) == (
        "truncated: False != True"
    )
    assert difference(step, (*step[:4], {"lives": 2})) == "info['lives']: 3 != 2"
    other = np.array([1.0, 2.5], dtype=np.float32)
    assert difference((step[0], {}), (other, {})) == "obs[1]: np.float32(2.0) != np.float32(2.5)"
    assert difference(np.zeros((2, 2)), np.eye(2), "obs") == (
        "obs[0, 0]: np.float64(0.0) != np.float64(1.0)"
    )
    assert "only in the second ['b']" in difference({"a": 1}, {"a": 1, "b": 2}, "info")
    assert difference(1.0, np.float64(1.0), "reward") == (
        "reward: 1.0 (float) != np.float64(1.0) (float64)"
    )
