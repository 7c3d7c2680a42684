"""Support code for the native vector envs that envgen generates (`*_vector.py` modules).

The generated modules import from here instead of carrying copies: per-sub-env random
streams (`Streams`), exactness guards for float64 math (`exact`), the info helpers, and the
per-env fallback for spec functions (`per_env`). See docs/vectorization.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import sys
import time
import types
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

try:  # Numba is a dependency, but envgen runs (NumPy code only) where it does not load
    from numba.typed import List as _TypedList
except Exception:  # ImportError, or an llvmlite that does not load here  # noqa: BLE001
    _TypedList = list
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envgen import runtime as _rt
from envgen.runtime import numeric

_NO_LIMIT = 2**63 - 1


@functools.cache
def _uniform_from_raw_is_exact() -> bool:
    """Whether Generator.uniform(low, high) equals low + (high - low) * (raw >> 11) / 2**53.

    It does wherever NumPy's C code does not fuse the multiply-add; checked once per process.
    """
    generator = seeding.np_random(12345)[0]
    state = generator.bit_generator.state
    expected = generator.uniform(-0.05, 0.05, 256)
    generator.bit_generator.state = state
    raw = generator.bit_generator.random_raw(256)
    got = -0.05 + (0.05 - -0.05) * ((raw >> np.uint64(11)) * (1.0 / 9007199254740992.0))
    return bool(np.array_equal(expected, got))


class Streams:
    """One PCG64 stream per sub-env, seeded like `env.reset(seed=seed + i)`.

    Every draw for env i comes from stream i, in the order the single env makes it, so
    each sub-env's stream is exactly the single env's. Where the spec draws only `random()`
    and `uniform()` (`buffered`), the streams are rows of `states` (PCG64's 128-bit state
    and increment as four uint64 words, 32 bytes per env), which compiled code steps with
    PCG64's own arithmetic (`_pcg_next_double`; without Numba, the same function as NumPy
    arithmetic on an array of env ids, or Python ints for a few envs): no Generator object
    per env and no buffer to refill. `generator(i)` lends env i's stream to a
    `np.random.Generator` (made on first use) and `states()` takes the lent streams back.
    Otherwise (other draws) each env keeps its Generator, and compiled kernels call its
    methods.
    """

    def __init__(self, num_envs: int, buffered: bool) -> None:
        self.generators: list[np.random.Generator | None] = [None] * num_envs
        self.seeds: list[int | None] = [None] * num_envs
        self.buffered = buffered and _uniform_from_raw_is_exact()
        # row i: env i's PCG64 state (high, low word) and increment (high, low word)
        self._states = np.zeros((num_envs if self.buffered else 0, 4), dtype=np.uint64)
        self._lent: set[int] = set()  # envs whose stream is in their Generator now
        self._typed: Any = None  # the generators as a Numba typed list, for kernels

    def seed(self, env: int, seed: int | None) -> None:
        if seed is None and self.seeds[env] is not None:
            return  # like Env.reset(seed=None): keep the current stream
        generator, self.seeds[env] = seeding.np_random(seed)
        self._typed = None  # rebuilt at the next kernel call
        if not self.buffered:
            self.generators[env] = generator
            return
        self._lent.discard(env)
        self.generators[env] = None  # a fresh stream: made again if ever lent
        self._states[env] = _words(generator.bit_generator.state["state"])

    def states(self) -> np.ndarray:
        """The streams as PCG64 state rows (taking back any lent to a Generator)."""
        if self._lent:
            for env in self._lent:
                self._states[env] = _words(self.generators[env].bit_generator.state["state"])
            self._lent.clear()
        return self._states

    def kernel_generators(self) -> Any:
        """The generators as a Numba typed list, which compiled kernels draw from directly.

        The list holds the same Generator objects, so a draw in a kernel advances the
        stream that `generator(i)` returns. Before the first reset (only the compile probe,
        which steps no env, gets here) the list is empty.
        """
        if self._typed is None:
            if any(g is None for g in self.generators):
                return _TypedList.empty_list(numba_module().typeof(np.random.default_rng(0)))
            # Built in compiled code: from Python a typed list takes ~50 us per item
            self._typed = _typed_list(self.generators)
        return self._typed

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_typed": None}  # a typed list does not pickle

    def generator(self, env: int) -> np.random.Generator:
        """Env `env`'s stream as a Generator (until the next `states()`, which takes it back)."""
        if self.seeds[env] is None:
            self.seed(env, None)
        generator = self.generators[env]
        if not self.buffered or env in self._lent:
            assert generator is not None
            return generator
        if generator is None:  # its state is replaced below
            generator = self.generators[env] = np.random.Generator(np.random.PCG64(0))
        bits = generator.bit_generator
        state = bits.state
        high, low, inc_high, inc_low = self._states[env].tolist()
        state["state"] = {"state": high << 64 | low, "inc": inc_high << 64 | inc_low}
        bits.state = state  # keeps has_uint32/uinteger: raw 64-bit draws never touch them
        self._lent.add(env)
        return generator

    def _doubles(self, envs: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
        count = math.prod(size)
        out = np.empty((len(envs), count))
        _pcg_fill_doubles(self.states(), np.asarray(envs, dtype=np.int64), out)
        return out.reshape((len(envs), *size))

    def uniform(self, envs: np.ndarray, low: float, high: float, count: int) -> np.ndarray:
        """`uniform(low, high, size=count)` for each env in `envs` (uniform bounds)."""
        if not self.buffered:
            return self.draw(envs, "uniform", {"low": low, "high": high}, size=(count,))
        return low + (high - low) * self._doubles(envs, (count,))

    def draw(
        self,
        envs: np.ndarray,
        method: str,
        kwargs: dict[str, Any],
        per_env: tuple[str, ...] = (),
        size: tuple[int, ...] | None = None,
        dtype: Any = np.float64,
    ) -> np.ndarray:
        """`Generator.<method>(**kwargs, size=size)` for each env in `envs`, stacked.

        Arguments named in `per_env` are arrays holding one value per env in `envs`.
        """
        if self.buffered and method in ("random", "uniform"):
            shape = () if size is None else tuple(size)
            low = kwargs.get("low", 0.0)
            high = kwargs.get("high", 1.0)
            if method == "uniform" and not per_env:
                # Bounds shared by every env may be arrays (`uniform(lows, highs)`, as
                # Gymnasium's Pendulum resets): Generator.uniform draws their broadcast
                # shape, element by element in C order, so each env takes that many doubles.
                low = np.asarray(low, dtype=np.float64)
                high = np.asarray(high, dtype=np.float64)
                shape = np.broadcast_shapes(low.shape, high.shape, shape)
            doubles = self._doubles(envs, shape)
            if method == "random":
                return doubles
            if per_env:
                low = np.asarray(low, dtype=np.float64).reshape((-1,) + (1,) * len(shape))
                high = np.asarray(high, dtype=np.float64).reshape((-1,) + (1,) * len(shape))
            return low + (high - low) * doubles
        shape = (len(envs),) if size is None else (len(envs), *size)
        out = np.zeros(shape, dtype=dtype)
        if size is not None:
            kwargs = {**kwargs, "size": size}
        for j, env in enumerate(envs.tolist()):
            generator = self.generator(env)
            if per_env:
                values = {k: (v[j] if k in per_env else v) for k, v in kwargs.items()}
                out[j] = getattr(generator, method)(**values)
            else:
                out[j] = getattr(generator, method)(**kwargs)
        return out


def _words(state: dict[str, int]) -> tuple[int, int, int, int]:
    """A PCG64 `bit_generator.state["state"]` as one row of `Streams.states()`."""
    value, inc = state["state"], state["inc"]
    return value >> 64, value & _LOW_64, inc >> 64, inc & _LOW_64


_LOW_64 = (1 << 64) - 1


def exact(array_fn: Any, scalar_fn: Any, arity: int = 1) -> Any:
    """`array_fn` if it matches the single env's `math` function bit for bit, else a loop.

    NumPy may compute some float64 functions with SIMD code (e.g. SVML on AVX-512) whose
    results differ from the C library's in the last bit; the single env uses `math`.
    """
    probe = np.random.default_rng(0).uniform(-3.0, 3.0, (arity, 4096))
    probe = np.concatenate([probe, np.linspace(0.001, 700.0, arity * 4096).reshape(arity, -1)], 1)
    if scalar_fn in (math.log, math.log2, math.log10, math.sqrt, math.pow):
        probe = np.abs(probe)
    if scalar_fn is math.pow:
        probe = probe % 8.0
    if scalar_fn in (math.asin, math.acos):
        probe = np.clip(probe / 700.0, -1.0, 1.0)
    with np.errstate(all="ignore"):
        try:
            expected = [scalar_fn(*values) for values in zip(*probe.tolist(), strict=True)]
        except (OverflowError, ValueError):
            expected = None
        same = expected is not None and np.array_equal(array_fn(*probe), expected)
        if same and scalar_fn is math.pow:
            # a scalar exponent takes NumPy's fast paths (x ** 2 as x * x), as generated
            # code passes it: probe that call shape too
            for power in (2.0, 3.0, 4.0, -1.0, 0.5, 1.5):
                bases = probe[0] if power % 1.0 else probe[0] - 4.0
                want = [math.pow(b, power) for b in bases.tolist()]
                same = same and np.array_equal(array_fn(bases, power), want)
        if same:
            return array_fn

    # math's function, with NumPy's inf and nan where math raises (docs/spec.md, "Numbers")
    ieee = getattr(numeric, scalar_fn.__name__, scalar_fn)

    def exact(*args: Any) -> np.ndarray:
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in args])
        flat = [a.ravel().tolist() for a in arrays]
        out = np.fromiter(map(ieee, *flat), dtype=np.float64, count=arrays[0].size)
        return out.reshape(arrays[0].shape)

    return exact


# --- compiled kernels ---------------------------------------------------------------------
# Specs whose state is scalar numbers also get a per-env loop compiled with Numba (see
# envgen/emit_kernel.py). These helpers are what the generated kernels call.


@functools.cache
def numba_module() -> Any:
    """Numba, or None when it is missing, broken or turned off with ENVGEN_JIT=0."""
    if os.environ.get("ENVGEN_JIT", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import numba
    except Exception:  # ImportError, or an llvmlite that does not load on this machine
        return None
    return numba


def jit(fn: Callable[..., Any] | None = None, *, cache: bool = True, threads: bool = False) -> Any:
    """Compile `fn` with Numba on first call (cached on disk), or return it unchanged.

    `error_model="numpy"`: division by zero gives inf/nan as in the NumPy backend instead
    of raising inside the loop. No fastmath: every operation rounds as in Python.
    `threads=True`: `fn` loops over envs with `prange`; `fn.threaded` is a second variant
    compiled with `parallel=True`, which splits that loop over Numba's threads.
    """

    def wrap(function: Callable[..., Any]) -> Any:
        numba = numba_module()
        if numba is None:
            compiled = function
            if threads:
                compiled.threaded = function  # type: ignore[attr-defined]
            return compiled
        options = {"cache": cache, "error_model": "numpy", "nogil": True}
        compiled = numba.njit(**options)(function)
        if threads:
            # A copy under another name: Numba's disk cache is keyed by the function's
            # name and types, not by `parallel`, so the two variants must not share it.
            twin = types.FunctionType(
                function.__code__,
                function.__globals__,
                function.__name__,
                function.__defaults__,
                function.__closure__,
            )
            twin.__qualname__ = function.__qualname__ + "_threaded"
            compiled.threaded = numba.njit(parallel=True, **options)(twin)
        return compiled

    return wrap if fn is None else wrap(fn)


def _prange() -> Any:
    numba = numba_module()
    return range if numba is None else numba.prange


#: The loop over envs in kernels that may run on several threads (`range` where Numba is
#: missing; in a kernel compiled without `parallel=True` Numba treats it as `range`).
prange = _prange()


# PCG64 (NumPy's default bit generator, pcg_setseq_128_xsl_rr_64) stepped in compiled code,
# on the state rows of `Streams`: the 128-bit LCG step state * M + inc, then the XSL-RR
# output of the new state; a double is (raw >> 11) * 2**-53, as NumPy's next_double. The
# kernels of generated modules carry a copy (`envgen.backends.numba` reads it from here).


@jit
def _pcg_next_double(_states, _i):
    """Env `_i`'s next double in [0, 1) (Generator.random()), stepping its PCG64 state."""
    _high = _states[_i, 0]
    _low = _states[_i, 1]
    _mult_high = np.uint64(0x2360ED051FC65DA4)
    _mult_low = np.uint64(0x4385DF649FCCF645)
    # state * M mod 2**128 needs the high word of low * mult_low: from 32-bit halves
    _mask = np.uint64(0xFFFFFFFF)
    _a, _b = _low >> np.uint64(32), _low & _mask
    _c, _d = _mult_low >> np.uint64(32), _mult_low & _mask
    _bd = _b * _d
    _ad = _a * _d
    _bc = _b * _c
    _mid = (_bd >> np.uint64(32)) + (_ad & _mask) + _bc
    _carry_high = _a * _c + (_ad >> np.uint64(32)) + (_mid >> np.uint64(32))
    _next_low = _low * _mult_low
    _next_high = _carry_high + _low * _mult_high + _high * _mult_low
    _sum_low = _next_low + _states[_i, 3]
    _next_high += _states[_i, 2] + np.uint64(_sum_low < _next_low)
    _states[_i, 0] = _next_high
    _states[_i, 1] = _sum_low
    _rot = _next_high >> np.uint64(58)
    _x = _next_high ^ _sum_low
    _raw = (_x >> _rot) | (_x << ((np.uint64(64) - _rot) & np.uint64(63)))
    return (_raw >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit
def _pcg_fill_doubles_loop(states: np.ndarray, envs: np.ndarray, out: np.ndarray) -> None:
    """Row j of `out`: the next `out.shape[1]` doubles of env `envs[j]`, in order."""
    for j in range(len(envs)):
        for k in range(out.shape[1]):
            out[j, k] = _pcg_next_double(states, envs[j])


def _pcg_fill_doubles_numpy(states: np.ndarray, envs: np.ndarray, out: np.ndarray) -> None:
    """`_pcg_fill_doubles_loop` without Numba. Many envs: `_pcg_next_double` (a Python
    function here) steps all of `envs` at once as NumPy uint64 arithmetic, one column per
    call (about 30 array operations, whatever the number of envs); `envs` holds distinct
    env ids, as every caller's do. A few envs (an autoreset's): the same step on Python
    ints, env by env, which costs less than those array operations' overhead."""
    if len(envs) < _FEW_ENVS:
        _pcg_fill_doubles_ints(states, envs, out)
        return
    step = getattr(_pcg_next_double, "py_func", _pcg_next_double)  # Python, even if compiled
    with np.errstate(over="ignore"):  # PCG64's arithmetic is mod 2**64 on purpose
        for k in range(out.shape[1]):
            out[:, k] = step(states, envs)


_FEW_ENVS = 16  # below: Python ints (about 1 us per env and draw; a column, about 20 us)
_PCG_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645  # PCG64's 128-bit LCG multiplier
_LOW_128 = (1 << 128) - 1


def _pcg_fill_doubles_ints(states: np.ndarray, envs: np.ndarray, out: np.ndarray) -> None:
    """`_pcg_next_double`'s step on Python ints: 128-bit LCG step, XSL-RR output."""
    for j, env in enumerate(envs.tolist()):
        high, low, inc_high, inc_low = states[env].tolist()
        state, inc = high << 64 | low, inc_high << 64 | inc_low
        for k in range(out.shape[1]):
            state = (state * _PCG_MULTIPLIER + inc) & _LOW_128
            high, low = state >> 64, state & _LOW_64
            rot = high >> 58
            mixed = high ^ low
            raw = ((mixed >> rot) | (mixed << (64 - rot & 63))) & _LOW_64
            out[j, k] = (raw >> 11) * (1.0 / 9007199254740992.0)
        states[env, 0], states[env, 1] = high, low


_pcg_fill_doubles = (
    _pcg_fill_doubles_loop if numba_module() is not None else _pcg_fill_doubles_numpy
)


_INT64 = np.dtype(np.int64)


@jit
def _discrete_in_range_loop(actions: np.ndarray, start: int, n: int) -> bool:
    """Whether start <= a < start + n for every action (one compiled pass, no temporaries).

    No early exit: a loop without a branch is vectorized (16384 actions: 2.5 us, against
    12.5 us with a `return False` inside, and 4.4 us for NumPy's `max`)."""
    top = start + n
    bad = 0
    for i in range(len(actions)):
        action = actions[i]
        bad |= (action < start) | (action >= top)
    return bad == 0


def _discrete_in_range_numpy(actions: np.ndarray, start: int, n: int) -> bool:
    """`_discrete_in_range_loop` without Numba: one reduction (negatives are huge as uint64)."""
    if not len(actions):
        return True
    shifted = actions - start if start else actions
    return bool(shifted.view(np.uint64).max() < n)


_discrete_in_range = (
    _discrete_in_range_loop if numba_module() is not None else _discrete_in_range_numpy
)


class KernelIndexError(IndexError):
    """An index out of bounds in a compiled kernel, with NumPy's message ("index -8 is out
    of bounds for axis 0 with size 7"). The kernel raises it with the three numbers and
    the message is built here, in Python: built in the kernel, it made every checked index
    several times slower."""

    def __init__(self, index: int, axis: int, size: int) -> None:
        super().__init__(f"index {index} is out of bounds for axis {axis} with size {size}")
        self.index, self.axis, self.size = index, axis, size

    def __reduce__(self) -> tuple[type, tuple[int, int, int]]:
        return type(self), (self.index, self.axis, self.size)


def is_compiled(fn: Any) -> bool:
    return hasattr(fn, "py_func")


def _c_library_pow() -> Any:
    """The C library's pow(), which Python's float `**` and math.pow call (None where it
    cannot be found: kernels that raise floats to powers then step with NumPy)."""
    candidates = [ctypes.util.find_library("m"), None, ctypes.util.find_library("c")]
    for name in candidates:
        try:  # `None`: the process itself (pow in the C runtime, as on macOS)
            function = ctypes.CDLL(name).pow
        except (OSError, AttributeError, TypeError):
            continue
        function.argtypes = (ctypes.c_double, ctypes.c_double)
        function.restype = ctypes.c_double
        return function
    return None


_C_POW = _c_library_pow()


def _linked_pow() -> Any:
    """The C library's pow() as a symbol of our own name that Numba links by name when it
    loads a kernel (`envgen_c_pow`), or the ctypes function without Numba. A ctypes
    pointer is an address baked into the machine code, so kernels calling it could not be
    cached on disk (MountainCarContinuous compiled for 12-15 s in every process); the
    name is not `pow`, so LLVM cannot rewrite pow(x, 2.0) as x * x either."""
    numba = numba_module()
    if numba is None or _C_POW is None:
        return _C_POW
    from llvmlite import binding

    binding.add_symbol("envgen_c_pow", ctypes.cast(_C_POW, ctypes.c_void_p).value)
    signature = numba.float64(numba.float64, numba.float64)
    return numba.types.ExternalFunction("envgen_c_pow", signature)


_LINKED_POW = _linked_pow()


@jit
def c_pow(x: float, y: float) -> float:
    """Python's `x ** y` for floats: an opaque call, so that the compiler cannot rewrite
    pow(x, 2.0) as x * x (which differs from the C library's pow in the last bit)."""
    return _LINKED_POW(float(x), float(y))


# CPython's math.hypot is not the C library's hypot(): it is its own algorithm
# (Modules/mathmodule.c, vector_norm: a lossless power-of-two scaling, lossless squares and
# sums in double-length arithmetic, a square root and one differential correction), so a
# kernel calls this transcription of it. Up to 3.11 CPython's dl_mul is Dekker's mul12
# (z = p + q of the split halves); from 3.12 it is z = x * y with the fma's exact error,
# which Dekker's TwoProduct computes exactly without an fma. `kernel_math("hypot")` checks
# the compiled result against math.hypot bit for bit (subnormals, huge values, inf, nan
# included) before any kernel uses it. The generated modules carry a copy of
# `_cpython_hypot` and `_cpython_dl_mul`, read from this file's text by
# `envgen.backends.numba` (not imported: Numba's disk cache of a kernel is keyed by its own
# file).
_DEKKER_MUL12 = sys.version_info < (3, 12)


@jit
def _cpython_hypot(_a, _b):
    """math.hypot(a, b) as CPython computes it (vector_norm), bit for bit."""
    _x0 = abs(float(_a))
    _x1 = abs(float(_b))
    if math.isinf(_x0) or math.isinf(_x1):
        return math.inf
    if math.isnan(_x0) or math.isnan(_x1):
        return math.nan
    _top = max(_x0, _x1)
    if _top == 0.0:
        return 0.0
    _back = 1.0
    _exponent = math.frexp(_top)[1]
    if _exponent < -1023:  # subnormal: lift to normals first, as CPython does
        _x0 /= 2.2250738585072014e-308
        _x1 /= 2.2250738585072014e-308
        _back = 2.2250738585072014e-308
        _exponent = math.frexp(_top / 2.2250738585072014e-308)[1]
    _scale = math.ldexp(1.0, -_exponent)
    _csum = 1.0
    _frac1 = 0.0
    _frac2 = 0.0
    for _x in (_x0 * _scale, _x1 * _scale):
        _hi, _lo = _cpython_dl_mul(_x, _x)
        _total = _csum + _hi
        _frac2 += _hi - (_total - _csum)
        _csum = _total
        _frac1 += _lo
    _h = math.sqrt(_csum - 1.0 + (_frac1 + _frac2))
    _hi, _lo = _cpython_dl_mul(-_h, _h)
    _total = _csum + _hi
    _frac2 += _hi - (_total - _csum)
    _csum = _total
    _frac1 += _lo
    _h += (_csum - 1.0 + (_frac1 + _frac2)) / (2.0 * _h)
    return _back * (_h / _scale)


@jit
def _cpython_dl_mul(_x, _y):
    """x * y as a double-length (hi, lo), as CPython's dl_mul."""
    _t = _x * 134217729.0  # Veltkamp's split: 2 ** 27 + 1
    _xh = _t - (_t - _x)
    _xl = _x - _xh
    _t = _y * 134217729.0
    _yh = _t - (_t - _y)
    _yl = _y - _yh
    if _DEKKER_MUL12:  # CPython <= 3.11
        _p = _xh * _yh
        _q = _xh * _yl + _xl * _yh
        _z = _p + _q
        return _z, _p - _z + _q + _xl * _yl
    _z = _x * _y  # CPython >= 3.12: fma(x, y, -z), exact
    return _z, ((_xh * _yh - _z) + _xh * _yl + _xl * _yh) + _xl * _yl


# The drawing library (envgen/runtime/draw.py) for kernels that draw observations: the
# same pixels as `fill` and `fill_rect` on a uint8 H x W x 3 frame. Colors are clipped to
# 0..255 after truncation to int64 and corners rounded half to even, as draw.py does.
# Copied into generated modules like `_cpython_hypot`; tests compare them with draw.py.


@jit
def _draw_color(_value):
    """One color channel as draw.py's _color computes it: int64, clipped to 0..255."""
    return np.uint8(min(max(np.int64(_value), 0), 255))


@jit
def _draw_fill(_frame, _r, _g, _b):
    """draw.fill(frame, (r, g, b))."""
    _frame[:, :, 0] = _draw_color(_r)
    _frame[:, :, 1] = _draw_color(_g)
    _frame[:, :, 2] = _draw_color(_b)


@jit
def _draw_fill_rect(_frame, _x0, _y0, _x1, _y1, _r, _g, _b):
    """draw.fill_rect(frame, x0, y0, x1, y1, (r, g, b))."""
    _height, _width = _frame.shape[0], _frame.shape[1]
    _a = np.int64(np.rint(np.float64(_x0)))
    _c = np.int64(np.rint(np.float64(_x1)))
    _left, _right = max(min(_a, _c), 0), min(max(_a, _c), _width)
    _a = np.int64(np.rint(np.float64(_y0)))
    _c = np.int64(np.rint(np.float64(_y1)))
    _top, _bottom = max(min(_a, _c), 0), min(max(_a, _c), _height)
    if _left < _right and _top < _bottom:
        _frame[_top:_bottom, _left:_right, 0] = _draw_color(_r)
        _frame[_top:_bottom, _left:_right, 1] = _draw_color(_g)
        _frame[_top:_bottom, _left:_right, 2] = _draw_color(_b)


#: Python `math` functions a kernel may call, with the probe inputs for `kernel_math`.
_MATH_PROBES: dict[str, tuple[Callable[..., float], int]] = {
    "sqrt": (math.sqrt, 1),
    "exp": (math.exp, 1),
    "log": (math.log, 1),
    "log2": (math.log2, 1),
    "log10": (math.log10, 1),
    "sin": (math.sin, 1),
    "cos": (math.cos, 1),
    "tan": (math.tan, 1),
    "asin": (math.asin, 1),
    "acos": (math.acos, 1),
    "atan": (math.atan, 1),
    "sinh": (math.sinh, 1),
    "cosh": (math.cosh, 1),
    "tanh": (math.tanh, 1),
    "atan2": (math.atan2, 2),
    "pow": (lambda x, y: x**y, 2),
    "hypot": (math.hypot, 2),
}


def _probe_inputs(name: str, arity: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.uniform(-3.0, 3.0, 3000), rng.uniform(-700.0, 700.0, 1000), rng.normal(0, 1e-3, 500)]
    )
    if name in ("sqrt", "log", "log2", "log10"):
        values = np.abs(values) + 1e-300
    if name in ("asin", "acos"):
        values = np.clip(values / 3.0, -1.0, 1.0)
    if name in ("exp", "sinh", "cosh"):
        values = values % 700.0 - 350.0
    if arity == 1:
        return [values]
    other = rng.permutation(values)
    if name == "hypot":  # exponents far apart, subnormals, zeros, infinities, nan
        tiny = np.array([5e-324, 1e-310, -2.5e-308, 0.0, -0.0, 1e-300, 3.0, np.inf, -np.inf])
        edges = np.array([1e300, -1e-320, 7.0, np.nan, 0.0, 1e-310, 1e-200, np.nan, 2.0])
        scaled = values * 10.0 ** rng.integers(-300, 300, len(values))
        return [np.concatenate([values, scaled, tiny]), np.concatenate([other, other, edges])]
    if name == "pow":  # integer exponents (x ** 2) and fractional ones on positive bases
        base = np.abs(values) % 50.0
        base[:2000] = values[:2000] % 20.0 - 10.0
        exponent = np.concatenate([rng.integers(-4, 5, 2000).astype(float), other[2000:] % 5])
        return [base, exponent]
    return [values, other]


@functools.cache
def kernel_math(name: str) -> bool:
    """Whether the compiled `math.<name>` equals Python's bit for bit on this machine.

    Numba calls the same C library, but an LLVM vector library (e.g. Intel SVML) would not.
    """
    if numba_module() is None or (name == "pow" and _C_POW is None):
        return False
    function, arity = _MATH_PROBES[name]
    inputs = _probe_inputs(name, arity)
    expected = np.array(
        [float(function(*v)) for v in zip(*(a.tolist() for a in inputs), strict=True)]
    )
    out = np.empty(len(inputs[0]))
    second = inputs[1] if arity == 2 else inputs[0]
    if name == "pow":
        _pow_probe(inputs[0], second, out)
    elif name == "hypot":
        _hypot_probe(inputs[0], second, out)
    else:
        _math_probe(list(_MATH_PROBES).index(name), inputs[0], second, out)
    return bool(np.array_equal(out, expected, equal_nan=True))


@jit
def _hypot_probe(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(len(a)):
        out[i] = _cpython_hypot(a[i], b[i])


@jit
def _pow_probe(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(len(a)):
        out[i] = c_pow(a[i], b[i])


@jit
def _math_probe(which: int, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    # the order of _MATH_PROBES
    for i in range(len(a)):
        x = a[i]
        y = b[i]
        if which == 0:
            r = math.sqrt(x)
        elif which == 1:
            r = math.exp(x)
        elif which == 2:
            r = math.log(x)
        elif which == 3:
            r = math.log2(x)
        elif which == 4:
            r = math.log10(x)
        elif which == 5:  # with cos of the same value: LLVM may fuse the two into sincos()
            r = math.sin(x) + 0.0 * math.cos(x)
        elif which == 6:
            r = math.cos(x) + 0.0 * math.sin(x)
        elif which == 7:
            r = math.tan(x)
        elif which == 8:
            r = math.asin(x)
        elif which == 9:
            r = math.acos(x)
        elif which == 10:
            r = math.atan(x)
        elif which == 11:
            r = math.sinh(x)
        elif which == 12:
            r = math.cosh(x)
        elif which == 13:
            r = math.tanh(x)
        else:
            r = math.atan2(x, y)
        out[i] = r


#: Generator methods a kernel may call, with the arguments `kernel_draw` probes them with
#: (both sides of each algorithm switch in NumPy: poisson at lam 10, binomial at n*p 30).
#: A third `integers` argument is `endpoint=`.
_DRAW_PROBES: dict[str, tuple[tuple[Any, ...], ...]] = {
    "random": ((),),
    "uniform": ((-0.05, 0.05), (2.0, 7.5)),
    "normal": ((0.0, 0.02), (1.5, 3.0)),
    "standard_normal": ((),),
    "integers": ((0, 2), (0, 10), (-5, 1000), (0, 2**40), (0, 1, True), (-5, 1000, True)),
    "exponential": ((1.0,), (2.5,)),
    "poisson": ((3.5,), (40.0,)),
    "binomial": ((10, 0.3), (200, 0.6)),
}


@functools.cache
def kernel_draw(name: str) -> bool:
    """Whether Numba's `Generator.<name>` draws exactly what NumPy's does, on this machine."""
    if numba_module() is None:
        return False
    which = list(_DRAW_PROBES).index(name)
    for args in _DRAW_PROBES[name]:
        a, b, endpoint = (*args, 0, 0, False)[:3]
        for seed in (0, 1):
            expected = np.random.default_rng(seed)
            draw = getattr(expected, name)
            kwargs = {"endpoint": True} if endpoint else {}
            want = [draw(*args[:2], **kwargs) for _ in range(500)]
            got = _draw_probe_kernel(
                np.random.default_rng(seed), which, float(a), float(b), bool(endpoint), 500
            )
            if not np.array_equal(np.asarray(want, dtype=np.float64), got):
                return False
    return True


@jit
def _draw_probe_kernel(
    g: Any, which: int, a: float, b: float, endpoint: bool, n: int
) -> np.ndarray:
    # the order of _DRAW_PROBES; the casts as the generated code calls them
    out = np.empty(n)
    for i in range(n):
        if which == 0:
            out[i] = g.random()
        elif which == 1:
            out[i] = g.uniform(a, b)
        elif which == 2:
            out[i] = g.normal(a, b)
        elif which == 3:
            out[i] = g.standard_normal()
        elif which == 4:
            out[i] = g.integers(int(a), int(b), endpoint=endpoint)
        elif which == 5:
            out[i] = g.exponential(a)
        elif which == 6:
            out[i] = g.poisson(a)
        else:
            out[i] = g.binomial(int(a), b)
    return out


@jit
def _typed_list(items: Any) -> Any:
    """A Numba typed list of `items` (all of one type), built in compiled code."""
    out = _TypedList()
    for item in items:
        out.append(item)
    return out


BACKENDS = ("auto", "numba", "numpy")

#: The fewest envs worth a thread of their own: below it, starting and joining a thread
#: costs more than its share of the loop saves. Measured with CartPole (the cheapest step)
#: on the 2-core development machine: two threads break even with one at about 1024 envs,
#: so each thread gets at least 1024 (see docs/vectorization.md, "Threads").
MIN_ENVS_PER_THREAD = 1024


class ThreadChoice:
    """Which variant of a step kernel runs: one thread, or several, by measured speed.

    `threads=N` is a ceiling, not an order. Batches smaller than `MIN_ENVS_PER_THREAD` per
    thread run on one thread. Larger ones time both variants as they run (an exponential
    average of seconds per call) and use the faster, trying the slower one again now and
    then (the more it lost by, the more rarely: exploring costs about 1/64 of the time), so
    when other processes take the cores (a busy machine, other envs' processes) the loop
    falls back to one thread instead of waiting for a thread that is not scheduled.
    """

    EXPLORE = 64  # calls between two tries of the slower variant, times how much slower
    WARMUP = 2  # the first calls of each variant (thread start-up) are not timed

    def __init__(self, threads: int, clock: Callable[[], float] = time.perf_counter) -> None:
        self.threads = threads
        self.clock = clock
        self.min_envs_per_thread = MIN_ENVS_PER_THREAD
        self.always = False  # tests: always the threaded variant (exactness on threads)
        self.compiling = False
        self.cost = [0.0, 0.0]  # seconds per call: one thread, several threads
        self.seen = [0, 0]
        self.best = 0
        self.next_try = 0  # call number at which the other variant runs again
        self.calls = 0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "cost": [0.0, 0.0], "seen": [0, 0], "calls": 0, "next_try": 0}

    def pick(self, kernel: Any, num_envs: int) -> Any:
        use = min(self.threads, num_envs // self.min_envs_per_thread)
        if self.compiling or self.always:
            use = self.threads
        elif use < 2:
            return kernel
        numba_module().set_num_threads(use)
        if self.compiling or self.always:
            return kernel.threaded
        calls = self.calls
        self.calls = calls + 1
        variant = self.best
        if min(self.seen) < self.WARMUP + 1 or calls >= self.next_try:
            variant = 1 - self.best if min(self.seen) >= self.WARMUP + 1 else calls % 2
        function = kernel.threaded if variant else kernel

        clock = self.clock

        def timed(*args: Any) -> Any:
            start = clock()
            out = function(*args)
            self._record(variant, clock() - start)
            return out

        return timed

    def _record(self, variant: int, seconds: float) -> None:
        self.seen[variant] += 1
        if self.seen[variant] <= self.WARMUP:
            return
        old = self.cost[variant]
        self.cost[variant] = seconds if old == 0.0 else 0.8 * old + 0.2 * seconds
        one, many = self.cost
        if one and many:
            best = 0 if one <= many else 1
            if best != self.best or variant != best:
                ratio = max(one, many) / min(one, many)
                self.next_try = self.calls + int(self.EXPLORE * ratio)
            self.best = best


def _kernel_blocker(
    math_names: tuple[str, ...], draws: int, direct: tuple[str, ...], streams: Streams
) -> str | None:
    """Why a generated kernel cannot run here (None: it can)."""
    if numba_module() is None:
        return "Numba is not installed or ENVGEN_JIT=0 turned it off"
    if math_names and getattr(numba_module().config, "USING_SVML", False):
        # With Intel SVML, LLVM may vectorize a loop of math calls (the first loop of a
        # kernel is one) with SVML's functions, which differ from the C library's in the
        # last bit; the probes below run scalar code and would not notice.
        return (
            "Numba uses Intel SVML here, whose vectorized math differs from the C library's"
            " (set NUMBA_DISABLE_INTEL_SVML=1 to use the kernel)"
        )
    for name in math_names:
        if not kernel_math(name):
            return f"compiled math.{name} differs from Python's on this machine"
    for name in direct:
        if not kernel_draw(name):
            return f"Numba's Generator.{name} differs from NumPy's on this machine"
    if draws and not streams.buffered:
        return "uniform draws cannot be served from raw bits exactly on this machine"
    return None


def mask_info(values: Any, mask: np.ndarray | None) -> Any:
    if mask is None:
        return np.array(values)
    return np.where(mask.reshape((-1,) + (1,) * (np.ndim(values) - 1)), values, 0).astype(
        values.dtype
    )


def size(value: Any) -> tuple[int, ...]:
    """A draw's `size` argument (an int or a sequence of ints) as a shape tuple."""
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    return tuple(int(v) for v in value)


def per_env(
    fn: Callable[..., Any], n: int, args: Sequence[Any], vec: Sequence[int], dtype: Any
) -> np.ndarray:
    """`fn` called once per env, stacked: `args[k]` is per-env (indexed by env) when
    `vec[k]` is 1 (a scalar the single env holds as a Python number: passed as one),
    2 (a NumPy scalar) or 3 (an array row, copied); 0 is the same value for every env.

    The fallback for spec functions the translator does not vectorize (e.g. ones that draw
    an image): exactly the single env's code, one env at a time.
    """
    rows = []
    for i in range(n):
        call = []
        for arg, kind in zip(args, vec, strict=True):
            if kind == 0:
                call.append(arg)
            elif kind == 1:
                call.append(arg[i].item())
            elif kind == 2:
                call.append(arg[i])
            else:
                call.append(arg[i].copy())
        rows.append(np.asarray(fn(*call), dtype=dtype))
    return np.stack(rows) if rows else np.zeros((0,), dtype=dtype)


def merge(mask: np.ndarray, a: Any, b: Any) -> Any:
    """`a` where `mask` (one bool per env), else `b`; through tuples and dicts of arrays."""
    if isinstance(a, tuple):
        return tuple(merge(mask, x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return {key: merge(mask, a[key], b[key]) for key in a}
    a, b = np.asarray(a), np.asarray(b)
    return np.where(mask.reshape((-1,) + (1,) * (max(a.ndim, b.ndim) - 1)), a, b)


def _exact_row(action: Any, space: gym.Space, env: int) -> np.ndarray:
    """Env `env`'s action, let through by invalid_action="ignore", as an array of the
    space's dtype: refused where converting would change it (1.7 or "1" for a Discrete
    space, None), since the single env steps the value unchanged."""
    try:
        given = np.asarray(action)
        row = given.astype(space.dtype)
        exact = (
            given.dtype.kind in "biuf"
            and row.shape == (space.shape or ())
            and np.array_equal(row, given, equal_nan=given.dtype.kind == "f")
        )
    except (TypeError, ValueError, OverflowError):
        exact = False
    if not exact:
        error = _rt.InvalidAction(action, space)
        error.args = (
            f"sub-env {env}'s action {action!r} is not in the action space {space}, and"
            " invalid_action='ignore' passes it to the single env's step unchanged, which a"
            f" vector env's batch of {space.dtype} cannot hold; pass actions in the space"
            " (e.g. envs.action_space.sample())",
        )
        raise error
    return row


class NativeVectorEnv(VectorEnv):
    """What every generated native vector env shares; the generated subclass adds the spec.

    A subclass defines `__init__` (params, spaces, state arrays, `_streams`, ...), `step`,
    `_reset_envs(ids)`, `_observe()`, `_info(info, mask)` and `_check_actions(actions)`,
    plus the class attributes `single_env` (the single env class, used to render) and
    `render_state` (each state variable's name and how to hand one env's value to the
    single env: "item" for a plain Python number, "scalar" for a NumPy scalar, "copy" for an
    array).
    """

    single_env: type
    render_state: tuple[tuple[str, str], ...] = ()
    _options: dict[str, Any] | None = None  # reset(options=...) while `_reset_envs` runs
    #: "numba" when steps run the compiled kernel, else "numpy"; `backend_note` says why not.
    backend = "numpy"
    backend_note: str | None = None
    #: Threads the compiled step loop runs on (`threads=` where the kernel allows it).
    threads = 1
    _thread_choice: ThreadChoice | None = None
    _kernel = False
    _max_episode_steps: int | None = None
    _step_limit = _NO_LIMIT

    def _setup(
        self,
        num_envs: int,
        autoreset_mode: str | AutoresetMode,
        render_mode: str | None,
        max_episode_steps: int | None,
        *,
        buffered: bool,
    ) -> None:
        """The spec-independent part of `__init__`, run once the single spaces are set."""
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        self.num_envs = num_envs
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        if max_episode_steps is not None:  # as gym.make_vec passes it (a time limit override)
            if isinstance(max_episode_steps, bool) or not isinstance(
                max_episode_steps, (int, np.integer)
            ):
                raise ValueError(
                    f"max_episode_steps must be a positive int, got {max_episode_steps!r}"
                )
            if max_episode_steps <= 0:
                raise ValueError(
                    f"max_episode_steps must be a positive int, got {max_episode_steps!r}"
                    " (as Gymnasium's TimeLimit refuses it for the single env)"
                )
            # As TimeLimit around the single env: it can end episodes sooner, and the env's
            # own limit (the spec's) still ends them at the latest.
            spec_limit = self.max_episode_steps
            limit = int(max_episode_steps)
            self.max_episode_steps = limit if spec_limit is None else min(spec_limit, limit)
        _rt.check_render_mode(self.metadata, render_mode)
        self.render_mode = render_mode
        self._renderer: Any = None
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._action_batch = (num_envs, *(self.single_action_space.shape or ()))
        self._autoreset = np.zeros(num_envs, dtype=np.bool_)
        self._all_ids = np.arange(num_envs)
        self._all_true = np.ones(num_envs, dtype=np.bool_)
        self._next_step = self.autoreset_mode == AutoresetMode.NEXT_STEP
        self._same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        self._streams = Streams(num_envs, buffered=buffered)
        self._work: Any = None  # the step kernel's work arrays (`_run_kernel` makes them)
        self._needs_reset = True

    def _choose_backend(
        self,
        backend: str,
        threads: int = 1,
        *,
        note: str | None = None,
        math_names: tuple[str, ...] = (),
        draws: int = 0,
        direct: tuple[str, ...] = (),
        threadable: bool = False,
    ) -> None:
        """Step with the compiled kernel (`_run_kernel`) when `backend` allows and it works.

        `note` says why the spec has no kernel (None: it has one). "auto" falls back to the
        NumPy code quietly where the spec has no kernel, with a warning where one did not
        compile; "numba" raises instead; "numpy" never uses the kernel. `threads` > 1 runs
        the step loop on that many of Numba's threads, where the kernel allows it
        (`threadable`: its step draws no random numbers).
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads must be a positive int, got {threads!r}")
        self.threads = 1
        reason = note
        if backend == "numpy":
            reason = "backend='numpy' was asked for"
        elif reason is None:
            reason = _kernel_blocker(math_names, draws, direct, self._streams)
        if reason is None:
            try:
                self._compile_kernel()
            except (TimeoutError, MemoryError):
                # Not the kernel's fault (e.g. a caller's time limit firing while Numba
                # compiles): the caller must see it, not a quiet switch to the NumPy code.
                raise
            except Exception as exc:  # a Numba typing or lowering error
                # Numba's first line only names the pipeline stage; the next two name the
                # operation ("No implementation of function ... >>> float(bool)")
                lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
                first = " ".join(lines[:3])[:300]
                reason = f"Numba could not compile the kernel ({type(exc).__name__}: {first})"
                if backend == "auto":
                    gym.logger.warn(f"{type(self).__name__}: {reason}; stepping with NumPy")
        if reason is not None and backend == "numba":
            raise ValueError(f"{type(self).__name__}: backend='numba' is unavailable: {reason}")
        self._kernel = reason is None
        self.backend = "numba" if self._kernel else "numpy"
        self.backend_note = reason
        if self._kernel and threads > 1:
            self._use_threads(threads, threadable)

    def _use_threads(self, threads: int, threadable: bool) -> None:
        pool = numba_module().config.NUMBA_NUM_THREADS
        if threads > pool:
            raise ValueError(
                f"threads={threads} is more than Numba's thread pool has (NUMBA_NUM_THREADS={pool})"
            )
        reason = None
        if not threadable:
            reason = "the step draws random numbers, so it runs on one thread"
        else:
            self.threads = threads
            self._thread_choice = ThreadChoice(threads)
            # OpenMP's threads spin while they wait for work by default, which takes the
            # cores from everything else on a busy machine and then waits for them
            # (threads=2 at 1024 CartPoles: 0.03x one thread with the machine loaded, 0.5x
            # with passive waits). It is read when the OpenMP runtime loads, i.e. at Numba's
            # first parallel launch; a value the user set is kept.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            if self.num_envs // self._thread_choice.min_envs_per_thread < 2:
                # Too few envs for a thread each: the one-thread loop always runs, so the
                # parallel variant is neither compiled nor its thread pool started here.
                return
            try:  # the parallel variant
                self._thread_choice.compiling = True
                self._compile_kernel()
            except Exception as exc:  # e.g. no threading layer
                self.threads = 1
                self._thread_choice = None
                reason = f"the threaded kernel did not compile ({type(exc).__name__}: {exc})"
            else:
                self._thread_choice.compiling = False
        if reason is not None:
            self.backend_note = f"threads={threads} ignored: {reason}"
            gym.logger.warn(f"{type(self).__name__}: {self.backend_note}")

    def _compile_kernel(self) -> None:
        """Compile every kernel `_run_kernel` calls, for these argument types: a step of no
        envs that autoresets (none), so nothing runs."""
        space = self.single_action_space  # the actions' types: `_check_actions` gives them
        actions = np.zeros((0, *(space.shape or ())), dtype=space.dtype or np.int64)
        self._run_kernel(actions, np.zeros(0, dtype=np.bool_))

    def _threaded(self, kernel: Any) -> Any:
        """The step kernel to call: one thread, or `self.threads` where that is faster."""
        if self._thread_choice is None:
            return kernel
        return self._thread_choice.pick(kernel, self.num_envs)

    def _run_kernel(self, action: np.ndarray, resetting: np.ndarray) -> Any:
        raise NotImplementedError  # generated where the spec has a kernel

    @property
    def max_episode_steps(self) -> int | None:
        """The time limit (None: none); `_step_limit` follows it."""
        return self._max_episode_steps

    @max_episode_steps.setter
    def max_episode_steps(self, value: int | None) -> None:
        self._max_episode_steps = value
        # what kernels compare with: an attribute, not a property, since it is read per step
        self._step_limit = _NO_LIMIT if value is None else min(value, _NO_LIMIT)

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Reset all envs (env i seeded `seed + i`), or those in `options["reset_mask"]`."""
        n = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * n
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)
            if len(seeds) != n:
                raise ValueError(f"{len(seeds)} seeds for {n} envs")
        mask = None
        from envgen.runtime import check_options

        check_options(getattr(self.spec, "id", None) or type(self).__name__, options)
        if options is not None and "reset_mask" in options:
            mask = options["reset_mask"]
            if not isinstance(mask, np.ndarray) or mask.shape != (n,) or mask.dtype != np.bool_:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({n},)")
            if not mask.any():
                raise ValueError("options['reset_mask'] must contain at least one True value")
            if self._needs_reset and not mask.all():
                raise gym.error.ResetNeeded("reset() all envs before a partial reset")
        ids = self._all_ids if mask is None else np.flatnonzero(mask)
        for i in ids.tolist():
            self._streams.seed(i, seeds[i])
        self._options = options
        try:
            with np.errstate(all="ignore"):
                self._reset_envs(ids)
        finally:
            self._options = None  # autoresets get no options, as in SyncVectorEnv
        self._autoreset[ids] = False
        self._needs_reset = False
        return self._observe(), self._info({}, mask)

    def render(self) -> tuple[Any, ...] | None:
        """One frame per env, drawn by the single env's render code."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to make_vec")
            return None
        if self._renderer is None:
            self._renderer = self.single_env(
                self._config, render_mode=self.render_mode, **self._params
            )
        frames = []
        for i in range(self.num_envs):
            for name, how in self.render_state:
                value = getattr(self, name)[i]
                if how == "item":
                    value = value.item()
                elif how == "copy":
                    value = value.copy()
                setattr(self._renderer, name, value)
            self._renderer._elapsed_steps = int(self._elapsed[i])
            frames.append(self._renderer.render())
        return tuple(frames)

    def close_extras(self, **kwargs: Any) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._needs_reset = True

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        """The sub-envs' generators (as SyncVectorEnv returns them)."""
        return tuple(self._streams.generator(i) for i in range(self.num_envs))

    @property
    def np_random_seed(self) -> tuple[int | None, ...]:  # type: ignore[override]
        return tuple(self._streams.seeds)

    def _final(self, done: np.ndarray, obs: Any, infos: dict[str, Any]) -> dict[str, Any]:
        """SAME_STEP autoreset: record `final_obs` / `final_info`, reset the done envs."""
        n = self.num_envs
        final_obs = np.full(n, None, dtype=object)
        for i in np.flatnonzero(done).tolist():
            final_obs[i] = self._row(obs, i)
        final_info = {}
        for key, value in infos.items():
            if not key.startswith("_"):
                mask = done & infos["_" + key]
                if mask.any():
                    final_info[key] = mask_info(value, mask)
                    final_info["_" + key] = mask
        self._reset_envs(np.flatnonzero(done))
        keep = ~done
        for key in [k for k in infos if not k.startswith("_")]:
            infos[key] = mask_info(infos[key], keep & infos["_" + key])
            infos["_" + key] = keep & infos["_" + key]
            if not infos["_" + key].any():
                del infos[key], infos["_" + key]
        infos = self._info(infos, None)
        infos["final_obs"] = final_obs
        infos["_final_obs"] = done.copy()
        infos["final_info"] = final_info
        infos["_final_info"] = done.copy()
        return infos

    def _discrete_actions(self, actions: Any, start: int, n: int) -> np.ndarray:
        """The batch of actions of a Discrete(n, start) space as int64, one per env.

        The common case (an int64 array of the right shape, every action in range) costs
        one compiled pass and no copy; other integer arrays are converted; anything else
        goes to `_fix_actions` (each env's action as the single env takes it: floats are
        not in a Discrete space, so `invalid_action` decides).
        """
        if (
            type(actions) is np.ndarray
            and actions.dtype is _INT64
            and actions.shape == self._action_batch
            and _discrete_in_range(actions, start, n)
        ):
            return actions  # never written into
        action = np.asarray(actions) if not isinstance(actions, np.ndarray) else actions
        if action.dtype.kind in "iu" and action.dtype != _INT64 and action.dtype != np.uint64:
            action = action.astype(np.int64)
        if (
            action.shape != self._action_batch
            or action.dtype != _INT64
            or not _discrete_in_range(action, start, n)
        ):
            action = self._fix_actions(actions)
        return action

    def _fix_actions(self, actions: Any) -> np.ndarray:
        """Each env's action as the single env takes it, as one batch of the space's dtype.

        Env i gets what SyncVectorEnv would pass it (`iterate` over the batch as given); an
        action outside the single env's space goes through `invalid_action`, as the single
        env does ("raise": InvalidAction naming env i's space). An action "ignore" lets
        through that the batch cannot hold unchanged (1.7 or "1" for a Discrete space,
        None) is refused: the single env would step it as it is, the vector env only a
        converted copy, and the trajectories would differ. One action per env, always: a
        batch of another length (or shape) is refused whatever `invalid_action` says.
        """
        self._check_batch(actions)
        space = self.single_action_space
        rows = []
        try:
            given = list(gym.vector.utils.iterate(self.action_space, actions))
        except TypeError:
            raise _rt.InvalidAction(actions, self.action_space) from None
        for i, action in enumerate(given):
            if _rt.contains(space, action):
                rows.append(np.asarray(action, dtype=space.dtype))
            else:  # raises, clips into the space, or (ignore) must fit the batch unchanged
                rows.append(
                    _exact_row(_rt.fix_action(space, action, self.invalid_action), space, i)
                )
        return np.stack(rows)

    def _check_batch(self, actions: Any) -> None:
        """Refuse a batch of actions whose shape is not the batched action space's."""
        want = self.action_space.shape
        try:
            got = np.shape(actions)
        except ValueError:  # ragged nested sequences
            got = None
        if got is None or (want is not None and got != want):
            described = "a ragged batch" if got is None else f"actions of shape {got}"
            raise ValueError(
                f"{type(self).__name__}.step() got {described} for {self.num_envs} envs; "
                f"pass one action per env, shape {want} (e.g. envs.action_space.sample())"
            )

    def _row(self, obs: Any, i: int, space: gym.Space | None = None) -> Any:
        """Env `i`'s observation as the single env returns it (Discrete: a Python int)."""
        space = self.single_observation_space if space is None else space
        if isinstance(obs, dict):
            return {key: self._row(value, i, space[key]) for key, value in obs.items()}
        if isinstance(obs, tuple):
            return tuple(self._row(value, i, space[k]) for k, value in enumerate(obs))
        row = obs[i].copy()
        return row.item() if isinstance(space, gym.spaces.Discrete) else row
