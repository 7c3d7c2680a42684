"""A plain int meeting a narrow int (docs/spec.md, "Numbers"): where it may not fit the
narrow dtype, the operation is int64 in every backend; where it provably fits, it stays
narrow (NEP 50).

Before, `uint8 + 300` was typed uint8: NumPy 2 raised at step time ("Python integer 300
out of bounds for uint8") in the single env and the NumPy vector env, while the Numba
kernel and JAX wrapped 300 to 44 (hostile trial 5 K10, K12, K13; newcomer trial 5 M3).
Each spec is a real file built by the real compiler; the single env comes from
`gym.make`, the vector env runs on its backends, JAX under x64 (where it is installed).
"""

from __future__ import annotations

import ast
import importlib
import itertools
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from envgen.build import compile_specs, write

_PACKAGES = itertools.count()
ACTIONS = [1, 0, 1, 1, 0, 1]

SCALAR = """\
id: nl/Scalar-v0
params:
  bump: {default: 200, ge: 0, le: 1000}
action_space: {Discrete: 2}
observation_space: {Box: {low: -1.0e+6, high: 1.0e+6, shape: [1], dtype: float64}}
state:
  u: {dtype: uint8, init: 250}
  a: {dtype: uint8, init: 44}
  c: {dtype: int8, init: 5}
  d: {dtype: int32, init: 5}
  m: {dtype: int64, init: 0}
  k: {dtype: int64, init: 0}
  v: {dtype: int64, init: 0}
  hit: {dtype: bool, init: false}
  g: {dtype: uint8, init: 5}
step: |
  u = uint8(u + bump)
  c = int8(c * 1000)
  d = int32(d + 1099511627776 + action)
  m = max(a, 300) + 100
  k = clip(a, 0, 1000) + 250
  v = (a if action == 1 else 300) + 250
  hit = a == 300
  g = g - 6
  a = a + 1
observation: "[0.0]"
reward: 0.0
max_episode_steps: 100
"""

ARRAY = """\
id: nl/Array-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -1.0e+6, high: 1.0e+6, shape: [2], dtype: float64}}
state:
  a: {shape: [4], dtype: uint8, init: "full(4, 200, dtype='uint8')"}
  mx: {dtype: int64, init: 0}
  cl: {shape: [4], dtype: int64, init: "zeros(4, dtype='int64')"}
  wh: {shape: [4], dtype: int64, init: "zeros(4, dtype='int64')"}
step: |
  mx = max(a[0], 300)
  cl = clip(a, 0, 1000) * 2
  wh = where(a > 100, 300, a)
  a[1] = 50
observation: "[max(a[0], 300), clip(a, 0, 1000)[0]]"
reward: 0.0
max_episode_steps: 100
"""


class Built:
    """One spec built into its own package: its id, vector env class and JAX module."""

    def __init__(self, tmp_path: Path, text: str) -> None:
        number = next(_PACKAGES)
        path = tmp_path / "spec.yaml"
        path.write_text(text.replace("id: nl/", f"id: nl{number}/"))  # one id per build
        package = f"narrow_literals_{number}"
        compiled = compile_specs([path], tmp_path / package)
        assert not compiled.diagnostics, "\n".join(d.format() for d in compiled.diagnostics)
        write(compiled, tmp_path / package)
        sys.path.insert(0, str(tmp_path))
        try:
            importlib.import_module(package)  # registers the env with Gymnasium
            self.model = compiled.models[0]
            name = self.model.module_name
            vector = importlib.import_module(f"{package}.{name}_vector")
            self.vector = getattr(vector, f"{self.model.class_name.removesuffix('Env')}VectorEnv")
            self.jax = None
            if importlib.util.find_spec("jax") is not None:
                self.jax = importlib.import_module(f"{package}.{name}_jax")
        finally:
            sys.path.remove(str(tmp_path))
        self.names = list(self.model.state)

    def single(self, **params: int) -> tuple[list[dict], list[np.ndarray]]:
        env = gym.make(self.model.spec.id, **params)
        obs, _ = env.reset(seed=0)
        states, observations = [self._state(env.unwrapped)], [obs]
        for action in ACTIONS:
            obs = env.step(action)[0]
            states.append(self._state(env.unwrapped))
            observations.append(obs)
        return states, observations

    def _state(self, env: object) -> dict[str, object]:
        return {name: np.array(getattr(env, name)) for name in self.names}

    def vectorized(self, backend: str, **params: int) -> tuple[list[dict], list[np.ndarray]]:
        vec = self.vector(num_envs=2, backend=backend, **params)
        assert vec.backend == backend, vec.backend_note
        obs, _ = vec.reset(seed=0)
        states = [{name: np.array(getattr(vec, name)[0]) for name in self.names}]
        observations = [obs[0]]
        for action in ACTIONS:
            obs = vec.step(np.array([action, action]))[0]
            states.append({name: np.array(getattr(vec, name)[0]) for name in self.names})
            observations.append(obs[0])
        return states, observations

    def jax_functions(self, **params: int) -> tuple[list[dict], list[np.ndarray]]:
        import jax

        module = self.jax
        with jax.enable_x64(True):
            static = module.SingleEnv(**params)
            p = module.default_params(static)
            step = jax.jit(lambda s, a: module.step(jax.random.key(0), s, a, p, static)[0])
            observe = jax.jit(lambda s: module.observe(s, p, static))
            state = module.reset(jax.random.key(0), p, static)
            states = [{name: np.asarray(getattr(state, name)) for name in self.names}]
            observations = [np.asarray(observe(state))]
            for action in ACTIONS:
                state = step(state, np.int64(action))
                states.append({name: np.asarray(getattr(state, name)) for name in self.names})
                observations.append(np.asarray(observe(state)))
        return states, observations


def _same(want: tuple[list, list], got: tuple[list, list], what: str) -> None:
    """The same state values (and dtypes' kinds) and observations at every step."""
    for t, (a, b) in enumerate(zip(want[0], got[0], strict=True)):
        for name in a:
            x, y = np.asarray(a[name]), np.asarray(b[name])
            assert x.dtype.kind == y.dtype.kind, (what, t, name, x.dtype, y.dtype)
            assert np.array_equal(x, y), (what, t, name, x, y)
    for t, (x, y) in enumerate(zip(want[1], got[1], strict=True)):
        assert np.array_equal(x, y), (what, "observation", t, x, y)


def _all_agree(built: Built, backends: tuple[str, ...], **params: int) -> tuple[list, list]:
    single = built.single(**params)
    for backend in backends:
        _same(single, built.vectorized(backend, **params), f"vector env ({backend})")
    if built.jax is not None:
        _same(single, built.jax_functions(**params), "JAX (x64)")
    return single


@pytest.mark.parametrize("bump", [200, 1000])
def test_plain_ints_beyond_a_narrow_int_compute_int64_in_every_backend(
    tmp_path: Path, bump: int
) -> None:
    built = Built(tmp_path, SCALAR)
    states, _ = _all_agree(built, ("numpy", "numba"), bump=bump)
    first, second = states[1], states[2]
    # uint8(u + bump) wraps the int64 sum: newcomer trial 5 M3 (bump=1000 raised)
    assert first["u"] == (250 + bump) % 256 and first["u"].dtype == np.uint8
    assert first["c"] == np.int64(5000).astype(np.int8)  # int8(c * 1000): 5000 wraps to -120
    assert first["d"] == 6  # int32(5 + 2**40 + 1): the int64 sum wraps to int32
    assert first["m"] == 400  # max(a, 300) is 300 (JAX took 300 as uint8 44)
    assert first["k"] == 44 + 250  # clip(a, 0, 1000) is a, and int64: + 250 does not wrap
    assert first["v"] == 44 + 250 and second["v"] == 300 + 250  # action 1, then 0
    assert not any(bool(s["hit"]) for s in states)  # 44 == 300 is false (JAX: 44 == 44)
    # a plain int that fits stays narrow, and narrow arithmetic wraps (NEP 50)
    assert first["g"] == 255 and first["g"].dtype == np.uint8


def test_narrow_arrays_meeting_plain_ints_agree(tmp_path: Path) -> None:
    built = Built(tmp_path, ARRAY)
    # the Numba kernel has no uint8 array state: the NumPy vector env is the native one
    states, observations = _all_agree(built, ("numpy",))
    assert states[1]["mx"] == 300  # hostile trial 5 K13: JAX said 200, vector numpy raised
    assert list(states[1]["cl"]) == [400] * 4  # K12: clip(a, 0, 1000) raised in make_vec
    assert list(states[2]["wh"]) == [300, 50, 300, 300]
    assert list(observations[0]) == [300.0, 200.0]


def test_a_plain_int_that_fits_keeps_the_narrow_dtype(tmp_path: Path) -> None:
    text = SCALAR.replace("bump: {default: 200, ge: 0, le: 1000}", "bump: {default: 5, le: 5}")
    text = text.replace("u = uint8(u + bump)", "u = u + bump + 1").replace(
        "bump: {default: 5, le: 5}", "bump: {default: 5, ge: 0, le: 5}"
    )
    built = Built(tmp_path, text)
    sums = [
        node
        for node in ast.walk(built.model.step.stmts[0])
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)
    ]
    assert {built.model.types[id(n)].dtype for n in sums} == {"uint8"}
    assert not built.model.int64_operands & {id(n) for n in ast.walk(built.model.step.stmts[0])}
    states, _ = _all_agree(built, ("numpy", "numba"))
    assert states[1]["u"] == (250 + 6) % 256  # uint8 wraps, as NumPy does


def _errors(tmp_path: Path, step: str, a_init: str = "zeros(4, dtype='uint8')") -> list[str]:
    text = "\n".join(
        [
            "id: nl/Bad-v0",
            "params:",
            "  n: {default: 5}",
            "action_space: {Discrete: 2}",
            "observation_space: {Box: {low: -1.0, high: 1.0, shape: [1], dtype: float64}}",
            "state:",
            "  b: {dtype: uint8, init: 5}",
            "  c: {dtype: int8, init: 5}",
            "  d: {dtype: int32, init: 5}",
            f'  a: {{shape: [4], dtype: uint8, init: "{a_init}"}}',
            "step: |",
            f"  {step}",
            'observation: "[0.0]"',
            "reward: 0.0",
            "",
        ]
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    compiled = compile_specs([path], tmp_path / "out")
    return [d.format() for d in compiled.diagnostics]


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("b = b + 300", "assigning an int64 scalar to uint8 state 'b'", "`b = uint8(...)`"),
        ("b = b + n", "assigning an int64 scalar to uint8 state 'b'", "`b = uint8(...)`"),
        ("c = c * 1000", "assigning an int64 scalar to int8 state 'c'", "`c = int8(...)`"),
        (
            "d = d + 1099511627776",
            "assigning an int64 scalar to int32 state 'd'",
            "`d = int32(...)`",
        ),
        ("b += 300", "assigning an int64 scalar to uint8 state 'b'", "`b = uint8(...)`"),
        ("b = 300", "300 does not fit uint8 state 'b'", "`b = uint8(...)`"),
        ("b = n", "may not fit uint8 state 'b' (it may be any int64)", "`b = uint8(...)`"),
        ("a[1] = 300", "300 does not fit uint8 array 'a'", "`a[1] = uint8(...)`"),
    ],
)
def test_a_plain_int_that_may_not_fit_narrow_state_is_a_located_build_error(
    tmp_path: Path, line: str, message: str, hint: str
) -> None:
    messages = _errors(tmp_path, line)
    assert len(messages) == 1, messages
    assert "bad.yaml:12:3" in messages[0]
    assert message in messages[0] and hint in messages[0], messages[0]


@pytest.mark.parametrize(
    ("init", "message"),
    [
        ("full(4, 300, dtype='uint8')", "300 does not fit uint8 elements of full()"),
        ("array([1, 2, 3, 300], dtype='uint8')", "300 does not fit uint8 elements of array()"),
        ("full(4, n, dtype='uint8')", "may not fit uint8 elements of full() (it may be any"),
    ],
)
def test_a_plain_int_beyond_the_dtype_of_a_new_array_is_a_located_build_error(
    tmp_path: Path, init: str, message: str
) -> None:
    messages = _errors(tmp_path, "b = b + 1", a_init=init)
    assert len(messages) == 1, messages
    assert "bad.yaml:10:" in messages[0] and message in messages[0], messages[0]


MATH_OF_FLOAT32 = """\
id: nl/Math32-v0
action_space: {Discrete: 2}
observation_space: {Box: {low: -1.0e+6, high: 1.0e+6, shape: [1], dtype: float64}}
state:
  h: {dtype: float32, init: "float32(3.7)"}
  out: {dtype: float32, init: "float32(0.0)"}
  wave: {dtype: float32, init: "float32(0.0)"}
step: |
  h = h * float32(1.0173) if action == 1 else h * float32(0.9871)
  err = abs(h - 5.0)
  out = float32(1.0 - sqrt(err))
  wave = float32(cos(3 * h) * 0.0025)
observation: "[0.0]"
reward: 1.0 - sqrt(abs(h - 5.0))
max_episode_steps: 100
"""


def test_scalar_math_of_a_float32_is_float64_in_every_backend(tmp_path: Path) -> None:
    # newcomer trial 6 P4: sqrt of float32 state is Python's math.sqrt in the single env (a
    # float64), and the IR says so; JAX took jnp.sqrt of the float32. (Not `... - 0.1 * h`
    # in float32: XLA under jit contracts a float32 multiply-subtract, eager JAX does not.)
    built = Built(tmp_path, MATH_OF_FLOAT32)
    states, _ = _all_agree(built, ("numpy", "numba"))
    h = np.float32(3.7) * np.float32(1.0173)
    assert states[1]["out"] == np.float32(1.0 - np.sqrt(np.float64(abs(h - 5.0))))


@pytest.mark.parametrize(
    ("step", "message"),
    [
        # hostile trial 6 Q7: float32 in one branch, float64 in the other
        (
            ["if action == 1:", "  v = float32(v * 1.1)", "else:", "  v = v * 1.1"],
            "state 'v' holds float32 after this `if` and float64 after the other branch",
        ),
        # Q8: int64 state given int8 in one branch only
        (
            ["if action == 1:", "  q = int8(q + 100)"],
            "state 'q' holds int8 after this `if` and int64 when the condition is false",
        ),
    ],
)
def test_a_state_dtype_that_depends_on_the_branch_is_a_located_build_error(
    tmp_path: Path, step: list[str], message: str
) -> None:
    path = tmp_path / "branch.yaml"
    path.write_text(_branch_spec(step))
    messages = [d.format() for d in compile_specs([path], tmp_path / "out").diagnostics]
    assert len(messages) == 1 and "branch.yaml:9:3" in messages[0], messages
    assert message in messages[0] and "the same way on every path" in messages[0]


def test_a_state_dtype_the_same_on_every_path_builds(tmp_path: Path) -> None:
    step = [
        "if action == 1:",
        "  v = float32(v * 1.1)",
        "else:",
        "  v = float32(v * 0.9)",
        "if v < 0.0:",
        "  w = 0.0",  # a plain float into float64 state in one branch: float64 either way
        "q = int8(q + 100)",  # every path: the type changes after the first step alike
    ]
    path = tmp_path / "branch.yaml"
    path.write_text(_branch_spec(step))
    assert not compile_specs([path], tmp_path / "out").diagnostics


def _branch_spec(step: list[str]) -> str:
    lines = [
        "id: nl/Branch-v0",
        "action_space: {Discrete: 2}",
        "observation_space: {Box: {low: -1.0, high: 1.0, shape: [1], dtype: float64}}",
        "state:",
        "  v: {init: 0.3}",
        "  w: {init: 0.0}",
        "  q: {dtype: int64, init: 50}",
        "step: |",
        *(f"  {line}" for line in step),
        'observation: "[0.0]"',
        "reward: 0.0",
        "",
    ]
    return "\n".join(lines)
