"""The vector envs' Discrete action check: a valid int64 batch is used as it is (one compiled
pass, no copy), anything else is converted or refused exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from envgen.runtime import InvalidAction
from envgen.runtime.vector import (
    _discrete_in_range_loop,
    _discrete_in_range_numpy,
    numba_module,
)
from generated.envgen_cart_pole_v1_vector import CartPoleV1VectorEnv
from generated.envgen_dice_guess_v0_vector import DiceGuessV0VectorEnv


def test_compiled_and_numpy_range_checks_agree_at_the_edges() -> None:
    rng = np.random.default_rng(0)
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0, 1, 5, 6, 7])
    for start, n in ((0, 2), (1, 6), (-3, 4)):
        for size in (0, 1, 7, 64, 1000):
            actions = rng.integers(start, start + n, size)
            assert _discrete_in_range_loop(actions, start, n)
            assert _discrete_in_range_numpy(actions, start, n)
            for value in extremes if size else []:
                bad = actions.copy()
                bad[rng.integers(size)] = value
                want = start <= value < start + n
                assert _discrete_in_range_loop(bad, start, n) == want
                assert _discrete_in_range_numpy(bad, start, n) == want


def test_a_valid_int64_batch_is_used_without_a_copy() -> None:
    envs = CartPoleV1VectorEnv(num_envs=8)
    envs.reset(seed=0)
    actions = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    assert envs._check_actions(actions) is actions
    converted = envs._check_actions(actions.astype(np.int32))
    assert converted.dtype == np.int64 and np.array_equal(converted, actions)
    assert envs._check_actions(actions.tolist()).tolist() == actions.tolist()
    with pytest.raises(InvalidAction, match="not in the action space Discrete"):
        envs._check_actions(actions.astype(np.float64))  # as the single env: floats are not in it
    dice = DiceGuessV0VectorEnv(num_envs=3)
    dice.reset(seed=0)
    faces = np.array([1, 6, 3])
    assert dice._check_actions(faces) is faces  # Discrete(6, start=1)
    with pytest.raises(InvalidAction, match="not in the action space"):
        dice.step(np.array([0, 1, 2]))
    with pytest.raises(InvalidAction, match="not in the action space"):
        dice.step(np.array([1, 7, 2]))


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ([0, 1, 2, 0], "not in the action space"),
        ([0, -1, 1, 0], "not in the action space"),
        ([0, 1, 1], "one action per env"),
        ([[0, 1, 1, 0]], "one action per env"),
    ],
)
def test_out_of_range_or_misshapen_batches_are_refused(bad: list, words: str) -> None:
    envs = CartPoleV1VectorEnv(num_envs=4)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=words):  # InvalidAction is a ValueError
        envs.step(np.array(bad))


def test_time_limit_override_follows_timelimit_around_the_single_env() -> None:
    """`max_episode_steps=` means what `gym.make(id, max_episode_steps=N)` means for the
    single env: it can shorten the spec's limit (GoLeft: 100), never lengthen it, and
    what TimeLimit refuses is refused."""
    import gymnasium as gym

    from generated.envgen_go_left_v0 import GoLeftV0Env
    from generated.envgen_go_left_v0_vector import GoLeftV0VectorEnv

    for given, expected in ((150, 100), (50, 50), (10**30, 100)):
        single = gym.wrappers.TimeLimit(GoLeftV0Env(), given)
        single.reset(seed=0)
        steps = 1
        while not single.step(1)[3]:  # always right: never terminates
            steps += 1
        envs = GoLeftV0VectorEnv(num_envs=2, max_episode_steps=given)
        envs.reset(seed=0)
        vector_steps = 1
        while not envs.step(np.ones(2, dtype=np.int64))[3].all():
            vector_steps += 1
        assert steps == vector_steps == expected, (given, steps, vector_steps)
        assert envs.backend == ("numba" if numba_module() is not None else "numpy")
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="max_episode_steps must be a positive int"):
            GoLeftV0VectorEnv(num_envs=2, max_episode_steps=bad)


def test_sub_envs_refuse_what_the_batch_cannot_hold_unchanged() -> None:
    """Hostile trial 4 (H15): the vector env's own rule for actions its batch cannot hold
    as given (not the single env's: this test does not claim the two agree on them).
    'raise' refuses float rows (not in a Discrete or MultiDiscrete space) in both backends,
    naming the single space; 'ignore' steps integral floats as SyncVectorEnv of single envs
    does and refuses the rest (1.7, "1", None), where the single env would step a value the
    vector env could only convert."""
    from gymnasium.vector import SyncVectorEnv

    from generated.envgen_go_left_v0 import GoLeftV0Env
    from generated.envgen_go_left_v0_vector import GoLeftV0VectorEnv
    from generated.envgen_two_dials_v0_vector import TwoDialsV0VectorEnv

    for backend in ("numpy", "numba"):
        dials = TwoDialsV0VectorEnv(num_envs=3, backend=backend, invalid_action="raise")
        dials.reset(seed=0)
        for bad in ([[0, 0], [1.7, 1.7], [0.2, 0.2]], [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]):
            with pytest.raises(InvalidAction, match=r"action space MultiDiscrete\(\[3 3\]\)"):
                dials.step(np.array(bad))
        ignoring = GoLeftV0VectorEnv(num_envs=3, backend=backend, invalid_action="ignore")
        sync = SyncVectorEnv([lambda: GoLeftV0Env(invalid_action="ignore") for _ in range(3)])
        ignoring.reset(seed=0)
        sync.reset(seed=0)
        integral = np.array([0.0, 1.0, 0.0])
        got, want = ignoring.step(integral), sync.step(integral)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        for bad in (
            np.array([0.0, 1.7, 0.2]),
            np.array(["0", "1", "0"]),
            np.array([0, None, 1], dtype=object),
        ):
            with pytest.raises(
                InvalidAction, match=r"unchanged.*Discrete\(2\)|Discrete\(2\).*unchanged"
            ):
                ignoring.step(bad)
