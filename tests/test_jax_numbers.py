"""The JAX backend follows the number rules (docs/spec.md, "Numbers") under jit too.

From a second newcomer and hostile trial: `int8(300.7)` in a state init was 127 in the single
env and eagerly in JAX, but 44 in the jitted gymnax face (a constant converted as NumPy does,
which wraps); a product of constants beyond int64 raised OverflowError at the first step; and
the fuzzer's JAX comparison called two identical NaN observations a disagreement.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

jax = pytest.importorskip("jax")  # the JAX extra; every other test runs without it

import envgen.jax  # noqa: E402
from envgen.cli import main  # noqa: E402
from envgen.jax._runtime import cast  # noqa: E402
from envgen.testing._jax import _close  # noqa: E402

EDGES = """\
id: jaxnum/Edges-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -1.0e+30, high: 1.0e+30, shape: [4], dtype: float64}}
state:
  k: {dtype: int8, init: "int8(300.7)"}
  u: {dtype: uint8, init: "uint8(-1.5)"}
  w: {dtype: int64, init: 0}
  f: {init: 1.0}
step: |
  w = len([1, 2, 3]) * 4611686018427387904
  f = sqrt(f - 2.0 * action)
observation: "[float(k), float(u), float(w), f]"
reward: 0.0
max_episode_steps: 10
"""

# needs no x64: an int64 Box and a float64 Box, which JAX without x64 holds as int32/float32
WIDE = """\
id: jaxnum/Wide-v0
action_space: {Discrete: 2}
observation_space:
  Dict:
    count: {Box: {low: 0, high: 100, shape: [2], dtype: int64}}
    x: {Box: {low: -10.0, high: 10.0, shape: [1], dtype: float64}}
state:
  n: {dtype: int64, init: 0}
step: |
  n = n + action
observation:
  count: "[n, 2 * n]"
  x: "[float(n) / 4.0]"
reward: 0.0
max_episode_steps: 10
"""


def test_float_to_int_casts_saturate_under_jit_as_eagerly() -> None:
    def casts() -> tuple:
        return (cast(300.7, "int8"), cast(-1.5, "uint8"), cast(float("nan"), "int8"))

    assert [int(v) for v in jax.jit(casts)()] == [int(v) for v in casts()] == [127, 0, 0]
    with jax.enable_x64(True):
        traced = jax.jit(lambda x: cast(x, "int64"))
        assert int(traced(np.float64(1e20))) == 2**63 - 1
        assert int(jax.jit(lambda: cast(1e20, "int64"))()) == 2**63 - 1
        assert int(jax.jit(lambda: cast(3 * 2**62, "int64"))()) == -(2**62)  # wraps


def test_nan_in_both_is_agreement_for_the_fuzzer() -> None:
    assert _close(np.array([1.0, np.nan]), np.array([1.0, np.nan]), 1e-7, 1e-9)
    assert not _close(np.array([1.0, np.nan]), np.array([1.0, 2.0]), 1e-7, 1e-9)
    assert _close(np.float32(np.nan), np.array(np.nan, dtype=np.float32), 1e-7, 1e-9)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("jaxnum")
    (folder / "edges.yaml").write_text(EDGES)
    (folder / "wide.yaml").write_text(WIDE)
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(folder / "jaxnumgen")])
    assert result.exit_code == 0, result.output
    sys.path.insert(0, str(folder))
    __import__("jaxnumgen")
    yield "jaxnumgen"
    sys.path.remove(str(folder))


def test_the_jitted_gymnax_face_gives_the_single_envs_numbers(package) -> None:
    import gymnasium as gym

    single = gym.make("jaxnum/Edges-v0")
    want = [single.reset(seed=0)[0]] + [single.step(a)[0] for a in (0, 1, 0)]
    with jax.enable_x64(True):
        env, params = envgen.jax.make(f"{package}:jaxnum/Edges-v0")
        obs, state = env.reset(jax.random.key(0), params)
        got = [np.asarray(obs)]
        for t, action in enumerate((0, 1, 0)):
            obs, state, *_ = env.step(jax.random.key(t), state, action, params)
            got.append(np.asarray(obs))
    assert want[0][:2].tolist() == [127.0, 0.0]
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(w, g)  # NaN where both have it
    assert np.isnan(want[2][3]) and want[1][2] == float(3 * 2**62 - 2**64)


def test_the_gymnasium_face_gives_observations_in_the_spaces_dtype(package) -> None:
    # a newcomer: without x64 an int64 Box came out int32, and Gymnasium's checker warned
    import gymnasium as gym

    assert not jax.config.jax_enable_x64
    env = gym.make("jaxnum/Wide-jax-v0")
    obs, _ = env.reset(seed=0)
    assert obs["count"].dtype == np.int64 and obs["x"].dtype == np.float64
    for action in (1, 1, 0):
        obs, *_ = env.step(action)
        assert obs["count"].dtype == np.int64 and obs["x"].dtype == np.float64
        assert env.observation_space.contains(obs)
    assert obs["count"].tolist() == [2, 4] and obs["x"].tolist() == [0.5]


def test_the_vector_face_gives_observations_in_the_batch_spaces_dtype(package) -> None:
    # hostile trial 6 Q12: without x64 gym.make_vec of a -jax id gave int32 observations for
    # an int64 Box (the single face already converted)
    import gymnasium as gym

    assert not jax.config.jax_enable_x64
    vec = gym.make_vec("jaxnum/Wide-jax-v0", num_envs=2, vectorization_mode="vector_entry_point")
    obs, _ = vec.reset(seed=0)
    for action in (1, 0):
        assert obs["count"].dtype == np.int64 and obs["x"].dtype == np.float64
        assert vec.observation_space.contains(obs)
        obs, *_ = vec.step(np.array([action, action]))
    assert obs["count"].tolist() == [[1, 2], [1, 2]]


def test_the_fuzzer_reports_jax_functions_that_raise_as_a_failure_of_the_env(
    package, monkeypatch
) -> None:
    # hostile trial 6 Q15: an OverflowError under jit was "envgen fuzz crashed" (an error
    # of the fuzzer, with its traceback) instead of a finding about the env
    import envgen.testing._jax as fuzz_jax
    from envgen.testing import FAIL, fuzz

    def overflow(*args, **kwargs):
        raise OverflowError("An overflow was encountered while parsing an argument\nmore")

    monkeypatch.setattr(fuzz_jax, "replay_problem", overflow)
    result = fuzz("jaxnum/Wide-v0", properties=["jax_agreement"], examples=2).result(
        "jax_agreement"
    )
    assert result.status == FAIL, result.message
    assert result.message == (
        "seed 0: raised OverflowError: An overflow was encountered while parsing an argument"
    )
