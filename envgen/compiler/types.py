"""Types of the dynamics language: a NumPy dtype, a shape, and NEP 50 'weakness'.

A value is *weak* when the single-env backend holds it as a plain Python number (literals,
params, float64/int64/bool scalar state, results of scalar math). NumPy 2 promotes weak
values to the dtype of the other operand (`float32 * 0.5` stays float32); both backends
follow that rule, so the vector backend casts weak operands where the single env would.

A plain int is weak only where it provably fits the narrow int it meets: `uint8 + 300`
raises in NumPy 2 and wraps in Numba and JAX, so there the int is strong (int64) and so is
the result (`widened`). What a plain int may be is its `limits`, from literals, bounded
params, lets, loop ranges and a Discrete action (the checker computes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Shape = tuple["Dim", ...] | None  # None: rank unknown; None inside: length unknown


@dataclass(frozen=True)
class Sym:
    """A length known as an integer polynomial of params and `let` values: `lead_time + 1`.

    `terms` maps each monomial (a sorted tuple of names; () for the constant) to its
    coefficient. A polynomial with only a constant term is never a Sym: it is that int.
    """

    terms: tuple[tuple[tuple[str, ...], int], ...]

    def __str__(self) -> str:
        parts = []
        for monomial, coeff in self.terms:
            if not monomial:
                text = str(abs(coeff))
            else:
                text = " * ".join(monomial)
                if abs(coeff) != 1:
                    text = f"{abs(coeff)} * {text}"
            sign = "-" if coeff < 0 else "+"
            parts.append((sign, text))
        first_sign, first = parts[0]
        out = ("-" if first_sign == "-" else "") + first
        for sign, text in parts[1:]:
            out += f" {sign} {text}"
        return out

    @property
    def names(self) -> set[str]:
        return {name for monomial, _ in self.terms for name in monomial}


#: A dimension: a known int, a symbolic length, or None (unknown).
Dim = int | Sym | None


def _poly(d: int | Sym) -> dict[tuple[str, ...], int]:
    return {(): d} if isinstance(d, int) else dict(d.terms)


def _dim(poly: dict[tuple[str, ...], int]) -> int | Sym:
    terms = tuple(sorted((m, c) for m, c in poly.items() if c != 0))
    if not terms:
        return 0
    if len(terms) == 1 and terms[0][0] == ():
        return terms[0][1]
    # constant term last reads best: `n + 1`
    return Sym(tuple(sorted(terms, key=lambda mc: (mc[0] == (), mc[0]))))


def sym(name: str) -> Sym:
    return Sym(((((name,)), 1),))


def dim_add(a: Dim, b: Dim, sign: int = 1) -> Dim:
    if a is None or b is None:
        return None
    poly = _poly(a)
    for monomial, coeff in _poly(b).items():
        poly[monomial] = poly.get(monomial, 0) + sign * coeff
    return _dim(poly)


def dim_mul(a: Dim, b: Dim) -> Dim:
    if a is None or b is None:
        return None
    poly: dict[tuple[str, ...], int] = {}
    for ma, ca in _poly(a).items():
        for mb, cb in _poly(b).items():
            monomial = tuple(sorted(ma + mb))
            poly[monomial] = poly.get(monomial, 0) + ca * cb
    return _dim(poly)


def dim_equal(a: Dim, b: Dim) -> bool | None:
    """True or False where the polynomials decide it, None where only the values can."""
    if a is None or b is None:
        return None
    difference = dim_add(a, b, -1)
    if isinstance(difference, int):
        return difference == 0
    return None


def erase(t: T) -> T:
    """`t` with its symbolic lengths as unknown ones (what the backends are handed)."""
    if t.shape is None or all(not isinstance(d, Sym) for d in t.shape):
        if not t.fields:
            return t
    shape = None if t.shape is None else tuple(None if isinstance(d, Sym) else d for d in t.shape)
    fields = tuple((k, erase(v)) for k, v in t.fields)
    return T(t.dtype, shape, t.weak, fields)


@dataclass(frozen=True)
class T:
    """The static type of a value."""

    dtype: str  # numpy dtype name, or 'str', 'none', 'dict', 'tuple', 'any'
    shape: Shape = ()
    weak: bool = False
    fields: tuple[tuple[str | int, T], ...] = field(default=(), compare=False)
    #: a weak int's proven (lowest, highest) value; None where unknown (`widened`)
    limits: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    @property
    def is_numeric(self) -> bool:
        return self.dtype in NUMERIC

    @property
    def kind(self) -> str:
        if self.dtype == "bool":
            return "bool"
        if self.dtype.startswith(("int", "uint")):
            return "int"
        if self.dtype.startswith("float"):
            return "float"
        return self.dtype

    def with_shape(self, shape: Shape) -> T:
        return T(self.dtype, shape, self.weak and shape == ())

    def described(self) -> str:
        """`describe()` with its article: 'an int scalar', 'a float32 array of ...'."""
        text = self.describe()
        return ("an " if text[:1] in "aeiou" else "a ") + text

    def describe(self) -> str:
        if self.dtype in ("dict", "tuple", "any", "str", "none"):
            return {"none": "None"}.get(self.dtype, self.dtype)
        if self.shape == ():
            return f"{self.kind} scalar" if self.weak else f"{self.dtype} scalar"
        if self.shape is None:
            return f"{self.dtype} array"
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype} array of shape ({dims}{',' if len(self.shape) == 1 else ''})"


#: uint64 is no state dtype, but NumPy's sum and prod of uint8 give it: values may have it.
NUMERIC = {
    *("bool", "int8", "int16", "int32", "int64", "uint8", "uint64"),
    *("float16", "float32", "float64"),
}
ANY = T("any", None)
NONE = T("none")
STR = T("str")
BOOL = T("bool", (), True)
INT = T("int64", (), True)
FLOAT = T("float64", (), True)


#: The dtype of NumPy arrays of weak values (Python numbers), by kind.
_WEAK_ARRAY_DTYPES = {"bool": "bool", "int": "int64", "float": "float64"}


def array_dtype(t: T) -> str:
    """The dtype of a NumPy array holding values of type `t` (one per env, in a vector env):
    a weak value's default (a Python int becomes int64), else `t.dtype`. The printers'
    one dtype mapping; they never compute dtypes themselves."""
    return _WEAK_ARRAY_DTYPES[t.kind] if t.weak else t.dtype


def list_literal_dtype(elements: list[T]) -> str:
    """The dtype `np.array([...])` gives a list of values of these types (the array
    constructor treats every element as strong; arithmetic follows NEP 50 instead)."""
    strong = [_WEAK_ARRAY_DTYPES[e.kind] if e.weak else e.dtype for e in elements]
    return np.result_type(*strong).name


def scalar(dtype: str) -> T:
    """The type a scalar state variable of `dtype` has in the single-env backend."""
    return T(dtype, (), dtype in ("bool", "int64", "float64"))


def _sample(t: T) -> object:
    if t.weak:
        return {"bool": True, "int": 0, "float": 0.0}.get(t.kind, np.dtype(t.dtype))
    return np.dtype(t.dtype)


#: Integer dtypes a plain (weak) int may not fit: NEP 50 converts it to them, and NumPy 2
#: raises where it does not fit (`np.uint8(5) + 300`) while Numba and JAX wrap it.
NARROW_INTS = ("int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64")


def fits(limits: tuple[int, int] | None, dtype: str) -> bool:
    """Whether every int within `limits` (None: any) is a value of `dtype`."""
    if limits is None:
        return False
    info = np.iinfo(dtype)
    return int(info.min) <= limits[0] and limits[1] <= int(info.max)


def widened(types: list[T] | tuple[T, ...]) -> list[bool]:
    """Which of these operands of one operation are plain ints that a narrow int operand's
    dtype may not hold: they take part as int64 (the language's int), not weakly (docs/
    spec.md, "Numbers"), so `uint8 + 300` is int64 and `max(a[0], 300)` 300 everywhere.
    A plain int within the narrow dtype's range (`b + 1`) stays weak."""
    narrow = {t.dtype for t in types if t.is_numeric and not t.weak and t.dtype in NARROW_INTS}
    return [
        bool(narrow)
        and t.weak
        and t.kind == "int"
        and t.is_scalar
        and not all(fits(t.limits, d) for d in narrow)
        for t in types
    ]


def promote(*types: T) -> T:
    """The dtype NumPy 2 gives an arithmetic result of these operands (weak when all are),
    a plain int that a narrow operand may not hold taken as int64 (`widened`)."""
    numeric = [t for t in types if t.is_numeric]
    if len(numeric) != len(types):
        return ANY
    numeric = [T("int64") if w else t for t, w in zip(numeric, widened(numeric), strict=True)]
    if all(t.weak for t in numeric):
        kinds = {t.kind for t in numeric}
        if "float" in kinds:
            return FLOAT
        if "int" in kinds:
            return INT
        return BOOL
    result = np.result_type(*[_sample(t) for t in numeric])
    return T(result.name, ())


def broadcast(*shapes: Shape) -> Shape:
    """The broadcast shape, with None for what cannot be known; raises ValueError on mismatch."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)  # type: ignore[arg-type]
    out: list[int | None] = []
    for axis in range(-rank, 0):
        dims = {s[axis] for s in shapes if len(s) >= -axis}  # type: ignore[index]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            if all(isinstance(d, int) for d in known):
                msg = f"shapes {' and '.join(_fmt(s) for s in shapes)} do not broadcast"
                raise ValueError(msg)
            out.append(None)  # lengths that only the param values decide
        elif known:
            out.append(known.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def _fmt(shape: Shape) -> str:
    if shape is None:
        return "(?)"
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


def binary_result(a: T, b: T, *, true_divide: bool = False) -> T:
    out = promote(a, b)
    if true_divide and out.kind in ("int", "bool"):
        out = FLOAT if out.weak else T("float64")
    if out.dtype == "bool" and not true_divide:
        out = INT if out.weak else T("int64")
    shape = broadcast(a.shape, b.shape)
    return T(out.dtype, shape, out.weak and shape == ())


def matmul_type(a: T, b: T) -> T:
    """The type of `a @ b` (NumPy's matmul rules: a 1-D operand is a vector, more
    dimensions stack matrices); ValueError for a scalar operand or lengths that differ."""
    out = promote(a, b).dtype
    if a.shape == () or b.shape == ():
        raise ValueError("`@` needs arrays, not a scalar (use * to scale)")
    if a.shape is None or b.shape is None:
        return T(out, None)
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if len(b.shape) == 1 else b.shape[-2]
    if dim_equal(inner_a, inner_b) is False:
        raise ValueError(
            f"shapes {_fmt(a.shape)} and {_fmt(b.shape)} do not align for a matrix product "
            f"({inner_a} != {inner_b})"
        )
    rows = a.shape[:-1] if len(a.shape) >= 1 else ()
    cols = b.shape[-1:] if len(b.shape) >= 2 else ()
    if len(a.shape) > 2 or len(b.shape) > 2:
        stack = broadcast(a.shape[:-2], b.shape[:-2])
        if stack is None:
            return T(out, None)
        return T(out, (*stack, *a.shape[-2:-1], *cols))
    return T(out, (*rows[-1:], *cols) if len(a.shape) == 2 else cols)


def join(a: T, b: T) -> T:
    """The type a name holds where two paths meet (after an `if`, around a loop), as the
    vector env holds it: one array per name, `where(mask, b, a)`.

    A weak value met with a strong one takes the strong one's dtype: the next operation
    with the other operand casts the weak value to that dtype anyway.
    """
    if a == b:
        if a.limits == b.limits:
            return a
        both = a.limits is not None and b.limits is not None
        return T(a.dtype, a.shape, a.weak, a.fields, _union(a.limits, b.limits) if both else None)
    if a.is_scalar and b.is_scalar and a.weak != b.weak and a.is_numeric and b.is_numeric:
        strong = b if a.weak else a
        weak = a if a.weak else b
        if (T(strong.dtype).kind == weak.kind and not any(widened([a, b]))) or (
            weak.kind,
            T(strong.dtype).kind,
        ) in (
            ("int", "float"),
            ("bool", "int"),
            ("bool", "float"),
        ):
            return strong
    return promote(a, b).with_shape(a.shape if a.shape == b.shape else None)


def _union(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return (min(a[0], b[0]), max(a[1], b[1]))


def operand_dtype(op: str, a: T, b: T, result: T) -> str:
    """The dtype both operands of `a op b` are converted to before the operation (NEP 50:
    a weak operand takes the other's dtype); the vector env casts its arrays to it."""
    target = promote(a, b).dtype
    if op in ("&", "|", "^") and a.dtype == b.dtype == "bool":
        return "bool"
    if target == "bool":
        target = "int64"
    if op == "**" and result.kind == "float" and T(target).kind != "float":
        target = "float64"
    return target
