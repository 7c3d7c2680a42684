"""The single env's number rules (docs/spec.md, "Numbers") as the printer spends them: the
checks it leaves out where bounds prove them needless, and the ones it keeps."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import build_package

from envgen.build import compile_specs
from envgen.runtime import ObservationShapeError

INT64_MIN = -(2**63)


def _build(tmp_path: Path, text: str) -> tuple[str, str]:
    """Build one spec into its own package; its env id and its single env's source."""
    built = build_package(tmp_path, text, register=True)  # registers the env with Gymnasium
    return built.model.spec.id, built.compiled.files[f"{built.model.module_name}.py"]


def _step_source(source: str) -> str:
    return source[source.index("    def step(") : source.index("    def render(")]


def test_augmented_assignments_wrap_only_where_assignments_would(tmp_path: Path) -> None:
    env_id, source = _build(
        tmp_path,
        "id: nums/Aug-v0\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Discrete: 3}\n"
        "state:\n"
        "  halves: {dtype: int64, init: 1000}\n"
        "  halves2: {dtype: int64, init: 1000}\n"
        "  flip: {dtype: int64, init: -9223372036854775807 - 1}\n"
        "  flip2: {dtype: int64, init: -9223372036854775807 - 1}\n"
        "step: |\n"
        "  halves //= 2\n"
        "  halves2 = halves2 // 2\n"
        "  flip //= action - 2\n"
        "  flip2 = flip2 // (action - 2)\n"
        "observation: 0\n"
        "reward: 0.0\n"
        "max_episode_steps: 10\n",
    )
    step = _step_source(source)
    # a divisor of 2 cannot make INT64_MIN // -1: neither form wraps
    assert "halves = halves // 2" in step and "halves2 = halves2 // 2" in step, step
    # a divisor that may be -1 wraps, in both forms
    assert "flip = _num.wrap64(flip // (action - 2))" in step, step
    assert "flip2 = _num.wrap64(flip2 // (action - 2))" in step, step
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    env.step(1)  # INT64_MIN // -1 leaves int64 and wraps back to INT64_MIN
    assert (env.halves, env.halves2, env.flip, env.flip2) == (500, 500, INT64_MIN, INT64_MIN)
    env.step(0)
    assert (env.halves, env.halves2) == (250, 250)
    assert env.flip == env.flip2 == INT64_MIN // -2


def test_reward_observation_info_run_plainly_and_keep_ieee_results(tmp_path: Path) -> None:
    env_id, source = _build(
        tmp_path,
        "id: nums/Ends-v0\n"
        "params:\n"
        "  scale: {default: 2.0, gt: 0}\n"
        "  shift: {default: 1.0, ge: 0}\n"
        "let:\n"
        "  total: scale + 0.5\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: -inf, high: inf, shape: [3], dtype: float64}}\n"
        "state:\n"
        "  d: {init: 1.0}\n"
        "step: |\n"
        "  d = d - 1.0\n"
        "observation: [d / scale, d / total, 1.0 / d]\n"
        "reward: 1.0 / d + d / shift\n"
        "terminated: 1.0 / d > 100.0\n"
        "info:\n"
        "  ratio: 1.0 / d\n"
        "max_episode_steps: 10\n",
    )
    # a float param with gt/ge > 0 and a sum of such values are never 0: plain division
    assert "self.d / self.scale" in source and "self.d / self.total" in source, source
    # divisors that may be 0 (state, a param that may be 0) run plainly, in try
    step = _step_source(source)
    for line in (
        "reward = float(1.0 / d + d / self.shift)",
        "terminated = bool(1.0 / d > 100.0)",
        'info = {"ratio": float(1.0 / d)}',
    ):
        assert f"        try:\n            {line}\n" in step, (line, step)
    get_obs = source[source.index("    def _get_obs(") :]
    assert get_obs.splitlines()[1].strip() == "try:" and "1.0 / self.d]" in get_obs, get_obs
    assert "_num.div(self.d, self.scale)" not in source
    env = gym.make(env_id).unwrapped
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [0.5, 1.0 / 2.5, 1.0]
    obs, reward, terminated, _, info = env.step(0)  # d is 0.0: NumPy's inf, no exception
    assert obs.tolist() == [0.0, 0.0, float("inf")]
    assert (reward, terminated, info) == (float("inf"), True, {"ratio": float("inf")})
    assert type(reward) is float and type(terminated) is bool
    env = gym.make(env_id, shift=0.0).unwrapped
    env.reset(seed=0)
    env.step(0)
    _, reward, _, _, _ = env.step(0)  # d is -1.0: -1 + (-1.0 / 0.0)
    assert reward == float("-inf")


def test_a_checked_length_observation_is_built_as_an_unchecked_one(tmp_path: Path) -> None:
    # review r2 item 6: the checked-length branch had its own dtype table, without the
    # narrow-int wrap of an int Box
    env_id, source = _build(
        tmp_path,
        "id: nums/Checked-v0\n"
        "params:\n"
        "  n: {default: 1, ge: 0}\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: 0, high: 255, shape: [2], dtype: uint8}}\n"
        "state:\n"
        "  x: {dtype: int64, init: 250}\n"
        "step: |\n"
        "  x = x + 3\n"
        "observation: concatenate([ones(2, dtype='int64') * x, arange(n // 2)])\n"
        "reward: 0.0\n"
        "max_episode_steps: 50\n",
    )
    get_obs = source[source.index("    def _get_obs(") :]
    assert "_rt.fixed_shape(" in get_obs and ".astype(np.uint8)" in get_obs, get_obs
    env = gym.make(env_id).unwrapped
    obs = [env.reset(seed=0)[0]] + [env.step(0)[0] for _ in range(2)]
    assert [o.tolist() for o in obs] == [[250, 250], [253, 253], [0, 0]]
    assert all(o.dtype == np.uint8 for o in obs)
    with pytest.raises(ObservationShapeError, match="shape"):
        gym.make(env_id, n=2).reset(seed=0)  # three values for a space of two


def test_bounds_are_found_once_per_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # review r2 item 1: each use of a let walked its expression again, so a chain of lets
    # each using the one before twice took 2**n walks (18 lets: 1.3 s to print one env)
    from envgen.backends import _printer
    from envgen.backends.python import emit_env

    lets = "".join(f"  l{i}: l{i - 1} + l{i - 1}\n" for i in range(1, 16))
    path = tmp_path / "spec.yaml"
    path.write_text(
        "id: nums/Lets-v0\n"
        "params:\n"
        "  k: {default: 1, ge: 0, le: 3}\n"
        f"let:\n  l0: k\n{lets}"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Discrete: 5}\n"
        "state:\n"
        "  x: {dtype: int64, init: 0}\n"
        "step: |\n"
        "  x = (x + l15 + l15) % 5\n"
        "observation: x\n"
        "reward: 0.0\n"
        "max_episode_steps: 10\n"
    )
    compiled = compile_specs([path])
    assert not compiled.diagnostics, "\n".join(d.format() for d in compiled.diagnostics)
    walks = []
    find = _printer.Translator._int_bounds
    monkeypatch.setattr(
        _printer.Translator, "_int_bounds", lambda tr, node: walks.append(node) or find(tr, node)
    )
    source = emit_env(compiled.models[0], formatted=False).source
    assert len(walks) == len({id(n) for n in walks}) < 200, len(walks)
    # l15 is k * 2**15, within int64: x + l15 + l15 still wraps (x is state), once
    assert source.count("_num.wrap64(") == 1, source


def test_narrow_int_scalars_wrap_without_a_warning(tmp_path: Path) -> None:
    # trial 5 newcomer M2: `a = int8(a + step_size)` printed `np.int8 + int`, which wraps
    # with NumPy's "overflow encountered in scalar add" RuntimeWarning: an error under -W
    env_id, source = _build(
        tmp_path,
        "id: nums/Narrow-v0\n"
        "params:\n"
        "  step_size: {default: 100, ge: 0, le: 127}\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Discrete: 2}\n"
        "state:\n"
        "  a: {dtype: int8, init: 0}\n"
        "  b: {dtype: uint8, init: 0}\n"
        "  c: {dtype: int8, init: -128}\n"
        "step: |\n"
        "  a = int8(a + step_size)\n"
        "  b += 100\n"
        "  b = b * 3 - 1\n"
        "  c = -c\n"
        "observation: 0\n"
        "reward: 0.0\n"
        "max_episode_steps: 10\n",
    )
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            env.step(0)
            seen.append((int(env.a), int(env.b), int(env.c)))
    a, b = [0], [0]
    for _ in range(3):
        a.append((a[-1] + 100 + 128) % 256 - 128)
        b.append(((b[-1] + 100) * 3 - 1) % 256)
    assert seen == [(x, y, -128) for x, y in zip(a[1:], b[1:], strict=True)], source
    assert type(env.a) is np.int8 and type(env.b) is np.uint8 and type(env.c) is np.int8
