"""The fixed table of functions the dynamics language may call.

Each entry says how to type a call and how each backend spells it. Templates name the
arguments in braces; `scalar` is used by the single env when every argument is a scalar
(plain Python and `math`, the fast path), `array` otherwise and by the vector backend.
Random draws map one-to-one onto `numpy.random.Generator` methods of the env's
seeded `np_random`, so a spec consumes the generator exactly as hand-written code would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envgen.compiler.types import (
    BOOL,
    FLOAT,
    INT,
    STR,
    Dim,
    Sym,
    T,
    array_dtype,
    broadcast,
    dim_add,
    dim_equal,
    dim_mul,
    matmul_type,
    promote,
)

Rule = Callable[[dict[str, T], dict[str, object]], T]


@dataclass(frozen=True)
class Builtin:
    name: str
    params: tuple[str, ...]  # in positional order
    required: int  # how many leading params are required
    rule: Rule
    scalar: str | None  # template when every argument is a scalar (None: use `array`)
    array: str
    doc: str
    example: str
    random: bool = False
    statement: bool = False  # drawing functions mutate their first argument
    variadic: bool = False  # min/max accept any number of arguments
    sequence: bool = False  # the first argument is a list of arrays: concatenate([a, b])
    axis: str | None = None  # template when `axis=` is given (reductions)
    #: arguments that are lengths or shapes: the analysis hands their rule the lengths as
    #: polynomials of params (`zeros(lead_time + 1)` has the symbolic shape)
    shapes: tuple[str, ...] = ()


class CallError(Exception):
    """A call that cannot be typed; the message says why (and `hint`, where given, what to
    write instead of the function's generic example)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def _float_like(args: dict[str, T], _c: dict[str, object]) -> T:
    x = args["x"]
    if not x.is_numeric:
        raise CallError(f"expects a number or numeric array, got {x.describe()}")
    if x.shape == ():
        return FLOAT
    return T(x.dtype if x.kind == "float" else "float64", x.shape)


def _same(args: dict[str, T], _c: dict[str, object]) -> T:
    x = args["x"]
    if not x.is_numeric:
        raise CallError(f"expects a number or numeric array, got {x.describe()}")
    return x


def _promote_all(args: dict[str, T], _c: dict[str, object]) -> T:
    values = list(args.values())
    for v in values:
        if not v.is_numeric:
            raise CallError(f"expects numbers, got {v.describe()}")
    out = promote(*values)
    try:
        shape = broadcast(*[v.shape for v in values])
    except ValueError as exc:
        raise CallError(str(exc)) from None
    return T(out.dtype, shape, out.weak and shape == ())


def _numpy_dtype(fn: Callable[..., object], dtype: str) -> str:
    """The dtype NumPy's reduction `fn` gives on an array of `dtype`."""
    with np.errstate(all="ignore"):
        return np.asarray(fn(np.ones(2, dtype=dtype))).dtype.name


def axis_of(args: dict[str, T], consts: dict[str, object], rank: int | None) -> int | None:
    """The `axis=` argument as a non-negative axis of an array of `rank` dimensions."""
    if "axis" not in args:
        return None
    axis = consts.get("axis")
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise CallError("axis must be a whole-number literal, e.g. axis=0 or axis=-1")
    if rank is None:
        raise CallError("axis= needs an array whose number of dimensions is known")
    if not -rank <= axis < rank:
        raise CallError(f"axis {axis} is out of range for an array of {rank} dimension(s)")
    return axis % rank


def _reduce_to(dtype_of: Callable[[T], T], fn: Callable[..., object] | None = None) -> Rule:
    """A reduction: the whole array to a scalar, or one axis away with `axis=`."""

    def rule(args: dict[str, T], consts: dict[str, object]) -> T:
        x = args["x"]
        if not x.is_numeric:
            raise CallError(f"expects a numeric array, got {x.describe()}")
        if "axis" not in args:
            out = dtype_of(x)
            if fn is not None and not out.weak:
                out = T(_numpy_dtype(fn, x.dtype), ())
            return out
        if x.shape == ():
            raise CallError("axis= needs an array, got a scalar")
        axis = axis_of(args, consts, None if x.shape is None else len(x.shape))
        assert axis is not None and x.shape is not None
        dtype = dtype_of(x).dtype
        if fn is not None:
            dtype = _numpy_dtype(fn, x.dtype)
        return T(dtype, x.shape[:axis] + x.shape[axis + 1 :])

    return rule


def _where(args: dict[str, T], _c: dict[str, object]) -> T:
    out = promote(args["a"], args["b"])
    try:
        shape = broadcast(args["cond"].shape, args["a"].shape, args["b"].shape)
    except ValueError as exc:
        raise CallError(str(exc)) from None
    return T(out.dtype, shape, out.weak and shape == ())


def _cast(dtype: str, weak_dtype: T | None) -> Rule:
    def rule(args: dict[str, T], _c: dict[str, object]) -> T:
        x = args["x"]
        if not x.is_numeric:
            raise CallError(f"expects a number or numeric array, got {x.describe()}")
        if x.shape == () and weak_dtype is not None:
            return weak_dtype
        return T(dtype, x.shape)

    return rule


def _shape_of(value: object) -> tuple[Dim, ...] | None:
    """A shape argument's lengths: ints, polynomials of params (Sym), or None (unknown)."""
    if isinstance(value, Sym) or (isinstance(value, int) and not isinstance(value, bool)):
        return (value,)
    if isinstance(value, (tuple, list)):
        return tuple(
            v if isinstance(v, Sym) or (isinstance(v, int) and not isinstance(v, bool)) else None
            for v in value
        )
    if value is None:
        return None
    return (None,)


#: The dtype NumPy gives an array made of a plain Python number (np.asarray(1.0)).
#: The dtype of `t` once it is an array (a plain Python number becomes float64 ...).
strong_dtype = array_dtype


def _items(args: dict[str, T], name: str = "arrays") -> list[T]:
    items = [t for _, t in args[name].fields]
    if not items:
        raise CallError("needs at least one array in the list")
    for t in items:
        if not t.is_numeric:
            raise CallError(f"joins numeric arrays, got {t.describe()}")
    return items


def _same_dim(dims: list[Dim], what: str) -> Dim:
    """The one length `dims` agree on (a CallError where they cannot)."""
    known = [d for d in dims if d is not None]
    for d in known[1:]:
        if dim_equal(known[0], d) is False:
            raise CallError(f"{what}: lengths {known[0]} and {d} differ")
    ints = [d for d in known if isinstance(d, int)]
    return ints[0] if ints else (known[0] if known else None)


def _concatenate(args: dict[str, T], consts: dict[str, object]) -> T:
    items = _items(args)
    for t in items:
        if t.shape == ():
            raise CallError(
                f"joins arrays, got {t.described()}; write a scalar x as a one-element "
                "array: concatenate([[x], values])"
            )
    dtype = np.result_type(*[t.dtype for t in items]).name
    ranks = {len(t.shape) for t in items if t.shape is not None}
    if len(ranks) > 1:
        raise CallError(f"the arrays have different numbers of dimensions {sorted(ranks)}")
    if not ranks or any(t.shape is None for t in items):
        axis_of(args, consts, ranks.pop() if ranks else None)
        return T(dtype, None)
    rank = ranks.pop()
    axis = axis_of(args, consts, rank) or 0
    shape: list[Dim] = []
    for d in range(rank):
        dims = [t.shape[d] for t in items]  # type: ignore[index]
        if d == axis:
            total: Dim = 0
            for dim in dims:
                total = dim_add(total, dim)
            shape.append(total)
        else:
            shape.append(_same_dim(dims, f"the arrays differ along axis {d}"))
    return T(dtype, tuple(shape))


def _stack(args: dict[str, T], consts: dict[str, object]) -> T:
    items = _items(args)
    dtype = np.result_type(*[strong_dtype(t) for t in items]).name
    ranks = {len(t.shape) for t in items if t.shape is not None}
    if len(ranks) > 1:
        raise CallError(
            "stack() needs arrays of one shape; join arrays of different lengths with concatenate()"
        )
    if not ranks or any(t.shape is None for t in items):
        axis_of(args, consts, ranks.pop() + 1 if ranks else None)
        return T(dtype, None)
    rank = ranks.pop()
    axis = axis_of(args, consts, rank + 1) or 0
    inner = [
        _same_dim([t.shape[d] for t in items], "stack() needs arrays of one shape")  # type: ignore[index]
        for d in range(rank)
    ]
    return T(dtype, tuple(inner[:axis]) + (len(items),) + tuple(inner[axis:]))


def _size(shape: tuple[Dim, ...] | None) -> Dim:
    if shape is None:
        return None
    total: Dim = 1
    for d in shape:
        total = dim_mul(total, d)
    return total


def _ravel(args: dict[str, T], _c: dict[str, object]) -> T:
    x = args["x"]
    if not x.is_numeric:
        raise CallError(f"expects a numeric array, got {x.describe()}")
    return T(strong_dtype(x), (_size(x.shape),))


def _reshape(args: dict[str, T], consts: dict[str, object]) -> T:
    x = args["x"]
    if not x.is_numeric:
        raise CallError(f"expects a numeric array, got {x.describe()}")
    shape = _shape_of(consts.get("shape")) if "shape" in consts else None
    if shape is None:
        raise CallError("the shape must be lengths over params and literals, e.g. (rows, cols)")
    total = _size(x.shape)
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise CallError("only one length may be -1")
    if any(isinstance(d, int) and d < -1 for d in shape):
        raise CallError(f"lengths must be positive (or one -1), got {shape}")
    rest = _size(tuple(d for d in shape if d != -1))
    if unknown and rest == 0:
        # NumPy divides the size by the other lengths to find the -1: always an error
        raise CallError(
            f"a length of 0 beside -1 in {_shape_text(shape)}: NumPy cannot infer the -1"
        )
    if unknown:
        fill: Dim = None
        if isinstance(total, int) and isinstance(rest, int) and rest > 0:
            if total % rest:
                raise CallError(f"cannot reshape {total} elements into {_shape_text(shape)}")
            fill = total // rest
        elif isinstance(total, Sym) and isinstance(rest, int) and rest > 0:
            # (n * m,) into (m, -1) is not followed, but (2 * n,) into (2, -1) is (n,)
            if all(coeff % rest == 0 for _, coeff in total.terms):
                fill = Sym(tuple((monomial, coeff // rest) for monomial, coeff in total.terms))
        shape = tuple(fill if d == -1 else d for d in shape)
    elif dim_equal(total, rest) is False:
        raise CallError(f"cannot reshape {total} elements into {_shape_text(shape)}")
    return T(strong_dtype(x), shape)


def _shape_text(shape: tuple[Dim, ...]) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


def _roll(args: dict[str, T], consts: dict[str, object]) -> T:
    x = args["x"]
    if not x.is_numeric or x.shape == ():
        raise CallError(f"expects a numeric array, got {x.describe()}")
    shift = args["shift"]
    if shift.kind != "int" or not shift.is_scalar:
        raise CallError(f"the shift must be an integer, got {shift.describe()}")
    axis_of(args, consts, None if x.shape is None else len(x.shape))
    return T(x.dtype, x.shape)


def _array(args: dict[str, T], consts: dict[str, object]) -> T:
    x = args["x"]
    if not x.is_numeric:
        raise CallError(f"expects numbers, got {x.describe()}")
    return T(_dtype_arg(args, consts, strong_dtype(x)), x.shape)


def _eye(args: dict[str, T], consts: dict[str, object]) -> T:
    n = args["n"]
    if n.kind != "int" or not n.is_scalar:
        raise CallError(f"n must be an integer, got {n.describe()}")
    dtype = _dtype_arg(args, consts, "float64")
    (dim,) = _shape_of(consts.get("n")) or (None,)
    return T(dtype, (dim, dim))


def _flatnonzero(args: dict[str, T], _c: dict[str, object]) -> T:
    x = args["x"]
    if not x.is_numeric or x.shape == ():
        raise CallError(f"expects an array, got {x.describe()}")
    return T("int64", (None,))


def _sized(dtype: T) -> Rule:
    def rule(args: dict[str, T], consts: dict[str, object]) -> T:
        if "size" not in args:
            # Without size, NumPy draws the broadcast shape of the distribution's
            # parameters: uniform(lows, highs) is an array (Gymnasium's Pendulum resets so).
            try:
                shape = broadcast(*(t.shape for t in args.values()))
            except ValueError as exc:
                raise CallError(str(exc)) from None
            return dtype if shape == () else T(dtype.dtype, shape)
        shape = _shape_of(consts.get("size", ...)) if "size" in consts else None
        if shape is None:
            shape = (None,) if args["size"].shape == () else None
        return T(dtype.dtype, shape)

    return rule


def _creation(dtype_arg: str | None, default: str) -> Rule:
    def rule(args: dict[str, T], consts: dict[str, object]) -> T:
        dtype = _dtype_arg(args, consts, default) if dtype_arg else default
        shape = _shape_of(consts["shape"]) if "shape" in consts else None
        if shape is None and args["shape"].shape == ():
            shape = (None,)
        return T(dtype, shape)

    return rule


#: The documented dtypes (docs/reference.md), in the order the docs list them.
DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")


def _dtype_arg(args: dict[str, T], consts: dict[str, object], default: str) -> str:
    """The `dtype=` of a call: a quoted name from the table (a param or any other value
    is an error, never silently the default)."""
    if "dtype" not in args:
        return default
    dtype = consts.get("dtype")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise CallError(
            f"dtype must be a quoted name, one of {', '.join(DTYPES)}",
            'e.g. dtype="int8" (a dtype cannot come from a param or a computed value)',
        )
    return dtype


def _full(args: dict[str, T], consts: dict[str, object]) -> T:
    shape = _shape_of(consts["shape"]) if "shape" in consts else None
    if shape is None and args["shape"].shape == ():
        shape = (None,)
    value = args["value"]
    dtype = _dtype_arg(args, consts, value.dtype if not value.weak else promote(value).dtype)
    if dtype not in DTYPES:
        raise CallError(f"dtype must be one of {', '.join(DTYPES)}")
    return T(dtype, shape)


def _arange(args: dict[str, T], consts: dict[str, object]) -> T:
    kind = promote(*args.values())
    length = None
    start = consts.get("start")
    # arange(n): n elements, also when n is a polynomial of params (a Sym), e.g. k + 1.
    if set(args) == {"start"} and (isinstance(start, Sym) or type(start) is int):
        length = start
    return T("float64" if kind.kind == "float" else "int64", (length,))


def _linspace(args: dict[str, T], consts: dict[str, object]) -> T:
    num = consts.get("num")
    return T("float64", (num if isinstance(num, int) else None,))


def _dot(args: dict[str, T], _c: dict[str, object]) -> T:
    a, b = args["a"], args["b"]
    if a.shape == () or b.shape == ():  # np.dot of a scalar multiplies
        return T(promote(a, b).dtype, b.shape if a.shape == () else a.shape)
    if a.shape is not None and b.shape is not None and (len(a.shape) > 2 or len(b.shape) > 2):
        return T(promote(a, b).dtype, None)  # np.dot's N-D rule differs from matmul's
    try:
        return matmul_type(a, b)
    except ValueError as exc:
        raise CallError(str(exc)) from None


def _cumsum(args: dict[str, T], _c: dict[str, object]) -> T:
    x = args["x"]
    size: Dim = None
    if x.shape and all(d is not None for d in x.shape):
        size = 1
        for d in x.shape:
            size = dim_mul(size, d)
    return T(promote(x, INT).dtype if x.kind != "float" else x.dtype, (size,))


def _choice(args: dict[str, T], consts: dict[str, object]) -> T:
    a = args["a"]
    for name in ("a", "p"):
        t = args.get(name)
        if t is not None and t.shape is not None and len(t.shape) > 1:
            # Generator.choice raises "must be 1-dimensional" at run time
            raise CallError(f"{name} must be 1-D, got {t.describe()}; flatten it with cumsum")
    element = INT if a.shape == () else T(a.dtype, ())
    if "size" not in args:
        return element if element.dtype != "int64" else INT
    return _sized(T(element.dtype, ()))(args, consts)


def _text(args: dict[str, T], _c: dict[str, object]) -> T:
    return STR


def _draw(args: dict[str, T], _c: dict[str, object]) -> T:
    frame = args["frame"]
    if frame.dtype != "uint8" or (frame.shape is not None and len(frame.shape) != 3):
        raise CallError(f"draws on a uint8 H×W×3 frame, got {frame.describe()}")
    return T("none")


def _len(args: dict[str, T], _c: dict[str, object]) -> T:
    if args["x"].dtype == "str":
        raise CallError(
            "expects an array, got a string (a row of a list of strings is a string; "
            "strings have no length in the language)",
            'encode the rows first, as FrozenLake does: `grid: encode(layout, ".#SG")` '
            "under let, then `len(grid[0])`",
        )
    if args["x"].shape == ():
        raise CallError("expects an array")
    return INT


def _float_unary(name: str, math_name: str, doc: str, example: str) -> Builtin:
    return Builtin(
        name,
        ("x",),
        1,
        _float_like,
        f"math.{math_name}({{x}})",
        f"np.{name}({{x}})",
        doc,
        example,
    )


_UNARY = [
    ("sqrt", "sqrt", "square root", "sqrt(x * x + y * y)"),
    ("exp", "exp", "e to the power x", "exp(-t / tau)"),
    ("log", "log", "natural logarithm", "log(1 + x)"),
    ("log2", "log2", "base-2 logarithm", "log2(n)"),
    ("log10", "log10", "base-10 logarithm", "log10(x)"),
    ("sin", "sin", "sine (radians)", "sin(theta)"),
    ("cos", "cos", "cosine (radians)", "cos(3 * position)"),
    ("tan", "tan", "tangent", "tan(angle)"),
    ("arcsin", "asin", "inverse sine", "arcsin(x)"),
    ("arccos", "acos", "inverse cosine", "arccos(x)"),
    ("arctan", "atan", "inverse tangent", "arctan(x)"),
    ("sinh", "sinh", "hyperbolic sine", "sinh(x)"),
    ("cosh", "cosh", "hyperbolic cosine", "cosh(x)"),
    ("tanh", "tanh", "hyperbolic tangent", "tanh(x)"),
]

_SIZE = ("size",)

BUILTINS: dict[str, Builtin] = {b.name: b for b in (_float_unary(*u) for u in _UNARY)}
BUILTINS.update(
    {
        b.name: b
        for b in [
            Builtin(
                "floor",
                ("x",),
                1,
                _float_like,
                "float(math.floor({x}))",
                "np.floor({x})",
                "round down (returns a float)",
                "floor(x / cell)",
            ),
            Builtin(
                "ceil",
                ("x",),
                1,
                _float_like,
                "float(math.ceil({x}))",
                "np.ceil({x})",
                "round up (returns a float)",
                "ceil(x)",
            ),
            Builtin(
                "round",
                ("x",),
                1,
                _float_like,
                "float(round({x}))",
                "np.round({x})",
                "round half to even (returns a float)",
                "round(x)",
            ),
            Builtin(
                "abs",
                ("x",),
                1,
                _same,
                "abs({x})",
                "np.abs({x})",
                "absolute value",
                "abs(velocity)",
            ),
            Builtin(
                "square",
                ("x",),
                1,
                _same,
                "{x} ** 2",
                "np.square({x})",
                "x * x",
                "square(theta_dot)",
            ),
            Builtin(
                "sign",
                ("x",),
                1,
                _float_like,
                # not float((x > 0) - (x < 0)): NumPy refuses to subtract np.bool_ values (an
                # array element is an np.float64), and Numba has no float(bool)
                "(1.0 if {x} > 0 else (-1.0 if {x} < 0 else 0.0))",
                "np.sign({x}) * 1.0",
                "-1.0, 0.0 or 1.0",
                "sign(force)",
            ),
            Builtin(
                "arctan2",
                ("y", "x"),
                2,
                _promote_all,
                "math.atan2({y}, {x})",
                "np.arctan2({y}, {x})",
                "angle of the point (x, y)",
                "arctan2(sin_t, cos_t)",
            ),
            Builtin(
                "hypot",
                ("x", "y"),
                2,
                _promote_all,
                "math.hypot({x}, {y})",
                "np.hypot({x}, {y})",
                "sqrt(x*x + y*y)",
                "hypot(dx, dy)",
            ),
            Builtin(
                "min",
                ("a", "b"),
                1,
                _promote_all,
                "min({args})",
                "np.minimum({args})",
                "smallest of the arguments, or of one array (along axis=)",
                "min(pos + 1, size - 1)",
                variadic=True,
                axis="np.min({x}, axis={axis})",
            ),
            Builtin(
                "max",
                ("a", "b"),
                1,
                _promote_all,
                "max({args})",
                "np.maximum({args})",
                "largest of the arguments, or of one array (along axis=)",
                "max(price, 1.0)",
                variadic=True,
                axis="np.max({x}, axis={axis})",
            ),
            Builtin(
                "clip",
                ("x", "low", "high"),
                3,
                _promote_all,
                "min(max({x}, {low}), {high})",
                "np.clip({x}, {low}, {high})",
                "x limited to [low, high]",
                "clip(pos + move, 0, size - 1)",
            ),
            Builtin(
                "where",
                ("cond", "a", "b"),
                3,
                _where,
                "({a} if {cond} else {b})",
                "np.where({cond}, {a}, {b})",
                "a where cond holds, else b",
                "where(x > 0, 1.0, -1.0)",
            ),
            Builtin(
                "int",
                ("x",),
                1,
                _cast("int64", INT),
                "int({x})",
                "np.asarray({x}).astype(np.int64)",
                "convert to an integer (truncates)",
                "int(x / cell)",
            ),
            Builtin(
                "float",
                ("x",),
                1,
                _cast("float64", FLOAT),
                "float({x})",
                "np.asarray({x}).astype(np.float64)",
                "convert to a float",
                "float(n)",
            ),
            Builtin(
                "bool",
                ("x",),
                1,
                _cast("bool", BOOL),
                "bool({x})",
                "np.asarray({x}).astype(bool)",
                "convert to a bool",
                "bool(n)",
            ),
            *(
                Builtin(
                    dtype,
                    ("x",),
                    1,
                    _cast(dtype, T(dtype)),
                    f"np.{dtype}({{x}})",
                    f"np.asarray({{x}}).astype(np.{dtype})",
                    f"convert to {dtype} (NumPy's casting: wraps around, truncates)"
                    if dtype != "float32"
                    else "round to float32 precision",
                    f"{dtype}(velocity)" if dtype.startswith("float") else f"{dtype}(count)",
                )
                for dtype in ("float16", "float32", "int8", "int16", "int32", "int64", "uint8")
            ),
            Builtin(
                "sum",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: T(x.dtype), np.sum),
                None,
                "np.sum({x})",
                "sum of the elements (along axis=, if given)",
                "sum(grid == 1)",
                axis="np.sum({x}, axis={axis})",
            ),
            Builtin(
                "mean",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: T(x.dtype), np.mean),
                None,
                "np.mean({x})",
                "mean of the elements",
                "mean(loads)",
                axis="np.mean({x}, axis={axis})",
            ),
            Builtin(
                "prod",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: T(x.dtype), np.prod),
                None,
                "np.prod({x})",
                "product of the elements",
                "prod(shape)",
                axis="np.prod({x}, axis={axis})",
            ),
            Builtin(
                "any",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: BOOL),
                None,
                "bool(np.any({x}))",
                "whether any element is true",
                "any(hits)",
                axis="np.any({x}, axis={axis})",
            ),
            Builtin(
                "all",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: BOOL),
                None,
                "bool(np.all({x}))",
                "whether every element is true",
                "all(done)",
                axis="np.all({x}, axis={axis})",
            ),
            Builtin(
                "argmax",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: INT),
                None,
                "int(np.argmax({x}))",
                "index of the first largest element",
                "argmax(cumsum(p) > u)",
                axis="np.argmax({x}, axis={axis})",
            ),
            Builtin(
                "argmin",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: INT),
                None,
                "int(np.argmin({x}))",
                "index of the first smallest element",
                "argmin(distances)",
                axis="np.argmin({x}, axis={axis})",
            ),
            Builtin(
                "cumsum",
                ("x",),
                1,
                _cumsum,
                None,
                "np.cumsum({x})",
                "running sums (flattened)",
                "cumsum(probs)",
            ),
            Builtin(
                "count_nonzero",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: INT),
                None,
                "int(np.count_nonzero({x}))",
                "number of non-zero elements",
                "count_nonzero(grid)",
                axis="np.count_nonzero({x}, axis={axis})",
            ),
            Builtin(
                "len", ("x",), 1, _len, None, "len({x})", "length of the first axis", "len(desc)"
            ),
            Builtin(
                "dot",
                ("a", "b"),
                2,
                _dot,
                None,
                "np.dot({a}, {b})",
                "dot / matrix product",
                "dot(weights, features)",
            ),
            Builtin(
                "norm",
                ("x", "axis"),
                1,
                _reduce_to(lambda x: FLOAT, np.linalg.norm),
                None,
                "float(np.linalg.norm({x}))",
                "Euclidean norm",
                "norm(goal - pos)",
                axis="np.linalg.norm({x}, axis={axis})",
            ),
            Builtin(
                "zeros",
                ("shape", "dtype"),
                1,
                _creation("dtype", "float64"),
                None,
                "np.zeros({shape}, dtype={dtype})",
                "an array of zeros",
                "zeros((64, 64, 3), dtype='uint8')",
                shapes=("shape",),
            ),
            Builtin(
                "ones",
                ("shape", "dtype"),
                1,
                _creation("dtype", "float64"),
                None,
                "np.ones({shape}, dtype={dtype})",
                "an array of ones",
                "ones(n)",
                shapes=("shape",),
            ),
            Builtin(
                "full",
                ("shape", "value", "dtype"),
                2,
                _full,
                None,
                "np.full({shape}, {value}, dtype={dtype})",
                "an array filled with value",
                "full(3, 1.0 / 3.0)",
                shapes=("shape",),
            ),
            Builtin(
                "arange",
                ("start", "stop", "step"),
                1,
                _arange,
                None,
                "np.arange({args})",
                "evenly spaced integers (or floats)",
                "arange(size)",
                shapes=("start",),
            ),
            Builtin(
                "linspace",
                ("start", "stop", "num"),
                3,
                _linspace,
                None,
                "np.linspace({start}, {stop}, {num})",
                "num evenly spaced values",
                "linspace(0.0, 1.0, 288)",
            ),
            Builtin(
                "text",
                ("codes", "charset"),
                2,
                _text,
                None,
                "_rt.text({codes}, {charset})",
                "a string of charset[code] for each code",
                "text(letters, 'abc')",
            ),
            # Random draws: one call, one Generator method call.
            Builtin(
                "random",
                _SIZE,
                0,
                _sized(FLOAT),
                "self.np_random.random()",
                "self.np_random.random({args})",
                "Generator.random: uniform in [0, 1)",
                "random()",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "uniform",
                ("low", "high", "size"),
                0,
                _sized(FLOAT),
                "self.np_random.uniform({args})",
                "self.np_random.uniform({args})",
                "Generator.uniform(low=0, high=1, size=None)",
                "uniform(-0.05, 0.05)",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "normal",
                ("loc", "scale", "size"),
                0,
                _sized(FLOAT),
                "self.np_random.normal({args})",
                "self.np_random.normal({args})",
                "Generator.normal(loc=0, scale=1, size=None)",
                "normal(drift, volatility)",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "standard_normal",
                _SIZE,
                0,
                _sized(FLOAT),
                "self.np_random.standard_normal()",
                "self.np_random.standard_normal({args})",
                "Generator.standard_normal(size=None)",
                "standard_normal()",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "integers",
                ("low", "high", "size", "endpoint"),
                1,
                _sized(INT),
                "int(self.np_random.integers({args}))",
                "self.np_random.integers({args})",
                "Generator.integers(low, high=None, size=None, endpoint=False)",
                "integers(0, size)",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "exponential",
                ("scale", "size"),
                0,
                _sized(FLOAT),
                "self.np_random.exponential({args})",
                "self.np_random.exponential({args})",
                "Generator.exponential(scale=1, size=None)",
                "exponential(2.0)",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "poisson",
                ("lam", "size"),
                0,
                _sized(INT),
                "int(self.np_random.poisson({args}))",
                "self.np_random.poisson({args})",
                "Generator.poisson(lam=1, size=None)",
                "poisson(arrival_rate)",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "binomial",
                ("n", "p", "size"),
                2,
                _sized(INT),
                "int(self.np_random.binomial({args}))",
                "self.np_random.binomial({args})",
                "Generator.binomial(n, p, size=None)",
                "binomial(10, 0.5)",
                random=True,
                shapes=("size",),
            ),
            Builtin(
                "choice",
                ("a", "size", "replace", "p"),
                1,
                _choice,
                "self.np_random.choice({args})",
                "self.np_random.choice({args})",
                "Generator.choice(a, size=None, replace=True, p=None)",
                "choice(4, p=probs)",
                random=True,
                shapes=("size",),
            ),
            # Drawing on a uint8 H×W×3 frame (envgen.runtime.draw), used as statements.
            Builtin(
                "fill",
                ("frame", "color"),
                2,
                _draw,
                None,
                "_draw.fill({args})",
                "paint the whole frame",
                "fill(frame, (255, 255, 255))",
                statement=True,
            ),
            Builtin(
                "fill_rect",
                ("frame", "x0", "y0", "x1", "y1", "color"),
                6,
                _draw,
                None,
                "_draw.fill_rect({args})",
                "filled rectangle [x0, x1) × [y0, y1)",
                "fill_rect(frame, 0, 0, 8, 8, (0, 255, 0))",
                statement=True,
            ),
            Builtin(
                "draw_line",
                ("frame", "x0", "y0", "x1", "y1", "color", "width"),
                6,
                _draw,
                None,
                "_draw.line({args})",
                "line segment of a given width",
                "draw_line(frame, 0, 10, 63, 10, (0, 0, 0))",
                statement=True,
            ),
            Builtin(
                "fill_circle",
                ("frame", "cx", "cy", "radius", "color"),
                5,
                _draw,
                None,
                "_draw.circle({args})",
                "filled disc",
                "fill_circle(frame, 32, 32, 5, RED)",
                statement=True,
            ),
            Builtin(
                "fill_polygon",
                ("frame", "points", "color"),
                3,
                _draw,
                None,
                "_draw.polygon({args})",
                "filled polygon from [[x, y], ...]",
                "fill_polygon(frame, [[0, 0], [10, 0], [5, 8]], (0, 0, 0))",
                statement=True,
            ),
        ]
    }
)

#: Names the language defines as constants.
CONSTANTS = {
    "pi": ("math.pi", FLOAT),
    "inf": ("math.inf", FLOAT),
    "e": ("math.e", FLOAT),
    "nan": ("math.nan", FLOAT),
    "True": ("True", BOOL),
    "False": ("False", BOOL),
}


def _encode(args: dict[str, T], _c: dict[str, object]) -> T:
    rows = args["rows"]
    if rows.dtype != "str":
        raise CallError(f"expects a list of strings, got {rows.describe()}")
    return T("int64", (None, None))


def _option(args: dict[str, T], consts: dict[str, object]) -> T:
    if not isinstance(consts.get("name"), str):
        raise CallError("the option's name must be a string literal, e.g. option('low', -0.05)")
    default = args["default"]
    if not default.is_scalar or default.kind not in ("int", "float", "bool"):
        raise CallError(f"the default must be a number, got {default.describe()}")
    return {"int": INT, "float": FLOAT, "bool": BOOL}[default.kind]


BUILTINS["option"] = Builtin(
    "option",
    ("name", "default"),
    2,
    _option,
    "_rt.option(options, {name}, {default})",
    "_rt.option(options, {name}, {default})",
    "reset(options=...)[name], or default when not given (state init and reset only)",
    'uniform(option("low", -0.05), option("high", 0.05))',
)

BUILTINS["float64"] = Builtin(
    "float64",
    ("x",),
    1,
    _cast("float64", T("float64")),
    "np.float64({x})",
    "np.asarray({x}).astype(np.float64)",
    "a NumPy float64 (not a plain Python number: it wins over float32 in arithmetic)",
    "float64(velocity)",
)

BUILTINS["pow"] = Builtin(
    "pow",
    ("x", "y"),
    2,
    lambda args, _c: (
        FLOAT
        if args["x"].is_scalar and args["y"].is_scalar
        else T("float64", broadcast(args["x"].shape, args["y"].shape))
    ),
    "math.pow({x}, {y})",
    "np.power(np.asarray({x}, dtype=np.float64), {y})",
    "x to the power y, computed in float64 (math.pow)",
    "pow(action[0], 2)",
)

BUILTINS["encode"] = Builtin(
    "encode",
    ("rows", "alphabet"),
    2,
    _encode,
    None,
    "_rt.encode({rows}, {alphabet})",
    "a 2-D int array: each character of each row replaced by its index in alphabet",
    'encode(desc, "SFHG")',
)


# Arrays: joining, reshaping and making them (what observations and pipelines need).
for _builtin in [
    Builtin(
        "concatenate",
        ("arrays", "axis"),
        1,
        _concatenate,
        None,
        "np.concatenate({args})",
        "join a list of arrays along an existing axis (0 unless axis= says)",
        "concatenate([[inventory], pipeline])",
        sequence=True,
    ),
    Builtin(
        "stack",
        ("arrays", "axis"),
        1,
        _stack,
        None,
        "np.stack({args})",
        "join a list of same-shape arrays (or scalars) along a new axis",
        "stack([xs, ys], axis=1)",
        sequence=True,
    ),
    Builtin(
        "ravel",
        ("x",),
        1,
        _ravel,
        None,
        "np.array({x}).ravel()",
        "the elements as a 1-D array (a copy)",
        "ravel(grid)",
    ),
    Builtin(
        "reshape",
        ("x", "shape"),
        2,
        _reshape,
        None,
        "np.array({x}).reshape({shape})",
        "the elements in a new shape (a copy; one length may be -1)",
        "reshape(cells, (rows, cols))",
        shapes=("shape",),
    ),
    Builtin(
        "roll",
        ("x", "shift", "axis"),
        2,
        _roll,
        None,
        "np.roll({args})",
        "elements shifted by shift places, wrapping around (flattened unless axis=)",
        "roll(pipeline, -1)",
    ),
    Builtin(
        "array",
        ("x", "dtype"),
        1,
        _array,
        None,
        "np.array({x}, dtype={dtype})",
        "a new array (a copy) of x, of dtype if given",
        'array(obstacles, dtype="float32")',
    ),
    Builtin(
        "eye",
        ("n", "dtype"),
        1,
        _eye,
        None,
        "np.eye({n}, dtype={dtype})",
        "the n×n identity matrix",
        "eye(n_actions)[action]",
        shapes=("n",),
    ),
    Builtin(
        "flatnonzero",
        ("x",),
        1,
        _flatnonzero,
        None,
        "np.flatnonzero({x})",
        "indices of the non-zero elements of the flattened array",
        "choice(flatnonzero(grid == 0))",
    ),
]:
    BUILTINS[_builtin.name] = _builtin
