"""The number rules (docs/spec.md, "Numbers") hold in every backend: same seed and actions,
same trajectory, at the edges too.

Each spec is a real file, built with the real compiler; the single env comes from
`gym.make`, the vector env runs on both backends ("numpy" and "numba"), and the JAX
functions run under x64 (the JAX part is skipped where JAX is not installed). Before these
rules the single env let int64 state grow past 2**63 as a Python int, raised on `int8(200)`,
on integer `//` and `%` by zero and on `1.0 / 0.0`, while the others wrapped or gave 0, inf
or nan (hostile trial 2: B6, B8, B9; newcomer F10).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import build_package

#: One action per step: zeros make the divisors `action` zero.
ACTIONS = [1, 1, 0, 1, 0, 0, 1] * 7


def _spec(name: str, state: dict[str, str], step: str, limit: int = 100) -> str:
    lines = [f"id: num/{name}-v0", "action_space: {Discrete: 2}"]
    lines += [
        "observation_space: {Box: {low: -1.0e+300, high: 1.0e+300, shape: [1], dtype: float64}}",
        "state:",
    ]
    lines += [f"  {var}: {{{decl}}}" for var, decl in state.items()]
    lines += ["step: |", *(f"  {line}" for line in textwrap.dedent(step).strip().splitlines())]
    lines += ['observation: "[0.0]"', "reward: 0.0", f"max_episode_steps: {limit}", ""]
    return "\n".join(lines)


class Built:
    """One spec built into its own package: its single env id, vector env and JAX module."""

    def __init__(self, tmp_path: Path, text: str) -> None:
        built = build_package(tmp_path, text, register=True, jax=True)
        self.model, self.vector, self.jax = built.model, built.vector, built.jax
        self.names = list(self.model.state)

    def single(self, actions: list[int]) -> list[dict[str, object]]:
        env = gym.make(self.model.spec.id)
        env.reset(seed=0)
        out = [self._state(env.unwrapped)]
        for action in actions:
            env.step(action)
            out.append(self._state(env.unwrapped))
        return out

    def _state(self, env: object) -> dict[str, object]:
        return {name: _copy(getattr(env, name)) for name in self.names}

    def vectorized(self, backend: str, actions: list[int]) -> list[dict[str, object]]:
        vec = self.vector(num_envs=2, backend=backend)
        assert vec.backend == backend, vec.backend_note
        vec.reset(seed=0)
        out = [{name: _copy(getattr(vec, name)[0]) for name in self.names}]
        for action in actions:
            vec.step(np.array([action, action]))
            out.append({name: _copy(getattr(vec, name)[0]) for name in self.names})
        return out

    def jax_functions(self, actions: list[int]) -> list[dict[str, object]]:
        import jax

        module = self.jax
        with jax.enable_x64(True):
            static = module.SingleEnv()
            params = module.default_params(static)
            step = jax.jit(lambda s, a: module.step(jax.random.key(0), s, a, params, static)[0])
            state = module.reset(jax.random.key(0), params, static)
            out = [{name: np.asarray(getattr(state, name)) for name in self.names}]
            for action in actions:
                state = step(state, np.int64(action))
                out.append({name: np.asarray(getattr(state, name)) for name in self.names})
        return out


def _copy(value: object) -> object:
    """A value as it is now (an array of the state is changed in place by later steps)."""
    return value.copy() if isinstance(value, np.ndarray) else value


def _same(want: list[dict[str, object]], got: list[dict[str, object]], what: str) -> None:
    """Equal values at every step (NaN equal to NaN), and the same kind of number."""
    for t, (a, b) in enumerate(zip(want, got, strict=True)):
        for name in a:
            x, y = np.asarray(a[name]), np.asarray(b[name])
            assert x.dtype.kind == y.dtype.kind, (what, t, name, x.dtype, y.dtype)
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (what, t, name, x, y)


def _all_agree(built: Built, actions: list[int] = ACTIONS) -> list[dict[str, object]]:
    single = built.single(actions)
    for backend in ("numpy", "numba"):
        _same(single, built.vectorized(backend, actions), f"vector env ({backend})")
    if built.jax is not None:
        _same(single, built.jax_functions(actions), "JAX (x64)")
    return single


def test_int64_arithmetic_wraps_around_in_every_backend(tmp_path: Path) -> None:
    built = Built(
        tmp_path,
        _spec(
            "Wrap",
            {
                "grow": "dtype: int64, init: 1",
                "neg": "dtype: int64, init: 0",
                "low": "dtype: int64, init: 0",
                "sq": "dtype: int64, init: 3",
            },
            """
            grow = grow * 3 + action
            low = -9223372036854775807 - action - grow * 0
            neg = -low
            sq = sq * sq - abs(low) * action
            """,
        ),
    )
    single = _all_agree(built)
    grows = [s["grow"] for s in single]
    assert all(-(2**63) <= g < 2**63 for g in grows), "the single env's int64 stays an int64"
    assert min(grows) < 0, "3**41 passed 2**63 and wrapped to a negative number"
    assert single[1]["neg"] == -(2**63), "-INT64_MIN is INT64_MIN, as NumPy computes it"


def test_integer_floor_division_and_modulo_by_zero_give_zero(tmp_path: Path) -> None:
    built = Built(
        tmp_path,
        _spec(
            "IntDiv",
            {
                "q": "dtype: int64, init: 5",
                "r": "dtype: int64, init: 5",
                "q2": "dtype: int64, init: 5",
                "r2": "dtype: int64, init: 5",
            },
            """
            q = -7 // action
            r = 7 % action
            q2 = (q2 + 7) // (action * 2 - action)
            r2 %= action
            """,
        ),
    )
    single = _all_agree(built)
    assert single[3] == {"q": 0, "r": 0, "q2": 0, "r2": 0}, single[3]  # action 0
    assert single[2]["q"] == -7 and single[2]["r"] == 0


def test_float_arithmetic_is_ieee_754_in_every_backend(tmp_path: Path) -> None:
    built = Built(
        tmp_path,
        _spec(
            "Ieee",
            {
                "div": "dtype: float64, init: 1.0",
                "zero": "dtype: float64, init: 1.0",
                "fdiv": "dtype: float64, init: 1.0",
                "rem": "dtype: float64, init: 1.0",
                "root": "dtype: float64, init: 1.0",
                "logs": "dtype: float64, init: 1.0",
                "big": "dtype: float64, init: 1.0",
                "power": "dtype: float64, init: 1.0",
                "nan_power": "dtype: float64, init: 1.0",
                "cosine": "dtype: float64, init: 1.0",
                "ints": "dtype: float64, init: 1.0",
            },
            """
            div = 1.0 / (action * 1.0)
            zero = (action - 1) * 0.0 / (action * 1.0)
            fdiv = -3.0 // (action * 1.0)
            rem = 3.0 % (action * 1.0)
            root = sqrt(action - 0.5)
            logs = log(action * 1.0)
            big = exp(1000.0 * (1 - action)) + floor(1.0e300 * (1.0e300 + action))
            power = (action * 0.0) ** -1.0 + 10.0 ** (400 * (1 - action))
            nan_power = (action - 0.5) ** 0.5
            cosine = cos(div)
            ints = 1 / action + 2 ** (action - 1)
            """,
        ),
    )
    single = _all_agree(built)
    at_zero = single[3]  # the first step with action 0
    assert at_zero["div"] == np.inf and np.isnan(at_zero["zero"])
    assert at_zero["fdiv"] == -np.inf and np.isnan(at_zero["rem"])
    assert np.isnan(at_zero["root"]) and at_zero["logs"] == -np.inf
    assert at_zero["big"] == np.inf and at_zero["power"] == np.inf
    assert np.isnan(at_zero["nan_power"])
    assert np.isnan(at_zero["cosine"]) and at_zero["ints"] == np.inf
    assert all(type(v) is float for v in at_zero.values()), "float64 state stays a float"


def test_conversions_to_integers_wrap_ints_and_saturate_floats(tmp_path: Path) -> None:
    built = Built(
        tmp_path,
        _spec(
            "Casts",
            {
                "k": "dtype: int64, init: 0",
                "small": "dtype: int64, init: 0",
                "byte": "dtype: int64, init: 0",
                "sat": "dtype: int64, init: 0",
                "neg": "dtype: int64, init: 0",
                "whole": "dtype: int64, init: 0",
                "nan_int": "dtype: int64, init: 5",
                "inf_int": "dtype: int64, init: 0",
            },
            """
            k = k + 1
            small = int(int8(k * 50))
            byte = int(uint8(k * 50 - 200))
            sat = int(int8(k * 50.5))
            neg = int(uint8(-1.5 * k))
            whole = int(1.0e17 * k * k)
            nan_int = int(nan * action) + int(-inf * (1 - action))
            inf_int = int(inf * (action - 0.5))
            """,
        ),
    )
    single = _all_agree(built)
    assert [int(s["small"]) for s in single[1:5]] == [50, 100, -106, -56]  # wraps
    assert [int(s["byte"]) for s in single[1:5]] == [106, 156, 206, 0]
    assert [int(s["sat"]) for s in single[1:4]] == [50, 101, 127]  # saturates
    assert int(single[1]["neg"]) == 0
    assert single[20]["whole"] == 2**63 - 1  # 4e19 saturates at int64's max
    assert single[1]["nan_int"] == 0 and single[3]["nan_int"] == -(2**63)
    assert single[1]["inf_int"] == 2**63 - 1 and single[3]["inf_int"] == -(2**63)


def test_an_index_out_of_bounds_raises_in_the_single_and_vector_envs(tmp_path: Path) -> None:
    """IndexError in the single env, the NumPy code and the kernel (they clipped it: hostile
    trial 2 B20, trial 4 H3); negative indices count from the end everywhere. JAX cannot
    raise under jit: it clamps the read and drops the write (docs/jax.md)."""
    built = Built(
        tmp_path,
        _spec(
            "Index",
            {
                "pos": "dtype: int64, init: 0",
                "arr": "dtype: float64, shape: [3], init: 7.0",
                "seen": "dtype: float64, init: 0.0",
            },
            """
            pos = pos + 2 * action - 1
            arr[pos] = arr[pos] + 1.0
            seen = arr[pos]
            """,
        ),
    )
    actions = [0, 0, 0, 1, 1, 1, 1, 1, 1]  # -1, -2, -3, -2, -1, 0, 1, 2, then 3
    single = built.single(actions[:-1])
    for backend in ("numpy", "numba"):
        _same(single, built.vectorized(backend, actions[:-1]), f"vector env ({backend})")
    assert [s["pos"] for s in single[1:4]] == [-1, -2, -3]
    assert single[3]["arr"].tolist() == [8.0, 8.0, 8.0]  # arr[-3] is arr[0]
    with pytest.raises(IndexError):
        built.single(actions)
    for backend in ("numpy", "numba"):
        with pytest.raises(IndexError):
            built.vectorized(backend, actions)
    with pytest.raises(IndexError):
        built.single([0, 0, 0, 0])  # -4
    if built.jax is not None:
        jax_states = built.jax_functions(actions)
        _same(single, jax_states[:-1], "JAX (x64)")
        last = jax_states[-1]
        assert last["arr"].tolist() == jax_states[-2]["arr"].tolist(), "the write is dropped"
        assert last["seen"] == last["arr"][2], "the read is clamped"


def test_indices_that_only_envs_on_another_path_would_overflow_do_not_raise(
    tmp_path: Path,
) -> None:
    """The vector env computes both arms of `a if c else b` and masked branches for every
    env, and the step of an env that autoresets: only the envs that take the path are
    checked, as the single env only evaluates what it runs."""
    built = Built(
        tmp_path,
        _spec(
            "Guarded",
            {
                "pos": "dtype: int64, init: 0",
                "arr": "dtype: float64, shape: [3], init: 1.0",
                "seen": "dtype: float64, init: 0.0",
            },
            """
            seen = arr[pos] if pos < 3 else -1.0
            if pos < 3:
                arr[pos] = arr[pos] + action
            pos = (pos + 1) % 5
            """,
        ),
    )
    _all_agree(built)
    ends = _spec(
        "Ends",
        {"pos": "dtype: int64, init: 0", "arr": "dtype: float64, shape: [3], init: 1.0"},
        """
        arr[pos] = arr[pos] + action
        pos = pos + 1
        """,
    ).replace("reward: 0.0", "reward: 0.0\nterminated: pos >= 3")
    ended = Built(tmp_path, ends)  # a package of its own: build_package numbers them
    for backend in ("numpy", "numba"):
        vec = ended.vector(num_envs=2, backend=backend)
        sync = gym.vector.SyncVectorEnv([lambda: gym.make(ended.model.spec.id)] * 2)
        for env in (vec, sync):
            env.reset(seed=0)
        for t, action in enumerate(ACTIONS[:12]):
            # the env that ended at pos 3 autoresets: its stepping at pos 3 is not checked
            got, want = vec.step(np.array([action, 1])), sync.step(np.array([action, 1]))
            for a, b in zip(got[:4], want[:4], strict=True):
                assert np.array_equal(a, b), (backend, t, got, want)


def test_sign_of_array_elements_and_scalars_in_every_backend(tmp_path: Path) -> None:
    # newcomer trial 4 N14: the single env spelled sign as float((x > 0) - (x < 0)), which
    # NumPy refuses for an array element (np.float64 comparisons are np.bool_)
    built = Built(
        tmp_path,
        _spec(
            "Sign",
            {
                "v": "dtype: float64, shape: [3], init: 0.0",
                "s": "dtype: float64, init: 0.0",
                "half": "dtype: float64, init: 0.0",
            },
            """
            v[0] = v[0] + (0.5 if action == 1 else -0.75)
            s = sign(v[0]) + sign(v[1]) * 10.0
            half = sign(s - 0.5)
            """,
        ),
    )
    single = _all_agree(built)
    # v[0]: 0, .5, 1, .25, .75, 0, -.75, -.25 (actions 1 1 0 1 0 0 1)
    assert [t["s"] for t in single[:8]] == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, -1.0, -1.0]
    assert {t["half"] for t in single[1:]} <= {-1.0, 1.0}


def test_ints_in_a_narrow_int_box_wrap_in_every_backend(tmp_path: Path) -> None:
    # hostile trial 4 H24: 256 in a uint8 Box raised OverflowError in the single env and was
    # 0 in the vector envs and JAX
    spec = (
        "id: num/Byte-v0\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: 0, high: 255, shape: [2], dtype: uint8}}\n"
        "state:\n"
        "  x: {dtype: int64, init: 250}\n"
        "step: |\n"
        "  x = x + 3\n"
        "observation: [x, x * 2]\n"
        "reward: 0.0\n"
        "max_episode_steps: 50\n"
    )
    built = Built(tmp_path, spec)
    env = gym.make("num/Byte-v0")
    obs = [env.reset(seed=0)[0]] + [env.step(0)[0] for _ in range(3)]
    assert [o.tolist() for o in obs] == [[250, 244], [253, 250], [0, 0], [3, 6]]
    assert all(o.dtype == np.uint8 for o in obs)
    for backend in ("numpy", "numba"):
        vec = built.vector(num_envs=2, backend=backend)
        got = [vec.reset(seed=0)[0]] + [vec.step(np.array([0, 0]))[0] for _ in range(3)]
        assert [g[0].tolist() for g in got] == [o.tolist() for o in obs], backend
        assert all(g.dtype == np.uint8 for g in got), backend
    if built.jax is not None:
        import jax

        module = built.jax
        with jax.enable_x64(True):
            static = module.SingleEnv()
            params = module.default_params(static)
            state = module.reset(jax.random.key(0), params, static)
            got = [np.asarray(module.observe(state, params, static))]
            for _ in range(3):
                state = module.step(jax.random.key(0), state, np.int64(0), params, static)[0]
                got.append(np.asarray(module.observe(state, params, static)))
        assert [g.tolist() for g in got] == [o.tolist() for o in obs], "JAX (x64)"
        assert all(g.dtype == np.uint8 for g in got), "JAX (x64)"


def test_nan_and_signed_zeros_through_max_min_and_sign_in_every_backend(tmp_path: Path) -> None:
    # hostile trial 5 K2: max(0.0, nan) was 0.0 in the single env and the kernel (Python's
    # max keeps the first argument unless a later one compares greater), nan in the NumPy
    # vector env and JAX (np.maximum); sign(nan) was 0.0 in all but JAX (nan)
    built = Built(
        tmp_path,
        _spec(
            "NanOps",
            {
                "x": "dtype: float64, init: 1.0",
                "first": "dtype: float64, init: 0.0",
                "last": "dtype: float64, init: 0.0",
                "low": "dtype: float64, init: 0.0",
                "three": "dtype: float64, init: 0.0",
                "zmax": "dtype: float64, init: 0.0",
                "zmin": "dtype: float64, init: 0.0",
                "d": "dtype: float64, init: 0.0",
                "f": "dtype: float32, init: 0.0",
            },
            """
            x = inf * 0.0 if action == 0 else 0.5 * action
            first = max(0.0, x)
            last = max(x, 0.0)
            low = min(5.0, x) + min(x, -1.0)
            three = max(-1.0, x, 2.0 * x)
            zmax = 1.0 / max(-0.0, 0.0 * x)
            zmin = 1.0 / min(0.0, -0.0 * x)
            d = sign(x)
            f = min(float32(x), float32(0.25))
            """,
        ),
    )
    single = _all_agree(built)
    at_nan = single[3]  # the first step with action 0
    assert np.isnan(at_nan["x"]) and at_nan["first"] == 0.0 and np.isnan(at_nan["last"])
    assert np.isnan(at_nan["low"]) and at_nan["three"] == -1.0 and at_nan["d"] == 0.0
    assert np.isnan(at_nan["f"]) and single[1]["f"] == np.float32(0.25)
    # action 1: max(-0.0, 0.0) keeps -0.0, min(0.0, -0.0) keeps 0.0
    assert single[1]["zmax"] == -np.inf and single[1]["zmin"] == np.inf
    assert single[1]["three"] == 1.0 and single[1]["d"] == 1.0 and single[1]["low"] == -0.5


def test_a_choice_that_hands_python_zero_to_a_division_and_signed_zeros(tmp_path: Path) -> None:
    # hostile trial 6 Q1: max(0.0, f) of a float32 f is typed float32, but Python's max
    # returns its first argument, the Python 0.0, when f is not greater: 1.0 / that raised
    # ZeroDivisionError in the single env (the others gave inf). Q2: a signed zero through
    # floor, round, % and clip came out differently in each backend.
    built = Built(
        tmp_path,
        _spec(
            "Choices",
            {
                "f": "dtype: float32, init: 0.0",
                "x": "dtype: float64, init: 0.0",
                "inv_max": "dtype: float32, init: 0.0",
                "inv_min": "dtype: float32, init: 0.0",
                "inv_if": "dtype: float32, init: 0.0",
                "floors": "dtype: float64, init: 0.0",
                "rounds": "dtype: float64, init: 0.0",
                "rem": "dtype: float64, init: 0.0",
                "rem_neg": "dtype: float64, init: 0.0",
                "clipped": "dtype: float64, init: 0.0",
            },
            """
            f = f * action
            x = -(x * action) if action == 1 else -1.0
            inv_max = 1.0 / max(0.0, f)
            inv_min = 1.0 / min(0.0, -f)
            inv_if = 1.0 / (0.0 if action == 0 else f)
            floors = 1.0 / floor(x)
            rounds = 1.0 / round(x)
            rem = 1.0 / (x % 1.0)
            rem_neg = 1.0 / ((-x) % -1.0)
            clipped = 1.0 / clip(x, 0.0, 1.0)
            """,
        ),
    )
    single = _all_agree(built)
    first = single[1]  # action 1: f = 0, x = -0.0
    assert first["inv_max"] == np.inf and first["inv_min"] == np.inf
    assert first["floors"] == np.inf and first["rounds"] == np.inf  # never -0.0
    assert first["rem"] == np.inf and first["rem_neg"] == -np.inf  # the divisor's sign
    assert first["clipped"] == -np.inf  # min(max(-0.0, 0.0), 1.0) keeps -0.0
    assert single[3]["inv_if"] == np.inf  # action 0


def test_cumsum_of_small_ints_accumulates_in_int64_in_every_backend(tmp_path: Path) -> None:
    # hostile trial 5 K11: NumPy's cumsum of a uint8 array accumulates in int64 (as sum does),
    # JAX's in uint8: 800 in the single and vector envs, 32 in JAX
    built = Built(
        tmp_path,
        _spec(
            "CumSum",
            {
                "a": "shape: [4], dtype: uint8, init: \"full(4, 200, dtype='uint8')\"",
                "b": "shape: [4], dtype: int8, init: \"full(4, 100, dtype='int8')\"",
                "total": "dtype: int64, init: 0",
                "signed": "dtype: int64, init: 0",
            },
            """
            a[0] = a[0] + action
            total = int(cumsum(a)[3])
            signed = int(cumsum(b)[3])
            """,
        ),
    )
    single = built.single(ACTIONS)  # uint8 array state: no kernel, so the NumPy code
    _same(single, built.vectorized("numpy", ACTIONS), "vector env (numpy)")
    if built.jax is not None:
        _same(single, built.jax_functions(ACTIONS), "JAX (x64)")
    assert single[1]["total"] == 801 and single[1]["signed"] == 400


def test_a_choice_of_a_plain_number_and_a_narrow_one_computes_as_the_ir_says(
    tmp_path: Path,
) -> None:
    # hostile trial 6 Q10, Q11: Python's max/min/clip return a plain literal as it is, and the
    # single env then went on in Python numbers where the IR (and every other backend) has
    # the narrow type: max(100, c) * 3 of an int8 c was 300 (44 elsewhere), max(0, u) - 1 of
    # a uint8 was -1 (255); max(0.0, f) ** -1.0 raised ZeroDivisionError and
    # max(-1.0, f) ** 0.5 gave a complex number. (A float choice stays the Python float:
    # Gymnasium's MountainCarContinuous computes so, and envgen replays it exactly.)
    built = Built(
        tmp_path,
        _spec(
            "NarrowChoices",
            {
                "c": "dtype: int8, init: 5",
                "u": "dtype: uint8, init: 0",
                "f": "dtype: float32, init: -2.0",
                "wrapped": "dtype: int8, init: 0",
                "under": "dtype: uint8, init: 0",
                "clamped": "dtype: int8, init: 0",
                "inverse": "dtype: float32, init: 0.0",
            },
            """
            wrapped = max(100, c) * 3
            under = max(0, u) - 1
            clamped = clip(c, 100, 120) * 3
            inverse = 1.0 / abs(max(0.0, f))
            f = f + float32(action)
            """,
        ),
    )
    single = _all_agree(built)
    first = single[1]
    assert first["wrapped"] == 44 and first["under"] == 255 and first["clamped"] == 44
    assert first["inverse"] == np.inf


def test_a_power_of_a_choice_that_may_be_a_python_float_does_not_raise(tmp_path: Path) -> None:
    # hostile trial 6 Q10: max(0.0, f) ** -1.0 of a float32 f = -2.0 raised ZeroDivisionError
    # at reset and max(-1.0, f) ** 0.5 gave a complex number (the max is the Python float)
    built = Built(
        tmp_path,
        _spec(
            "ChoicePowers",
            {
                "f": "dtype: float32, init: -2.0",
                "power": "dtype: float64, init: 0.0",
                "root": "dtype: float64, init: 0.0",
            },
            """
            power = float(max(0.0, f) ** -1.0)
            root = float(max(-1.0, f) ** 0.5)
            f = f + float32(action)
            """,
        ),
    )
    single = built.single(ACTIONS)  # a float32 power: no kernel, so the NumPy code
    _same(single, built.vectorized("numpy", ACTIONS), "vector env (numpy)")
    if built.jax is not None:
        _same(single, built.jax_functions(ACTIONS), "JAX (x64)")
    assert single[1]["power"] == np.inf and np.isnan(single[1]["root"])
