"""Space fields from params: every numeric field of every space takes an expression of params
(newcomer F12: MultiDiscrete `nvec` could not), with the space's shape followed symbolically."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_package
from gymnasium import spaces

from envgen.build import compile_specs
from envgen.runtime import InvalidParam

_SPACES = """\
id: t/Spaces-v0
params:
  n_products: {default: 3, ge: 1}
  max_order: {default: 4, ge: 0}
  first: {default: 2}
  lows: {default: [0.0, -1.0, -2.0]}
  highs: {default: [1.0, 2.0, 3.0]}
  width: {default: 5, ge: 1}
action_space: {MultiDiscrete: {nvec: "full(n_products, max_order + 1)"}}
observation_space:
  Dict:
    stock: {MultiDiscrete: "full(n_products, 10)"}
    box: {Box: {low: lows, high: highs, dtype: float64}}
    bits: {MultiBinary: n_products}
    grid: {MultiBinary: [n_products, width]}
    level: {Discrete: {n: width + 1, start: first}}
state:
  stock: {dtype: int64, shape: [n_products], init: 0}
step: |
  stock = clip(stock + action - 1, 0, 9)
observation:
  stock: stock
  box: "clip(zeros(3) + stock[0], lows, highs)"
  bits: "int8(stock > 0)"
  grid: "zeros((n_products, width), dtype='int8')"
  level: "first + stock[0] % (width + 1)"
reward: 0.0
terminated: false
max_episode_steps: 10
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    built = build_package(tmp_path_factory.mktemp("spaces"), _SPACES, spec_name="spaces.yaml")
    return built.single, built.vector


def test_every_numeric_space_field_takes_params(made):
    single, vector = made
    env = single(n_products=5, max_order=2, width=4, first=-1)
    assert env.action_space == spaces.MultiDiscrete([3] * 5)
    space = env.observation_space
    assert space["stock"] == spaces.MultiDiscrete([10] * 5)
    assert space["box"].shape == (3,) and space["box"].low.tolist() == [0.0, -1.0, -2.0]
    assert space["bits"].shape == (5,) and space["grid"].shape == (5, 4)
    assert space["level"] == spaces.Discrete(5, start=-1)
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        assert space.contains(obs), obs
        obs, *_ = env.step(env.action_space.sample())
    vec = vector(num_envs=3, n_products=5, max_order=2, width=4, first=-1)
    batch, _ = vec.reset(seed=0)
    assert batch["stock"].shape == (3, 5)
    batch, *_ = vec.step(np.ones((3, 5), dtype=np.int64))
    assert vec.observation_space.contains(batch)


def test_space_sizes_of_params_are_checked_when_the_env_is_made(made):
    single, _ = made
    with pytest.raises(InvalidParam, match=r"spaces\.yaml:9:\d+: with n_products=20000000 the "):
        single(n_products=20_000_000)


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (('"full(n_products, max_order + 1)"', '"max_order + 1"'), "nvec must be a 1-D integer"),
        (('"full(n_products, max_order + 1)"', '"full(n_products, 1.5)"'), "nvec must be a 1-D"),
        (("n_products: {default: 3, ge: 1}", "n_products: {default: 0}"), "a length of 0"),
    ],
)
def test_ill_typed_space_fields_of_params_are_located_errors(tmp_path, replace, message):
    spec = tmp_path / "spaces.yaml"
    spec.write_text(_SPACES.replace(*replace))
    compiled = compile_specs([spec], tmp_path / "pkg")
    found = [d for d in compiled.diagnostics if message in d.message]
    assert found, [d.format() for d in compiled.diagnostics]
    assert found[0].location.line > 1 and found[0].hint
    assert compiled.files == {}
