"""Stage 4b: emit a native NumPy `gymnasium.vector.VectorEnv` for a spec.

The single env (envgen/emit.py) holds one copy of the state as Python numbers. The vector
env holds every state variable as an array with a leading batch axis and runs the spec's
code once per step for all copies:

- values that cannot differ between copies (params, `let`, constants, literals, loop
  counters) are spelled exactly as the single env spells them (same Python semantics);
- values that can (state, action, locals computed from them) are NumPy arrays; every
  operation casts its operands the way NEP 50 promotion treats the single env's Python
  numbers ("weak" values), so results match the single env bit for bit;
- `if/elif/else` on per-env conditions become masks: both sides run, assignments are
  merged with `np.where`; random draws run only for the envs whose mask is active, each
  from that env's own generator (see docs/vectorization.md);
- specs the translator does not handle return None with a note (SyncVectorEnv fallback).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field

import numpy as np

from envgen.backends import python as emit
from envgen.backends._printer import (
    Translator,
    _argument,
    function_method,
    function_variant,
    literal,
    np_dtype,
    tidy,
    tidy_block,
)
from envgen.backends.numba import KernelCode, NoKernel, emit_kernel
from envgen.backends.python import (
    _TEMPLATES,
    INDENT,
    _indent,
    _space_code,
    doc_text,
    format_source,
    param_lines,
)
from envgen.compiler.functions import BUILTINS
from envgen.compiler.ir import Code, EnvModel, ObservationModel, SpaceModel
from envgen.compiler.types import NUMERIC, T, binary_result, promote


def _maximum(*values: object) -> object:
    return functools.reduce(np.maximum, values)


def _merge_types(a: T, b: T) -> T:
    """The type to go on with after `x = where(mask, b, a)`.

    A weak value merged with a strong one takes the strong one's dtype: the next operation
    with the other operand casts the weak value to that dtype anyway.
    """
    if a == b:
        return a
    if a.is_scalar and b.is_scalar and a.weak != b.weak and a.is_numeric and b.is_numeric:
        strong = b if a.weak else a
        weak = a if a.weak else b
        if T(strong.dtype).kind == weak.kind or (weak.kind, T(strong.dtype).kind) in (
            ("int", "float"),
            ("bool", "int"),
            ("bool", "float"),
        ):
            return strong
    return promote(a, b).with_shape(a.shape if a.shape == b.shape else None)


class Unsupported(Exception):
    """Something the vector translator does not handle; the message says what, and `node`
    (the innermost statement or code value being translated) where in the spec."""

    node: ast.AST | None = None


#: Draws the buffered stream serves (bit-identical to the Generator methods).
_BUFFERED = {"random", "uniform"}
#: Unary float functions: name -> the `math` function the single env uses for scalars.
_MATH = {
    "sqrt": "sqrt",
    "exp": "exp",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
}
_MATH2 = {"arctan2": "atan2", "hypot": "hypot", "pow": "pow"}
_BINOP = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_WEAK = {"bool": "bool", "int": "int64", "float": "float64"}


def _sample(dtype: str, weak: bool) -> object:
    if weak:
        return {"bool": True, "int": 1, "float": 1.0}[T(dtype).kind]
    return np.ones(1, dtype=dtype)


@dataclass
class V:
    """A translated expression: its code, whether it varies per env, and its NumPy dtype.

    `vec` values are arrays with a leading batch axis; their `dtype` is the array's. Uniform
    values are spelled like the single env's, and `t` is the analysis type.
    """

    code: str
    vec: bool
    t: T
    dtype: str = ""

    def sample(self) -> object:
        if self.vec:
            return np.ones((1,) + tuple(d or 1 for d in (self.t.shape or ())), dtype=self.dtype)
        if self.t.weak or self.t.dtype not in np.sctypeDict:
            return _sample(self.t.dtype if self.t.is_numeric else "float64", True)
        return np.ones(tuple(d or 1 for d in (self.t.shape or ())), dtype=self.t.dtype)


@dataclass
class Scope:
    """One generated method body being built: its lines, masks and per-env names."""

    kind: str  # "step", "reset", "after", "observe"
    n: str  # the expression for the batch size
    envs: str  # the expression for the env ids of the batch positions
    vec_names: set[str] = field(default_factory=set)  # names that hold per-env arrays
    defined: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)
    prelude: list[str] = field(default_factory=list)
    counter: int = 0
    live: str | None = None  # in step: ids of the envs that step (others autoreset)
    # The type each name holds at this point, as the single env's run-time types go (a
    # state variable may enter `step` as a NumPy float64 right after reset and as a float32
    # later); used for operand types when `retype` is on.
    types: dict[str, T] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)  # the arrays' dtypes (retype)
    retype: bool = False
    fresh: set[str] = field(default_factory=set)  # locals bound to a new array of their own

    def temp(self, stem: str) -> str:
        self.counter += 1
        return f"_{stem}{self.counter}"


class VectorTranslator:
    """Spells checked DSL trees as batched NumPy code."""

    def __init__(self, model: EnvModel, buffered: bool) -> None:
        self.model = model
        self.single = Translator(model)
        self.buffered = buffered
        self.exact: dict[str, str] = {}  # helper name -> module-level definition
        self.functions: set[str] = set()  # spec functions the env's code calls
        self.risky = False  # an operation that may warn runs under a mask: silence warnings
        self.arms = 0  # > 0 while translating the arms of `a if c else b`

    # -- facts

    def type_of(self, node: ast.AST) -> T:
        return self.model.types.get(id(node), T("any", None))

    def symbol_kind(self, node: ast.Name) -> str | None:
        symbol = self.model.symbols.get(id(node))
        return symbol.kind if symbol is not None else None

    def is_vec(self, node: ast.AST, scope: Scope) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                kind = self.symbol_kind(sub)
                if kind in ("state", "action") or sub.id in scope.vec_names:
                    return True
                if kind == "special" and sub.id in ("elapsed_steps", "terminated"):
                    return scope.kind != "reset" or sub.id != "elapsed_steps"
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and builtin.random:
                    return True
        return False

    # -- expressions

    def expr(self, node: ast.expr, scope: Scope, mask: str | None) -> V:
        t = self.type_of(node)
        if t.dtype in ("any", "str", "dict", "tuple", "none") and not isinstance(node, ast.Tuple):
            raise Unsupported(f"a value of type {t.describe()} in `{ast.unparse(node)}`")
        if not self.is_vec(node, scope):
            for sub in ast.walk(node):
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Name)
                    and (sub.func.id in self.model.functions)
                ):
                    variant = function_variant(self.model, sub)
                    if variant is not None and variant.random:
                        raise Unsupported(f"the spec function '{sub.func.id}' draws random numbers")
                    self.functions.add(function_method(self.model, sub))
            return V(self.single.expr(node), False, t)
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise Unsupported(f"{type(node).__name__} `{ast.unparse(node)}` on per-env values")
        return method(node, scope, mask)

    def vec_dtype(self, t: T) -> str:
        return _WEAK[t.kind] if t.weak else t.dtype

    def cast(self, v: V, dtype: str) -> V:
        if not v.vec or v.dtype == dtype:
            return v
        return V(f"({v.code}).astype({np_dtype(dtype)})", True, v.t, dtype)

    def align(self, values: list[V], t: T) -> list[V]:
        """Give per-env operands of lower element rank trailing axes (batch axis first)."""
        if t.shape is None:
            if any(v.vec and not v.t.is_scalar for v in values):
                raise Unsupported("an operation on arrays of unknown rank")
            return values
        rank = len(t.shape)
        out = []
        for v in values:
            own = len(v.t.shape) if v.t.shape is not None else None
            if v.vec and own is not None and own < rank:
                nones = ", ".join(["None"] * (rank - own))
                v = V(f"({v.code})[:, {nones}]", True, v.t, v.dtype)
            elif v.vec and own is None:
                raise Unsupported("an operation on arrays of unknown rank")
            out.append(v)
        return out

    def result_dtype(self, fn, *values: V) -> str:
        with np.errstate(all="ignore"):
            out = fn(*[v.sample() for v in values])
        return np.asarray(out).dtype.name

    def _Name(self, node: ast.Name, scope: Scope, mask: str | None) -> V:
        t = self.type_of(node)
        kind = self.symbol_kind(node)
        name = node.id
        if kind == "special" and name == "elapsed_steps":
            code = "self._elapsed" if scope.kind == "observe" else "_elapsed"
            return V(code, True, t, "int64")
        if kind == "state" and scope.kind == "observe":
            return V(f"self.{name}", True, t, self.vec_dtype(self.model.state[name].type))
        dtype = self.vec_dtype(t)
        if kind == "action":
            dtype = self.vec_dtype(self.model.action_type)
        if scope.retype and name in scope.types:
            t = scope.types[name]
            dtype = scope.dtypes.get(name, self.vec_dtype(t))
        return V(name, True, t, dtype)

    def _Constant(self, node: ast.Constant, scope: Scope, mask: str | None) -> V:
        return V(literal(node.value), False, self.type_of(node))

    def _BinOp(self, node: ast.BinOp, scope: Scope, mask: str | None) -> V:
        op = _BINOP.get(type(node.op))
        if op is None:
            raise Unsupported("matrix products on per-env values")
        a = self.expr(node.left, scope, mask)
        b = self.expr(node.right, scope, mask)
        t = self.type_of(node)
        if op in _RISKY_OPS and (mask is not None or self.arms):
            self.risky = True
        if scope.retype:
            try:
                t = binary_result(a.t, b.t, true_divide=op == "/")
            except ValueError:
                pass
        return self.binop(a, b, op, t)

    def binop(self, a: V, b: V, op: str, t: T) -> V:
        target = promote(a.t, b.t).dtype
        if op in ("&", "|", "^") and a.t.dtype == b.t.dtype == "bool":
            target = "bool"
        elif target == "bool":
            target = "int64"
        if op == "**" and t.kind == "float" and T(target).kind != "float":
            target = "float64"
        a, b = self.align([self.cast(a, target), self.cast(b, target)], t)
        code = f"({a.code}) {op} ({b.code})"
        if op == "**" and target == "float64" and a.t.is_scalar and b.t.is_scalar:
            if a.vec or b.vec:
                # The single env's float ** is the C library's pow(); NumPy's power is not
                # (SIMD code, and x * x for ** 2): the checked helper, as for math.pow.
                return V(f"{self.exact_fn('pow')}({a.code}, {b.code})", True, t, "float64")
        ops = {
            "+": np.add,
            "-": np.subtract,
            "*": np.multiply,
            "/": np.true_divide,
            "//": np.floor_divide,
            "%": np.remainder,
            "**": np.power,
            "&": np.bitwise_and,
            "|": np.bitwise_or,
            "^": np.bitwise_xor,
        }
        if not a.vec and not b.vec:
            return V(code, False, t)
        return V(code, True, t, self.result_dtype(ops[op], a, b))

    def read_target(self, target: ast.expr, scope: Scope, mask: str | None) -> V:
        """The current value of an assignment target (for `x += ...`)."""
        if isinstance(target, ast.Name):
            symbol = self.model.symbols.get(id(target))
            if symbol is None:
                raise Unsupported(f"`{ast.unparse(target)}`")
            t = symbol.type
            name = target.id
            if scope.retype and name in scope.types:
                t = scope.types[name]
                if name in scope.vec_names or symbol.kind == "state":
                    return V(name, True, t, scope.dtypes.get(name, self.vec_dtype(t)))
            if symbol.kind in ("state", "action") or name in scope.vec_names:
                return V(name, True, t, self.vec_dtype(t))
            return V(name, False, t)
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            base = self.read_target(target.value, scope, mask)
            index, _ = self.index(target, base, scope, mask)
            rank = self._rank_after_index(target, base.t)
            t = T(base.t.dtype, (None,) * rank) if rank else T(base.t.dtype, ())
            if not base.vec and not self.is_vec(target.slice, scope):
                return V(f"{base.code}[{index}]", False, t)
            return V(f"{base.code}[{index}]", True, t, base.dtype or self.vec_dtype(base.t))
        raise Unsupported(f"`{ast.unparse(target)}`")

    def _UnaryOp(self, node: ast.UnaryOp, scope: Scope, mask: str | None) -> V:
        t = self.type_of(node)
        a = self.expr(node.operand, scope, mask)
        if isinstance(node.op, ast.Not):
            return V(f"np.logical_not({a.code})", True, t, "bool")
        if scope.retype:
            t = a.t
        if isinstance(node.op, ast.USub):
            if a.dtype == "bool":
                a = self.cast(a, "int64")
            return V(f"-({a.code})", True, t, a.dtype)
        if isinstance(node.op, ast.UAdd):
            return a
        return V(f"~({a.code})", True, t, a.dtype)

    def _BoolOp(self, node: ast.BoolOp, scope: Scope, mask: str | None) -> V:
        for value in node.values[1:]:
            if self._has_draw(value):
                raise Unsupported("a random draw on the right of `and`/`or`")
        fn = "np.logical_and" if isinstance(node.op, ast.And) else "np.logical_or"
        if isinstance(node.op, ast.Or):
            fused = self._fuse_bounds(node.values, scope, mask)
            if fused is not None:
                return V(
                    " | ".join(f"({code})" for code in fused), True, self.type_of(node), "bool"
                )
        values = [self.expr(v, scope, mask) for v in node.values]
        code = values[0].code
        for value in values[1:]:
            code = f"{fn}({code}, {value.code})"
        return V(code, True, self.type_of(node), "bool")

    def _bound_test(self, node: ast.expr, scope: Scope) -> tuple[str, str, str, bool] | None:
        """`x < -c` / `x > c` (or `c < x`, `<=`, ...) as (x, lower|upper, c, inclusive).

        Only for a name `x` and a uniform name or number `c`; None for anything else.
        """
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
            return None
        left, op, right = node.left, type(node.ops[0]), node.comparators[0]
        flip = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
        if op not in flip:
            return None
        if not isinstance(left, ast.Name) or not self.is_vec(left, scope):
            left, right, op = right, left, flip[op]
        if not isinstance(left, ast.Name) or not self.is_vec(left, scope):
            return None
        if self.is_vec(right, scope):
            return None
        negated = isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.USub)
        bound = right.operand if negated else right  # type: ignore[attr-defined]
        if not isinstance(bound, (ast.Name, ast.Constant)):
            return None
        side = "upper" if op in (ast.Gt, ast.GtE) else "lower"
        if (side == "lower") != negated:
            return None
        return left.id, side, ast.unparse(bound), op in (ast.LtE, ast.GtE)

    def _fuse_bounds(
        self,
        values: list[ast.expr],
        scope: Scope,
        mask: str | None,
    ) -> list[str] | None:
        """`x < -c or x > c` as `abs(x) > c`, where exactly the same.

        For a float `x` (abs is exact; NaN fails both; `-c` is exact): both are true for
        every non-NaN `x` when c < 0, and `x != 0` when c == 0. Not for ints (abs of the
        most negative int overflows). Returns the parts' code, or None if nothing fuses.
        """
        if any(self._has_draw(v) for v in values):
            return None
        tests = [self._bound_test(v, scope) for v in values]
        parts: list[str] = []
        used: set[int] = set()
        fused = False
        for i, (node, test) in enumerate(zip(values, tests, strict=True)):
            if i in used:
                continue
            partner = None
            if test is not None:
                for j in range(i + 1, len(values)):
                    other = tests[j]
                    if (
                        j not in used
                        and other is not None
                        and other[0] == test[0]
                        and (other[2] == test[2] and other[3] == test[3] and other[1] != test[1])
                    ):
                        partner = j
                        break
            value = self.expr(node, scope, mask)
            if value.dtype != "bool":
                return None
            if partner is None:
                parts.append(value.code)
                continue
            upper = values[i] if test[1] == "upper" else values[partner]
            assert isinstance(upper, ast.Compare)
            subject, bound = upper.left, upper.comparators[0]
            if not (isinstance(subject, ast.Name) and subject.id == test[0]):
                subject, bound = bound, subject
            x = self.expr(subject, scope, mask)
            c = self.expr(bound, scope, mask)
            target = promote(x.t, c.t).dtype
            x = self.cast(x, target)
            if c.vec or T(target).kind != "float" or np.dtype(x.dtype).kind != "f":
                return None
            parts.append(f"np.abs({x.code}) {'>=' if test[3] else '>'} ({c.code})")
            used.add(partner)
            fused = True
        return parts if fused else None

    def _Compare(self, node: ast.Compare, scope: Scope, mask: str | None) -> V:
        operands = [node.left, *node.comparators]
        values = [self.expr(o, scope, mask) for o in operands]
        parts = []
        for op, a, b in zip(node.ops, values, values[1:], strict=False):
            symbol = _CMP.get(type(op))
            if symbol is None:
                raise Unsupported(f"the comparison `{ast.unparse(node)}`")
            target = promote(a.t, b.t).dtype
            a, b = self.align([self.cast(a, target), self.cast(b, target)], self.type_of(node))
            parts.append(f"({a.code}) {symbol} ({b.code})")
        code = parts[0]
        for part in parts[1:]:
            code = f"({code}) & ({part})"
        return V(code, True, self.type_of(node), "bool")

    def _IfExp(self, node: ast.IfExp, scope: Scope, mask: str | None) -> V:
        if self._has_draw(node.body) or self._has_draw(node.orelse):
            raise Unsupported("a random draw inside `a if c else b`")
        t = self.type_of(node)
        test = self.expr(node.test, scope, mask)
        self.arms += 1
        a = self.expr(node.body, scope, mask)
        b = self.expr(node.orelse, scope, mask)
        self.arms -= 1
        target = promote(a.t, b.t).dtype
        test, a, b = self.align([test, self.cast(a, target), self.cast(b, target)], t)
        if not test.vec:
            if a.vec != b.vec:
                # Both arms must be per-env arrays, or the result's kind depends on `test`.
                a, b = self._spread(a, scope), self._spread(b, scope)
            code = f"({a.code}) if ({test.code}) else ({b.code})"
            return V(code, a.vec, t, a.dtype if a.vec else b.dtype)
        return V(
            f"np.where({test.code}, {a.code}, {b.code})",
            True,
            t,
            self.result_dtype(np.where, V("", True, T("bool"), "bool"), a, b),
        )

    def _spread(self, value: V, scope: Scope) -> V:
        """A uniform value as a fresh per-env array (one copy per env)."""
        if value.vec:
            return value
        shape = value.t.shape
        if shape is None or None in shape:
            raise Unsupported("a uniform value of unknown shape where per-env values are needed")
        dims = "".join(f", {d}" for d in shape)
        dtype = self.vec_dtype(value.t)
        code = f"np.full(({scope.n}{dims}), {value.code}, dtype={np_dtype(dtype)})"
        return V(code, True, value.t, dtype)

    def _List(self, node: ast.List | ast.Tuple, scope: Scope, mask: str | None) -> V:
        t = self.type_of(node)
        values = [self.expr(e, scope, mask) for e in node.elts]
        dtype = self.vec_dtype(t) if t.is_numeric else "float64"
        values = [self.cast(v, dtype) for v in values]
        inner = ", ".join(v.code for v in values)
        if all(v.t.is_scalar for v in values):
            code = f"np.stack(np.broadcast_arrays({inner}), axis=-1).astype({np_dtype(dtype)})"
        else:
            code = f"np.stack(np.broadcast_arrays({inner}), axis=1).astype({np_dtype(dtype)})"
        return V(code, True, T(dtype, t.shape), dtype)

    _Tuple = _List

    def _Subscript(self, node: ast.Subscript, scope: Scope, mask: str | None) -> V:
        t = self.type_of(node)
        base = self.expr(node.value, scope, mask)
        index, fancy = self.index(node, base, scope, mask)
        if fancy and not base.vec:
            base = V(f"np.asarray({base.code})", False, base.t)
        return V(f"({base.code})[{index}]", True, t, base.dtype if base.vec else self.vec_dtype(t))

    def index(
        self, node: ast.Subscript, base: V, scope: Scope, mask: str | None
    ) -> tuple[str, bool]:
        """The index expression for `node` on a batched (or uniform) base; and if fancy."""
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        shape = base.t.shape
        if shape is None:
            raise Unsupported(f"indexing `{ast.unparse(node.value)}` of unknown rank")
        out: list[str] = []
        fancy = False
        for axis, part in enumerate(parts):
            if isinstance(part, ast.Slice):
                if (
                    part.lower is not None
                    and self.is_vec(part.lower, scope)
                    or (part.upper is not None and self.is_vec(part.upper, scope))
                    or (part.step is not None and self.is_vec(part.step, scope))
                ):
                    raise Unsupported("a slice with per-env bounds")
                out.append(self.single.expr(part))
                continue
            value = self.expr(part, scope, mask)
            if value.vec:
                if not value.t.is_scalar:
                    raise Unsupported("indexing with a per-env array")
                fancy = True
                size = f"np.shape({base.code})[{axis + (1 if base.vec else 0)}]"
                code = value.code if value.dtype != "bool" else f"({value.code}).astype(np.int64)"
                out.append(f"np.clip({code}, -{size}, {size} - 1)")
            else:
                out.append(value.code)
        if base.vec:
            out.insert(0, "_ar" if fancy else ":")
            if fancy:
                self.need_arange(scope)
        return ", ".join(out), fancy

    def need_arange(self, scope: Scope) -> None:
        line = f"_ar = np.arange({scope.n})"
        if line not in scope.prelude:
            scope.prelude.append(line)

    def _Call(self, node: ast.Call, scope: Scope, mask: str | None) -> V:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        t = self.type_of(node)
        if name in self.model.functions:
            return self.function_call(node, scope, mask)
        builtin = BUILTINS[name]
        if name == "option":  # reset(options=...) is one mapping for every env reset by it
            key, default = (self.expr(a, scope, mask) for a in node.args)
            if key.vec or default.vec:
                raise Unsupported("option() with a per-env default")
            return V(f"_rt.option(options, {key.code}, {default.code})", False, t)
        if builtin.random:
            return self.draw(node, scope, mask)
        if builtin.sequence:
            return self.join(node, scope, mask)
        args = {}
        for param, arg in zip(builtin.params, node.args, strict=False):
            args[param] = arg
        for keyword in node.keywords:
            assert keyword.arg is not None
            args[keyword.arg] = keyword.value
        if builtin.variadic:
            items = [self.expr(a, scope, mask) for a in node.args]
            if len(items) == 1:
                x = items[0]
                if x.t.is_scalar:
                    return x
                axes = self.element_axes(x)
                if "axis" in args:
                    axes = self.batch_axis(args["axis"], x)
                fn = "np.min" if name == "min" else "np.max"
                dtype = x.dtype if x.dtype != "bool" else "int64"
                return V(f"{fn}({self.cast(x, dtype).code}, axis={axes})", True, t, dtype)
            target = promote(*[i.t for i in items]).dtype
            if scope.retype and all(i.t.is_scalar for i in items):
                t = promote(*[i.t for i in items])
            items = self.align([self.cast(i, target) for i in items], t)
            fn = "np.minimum" if name == "min" else "np.maximum"
            code = items[0].code
            for other in items[1:]:
                code = f"{fn}({code}, {other.code})"
            return V(code, True, t, self.result_dtype(_maximum, *items))
        values = {k: self.expr(v, scope, mask) for k, v in args.items()}
        if name in _RISKY_CALLS and (mask is not None or self.arms):
            self.risky = True
        if name in _MATH or name in _MATH2:
            items = list(values.values())
            scalar = all(i.t.is_scalar for i in items)
            if scalar:
                items = [self.cast(i, "float64") if i.vec else i for i in items]
                fn = self.exact_fn(name)
            else:
                if name == "pow":
                    items[0] = (
                        self.cast(items[0], "float64")
                        if items[0].vec
                        else V(f"np.asarray({items[0].code}, dtype=np.float64)", False, items[0].t)
                    )
                items = self.align(items, t)
                fn = f"np.{name}"
            code = f"{fn}({', '.join(i.code for i in items)})"
            dtype = "float64" if scalar else self.result_dtype(getattr(np, name), *items)
            return V(code, True, t, dtype)
        if name in ("floor", "ceil", "round"):
            x = values["x"]
            if x.t.is_scalar:
                x = self.cast(x, "float64")
            fn = {"floor": "np.floor", "ceil": "np.ceil", "round": "np.round"}[name]
            code = f"{fn}({x.code})"
            if x.t.is_scalar:
                # The single env's float(math.floor(x)) is never -0.0; np.floor(-0.5) is.
                # Adding +0.0 turns -0.0 into 0.0 and leaves every other value as it is.
                code = f"{code} + 0.0"
            return V(code, True, t, x.dtype if x.dtype.startswith("float") else "float64")
        if name == "abs":
            x = values["x"]
            return V(f"np.abs({x.code})", True, t, x.dtype)
        if name == "square":
            x = values["x"]
            if x.dtype == "bool":
                x = self.cast(x, "int64")
            return V(f"np.square({x.code})", True, t, x.dtype)
        if name == "sign":
            x = values["x"]
            if x.t.is_scalar:
                return V(f"({x.code} > 0).astype(np.float64) - ({x.code} < 0)", True, t, "float64")
            return V(
                f"np.sign({x.code}) * 1.0",
                True,
                t,
                x.dtype if x.dtype.startswith("float") else "float64",
            )
        if name == "clip":
            items = [values["x"], values["low"], values["high"]]
            target = promote(*[i.t for i in items]).dtype
            x, low, high = self.align([self.cast(i, target) for i in items], t)
            code = f"np.minimum(np.maximum({x.code}, {low.code}), {high.code})"
            return V(code, True, t, self.result_dtype(_maximum, x, low, high))
        if name == "where":
            a, b = values["a"], values["b"]
            target = promote(a.t, b.t).dtype
            cond, a, b = self.align([values["cond"], self.cast(a, target), self.cast(b, target)], t)
            return V(
                f"np.where({cond.code}, {a.code}, {b.code})",
                True,
                t,
                self.result_dtype(np.where, cond, a, b),
            )
        if name in ("int", "float", "bool") or name in NUMERIC:  # the casts
            x = values["x"]
            dtype = {"int": "int64", "float": "float64"}.get(name, name)
            return V(f"np.asarray({x.code}).astype({np_dtype(dtype)})", True, t, dtype)
        if name in ("sum", "mean", "prod", "any", "all", "count_nonzero"):
            x = values["x"]
            if not x.vec:
                raise Unsupported(f"{name}() of a uniform value")
            axes = self.element_axes(x)
            if "axis" in args:
                axes = self.batch_axis(args["axis"], x)
            fn = f"np.{name}"
            sample = getattr(np, name)(np.ones((1, 2), dtype=x.dtype), axis=1)
            return V(f"{fn}({x.code}, axis={axes})", True, t, sample.dtype.name)
        if name in ("argmax", "argmin") and "axis" in args:
            x = values["x"]
            axis = self.batch_axis(args["axis"], x)
            return V(f"np.{name}({x.code}, axis={axis})", True, t, "int64")
        if name == "norm" and "axis" in args:
            x = values["x"]
            code = f"np.linalg.norm({x.code}, axis={self.batch_axis(args['axis'], x)})"
            return V(code, True, t, self.result_dtype(np.linalg.norm, x))
        if name == "ravel":
            x = values["x"]
            return V(f"_rt.reshape_rows({x.code}, -1)", True, t, x.dtype)
        if name == "reshape":
            x, shape = values["x"], values["shape"]
            if shape.vec:
                raise Unsupported("reshape() to a per-env shape")
            return V(f"_rt.reshape_rows({x.code}, {shape.code})", True, t, x.dtype)
        if name == "roll":
            x, shift = values["x"], values["shift"]
            if shift.vec:
                raise Unsupported("roll() by a per-env shift")
            if "axis" in args:
                code = f"np.roll({x.code}, {shift.code}, axis={self.batch_axis(args['axis'], x)})"
            else:
                code = f"_rt.roll_rows({x.code}, {shift.code})"
            return V(code, True, t, x.dtype)
        if name == "array":
            x = values["x"]
            return V(f"np.array({x.code}, dtype={np_dtype(t.dtype)})", True, t, t.dtype)
        if name == "flatnonzero":
            raise Unsupported("flatnonzero() of per-env values (its length differs per env)")
        if name == "eye":
            raise Unsupported("eye() of a per-env size")
        if name in ("argmax", "argmin", "cumsum"):
            x = values["x"]
            flat = f"({x.code}).reshape({scope.n}, -1)"
            dtype = "int64" if name != "cumsum" else self.result_dtype(np.cumsum, x)
            return V(f"np.{name}({flat}, axis=1)", True, t, dtype)
        if name == "len":
            x = values["x"]
            return V(f"({x.code}).shape[1]", False, t)
        if name in ("dot", "norm"):
            items = list(values.values())
            fn = "np.dot" if name == "dot" else "np.linalg.norm"
            rows = ", ".join(f"{i.code}" if i.vec else f"_rep({i.code})" for i in items)
            if any(not i.vec for i in items):
                raise Unsupported(f"{name}() mixing per-env and uniform arrays")
            code = f"np.array([{fn}(*row) for row in zip({rows}, strict=True)])"
            return V(code, True, t, self.vec_dtype(t))
        raise Unsupported(f"{name}() on per-env values")

    def batch_axis(self, node: ast.expr, x: V) -> str:
        """The axis of the batched `x` that the element axis `node` (a literal) is."""
        shape = x.t.shape
        if shape is None:
            raise Unsupported("a reduction over an array of unknown rank")
        axis = ast.literal_eval(node) % len(shape)
        return str(axis + 1 if x.vec else axis)

    def join(self, node: ast.Call, scope: Scope, mask: str | None) -> V:
        """concatenate()/stack() of a list of arrays, some per env: uniform ones repeated."""
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        builtin = BUILTINS[name]
        t = self.type_of(node)
        if t.shape is None:
            raise Unsupported(f"{name}() of arrays of unknown rank")
        sequence = _argument(node, builtin.params, "arrays")
        assert isinstance(sequence, (ast.List, ast.Tuple))
        dtype = t.dtype
        items = []
        for element in sequence.elts:
            value = self.expr(element, scope, mask)
            if not value.vec:
                code = value.code
                if value.t.weak:
                    code = f"np.asarray({code}, dtype={np_dtype(self.vec_dtype(value.t))})"
                value = V(
                    f"np.broadcast_to({code}, ({scope.n}, *np.shape({code})))",
                    True,
                    value.t,
                    self.vec_dtype(value.t),
                )
            items.append(self.cast(value, dtype))
        axis_node = _argument(node, builtin.params, "axis")
        axis = 0 if axis_node is None else ast.literal_eval(axis_node) % len(t.shape)
        inner = ", ".join(i.code for i in items)
        return V(f"np.{name}([{inner}], axis={axis + 1})", True, t, dtype)

    def function_call(self, node: ast.Call, scope: Scope, mask: str | None) -> V:
        """A spec function on per-env values: the single env's own method, once per env."""
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        variant = function_variant(self.model, node)
        if variant is not None and variant.random:
            raise Unsupported(f"the spec function '{name}' draws random numbers")
        method = function_method(self.model, node)
        self.functions.add(method)
        t = self.type_of(node)
        if not t.is_numeric:
            raise Unsupported(f"the spec function '{name}' returns {t.describe()}")
        args, kinds = [], []
        for arg in node.args:
            value = self.expr(arg, scope, mask)
            if not value.vec:
                kinds.append(0)
            elif not value.t.is_scalar:
                kinds.append(3)
            elif value.t.weak:
                kinds.append(1)
            else:
                value = self.cast(value, value.t.dtype)
                kinds.append(2)
            args.append(value.code)
        dtype = self.vec_dtype(t)
        code = (
            f"_per_env(self._functions.{method}, {scope.n}, [{', '.join(args)}], "
            f"{literal(tuple(kinds))}, {np_dtype(dtype)})"
        )
        return V(code, True, t, dtype)

    def element_axes(self, x: V) -> str:
        shape = x.t.shape
        if shape is None:
            raise Unsupported("a reduction over an array of unknown rank")
        axes = tuple(range(1, len(shape) + 1))
        return repr(axes)

    def exact_fn(self, name: str) -> str:
        helper = f"_{name}"
        math_name = _MATH.get(name) or _MATH2[name]
        arity = 2 if name in _MATH2 else 1
        extra = f", {arity}" if arity != 1 else ""
        np_name = {"pow": "power"}.get(name, name)  # np.pow is NumPy 2 only
        self.exact[helper] = f"{helper} = _exact(np.{np_name}, math.{math_name}{extra})"
        return helper

    def _has_draw(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and builtin.random:
                    return True
        return False

    # -- random draws

    def active(self, scope: Scope, mask: str | None) -> tuple[str, str, bool]:
        """(positions, env ids, all) of the envs that draw under `mask`."""
        if scope.kind == "step":
            if mask is None:
                return "_live_ids", "_live_ids", False
            ids = scope.temp("ids")
            scope.lines.append(f"{ids} = np.flatnonzero({mask} & _live)")
            return ids, ids, False
        if scope.kind == "reset":
            if mask is None:
                return "", "_ids", True
            pos = scope.temp("pos")
            scope.lines.append(f"{pos} = np.flatnonzero({mask})")
            return pos, f"_ids[{pos}]", False
        raise Unsupported("a random draw outside step, reset and state init")

    def draw(self, node: ast.Call, scope: Scope, mask: str | None) -> V:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        builtin = BUILTINS[name]
        t = self.type_of(node)
        args: dict[str, ast.expr] = {}
        for param, arg in zip(builtin.params, node.args, strict=False):
            args[param] = arg
        for keyword in node.keywords:
            assert keyword.arg is not None
            args[keyword.arg] = keyword.value
        size = args.pop("size", None)
        size_code = "None"
        shape: tuple[int, ...] = ()
        dynamic_shape = ""
        if size is not None:
            if self.is_vec(size, scope):
                raise Unsupported("a random draw with a per-env size")
            if t.shape is not None and all(d is not None for d in t.shape):
                shape = tuple(t.shape)  # type: ignore[arg-type]
                size_code = repr(shape)
            else:
                # The same for every sub-env: built from params, `let`, constants, literals.
                for sub in ast.walk(size):
                    if isinstance(sub, ast.Name) and self.symbol_kind(sub) not in (
                        "param",
                        "let",
                        "constant",
                        "label",
                        None,
                    ):
                        raise Unsupported(
                            "a random draw whose size depends on "
                            f"'{sub.id}' ({self.symbol_kind(sub)})"
                        )
                    if isinstance(sub, ast.Call) and not (
                        isinstance(sub.func, ast.Name)
                        and sub.func.id in BUILTINS
                        and not BUILTINS[sub.func.id].random
                    ):
                        raise Unsupported("a random draw whose size calls a function")
                size_code = scope.temp("size")
                scope.lines.append(f"{size_code} = _size({self.single.expr(size)})")
                shape = ()
                dynamic_shape = size_code
        elif t.shape:
            # No size, array arguments: the draw has their broadcast shape (the IR's).
            if not all(isinstance(d, int) for d in t.shape):
                raise Unsupported(f"{name}() with array arguments of unknown shape")
            shape = tuple(t.shape)  # type: ignore[arg-type]
        positions, envs, everyone = self.active(scope, mask)
        kwargs = []
        per_env = []
        for key, arg in args.items():
            value = self.expr(arg, scope, mask)
            if value.vec:
                if not value.t.is_scalar:
                    raise Unsupported(f"{name}() with a per-env array argument")
                if value.t.kind in ("int", "float") and not (
                    value.t.weak or T(value.dtype).kind == value.t.kind
                ):
                    pass
                code = value.code if everyone else f"({value.code})[{positions}]"
                kwargs.append(f"{literal(key)}: {code}")
                per_env.append(key)
            else:
                kwargs.append(f"{literal(key)}: {value.code}")
        dtype = self.vec_dtype(T(t.dtype, ())) if t.is_numeric else "float64"
        call = (
            f"self._streams.draw({envs}, {literal(name)}, {{{', '.join(kwargs)}}}"
            f"{', per_env=' + literal(tuple(per_env)) if per_env else ''}"
            f"{', size=' + size_code if size is not None else ''}"
            f"{', dtype=' + np_dtype(dtype) if dtype != 'float64' else ''})"
        )
        if everyone:
            return V(call, True, t, dtype)
        out = scope.temp("draw")
        full = f"({scope.n},)" if not shape else f"({scope.n}, {', '.join(map(str, shape))})"
        if dynamic_shape:
            full = f"({scope.n}, *{dynamic_shape})"
        scope.lines.append(f"{out} = np.zeros({full}, dtype={np_dtype(dtype)})")
        scope.lines.append(f"{out}[{positions}] = {call}")
        return V(out, True, t, dtype)

    # -- statements

    def block(self, stmts: list[ast.stmt], scope: Scope, mask: str | None) -> None:
        for stmt in stmts:
            try:
                self.statement(stmt, scope, mask)
            except Unsupported as exc:
                exc.node = exc.node or stmt
                raise

    def statement(self, stmt: ast.stmt, scope: Scope, mask: str | None) -> None:
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            if isinstance(target, (ast.Tuple, ast.List)):
                self.unpack(target, stmt.value, scope, mask)
                return
            value = self.expr(stmt.value, scope, mask)
            self.assign(target, value, scope, mask)
            return
        if isinstance(stmt, ast.AugAssign):
            op = _BINOP.get(type(stmt.op))
            if op is None:
                raise Unsupported("matrix products on per-env values")
            current = self.read_target(stmt.target, scope, mask)
            value = self.expr(stmt.value, scope, mask)
            try:
                t = binary_result(current.t, value.t, true_divide=op == "/")
            except ValueError as exc:
                raise Unsupported(str(exc)) from None
            self.assign(stmt.target, self.binop(current, value, op, t), scope, mask)
            return
        if isinstance(stmt, ast.If):
            self.if_(stmt, scope, mask)
            return
        if isinstance(stmt, ast.For):
            assert isinstance(stmt.target, ast.Name) and isinstance(stmt.iter, ast.Call)
            for arg in stmt.iter.args:
                if self.is_vec(arg, scope):
                    raise Unsupported("a loop whose bound depends on state")
            args = ", ".join(self.single.expr(a) for a in stmt.iter.args)
            scope.lines.append(f"for {stmt.target.id} in range({args}):")
            start = len(scope.lines)
            before = set(scope.vec_names)
            self.block(stmt.body, scope, mask)
            # a second pass if the body made a name per-env that it reads before assigning
            if scope.vec_names != before:
                del scope.lines[start:]
                self.block(stmt.body, scope, mask)
            body = scope.lines[start:]
            del scope.lines[start:]
            scope.lines.extend(INDENT + line for line in body or ["pass"])
            return
        raise Unsupported(f"the statement `{ast.unparse(stmt)}`")

    def _copy_facts(self, original: ast.AST, clone: ast.AST) -> None:
        for new, old in zip(ast.walk(clone), ast.walk(original), strict=False):
            if id(old) in self.model.symbols:
                self.model.symbols[id(new)] = self.model.symbols[id(old)]
            if id(old) in self.model.types:
                self.model.types[id(new)] = self.model.types[id(old)]
        if isinstance(clone, ast.Name) and id(clone) not in self.model.types:
            symbol = self.model.symbols.get(id(original))
            if symbol is not None:
                self.model.types[id(clone)] = symbol.type

    def unpack(
        self, target: ast.Tuple | ast.List, value_node: ast.expr, scope: Scope, mask: str | None
    ) -> None:
        if isinstance(value_node, (ast.Tuple, ast.List)) and len(value_node.elts) == len(
            target.elts
        ):
            values = [self.expr(v, scope, mask) for v in value_node.elts]
            temps = []
            for value in values:
                temp = scope.temp("v")
                scope.lines.append(f"{temp} = {value.code}")
                temps.append(V(temp, value.vec, value.t, value.dtype))
            for sub, value in zip(target.elts, temps, strict=True):
                self.assign(sub, value, scope, mask)
            return
        value = self.expr(value_node, scope, mask)
        temp = scope.temp("v")
        scope.lines.append(f"{temp} = {value.code}")
        element = T(value.t.dtype, value.t.shape[1:] if value.t.shape else None)
        for i, sub in enumerate(target.elts):
            code = f"{temp}[:, {i}]" if value.vec else f"{temp}[{i}]"
            self.assign(sub, V(code, value.vec, element, value.dtype), scope, mask)

    def broadcast_mask(self, mask: str, rank: int) -> str:
        return mask if rank == 0 else f"{mask}[:, {', '.join(['None'] * rank)}]"

    def assign(self, target: ast.expr, value: V, scope: Scope, mask: str | None) -> None:
        if isinstance(target, ast.Name):
            name = target.id
            kind = self.symbol_kind(target)
            is_state = kind == "state"
            if is_state:
                state_t = self.model.state[name].type
                rank = len(state_t.shape or ())
                if not value.vec and mask is None:
                    shape = (
                        f"({scope.n},)"
                        if rank == 0
                        else (f"({scope.n}, {', '.join(str(d) for d in state_t.shape or ())})")
                    )
                    value = V(
                        f"np.full({shape}, {value.code}, "
                        f"dtype={np_dtype(self.vec_dtype(state_t))})",
                        True,
                        state_t,
                        self.vec_dtype(state_t),
                    )
                elif value.vec and value.t.is_scalar and rank:
                    dims = ", ".join(str(d) for d in state_t.shape or ())
                    value = V(
                        f"np.broadcast_to(({value.code})[:, {', '.join(['None'] * rank)}]"
                        f", ({scope.n}, {dims})).copy()",
                        True,
                        state_t,
                        value.dtype,
                    )
                if mask is None and value.code.isidentifier():
                    value = V(f"np.array({value.code})", True, value.t, value.dtype)
            else:
                rank = len(value.t.shape or ())
                if not value.vec and mask is None and name in scope.vec_names:
                    dims = "".join(f", {d}" for d in value.t.shape or ())
                    if value.t.shape is None or None in (value.t.shape or ()):
                        raise Unsupported(f"'{name}' holding uniform and per-env values")
                    value = V(
                        f"np.broadcast_to({value.code}, ({scope.n}{dims})).copy()",
                        True,
                        value.t,
                        self.vec_dtype(value.t),
                    )
            if not is_state and value.vec and value.t.is_scalar and value.code.endswith("]"):
                # The single env holds a copy of an element (a NumPy scalar); here the
                # same read is a view of a column, which later writes would change.
                value = V(f"({value.code}).copy()", True, value.t, value.dtype)
            if mask is None or name not in scope.defined:
                scope.lines.append(f"{name} = {value.code}")
                if value.vec and not value.code.isidentifier() and not value.code.endswith("]"):
                    scope.fresh.add(name)
                else:
                    scope.fresh.discard(name)
                scope.types[name] = value.t
                if value.vec:
                    scope.dtypes[name] = value.dtype
            else:
                cond = self.broadcast_mask(mask, rank)
                scope.lines.append(f"{name} = np.where({cond}, {value.code}, {name})")
                old_t = scope.types.get(name, value.t)
                old = V(name, True, old_t, scope.dtypes.get(name, value.dtype or "float64"))
                if not scope.retype:
                    old = V(name, True, value.t, value.dtype or "float64")
                merged = _merge_types(old_t, value.t)
                value = V(
                    name,
                    True,
                    merged,
                    self.result_dtype(np.where, V("", True, T("bool"), "bool"), value, old),
                )
                scope.types[name] = merged
                scope.dtypes[name] = value.dtype
                scope.fresh.add(name)
            scope.defined.add(name)
            if value.vec or mask is not None:
                scope.vec_names.add(name)
            return
        if isinstance(target, ast.Subscript):
            base_node = target.value
            if not isinstance(base_node, ast.Name):
                raise Unsupported("assigning into a nested subscript")
            name = base_node.id
            base_t = self.type_of(base_node)
            if id(base_node) not in self.model.types:
                symbol = self.model.symbols.get(id(base_node))
                base_t = symbol.type if symbol is not None else base_t
            vec_base = self.symbol_kind(base_node) == "state" or name in scope.vec_names
            if not vec_base and (value.vec or mask is not None or self.is_vec(target.slice, scope)):
                shape = base_t.shape
                if shape is None:
                    raise Unsupported(f"assigning into '{name}' of unknown shape per env")
                scope.lines.append(
                    f"{name} = np.broadcast_to({name}, ({scope.n}, *np.shape({name}))).copy()"
                )
                scope.vec_names.add(name)
                vec_base = True
            if not vec_base:
                scope.lines.append(f"{self.single.target(target)} = {value.code}")
                return
            base = V(name, True, base_t, self.vec_dtype(base_t))
            index, _ = self.index(target, base, scope, mask)
            element = (
                self.type_of(target) if id(target) in self.model.types else T(base_t.dtype, None)
            )
            load = f"{name}[{index}]"
            if mask is None:
                scope.lines.append(f"{load} = {value.code}")
            else:
                rank = self._rank_after_index(target, base_t)
                cond = self.broadcast_mask(mask, rank)
                scope.lines.append(f"{load} = np.where({cond}, {value.code}, {load})")
            _ = element
            return
        raise Unsupported(f"assigning to `{ast.unparse(target)}`")

    def _rank_after_index(self, target: ast.Subscript, base_t: T) -> int:
        parts = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
        rank = len(base_t.shape or ())
        for part in parts:
            if not isinstance(part, ast.Slice):
                rank -= 1
        return max(rank, 0)

    def if_(self, stmt: ast.If, scope: Scope, mask: str | None) -> None:
        test = self.expr(stmt.test, scope, mask)
        if not test.vec:
            scope.lines.append(f"if {test.code}:")
            before = set(scope.defined)
            after: set[str] | None = None
            for body, keyword in ((stmt.body, None), (stmt.orelse, "else:")):
                if keyword is not None:
                    if not body:
                        after = (after or set()) & before
                        break
                    scope.lines.append(keyword)
                scope.defined = set(before)
                start = len(scope.lines)
                self.block(body, scope, mask)
                lines = scope.lines[start:] or ["pass"]
                del scope.lines[start:]
                scope.lines.extend(INDENT + line for line in lines)
                after = set(scope.defined) if after is None else after & scope.defined
            scope.defined = before | (after or set())
            return
        cond = scope.temp("m")
        rest = scope.temp("m")
        negated = None
        if isinstance(stmt.test, ast.UnaryOp) and isinstance(stmt.test.op, ast.Not):
            inner = self.expr(stmt.test.operand, scope, mask)
            if inner.vec and inner.dtype == "bool" and inner.t.is_scalar:
                negated = inner.code
                if not negated.isidentifier():
                    negated = scope.temp("m")
                    scope.lines.append(f"{negated} = {inner.code}")
        test_code = test.code if test.dtype == "bool" else f"({test.code}).astype(bool)"
        if negated is not None:
            test_code = f"~{negated}"
        if mask is None:
            scope.lines.append(f"{cond} = {test_code}")
        else:
            scope.lines.append(f"{cond} = {mask} & ({test_code})")
        self.block(stmt.body, scope, cond)
        if not stmt.orelse:
            return
        if mask is None:
            scope.lines.append(f"{rest} = {negated}" if negated else f"{rest} = ~{cond}")
        else:
            # cond is a subset of mask, so mask & ~cond == mask ^ cond (one operation)
            scope.lines.append(f"{rest} = {mask} ^ {cond}")
        self.block(stmt.orelse, scope, rest)

    def code(self, code: Code, scope: Scope) -> V:
        assert code.expr is not None
        try:
            return self.expr(code.expr, scope, None)
        except Unsupported as exc:
            exc.node = exc.node or code.expr
            raise


# --- pieces of the class ----------------------------------------------------------------


def _check(model: EnvModel) -> list[str]:
    """Reasons the spec cannot be vectorized before translating any code."""
    reasons = []
    for space, where in ((model.action_space, "action"), (model.observation_space, "observation")):
        if _has_kind(space, {"Text", "Graph", "Sequence", "OneOf"}):
            reasons.append(f"the {where} space has a Text, Graph, Sequence or OneOf part")
    if model.action_space.kind in ("Dict", "Tuple"):
        reasons.append("the action space is a Dict or Tuple")
    for key, code in model.info.items():
        if code.type.dtype not in (
            "bool",
            "int8",
            "int16",
            "int32",
            "int64",
            "uint8",
            "float16",
            "float32",
            "float64",
        ):
            reasons.append(f"info '{key}' is not numeric")
    return reasons


def _has_kind(space: SpaceModel, kinds: set[str]) -> bool:
    return space.kind in kinds or any(_has_kind(c, kinds) for _, c in space.children)


def _draws(model: EnvModel) -> set[str]:
    names: set[str] = set()
    codes: list[Code] = [model.step, model.reset] + [s.init for s in model.state.values()]
    for code in codes:
        nodes = list(code.stmts) + ([code.expr] if code.expr is not None else [])
        for node in nodes:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                    builtin = BUILTINS.get(sub.func.id)
                    if builtin is not None and builtin.random:
                        names.add(sub.func.id)
    return names


def _observation(
    obs: ObservationModel,
    vt: VectorTranslator,
    scope: Scope,
    path: str = "self.single_observation_space",
) -> str:
    space = obs.space
    kind = space.kind
    if kind == "Dict":
        items = ", ".join(
            f"{literal(k)}: {_observation(c, vt, scope, f'{path}[{literal(k)}]')}"
            for k, c in obs.children
        )
        return f"{{{items}}}"
    if kind == "Tuple" and obs.children:
        items = ", ".join(
            _observation(c, vt, scope, f"{path}[{i}]") for i, (_, c) in enumerate(obs.children)
        )
        return f"({items},)"
    assert obs.code is not None
    n = scope.n
    dtype = {
        "Box": space.dtype,
        "Discrete": "int64",
        "MultiDiscrete": "int64",
        "MultiBinary": "int8",
    }[kind]
    shape = space.shape or ()
    dynamic = any(d is None for d in shape)
    expr = obs.code.expr
    if (
        not dynamic
        and isinstance(expr, ast.List)
        and all(vt.type_of(e).is_scalar for e in expr.elts)
    ):
        name = scope.temp("obs")
        scope.lines.append(f"{name} = np.empty(({n}, {len(expr.elts)}), dtype={np_dtype(dtype)})")
        for i, element in enumerate(expr.elts):
            value = vt.expr(element, scope, None)
            scope.lines.append(f"{name}[:, {i}] = {value.code}")
        return name
    value = vt.code(obs.code, scope)
    full = f"({n}, {', '.join(str(d) for d in shape)})" if shape else f"({n},)"
    if dynamic:
        full = f"({n}, *{path}.shape)"
    if not value.vec:
        return f"np.full({full}, {value.code}, dtype={np_dtype(dtype)})"
    return f"np.array({value.code}, dtype={np_dtype(dtype)}).reshape({full})"


def _fusable(model: EnvModel, name: str) -> str | None:
    """A key for a scalar float64 state whose init is one plain random()/uniform() draw."""
    state = model.state[name]
    expr = state.init.expr
    if not (state.type.is_scalar and state.type.dtype == "float64"):
        return None
    if not (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id in _BUFFERED
        and not expr.keywords
        and len(expr.args) <= 2
    ):
        return None
    if expr.func.id == "random" and expr.args:
        return None
    if not all(_same_for_every_env(model, a) for a in expr.args):
        return None
    return ast.unparse(expr)


def _same_for_every_env(model: EnvModel, node: ast.expr) -> bool:
    """Whether an expression has one value for every env a reset touches: literals, params,
    `let` values, constants and `option(...)` (the reset's options are shared)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            if not (isinstance(sub.func, ast.Name) and sub.func.id == "option"):
                return False
        elif isinstance(sub, ast.Name):
            if sub.id == "option":
                continue
            symbol = model.symbols.get(id(sub))
            if symbol is None or symbol.kind not in ("param", "let", "const", "label", "constant"):
                return False
    return True


def _state_inits(model: EnvModel, vt: VectorTranslator, scope: Scope) -> None:
    """State initial values in order; runs of identical scalar draws become one sized draw.

    `uniform(a, b)` four times in a row consumes each env's stream exactly as
    `uniform(a, b, size=4)` does, so the run is drawn at once and split into columns.
    """
    names = list(model.state)
    i = 0
    while i < len(names):
        key = _fusable(model, names[i])
        j = i + 1
        while key is not None and j < len(names) and _fusable(model, names[j]) == key:
            j += 1
        if j - i > 1:
            expr = model.state[names[i]].init.expr
            assert isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            args = dict(
                zip(("low", "high"), (tidy(vt.single.expr(a)) for a in expr.args), strict=False)
            )
            block = scope.temp("draws")
            scope.lines.append(
                f"{block} = self._streams.uniform(_ids, {args.get('low', '0.0')}, "
                f"{args.get('high', '1.0')}, {j - i})"
            )
            for column, name in enumerate(names[i:j]):
                scope.lines.append(f"{name} = {block}[:, {column}]")
                scope.types[name] = vt.type_of(expr)
                scope.dtypes[name] = "float64"
                scope.defined.add(name)
                scope.vec_names.add(name)
            i = j
            continue
        _state_init(names[i], model, vt, scope)
        i += 1


def _state_init(name: str, model: EnvModel, vt: VectorTranslator, scope: Scope) -> None:
    state = model.state[name]
    t = state.type
    value = vt.code(state.init, scope)
    dtype = vt.vec_dtype(t)
    if t.is_scalar:
        full = f"({scope.n},)"
        if value.vec:
            code = value.code
            if value.dtype != dtype:
                code = f"({code}).astype({np_dtype(dtype)})"
        elif model.reset.stmts:
            code = f"np.full({full}, {value.code}, dtype={np_dtype(dtype)})"
        else:  # nothing reads it as an array: `self.name[ids] = value` broadcasts it
            code = value.code
    else:
        dims = ", ".join(vt.single.expr(c.expr) for c in state.shape if c.expr is not None)
        full = f"({scope.n}, {dims})"
        if value.vec:
            inner = value.code
            if value.t.is_scalar:
                inner = f"({inner})[:, {', '.join(['None'] * len(state.shape))}]"
            code = f"np.broadcast_to({inner}, {full}).astype({np_dtype(dtype)})"
        else:
            code = tidy(
                f"np.broadcast_to(np.asarray({value.code}, dtype={np_dtype(dtype)}), {full}).copy()"
            )
    scope.lines.append(f"{name} = {code}")
    scope.types[name] = value.t if value.t.is_numeric else t
    scope.dtypes[name] = dtype
    scope.defined.add(name)
    scope.vec_names.add(name)


def _drop_dead_masks(lines: list[str]) -> list[str]:
    """Drop `_mN = ...` mask temporaries that nothing reads (side-effect free)."""
    while True:
        text = "\n".join(lines)
        dead = None
        for i, line in enumerate(lines):
            match = re.match(r"\s*(_m\d+) = ", line)
            if match and len(re.findall(rf"\b{match.group(1)}\b", text)) == 1:
                dead = i
                break
        if dead is None:
            return lines
        lines = lines[:dead] + lines[dead + 1 :]


def _literal_lets(model: EnvModel) -> dict[str, str]:
    """`let` values that are plain number literals: spelled inline instead of `self.name`."""
    out = {}
    for name, code in model.lets.items():
        expr = code.expr
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
            expr = expr.operand
            sign = "-"
        else:
            sign = ""
        if isinstance(expr, ast.Constant) and type(expr.value) in (int, float):
            text = f"{sign}{expr.value!r}"
            out[name] = f"({text})" if sign else text
    return out


def _fold_lets(lines: list[str], lets: dict[str, str]) -> list[str]:
    if not lets:
        return lines
    pattern = re.compile(r"\bself\.(" + "|".join(map(re.escape, lets)) + r")\b(?!\s*=[^=])")
    return [pattern.sub(lambda m: lets[m.group(1)], line) for line in lines]


def _tidy_lines(lines: list[str]) -> list[str]:
    if not lines:
        return []
    return tidy_block(_drop_dead_masks(lines))


def _action_check(model: EnvModel) -> list[str]:
    space = model.action_space
    kind = space.kind
    lines = [
        "_n = self.num_envs",
    ]
    if kind == "Discrete":
        tr = Translator(model)
        n = tidy(tr.code(space.args["n"]))
        start = tidy(tr.code(space.args["start"])) if "start" in space.args else "0"
        lines += [
            "action = np.asarray(actions)  # never written into",
            "if action.dtype != np.int64:",
            "    if action.dtype.kind in 'iu' or (action.dtype.kind == 'f' and np.all(action == "
            "np.floor(action))):",
            "        action = action.astype(np.int64)",
            "# one reduction: negative values are huge as uint64",
            f"if action.shape != (_n,) or action.dtype != np.int64 or ("
            f"{'(action - ' + start + ')' if start != '0' else 'action'}.view(np.uint64).max() "
            f">= {n}):",
            "    action = self._fix_actions(actions)",
            "return action",
        ]
        return lines
    dtype = {"Box": np_dtype(space.dtype), "MultiDiscrete": "np.int64", "MultiBinary": "np.int8"}[
        kind
    ]
    lines += [
        "action = np.asarray(actions)",
        "_shape = (_n, *self.single_action_space.shape)",
        "if action.shape != _shape or not self.action_space.contains(action.astype("
        f"{dtype}, copy=False)):",
        "    action = self._fix_actions(actions)",
        f"return np.array(action, dtype={dtype})",
    ]
    return lines


@dataclass
class _Parts:
    init: list[str]
    step: list[str]
    reset_envs: list[str]
    observe: list[str]
    info: list[str]
    render: list[tuple[str, str]]  # (state variable, how to hand it to the single env)
    check_actions: list[str]
    module_lines: list[str]
    methods: list[str]
    kernel: list[str]  # module-level jitted functions (empty: no kernel)


def emit_vector_env(model: EnvModel, source_name: str) -> tuple[str, str] | None:
    """The module `<module>_vector` with a native VectorEnv for `model`, or None (with a note)."""
    if model.vector_notes:
        return None
    reasons = _check(model)
    if reasons:
        model.vector_notes.extend(reasons)
        return None
    try:
        parts = _build(model)
    except Unsupported as exc:
        found = model.find_name("", exc.node) if exc.node is not None else None
        where = ""
        if found is not None and hasattr(found[1], "lineno"):
            code, node = found
            where = f"{model.document.code_location(code.path, node.lineno, node.col_offset)}: "
        model.vector_notes.append(f"{where}the vector backend does not support {exc}")
        return None
    return _render_module(model, source_name, parts)


_RISKY_OPS = {"/", "//", "%", "**"}
_RISKY_CALLS = {
    "sqrt",
    "log",
    "log2",
    "log10",
    "arcsin",
    "arccos",
    "pow",
    "exp",
    "cosh",
    "sinh",
    "tan",
}


def _repeat(code: str, n: str, t: T, dtype: str) -> str:
    """A value the same for every env as a batch of `n` copies (an array value: n rows)."""
    if t.is_scalar:
        return f"np.full(({n},), {code}, dtype={np_dtype(dtype)})"
    return f"np.array(np.broadcast_to({code}, ({n}, *np.shape({code}))), dtype={np_dtype(dtype)})"


def _scalar_float_key(model: EnvModel, types: dict[str, T]) -> tuple[tuple[str, bool], ...]:
    """The run-time (dtype, weak) of each scalar float state variable, as a comparable key."""
    key = []
    for name, state in model.state.items():
        if state.type.is_scalar and state.type.kind == "float":
            t = types.get(name, state.type)
            key.append((t.dtype, t.weak))
    return tuple(key)


@dataclass
class _StepCode:
    lines: list[str]  # the dynamics (state read into locals ... terminated, reward)
    info: list[tuple[str, str]]  # step-only info key -> code
    end: dict[str, T]  # the state's types at the end of the step
    dtypes: dict[str, str]  # the state's array dtypes at the end of the step


def _translate_step(
    model: EnvModel, vt: VectorTranslator, entry: dict[str, T], retype: bool
) -> _StepCode:
    scope = Scope("step", "_n", "self._all_ids")
    scope.live = "_live"
    scope.retype = retype
    for name, state in model.state.items():
        scope.lines.append(f"{name} = self.{name}")
        scope.defined.add(name)
        scope.vec_names.add(name)
        scope.types[name] = entry[name]
        scope.dtypes[name] = vt.vec_dtype(state.type)
    vt.block(model.step.stmts, scope, None)
    end = {name: scope.types.get(name, entry[name]) for name in model.state}
    dtypes = {name: scope.dtypes.get(name, vt.vec_dtype(s.type)) for name, s in model.state.items()}
    term = vt.code(model.terminated, scope)
    rew = vt.code(model.reward, scope)
    outputs = [term.code, rew.code]
    info: list[tuple[str, str]] = []
    for key, code in model.info.items():
        if key in model.reset_info:
            continue
        value = vt.code(code, scope)
        dtype = vt.vec_dtype(code.type)
        c = value.code
        if not value.vec:
            c = _repeat(c, "_n", code.type, dtype)
        else:
            c = f"np.asarray({c}, dtype={np_dtype(dtype)})"  # mask_info copies it
        info.append((key, c))

    # terminated / reward are written into (autoreset), so they must not share memory
    # with the state or with each other: copy unless the value is a fresh array.
    def fresh(code: str) -> bool:
        if code.isidentifier():
            return code in scope.fresh and code not in model.state and outputs.count(code) == 1
        return not code.endswith("]")

    if not term.vec:
        term_code = f"np.full((_n,), bool({term.code}))"
    elif fresh(term.code) and term.dtype == "bool":
        term_code = term.code
    else:
        term_code = f"np.array({term.code}, dtype=np.bool_)"
    scope.lines.append(f"terminated = {term_code}")
    if not rew.vec:
        rew_code = f"np.full((_n,), float({rew.code}))"
    elif fresh(rew.code) and rew.dtype == "float64":
        rew_code = rew.code
    else:
        rew_code = f"np.array({rew.code}, dtype=np.float64)"
    scope.lines.append(f"reward = {rew_code}")
    return _StepCode(scope.prelude + scope.lines, info, end, dtypes)


def _step_dynamics(
    model: EnvModel, vt: VectorTranslator, rscope: Scope
) -> tuple[list[str], list[str], list[str], bool]:
    """Lines of `step` that run the dynamics, lines that collect step info, extra methods.

    The state's run-time types may differ between the first step after a reset and the
    later ones (a reset that stores NumPy float64 scalars, a step that stores float32
    ones): then the dynamics are translated twice, for each entry type, and each env runs
    the variant its types call for (see docs/vectorization.md).
    """
    declared = {name: s.type for name, s in model.state.items()}
    reset_end = {name: rscope.types.get(name, declared[name]) for name in model.state}
    for name in list(reset_end):
        if not (declared[name].is_scalar and declared[name].kind == "float"):
            reset_end[name] = declared[name]
    key = functools.partial(_scalar_float_key, model)
    retype = key(reset_end) != key(declared)
    vt.risky = False
    first = _translate_step(model, vt, reset_end, retype)
    variants = [first]
    if key(first.end) != key(reset_end):
        if _draws_in(model.step):
            raise Unsupported(
                "state whose types change after the first step, with random draws in step"
            )
        later_entry = {
            **reset_end,
            **{
                n: t
                for n, t in first.end.items()
                if declared[n].is_scalar and declared[n].kind == "float"
            },
        }
        later = _translate_step(model, vt, later_entry, True)
        if key(later.end) != key(later_entry):
            raise Unsupported("state whose run-time types keep changing from step to step")
        variants.append(later)
    state_names = list(model.state)
    guard = ['with np.errstate(all="ignore"):'] if vt.risky else []
    pad = INDENT if vt.risky else ""
    writes = []
    for name, state in model.state.items():
        storage = vt.vec_dtype(state.type)
        if any(v.dtypes[name] != storage for v in variants):
            writes.append(f"self.{name} = np.asarray({name}, dtype={np_dtype(storage)})")
        else:
            writes.append(f"self.{name} = {name}")
    if state_names:
        args = ", ".join(f"{n}={n}" for n in state_names)
        writes += ["if self.check_state:", f"    _rt.check_finite(ID, {args})"]
    if len(variants) == 1:
        body = guard + [pad + line for line in _tidy_lines(variants[0].lines)]
        info = [f"_step_info[{literal(k)}] = {c}" for k, c in variants[0].info]
        return body + writes, _tidy_lines(info), [], bool(info)
    text = "\n".join("\n".join(v.lines) + "\n".join(c for _, c in v.info) for v in variants)
    params = ["action", "_n"]
    if re.search(r"\b_elapsed\b", text):
        params.append("_elapsed")
    if re.search(r"\b_live(_ids)?\b", text):
        params += ["_live", "_live_ids"]
    outputs = [*state_names, "terminated", "reward"]
    methods = []
    for method, variant in zip(("_dynamics_fresh", "_dynamics"), variants, strict=True):
        info = "{" + ", ".join(f"{literal(k)}: {c}" for k, c in variant.info) + "}"
        lines = [*_tidy_lines(variant.lines), f"return {', '.join(outputs)}, {info}"]
        methods += [f"def {method}(self, {', '.join(params)}) -> Any:"]
        methods += [INDENT + line for line in guard + [pad + line for line in lines]]
        methods.append("")
    methods[1:1] = [
        f'{INDENT}"""The dynamics for envs on their first step since reset (state types differ)."""'
    ]
    call = ", ".join(params)
    body = [
        "_fresh = self._elapsed == 1",
        "if not _fresh.any():",
        f"    _out = self._dynamics({call})",
        "elif _fresh.all():",
        f"    _out = self._dynamics_fresh({call})",
        "else:",
        f"    _out = _merge(_fresh, self._dynamics_fresh({call}), self._dynamics({call}))",
        f"{', '.join(outputs)}, _step_info = _out",
    ]
    return body + writes, [], methods, bool(variants[0].info)


def _draws_in(code: Code) -> bool:
    for stmt in code.stmts:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and builtin.random:
                    return True
    return False


def _build(model: EnvModel) -> _Parts:
    draws = _draws(model)
    buffered = bool(draws) and draws <= _BUFFERED
    vt = VectorTranslator(model, buffered)
    tr = vt.single
    state_names = list(model.state)

    # __init__
    init = param_lines(model, tr)
    # `let` values that call spec functions run them on a single env made first.
    lets_call = {
        function_method(model, node)
        for code in model.lets.values()
        for node in ast.walk(code.expr)  # type: ignore[arg-type]
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in model.functions
    }
    if lets_call:
        vt.functions |= lets_call
        init.insert(1, "self._functions = _SingleEnv(config, **params)  # runs spec functions")
    init.insert(1, "self._config, self._params = config, dict(params)")
    limit = tidy(tr.code(model.max_episode_steps)) if model.max_episode_steps else "None"
    init += [
        f"self.single_action_space = {tidy(_space_code(model.action_space, tr))}",
        f"self.single_observation_space = {tidy(_space_code(model.observation_space, tr))}",
        f"self.max_episode_steps = {limit}",
        "self._setup(num_envs, autoreset_mode, render_mode, max_episode_steps, "
        f"buffered={buffered})",
    ]
    for name, state in model.state.items():
        dims = "".join(f", {tr.expr(c.expr)}" for c in state.shape if c.expr is not None)
        init.append(
            f"self.{name} = np.zeros((num_envs{dims}), dtype={np_dtype(vt.vec_dtype(state.type))})"
        )

    # _reset_envs(ids): compressed over the envs being reset.
    rscope = Scope("reset", "_n", "_ids")
    rscope.lines.append("_n = len(_ids)")
    _state_inits(model, vt, rscope)
    vt.block(model.reset.stmts, rscope, None)
    reset_envs = rscope.prelude + rscope.lines
    if not any(re.search(r"\b_n\b", line) for line in reset_envs[1:]):
        reset_envs.remove("_n = len(_ids)")
    for name in state_names:
        reset_envs.append(f"self.{name}[_ids] = {name}")
    reset_envs.append("self._elapsed[_ids] = 0")
    if state_names:
        args = ", ".join(f"{n}={n}" for n in state_names)
        reset_envs += ["if self.check_state:", f"    _rt.check_finite(ID, {args})"]

    # _observe()
    oscope = Scope("observe", "self.num_envs", "self._all_ids")
    obs = _observation(model.observation, vt, oscope)
    observe = oscope.prelude + oscope.lines + [f"return {obs}"]

    # _info(info, mask): the keys the single env returns at reset (they read state only).
    iscope = Scope("observe", "self.num_envs", "self._all_ids")
    for key in model.reset_info:
        value = vt.code(model.info[key], iscope)
        dtype = vt.vec_dtype(model.info[key].type)
        code = value.code
        if not value.vec:
            code = _repeat(code, "self.num_envs", model.info[key].type, dtype)
        elif value.dtype != dtype:
            code = f"({code}).astype({np_dtype(dtype)})"
        iscope.lines.append(f"info[{literal(key)}] = _mask_info({code}, _mask)")
        iscope.lines.append(
            f"info[{literal('_' + key)}] = np.ones(self.num_envs, dtype=np.bool_) "
            "if _mask is None else _mask.copy()"
        )
    info = iscope.prelude + iscope.lines + ["return info"]

    # step: the spec's dynamics, then the autoreset bookkeeping.
    dynamics, step_info, methods_extra, has_step_info = _step_dynamics(model, vt, rscope)
    lets = _literal_lets(model)
    dynamics = _fold_lets(dynamics, lets)
    methods_extra = _fold_lets(methods_extra, lets)
    reset_envs = _fold_lets(reset_envs, lets)
    if re.search(r"\boptions\b", "\n".join(reset_envs)):
        # option() spelled as in the single env's reset(): its `options` are the reset's
        reset_envs.insert(0, "options = self._options")
    observe = _fold_lets(observe, lets)
    body_text = "\n".join(dynamics + step_info)
    uses_live = re.search(r"\b_live(_ids)?\b", body_text) is not None
    step = [
        "if self._needs_reset:",
        '    raise gym.error.ResetNeeded("step() called before reset()")',
        "action = self._check_actions(actions)",
        "_n = self.num_envs",
        "_next_step = self._next_step",
        "_resetting = self._autoreset",
    ]
    live = ["_any_reset = _next_step and bool(_resetting.any())"]
    if uses_live:
        live += [
            "_live = ~_resetting if _any_reset else self._all_true",
            "_live_ids = np.flatnonzero(_live) if _any_reset else self._all_ids",
        ]
    numpy_step = [*live, "self._elapsed += 1"]
    if re.search(r"\b_elapsed\b", body_text):
        numpy_step.append("_elapsed = self._elapsed")
    numpy_step += dynamics
    # `_step_limit`: the spec's limit, the `max_episode_steps=` given to the constructor
    # (which applies to specs without one too), or a count no episode reaches.
    numpy_step.append("truncated = self._elapsed >= self._step_limit")
    if step_info:
        numpy_step.append("_step_info: dict[str, Any] = {}")
        numpy_step += step_info
    numpy_step += [
        "if _any_reset:",
        "    _ids = np.flatnonzero(_resetting)",
        "    self._reset_envs(_ids)",
        "    reward[_ids] = 0.0",
        "    terminated[_ids] = False",
        "    truncated[_ids] = False",
        "_done = terminated | truncated",
    ]
    try:
        kernel: KernelCode | None = emit_kernel(model, buffered)
        init.append(
            f"self._choose_backend(backend, threads, math_names={literal(tuple(kernel.math))}, "
            f"draws={kernel.draws}, direct={literal(tuple(kernel.direct))}, "
            f"threadable={kernel.threadable})"
        )
    except NoKernel as exc:
        kernel = None
        init.append(
            f"self._choose_backend(backend, threads, note={literal('no kernel: ' + str(exc))})"
        )
    if kernel is None:
        if not model.reads_action:  # checked all the same: invalid actions are refused
            step[step.index("action = self._check_actions(actions)")] = (
                "self._check_actions(actions)"
            )
        step += [*numpy_step, "obs = self._observe()"]
    else:
        outputs = "_step_info" if has_step_info else "_"
        observed = "obs" if kernel.observes else "_"
        step += [
            "if self._kernel:",
            f"    {observed}, terminated, truncated, reward, {outputs}, _done, _any_reset = "
            "self._run_kernel(action, _resetting)",
            "else:",
            *(INDENT + line for line in numpy_step),
        ]
        if kernel.observes:
            step.append(f"{INDENT}obs = self._observe()")
        else:
            step.append("obs = self._observe()")
    step.append("_infos: dict[str, Any] = {}")
    if has_step_info:
        step += [
            "_stepped = ~_resetting if _any_reset else None",
            "if _stepped is None or _stepped.any():",
            "    for _key, _value in _step_info.items():",
            "        _infos[_key] = _mask_info(_value, _stepped)",
            '        _infos["_" + _key] = '
            "self._all_true.copy() if _stepped is None else _stepped.copy()",
        ]
    if model.reset_info:
        step.append("_infos = self._info(_infos, None)")
    step += [
        "if _next_step:",
        "    self._autoreset = _done",
        "elif self._same_step and _done.any():",
        "    _infos = self._final(_done, obs, _infos)",
        "    obs = self._observe()",
        "return obs, reward, terminated, truncated, _infos",
    ]
    rest = "\n".join(line for line in step if line != "_n = self.num_envs")
    if not re.search(r"\b_n\b", rest):
        step.remove("_n = self.num_envs")
    # render: each state variable, and how env i's value is handed to the single env.
    render = []
    for name, state in model.state.items():
        how = "copy"
        if state.type.is_scalar:
            how = "item" if state.type.weak else "scalar"
        render.append((name, how))

    module_lines = sorted(vt.exact.values())
    check = _action_check(model)
    methods: list[str] = list(methods_extra)
    if vt.functions:
        if not lets_call:
            init.append("self._functions = _SingleEnv(config, **params)  # runs spec functions")
        for method in sorted(vt.functions):
            methods += [
                f"def {method}(self, *_args: Any) -> Any:",
                f"    return self._functions.{method}(*_args)",
                "",
            ]
    kernel_lines: list[str] = []
    if kernel is not None:
        methods += [*kernel.method, ""]
        kernel_lines = kernel.functions
    return _Parts(
        init, step, reset_envs, observe, info, render, check, module_lines, methods, kernel_lines
    )


def _render_module(model: EnvModel, source_name: str, parts: _Parts) -> tuple[str, str]:
    spec = model.spec
    name = f"{model.module_name}_vector"
    class_name = f"{model.class_name.removesuffix('Env')}VectorEnv"
    imports = ["ID", "PARAMS", f"{model.class_name} as _SingleEnv"]
    imports += list(model.labels) + list(model.constants)
    modes = [m for m in _render_modes(model) if m != "human"]
    fps = spec.render.fps if spec.render is not None else 30
    metadata = (
        f'{{"render_modes": {literal(modes)}, "render_fps": {fps}, '
        '"autoreset_mode": AutoresetMode.NEXT_STEP'
        + (', "deterministic": True}' if spec.deterministic else "}")
    )
    header = "\n".join(
        [
            emit.module_docstring(spec.id, "a native NumPy VectorEnv generated by envgen"),
            "",
            f"# Source: {source_name!r}",
            f"# sha256: {model.source_hash}",
            "# Generated by envgen; do not edit. Regenerate with `envgen build`.",
        ]
    )
    doc = [
        *emit.wrap_doc(f"{doc_text(spec.id)}: N copies stepped together with NumPy arrays."),
        "",
        *emit.wrap_doc(
            f"Each sub-env i behaves exactly like `{model.class_name}` reset with seed "
            "`seed + i` (as SyncVectorEnv seeds them), including across autoresets. Params are "
            "resolved as the single env resolves them. `autoreset_mode` is NEXT_STEP (default), "
            "SAME_STEP (`final_obs` / `final_info` in info) or DISABLED. See "
            "docs/vectorization.md."
        ),
    ]
    docstring = f'{INDENT}"""' + "\n".join(INDENT + line if line else "" for line in doc).strip()
    docstring += f'\n{INDENT}"""'
    fix = parts.methods
    source = _TEMPLATES.get_template("vector_env.py.jinja").render(
        header=header,
        single_module=model.module_name,
        single_imports=", ".join(imports),
        module_lines=parts.module_lines,
        class_name=class_name,
        docstring=docstring,
        metadata=metadata,
        init=_indent(parts.init),
        step=_indent(parts.step),
        reset_envs=_indent(parts.reset_envs),
        observe=_indent(parts.observe),
        info=_indent(parts.info),
        check_actions=_indent(parts.check_actions),
        render_state=literal(tuple(parts.render)),
        kernel="\n".join(parts.kernel),
    )
    source = source.rstrip("\n") + "\n\n" + _indent(fix, 1) + "\n"
    return name, format_source(source, name)


def _render_modes(model: EnvModel) -> list[str]:
    """The single env's render modes but "human": a vector env returns frames."""
    return [mode for mode in emit._render_modes(model) if mode != "human"]
