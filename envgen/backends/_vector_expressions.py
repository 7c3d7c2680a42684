"""The NumPy vector backend: expressions over a batch of envs (one row per env)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager

from envgen.backends._printer import (
    Translator,
    _argument,
    function_method,
    function_variant,
    literal,
    np_dtype,
)
from envgen.backends._vector_values import (
    _BINOP,
    _CMP,
    _MATH,
    _MATH2,
    _RISKY_CALLS,
    _RISKY_OPS,
    Scope,
    Unsupported,
    V,
)
from envgen.compiler.functions import BUILTINS
from envgen.compiler.ir import EnvModel, StepVariant
from envgen.compiler.types import NUMERIC, T, array_dtype


class VectorExpressions:
    """Spells checked DSL expressions as batched NumPy code (the statements are in
    `_vector_statements.py`)."""

    def __init__(self, model: EnvModel, buffered: bool) -> None:
        self.model = model
        self.single = Translator(model)
        self.buffered = buffered
        self.exact: dict[str, str] = {}  # helper name -> module-level definition
        self.functions: set[str] = set()  # spec functions the env's code calls
        self.risky = False  # an operation that may warn runs under a mask: silence warnings
        self.arms = 0  # > 0 while translating the arms of `a if c else b`
        self.conditions: list[str] = []  # per-env tests of the arms being translated
        self.use(model.types, model.operand_dtypes, model.held)

    def use(self, types: dict[int, T], operands: dict[int, str], held: dict[int, T]) -> None:
        """Print from these tables: the model's, or a step variant's (`StepVariant`)."""
        self.types, self.operands, self.held = types, operands, held

    @contextmanager
    def using(self, variant: StepVariant | None) -> Iterator[None]:
        """Print from a step variant's tables (None: the current ones) inside the block; the
        tables before it are back after it, also when `Unsupported` leaves it."""
        saved = self.types, self.operands, self.held
        if variant is not None:
            self.use(variant.types, variant.operand_dtypes, variant.held)
        try:
            yield
        finally:
            self.use(*saved)

    @contextmanager
    def condition(self, test: V, negated: bool = False) -> Iterator[None]:
        """Translate inside one arm of a per-env test (`test`, or `~test`): the arm is on
        `self.conditions` inside the block only, also when `Unsupported` leaves it."""
        arm = [f"~({test.code})" if negated else f"({test.code})"] if test.vec else []
        self.conditions += arm
        try:
            yield
        finally:
            del self.conditions[len(self.conditions) - len(arm) :]

    # -- facts

    def type_of(self, node: ast.AST) -> T:
        return self.types.get(id(node), T("any", None))

    def operand(self, node: ast.AST) -> str:
        """The dtype the analysis converts the operands of `node` to."""
        dtype = self.operands.get(id(node))
        if dtype is None:
            raise Unsupported(f"`{ast.unparse(node)}` on operands of unknown types")
        return dtype

    def symbol_kind(self, node: ast.Name) -> str | None:
        symbol = self.model.symbols.get(id(node))
        return symbol.kind if symbol is not None else None

    def is_vec(self, node: ast.AST, scope: Scope) -> bool:
        """Whether `node` reads a value that differs per env (the analysis marks them)."""
        per_env = self.model.per_env
        return any(id(sub) in per_env for sub in ast.walk(node))

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
        return array_dtype(t)

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

    def _Name(self, node: ast.Name, scope: Scope, mask: str | None) -> V:
        t = self.type_of(node)
        kind = self.symbol_kind(node)
        name = node.id
        if kind == "special" and name == "elapsed_steps":
            code = "self._elapsed" if scope.kind == "observe" else "_elapsed"
            return V(code, True, t, "int64")
        if kind == "state" and scope.kind == "observe":
            return V(f"self.{name}", True, t, self.vec_dtype(self.model.state[name].type))
        dtype = scope.dtypes.get(name, self.vec_dtype(t))
        if kind == "action":
            dtype = self.vec_dtype(self.model.action_type)
        return V(name, True, t, dtype)

    def _Constant(self, node: ast.Constant, scope: Scope, mask: str | None) -> V:
        return V(literal(node.value), False, self.type_of(node))

    def _BinOp(self, node: ast.BinOp, scope: Scope, mask: str | None) -> V:
        op = _BINOP.get(type(node.op))
        a = self.expr(node.left, scope, mask)
        b = self.expr(node.right, scope, mask)
        t = self.type_of(node)
        if isinstance(node.op, ast.MatMult):
            return self.rowwise("np.matmul", [a, b], t, scope)
        if op is None:
            raise Unsupported(f"the operator in `{ast.unparse(node)}` on per-env values")
        if op in _RISKY_OPS and (mask is not None or self.arms):
            self.risky = True
        return self.binop(a, b, op, t, self.operand(node))

    def binop(self, a: V, b: V, op: str, t: T, target: str) -> V:
        """`a op b` of type `t`, both operands converted to `target` first."""
        a, b = self.align([self.cast(a, target), self.cast(b, target)], t)
        code = f"({a.code}) {op} ({b.code})"
        if op == "**" and target == "float64" and a.t.is_scalar and b.t.is_scalar:
            if a.vec or b.vec:
                # The single env's float ** is the C library's pow(); NumPy's power is not
                # (SIMD code, and x * x for ** 2): the checked helper, as for math.pow.
                return V(f"{self.exact_fn('pow')}({a.code}, {b.code})", True, t, "float64")
        if not a.vec and not b.vec:
            return V(code, False, t)
        return V(code, True, t, self.vec_dtype(t))

    def read_target(self, target: ast.expr, scope: Scope, mask: str | None) -> V:
        """The current value of an assignment target (for `x += ...`)."""
        if isinstance(target, ast.Name):
            symbol = self.model.symbols.get(id(target))
            if symbol is None:
                raise Unsupported(f"`{ast.unparse(target)}`")
            t = symbol.type
            name = target.id
            if id(target) in self.model.per_env:
                return V(name, True, t, scope.dtypes.get(name, self.vec_dtype(t)))
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
            target = self.operand(upper.comparators[0])
            x = self.cast(x, target)
            if c.vec or T(target).kind != "float" or T(x.dtype).kind != "float":
                return None
            parts.append(f"np.abs({x.code}) {'>=' if test[3] else '>'} ({c.code})")
            used.add(partner)
            fused = True
        return parts if fused else None

    def _Compare(self, node: ast.Compare, scope: Scope, mask: str | None) -> V:
        operands = [node.left, *node.comparators]
        values = [self.expr(o, scope, mask) for o in operands]
        parts = []
        for op, a, b, right in zip(node.ops, values, values[1:], node.comparators, strict=False):
            symbol = _CMP.get(type(op))
            if symbol is None:
                raise Unsupported(f"the comparison `{ast.unparse(node)}`")
            target = self.operand(right)
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
        try:
            with self.condition(test):
                a = self.expr(node.body, scope, mask)
            with self.condition(test, negated=True):
                b = self.expr(node.orelse, scope, mask)
        finally:
            self.arms -= 1
        target = self.operand(node)
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
            self.vec_dtype(t),
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
                    raise Unsupported(
                        f"reading `{ast.unparse(node)}`, a slice whose bounds differ per env "
                        "(so does its length; assigning a number to it is supported)"
                    )
                out.append(self.single.expr(part))
                continue
            value = self.expr(part, scope, mask)
            if value.vec:
                if not value.t.is_scalar:
                    raise Unsupported("indexing with a per-env array")
                fancy = True
                size = f"np.shape({base.code})[{axis + (1 if base.vec else 0)}]"
                code = value.code if value.dtype != "bool" else f"({value.code}).astype(np.int64)"
                # an index out of bounds is an IndexError, as in the single env (docs/spec.md,
                # "Numbers"), for the envs that take this path; the others read clipped
                active = [m for m in (mask, scope.live, *self.conditions) if m]
                lanes = "".join(f", {m}" for m in active)
                out.append(f"_num.index({code}, {size}{lanes})")
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
            target = self.operand(node)
            items = self.align([self.cast(i, target) for i in items], t)
            python = t.is_scalar and target.startswith("float")
            code = _choice(name, [i.code for i in items], python)
            return V(code, True, t, self.vec_dtype(t))
        # `dtype=` is a quoted name the IR's type already carries (no per-env value)
        values = {k: self.expr(v, scope, mask) for k, v in args.items() if k != "dtype"}
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
            dtype = "float64" if scalar else self.vec_dtype(t)
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
            target = self.operand(node)
            x, low, high = self.align([self.cast(i, target) for i in items], t)
            # the single env's min(max(x, low), high)
            python = t.is_scalar and target.startswith("float")
            code = _choice("min", [_choice("max", [x.code, low.code], python), high.code], python)
            return V(code, True, t, self.vec_dtype(t))
        if name == "where":
            a, b = values["a"], values["b"]
            target = self.operand(node)
            cond, a, b = self.align([values["cond"], self.cast(a, target), self.cast(b, target)], t)
            return V(
                f"np.where({cond.code}, {a.code}, {b.code})",
                True,
                t,
                self.vec_dtype(t),
            )
        if name in ("int", "float", "bool") or name in NUMERIC:  # the casts
            x = values["x"]
            dtype = {"int": "int64", "float": "float64"}.get(name, name)
            if T(dtype).kind == "int" and (x.dtype or x.t.dtype).startswith("float"):
                # truncate, saturate, NaN to 0 (docs/spec.md, "Numbers"); NumPy's own
                # conversion of out-of-range floats depends on the platform
                return V(f"_num.cast_int_array({x.code}, {np_dtype(dtype)})", True, t, dtype)
            return V(f"np.asarray({x.code}).astype({np_dtype(dtype)})", True, t, dtype)
        if name in ("sum", "mean", "prod", "any", "all", "count_nonzero"):
            x = values["x"]
            if not x.vec:
                raise Unsupported(f"{name}() of a uniform value")
            axes = self.element_axes(x)
            if "axis" in args:
                axes = self.batch_axis(args["axis"], x)
            fn = f"np.{name}"
            return V(f"{fn}({x.code}, axis={axes})", True, t, self.vec_dtype(t))
        if name in ("argmax", "argmin") and "axis" in args:
            x = values["x"]
            axis = self.batch_axis(args["axis"], x)
            return V(f"np.{name}({x.code}, axis={axis})", True, t, "int64")
        if name == "norm" and "axis" in args:
            x = values["x"]
            code = f"np.linalg.norm({x.code}, axis={self.batch_axis(args['axis'], x)})"
            return V(code, True, t, self.vec_dtype(t))
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
            dtype = self.vec_dtype(t)
            return V(f"np.{name}({flat}, axis=1)", True, t, dtype)
        if name == "len":
            x = values["x"]
            return V(f"({x.code}).shape[1]", False, t)
        if name in ("dot", "norm"):
            fn = "np.dot" if name == "dot" else "np.linalg.norm"
            return self.rowwise(fn, list(values.values()), t, scope)
        raise Unsupported(f"{name}() on per-env values")

    def rowwise(self, fn: str, items: list[V], t: T, scope: Scope) -> V:
        """`fn` on each env's values, one call per env as the single env makes it (exact:
        a batched BLAS call may sum in another order). Uniform arguments are repeated."""
        rows = ", ".join(
            i.code if i.vec else f"np.broadcast_to({i.code}, ({scope.n}, *np.shape({i.code})))"
            for i in items
        )
        dtype = self.vec_dtype(t)
        code = (
            f"np.array([{fn}(*_row) for _row in zip({rows}, strict=True)], dtype={np_dtype(dtype)})"
        )
        return V(code, True, t, dtype)

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

    def _rank_after_index(self, target: ast.Subscript, base_t: T) -> int:
        parts = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
        rank = len(base_t.shape or ())
        for part in parts:
            if not isinstance(part, ast.Slice):
                rank -= 1
        return max(rank, 0)


def _choice(name: str, codes: list[str], python: bool) -> str:
    """min/max of per-env values: Python's builtins where the single env holds the scalars
    as Python floats (`_num.first_max`: NaN and -0.0 give what the argument order says),
    else NumPy's np.minimum/np.maximum (the same for ints, and elementwise for arrays)."""
    if python:
        return f"_num.first_{name}({', '.join(codes)})"
    fn = "np.minimum" if name == "min" else "np.maximum"
    code = codes[0]
    for other in codes[1:]:
        code = f"{fn}({code}, {other})"
    return code
