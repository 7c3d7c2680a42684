"""Vector env targets: Gymnasium 1.x's vector contract, on correct and planted-bug vector envs."""

from __future__ import annotations

import broken_envs
import gymnasium as gym
import pytest
from fuzz_helpers import assert_fails_at_mark, broken

from envgen.testing import FAIL, PASS, SKIP, WARN, TargetError, format_result, fuzz, resolve_target

VECTOR_PROPERTIES = [
    "reset",
    "step",
    "determinism",
    "seeding",
    "fresh_arrays",
    "independent_instances",
    "close",
    "autoreset",
    "sub_envs",
]


def _assert_conforms(report):
    assert report.ok, "\n\n".join(format_result(r) for r in report.failures)
    statuses = {r.property: r.status for r in report.results}
    for prop in VECTOR_PROPERTIES:
        assert statuses[prop] == PASS, (prop, report.result(prop).message)
    # the single-env properties that have no vector meaning say so
    for prop in ("time_limit", "render", "pickle", "stateful", "invalid_action"):
        assert statuses[prop] == SKIP and "vector env" in report.result(prop).message


def test_a_correct_hand_written_vector_env_passes():
    _assert_conforms(fuzz(broken("VecWalkers")))


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_make_vec_sync_passes_in_each_autoreset_mode(mode):
    target = resolve_target("CartPole-v1", vector="sync", vector_kwargs={"autoreset_mode": mode})
    assert target.name == f"CartPole-v1[sync x2, {mode}]"
    report = fuzz(target, budget=None)  # the message checked below, not a budget note
    _assert_conforms(report)
    assert report.result("autoreset").message == f"autoreset mode {mode}"


def test_gymnasium_cartpole_vector_env_shares_one_generator():
    # CartPoleVectorEnv draws every sub-env's reset state from one generator: a sub-env's next
    # episode depends on when the others ended. A warning, not a failure (dynamics stay apart).
    report = fuzz(resolve_target("CartPole-v1", vector="vector_entry_point"))
    assert report.ok, "\n\n".join(format_result(r) for r in report.failures)
    result = report.result("sub_envs")
    assert result.status == WARN and "after its first reset" in result.message


# planted bug, intended property, what the message says, what the reproduction's failure shows
VECTOR_CASES = [
    ("VecReusesBuffers", "fresh_arrays", "changed in place the obs", "changed in place: obs[0, 0]"),
    ("VecNoInfoMasks", "reset", "info['t'] has no mask info['_t']", "info['t'] has no mask"),
    ("VecWrongBatchSpace", "reset", "not batch_space(vec.single_observation_space, 2)", "Box"),
    ("VecNextStepKeepsFlags", "autoreset", "in NEXT_STEP mode this step resets it", "reward["),
    ("VecSameStepNoFinalObs", "autoreset", "info has no 'final_obs'", "final_obs"),
    ("VecDisabledResetsAll", "autoreset", "was not in the reset_mask, yet its obs changed", ""),
    ("VecCoupled", "sub_envs", "sub-env 0 depends on the other sub-envs' actions", "call 1"),
]


@pytest.mark.parametrize(
    ("name", "prop", "says", "shows"), VECTOR_CASES, ids=[c[0] for c in VECTOR_CASES]
)
def test_vector_bug_is_caught_by_its_property(tmp_path, name, prop, says, shows):
    result = fuzz(broken(name), properties=[prop]).result(prop)
    assert result.status == FAIL, (result.status, result.message)
    assert says in result.message
    assert f"= {name}(" in result.reproduction
    assert_fails_at_mark(result.reproduction, tmp_path, shows)


def test_vector_bugs_are_not_reported_by_unrelated_properties():
    report = fuzz(broken("VecReusesBuffers"))
    assert [r.property for r in report.failures] == ["fresh_arrays"]
    report = fuzz(broken("VecCoupled"), properties=["reset", "step", "autoreset", "determinism"])
    assert report.ok


def test_a_missing_autoreset_mode_is_a_warning():
    class Undeclared(broken_envs.VecWalkers):
        metadata = {}

    result = fuzz(Undeclared, properties=["autoreset"]).result("autoreset")
    assert result.status == WARN and "no 'autoreset_mode'" in result.message


def test_an_unknown_autoreset_mode_fails():
    class Bogus(broken_envs.VecWalkers):
        metadata = {"autoreset_mode": "Sometimes"}

    result = fuzz(Bogus, properties=["autoreset"]).result("autoreset")
    assert result.status == FAIL and "is not a gymnasium.vector.AutoresetMode" in result.message


def test_one_sub_env_has_nothing_to_be_independent_of():
    result = fuzz(lambda: broken_envs.VecWalkers(num_envs=1), properties=["sub_envs"])
    assert result.result("sub_envs").status == SKIP


def test_vector_option_is_for_registered_ids_only():
    with pytest.raises(TargetError, match="registered env ids"):
        resolve_target(f"{broken_envs.__file__}:Walker", vector="sync")
    with pytest.raises(TargetError, match="no vector_entry_point"):
        resolve_target("Pendulum-v1", vector="vector_entry_point")
    with pytest.raises(TargetError, match="unknown vectorization mode"):
        resolve_target("Pendulum-v1", vector="threads")


def test_single_env_targets_skip_the_vector_only_properties():
    report = fuzz("CartPole-v1", properties=["autoreset", "sub_envs"])
    assert all(r.status == SKIP and r.message == "not a vector env" for r in report.results)


def test_make_vec_reproductions_build_the_vector_env(tmp_path):
    gym.register("envgen-fuzz-test/CoupledVec-v0", entry_point=broken_envs.Walker)
    try:
        target = resolve_target("envgen-fuzz-test/CoupledVec-v0", vector="sync", num_envs=3)
        assert target.make_source("vec", None)[1] == (
            "vec = gym.make_vec('envgen-fuzz-test/CoupledVec-v0', num_envs=3, "
            "vectorization_mode='sync')"
        )
    finally:
        gym.registry.pop("envgen-fuzz-test/CoupledVec-v0", None)
