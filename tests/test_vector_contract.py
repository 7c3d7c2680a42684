"""Gymnasium's generic vector-env tests, run on every native vector env envgen generates.

Adapted from Gymnasium 1.x's own suite (tests/vector/test_vector_env.py,
test_sync_vector_env.py, test_autoreset_mode.py, test_vector_env_info.py): there they build
SyncVectorEnv / AsyncVectorEnv from Gymnasium's envs; here every native vector env in the
committed `generated/` package (so Numba's disk cache is reused between runs), with both
step backends: the compiled kernel ("numba", for the specs that have one) and the NumPy
array code ("numpy", every spec). The reference is Gymnasium's own SyncVectorEnv of the
single envs, compared with Gymnasium's `data_equivalence(exact=True)` (types included: a
sub-env gives what the single env gives).
"""

from __future__ import annotations

import importlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv
from gymnasium.wrappers.vector import RecordEpisodeStatistics

import generated


def _load(target: str) -> type:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


#: (env id, single env class, native vector env class) for every spec with a native one.
NATIVE = [
    (env_id, _load(entry["entry_point"]), _load(entry["vector_entry_point"]))
    for env_id, entry in generated.ENVS.items()
    if entry["vector_entry_point"]
]
#: (env id, backend): the kernel where the module has one (it defines `_run_kernel`), the
#: NumPy code everywhere.
CASES = [
    pytest.param(env_id, backend, id=f"{env_id.split('/')[1]}-{backend}")
    for env_id, _, vector in NATIVE
    for backend in ("numba", "numpy")
    if backend == "numpy" or "_run_kernel" in vector.__dict__
]
_BY_ID = {env_id: (single, vector) for env_id, single, vector in NATIVE}


def make(env_id: str, backend: str, num_envs: int = 4, **kwargs) -> VectorEnv:
    vec = _BY_ID[env_id][1](num_envs=num_envs, backend=backend, **kwargs)
    assert vec.backend == backend, vec.backend_note
    return vec


def sync(env_id: str, num_envs: int = 4, **kwargs) -> SyncVectorEnv:
    single = _BY_ID[env_id][0]
    return SyncVectorEnv([single for _ in range(num_envs)], **kwargs)


def test_every_native_vector_env_is_covered():
    assert len(NATIVE) >= 10
    assert {"envgen/CartPole-v1", "envgen/DictNavigation-v0"} <= set(_BY_ID)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_vector_env_equal(env_id, backend, mode):
    """As Gymnasium's test_vector_env_equal (async vs sync), native vs SyncVectorEnv."""
    vec = make(env_id, backend, autoreset_mode=mode)
    ref = sync(env_id, autoreset_mode=mode)
    assert vec.num_envs == ref.num_envs
    assert vec.observation_space == ref.observation_space
    assert vec.single_observation_space == ref.single_observation_space
    assert vec.action_space == ref.action_space
    assert vec.single_action_space == ref.single_action_space
    assert data_equivalence(vec.reset(seed=0), ref.reset(seed=0), exact=True)
    vec.action_space.seed(0)
    for t in range(100):
        actions = vec.action_space.sample()
        assert actions in ref.action_space
        got, want = vec.step(actions), ref.step(actions)
        assert data_equivalence(got, want, exact=True), (env_id, t, got, want)
    vec.close()
    ref.close()


@pytest.mark.parametrize("use_single_action_space", [True, False])
@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_reset_and_step_types(env_id, backend, use_single_action_space):
    """As Gymnasium's test_reset_sync_vector_env and test_step_sync_vector_env."""
    n = 8
    vec = make(env_id, backend, num_envs=n)
    obs, info = vec.reset(seed=1)
    assert obs in vec.observation_space
    assert isinstance(info, dict)
    vec.action_space.seed(1)
    vec.single_action_space.seed(1)
    for _ in range(5):
        if use_single_action_space:
            actions = [vec.single_action_space.sample() for _ in range(n)]
        else:
            actions = vec.action_space.sample()
        obs, rewards, terminations, truncations, info = vec.step(actions)
        assert obs in vec.observation_space
        for leaf, space in zip(_leaves(obs), _leaves(vec.observation_space), strict=True):
            assert isinstance(leaf, np.ndarray) and leaf.dtype == space.dtype
            assert leaf.shape == space.shape and leaf.shape[0] == n
        assert isinstance(rewards, np.ndarray) and rewards.shape == (n,)
        assert isinstance(rewards[0], (float, np.floating))
        for flags in (terminations, truncations):
            assert isinstance(flags, np.ndarray)
            assert flags.dtype == np.bool_ and flags.shape == (n,)
        assert isinstance(info, dict)
    vec.close()


def _leaves(value):
    if isinstance(value, (dict, gym.spaces.Dict)):
        return [leaf for key in value.keys() for leaf in _leaves(value[key])]
    if isinstance(value, (tuple, gym.spaces.Tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_wrong_action_counts_and_shapes_are_refused(env_id, backend):
    """One action per env: a 4-env vector env takes neither 3 actions nor 5."""
    vec = make(env_id, backend)
    vec.reset(seed=0)
    good = vec.action_space.sample()
    for bad in (good[:3], np.concatenate([good, good[:1]]), np.stack([good, good]), good[:0]):
        with pytest.raises(ValueError, match="one action per env"):
            vec.step(bad)
    vec.step(good)


@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_random_seeding_basics(env_id, backend):
    vec = make(env_id, backend)
    vec.reset(seed=42)
    assert vec.np_random_seed == tuple(42 + i for i in range(vec.num_envs))
    vec.reset(seed=None)  # keeps the seeds
    assert vec.np_random_seed == tuple(42 + i for i in range(vec.num_envs))
    vec.reset(seed=[5, None, 7, 8])
    assert vec.np_random_seed == (5, 43, 7, 8)


@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_partial_reset(env_id, backend):
    """As Gymnasium's test_partial_reset: a masked reset leaves the other envs as they were."""
    vec = make(env_id, backend, num_envs=3, autoreset_mode=AutoresetMode.DISABLED)
    ref = sync(env_id, num_envs=3, autoreset_mode=AutoresetMode.DISABLED)
    initial, _ = vec.reset(seed=[0, 1, 2])
    assert data_equivalence(initial, ref.reset(seed=[0, 1, 2])[0], exact=True)
    vec.action_space.seed(123)
    for _ in range(3):
        actions = vec.action_space.sample()
        stepped, _, terminated, truncated, _ = vec.step(actions)
        ref.step(actions)
        if (terminated | truncated).any():  # DISABLED: a done env must be reset first
            break
    mask = np.array([True, True, False])
    got = vec.reset(seed=[0, 1, 0], options={"reset_mask": mask})
    assert data_equivalence(got, ref.reset(seed=[0, 1, 0], options={"reset_mask": mask}), True)
    for leaf, first, last in zip(_leaves(got[0]), _leaves(initial), _leaves(stepped), strict=True):
        assert np.array_equal(leaf[:2], first[:2]) and np.array_equal(leaf[2], last[2])


@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_partial_reset_failure(env_id, backend):
    vec = make(env_id, backend, num_envs=3, autoreset_mode=AutoresetMode.DISABLED)
    with pytest.raises(gym.error.ResetNeeded):  # a first reset resets every env
        vec.reset(options={"reset_mask": np.array([True, True, False])})
    vec.reset(options={"reset_mask": np.array([True, True, True])})
    for bad in (
        np.array([True]),
        np.array([True, True, False, False]),
        np.array([[True, True, True]]),
        np.array([[1, 1, 0]]),
        np.array([1.0, 1.0, 0.0]),
        np.array([False, False, False]),
    ):
        with pytest.raises(ValueError, match="reset_mask"):
            vec.reset(options={"reset_mask": bad})


@pytest.mark.parametrize("mode", list(AutoresetMode))
@pytest.mark.parametrize(("env_id", "backend"), CASES[:2])
def test_autoreset_metadata(env_id, backend, mode):
    for given in (mode, mode.value):
        vec = make(env_id, backend, autoreset_mode=given)
        assert vec.metadata["autoreset_mode"] == mode
        vec.close()


@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_same_step_final_obs_and_info(env_id, backend):
    """As Gymnasium's test_same_step_final_obs and test_vector_env_info (SAME_STEP)."""
    n = 5
    vec = make(
        env_id, backend, num_envs=n, autoreset_mode=AutoresetMode.SAME_STEP, max_episode_steps=60
    )
    vec.reset(seed=3)
    vec.action_space.seed(3)
    ends = 0
    for _ in range(130):
        _, _, terminated, truncated, info = vec.step(vec.action_space.sample())
        done = terminated | truncated
        if not done.any():
            assert "final_obs" not in info
            continue
        ends += int(done.sum())
        final, mask = info["final_obs"], info["_final_obs"]
        assert isinstance(final, np.ndarray) and final.shape == (n,) and final.dtype == object
        assert isinstance(mask, np.ndarray) and np.array_equal(mask, done)
        assert np.array_equal(info["_final_info"], done)
        for i in range(n):
            if done[i]:
                assert final[i] in vec.single_observation_space
            else:
                assert final[i] is None
    assert ends > 0, "no episode ended: pick more steps"


@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_record_episode_statistics_wrapper(env_id, backend):
    """Gymnasium's vector wrappers run on the native env and see SyncVectorEnv's episodes."""
    vec = RecordEpisodeStatistics(make(env_id, backend))
    ref = RecordEpisodeStatistics(sync(env_id))
    vec.reset(seed=11)
    ref.reset(seed=11)
    vec.action_space.seed(11)
    for _ in range(200):
        actions = vec.action_space.sample()
        *_, info = vec.step(actions)
        *_, want = ref.step(actions)
        assert ("episode" in info) == ("episode" in want)
        if "episode" in info:
            assert np.array_equal(info["_episode"], want["_episode"])
            for key in ("r", "l"):
                assert np.array_equal(info["episode"][key], want["episode"][key])
    assert list(vec.return_queue) == list(ref.return_queue)
    assert list(vec.length_queue) == list(ref.length_queue)


@pytest.mark.parametrize(("env_id", "backend"), CASES)
def test_render_and_close(env_id, backend):
    """As Gymnasium's test_render_sync_vector: one frame per env, in a tuple."""
    modes = _BY_ID[env_id][1].metadata["render_modes"]
    vec = make(env_id, backend, num_envs=3, render_mode=modes[0] if modes else None)
    vec.reset(seed=0)
    if modes:
        frames = vec.render()
        assert isinstance(frames, tuple) and len(frames) == 3
    vec.close()
    vec.close()  # idempotent
    with pytest.raises(gym.error.ResetNeeded):
        vec.step(vec.action_space.sample())


def test_make_vec_builds_the_native_env():
    envs = gym.make_vec("envgen/CartPole-v1", num_envs=3, vectorization_mode="vector_entry_point")
    assert type(envs).__name__ == "CartPoleV1VectorEnv" and envs.num_envs == 3
    envs.close()
