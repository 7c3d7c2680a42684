"""The Numba kernel where the single env's state changes type after the first step, its
IndexError, and int64 floor division at INT64_MIN // -1 (issue 17; docs/vectorization.md,
"The compiled kernel", and docs/spec.md, "Numbers")."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import build_package
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from test_vector import same, step_alike

from envgen.runtime.vector import KernelIndexError

# As MountainCarContinuous (and Gymnasium's): float64 state right after reset, float32
# after each step, so the first step computes in float64 and the later ones in float32.
# The reward and terminated compute with the state; cos(3 * x) is math on step-start
# values, which the kernel hoists only where one typing of the step serves.
DRIFT = """\
id: test/Drift-v0
action_space: {Box: {low: -1.0, high: 1.0, shape: [1], dtype: float32}}
observation_space: {Box: {low: -inf, high: inf, shape: [2], dtype: float64}}
state:
  x: {init: "uniform(-0.6, -0.4)"}
  v: {init: 0.0}
reset: |
  x = float64(x)
  v = float64(v)
step: |
  a = v + action[0] * 0.001 - 0.0025 * cos(3 * x)
  if a > 0.002:
      a = 0.002
  x = float32(x + a)
  v = float32(a)
observation: [x, v]
reward: x * 0.3 - v
terminated: x > -0.3
max_episode_steps: 40
"""


def test_state_that_turns_float32_after_the_first_step_steps_in_the_kernel(tmp_path):
    """Each env runs the first step's typing right after a (re)set and the later one after;
    sub-envs equal the single env exactly, with envs on both typings in one batch."""
    built = build_package(tmp_path, DRIFT)
    assert built.model.step_variants, "the analysis types the step twice"
    for mode in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        vec = built.vector(num_envs=6, autoreset_mode=mode)
        assert vec.backend == "numba", vec.backend_note
        sync = SyncVectorEnv([built.single for _ in range(6)], autoreset_mode=mode)
        same(vec.reset(seed=3), sync.reset(seed=3))
        rng = np.random.default_rng(3)
        for t in range(120):
            if t % 9 == 4:  # some envs back on their first step, the others not
                mask = rng.random(6) < 0.5
                same(
                    vec.reset(options={"reset_mask": mask}),
                    sync.reset(options={"reset_mask": mask.copy()}),
                    f"{mode} reset {t}",
                )
            actions = rng.uniform(-1, 1, (6, 1)).astype(np.float32)
            same(vec.step(actions), sync.step(actions), f"{mode} step {t}")


def test_step_info_whose_dtype_changes_stays_with_the_numpy_code(tmp_path):
    """The kernel's info arrays have one dtype; an info value that is float64 on the first
    step and float32 later leaves the env to the NumPy code, which follows it exactly."""
    built = build_package(tmp_path, DRIFT + "info: {step_a: a}\n")
    vec = built.vector(num_envs=3)
    assert vec.backend == "numpy"
    assert "the step's info has other dtypes after the first step" in vec.backend_note
    sync = SyncVectorEnv([built.single for _ in range(3)])
    same(vec.reset(seed=1), sync.reset(seed=1))
    for t in range(4):
        actions = np.full((3, 1), 0.5, dtype=np.float32)
        same(vec.step(actions), sync.step(actions), f"step {t}")


TABLES = """\
id: test/Tables-v0
action_space: {Discrete: 16}
observation_space: {Box: {low: -inf, high: inf, shape: [1], dtype: float64}}
let:
  table: "[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]"
  grid: "[[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15]]"
state:
  total: {init: 0.0}
step: |
  k = action - 10
  if k < 0:
      total = total + table[k]
  else:
      total = total + grid[1, k]
observation: [total]
reward: 0.0
terminated: false
max_episode_steps: 100
"""


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (2, "index -8 is out of bounds for axis 0 with size 7"),
        (15, "index 5 is out of bounds for axis 1 with size 5"),
    ],
)
def test_kernel_index_error_names_the_index_axis_and_size(tmp_path, action, message):
    """As NumPy's (and the single env's) IndexError says it; the message is built only when
    raised (KernelIndexError), and survives pickling (AsyncVectorEnv sends errors back)."""
    built = build_package(tmp_path, TABLES)
    single = built.single()
    single.reset(seed=0)
    with pytest.raises(IndexError, match=f"^{message}$"):
        single.step(action)
    vec = built.vector(num_envs=3)
    assert vec.backend == "numba", vec.backend_note
    vec.reset(seed=0)
    vec.step(np.array([3, 10, 14]))  # in bounds: table[-7], grid[1, 0], grid[1, 4]
    with pytest.raises(KernelIndexError, match=f"^{message}$") as raised:
        vec.step(np.array([3, action, 14]))
    copy = pickle.loads(pickle.dumps(raised.value))
    assert isinstance(copy, IndexError) and str(copy) == message


INT64_MIN_DIVISION = """\
id: test/Int64MinDivision-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -inf, high: inf, shape: [5], dtype: float64}}
state:
  x: {dtype: int64, init: -9223372036854775807}
  y: {dtype: int64, init: 0}
  q: {dtype: int64, init: 0}
  r: {dtype: int64, init: 0}
  z: {dtype: int64, init: 0}
step: |
  x = x - 1
  y = y - 1 + action
  q = x // y
  r = x % y
  z = x
  z //= y
observation: [x, y, q, r, z]
reward: 0.0
terminated: false
max_episode_steps: 10
"""


def test_int64_min_floor_divided_by_minus_one_wraps_in_the_kernel(tmp_path):
    """int64 wraps (docs/spec.md, "Numbers"): INT64_MIN // -1 is INT64_MIN in every backend
    (Numba's own // gives 0 there); // 0 stays 0 (hostile trial 5 K1)."""
    built = build_package(tmp_path, INT64_MIN_DIVISION)
    vec = built.vector(num_envs=2)
    assert vec.backend == "numba", vec.backend_note
    sync = SyncVectorEnv([built.single for _ in range(2)])
    same(vec.reset(seed=0), sync.reset(seed=0))
    first = vec.step(np.array([0, 1]))  # y: -1 (INT64_MIN // -1) and 0 (x // 0)
    same(first, sync.step(np.array([0, 1])))
    assert first[0][0, 2] == first[0][0, 4] == -(2.0**63)  # q and z wrapped, not 0
    assert first[0][1, 2] == first[0][1, 4] == 0.0
    for _ in range(3):
        same(vec.step(np.array([0, 0])), sync.step(np.array([0, 0])))


NARROW_UPDATES = """\
id: test/NarrowUpdates-v0
params:
  kick: {default: 0.3}
action_space: {Discrete: 3}
observation_space: {Box: {low: -1000, high: 1000, shape: [4], dtype: float32}}
state:
  v: {dtype: float32, init: "float32(0.0)"}
  w: {dtype: float32, init: "float32(0.0)"}
  u: {dtype: float32, init: "float32(0.0)"}
  k: {dtype: int16, init: 0}
step: |
  if action == 1:
      v += kick
  if action == 2:
      v -= kick * 0.7
  w *= 1.0 - kick
  w += 0.1
  u = u + kick
  k += 1000
observation: "[v, w, u, float32(k)]"
max_episode_steps: 100
"""


def test_augmented_assignments_of_narrow_state_round_as_their_assignment_form(tmp_path):
    """`v += kick` on float32 state computes in float32 (NEP 50), as `v = v + kick` does,
    and `k += 1000` on int16 wraps (trial 6 newcomer P9: the kernel's `+=` widened)."""
    built = build_package(tmp_path, NARROW_UPDATES)
    vec = built.vector(num_envs=4)
    assert vec.backend == "numba", vec.backend_note
    step_alike(vec, SyncVectorEnv([built.single for _ in range(4)]), 2, 120)


INT64_WRAP_THEN_ABS = """\
id: test/Int64WrapThenAbs-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -inf, high: inf, shape: [1], dtype: float64}}
state:
  lo: {dtype: int64, init: -9223372036854775806}
step: |
  lo = lo - 1 - action
  m = abs(lo)
  n = lo * 3 + 1
observation: [0.0]
reward: 0.0
terminated: false
info: {lo: lo, m: m, n: n}
max_episode_steps: 10
"""


def test_int64_wrapping_in_a_step_is_seen_by_what_follows(tmp_path):
    """`lo - 1` past INT64_MIN wraps, and `abs(lo)` in the same step sees the wrapped value:
    Numba's signed + - * let LLVM assume no overflow (`nsw`) and fold abs(lo - 1) into a
    negative number (trial 6 newcomer P1); values the analysis cannot bound compute in
    uint64 bits."""
    built = build_package(tmp_path, INT64_WRAP_THEN_ABS)
    vec = built.vector(num_envs=2)
    assert vec.backend == "numba", vec.backend_note
    sync = SyncVectorEnv([built.single for _ in range(2)])
    same(vec.reset(seed=0), sync.reset(seed=0))
    results = []
    for t in range(3):
        actions = np.array([t % 2, 1])
        results.append(vec.step(actions))
        same(results[-1], sync.step(actions), f"step {t}")
    info = results[1][4]  # env 0: -2**63 + 1 - 2 wrapped to 2**63 - 1, and its abs
    assert info["lo"][0] == info["m"][0] == 2**63 - 1, info


def test_int64_products_the_analysis_cannot_bound_wrap_in_the_kernel(tmp_path):
    """`len(t) * 2**62` is 3 * 2**62, which wraps to -2**62 in every backend; the kernel
    gave the unwrapped 1.38e19 through where() (trial 6 hostile Q6)."""
    spec = INT64_WRAP_THEN_ABS.replace(
        "  n = lo * 3 + 1\n",
        "  t = [1, 2, 3]\n  n = where(action > 0, len(t) * 4611686018427387904, 0)\n",
    )
    built = build_package(tmp_path, spec)
    vec = built.vector(num_envs=2)
    assert vec.backend == "numba", vec.backend_note
    sync = SyncVectorEnv([built.single for _ in range(2)])
    same(vec.reset(seed=0), sync.reset(seed=0))
    result = vec.step(np.array([0, 1]))
    same(result, sync.step(np.array([0, 1])))
    assert list(result[4]["n"]) == [0, -(2**62)]


def test_spec_functions_called_with_state_that_changes_type_stay_with_the_numpy_code(tmp_path):
    """A call's function variant is one for both typings of the step: called with the state
    float64 after a reset and float32 after a step, it would compute the float32 calls in
    float64 (trial 6 hostile Q3). The NumPy code follows the single env exactly."""
    spec = DRIFT.replace(
        "id: test/Drift-v0\n",
        "id: test/DriftFunction-v0\nfunctions:\n  g:\n    args: [s]\n"
        "    return: sin(s) * 3.0 + s / 7.0\n",
    ).replace("  x = float32(x + a)\n", "  x = float32(x + a + 0.001 * g(x))\n")
    built = build_package(tmp_path, spec)
    vec = built.vector(num_envs=3)
    assert vec.backend == "numpy"
    assert "calls a spec function with state whose type changes" in vec.backend_note
    step_alike(vec, SyncVectorEnv([built.single for _ in range(3)]), 4, 30)
