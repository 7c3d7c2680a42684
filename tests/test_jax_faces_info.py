"""What the JAX faces give besides the step functions: reset info, masks after auto-reset,
Discrete observations, pickling, fuzzing a `-jax` id.

From a newcomer's trial (Nim with an action mask): after an auto-reset the faces returned
the terminal state's mask (all zeros) with the new state's observation, `reset()` gave no
mask, a Discrete observation came out as a 0-d array (Gymnasium's checker warned at every
step), a `-jax` env could not be pickled, and `envgen fuzz` on a `-jax` id crashed.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

jax = pytest.importorskip("jax")  # the JAX extra; every other test runs without it

import envgen.jax  # noqa: E402
from envgen.cli import main  # noqa: E402
from envgen.testing._jax import jax_module  # noqa: E402

#: Nim against a random reply: at most `max_take` stones, no more than remain (the mask).
NIM = """\
id: faces/Nim-v0
params:
  heap: {default: 5, ge: 1, le: 100}
  max_take: {default: 3, ge: 1, le: 9}
action_space: {Discrete: max_take}
observation_space: {Discrete: heap + 1}
state:
  stones: {dtype: int64, init: heap}
step: |
  stones = stones - min(action + 1, stones)
  if stones > 0:
      stones = stones - integers(1, min(max_take, stones) + 1)
action_mask: arange(max_take) < stones
observation: stones
reward: float(stones == 0)
terminated: stones == 0
info:
  left: stones
max_episode_steps: 20
"""

#: Two dials, each masked to the values not above a level (a tuple of masks in info).
DIALS = """\
id: faces/Dials-v0
action_space: {MultiDiscrete: [3, 4]}
observation_space: {Box: {low: 0, high: 9, shape: [1], dtype: int64}}
state:
  level: {dtype: int64, init: "integers(1, 3)"}
step: |
  level = level + action[0] - action[1] + 1
  level = clip(level, 0, 9)
action_mask: ["arange(3) <= level", "arange(4) <= level"]
observation: "[level]"
reward: 0.0
terminated: level >= 9
max_episode_steps: 10
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("faces")
    (folder / "nim.yaml").write_text(NIM)
    (folder / "dials.yaml").write_text(DIALS)
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(folder / "facesgen")])
    assert result.exit_code == 0, result.output
    sys.path.insert(0, str(folder))
    __import__("facesgen")
    yield "facesgen"
    sys.path.remove(str(folder))


def _mask_of(stones: int, max_take: int = 3) -> np.ndarray:
    return (np.arange(max_take) < stones).astype(np.int8)


def test_gymnax_auto_reset_gives_the_new_states_mask(package) -> None:
    env, params = envgen.jax.make(f"{package}:faces/Nim-v0")
    obs, state = env.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(env.reset_info(state, params)["action_mask"], _mask_of(5))
    step = jax.jit(env.step)
    ends = 0
    for t in range(40):
        obs, state, _, terminated, truncated, info = step(jax.random.key(t + 1), state, 2, params)
        # the mask returned is the one of the observation returned: after an auto-reset the
        # fresh heap's (all actions allowed), never the finished game's (none allowed)
        np.testing.assert_array_equal(info["action_mask"], _mask_of(int(obs)))
        assert int(info["left"]) == int(info["final_observation"])  # the step's own entry
        ends += bool(terminated | truncated)
    assert ends >= 3


def test_gymnasium_face_gives_the_mask_at_reset_and_int_observations(package) -> None:
    single = gym.make("faces/Nim-v0")
    jaxenv = gym.make("faces/Nim-jax-v0")
    obs, info = jaxenv.reset(seed=0)
    want_obs, want_info = single.reset(seed=0)
    assert type(obs) is int and obs == want_obs == 5
    assert set(info) == set(want_info) == {"action_mask", "left"}
    np.testing.assert_array_equal(info["action_mask"], want_info["action_mask"])
    assert info["action_mask"].dtype == want_info["action_mask"].dtype
    np.testing.assert_array_equal(jaxenv.unwrapped.action_masks(), single.unwrapped.action_masks())
    obs, _, _, _, info = jaxenv.step(0)
    assert type(obs) is int
    np.testing.assert_array_equal(info["action_mask"], _mask_of(obs))
    np.testing.assert_array_equal(jaxenv.unwrapped.action_masks(), _mask_of(obs).astype(bool))


def test_vector_face_restarts_with_the_fresh_mask(package) -> None:
    envs = gym.make_vec("faces/Nim-jax-v0", num_envs=3, vectorization_mode="vector_entry_point")
    _, info = envs.reset(seed=0)
    np.testing.assert_array_equal(info["action_mask"], np.tile(_mask_of(5), (3, 1)))
    assert info["_action_mask"].all()
    restarted = 0
    done = np.zeros(3, dtype=bool)
    for _ in range(30):
        obs, _, terminated, truncated, info = envs.step(np.full(3, 2))
        for i in range(3):
            np.testing.assert_array_equal(info["action_mask"][i], _mask_of(int(obs[i])))
        # an env that restarted has the entries a reset gives (the mask, `left`), as the
        # native vector env's NEXT_STEP autoreset: every entry here is one of those
        np.testing.assert_array_equal(info["_action_mask"], np.ones(3, dtype=bool))
        np.testing.assert_array_equal(info["_left"], np.ones(3, dtype=bool))
        np.testing.assert_array_equal(info["left"][done], np.full(done.sum(), 5))
        restarted += int((done & (obs == 5)).sum())
        done = terminated | truncated
    assert restarted >= 2


def test_multidiscrete_masks_are_a_tuple_in_every_face(package) -> None:
    single = gym.make("faces/Dials-v0")
    _, want = single.reset(seed=3)
    jaxenv = gym.make("faces/Dials-jax-v0")
    _, got = jaxenv.reset(seed=3)
    jax_level = int(jaxenv.unwrapped.state.env.level)
    level = int(single.unwrapped.level)
    env, params = envgen.jax.make(f"{package}:faces/Dials-v0")
    _, state = env.reset(jax.random.key(3), params)
    mask = env.reset_info(state, params)["action_mask"]
    assert isinstance(want["action_mask"], tuple) and isinstance(got["action_mask"], tuple)
    assert isinstance(mask, tuple) and len(mask) == 2
    np.testing.assert_array_equal(mask[1], (np.arange(4) <= int(state.level)).astype(np.int8))
    np.testing.assert_array_equal(want["action_mask"][0], (np.arange(3) <= level).astype(np.int8))
    assert got["action_mask"][0].dtype == np.int8
    for dim, count in enumerate((3, 4)):  # the values, for the JAX state's own level
        want_dim = (np.arange(count) <= jax_level).astype(np.int8)
        np.testing.assert_array_equal(got["action_mask"][dim], want_dim)


def test_a_jax_env_pickles_mid_episode(package) -> None:
    env = gym.make("faces/Nim-jax-v0", heap=9)
    env.reset(seed=1)
    env.step(0)
    saved = pickle.dumps(env)
    envgen.jax._env._JITTED.clear()  # unpickled as in a fresh process: made again
    copy = pickle.loads(saved)
    for action in (0, 1, 0):
        a, b = env.step(action), copy.step(action)
        assert a[0] == b[0] and a[1:4] == b[1:4]
        np.testing.assert_array_equal(a[4]["action_mask"], b[4]["action_mask"])


def test_the_fuzzers_jax_lookup_takes_a_jax_id(package) -> None:
    found = jax_module("faces/Nim-jax-v0")
    assert not isinstance(found, str), found
    module, kwargs = found
    assert "env_id" not in kwargs and "package" not in kwargs
    assert module.SingleEnv(**kwargs).reset(seed=0)[0] == 5  # made: no unknown param


def test_envgen_fuzz_on_a_jax_id_reports_no_crash(package, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "fuzz",
            f"{package}:faces/Nim-jax-v0",
            "--property",
            "jax_agreement",
            "--property",
            "pickle",
        ],
    )
    assert "crashed" not in result.output, result.output
    assert "jax_agreement: pass" in result.output, result.output
    assert "pickle: pass" in result.output, result.output


def test_check_state_is_refused_not_ignored(package) -> None:
    # hostile trial 4: the JAX faces took check_state=True and returned inf states silently
    with pytest.raises(ValueError, match="check_state=True is not available in JAX"):
        envgen.jax.make(f"{package}:faces/Nim-v0", check_state=True)
    with pytest.raises(ValueError, match="check_state=True is not available in JAX"):
        gym.make("faces/Nim-jax-v0", check_state=True)
    env, _ = envgen.jax.make(f"{package}:faces/Nim-v0", check_state=False)
    assert env.name == "faces/Nim-v0"


def test_envs_made_with_other_params_never_share_jitted_functions() -> None:
    # review: the cache key was a repr, which NumPy shortens for arrays over 1000 elements,
    # so two tables differing in the middle shared one env's params
    from envgen.jax._env import _exact_key

    a, b = np.zeros(2000), np.zeros(2000)
    b[1000] = 1.0
    assert repr(a) == repr(b)
    assert _exact_key(a) != _exact_key(b)
    assert _exact_key([1, 2]) != _exact_key((1, 2)) and _exact_key(1) != _exact_key(1.0)
    assert _exact_key({"w": a.copy()}) == _exact_key({"w": a})


def test_a_jax_id_finds_its_module_everywhere(package) -> None:
    # review: only the fuzzer knew a `-jax` id; envgen.jax.make("ns/Name-jax-v0") looked for
    # the env in the package 'envgen.jax' (its entry point's) and raised
    env, params = envgen.jax.make("faces/Nim-jax-v0", heap=4)
    assert env.name == "faces/Nim-v0"
    obs, _ = env.reset(jax.random.key(0), params)
    assert int(obs) == 4
