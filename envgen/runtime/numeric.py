"""The language's number rules for the single env, where scalars are plain Python numbers.

docs/spec.md ("Numbers") states the rules every backend follows: NumPy's array semantics.
Integers are int64 and wrap around; integer `//` and `%` by zero give 0; float arithmetic
is IEEE 754 (a division by zero is inf or nan, never an error); a float converted to an
integer truncates toward zero, saturates at the integer type's limits, and NaN gives 0.

Python's own numbers differ from all of that (ints never overflow, `1.0 / 0.0` and
`math.sqrt(-1.0)` raise), so the generated single env calls these helpers where the analysis
cannot prove a value stays clear of the edge. Where a plain Python operation can only differ
by raising (a float division, `math.exp`), the env runs it plainly inside `try` and calls
these only after an exception (Python 3.11's `try` costs nothing when nothing is raised).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_MASK64 = 2**64 - 1


def fits_int64(value: int) -> bool:
    """Whether an integer is an int64: what every backend stores integers as."""
    return INT64_MIN <= value <= INT64_MAX


def wrap64(value: int) -> int:
    """A Python int wrapped to int64, as NumPy's int64 arithmetic wraps."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    return ((value - INT64_MIN) & _MASK64) + INT64_MIN


def first_max(*values: Any) -> Any:
    """`max(a, b, ...)` of per-env float values as Python's builtin computes it: a later value
    replaces the running one only when it compares greater, so a NaN is kept only where it
    comes first, and of 0.0 and -0.0 the first stays (np.maximum gives NaN for any NaN)."""
    result = values[0]
    for value in values[1:]:
        result = np.where(value > result, value, result)
    return result


def first_min(*values: Any) -> Any:
    """`min(a, b, ...)` of per-env float values as Python's builtin computes it (see
    `first_max`)."""
    result = values[0]
    for value in values[1:]:
        result = np.where(value < result, value, result)
    return result


def _ieee(function: Any, *args: Any) -> float:
    with np.errstate(all="ignore"):
        return float(function(*(np.float64(a) for a in args)))


def div(a: Any, b: Any) -> Any:
    """`a / b`: inf, -inf or nan for a zero divisor."""
    try:
        return a / b
    except ZeroDivisionError:
        return _ieee(np.true_divide, a, b)


def floordiv(a: Any, b: Any) -> Any:
    """`a // b`: 0 for integers divided by zero, inf, -inf or nan for floats."""
    try:
        return a // b
    except ZeroDivisionError:
        if isinstance(a, float) or isinstance(b, float):
            return _ieee(np.floor_divide, a, b)
        return 0


def mod(a: Any, b: Any) -> Any:
    """`a % b`: 0 for integers modulo zero, nan for floats."""
    try:
        return a % b
    except ZeroDivisionError:
        if isinstance(a, float) or isinstance(b, float):
            return _ieee(np.remainder, a, b)
        return 0


def power(a: Any, b: Any) -> float:
    """`a ** b` of Python numbers, in float64: inf on overflow, nan for a negative base
    with a fractional exponent, inf for zero to a negative power."""
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError, ZeroDivisionError):
        return _ieee(np.power, a, b)


def either_power(a: Any, b: Any) -> Any:
    """`a ** b` where either may be a plain Python number or a NumPy scalar at run time (a
    min/max of both): `power` for two Python numbers, NumPy's `**` (its dtype, inf or nan,
    no warning) otherwise."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return power(a, b)
    with np.errstate(all="ignore"):
        return a**b


def _unary(name: str, numpy_function: Any) -> Any:
    function = getattr(math, name)

    def ieee(x: Any) -> float:
        try:
            return function(x)
        except (OverflowError, ValueError):
            return _ieee(numpy_function, x)

    ieee.__name__ = name
    ieee.__doc__ = f"math.{name}(x), with NumPy's inf and nan where math raises"
    return ieee


sqrt = _unary("sqrt", np.sqrt)
exp = _unary("exp", np.exp)
log = _unary("log", np.log)
log2 = _unary("log2", np.log2)
log10 = _unary("log10", np.log10)
sin = _unary("sin", np.sin)
cos = _unary("cos", np.cos)
tan = _unary("tan", np.tan)
asin = _unary("asin", np.arcsin)
acos = _unary("acos", np.arccos)
atan = _unary("atan", np.arctan)
sinh = _unary("sinh", np.sinh)
cosh = _unary("cosh", np.cosh)
tanh = _unary("tanh", np.tanh)


def floor(x: Any) -> int | float:
    """math.floor(x): an int for finite x, x itself (a float) for inf and nan."""
    return math.floor(x) if math.isfinite(x) else float(x)


def ceil(x: Any) -> int | float:
    """math.ceil(x): an int for finite x, x itself (a float) for inf and nan."""
    return math.ceil(x) if math.isfinite(x) else float(x)


def round_half_even(x: Any) -> int | float:
    """round(x): an int for finite x, x itself (a float) for inf and nan."""
    return round(x) if math.isfinite(x) else float(x)


#: the language's pow(), as math.pow: the same function (a wrapper costs a call per use)
pow = power  # noqa: A001


def to_int(x: Any) -> int:
    """`int(x)` of a float: truncated toward zero, saturated at the int64 limits, 0 for NaN
    (JAX's conversion; NumPy leaves it to the platform)."""
    x = float(x)
    if x != x:  # noqa: PLR0124 - NaN
        return 0
    if x >= 9223372036854775807.0:
        return INT64_MAX
    if x <= -9223372036854775808.0:
        return INT64_MIN
    return int(x)


def cast_int(x: Any, dtype: Any) -> Any:
    """A scalar converted to the NumPy integer `dtype`: integers wrap around (NumPy's
    casting), floats truncate and saturate at the type's limits, NaN gives 0."""
    dtype = np.dtype(dtype)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        info = np.iinfo(dtype)
        if x != x:  # noqa: PLR0124 - NaN
            return dtype.type(0)
        if x >= info.max:
            return dtype.type(info.max)
        if x <= info.min:
            return dtype.type(info.min)
        return dtype.type(int(x))
    return np.array(int(x) if isinstance(x, (bool, int)) else x).astype(dtype)[()]


def cast_int_array(x: Any, dtype: Any) -> np.ndarray:
    """An array converted to the NumPy integer `dtype`, as `cast_int` converts a scalar."""
    x = np.asarray(x)
    dtype = np.dtype(dtype)
    if x.dtype.kind != "f":
        return x.astype(dtype)
    info = np.iinfo(dtype)
    x = x.astype(np.float64)  # exact for float16 and float32; the clip bounds are too
    with np.errstate(invalid="ignore"):
        clipped = np.where(np.isnan(x), 0.0, np.clip(x, info.min, info.max))
    out = clipped.astype(dtype)
    # float64 cannot hold int64's max: the clipped 2**63 converts out of range
    if info.max >= 2**53:
        out[clipped >= float(info.max)] = info.max
    return out


def index(index: np.ndarray, size: int, *active: np.ndarray) -> np.ndarray:
    """Per-env indices into an axis of `size`, as NumPy indexes: negative ones count from the
    end, and one out of bounds is an IndexError, as in the single env. Only the envs in
    `active` are checked (the others run the code under a mask and discard its result);
    their indices are clipped into range, so that reading never fails for them."""
    index = np.asarray(index)
    bad = (index < -size) | (index >= size)
    for lanes in active:
        bad &= lanes
    if bad.any():
        first = int(np.asarray(index)[bad].ravel()[0]) if index.ndim else int(index)
        raise IndexError(f"index {first} is out of bounds for axis 0 with size {size}")
    return np.clip(index, -size, size - 1)
