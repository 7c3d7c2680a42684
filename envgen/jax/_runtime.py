"""What generated JAX modules import: state pytrees, dtypes, draws and drawing.

Randomness: a generated function splits its key once, `jax.random.split(key, n)`, into one
key per draw site of the spec (sites numbered in program order, see docs/jax.md); a site
inside `for i in range(...)` folds the loop counter into its key. So the same key gives the
same values whatever branch is taken, under `jit` and `vmap`.

A `Replay` stands in for a key to feed recorded values (e.g. the draws a NumPy env made)
to the same code run eagerly: each draw that is active (on the path the code takes) takes
the next recorded value. That is how tests prove that a stochastic spec's JAX functions
agree with the reference env when both see the same draws.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def dt(name: str) -> Any:
    """The dtype `name` as JAX holds it now (float64 is float32 unless x64 is enabled)."""
    return jax.dtypes.canonicalize_dtype(np.dtype("bool" if name == "bool" else name))


def cast(value: Any, dtype: str) -> jax.Array:
    """`value` as an array of `dtype`, by the language's number rules (docs/spec.md,
    "Numbers"): a float to an int truncates toward zero, saturates at the int's limits and
    gives 0 for NaN; an int wraps. Spelled out, not left to `astype`: XLA saturates a traced
    value, but a constant (`int8(300.7)` under jit) is converted as NumPy does, which wraps,
    and a Python int beyond int64 (a product of constants) is refused by `asarray`."""
    target = dt(dtype)
    if isinstance(value, int) and not isinstance(value, bool):
        bits = jnp.iinfo(dt("int64")).bits  # 32 without x64: JAX's ints wrap at 2**31
        value = (value + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1)
    x = jnp.asarray(value)
    if jnp.issubdtype(target, jnp.integer) and jnp.issubdtype(x.dtype, jnp.floating):
        info = jnp.iinfo(target)
        high, low = x >= float(info.max), x <= float(info.min)
        inside = jnp.where(jnp.isnan(x) | high | low, 0, x).astype(target)
        return jnp.where(high, info.max, jnp.where(low, info.min, inside)).astype(target)
    return x.astype(target)


def array(items: Sequence[Any], dtype: str) -> jax.Array:
    """An array literal `[a, b, ...]` whose items may be traced values."""
    return jnp.stack([jnp.asarray(item, dtype=dt(dtype)) for item in items])


def like(value: Any, array: Any) -> jax.Array:
    """`value` as an element of `array` (its dtype), as NumPy stores `array[i] = value`."""
    return jnp.asarray(value).astype(array.dtype)


def floordiv(a: Any, b: Any) -> jax.Array:
    """Integer `a // b`, 0 where `b` is 0 (XLA would give -1)."""
    if isinstance(b, (int, np.integer)) and b != 0:  # known when traced: no check to run
        return jnp.asarray(a) // b
    b = jnp.asarray(b)
    zero = b == 0
    return jnp.where(zero, 0, jnp.asarray(a) // jnp.where(zero, 1, b))


def mod(a: Any, b: Any) -> jax.Array:
    """Integer `a % b`, 0 where `b` is 0."""
    if isinstance(b, (int, np.integer)) and b != 0:
        return jnp.asarray(a) % b
    b = jnp.asarray(b)
    zero = b == 0
    return jnp.where(zero, 0, jnp.asarray(a) % jnp.where(zero, 1, b))


def positive_zero(x: Any) -> jax.Array:
    """`x` with -0.0 made 0.0 (`x + 0.0` does it in NumPy; XLA folds the addition away)."""
    return jnp.where(x == 0, jnp.zeros_like(x), x)


def float_mod(a: Any, b: Any) -> jax.Array:
    """Float `a % b` as NumPy and Python give it: a zero remainder has the divisor's sign."""
    remainder = jnp.asarray(a) % b
    return jnp.where(remainder == 0, jnp.copysign(jnp.zeros_like(remainder), b), remainder)


def read(value: Any) -> Any:
    """A static NumPy array to index with traced values (a JAX array), else `value`."""
    return jnp.asarray(value) if isinstance(value, np.ndarray) else value


def where(cond: Any, a: Any, b: Any) -> Any:
    """`a if cond else b` per element; pytrees (dict / tuple values) branch by leaf."""
    if isinstance(a, (dict, tuple, list)):
        return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)
    return jnp.where(cond, a, b)


def first_max(*values: Any) -> jax.Array:
    """`max(a, b, ...)` of float scalars as the single env's Python builtin computes it: a
    later value replaces the running one only when it compares greater (NaN is kept only
    where it comes first; jnp.maximum gives NaN for any NaN)."""
    result = values[0]
    for value in values[1:]:
        result = jnp.where(value > result, value, result)
    return result


def first_min(*values: Any) -> jax.Array:
    """`min(a, b, ...)` of float scalars as Python's builtin computes it (see `first_max`)."""
    result = values[0]
    for value in values[1:]:
        result = jnp.where(value < result, value, result)
    return result


def sign(x: Any) -> jax.Array:
    """`sign(x)` of a scalar as the single env computes it: 1.0, -1.0, else 0.0 (NaN too)."""
    return jnp.where(x > 0, 1.0, jnp.where(x < 0, -1.0, 0.0))


# --- pytrees --------------------------------------------------------------------------------


class _At:
    def __init__(self, tree: Any, index: Any) -> None:
        self.tree, self.index = tree, index

    def set(self, values: Any) -> Any:
        return jax.tree.map(lambda a, b: a.at[self.index].set(b), self.tree, values)


class _Indexer:
    def __init__(self, tree: Any) -> None:
        self.tree = tree

    def __getitem__(self, index: Any) -> _At:
        return _At(self.tree, index)


class Struct:
    """Base of generated state and params dataclasses (registered as JAX pytrees).

    `replace(**changes)` as flax's structs have it; `at[index].set(other)` on a batch of
    states (every leaf indexed), which Gymnasium's FunctionalJaxVectorEnv uses to reset
    some sub-envs.
    """

    def replace(self, **changes: Any) -> Any:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    @property
    def at(self) -> _Indexer:
        return _Indexer(self)


def struct(cls: type) -> type:
    """Make `cls` a frozen dataclass registered as a pytree (every field is data)."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    return jax.tree_util.register_dataclass(cls)


# --- randomness -----------------------------------------------------------------------------


class Replay:
    """Recorded draws, fed to generated functions in place of a key (eager mode only)."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = list(values)
        self.taken = 0

    def take(self) -> Any:
        if self.taken >= len(self.values):
            raise IndexError(f"the replay has only {len(self.values)} recorded draws")
        value = self.values[self.taken]
        self.taken += 1
        return value


def split(key: Any, n: int) -> Any:
    """One key per draw site (`n` of them), or the same Replay for each."""
    if isinstance(key, Replay):
        return [key] * n
    return jax.random.split(key, n)


def fold_in(key: Any, counter: Any) -> Any:
    """The key of a draw site inside a loop, at iteration `counter`."""
    if isinstance(key, Replay):
        return key
    return jax.random.fold_in(key, counter)


def _draw(key: Any, active: Any, sample: Any, index: int | None = None) -> Any:
    if index is not None and not isinstance(key, Replay):
        return key[index]  # a value of uniforms(...)
    if isinstance(key, Replay):
        # Inactive draws (on the branch not taken) take nothing; their value is discarded.
        dummy = sample(jax.random.key(0))
        if active is not None and not bool(active):
            return dummy
        value = jnp.asarray(key.take())
        return value.astype(dummy.dtype) if value.dtype != dummy.dtype else value
    return sample(key)


def _shape(size: Any, *params: Any) -> tuple[int, ...]:
    if size is None:
        return tuple(jnp.broadcast_shapes(*(jnp.shape(p) for p in params)))
    return (size,) if isinstance(size, (int, np.integer)) else tuple(size)


def uniforms(key: Any, n: int) -> Any:
    """The values of a function's `n` scalar `random()` / `uniform()` draws, in one draw."""
    if isinstance(key, Replay):
        return key
    return jax.random.uniform(key, (n,), dt("float64"))


def random_at(u: Any, index: int, *, active: Any = None) -> jax.Array:
    """A scalar `random()`: value `index` of `uniforms(...)`."""
    return _draw(u, active, lambda k: jax.random.uniform(k, (), dt("float64")), index)


def uniform_at(
    u: Any, index: int, low: Any = 0.0, high: Any = 1.0, *, active: Any = None
) -> jax.Array:
    """A scalar `uniform(low, high)` from value `index` of `uniforms(...)`."""

    def sample(k: Any) -> jax.Array:
        return low + (high - low) * jax.random.uniform(k, (), dt("float64"))

    if not isinstance(u, Replay):
        return low + (high - low) * u[index]
    return _draw(u, active, sample)


def random(key: Any, size: Any = None, *, active: Any = None) -> jax.Array:
    shape = _shape(size)
    return _draw(key, active, lambda k: jax.random.uniform(k, shape, dt("float64")))


def uniform(
    key: Any, low: Any = 0.0, high: Any = 1.0, size: Any = None, *, active: Any = None
) -> jax.Array:
    shape = _shape(size, low, high)

    def sample(k: Any) -> jax.Array:
        u = jax.random.uniform(k, shape, dt("float64"))
        return low + (high - low) * u

    return _draw(key, active, sample)


def normal(
    key: Any, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, *, active: Any = None
) -> jax.Array:
    shape = _shape(size, loc, scale)
    return _draw(key, active, lambda k: loc + scale * jax.random.normal(k, shape, dt("float64")))


def standard_normal(key: Any, size: Any = None, *, active: Any = None) -> jax.Array:
    shape = _shape(size)
    return _draw(key, active, lambda k: jax.random.normal(k, shape, dt("float64")))


def integers(
    key: Any,
    low: Any,
    high: Any = None,
    size: Any = None,
    endpoint: bool = False,
    *,
    active: Any = None,
) -> jax.Array:
    if high is None:
        low, high = 0, low
    if endpoint:
        high = high + 1
    shape = _shape(size, low, high)
    return _draw(key, active, lambda k: jax.random.randint(k, shape, low, high, dt("int64")))


def exponential(key: Any, scale: Any = 1.0, size: Any = None, *, active: Any = None) -> jax.Array:
    shape = _shape(size, scale)
    return _draw(key, active, lambda k: scale * jax.random.exponential(k, shape, dt("float64")))


def poisson(key: Any, lam: Any = 1.0, size: Any = None, *, active: Any = None) -> jax.Array:
    shape = _shape(size, lam)
    return _draw(key, active, lambda k: jax.random.poisson(k, lam, shape, dt("int64")))


def binomial(key: Any, n: Any, p: Any, size: Any = None, *, active: Any = None) -> jax.Array:
    shape = _shape(size, n, p)
    return _draw(
        key,
        active,
        lambda k: jax.random.binomial(k, n, p, shape, dt("float64")).astype(dt("int64")),
    )


def choice(
    key: Any,
    a: Any,
    size: Any = None,
    replace: bool = True,
    p: Any = None,
    *,
    active: Any = None,
) -> jax.Array:
    shape = () if size is None else _shape(size)
    population = jnp.asarray(a)
    return _draw(
        key,
        active,
        lambda k: jax.random.choice(
            k, int(a) if population.ndim == 0 else population, shape, replace, p
        ),
    )


# --- loops ----------------------------------------------------------------------------------

#: Loops of at most this many iterations run unrolled at trace time (no loop overhead; their
#: compile time is small anyway); longer ones are one `lax.fori_loop`.
UNROLL = 8


def loop(steps: range, body: Any, carry: tuple, key: Any = None) -> tuple:
    """`for i in steps: carry = body(i, carry)`, as a `lax.fori_loop` where it can be.

    Unrolled (a Python loop at trace time, exact) when the loop is short, when recorded
    draws are replayed (eager, one value per active draw), or when the carry cannot be one
    fixed type: the carry's dtypes and shapes are first promoted to what one iteration
    makes of them (an int total that gains floats becomes a float, as in Python)."""
    if len(steps) <= UNROLL or isinstance(key, Replay) or not _arrays(carry):
        for i in steps:
            carry = body(i, carry)
        return carry
    carry = tuple(jax.tree.map(jnp.asarray, carry))
    counter = jax.ShapeDtypeStruct((), dt("int64"))
    for _ in range(3):
        out = jax.eval_shape(body, counter, carry)
        if jax.tree.structure(out) != jax.tree.structure(carry):
            return _unrolled(steps, body, carry)
        fixed = jax.tree.map(_promote, carry, out)
        if any(f is None for f in jax.tree.leaves(fixed, is_leaf=lambda x: x is None)):
            return _unrolled(steps, body, carry)
        if all(
            f.dtype == c.dtype and f.shape == c.shape
            for f, c in zip(jax.tree.leaves(fixed), jax.tree.leaves(carry), strict=True)
        ):
            break
        carry = fixed
    else:
        return _unrolled(steps, body, carry)

    def one(k: Any, c: tuple) -> tuple:
        out = body(steps.start + k * steps.step, c)
        return jax.tree.map(lambda o, ref: jnp.asarray(o).astype(ref.dtype), out, c)

    return jax.lax.fori_loop(0, len(steps), one, carry)


def _unrolled(steps: range, body: Any, carry: tuple) -> tuple:
    for i in steps:
        carry = body(i, carry)
    return carry


def _arrays(tree: Any) -> bool:
    return all(
        isinstance(x, (int, float, bool, np.ndarray, np.generic, jax.Array))
        for x in jax.tree.leaves(tree)
    )


def _promote(value: Any, after: Any) -> Any:
    """`value` as the dtype and shape it has after an iteration, or None if it cannot be."""
    dtype = jnp.result_type(value.dtype, after.dtype)
    try:
        shape = jnp.broadcast_shapes(value.shape, after.shape)
    except ValueError:
        return None
    if shape != after.shape:
        return None
    return jnp.broadcast_to(value.astype(dtype), shape)


# --- drawing (rgb_array), as envgen.runtime.draw paints, on whole-frame masks ---------------


def _color(color: Any) -> jax.Array:
    return jnp.clip(jnp.asarray(color), 0, 255).astype(jnp.uint8)[:3]


def _paint(frame: jax.Array, mask: jax.Array, color: Any) -> jax.Array:
    return jnp.where(mask[..., None], _color(color), frame)


def _centers(frame: jax.Array) -> tuple[jax.Array, jax.Array]:
    height, width = frame.shape[:2]
    ys, xs = jnp.mgrid[0:height, 0:width]
    return xs + 0.5, ys + 0.5


def fill(frame: jax.Array, color: Any) -> jax.Array:
    return jnp.broadcast_to(_color(color), frame.shape).astype(frame.dtype)


def fill_rect(frame: jax.Array, x0: Any, y0: Any, x1: Any, y1: Any, color: Any) -> jax.Array:
    height, width = frame.shape[:2]
    ys, xs = jnp.mgrid[0:height, 0:width]
    ax, bx = jnp.round(x0), jnp.round(x1)
    ay, by = jnp.round(y0), jnp.round(y1)
    inside = (
        (xs >= jnp.minimum(ax, bx))
        & (xs < jnp.maximum(ax, bx))
        & (ys >= jnp.minimum(ay, by))
        & (ys < jnp.maximum(ay, by))
    )
    return _paint(frame, inside, color)


def fill_circle(frame: jax.Array, cx: Any, cy: Any, radius: Any, color: Any) -> jax.Array:
    xs, ys = _centers(frame)
    return _paint(frame, (xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius, color)


def draw_line(
    frame: jax.Array, x0: Any, y0: Any, x1: Any, y1: Any, color: Any, width: Any = 1
) -> jax.Array:
    xs, ys = _centers(frame)
    half = jnp.maximum(jnp.asarray(width, dtype=dt("float64")), 1.0) / 2.0
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    safe = jnp.where(length2 == 0, 1.0, length2)
    t = jnp.where(length2 == 0, 0.0, jnp.clip(((xs - x0) * dx + (ys - y0) * dy) / safe, 0, 1))
    distance2 = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2
    return _paint(frame, distance2 <= half * half, color)


def fill_polygon(frame: jax.Array, points: Any, color: Any) -> jax.Array:
    corners = jnp.asarray(points, dtype=dt("float64")).reshape(-1, 2)
    if corners.shape[0] < 3:
        return frame
    xs, ys = _centers(frame)
    inside = jnp.zeros(xs.shape, dtype=bool)
    following = jnp.roll(corners, -1, axis=0)
    for i in range(corners.shape[0]):
        xa, ya = corners[i, 0], corners[i, 1]
        xb, yb = following[i, 0], following[i, 1]
        crosses = (ya > ys) != (yb > ys)
        dy = jnp.where(yb == ya, 1.0, yb - ya)
        x_at = xa + (ys - ya) * (xb - xa) / dy
        inside = inside ^ (crosses & (xs < x_at))
    return _paint(frame, inside, color)


INF = math.inf


def truth(value: Any) -> jax.Array:
    """`value` as an `if` test sees it (nonzero is true)."""
    return jnp.asarray(value).astype(bool)
