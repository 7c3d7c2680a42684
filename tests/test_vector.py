"""The native vector backend: every sub-env must equal a single env, step for step.

Specs are compiled into a temporary package (not the committed generated/), and each
native VectorEnv is compared with Gymnasium's SyncVectorEnv of the single envs seeded the
same way (seed + i): observations, rewards, flags and info (dict of arrays with `_key`
masks, `final_obs` / `final_info` in SAME_STEP mode), through autoresets.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numba
import numpy as np
import pytest
from conftest import build_package
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers import TimeLimit

from envgen.build import compile_specs, write
from envgen.runtime.vector import MIN_ENVS_PER_THREAD, ThreadChoice

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("vec") / "vector_envs"
    compiled = compile_specs([ROOT / "specs"], out)
    assert not compiled.diagnostics, compiled.diagnostics
    write(compiled, out)
    sys.path.insert(0, str(out.parent))
    envs = {}
    for model in compiled.models:
        single = importlib.import_module(f"vector_envs.{model.module_name}")
        vector = None
        if f"{model.module_name}_vector.py" in compiled.files:
            module = importlib.import_module(f"vector_envs.{model.module_name}_vector")
            vector = getattr(module, f"{model.class_name.removesuffix('Env')}VectorEnv")
        envs[model.spec.id] = (model, getattr(single, model.class_name), vector)
    yield compiled, envs
    sys.path.remove(str(out.parent))


def same(a, b, path=""):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(a), sorted(b))
        for key in a:
            same(a[key], b[key], f"{path}/{key}")
        return
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}/{i}")
        return
    # what a sub-env returns: the single env's own types (a Python int is not np.int64)
    assert type(a) is type(b), (path, a, b, type(a), type(b))
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object:
        assert a.shape == b.shape, path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x is None or y is None:
                assert x is None and y is None, (path, i)
            else:
                same(x, y, f"{path}[{i}]")
        return
    assert a.shape == b.shape and a.dtype == b.dtype, (path, a.shape, b.shape, a.dtype, b.dtype)
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (path, a, b)


def step_alike(vec, sync, seed, steps, where=""):
    """Reset both with `seed`, then step both with the same random actions, comparing all."""
    same(vec.reset(seed=seed), sync.reset(seed=seed), f"{where} reset")
    vec.action_space.seed(seed)
    for t in range(steps):
        actions = vec.action_space.sample()
        same(vec.step(actions), sync.step(actions), f"{where} step {t}")


def vectorized(built):
    return [env_id for env_id, (_, _, vector) in built[1].items() if vector is not None]


def test_specs_vectorize_or_say_why(built):
    compiled, envs = built
    assert "envgen/CartPole-v1" in vectorized(built)
    for _env_id, (model, _, vector) in envs.items():
        if vector is None:
            assert model.vector_notes, model.spec.id
    registry = compiled.files["__init__.py"]
    for env_id, (_model, _, vector) in envs.items():
        if vector is None:
            assert f'"{env_id}"' in registry.split("VECTOR_FALLBACKS")[1]


def compiled(built):
    """Specs whose vector env steps with the compiled (Numba) kernel."""
    return [
        env_id
        for env_id in vectorized(built)
        if built[1][env_id][2](num_envs=1, backend="auto").backend == "numba"
    ]


#: Specs whose native vector env steps with the NumPy code, and why (issue 17: the kernel
#: for every spec). None now: MountainCarContinuous, whose state is float64 right after a
#: reset and float32 after a step, got a kernel with both typings of its step.
NO_KERNEL: dict[str, str] = {}


def test_every_native_vector_env_steps_with_the_kernel(built):
    """Every spec with a native vector env gets the compiled kernel (backend "numba"),
    but the few in NO_KERNEL, whose reason is what `backend_note` says."""
    kernels = set(compiled(built))
    for env_id in vectorized(built):
        if env_id in NO_KERNEL:
            assert env_id not in kernels, f"{env_id} has a kernel now: drop it from NO_KERNEL"
            vec = built[1][env_id][2](num_envs=1)
            assert vec.backend == "numpy" and NO_KERNEL[env_id] in vec.backend_note, env_id
            with pytest.raises(ValueError, match="backend='numba' is unavailable"):
                built[1][env_id][2](num_envs=1, backend="numba")
        else:
            note = built[1][env_id][2](num_envs=1).backend_note
            assert env_id in kernels, f"{env_id} steps with NumPy: {note}"
    # observations drawn by a spec function with the drawing library, inside the kernel
    visual = built[1]["envgen/SimpleVisual-v0"][2](num_envs=1)
    assert "_obs" in vector_observe_params(visual)
    with pytest.raises(ValueError, match="backend must be one of"):
        built[1]["envgen/CartPole-v1"][2](num_envs=1, backend="jax")
    assert built[1]["envgen/CartPole-v1"][2](num_envs=1, backend="numpy").backend == "numpy"


def test_sized_draws_consume_the_stream_as_scalar_draws():
    """The kernel draws `integers(0, n, size=k)` (and the other sized draws) as k scalar
    draws from the env's Generator: NumPy's sized draws must consume the stream so."""
    cases = [
        ("integers", (0, 7)),
        ("integers", (3,)),
        ("integers", (0, 2**40)),
        ("normal", (0.0, 2.0)),
        ("poisson", (3.0,)),
        ("poisson", (30.0,)),
        ("binomial", (10, 0.3)),
        ("binomial", (100, 0.5)),
        ("exponential", (2.0,)),
        ("uniform", (1.0, 3.0)),
        ("standard_normal", ()),
    ]
    for name, args in cases:
        for seed in range(5):
            for size in (1, 2, 3, 8):
                sized, scalar = np.random.default_rng(seed), np.random.default_rng(seed)
                want = getattr(sized, name)(*args, size=size)
                got = [getattr(scalar, name)(*args) for _ in range(size)]
                assert np.array_equal(want, got), (name, args, seed, size)
                assert sized.random() == scalar.random(), (name, args, seed, size)
    values = np.array([3, 5, 9, 11, 13])
    for seed in range(50):  # choice(a): a[integers(0, len(a))]
        chosen, drawn = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(4):
            assert chosen.choice(values) == values[drawn.integers(0, len(values))]
            assert chosen.choice(7) == drawn.integers(0, 7)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_each_sub_env_equals_the_single_env(built, mode, backend):
    ids = compiled(built) if backend == "numba" else vectorized(built)
    for env_id in ids:
        _, single, vector = built[1][env_id]
        for seed, n in ((0, 3), (7, 5)):
            vec = vector(num_envs=n, autoreset_mode=mode, backend=backend)
            assert vec.backend == backend
            sync = SyncVectorEnv([single for _ in range(n)], autoreset_mode=mode)
            assert vec.metadata["autoreset_mode"] == mode
            obs, info = vec.reset(seed=seed)
            expected = sync.reset(seed=seed)
            same((obs, info), expected, f"{env_id} reset")
            assert vec.observation_space.contains(obs)
            vec.action_space.seed(seed)
            for t in range(150):
                actions = vec.action_space.sample()
                got = vec.step(actions)
                same(got, sync.step(actions), f"{env_id} seed {seed} step {t}")
                assert vec.observation_space.contains(got[0]), (env_id, t)
            vec.close()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_many_envs_through_many_autoresets(built, backend):
    """64 envs x 600 steps: every sub-env through several episodes, against SyncVectorEnv."""
    ids = compiled(built) if backend == "numba" else vectorized(built)
    for env_id in ids:
        _, single, vector = built[1][env_id]
        vec = vector(num_envs=64, backend=backend)
        step_alike(vec, SyncVectorEnv([single for _ in range(64)]), 123, 600, env_id)


def test_kernel_draws_continue_the_same_streams(built):
    """Draws made in a kernel advance the generators the NumPy code and np_random use."""
    for env_id in compiled(built):
        _, single, vector = built[1][env_id]
        vec = vector(num_envs=6, backend="numba")
        sync = SyncVectorEnv([single for _ in range(6)])
        same(vec.reset(seed=3), sync.reset(seed=3), env_id)
        vec.action_space.seed(3)
        for phase in range(3):
            for t in range(40):
                actions = vec.action_space.sample()
                same(vec.step(actions), sync.step(actions), f"{env_id} phase {phase} step {t}")
            # reset(seed=None) keeps the streams: its draws continue where the kernel left off
            same(vec.reset(), sync.reset(), f"{env_id} reset {phase}")
        for i in range(6):
            assert vec.np_random[i].random() == sync.envs[i].np_random.random(), (env_id, i)


def threaded(built):
    """Specs whose kernel can step on two threads (their step draws nothing)."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba has a single thread on this machine")
    with warnings.catch_warnings():  # "threads=2 ignored" for steps that draw
        warnings.simplefilter("ignore")
        return [
            env_id
            for env_id in compiled(built)
            if built[1][env_id][2](num_envs=1, threads=2).threads == 2
        ]


def test_threaded_kernels_equal_the_single_env(built):
    ids = threaded(built)
    assert {"envgen/CartPole-v1", "envgen/GoLeft-v0", "envgen/MountainCar-v0"} <= set(ids)
    for env_id in ids:
        _, single, vector = built[1][env_id]
        vec = vector(num_envs=257, threads=2)
        vec._thread_choice.always = True  # 257 envs would run on one thread by themselves
        step_alike(vec, SyncVectorEnv([single for _ in range(257)]), 9, 300, env_id)


class _FakeKernel:
    """A step kernel whose variants take known times on a fake clock, counting calls."""

    def __init__(self, one: float, many: float) -> None:
        self.now = 0.0
        self.calls = [0, 0]
        self.seconds = (one, many)
        self.threaded = lambda: self._run(1)

    def __call__(self):
        self._run(0)

    def _run(self, variant):
        self.calls[variant] += 1
        self.now += self.seconds[variant]

    def clock(self):
        return self.now


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has a single thread here")
def test_threads_are_used_only_where_they_are_faster():
    small = _FakeKernel(0.001, 0.0001)
    choice = ThreadChoice(2, small.clock)
    assert choice.pick(small, 2 * MIN_ENVS_PER_THREAD - 1) is small  # too few envs per thread
    # a loaded machine: the threaded loop is 8x slower; after warming up both variants,
    # one thread runs, and the slow one is tried again rarely (8x rarer than every 64)
    slow = _FakeKernel(0.0005, 0.004)
    choice = ThreadChoice(2, slow.clock)
    for _ in range(1000):
        choice.pick(slow, 4 * MIN_ENVS_PER_THREAD)()
    assert choice.best == 0
    assert slow.calls[1] <= 3 + 3, slow.calls
    # a quiet machine: threads win, and one thread is tried every 4 * 64 calls
    fast = _FakeKernel(0.002, 0.0005)
    choice = ThreadChoice(2, fast.clock)
    for _ in range(1000):
        choice.pick(fast, 4 * MIN_ENVS_PER_THREAD)()
    assert choice.best == 1 and 3 + 2 <= fast.calls[0] <= 3 + 5, fast.calls
    # the load changes: threads get slow, and the choice follows within a few calls
    fast.seconds = (0.002, 0.02)
    for _ in range(1000):
        choice.pick(fast, 4 * MIN_ENVS_PER_THREAD)()
    assert choice.best == 0


def test_threads_option(built):
    vector = built[1]["envgen/CartPole-v1"][2]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be a positive int"):
            vector(num_envs=2, threads=bad)
    with pytest.raises(ValueError, match="NUMBA_NUM_THREADS"):
        vector(num_envs=2, threads=numba.config.NUMBA_NUM_THREADS + 1)
    assert vector(num_envs=2).threads == 1
    # a step that draws random numbers runs on one thread, and says so
    trading = built[1]["envgen/SimpleTrading-v0"][2]
    if numba.config.NUMBA_NUM_THREADS >= 2:
        with pytest.warns(UserWarning, match="threads=2 ignored"):
            vec = trading(num_envs=2, threads=2)
        assert vec.threads == 1 and vec.backend == "numba"
        assert "draws random numbers" in vec.backend_note


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_partial_reset_with_mask(built, backend):
    ids = compiled(built) if backend == "numba" else vectorized(built)
    for env_id in ids:
        _, single, vector = built[1][env_id]
        vec = vector(num_envs=4, backend=backend)
        sync = SyncVectorEnv([single for _ in range(4)])
        same(vec.reset(seed=1), sync.reset(seed=1))
        vec.action_space.seed(1)
        for _ in range(5):
            actions = vec.action_space.sample()
            same(vec.step(actions), sync.step(actions))
        mask = np.array([True, False, True, False])
        same(
            vec.reset(seed=11, options={"reset_mask": mask}),
            sync.reset(seed=11, options={"reset_mask": mask.copy()}),
            env_id,
        )
        for _ in range(20):
            actions = vec.action_space.sample()
            same(vec.step(actions), sync.step(actions), env_id)
        with pytest.raises(ValueError):
            vec.reset(options={"reset_mask": np.zeros(4, dtype=bool)})


def test_returned_arrays_are_fresh(built):
    for env_id in vectorized(built):
        _, _, vector = built[1][env_id]
        vec = vector(num_envs=3, autoreset_mode=AutoresetMode.SAME_STEP)
        obs, info = vec.reset(seed=0)
        kept = [gym.vector.utils.create_empty_array(vec.single_observation_space, 3)]
        vec.action_space.seed(0)
        results = []
        for _ in range(30):
            actions = vec.action_space.sample()
            before = np.array(actions)
            out = vec.step(actions)
            assert np.array_equal(actions, before), "step() changed the caller's actions"
            results.append((out, _snapshot(out)))
        for out, snapshot in results:
            same(_snapshot(out), snapshot, env_id)
        _ = kept


def _snapshot(value):
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_snapshot(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype == object:
        out = np.full(value.shape, None, dtype=object)
        for i, v in enumerate(value):
            out[i] = None if v is None else _snapshot(v)
        return out
    return np.array(value, copy=True)


def test_make_vec_uses_the_native_class(built):
    from envgen.build import env_ids_from_specs

    ids = env_ids_from_specs([ROOT / "specs" / "classic" / "cartpole.yaml"])
    envs = gym.make_vec(ids[0], num_envs=4)
    try:
        assert type(envs).__name__ == "CartPoleV1VectorEnv"
        obs, info = envs.reset(seed=0)
        assert obs.shape == (4, 4) and obs.dtype == np.float32
    finally:
        envs.close()


def test_params_are_resolved_like_the_single_env(built):
    _, single, vector = built[1]["envgen/CartPole-v1"]
    vec = vector(num_envs=2, sutton_barto_reward=True)
    assert vec.sutton_barto_reward is True
    with pytest.raises(ValueError, match="unknown param"):
        vector(num_envs=2, sutton_barto=True)
    vec = vector(num_envs=2, config={"sutton_barto_reward": True})
    sync = SyncVectorEnv([lambda: single(sutton_barto_reward=True) for _ in range(2)])
    same(vec.reset(seed=3), sync.reset(seed=3))
    for _ in range(40):
        actions = np.array([1, 1])
        same(vec.step(actions), sync.step(actions))


def test_invalid_actions_are_refused(built):
    _, _, vector = built[1]["envgen/CartPole-v1"]
    vec = vector(num_envs=2)
    vec.reset(seed=0)
    with pytest.raises(ValueError):
        vec.step(np.array([0, 5]))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_wrong_action_counts_are_refused(built, backend):
    """One action per env, whatever `invalid_action` says (a 4-env CartPole once took 3)."""
    ids = compiled(built) if backend == "numba" else vectorized(built)
    for env_id in ids:
        vector = built[1][env_id][2]
        for mode in ("raise", "clip", "ignore"):
            vec = vector(num_envs=4, backend=backend, invalid_action=mode)
            vec.reset(seed=0)
            good = vec.action_space.sample()
            single = [vec.single_action_space.sample() for _ in range(4)]
            for bad in (good[:3], np.concatenate([good, good[:1]]), single[:3], single * 2):
                with pytest.raises(ValueError, match="one action per env"):
                    vec.step(bad)
            with pytest.raises(ValueError, match="one action per env"):
                vec.step(np.stack([good, good]))
            vec.step(single)  # a list of single-space actions is one batch
            vec.step(good)


def test_render_returns_one_frame_per_env(built):
    for env_id in vectorized(built):
        model, _, vector = built[1][env_id]
        modes = vector.metadata["render_modes"]
        if not modes:
            continue
        vec = vector(num_envs=2, render_mode=modes[0])
        vec.reset(seed=0)
        frames = vec.render()
        assert isinstance(frames, tuple) and len(frames) == 2, env_id
        vec.close()


def test_unsupported_specs_return_none_with_a_reason(tmp_path):
    from envgen.backends.numpy import emit_vector_env
    from envgen.build import check_spec

    spec = tmp_path / "hooked.yaml"
    spec.write_text(
        "id: test/Hooked-v0\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Text: {max_length: 4}}\n"
        "state: {n: {dtype: int64, init: 0}}\n"
        "step: n = n + 1\n"
        "observation: text([n % 3], 'abc')\n"
    )
    model, problems = check_spec(spec)
    assert model is not None, problems
    assert emit_vector_env(model, "hooked.yaml") is None
    assert any("Text" in note for note in model.vector_notes)


def test_every_spec_without_text_graph_sequence_or_one_of_vectorizes(built):
    for env_id, (model, _, vector) in built[1].items():
        if any("Text, Graph, Sequence or OneOf" in note for note in model.vector_notes):
            continue
        assert vector is not None, (env_id, model.vector_notes)


def test_state_types_that_change_after_the_first_step_match_exactly(built):
    """MountainCarContinuous: float64 state right after reset, float32 after each step."""
    _, single, vector = built[1]["envgen/MountainCarContinuous-v0"]
    vec = vector(num_envs=6, autoreset_mode=AutoresetMode.SAME_STEP)
    sync = SyncVectorEnv([single for _ in range(6)], autoreset_mode=AutoresetMode.SAME_STEP)
    same(vec.reset(seed=5), sync.reset(seed=5))
    rng = np.random.default_rng(5)
    for t in range(400):
        actions = rng.uniform(-1, 1, (6, 1)).astype(np.float32)
        if t % 7 == 0:  # envs at different step counts: both variants in one batch
            mask = rng.random(6) < 0.5
            if mask.any():
                same(
                    vec.reset(options={"reset_mask": mask}),
                    sync.reset(options={"reset_mask": mask.copy()}),
                )
        same(vec.step(actions), sync.step(actions), f"step {t}")


def test_bound_tests_fused_into_abs_match_at_nan_zero_and_negative_bounds(tmp_path):
    """`x < -c or x > c` is emitted as `abs(x) > c`: same result for NaN, ±0, ±inf, c <= 0."""
    from envgen.build import compile_specs, write

    spec = tmp_path / "specs" / "bounds.yaml"
    spec.parent.mkdir()
    spec.write_text(
        "id: test/Bounds-v0\n"
        "params: {c: {default: 1.0}}\n"
        "action_space: {Box: {low: -inf, high: inf, shape: [1], dtype: float32}}\n"
        "observation_space: {Box: {low: -inf, high: inf, shape: [1], dtype: float64}}\n"
        "state: {x: {init: 0.0}}\n"
        "step: |\n"
        "  x = float(action[0])\n"
        "  out = x < -c or x > c\n"
        "  inside = x >= -c and x <= c\n"
        "  edge = -c >= x or c <= x\n"
        "observation: [x]\n"
        "reward: 1.0 * out + 2.0 * inside + 4.0 * edge\n"
        "max_episode_steps: 1000\n"
    )
    out = tmp_path / "bounds_envs"
    compiled = compile_specs([spec.parent], out)
    assert not compiled.diagnostics, compiled.diagnostics
    write(compiled, out)
    source = next(v for k, v in compiled.files.items() if k.endswith("_vector.py"))
    assert "np.abs(x) > " in source and "np.abs(x) >= " in source, source
    sys.path.insert(0, str(tmp_path))
    try:
        model = compiled.models[0]
        single = importlib.import_module(f"bounds_envs.{model.module_name}")
        vector = importlib.import_module(f"bounds_envs.{model.module_name}_vector")
        vector_cls = getattr(vector, f"{model.class_name.removesuffix('Env')}VectorEnv")
        values = np.array(
            [np.nan, 0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, np.inf, -np.inf], np.float32
        )
        for c in (1.0, 0.0, -0.0, -1.0, 2.5, float("inf")):
            n = len(values)
            vec = vector_cls(num_envs=n, c=c, invalid_action="ignore")
            sync = SyncVectorEnv(
                [
                    lambda c=c: getattr(single, model.class_name)(c=c, invalid_action="ignore")
                    for _ in range(n)
                ]
            )
            same(vec.reset(seed=0), sync.reset(seed=0))
            actions = values[:, None]
            same(vec.step(actions), sync.step(actions), f"c={c}")
    finally:
        sys.path.remove(str(tmp_path))


HOISTING_SPEC = """\
id: test/Hoisting-v0
description: Library math calls on step-start state run in a loop of their own.
params:
  k: {default: 3.0}
action_space: {Discrete: 2}
observation_space: {Box: {low: -10.0, high: 10.0, shape: [2], dtype: float64}}
state:
  a: {init: "uniform(-1.0, 1.0)"}
  b: {init: "uniform(-1.0, 1.0)"}
step: |
  c = cos(k * a)
  a = a + 0.1 * sin(b)
  b = b + tanh(a) * c
  if action == 1:
      b += 0.5 * exp(-abs(b))
observation: [a, b]
reward: a
terminated: abs(b) > 5
max_episode_steps: 50
"""


def test_math_on_step_start_values_is_hoisted_exactly(tmp_path):
    spec = tmp_path / "hoisting.yaml"
    spec.write_text(HOISTING_SPEC)
    out = tmp_path / "hoisting_envs"
    compiled = compile_specs([spec], out)
    assert not compiled.diagnostics, compiled.diagnostics
    write(compiled, out)
    source = compiled.files["test_hoisting_v0_vector.py"]
    step = source[source.index("def _step_envs") : source.index("class ")]
    # cos(k * a) and sin(b) read values from the start of the step: computed beforehand
    assert "_cos0[_i] = math.cos(k * a)" in step and "_sin1[_i] = math.sin(b)" in step
    assert "c = _cos0[_i]" in step and "0.1 * _sin1[_i]" in step
    # tanh(a) reads the a assigned above, exp(-abs(b)) the b assigned above: in the step's
    # own loop (the last one; the hoisted calls have a loop of their own before it)
    loops = step.split("for _i in prange(len(_actions))")
    assert len(loops) == 3
    assert "math.tanh(a)" in loops[2] and "math.tanh" not in loops[1]
    assert "math.exp(-abs(b))" in loops[2] and "math.exp" not in loops[1]
    sys.path.insert(0, str(tmp_path))
    try:
        single = importlib.import_module("hoisting_envs.test_hoisting_v0").HoistingV0Env
        vector = importlib.import_module("hoisting_envs.test_hoisting_v0_vector")
        vec = vector.HoistingV0VectorEnv(num_envs=8, backend="numba")
        step_alike(vec, SyncVectorEnv([single for _ in range(8)]), 4, 200)
    finally:
        sys.path.remove(str(tmp_path))


DRAWING_STEP_SPEC = """\
id: test/DrawingStep-v0
description: A step that draws, so the kernel reads buffered doubles every step.
action_space: {Discrete: 2}
observation_space: {Box: {low: -100.0, high: 100.0, shape: [1], dtype: float64}}
state:
  x: {init: "uniform(-1.0, 1.0)"}
step: |
  if action == 1:
      x = x + uniform(-0.5, 0.5) + random()
  else:
      x = x - random()
observation: [x]
reward: x
terminated: abs(x) > 50
max_episode_steps: 37
"""


def test_long_runs_keep_the_streams(built, tmp_path):
    """Thousands of steps: each env's PCG64 state row, stepped in the kernel, stays its
    single env's stream through many resets (CartPole) and through steps that draw only in
    one branch; np_random lends the streams to Generators and the kernel takes them back."""
    spec = tmp_path / "drawing.yaml"
    spec.write_text(DRAWING_STEP_SPEC)
    compiled_specs = compile_specs([spec], tmp_path / "drawing_envs")
    assert not compiled_specs.diagnostics, compiled_specs.diagnostics
    write(compiled_specs, tmp_path / "drawing_envs")
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("drawing_envs.test_drawing_step_v0")
        vector_module = importlib.import_module("drawing_envs.test_drawing_step_v0_vector")
        cases = [
            (module.DrawingStepV0Env, vector_module.DrawingStepV0VectorEnv, 1500),
            (built[1]["envgen/CartPole-v1"][1], built[1]["envgen/CartPole-v1"][2], 3000),
        ]
        for single, vector, steps in cases:
            vec = vector(num_envs=6, backend="numba")
            sync = SyncVectorEnv([single for _ in range(6)])
            same(vec.reset(seed=21), sync.reset(seed=21))
            vec.action_space.seed(21)
            for t in range(steps):
                actions = vec.action_space.sample()
                same(vec.step(actions), sync.step(actions), f"{single.__name__} step {t}")
                if t % 500 == 499:  # a draw through the lent Generator, then back to rows
                    for i in range(6):
                        assert vec.np_random[i].random() == sync.envs[i].np_random.random()
    finally:
        sys.path.remove(str(tmp_path))


def test_without_numba_the_numpy_code_steps(tmp_path):
    """ENVGEN_JIT=0 (as where Numba is missing): the NumPy code, still exact, and a clear
    error for backend='numba'."""
    script = """
import numpy as np
from gymnasium.vector import SyncVectorEnv
import generated
from generated.envgen_cart_pole_v1 import CartPoleV1Env
from generated.envgen_cart_pole_v1_vector import CartPoleV1VectorEnv
from envgen.runtime.vector import prange

assert prange is range
vec = CartPoleV1VectorEnv(num_envs=8)
assert vec.backend == "numpy" and "ENVGEN_JIT=0" in vec.backend_note, vec.backend_note
sync = SyncVectorEnv([CartPoleV1Env for _ in range(8)])
obs, _ = vec.reset(seed=5)
assert np.array_equal(obs, sync.reset(seed=5)[0])
vec.action_space.seed(5)
for _ in range(300):
    actions = vec.action_space.sample()
    got, want = vec.step(actions), sync.step(actions)
    for a, b in zip(got[:4], want[:4]):
        assert np.array_equal(a, b)
try:
    CartPoleV1VectorEnv(num_envs=2, backend="numba")
except ValueError as exc:
    assert "backend='numba' is unavailable" in str(exc)
else:
    raise AssertionError("backend='numba' without Numba did not raise")
print("ok")
"""
    env = {**os.environ, "ENVGEN_JIT": "0"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_a_kernel_that_does_not_compile_falls_back_to_numpy(built):
    base = built[1]["envgen/CartPole-v1"][2]

    class Broken(base):
        def _run_kernel(self, action, resetting):
            raise TypeError("Failed in nopython mode pipeline (step: nopython frontend)")

    with pytest.warns(UserWarning, match="Numba could not compile the kernel.*stepping with NumPy"):
        vec = Broken(num_envs=3)
    assert vec.backend == "numpy" and "TypeError" in vec.backend_note
    single = built[1]["envgen/CartPole-v1"][1]
    step_alike(vec, SyncVectorEnv([single for _ in range(3)]), 2, 50)
    with pytest.raises(ValueError, match="backend='numba' is unavailable: Numba could not"):
        Broken(num_envs=3, backend="numba")


ROUNDING_SPEC = """\
id: test/Rounding-v0
description: floor, ceil and round of huge values and of values that round to -0.0; pow.
action_space: {Discrete: 2}
observation_space: {Box: {low: -.inf, high: .inf, shape: [5], dtype: float64}}
state:
  x: {init: "uniform(-1.0, 1.0)"}
  big: {init: 1.0}
step: |
  big = big * 10.0 + 1.0e18 * action
  x = clip(x + 0.25 * square(x=uniform(-1.0, 1.0)) - 0.2, -1.0, 1.0)
observation: [ceil(x), round(x * 0.4), floor(x * 0.0), floor(big), ceil(-big)]
reward: floor(x) + x ** 2 + abs(x) ** 1.5
max_episode_steps: 30
"""


def build_one(tmp_path, text):
    """Compile one spec into a fresh package; its single and native vector env classes."""
    built = build_package(tmp_path, text)
    return built.single, built.vector


def test_rounding_is_bit_exact_for_huge_values_and_signed_zeros(tmp_path):
    single, vector = build_one(tmp_path, ROUNDING_SPEC)
    for backend in ("numba", "numpy"):
        vec = vector(num_envs=5, backend=backend)
        sync = SyncVectorEnv([single for _ in range(5)])
        got, want = vec.reset(seed=8), sync.reset(seed=8)
        vec.action_space.seed(8)
        negative_zeros = 0
        largest = 0.0
        for t in range(200):
            actions = vec.action_space.sample()
            got, want = vec.step(actions), sync.step(actions)
            same(got, want, f"{backend} step {t}")
            # array_equal calls -0.0 and 0.0 equal: compare the bits too
            bits = got[0].view(np.uint64), want[0].view(np.uint64)
            assert np.array_equal(*bits), (backend, t, got[0], want[0])
            negative_zeros += int(np.signbit(want[0][want[0] == 0]).sum())
            largest = max(largest, float(np.abs(want[0][:, 3]).max()))
        assert largest > 2.0**63  # floor of values past int64 was compared
        assert negative_zeros == 0  # the single env never returns -0.0 from these


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copies_continue_like_the_original(built, how):
    """A pickled or deep-copied vector env continues exactly, buffer refills included."""
    import copy
    import pickle

    _, single, vector = built[1]["envgen/CartPole-v1"]
    for backend in ("numba", "numpy"):
        vec = vector(num_envs=3, backend=backend)
        vec.reset(seed=6)
        vec.action_space.seed(6)
        for _ in range(30):
            vec.step(vec.action_space.sample())
        twin = pickle.loads(pickle.dumps(vec)) if how == "pickle" else copy.deepcopy(vec)
        for t in range(400):  # resets with seed=None draw through many buffer refills
            if t % 5 == 0:
                same(vec.reset(), twin.reset(), f"{backend} reset {t}")
            actions = vec.action_space.sample()
            same(vec.step(actions), twin.step(actions), f"{backend} step {t}")


NO_LIMIT_SPEC = """\
id: test/NoLimit-v0
description: No time limit of its own, and a state named n.
action_space: {Discrete: 2}
observation_space: {Box: {low: -1000.0, high: 1000.0, shape: [2], dtype: float64}}
state:
  n: {init: "uniform(-1.0, 1.0)"}
  m: {dtype: int64, init: 0}
step: |
  n = n + action - 0.5
  m = m + 1
observation: [n, m]
reward: n
terminated: abs(n) > 20
"""


def test_time_limit_override_and_a_state_named_n(tmp_path):
    """`max_episode_steps=` truncates a spec without a limit (both backends, like TimeLimit),
    and a state named `n` does not clash with the generated code's own names."""
    single, vector = build_one(tmp_path, NO_LIMIT_SPEC)
    for backend in ("numba", "numpy"):
        for limit in (None, 3):
            vec = vector(num_envs=4, backend=backend, max_episode_steps=limit)
            make = (lambda: single()) if limit is None else (lambda: TimeLimit(single(), 3))
            sync = SyncVectorEnv([make for _ in range(4)])
            same(vec.reset(seed=1), sync.reset(seed=1))
            vec.action_space.seed(1)
            truncations = 0
            for t in range(40):
                actions = vec.action_space.sample()
                got = vec.step(actions)
                same(got, sync.step(actions), f"{backend} limit {limit} step {t}")
                truncations += int(got[3].sum())
            assert (truncations > 0) == (limit is not None), (backend, limit)


def test_streams_step_pcg64_as_numpy_does():
    """The state rows step exactly as NumPy's PCG64: any number of draws, interleaved with
    draws through a lent Generator (normal, 32-bit integers) and reseeds."""
    from envgen.runtime import vector as vector_runtime

    streams = vector_runtime.Streams(3, buffered=True)
    assert streams.buffered
    expected = []
    for env in range(3):
        streams.seed(env, 40 + env)
        expected.append(np.random.Generator(np.random.PCG64(np.random.SeedSequence(40 + env))))
    ids = np.arange(3)
    for round_ in range(3):
        first = streams.uniform(ids, -1.0, 1.0, 5)
        big = streams.draw(ids, "random", {}, size=(300,))
        lent = [streams.generator(env) for env in range(3)]
        others = [(g.normal(), g.integers(0, 7), g.integers(0, 2**40)) for g in lent]
        after = streams.uniform(ids[1:], 2.0, 3.0, 2)
        for env in range(3):
            want = expected[env]
            assert np.array_equal(first[env], want.uniform(-1.0, 1.0, 5)), (round_, env)
            assert np.array_equal(big[env], want.random(300)), (round_, env)
            assert others[env] == (want.normal(), want.integers(0, 7), want.integers(0, 2**40))
            if env:
                assert np.array_equal(after[env - 1], want.uniform(2.0, 3.0, 2)), (round_, env)
    streams.seed(1, 99)  # a reseed drops the lent stream
    assert streams.uniform(np.array([1]), 0.0, 1.0, 1)[0, 0] == np.random.default_rng(99).random()


def test_compiled_hypot_is_pythons_to_the_last_bit():
    """math.hypot is CPython's vector_norm, not the C library's hypot (np.hypot differs)."""
    import math

    from envgen.runtime import vector as vector_runtime

    assert vector_runtime.kernel_math("hypot")
    a, b = vector_runtime._probe_inputs("hypot", 2)
    want = np.array([math.hypot(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)])
    got = np.array([vector_runtime._cpython_hypot(x, y) for x, y in zip(a, b, strict=True)])
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.uint64), want[~nan].view(np.uint64))  # ±0 too
    assert not np.array_equal(np.hypot(a, b), want, equal_nan=True)  # the probe tells them apart


def vector_observe_params(vec):
    """The arguments of the module's jitted `_observe_env` (the kernel writes observations)."""
    module = sys.modules[type(vec).__module__]
    return module._observe_env.py_func.__code__.co_varnames


def test_kernel_drawing_matches_the_drawing_library():
    """fill / fill_rect compiled for kernels paint exactly what envgen.runtime.draw paints:
    corners in any order, outside the frame, rounded half to even, colors clipped."""
    from envgen.runtime import draw
    from envgen.runtime import vector as vector_runtime

    rng = np.random.default_rng(0)
    for _ in range(300):
        want = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
        got = want.copy()
        color = tuple(int(c) for c in rng.integers(-300, 600, 3))
        if rng.random() < 0.1:
            draw.fill(want, color)
            vector_runtime._draw_fill(got, *color)
        else:
            coords = rng.integers(-5, 22, 4).astype(np.float64)
            if rng.random() < 0.5:
                coords = coords + rng.choice([0.5, -0.5, 0.49, 0.51], 4)
            draw.fill_rect(want, *coords.tolist(), color)
            vector_runtime._draw_fill_rect(got, *coords, *color)
        assert np.array_equal(got, want)


ARRAY_BOUNDS_SPEC = """\
id: test/ArrayBounds-v0
description: uniform() with array bounds, with and without size, as Gymnasium's Pendulum resets.
action_space: {Discrete: 2}
observation_space: {Box: {low: -2, high: 2, shape: [4], dtype: float64}}
state:
  x: {shape: [2], init: 0.0}
  y: {shape: [2], init: 0.0}
reset: |
  x = uniform(array([-1.0, -0.5]), array([1.0, 0.5]), 2)
  y = uniform(array([-1.0, -0.5]), array([1.0, 0.5]))
step: |
  x = x * 0.5 + uniform(array([-0.1, 0.0]), 0.1) * action
observation: concatenate([x, y])
max_episode_steps: 7
"""


def test_draws_with_array_bounds_equal_the_single_env(tmp_path):
    """A newcomer's Pendulum port: the single env ran, the vector env crashed at reset."""
    single, vector = build_one(tmp_path, ARRAY_BOUNDS_SPEC)
    for backend in ("numpy", "numba"):
        vec = vector(num_envs=4, backend=backend)
        sync = SyncVectorEnv([single for _ in range(4)])
        same(vec.reset(seed=3), sync.reset(seed=3), f"{backend} reset")
        vec.action_space.seed(3)
        for t in range(20):
            actions = vec.action_space.sample()
            same(vec.step(actions), sync.step(actions), f"{backend} step {t}")


KERNEL_ARRAYS_SPEC = """\
id: test/KernelArrays-v0
description: Array state, a float32 Box action, tables, functions, sized draws in the kernel.
params:
  weights: {default: [0.5, 1.5, 2.5]}
let:
  table: "[[1, 2, 3], [4, 5, 6]]"
  phases: sin(arange(3) * 0.5)
functions:
  wrap:
    args: [x]
    return: ((x + pi) % (2 * pi)) - pi
  first_zero:
    args: [v]
    body: |
      k = flatnonzero(v == 0)[0] if any(v == 0) else -1
    return: k
action_space: {Box: {low: -1, high: 1, shape: [2], dtype: float32}}
observation_space: {Box: {low: -100, high: 100, shape: [5], dtype: float64}}
state:
  counts: {dtype: int64, shape: [3], init: 0}
  angle: {init: 0.0}
  spread: {shape: [2], init: 0.0}
  best: {dtype: int64, init: 0}
  zero: {dtype: int64, init: 0}
reset: |
  spread = uniform(array([-1.0, -0.5]), array([1.0, 0.5]), 2)
  angle = spread[0] * 3.0 + phases[1]
step: |
  push = action[1] * 0.3
  k = 2 if action[0] > 0.1 else (1 if action[0] > -0.1 else 0)
  counts[k] = counts[k] + table[k % 2, k]
  angle = wrap(angle + float(push) + weights[k])
  spread = roll(spread, 1) * 0.5 + cumsum(phases)[1:3]
  best = argmax(counts)
  zero = first_zero(counts)
observation: "[angle, spread[0], spread[1], 1.0 * best, 1.0 * zero]"
reward: float(sum(counts)) * 0.01 + float(push)
terminated: sum(counts) > 40
max_episode_steps: 25
"""


def test_kernel_arrays_tables_functions_and_float32_actions(tmp_path):
    """What the kernel compiles beyond scalars, against the single env on both backends:
    array state written in place, let tables and list params indexed by state, spec
    functions (one returning an element of a computed array), sized uniform draws with
    array bounds, array sin in a let, roll/cumsum/argmax/flatnonzero, and a float32 Box
    action compared with 0.1 as NumPy 2 does (in float32: np.float32(0.1) > 0.1 is False)."""
    single, vector = build_one(tmp_path, KERNEL_ARRAYS_SPEC)
    edges = np.array([0.1, -0.1, 0.3, -1.0, 1.0, 0.0], dtype=np.float32)
    for backend in ("numba", "numpy"):
        vec = vector(num_envs=4, backend=backend)
        assert vec.backend == backend, vec.backend_note
        sync = SyncVectorEnv([single for _ in range(4)])
        same(vec.reset(seed=2), sync.reset(seed=2), f"{backend} reset")
        vec.action_space.seed(2)
        rng = np.random.default_rng(2)
        for t in range(120):
            actions = vec.action_space.sample()
            if t % 3 == 0:  # exactly representable edges, e.g. float32(0.1)
                actions = rng.choice(edges, size=actions.shape)
            same(vec.step(actions), sync.step(actions), f"{backend} step {t}")


def test_a_time_limit_during_compilation_is_not_a_quiet_fallback(built, monkeypatch):
    """A caller's time limit firing while Numba compiles (the compiler fuzzer's alarm) reaches
    the caller; a real compile error still falls back to the NumPy code with a warning."""
    _, _, vector = built[1]["envgen/CartPole-v1"]

    def slow(self):
        raise TimeoutError("compiler took longer than 20s")

    monkeypatch.setattr(vector, "_compile_kernel", slow)
    with pytest.raises(TimeoutError):
        vector(num_envs=2)

    def broken(self):
        raise TypeError("a typing error")

    monkeypatch.setattr(vector, "_compile_kernel", broken)
    with pytest.warns(UserWarning, match="stepping with NumPy"):
        assert vector(num_envs=2).backend == "numpy"


def test_kernels_write_the_info_that_reset_also_returns(built, monkeypatch):
    """Info that reads state only (WallMaze's action mask, ResourceManagement's servers and
    queue) is written by the kernel after each step and autoreset (NEXT_STEP), not by NumPy
    code over all envs after it, and equals the single envs' info, types included."""
    for env_id in ("envgen/WallMaze-v0", "envgen/ResourceManagement-v0"):
        _, single, vector = built[1][env_id]
        vec = vector(num_envs=5, backend="numba")
        sync = SyncVectorEnv([single for _ in range(5)])
        same(vec.reset(seed=2), sync.reset(seed=2), env_id)
        # the NumPy code's reset info may not run after reset (setattr raises if it is gone)
        monkeypatch.setattr(vec, "_info", _must_not_run)
        vec.action_space.seed(2)
        for t in range(200):
            actions = vec.action_space.sample()
            same(vec.step(actions), sync.step(actions), f"{env_id} step {t}")


def _must_not_run(*args, **kwargs):
    raise AssertionError("the NumPy code computed the info the kernel should have written")


BOOL_TO_FLOAT_SPEC = """\
id: test/BoolReward-v0
action_space: {Discrete: 2}
observation_space: {Discrete: 5}
state:
  s: {dtype: int64, init: 0}
step: |
  s = min(s + action, 4)
  bonus = float(s == 2) + float64(action == 1)
observation: s
reward: s == 4
info:
  bonus: bonus
terminated: s == 4
max_episode_steps: 30
"""


#: Sized draws from each env's Generator (integers() makes every stream a Generator) next
#: to random/uniform, whose state-row helpers had the same names (newcomer trial 4, N17).
SIZED_GENERATOR_DRAWS_SPEC = """\
id: test/SizedDraws-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -1000, high: 1000, shape: [2], dtype: float64}}
state:
  v: {shape: [3], init: "uniform(-2.0, 2.0, size=3)"}
  s: {init: "uniform(-2.0, 2.0)"}
  n: {dtype: int64, shape: [2], init: "integers(-5, 5, size=2)"}
step: |
  v = v + 0.1 * (action - 0.5)
observation: "[abs(v[0]), abs(s)]"
max_episode_steps: 20
"""


@pytest.mark.parametrize("text", [BOOL_TO_FLOAT_SPEC, SIZED_GENERATOR_DRAWS_SPEC])
def test_kernels_that_once_fell_back_compile(tmp_path, text):
    """Numba has no float(bool): `float(s == 2)` and a bool reward compile all the same
    (the lead saw a spec with `reward: float(s == n - 1)` fall back to NumPy with a
    warning); sized Generator draws beside uniform() got the wrong helper (N17)."""
    single, vector = build_one(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "could not compile" warning
        vec = vector(num_envs=3, backend="auto")
    assert vec.backend == "numba", vec.backend_note
    sync = SyncVectorEnv([single for _ in range(3)])
    same(vec.reset(seed=0), sync.reset(seed=0))
    vec.action_space.seed(0)
    for t in range(40):
        actions = vec.action_space.sample()
        same(vec.step(actions), sync.step(actions), f"step {t}")


#: From newcomer trial 4 (N1): small int and float32 scalar state, which got no kernel.
ODOMETER_SPEC = """\
id: test/Odometer8-v0
params:
  burst: {default: 700, ge: 0, le: 30000}
action_space: {Discrete: 3, labels: [coast, boost, turn]}
observation_space: {Box: {low: -32768, high: 32767, shape: [3], dtype: int16}}
state:
  odo: {dtype: uint8, init: "uint8(integers(240, 256))"}
  heading: {dtype: int8, init: "int8(integers(100, 128))"}
  energy: {dtype: int16, init: "int16(integers(30000, 32000))"}
step: |
  if action == BOOST:
      odo = odo + uint8(9)
      energy = energy + int16(burst)
  elif action == TURN:
      heading = heading + int8(7)
  else:
      odo = odo + uint8(1)
observation: "[int16(odo), int16(heading), energy]"
reward: float(odo) / 255.0
info:
  odo: odo
  heading: heading
  energy: energy
max_episode_steps: 60
"""

LANDER_SPEC = """\
id: test/Lander1D-v0
params:
  gravity: {default: 1.62, gt: 0}
  max_thrust: {default: 4.0, gt: 0}
  dt: {default: 0.05, gt: 0, le: 1}
action_space: {Box: {low: 0.0, high: 1.0, shape: [1], dtype: float32}}
observation_space:
  Box: {low: [-1.0, -100.0, 0.0], high: [200.0, 100.0, 10.0], dtype: float32}
state:
  alt: {dtype: float32, init: "float32(uniform(40.0, 60.0))"}
  vel: {dtype: float32, init: "float32(uniform(-2.0, 0.0))"}
  fuel: {dtype: float32, init: "float32(10.0)"}
step: |
  thrust = clip(action[0], 0.0, 1.0)
  if fuel <= 0.0:
      thrust = float32(0.0)
  acc = thrust * max_thrust - gravity
  vel = clip(vel + acc * dt, -100.0, 100.0)
  alt = clip(alt + vel * dt, 0.0, 200.0)
  fuel = max(fuel - thrust * 0.5 * dt, 0.0)
  landed = alt <= 0.0
observation: "[alt, vel, fuel]"
terminated: landed
reward: "(10.0 if abs(vel) < 1.0 else -10.0) if landed else -0.01 * thrust"
max_episode_steps: 400
"""


@pytest.fixture(scope="module")
def narrow_envs(tmp_path_factory):
    """The single and vector env classes of ODOMETER_SPEC and LANDER_SPEC, built once."""
    root = tmp_path_factory.mktemp("narrow")
    return [build_one(root, text) for text in (ODOMETER_SPEC, LANDER_SPEC)]


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_small_int_and_float32_state_step_in_the_kernel(narrow_envs, mode):
    """uint8/int8/int16 state that wraps and float32 state step in the kernel, bit for bit
    and type for type like the single envs (they got no kernel before)."""
    for single, vector in narrow_envs:
        vec = vector(num_envs=6, backend="numba", autoreset_mode=mode)
        sync = SyncVectorEnv([single for _ in range(6)], autoreset_mode=mode)
        with np.errstate(over="ignore"):  # the single env's uint8 + uint8 wraps
            same(vec.reset(seed=5), sync.reset(seed=5))
            vec.action_space.seed(5)
            for t in range(300):
                actions = vec.action_space.sample()
                same(vec.step(actions), sync.step(actions), f"{single.__name__} step {t}")


#: A name made per env through a chain inside a loop: c is per env only from the third pass
#: (c = a, a = b, b = pos): a review found the vector analysis walked the body twice, so the
#: NumPy code printed `if c > 0.5:` on an array and raised at the first step.
LOOP_CHAIN_SPEC = """\
id: test/LoopChain-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -1000, high: 1000, shape: [1], dtype: float64}}
state:
  pos: {dtype: float64, init: "uniform(0.0, 1.0)"}
step: |
  a = 0.0
  b = 0.0
  c = 0.0
  for i in range(3):
      c = a
      a = b
      b = pos
  if c > 0.5:
      pos = pos - 0.1
  else:
      pos = pos + 0.1
observation: [pos]
reward: 0.0
terminated: pos > 100.0
max_episode_steps: 10
"""


def test_a_name_made_per_env_through_a_chain_in_a_loop(tmp_path):
    single, vector = build_one(tmp_path, LOOP_CHAIN_SPEC)
    for backend in ("numpy", "numba"):
        vec = vector(num_envs=6, backend=backend)
        assert vec.backend == backend, vec.backend_note
        step_alike(vec, SyncVectorEnv([single for _ in range(6)]), 3, 25)


# float32 state through library math: the kernel printed math.sin(float(th)), and Numba types
# float() of a float32 as float32, so the call was the C library's sinf (newcomer trial 5, M11:
# every seed of a float32 pendulum differed from the single env in the last bits by step 5)
FLOAT32_MATH = """\
id: test/Float32Math-v0
params:
  length: {default: 1.0, gt: 0.0}
action_space: {Box: {low: -2.0, high: 2.0, shape: [1], dtype: float32}}
observation_space: {Box: {low: -inf, high: inf, shape: [5], dtype: float64}}
state:
  th: {dtype: float32, init: "float32(uniform(-pi, pi))"}
  om: {dtype: float32, init: "float32(uniform(-1.0, 1.0))"}
  a: {init: 0.0}
  b: {init: 0.0}
step: |
  acc = -9.81 / length * sin(th) + action[0]
  om = om + acc * float32(0.05)
  th = th + om * float32(0.05)
  y = float(th)
  a = exp(y) + tan(om) + floor(th * float32(10.0))
  b = sqrt(abs(om)) + arctan(y) + log(abs(th) + 1.0)
observation: [cos(th), float(om), a, b, float(th)]
reward: -float(th * th)
max_episode_steps: 60
"""


def test_float32_state_through_library_math_equals_the_single_env(tmp_path):
    built = build_package(tmp_path, FLOAT32_MATH)
    vec = built.vector(num_envs=4, autoreset_mode=AutoresetMode.SAME_STEP)
    assert vec.backend == "numba", vec.backend_note
    sync = SyncVectorEnv([built.single for _ in range(4)], autoreset_mode=AutoresetMode.SAME_STEP)
    for seed in range(10):
        step_alike(vec, sync, seed, 25, f"seed {seed}")
