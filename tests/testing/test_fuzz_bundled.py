"""Zero false positives: Gymnasium's bundled envs pass the default suite (warnings allowed)."""

from __future__ import annotations

import pytest
from fuzz_helpers import registered

from envgen.testing import FAIL, PASS, SKIP, WARN, format_result, fuzz

BUNDLED = [
    ("CartPole-v1",),
    ("MountainCar-v0",),
    ("MountainCarContinuous-v0",),
    ("Pendulum-v1",),
    ("Acrobot-v1",),
    ("FrozenLake-v1",),
    ("Taxi-v4", "Taxi-v3"),
    ("CliffWalking-v1", "CliffWalking-v0"),
    ("Blackjack-v1",),
]


@pytest.mark.parametrize("candidates", BUNDLED, ids=lambda c: c[0])
def test_bundled_env_passes_the_default_suite(candidates):
    env_id = registered(*candidates)
    report = fuzz(env_id)
    assert report.ok, "\n\n".join(format_result(r) for r in report.failures)
    statuses = {r.property: r.status for r in report.results}
    # the core contracts really ran (not skipped) on every bundled env
    for prop in ("reset", "step", "determinism", "fresh_arrays", "pickle", "close", "stateful"):
        assert statuses[prop] == PASS, (prop, statuses[prop])
    assert all(s in (PASS, WARN, SKIP) for s in statuses.values())
    assert FAIL not in statuses.values()


def test_clipping_envs_only_warn_about_invalid_actions_by_default():
    report = fuzz("Pendulum-v1", properties=["invalid_action"])
    result = report.result("invalid_action")
    assert result.status == WARN
    assert "accepted" in result.message


def test_asserting_envs_refuse_invalid_actions():
    report = fuzz("CartPole-v1", properties=["invalid_action"], strict=True)
    assert report.status("invalid_action") == PASS


def test_time_limit_is_checked_on_registered_limits():
    result = fuzz("MountainCar-v0", properties=["time_limit"]).result("time_limit")
    assert result.status == PASS and "200" in result.message
