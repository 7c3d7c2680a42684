"""Shapes the params decide: checked when the env is made for the params it is made with
(those invalid at the default params are refused at build: tests/bad_specs/*_at_default_params
and obs_reshape_zero_beside_minus_one, each with its message, line:column and hint); and
observation parts of the single env with the Python types the vector env's sub-envs give."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import build_package
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from envgen.build import compile_specs
from envgen.runtime import InvalidParam

_BASE = """\
id: t/Shapes-v0
params:
  n: {{default: 3, ge: 1}}
action_space: {{Discrete: 2}}
observation_space: {{Box: {{low: -10, high: 10, shape: {obs_shape}, dtype: float32}}}}
state:
  pos: {{dtype: int64, init: 0}}
  arr: {{dtype: float64, shape: {state_shape}, init: 0.0}}
step: |
  pos += 1
observation: "{observation}"
reward: 0.0
terminated: false
max_episode_steps: 10
"""


def _spec(tmp_path, **parts):
    fields = {"obs_shape": "[1]", "state_shape": "[n]", "observation": "[pos]"} | parts
    path = tmp_path / "s.yaml"
    path.write_text(_BASE.format(**fields))
    return path


def _built(tmp_path, spec):
    built = build_package(tmp_path, spec)
    return built.single, built.vector


def test_shapes_of_params_are_checked_when_the_env_is_made(tmp_path):
    spec = _spec(tmp_path, obs_shape="[n]", state_shape="[n, 2]", observation="arr[:, 0]")
    single, vector = _built(tmp_path, spec)
    single(n=5).reset(seed=0)  # valid params still work
    state = r"s\.yaml:8:\d+: with n=6000000 state 'arr' would have shape \(6000000, 2\): "
    with pytest.raises(InvalidParam, match=state + "12000000 elements, more than"):
        single(n=6_000_000)
    with pytest.raises(InvalidParam, match=state):
        vector(num_envs=2, n=6_000_000)
    space = r"s\.yaml:5:\d+: with n=20000000 the observation space would have shape"
    with pytest.raises(InvalidParam, match=space):
        single(n=20_000_000)


_DISCRETE = """\
id: t/Cells-v0
params:
  n: {default: 5, ge: 2}
constants:
  NEXT: [1, 2, 3, 4, 0]
action_space: {Discrete: 2}
observation_space: {Dict: {table: {Discrete: 5}, function: {Discrete: 5}, inline: {Discrete: 5}}}
functions:
  ahead: {args: [p], return: "NEXT[p]"}
state:
  cell: {dtype: int64, init: 0}
  other: {dtype: int64, init: 0}
step: |
  cell = NEXT[cell] if action == 1 else cell
  other = ahead(other)
observation: {table: cell, function: "ahead(other)", inline: "NEXT[cell]"}
info: {cell: cell, ahead: "ahead(cell)"}
reward: 0.0
terminated: cell == 4
max_episode_steps: 12
"""


def test_discrete_observations_are_python_ints_as_in_the_vector_sub_envs(tmp_path):
    """Scalar int state set from a table element holds a NumPy int at run time, though its
    type says a plain int: the single env's Discrete observation was np.int64 where the
    vector env's sub-env observations (final_obs) are ints. Every part, every step."""
    spec = tmp_path / "cells.yaml"
    spec.write_text(_DISCRETE)
    single, vector = _built(tmp_path, spec)
    env = single()
    obs, _ = env.reset(seed=0)
    for t in range(30):
        assert {k: type(v) for k, v in obs.items()} == dict.fromkeys(obs, int), (t, obs)
        obs, _, terminated, truncated, _ = env.step(t % 2)
        if terminated or truncated:
            obs, _ = env.reset()
    mode = AutoresetMode.SAME_STEP
    vec = vector(num_envs=2, autoreset_mode=mode)
    sync = SyncVectorEnv([single, single], autoreset_mode=mode)
    vec.reset(seed=1), sync.reset(seed=1)
    finals = 0
    for _ in range(30):
        got, want = vec.step(np.array([1, 1])), sync.step(np.array([1, 1]))
        for key in ("final_obs",) if "final_obs" in want[4] else ():
            for a, b in zip(got[4][key], want[4][key], strict=True):
                if a is not None:
                    finals += 1
                    assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}
                    assert a == b
    assert finals > 0


@pytest.mark.parametrize(
    ("observation", "obs_shape"),
    [
        ("flatnonzero(arange(n) > 0)", "[n]"),  # hostile B15: 2 of 3 values
        ("concatenate([arr, zeros(n // 2)])", "[n + 2]"),  # // is not followed
    ],
)
def test_observation_lengths_the_compiler_cannot_decide_are_checked_each_time(
    tmp_path, observation, obs_shape
):
    from envgen.runtime import ObservationShapeError

    spec = _spec(tmp_path, obs_shape=obs_shape, observation=observation)
    compiled = compile_specs([spec], tmp_path / "pkg")
    assert not compiled.diagnostics
    (note,) = [n for n in compiled.notes if "no JAX module" in n]
    assert "s.yaml:11:" in note
    single, vector = _built(tmp_path, spec)
    for make in (single, lambda: vector(num_envs=2)):
        env = make()
        with pytest.raises(ObservationShapeError, match=r"s\.yaml:11:\d+: the observation has"):
            env.reset(seed=0)
            for _ in range(5):
                env.step(env.action_space.sample())


@pytest.mark.parametrize(
    ("observation", "at"),
    [  # hostile trial 4 H7: lengths that change with the state, from step to step
        ("arr[:pos]", "arr[:pos]"),
        ("zeros(pos)", "zeros(pos)"),
        ("arange(pos) * 1.0", "arange(pos)"),
        ("arr[arr > 0]", "arr[arr > 0]"),
        ("flatnonzero(arr)", "flatnonzero(arr)"),
        ("concatenate([[1.0], arr[pos % 3:pos % 3 + 2]])", "arr[pos % 3:pos % 3 + 2]"),
        ("reshape(arr, (pos, -1))[0]", "reshape(arr, (pos, -1))"),
    ],
)
def test_observation_lengths_that_depend_on_state_are_refused_at_build(tmp_path, observation, at):
    spec = _spec(tmp_path, obs_shape="[n]", observation=observation)
    compiled = compile_specs([spec], tmp_path / "pkg")
    (diagnostic,) = compiled.diagnostics
    assert f"depends on state values at `{at}`, but a Box space has one shape" in (
        diagnostic.message
    )
    assert diagnostic.location.line == 11
    assert diagnostic.location.column == 15 + observation.index(at)
    assert compiled.files == {}


@pytest.mark.parametrize(
    ("step", "at"),
    [  # hostile trial 4 vd6/vd7: state keeps one shape
        ("arr = reshape(arr, (pos, -1))[0]", "reshape(arr, (pos, -1))"),
        ("arr = concatenate([arr[:pos], zeros(1)])", "arr[:pos]"),
    ],
)
def test_state_values_whose_length_depends_on_values_are_refused(tmp_path, step, at):
    text = _BASE.format(obs_shape="[1]", state_shape="[n]", observation="[pos]")
    spec = tmp_path / "s.yaml"
    spec.write_text(text.replace("  pos += 1\n", f"  pos += 1\n  {step}\n"))
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert f"state 'arr' depends on values at `{at}`" in diagnostic.message
    assert (diagnostic.location.line, diagnostic.location.column) == (11, 3 + step.index(at))
    assert "roll(x, k)" in diagnostic.hint


def test_state_slices_by_params_still_build(tmp_path):
    text = _BASE.format(obs_shape="[1]", state_shape="[n]", observation="[pos]")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        text.replace("  pos += 1\n", "  pos += 1\n  arr = concatenate([arr, arr])[:n]\n")
    )
    assert not compile_specs([spec], tmp_path / "pkg").diagnostics


@pytest.mark.parametrize(
    ("obs_shape", "observation", "params", "length"),
    [
        ("[n + n // 2]", "concatenate([arr, zeros(n // 2)])", {"n": 4}, 6),  # // is not followed
        # k <= n pads to n: two unknown lengths whose sum the types cannot see
        ("[n]", "concatenate([arr[:k], zeros(n - k)])", {}, 3),
    ],
)
def test_unknown_lengths_that_fit_the_space_are_checked_each_time_and_run(
    tmp_path, obs_shape, observation, params, length
):
    """An observation whose length the compiler cannot tell is not refused: the generated
    envs check its shape at each observation (`_rt.fixed_shape`, at the observation's
    line:column), and run when it is right."""
    text = _BASE.format(obs_shape=obs_shape, state_shape="[n]", observation=observation)
    text = text.replace(
        "  pos: {dtype: int64, init: 0}\n",
        "  pos: {dtype: int64, init: 0}\n  k: {dtype: int64, init: 1}\n",
    )
    text = text.replace("  pos += 1\n", "  pos += 1\n  k = min(k + action, n)\n")
    built = build_package(tmp_path, text, spec_name="s.yaml")
    (note,) = [n for n in built.compiled.notes if "no JAX module" in n]
    assert "s.yaml:13:14: an observation whose length the compiler could not tell" in note
    name = built.model.module_name
    checked = [f for f in (f"{name}.py", f"{name}_vector.py") if f in built.compiled.files]
    assert checked[0] == f"{name}.py" and (built.vector is None) == (len(checked) == 1)
    for file in checked:
        source = built.compiled.files[file]
        assert source.count("_rt.fixed_shape(") == 1, file
        assert re.search(r'_rt\.fixed_shape\(.*?s\.yaml:13:14",?\s*\)', source, re.S), file
    envs = [built.single(**params)]
    if built.vector is not None:
        envs.append(built.vector(num_envs=3, **params))
    for env in envs:
        obs, _ = env.reset(seed=0)
        for _ in range(8):
            assert obs.shape[-1:] == (length,), obs.shape
            assert env.observation_space.contains(obs), obs
            obs, *_ = env.step(env.action_space.sample())


def test_reshape_of_state_that_the_default_params_cannot_divide_is_refused(tmp_path):
    """Hostile trial 4 H6: `reshape(arr, (2, -1))` of 3 elements raised at every step."""
    text = _BASE.format(obs_shape="[1]", state_shape="[n]", observation="[pos]")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        text.replace("  pos += 1\n", "  pos += 1\n  arr = ravel(reshape(arr, (2, -1)))\n")
    )
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "reshape() of 'arr' (3 elements with the default params) into (2, -1)" in (
        diagnostic.message
    )
    assert (diagnostic.location.line, diagnostic.location.column) == (11, 15)


_RESHAPE_BY_PARAMS = """\
id: t/Fold-v0
params:
  n: {default: 6}
  k: {default: 2}
action_space: {Discrete: 2}
observation_space: {Box: {low: -inf, high: inf, shape: [n], dtype: float64}}
state:
  arr: {shape: [n], init: "arange(n) * 1.0"}
step: |
  m = reshape(arr, (k, -1))
  arr = ravel(m[::-1]) + action
observation: arr
reward: 0.0
max_episode_steps: 5
"""


def test_reshape_into_lengths_of_params_is_checked_when_the_env_is_made(tmp_path):
    """Hostile trial 5 K5: with `-p k=4` the env was made, then the first step raised a
    different raw ValueError in each backend (and `envgen play` printed a traceback)."""
    built = build_package(tmp_path, _RESHAPE_BY_PARAMS, jax=True)
    env = built.single(k=3)  # 6 elements into (3, -1): fine, and the rows are reversed
    env.reset(seed=0)
    assert env.step(0)[0].tolist() == [4.0, 5.0, 2.0, 3.0, 0.0, 1.0]
    at = r"spec\.yaml:10:7: with k=4, n=6 `reshape\(arr, \(k, -1\)\)` asks for the shape \(4, -1\)"
    with pytest.raises(InvalidParam, match=at + ": 6 elements do not divide into rows of 4"):
        built.single(k=4)
    with pytest.raises(InvalidParam, match=at):
        built.vector(num_envs=2, k=4)
    with pytest.raises(InvalidParam, match=r"with k=-2, n=6 .* at most one -1"):
        built.single(k=-2)
    with pytest.raises(InvalidParam, match=r"with k=0, n=6 .* rows of 0"):
        built.single(k=0)
    if built.jax is not None:
        import envgen.jax

        with pytest.raises(InvalidParam, match=at):
            envgen.jax.make(f"{built.package}:t/Fold-v0", k=4)


def test_reshape_in_a_branch_the_params_skip_is_neither_refused_at_build_nor_when_made(
    tmp_path,
):
    """Hostile trial 6 Q9: the make-time check (and the build's, at the defaults) refused
    `reshape(arr, (k, -1))` under `if n % k == 0`, which never runs where k does not divide n."""
    spec = _RESHAPE_BY_PARAMS.replace("id: t/Fold-v0", "id: t/Branch-v0").replace(
        "  k: {default: 2}", "  k: {default: 4}"
    )
    spec = spec.replace(
        "  m = reshape(arr, (k, -1))\n  arr = ravel(m[::-1]) + action\n",
        "  if n % k == 0:\n"
        "      arr = ravel(reshape(arr, (k, -1))[::-1]) + action\n"
        "  else:\n"
        "      arr = arr + action\n",
    )
    built = build_package(tmp_path, spec)
    for k, want in ((4, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), (3, [5.0, 6.0, 3.0, 4.0, 1.0, 2.0])):
        env = built.single(k=k)
        env.reset(seed=0)
        assert env.step(1)[0].tolist() == want
        vec = built.vector(num_envs=2, k=k)
        vec.reset(seed=0)
        assert vec.step(np.array([1, 1]))[0][0].tolist() == want
