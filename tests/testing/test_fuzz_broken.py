"""Each deliberately broken env is caught by the intended property, with a runnable reproduction.

The reproductions are run in a fresh interpreter, outside the repository: each must fail the
same way (an AssertionError naming the broken contract, or the env's own exception).
"""

from __future__ import annotations

import ast
import re

import pytest
from fuzz_helpers import assert_fails_at_mark, broken

from envgen.testing import FAIL, PASS, SKIP, WARN, format_result, fuzz

VECTOR_ONLY = ("autoreset", "sub_envs")

# class, intended property, text the reproduction's failure must show, strict mode
CASES = [
    ("ObsDrift", "step", "is not in Box", False),
    ("LastStepIndexError", "step", "IndexError: index 30 is out of bounds", False),
    ("GlobalRNG", "determinism", "call 0 differs: obs[0]", False),
    ("SometimesFloat64", "step", "float64", False),
    ("NaNReward", "step", "nan", False),
    ("LateTruncation", "time_limit", "step 30 should truncate", False),
    ("AcceptsInvalid", "invalid_action", "env.step accepted", True),
    ("RenderShapeChange", "render", "AssertionError", False),
    ("SharedState", "independent_instances", "diverged at step 1: obs[0]", False),
    ("ReusedObsArray", "fresh_arrays", "changed in place: obs[0]", False),
    # round two
    ("TerminatesAtLimit", "termination", "(29, True, False)", False),
    ("InfoAliasesState", "fresh_arrays", "changed in place: info['state'][0]", False),
    ("ResetInfoAliased", "fresh_arrays", "changed in place: info['goal'][0]", False),
    ("MaxStepsLate", "time_limit", "step 20 should truncate", False),
    ("EzWalkerWrongArgs", "pickle", "call 2 differs: obs[0]", False),
    ("ReseedDrift", "determinism", "call 0 differs: obs[0]", False),
    ("ReseedCrash", "determinism", "TypeError: 'NoneType' object is not subscriptable", False),
    ("OneAtATime", "independent_instances", "RuntimeError: the device is held", False),
    ("OneAtATime", "determinism", "RuntimeError: the device is held", False),
    ("LosesStateOnPickle", "pickle", "AttributeError: 'LosesStateOnPickle' object has no", False),
]


@pytest.fixture(scope="module")
def reports():
    cache = {}

    def get(name, strict):
        if (name, strict) not in cache:
            cache[name, strict] = fuzz(broken(name), strict=strict)
        return cache[name, strict]

    return get


def test_the_correct_walker_passes_everything(reports):
    report = reports("Walker", False)
    assert report.ok, "\n\n".join(format_result(r) for r in report.failures)
    assert not report.warnings, [r.message for r in report.warnings]
    statuses = {r.property: r.status for r in report.results}
    assert statuses["vector"] == SKIP  # a class has no vector_entry_point
    assert statuses["time_limit"] == PASS  # read from the max_episode_steps attribute
    assert statuses["render"] == PASS  # rgb_array and ansi
    assert statuses["termination"] == PASS  # truncated at 30, never terminated
    assert all(statuses[p] == SKIP for p in VECTOR_ONLY)  # not a vector env
    assert statuses["action_mask"] == SKIP  # no masks
    # every other property of a single env applies to Walker and passes; properties added
    # later for other kinds of env (jax_agreement: envgen envs with a JAX module) may skip
    applies = (
        "reset", "step", "determinism", "seeding", "time_limit", "termination", "invalid_action",
        "render", "fresh_arrays", "independent_instances", "pickle", "close", "stateful",
    )  # fmt: skip
    assert all(statuses[p] == PASS for p in applies), statuses
    assert all(s in (PASS, SKIP) for s in statuses.values()), statuses


@pytest.mark.parametrize(
    ("name", "prop", "shows", "strict"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_bug_is_caught_by_its_property(reports, tmp_path, name, prop, shows, strict):
    report = reports(name, strict)
    result = report.result(prop)
    assert result.status == FAIL, (result.status, result.message)
    repro = result.reproduction
    assert repro, "a failure must come with a reproduction"
    ast.parse(repro)  # valid Python
    assert f"= {name}(" in repro and "seed=" in repro
    if prop not in ("render",):
        # the actions taken are listed (literally, or folded into a loop over a list)
        assert re.search(r"actions? = |env(_[ab])?\.step\(np\.int64\(|runs = \[", repro), repro
    # it fails when run, in a fresh interpreter, at the call (or check) it marks
    assert_fails_at_mark(repro, tmp_path, shows)


def test_shrinking_finds_a_short_sequence(reports):
    # SometimesFloat64 breaks on the first step that moves right: one action suffices
    repro = reports("SometimesFloat64", False).result("step").reproduction
    assert "actions = " not in repro
    assert "env.step(np.int64(2))" in repro
    # NaNReward breaks on the first step that moves left
    repro = reports("NaNReward", False).result("step").reproduction
    assert "env.step(np.int64(0))" in repro and "actions = " not in repro


def test_last_step_crash_needs_the_whole_episode(reports):
    result = reports("LastStepIndexError", False).result("step")
    assert "step 30" in result.message
    assert "[np.int64(0)] * 29" in result.reproduction  # shrunk to the simplest actions
    assert "IndexError" in result.detail  # the env's traceback is kept


def test_lenient_mode_only_warns_about_accepted_invalid_actions(reports):
    result = reports("AcceptsInvalid", False).result("invalid_action")
    assert result.status == WARN
    assert reports("AcceptsInvalid", False).ok


def test_global_rng_is_not_reported_by_unrelated_properties(reports):
    report = reports("GlobalRNG", False)
    for prop in ("reset", "step", "time_limit", "render", "close"):
        assert report.status(prop) in (PASS, SKIP), prop


def test_single_bug_envs_pass_unrelated_core_properties(reports):
    # bugs that do not touch the trajectories leave determinism alone
    for name in ("RenderShapeChange", "LateTruncation", "ReusedObsArray", "AcceptsInvalid"):
        report = reports(name, name == "AcceptsInvalid")
        assert report.status("determinism") == PASS, name
        assert report.status("step") == PASS, name
