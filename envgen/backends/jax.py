"""Stage 4d: print a spec's typed model as pure JAX functions (`<module>_jax.py`).

A printer of the analysis' model, like the other backends: every name is resolved by the
analysis (`model.symbols`) and every expression typed (`model.types`); nothing is inferred
here except which values are *static* (known when the env is made) and which are traced.

- State is a pytree dataclass (`State`), params a pytree dataclass of the spec's numeric
  scalar params (`Params`, data: vmappable). Params that decide shapes, loop bounds or are
  not numbers (strings, lists, nullable), and `let` values that depend on them, are static:
  they are read from a reference env made once with them (`static`), as the single env
  computes them.
- `if` on traced values runs both branches under masks and merges with `jnp.where`;
  `a if c else b` is `jnp.where`; `for i in range(n)` (n static) unrolls at trace time.
- Every draw site gets its own key: `keys = jax.random.split(key, n_sites)` in program
  order; a site inside a loop folds the loop counter in. Draws say whether they are active
  (their branch is taken), for replaying recorded draws (envgen.jax._runtime.Replay).

What the printer cannot say raises `JaxUnsupported` with the reason; the build records it
in `generated.JAX_FALLBACKS` and `envgen show` prints it.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field

from envgen.backends._printer import Translator, literal, tidy, tidy_block
from envgen.backends.python import doc_text
from envgen.compiler.diagnostics import Location
from envgen.compiler.functions import BUILTINS, CONSTANTS
from envgen.compiler.ir import BINARY_OPERATORS, Code, EnvModel, ObservationModel
from envgen.compiler.types import ANY, T

#: dtypes narrower than the weak defaults: a weak operand must take them (NEP 50)
_NARROW = ("float16", "float32", "int8", "int16", "int32", "uint8")


class JaxUnsupported(Exception):
    """A spec (or part of one) the JAX printer cannot express; the message says what.

    `node` (the innermost spec expression or statement being printed) or `path` (a spec
    key) says where; `emit_jax_env` turns them into `location` (file:line:column, for the
    build's note) and `where` (e.g. `step line 12`, for the registry and `envgen show`)."""

    def __init__(self, message: str, *, path: tuple = ()) -> None:
        super().__init__(message)
        self.message = message
        self.node: ast.AST | None = None
        self.path = path
        self.location: Location | None = None
        self.where = ""

    def locate(self, model: EnvModel) -> None:
        found = model.find_name("", self.node) if self.node is not None else None
        if found is not None:
            code, node = found
            line, column = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
            self.location = model.document.code_location(code.path, line, column)
            path = code.path
        else:
            path = self.path or ("id",)
            self.location = model.document.location(path)
        self.where = f"{'.'.join(str(p) for p in path)}, line {self.location.line}"

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.where else self.message


_SPACES = {"Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Tuple"}
_UNARY_FN = {
    "sqrt",
    "exp",
    "log",
    "log2",
    "log10",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "floor",
    "ceil",
    "round",
    "abs",
    "square",
    "sum",
    "mean",
    "prod",
    "any",
    "all",
    "argmax",
    "argmin",
    "cumsum",
    "count_nonzero",
}
_CASTS = {
    "int": "int64",
    "float": "float64",
    "bool": "bool",
    "float16": "float16",
    "float32": "float32",
    "float64": "float64",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
}
_CREATE = {"zeros", "ones", "full", "arange", "linspace", "eye"}
_DRAWING = {"fill", "fill_rect", "draw_line", "fill_circle", "fill_polygon"}
_CMP = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
}


def _names(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _code_roots(code: Code) -> list[ast.AST]:
    return [code.expr] if code.expr is not None else list(code.stmts)


class _RollBack(Exception):
    """A name a rolled loop (`lax.fori_loop`) keeps to itself is read after the loop: print
    the module again with that loop unrolled (`loop` is the id of its `for` node)."""

    def __init__(self, loop: int) -> None:
        super().__init__(loop)
        self.loop = loop


class _StaticPrinter(Translator):
    """Static values (params, lets, constants, loop counters) spelled as the single env
    spells them, reading params and lets from the reference env `static`."""

    number_rules = False  # static values: small counters and the reference env's values

    def __init__(self, model: EnvModel, printer: JaxPrinter) -> None:
        super().__init__(model)
        self.printer = printer

    def name(self, node: ast.Name) -> str:
        symbol = self.model.symbols.get(id(node))
        if symbol is not None:
            if symbol.kind in ("const", "label"):
                return f"_single.{node.id}"
            if symbol.kind in ("param", "let"):
                return self.printer.name(node)
            if symbol.kind == "local":
                self.printer.check_loop_local(node.id)
        return super().name(node)

    def _Call(self, node: ast.Call) -> str:
        assert isinstance(node.func, ast.Name)
        if node.func.id in self.model.functions:
            args = ", ".join(self.expr(a) for a in node.args)
            return f"_static._{node.func.id}({args})"
        return super()._Call(node)


@dataclass
class _Scope:
    """One generated function being printed."""

    lines: list[str] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)
    static_locals: set[str] = field(default_factory=set)
    loops: list[str] = field(default_factory=list)  # enclosing loop counters
    counter: int = 0
    #: names only a rolled loop's body binds (not visible after it) -> the loop's node id
    loop_locals: dict[str, int] = field(default_factory=dict)
    static_types: dict[str, T] = field(default_factory=dict)  # of the static locals

    def temp(self, stem: str) -> str:
        self.counter += 1
        return f"_{stem}{self.counter}"


class JaxPrinter:
    """Spells checked DSL trees as `jax.numpy` code over traced state, action and params."""

    def __init__(self, model: EnvModel) -> None:
        self.model = model
        # draw sites of the function being printed: (where, shares the uniform vector)
        self.sites: list[tuple[str, bool]] = []
        self.uses_math = False
        self.static_names = _static_names(model)
        self.static_lets: set[str] = set()
        for name, code in model.lets.items():
            if name in self.static_names or self.is_static(code.expr):
                self.static_lets.add(name)
        self.static = _StaticPrinter(model, self)
        self.scope = _Scope()
        #: loop counters of rolled loops (traced inside `lax.fori_loop`), and the loops
        #: (`for` node ids) to unroll instead (see `_RollBack`)
        self.traced_counters: set[str] = set()
        self.no_roll: set[int] = set()
        #: rolled loops whose carry made a static local traced (unrolled if that fails later)
        self.demoted: set[int] = set()
        #: the key the function being printed has (`_key`), else None
        self.key_name: str | None = None

    # -- facts

    def begin(self, key_name: str | None) -> _Scope:
        """Start printing another module function: no draw sites yet, a fresh scope, and
        the name of its key (None: the function may not draw)."""
        self.sites = []
        self.scope = _Scope()
        self.key_name = key_name
        return self.scope

    def kind(self, node: ast.Name) -> str | None:
        symbol = self.model.symbols.get(id(node))
        return symbol.kind if symbol is not None else None

    def type_of(self, node: ast.AST) -> T:
        return self.model.types.get(id(node), ANY)

    def is_static(self, node: ast.AST | None) -> bool:
        """Whether `node`'s value is known when the env is made (never traced)."""
        if node is None:
            return True
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                kind = self.kind(sub)
                if kind == "loop" and sub.id in self.traced_counters:
                    return False
                if kind in ("const", "constant", "label", "loop"):
                    continue
                if kind == "param" and sub.id in self.static_names:
                    continue
                if kind == "let" and (
                    sub.id in self.static_names or sub.id in getattr(self, "static_lets", ())
                ):
                    continue
                if kind == "local" and sub.id in self.scope_static_locals():
                    continue
                if kind == "function":
                    continue
                return False
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and (builtin.random or sub.func.id in _CREATE):
                    return False
                if sub.func.id == "option":
                    return False
        return True

    def scope_static_locals(self) -> set[str]:
        scope = getattr(self, "scope", None)
        return scope.static_locals if scope is not None else set()

    # -- names

    def check_loop_local(self, name: str) -> None:
        """A local that only a rolled loop's body binds, read after the loop: unroll it."""
        loop = self.scope.loop_locals.get(name)
        if loop is not None:
            raise _RollBack(loop)

    def name(self, node: ast.Name) -> str:
        kind = self.kind(node)
        name = node.id
        if kind is None:
            raise JaxUnsupported(f"the name '{name}' was not resolved")
        if kind == "local":
            self.check_loop_local(name)
        if kind == "param":
            return f"_static.{name}" if name in self.static_names else f"params.{name}"
        if kind == "let":
            return f"_static.{name}" if name in self.static_names else name
        if kind in ("const", "label"):
            return f"_single.{name}"
        if kind == "constant":
            spelled = CONSTANTS[name][0]
            if spelled.startswith("math."):
                self.uses_math = True
            return spelled
        return name

    # -- expressions

    def expr(self, node: ast.expr, mask: str | None = None) -> str:
        text = self._expr_text(node, mask)
        if id(node) in self.model.int64_operands:
            # a plain int meeting a narrow int it may not fit: int64 there, as the IR says
            # (JAX's weak typing would take it as the narrow dtype and wrap it)
            text = f'_jx.cast({text}, "int64")'
        return text

    def _expr_text(self, node: ast.expr, mask: str | None) -> str:
        if self.is_static(node):
            text = self.static.expr(node)
            self.uses_math = self.uses_math or "math" in self.static.uses
            return text
        method = getattr(self, f"_{type(node).__name__}", None)
        try:
            if method is None:
                raise JaxUnsupported(f"{type(node).__name__} expressions")
            return method(node, mask)
        except JaxUnsupported as exc:
            exc.node = exc.node or node  # the innermost expression is where it happened
            raise

    def _Name(self, node: ast.Name, mask: str | None) -> str:
        return self.name(node)

    def _Constant(self, node: ast.Constant, mask: str | None) -> str:
        return literal(node.value)

    def narrowed(self, nodes: list[ast.expr], texts: list[str], key: ast.AST) -> list[str]:
        """Operands converted to the dtype the analysis says they meet in (NEP 50:
        `EnvModel.operand_dtypes`, float32 for `weak - float32`), where it is narrower than a
        weak value's own. The single env holds a weak value as a Python number, which yields
        to the float32; JAX may hold it as a strong float64 array (a float64 state,
        `float()`, a draw), which would not, and the result would be float64."""
        dtype = self.model.operand_dtypes.get(id(key))
        if dtype not in _NARROW:
            return texts
        out = []
        for node, text in zip(nodes, texts, strict=True):
            t = self.type_of(node)
            if t.is_numeric and t.weak and not isinstance(node, ast.Constant):
                text = f"_jx.cast({text}, {dtype!r})"
            out.append(text)
        return out

    def _BinOp(self, node: ast.BinOp, mask: str | None) -> str:
        op = BINARY_OPERATORS[type(node.op)]
        left, right = self.expr(node.left, mask), self.expr(node.right, mask)
        left, right = self.narrowed([node.left, node.right], [left, right], node)
        if isinstance(node.op, ast.Pow) and all(
            self.type_of(n).kind in ("int", "bool") for n in (node.left, node.right)
        ):
            # float64, as the analysis types it (the number rules): an integer power would
            # be exact, or garbage for a negative exponent; `+ 0.0` keeps it weakly typed
            left = f"({left}) + 0.0"
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and self.type_of(node).kind in (
            "int",
            "bool",
        ):
            # integer // and % by zero give 0 (the shared numeric rule; XLA's // gives -1)
            fn = "floordiv" if isinstance(node.op, ast.FloorDiv) else "mod"
            return f"_jx.{fn}({left}, {right})"
        if isinstance(node.op, ast.Mod):
            # a zero remainder takes the divisor's sign, as in Python and NumPy (XLA: the
            # dividend's, so -1.0 % 1.0 was -0.0)
            return f"_jx.float_mod({left}, {right})"
        return f"({left}) {op} ({right})"

    def _UnaryOp(self, node: ast.UnaryOp, mask: str | None) -> str:
        operand = self.expr(node.operand, mask)
        if isinstance(node.op, ast.Not):
            return f"jnp.logical_not({operand})"
        if isinstance(node.op, ast.Invert):
            return f"~({operand})"
        return f"{'-' if isinstance(node.op, ast.USub) else '+'}({operand})"

    def _BoolOp(self, node: ast.BoolOp, mask: str | None) -> str:
        if self.type_of(node).dtype != "bool":
            raise JaxUnsupported("`and`/`or` of values that are not booleans")
        fn = "jnp.logical_and" if isinstance(node.op, ast.And) else "jnp.logical_or"
        text = self.expr(node.values[0], mask)
        for value in node.values[1:]:
            # Python evaluates later operands only when earlier ones do not decide.
            guard = text if isinstance(node.op, ast.And) else f"jnp.logical_not({text})"
            inner = self.expr(value, _and(mask, guard) if self._draws(value) else mask)
            text = f"{fn}({text}, {inner})"
        return text

    def _Compare(self, node: ast.Compare, mask: str | None) -> str:
        parts = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)):
                raise JaxUnsupported("`is` / `in` tests of traced values")
            a, b = self.narrowed(
                [left, right], [self.expr(left, mask), self.expr(right, mask)], right
            )
            parts.append(f"({a}) {_CMP[type(op)]} ({b})")
            left = right
        if len(parts) == 1:
            return parts[0]
        return " & ".join(f"({p})" for p in parts)

    def _IfExp(self, node: ast.IfExp, mask: str | None) -> str:
        if self.is_static(node.test):
            test = self.static.expr(node.test)
            return (
                f"({self.expr(node.body, mask)}) if ({test}) else ({self.expr(node.orelse, mask)})"
            )
        test = self.expr(node.test, mask)
        body = self.expr(node.body, _and(mask, test) if self._draws(node.body) else mask)
        orelse = self.expr(
            node.orelse,
            _and(mask, f"jnp.logical_not({test})") if self._draws(node.orelse) else mask,
        )
        body, orelse = self.narrowed([node.body, node.orelse], [body, orelse], node)
        return f"_jx.where({test}, {body}, {orelse})"

    def _List(self, node: ast.List | ast.Tuple, mask: str | None) -> str:
        t = self.type_of(node)
        items = ", ".join(self.expr(e, mask) for e in node.elts)
        if t.is_numeric:
            return f"_jx.array([{items}], {t.dtype!r})"
        if isinstance(node, ast.Tuple):
            return f"({items}{',' if len(node.elts) == 1 else ''})"
        if t.dtype in ("str", "none", "dict"):
            raise JaxUnsupported(f"a list of {t.describe()} values")
        # nested lists (polygon corners): numbers all the way down
        return f"_jx.array([{items}], 'float64')"

    _Tuple = _List

    def _Subscript(self, node: ast.Subscript, mask: str | None) -> str:
        index = node.slice
        elts = index.elts if isinstance(index, ast.Tuple) else [index]
        for e in elts:
            if isinstance(e, ast.Slice):
                for part in (e.lower, e.upper, e.step):
                    if not self.is_static(part):
                        raise JaxUnsupported(
                            "a slice whose bounds are traced values (its length would not be "
                            "known when the function is compiled)"
                        )
        base = self.expr(node.value, mask)
        if self.is_static(node.value) and self.type_of(node.value).dtype not in ("dict", "tuple"):
            base = f"_jx.read({base})"
        inner = ", ".join(self._index_part(e, mask) for e in elts)
        return f"({base})[{inner}]"

    def _index_part(self, node: ast.expr, mask: str | None) -> str:
        if isinstance(node, ast.Slice):
            return self.static._Slice(node)
        return self.expr(node, mask)

    def _draws(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and builtin.random:
                    return True
        return False

    def _Call(self, node: ast.Call, mask: str | None) -> str:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if name in self.model.functions:
            args = ", ".join(self.expr(a, mask) for a in node.args)
            return f"_fn_{name}(params, _static{', ' if args else ''}{args})"
        builtin = BUILTINS[name]
        args = [self.expr(a, mask) for a in node.args]
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        kw = {k: self.expr(v, mask) for k, v in keywords.items()}
        if builtin.random:
            return self.draw(node, args, kw, mask)
        if builtin.statement:
            raise JaxUnsupported(f"{name}() inside an expression")
        if name == "option":
            return args[1] if len(args) > 1 else kw["default"]
        given = dict(zip(builtin.params, node.args, strict=False))
        given.update(keywords)
        if not builtin.variadic:
            # One argument list in the table's positional order, whether each argument came
            # by position or by keyword (`square(x=...)`); axis is printed on its own. The
            # texts are the ones printed above: printing again would register draws twice.
            printed = dict(zip(builtin.params, args, strict=False)) | kw
            args = []
            for param in builtin.params:
                if param not in printed or param == "axis":
                    break
                args.append(printed[param])
        axis = ""
        if "axis" in given:
            if not self.is_static(given["axis"]):
                raise JaxUnsupported(f"{name}() along a traced axis")
            axis = f", axis={self.static.expr(given['axis'])}"
        if name in _UNARY_FN:
            arg = self.type_of(node.args[0]) if node.args else None
            if (  # floor, ceil and round of a float32 are exact as they are
                arg is not None
                and name not in ("floor", "ceil", "round")
                and arg.is_scalar
                and arg.dtype in ("float16", "float32")
                and self.type_of(node).dtype == "float64"
            ):
                # the IR's float64 (the single env's math.sqrt of a float32 is a Python
                # float): computed on the float64 value, not in float32
                args[0] = f'_jx.cast({args[0]}, "float64")'
            dtype = self.type_of(node).dtype
            if name == "cumsum" and arg is not None and arg.dtype != dtype:
                # in the IR's dtype: NumPy accumulates small ints in int64, JAX in their own
                # width (cumsum of a uint8 array of 200s was 32 at the fourth element)
                return f"jnp.cumsum({args[0]}{axis}, dtype=_jx.dt({dtype!r}))"
            if name in ("floor", "ceil", "round") and self.type_of(node).is_scalar:
                # the single env's float(math.floor(x)) is never -0.0 (XLA folds `+ 0.0`)
                return f"_jx.positive_zero(jnp.{name}({args[0]}))"
            return f"jnp.{name}({args[0]}{axis})"
        if name in ("concatenate", "stack"):
            arrays = given["arrays"]
            if isinstance(arrays, (ast.List, ast.Tuple)):
                items = ", ".join(self.expr(e, mask) for e in arrays.elts)
                return f"jnp.{name}([{items}]{axis})"
            return f"jnp.{name}({self.expr(arrays, mask)}{axis})"
        if name == "ravel":
            return f"jnp.ravel({args[0]})"
        if name == "reshape":
            if not self.is_static(given["shape"]):
                raise JaxUnsupported("reshape() to a traced shape")
            return f"jnp.reshape({args[0]}, {self.static.expr(given['shape'])})"
        if name == "roll":
            shift = self.expr(given["shift"], mask)
            return f"jnp.roll({self.expr(given['x'], mask)}, {shift}{axis})"
        if name == "array":
            dtype = self.type_of(node).dtype
            value = given["x"]
            if isinstance(value, (ast.List, ast.Tuple)):
                items = ", ".join(self.expr(e, mask) for e in value.elts)
                return f"_jx.array([{items}], {dtype!r})"
            return f"_jx.cast({self.expr(value, mask)}, {dtype!r})"
        if name == "eye":
            if not self.is_static(given["n"]):
                raise JaxUnsupported("eye() of a traced size")
            dtype = self.type_of(node).dtype
            return f"jnp.eye({self.static.expr(given['n'])}, dtype=_jx.dt({dtype!r}))"

        if node.keywords or len(args) != len(node.args):
            pass  # keyword arguments: no weak operands to narrow among positional ones
        elif name in ("min", "max", "clip", "arctan2", "hypot") and len(args) > 1:
            args = self.narrowed(list(node.args), args, node)
        elif name == "where":
            args[1:] = self.narrowed(list(node.args[1:]), args[1:], node)
        if name == "sign":
            if self.type_of(node).is_scalar:  # the single env's sign: NaN gives 0.0
                return f"_jx.sign({args[0]})"
            return f"jnp.sign({args[0]}) * 1.0"
        if name in ("arctan2", "hypot", "dot"):
            return f"jnp.{name}({', '.join(args)})"
        if name == "norm":
            return f"jnp.linalg.norm({args[0]}{axis})"
        if name == "len":
            return f"len({args[0]})"
        if name in ("min", "max"):
            if len(args) == 1:
                return f"jnp.{name}({args[0]}{axis})"
            node_type = self.type_of(node)
            if node_type.is_scalar and node_type.kind == "float":
                # Python's max/min, as the single env computes them (see _jx.first_max)
                return f"_jx.first_{name}({', '.join(args)})"
            fn = "jnp.minimum" if name == "min" else "jnp.maximum"
            text = args[0]
            for other in args[1:]:
                text = f"{fn}({text}, {other})"
            return text
        if name == "clip":
            node_type = self.type_of(node)
            if node_type.is_scalar and node_type.kind == "float":
                # the single env's min(max(x, low), high) (see _jx.first_max)
                return f"_jx.first_min(_jx.first_max({args[0]}, {args[1]}), {args[2]})"
            return f"jnp.clip({args[0]}, {args[1]}, {args[2]})"
        if name == "where":
            return f"_jx.where({args[0]}, {args[1]}, {args[2]})"
        if name in _CASTS:
            return f"_jx.cast({args[0]}, {_CASTS[name]!r})"
        if name == "pow":
            return f"jnp.power(_jx.cast({args[0]}, 'float64'), {args[1]})"
        if name in _CREATE:
            return self.create(node, name)
        raise JaxUnsupported(f"{name}() of traced values")

    def create(self, node: ast.Call, name: str) -> str:
        """Array creation: shapes and ranges are static, the values may be traced."""
        builtin = BUILTINS[name]
        given = dict(zip(builtin.params, node.args, strict=False))
        given.update({k.arg: k.value for k in node.keywords if k.arg})
        dtype = given.pop("dtype", None)
        if dtype is not None and not isinstance(dtype, ast.Constant):
            raise JaxUnsupported(f"{name}() with a dtype that is not a literal")
        dtype_name = dtype.value if dtype is not None else ("float64" if name != "full" else None)
        parts = []
        for param in builtin.params:
            if param not in given:
                continue
            value = given[param]
            if param == "value":
                parts.append(self.expr(value))
                continue
            if not self.is_static(value):
                raise JaxUnsupported(f"{name}() whose {param} is a traced value")
            parts.append(self.static.expr(value))
        if dtype_name is not None and name not in ("arange", "linspace"):
            parts.append(f"dtype=_jx.dt({dtype_name!r})")
        return f"jnp.{name}({', '.join(parts)})"

    def draw(self, node: ast.Call, args: list[str], kw: dict[str, str], mask: str | None) -> str:
        name = node.func.id  # type: ignore[attr-defined]
        where = f"{name}() at {self._where(node)}"
        shared = (
            name in ("random", "uniform")
            and "size" not in kw
            and len(args) <= (0 if name == "random" else 2)
            and not self.scope.loops
            and all(self.type_of(a).is_scalar for a in node.args)
        )
        if shared:
            # Scalar uniform draws share one vector draw: one threefry call for all of them
            # (the reset of every auto-resetting step pays for it).
            index = sum(1 for _, is_shared in self.sites if is_shared)
            self.sites.append((where, True))
            parts = ["_u", str(index), *args, *(f"{k}={v}" for k, v in kw.items())]
            name = f"{name}_at"
        else:
            index = sum(1 for _, is_shared in self.sites if not is_shared)
            self.sites.append((where, False))
            key = f"__KEY{index}__"
            for counter in self.scope.loops:
                key = f"_jx.fold_in({key}, {counter})"
            parts = [key, *args, *(f"{k}={v}" for k, v in kw.items())]
        if mask is not None:
            parts.append(f"active={mask}")
        return f"_jx.{name}({', '.join(parts)})"

    def _where(self, node: ast.AST) -> str:
        found = self.model.find_name("", node)
        if found is None:
            return "?"
        code, _ = found
        location = self.model.document.code_location(
            code.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        )
        return f"{'.'.join(str(p) for p in code.path)} line {location.line}"

    # -- statements

    def block(self, stmts: list[ast.stmt], mask: str | None, indent: int) -> None:
        for stmt in stmts:
            self.statement(stmt, mask, indent)

    def emit(self, line: str, indent: int) -> None:
        self.scope.lines.append("    " * indent + line)

    def statement(self, stmt: ast.stmt, mask: str | None, indent: int) -> None:
        try:
            self._statement(stmt, mask, indent)
        except JaxUnsupported as exc:
            exc.node = exc.node or stmt
            raise

    def _statement(self, stmt: ast.stmt, mask: str | None, indent: int) -> None:
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Assign):
            self.assign(stmt.targets[0], stmt.value, mask, indent)
            return
        if isinstance(stmt, ast.AugAssign):
            value = ast.BinOp(left=_load(stmt.target), op=stmt.op, right=stmt.value)
            self._copy_types(stmt.target, value.left)
            self.model.types[id(value)] = self.type_of(stmt.target)
            self.model.read_copies.append(value)
            self.assign(stmt.target, value, mask, indent)
            return
        if isinstance(stmt, ast.If):
            if self.is_static(stmt.test):
                self.emit(f"if {self.static.expr(stmt.test)}:", indent)
                before = len(self.scope.lines)
                self.block(stmt.body, mask, indent + 1)
                if len(self.scope.lines) == before:
                    self.emit("pass", indent + 1)
                if stmt.orelse:
                    self.emit("else:", indent)
                    before = len(self.scope.lines)
                    self.block(stmt.orelse, mask, indent + 1)
                    if len(self.scope.lines) == before:
                        self.emit("pass", indent + 1)
                return
            test = self.scope.temp("c")
            self.emit(f"{test} = _jx.truth({self.expr(stmt.test, mask)})", indent)
            then_mask = test if mask is None else self.scope.temp("m")
            if mask is not None:
                self.emit(f"{then_mask} = {mask} & {test}", indent)
            self.block(stmt.body, then_mask, indent)
            if stmt.orelse:
                else_mask = self.scope.temp("m")
                if mask is None:
                    self.emit(f"{else_mask} = ~{test}", indent)
                else:
                    self.emit(f"{else_mask} = {mask} & ~{test}", indent)
                self.block(stmt.orelse, else_mask, indent)
            return
        if isinstance(stmt, ast.For):
            assert isinstance(stmt.target, ast.Name) and isinstance(stmt.iter, ast.Call)
            for arg in stmt.iter.args:
                if not self.is_static(arg):
                    raise JaxUnsupported("a loop whose range is a traced value")
            if id(stmt) not in self.no_roll and self.rolled_loop(stmt, mask, indent):
                return
            bounds = ", ".join(self.static.expr(a) for a in stmt.iter.args)
            counter = stmt.target.id
            self.emit(f"for {counter} in range({bounds}):", indent)
            before = len(self.scope.lines)
            self.scope.loops.append(counter)
            self.block(stmt.body, mask, indent + 1)
            self.scope.loops.pop()
            if len(self.scope.lines) == before:
                self.emit("pass", indent + 1)
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            assert isinstance(call.func, ast.Name)
            name = call.func.id
            if name not in _DRAWING:
                raise JaxUnsupported(f"the statement {name}()")
            frame = call.args[0]
            if not isinstance(frame, ast.Name):
                raise JaxUnsupported(f"{name}() on something other than a named frame")
            builtin = BUILTINS[name]
            args = [self.expr(a, mask) for a in call.args[1:]]
            args += [f"{k.arg}={self.expr(k.value, mask)}" for k in call.keywords if k.arg]
            del builtin
            target = self.name(frame)
            value = f"_jx.{name}({target}, {', '.join(args)})"
            self.store_name(frame.id, value, mask, indent, static=False)
            return
        raise JaxUnsupported(f"the statement {type(stmt).__name__}")

    def rolled_loop(self, stmt: ast.For, mask: str | None, indent: int) -> bool:
        """Print `for i in range(...)` as a body function and `_jx.loop` (a `lax.fori_loop`
        for long loops, so compile time does not grow with the trip count; unrolled at trace
        time for short ones). The counter is traced in the body; the names the body assigns
        that exist before the loop are its carry. False (nothing printed) where the body
        needs a static counter (a slice or a shape that depends on it) or carries a static
        local: the caller unrolls the loop as Python does."""
        scope = self.scope
        assigned = _stored_names(stmt.body)
        carried = [n for n in assigned if n in scope.defined]
        demoted = [n for n in carried if n in scope.static_locals]  # static before, traced now
        if any(not scope.static_types.get(n, ANY).is_numeric for n in demoted):
            return False  # a Python value that is not a number (a string, a list...)
        saved = (
            len(scope.lines),
            set(scope.defined),
            set(scope.static_locals),
            scope.counter,
            len(self.sites),
            dict(scope.loop_locals),
        )
        counter = stmt.target.id  # type: ignore[attr-defined]
        bounds = ", ".join(self.static.expr(a) for a in stmt.iter.args)  # type: ignore[attr-defined]
        function = scope.temp("loop")
        unpack = f"({', '.join(carried)},)" if carried else ""
        self.emit(f"def {function}({counter}, _carry):", indent)
        if carried:
            self.emit(f"{unpack} = _carry", indent + 1)
        self.traced_counters.add(counter)
        scope.loops.append(counter)
        try:
            self.block(stmt.body, mask, indent + 1)
        except JaxUnsupported:
            lines, defined, static_locals, count, sites, loop_locals = saved
            del scope.lines[lines:]
            scope.defined, scope.static_locals, scope.counter = defined, static_locals, count
            scope.loop_locals = loop_locals
            del self.sites[sites:]
            return False
        finally:
            self.traced_counters.discard(counter)
            scope.loops.pop()
        self.emit(f"return {unpack or '()'}", indent + 1)
        call = f"_jx.loop(range({bounds}), {function}, {unpack or '()'}, {self.key_name})"
        self.emit(f"{unpack} = {call}" if carried else call, indent)
        for name in assigned:
            if name not in carried:  # bound in the body only: not visible after the loop
                scope.defined.discard(name)
                scope.static_locals.discard(name)
                scope.loop_locals[name] = id(stmt)
        for name in carried:
            scope.static_locals.discard(name)
        if demoted:
            self.demoted.add(id(stmt))
        return True

    def _copy_types(self, original: ast.AST, clone: ast.AST) -> None:
        for a, b in zip(ast.walk(original), ast.walk(clone), strict=False):
            if id(a) in self.model.types:
                self.model.types[id(b)] = self.model.types[id(a)]
            if id(a) in self.model.symbols:
                self.model.symbols[id(b)] = self.model.symbols[id(a)]
        self.model.read_copies.append(clone)  # keeps the clone's ids valid

    def assign(self, target: ast.expr, value: ast.expr, mask: str | None, indent: int) -> None:
        if isinstance(target, ast.Name):
            static = mask is None and self.is_static(value) and self.kind(target) == "local"
            code = self.static.expr(value) if static else self.expr(value, mask)
            if static:
                self.scope.static_types[target.id] = self.type_of(value)
            self.store_name(target.id, code, mask, indent, static=static)
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                temps = []
                for elt in value.elts:
                    temp = self.scope.temp("v")
                    self.emit(f"{temp} = {self.expr(elt, mask)}", indent)
                    temps.append(temp)
                for elt, temp in zip(target.elts, temps, strict=True):
                    if not isinstance(elt, ast.Name):
                        raise JaxUnsupported("unpacking into an element")
                    self.store_name(elt.id, temp, mask, indent, static=False)
                return
            temp = self.scope.temp("v")
            self.emit(f"{temp} = {self.expr(value, mask)}", indent)
            for i, elt in enumerate(target.elts):
                if not isinstance(elt, ast.Name):
                    raise JaxUnsupported("unpacking into an element")
                self.store_name(elt.id, f"{temp}[{i}]", mask, indent, static=False)
            return
        if isinstance(target, ast.Subscript):
            base = target.value
            if not isinstance(base, ast.Name):
                raise JaxUnsupported("assignment into a nested subscript")
            index = target.slice
            elts = index.elts if isinstance(index, ast.Tuple) else [index]
            for e in elts:
                if isinstance(e, ast.Slice) and not all(
                    self.is_static(p) for p in (e.lower, e.upper, e.step)
                ):
                    raise JaxUnsupported("slice assignment with traced bounds")
            inner = ", ".join(self._index_part(e, mask) for e in elts)
            name = self.name(base)
            code = self.expr(value, mask)
            if mask is not None:
                code = f"jnp.where({mask}, {code}, {name}[{inner}])"
            # the element keeps the array's dtype (x64: an int64 value into int32 state)
            self.emit(f"{name} = {name}.at[{inner}].set(_jx.like({code}, {name}))", indent)
            self.scope.static_locals.discard(base.id)
            return
        raise JaxUnsupported(f"assignment to {type(target).__name__}")

    def store_name(self, name: str, code: str, mask: str | None, indent: int, static: bool) -> None:
        scope = self.scope
        if name in scope.loop_locals:
            if mask is not None:  # merges with the loop's last value, which it kept
                raise _RollBack(scope.loop_locals[name])
            del scope.loop_locals[name]
        if mask is not None and name in scope.defined:
            code = f"_jx.where({mask}, {code}, {name})"
        self.emit(f"{name} = {code}", indent)
        scope.defined.add(name)
        if static:
            scope.static_locals.add(name)
        else:
            scope.static_locals.discard(name)


def _stored_names(stmts: list[ast.stmt]) -> list[str]:
    """The names statements assign (targets, subscript bases, drawn frames), in order; not
    the counters of nested loops."""
    names: list[str] = []

    def add(target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                add(elt)
        elif isinstance(target, ast.Subscript):
            add(target.value)

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    add(target)
            elif isinstance(stmt, ast.AugAssign):
                add(stmt.target)
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                if stmt.value.args and isinstance(stmt.value.args[0], ast.Name):
                    add(stmt.value.args[0])
            elif isinstance(stmt, ast.For):
                visit(stmt.body)
            elif isinstance(stmt, ast.If):
                visit(stmt.body)
                visit(stmt.orelse)

    visit(stmts)
    return list(dict.fromkeys(names))


def _and(mask: str | None, cond: str) -> str:
    return cond if mask is None else f"({mask}) & ({cond})"


def _load(target: ast.expr) -> ast.expr:
    clone = ast.parse(ast.unparse(target), mode="eval").body
    return clone


def _static_names(model: EnvModel) -> set[str]:
    """Params and lets whose values must be known when the env is made."""
    static: set[str] = set()
    for name in model.params:
        t = model.param_types.get(name)
        if t is None or not (t.is_scalar and t.is_numeric):
            static.add(name)
    for name, code in model.lets.items():
        if not (code.type.is_scalar and code.type.is_numeric):
            static.add(name)

    def shape_names(node: ast.AST | None) -> None:
        for sub in ast.walk(node) if node is not None else ():
            static.update(_names(sub))

    for code in model.codes():
        for root in _code_roots(code):
            for node in ast.walk(root):
                if isinstance(node, ast.For):
                    shape_names(node.iter)
                elif isinstance(node, ast.Slice):
                    for part in (node.lower, node.upper, node.step):
                        shape_names(part)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    name = node.func.id
                    builtin = BUILTINS.get(name)
                    if builtin is None:
                        continue
                    given = dict(zip(builtin.params, node.args, strict=False))
                    given.update({k.arg: k.value for k in node.keywords if k.arg})
                    shape_names(given.get("axis"))
                    if name in ("zeros", "ones", "full", "reshape"):
                        shape_names(given.get("shape"))
                    elif name == "eye":
                        shape_names(given.get("n"))
                    elif name in ("arange", "linspace"):
                        for value in given.values():
                            shape_names(value)
                    elif builtin.random:
                        shape_names(given.get("size"))
                        if name == "choice":
                            shape_names(given.get("a"))
    for var in model.state.values():
        for code in var.shape:
            shape_names(code.expr)
    static &= set(model.params) | set(model.lets)
    # a static let fixes what it is computed from
    changed = True
    while changed:
        changed = False
        for name, code in model.lets.items():
            if name in static:
                for dep in code.names & (set(model.params) | set(model.lets)):
                    if dep not in static:
                        static.add(dep)
                        changed = True
    return static


# --- the module -----------------------------------------------------------------------------


@dataclass
class _Function:
    lines: list[str]
    sites: list[str]


def _space_check(space, what: str) -> None:
    if space.kind not in _SPACES:
        raise JaxUnsupported(
            f"{space.kind} {what} spaces have no JAX counterpart", path=(f"{what}_space",)
        )
    for _, child in space.children:
        _space_check(child, what)


def _prelude(
    printer: JaxPrinter, body: list[str], extra_loaded: set[str] = frozenset()
) -> list[str]:
    """The lines a function body needs before it: lets it reads (computed from params, in
    spec order) and the draw keys."""
    loaded = set(extra_loaded) | _loaded(body)
    lets = [n for n in printer.model.lets if n not in printer.static_names]
    needed: list[str] = []
    lines: list[str] = []
    # lets in spec order, each once, with what they read in turn
    want = {n for n in lets if n in loaded}
    changed = True
    while changed:
        changed = False
        for name in lets:
            if name in want:
                for dep in printer.model.lets[name].names:
                    if dep in lets and dep not in want:
                        want.add(dep)
                        changed = True
    for name in lets:
        if name in want:
            needed.append(name)
            lines.append(f"{name} = {printer.expr(printer.model.lets[name].expr)}")
    return lines


def _loaded(body: list[str]) -> set[str]:
    """The names a function body (lines at indent 0 or more) mentions."""
    text = "\n".join(body)
    tree = ast.parse(text if text.strip() else "pass")
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _function_body(printer: JaxPrinter, stmts: list[ast.stmt], extra: list[str]) -> _Function:
    printer.sites = []
    printer.scope = _Scope()
    printer.block(stmts, None, 0)
    lines = printer.scope.lines + extra
    return _Function(lines, list(printer.sites))


def emit_jax_env(model: EnvModel, source_name: str) -> tuple[str, str]:
    """The JAX module `<module>_jax` for a spec: (name, source). Raises JaxUnsupported,
    located in the spec."""
    no_roll: set[int] = set()
    demoted: set[int] = set()
    while True:
        try:
            return _emit_jax_env(model, source_name, no_roll, demoted)
        except _RollBack as rollback:  # a rolled loop's local is read after it: unroll it
            no_roll.add(rollback.loop)
        except JaxUnsupported as exc:
            if demoted - no_roll:  # a static local a rolled loop made traced was needed
                no_roll |= demoted
                continue
            exc.locate(model)
            raise


def _emit_jax_env(
    model: EnvModel, source_name: str, no_roll: set[int], demoted: set[int]
) -> tuple[str, str]:
    if model.spec.hooks is not None and (
        model.spec.hooks.after_reset or model.spec.hooks.after_step
    ):
        raise JaxUnsupported(
            "hooks are trusted Python that runs on the env object", path=("hooks",)
        )
    _space_check(model.observation_space, "observation")
    _space_check(model.action_space, "action")
    for name, var in model.state.items():
        if not var.type.is_numeric:
            raise JaxUnsupported(
                f"the state variable {name!r} is not numeric", path=("state", name)
            )
    printer = JaxPrinter(model)
    printer.no_roll, printer.demoted = no_roll, demoted
    # a MultiDiscrete mask: a tuple of arrays in info, after a step and at reset
    mask_tuple = bool(model.action_mask) and model.action_space.kind == "MultiDiscrete"
    module = f"{model.module_name}_jax"
    out: list[str] = []
    state_names = list(model.state)

    # reset
    scope = printer.begin("_key")
    scope.defined.add("elapsed_steps")
    scope.lines.append("elapsed_steps = 0")
    for name, var in model.state.items():
        value = printer.expr(var.init.expr)
        if var.shape:
            dims = ", ".join(printer.static.expr(c.expr) for c in var.shape)
            value = f"jnp.broadcast_to({value}, ({dims},))"
        printer.emit(f"{name} = {value}", 0)
        scope.defined.add(name)
    printer.block(model.reset.stmts, None, 0)
    reset_sites = list(printer.sites)
    reset_body = scope.lines
    reset_body.append("return State(")
    for name, var in model.state.items():
        reset_body.append(f"    {name}=_jx.cast({name}, {var.type.dtype!r}),")
    reset_body.append("    elapsed_steps=_jx.cast(elapsed_steps, 'int64'),")
    reset_body.append(")")
    reset_lines = _with_prelude(printer, reset_body, reset_sites, set())

    # observation
    printer.begin(None)
    obs_value = _observation(printer, model.observation)
    obs_body = [f"return {obs_value}"]
    obs_lines = _unpack_state(model, obs_body) + obs_body
    obs_lines = _with_prelude(printer, obs_lines, [], set())
    if printer.sites:
        raise JaxUnsupported("random draws in the observation")

    # step
    scope = printer.begin("_key")
    scope.defined |= set(state_names) | {"elapsed_steps", "action"}
    printer.block(model.step.stmts, None, 0)
    scope.lines.append(f"terminated = _jx.cast({printer.expr(model.terminated.expr)}, 'bool')")
    scope.lines.append(f"reward = _jx.cast({printer.expr(model.reward.expr)}, 'float64')")
    info_items = []
    for key, code in model.info.items():
        if not code.type.is_numeric:
            raise JaxUnsupported(f"the info entry {key!r} is not numeric", path=code.path)
        value = printer.expr(code.expr)
        info_items.append(f"{literal(key)}: _jx.cast({value}, {code.type.dtype!r})")
    if mask_tuple:
        info_items.append(f"'action_mask': {_mask_tuple(printer, model)}")
    scope.lines.append(f"info = {{{', '.join(info_items)}}}")
    step_sites = list(printer.sites)
    step_body = ["elapsed_steps = _state.elapsed_steps + 1", *scope.lines]
    step_body.append("_next_state = State(")
    for name, var in model.state.items():
        step_body.append(f"    {name}=_jx.cast({name}, {var.type.dtype!r}),")
    step_body.append("    elapsed_steps=elapsed_steps,")
    step_body.append(")")
    step_body.append("return _next_state, reward, terminated, info")
    step_lines = _unpack_state(model, step_body) + step_body
    step_lines = _with_prelude(printer, step_lines, step_sites, set())

    # reset_info: the info entries the single env also gives at reset (those that read only
    # the state: the action mask); the faces give them for the state an observation shows
    printer.begin(None)
    reset_items = [
        f"{literal(k)}: _jx.cast({printer.expr(model.info[k].expr)}, {model.info[k].type.dtype!r})"
        for k in model.reset_info
    ]
    if mask_tuple:
        reset_items.append(f"'action_mask': {_mask_tuple(printer, model)}")
    reset_info_body = [f"return {{{', '.join(reset_items)}}}"]
    if printer.sites:
        raise JaxUnsupported("random draws in the info a reset gives")
    reset_info_lines = _with_prelude(
        printer, _unpack_state(model, reset_info_body) + reset_info_body, [], set()
    )
    reset_info_keys = [*model.reset_info, *(["action_mask"] if mask_tuple else [])]

    # render
    render_lines: list[str] | None = None
    if model.rgb_array is not None:
        printer.begin(None)
        code = model.rgb_array
        if code.expr is not None:
            body = [f"return _jx.cast({printer.expr(code.expr)}, 'uint8')"]
        else:
            printer.block(code.stmts, None, 0)
            body = [*printer.scope.lines, "return _jx.cast(frame, 'uint8')"]
        if printer.sites:
            raise JaxUnsupported("random draws in rgb_array")
        render_lines = _with_prelude(printer, _unpack_state(model, body) + body, [], set())

    # spec functions, the ones traced code calls: a function only static values call (a
    # `let` table built once) runs in the reference env, as the single env runs it
    printed = [*reset_lines, *obs_lines, *step_lines, *reset_info_lines, *(render_lines or [])]
    wanted = _called_functions(printed, model)
    functions: list[tuple[str, list[str], list[str]]] = []
    while todo := [n for n in model.functions if n in wanted - {f[0] for f in functions}]:
        name = todo[0]
        fn = model.functions[name]
        printer.begin(None)
        printer.scope.defined |= set(fn.args)
        printer.block(fn.body.stmts, None, 0)
        body = [*printer.scope.lines, f"return {printer.expr(fn.returns.expr)}"]
        if printer.sites:
            raise JaxUnsupported(f"random draws in the function {name!r}")
        lines = _with_prelude(printer, body, [], set())
        functions.append((name, fn.args, lines))
        wanted |= _called_functions(lines, model)
    order = list(model.functions)
    functions.sort(key=lambda f: order.index(f[0]))

    # assemble
    dynamic = [n for n in model.params if n not in printer.static_names]
    static_params = [n for n in model.params if n in printer.static_names]
    doc = [
        f"{doc_text(model.spec.id)}: pure JAX functions generated by envgen.",
        "",
        "`State` and `Params` are pytrees; `static` is the reference env made with the static "
        "params (envgen.jax.make builds it). Draw sites, in key order:",
        "",
        *_site_docs("reset", reset_sites),
        *_site_docs("step", step_sites),
    ]
    if not reset_sites and not step_sites:
        doc.append("- none: the spec draws no random numbers")
    doc += ["", "See docs/jax.md."]
    for i, paragraph in enumerate(doc):
        hang = "  " if paragraph.startswith("- ") else ""
        lines = textwrap.wrap(
            paragraph, 96, subsequent_indent=hang, break_long_words=False, break_on_hyphens=False
        ) or [""]
        lines[0] = ('"""' if i == 0 else "") + lines[0]
        out.extend(lines)
    out.append('"""')
    out.append("")
    out.append(f"# Source: {literal(source_name)}")
    out.append(f"# sha256: {model.source_hash}")
    out.append("# Generated by envgen; do not edit. Regenerate with `envgen build`.")
    out.append("")
    out.append("from __future__ import annotations")
    out.append("")
    out.append("import math")
    out.append("from typing import Any")
    out.append("")
    out.append("import jax")
    out.append("import jax.numpy as jnp")
    out.append("import numpy as np")
    out.append("")
    out.append("from envgen.jax import _runtime as _jx")
    out.append("from envgen import runtime as _rt")
    out.append("")
    out.append(f"from . import {model.module_name} as _single")
    out.append("")
    out.append(f"ID = {literal(model.spec.id)}")
    out.append(f"SingleEnv = _single.{model.class_name}")
    out.append("#: Params fixed when the env is made (shapes, loop bounds, non-numbers).")
    out.append(f"STATIC_PARAMS = {literal(tuple(static_params))}")
    out.append("#: Params that are data (fields of `Params`, vmappable).")
    out.append(f"DATA_PARAMS = {literal(tuple(dynamic))}")
    out.append(f"RESET_DRAW_SITES = {literal(tuple(w for w, _ in reset_sites))}")
    out.append(f"STEP_DRAW_SITES = {literal(tuple(w for w, _ in step_sites))}")
    out.append(f"RENDERS = {render_lines is not None!r}")
    out.append("#: The info entries given at reset too (`reset_info`), as the single env does.")
    out.append(f"RESET_INFO = {literal(tuple(reset_info_keys))}")
    out.append("#: Why the module needs JAX's 64-bit mode (an integer beyond int32), or None.")
    out.append(f"_NEEDS_X64 = {literal(_needs_x64(model))}")
    out.append("")
    out.append("")
    out.append("@_jx.struct")
    out.append("class State(_jx.Struct):")
    out.append('    """One env\'s state (a pytree); `elapsed_steps` counts steps since reset."""')
    out.append("")
    for name in state_names:
        out.append(f"    {name}: jax.Array")
    out.append("    elapsed_steps: jax.Array")
    out.append("")
    out.append("")
    out.append("@_jx.struct")
    out.append("class Params(_jx.Struct):")
    out.append('    """The data params (a pytree: vmap over them) and the time limit."""')
    out.append("")
    for name in dynamic:
        out.append(f"    {name}: Any")
    out.append("    max_steps_in_episode: Any")
    out.append("")
    out.append("")
    out.append("def default_params(_static: Any) -> Params:")
    out.append('    """The params of the reference env `static` (made with the overrides)."""')
    out.append("    _limit = _static.max_episode_steps")
    out.append("    return Params(")
    for name in dynamic:
        out.append(f"        {name}=_static.{name},")
    out.append("        max_steps_in_episode=2**31 - 1 if _limit is None else int(_limit),")
    out.append("    )")
    out.append("")
    out.append("")
    for fname, args, lines in functions:
        arglist = "".join(f", {a}: Any" for a in args)
        out.append(f"def _fn_{fname}(params: Params, _static: Any{arglist}) -> Any:")
        out.append(f'    """The spec\'s function `{fname}`."""')
        out.extend(f"    {line}" for line in lines)
        out.append("")
        out.append("")
    out.append("def reset(_key: Any, params: Params, _static: Any) -> State:")
    out.append('    """The state after reset: the state `init` values, then the `reset` block."""')
    out.extend(f"    {line}" for line in reset_lines)
    out.append("")
    out.append("")
    out.append("def observe(_state: State, params: Params, _static: Any) -> Any:")
    out.append('    """The observation of `state`."""')
    out.extend(f"    {line}" for line in obs_lines)
    out.append("")
    out.append("")
    out.append(
        "def step(_key: Any, _state: State, action: Any, params: Params, _static: Any) -> Any:"
    )
    out.append('    """(next_state, reward, terminated, info) after `action` (no time limit)."""')
    out.extend(f"    {line}" for line in step_lines)
    out.append("")
    out.append("")
    out.append("def reset_info(_state: State, params: Params, _static: Any) -> dict[str, Any]:")
    out.append('    """The info entries of `RESET_INFO` for `state` (the action mask, ...)."""')
    out.extend(f"    {line}" for line in reset_info_lines)
    if render_lines is not None:
        out.append("")
        out.append("")
        out.append("def render(_state: State, params: Params, _static: Any) -> jax.Array:")
        out.append('    """The rgb_array frame (uint8, H x W x 3) of `state`."""')
        out.extend(f"    {line}" for line in render_lines)
    source = "\n".join(out) + "\n"
    source = _drop_unused_imports(source)
    return module, source


def _with_prelude(
    printer: JaxPrinter, body: list[str], sites: list[str], extra: set[str]
) -> list[str]:
    printer.scope = _Scope()
    lets = _prelude(printer, body, extra)
    shared = sum(1 for _, is_shared in sites if is_shared)
    keyed = len(sites) - shared
    total = keyed + (1 if shared else 0)
    names = [f"_keys[{i}]" for i in range(total)] if total > 1 else ["_key"]
    head = [f"_keys = _jx.split(_key, {total})"] if total > 1 else []
    if shared:
        head.append(f"_u = _jx.uniforms({names[0]}, {shared})")
        names = names[1:]
    text = "\n".join([*head, *lets, *body])
    for i in range(keyed):
        text = text.replace(f"__KEY{i}__", names[i])
    return tidy_block(text.splitlines())


def _needs_x64(model: EnvModel) -> str | None:
    """Where the spec writes an integer constant that int32 cannot hold (JAX's integers
    are int32 unless x64 is on, and it refuses such a Python int), or None."""
    from envgen.compiler._limits import fold

    for code in model.codes():
        for root in _code_roots(code):
            for node in ast.walk(root):
                if not isinstance(node, (ast.Constant, ast.BinOp, ast.UnaryOp)):
                    continue
                value = fold(node)
                if isinstance(value, int) and not -(2**31) <= value < 2**31:
                    location = model.document.code_location(
                        code.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
                    )
                    where = f"{'.'.join(str(p) for p in code.path)}, line {location.line}"
                    return f"the integer {value} ({where}) does not fit in int32"
    for name, t in model.param_types.items():
        default = model.params[name].default
        if (
            t.is_scalar
            and isinstance(default, int)
            and not isinstance(default, bool)
            and not -(2**31) <= default < 2**31
        ):
            return f"the param {name!r} defaults to {default}, which does not fit in int32"
    return None


def _called_functions(lines: list[str], model: EnvModel) -> set[str]:
    """The spec functions that printed lines call as `_fn_<name>(...)`."""
    names = _loaded(lines)
    return {n for n in model.functions if f"_fn_{n}" in names}


def _site_docs(function: str, sites: list[tuple[str, bool]]) -> list[str]:
    """Where each draw of `function` gets its randomness (docs/jax.md, key splitting)."""
    shared = sum(1 for _, is_shared in sites if is_shared)
    keyed = len(sites) - shared
    total = keyed + (1 if shared else 0)
    lines, j, k = [], 0, 1 if shared else 0
    for where, is_shared in sites:
        key = f"key {0 if is_shared else k}" if total > 1 else "the key itself"
        if is_shared:
            lines.append(f"- {function}: {doc_text(where)}: value {j} of one uniform draw ({key})")
            j += 1
        else:
            lines.append(f"- {function}: {doc_text(where)}: {key}")
            k += 1
    return lines


def _unpack_state(model: EnvModel, body: list[str]) -> list[str]:
    loaded = _loaded(body)
    lines = [f"{name} = _state.{name}" for name in model.state if name in loaded]
    if "elapsed_steps" in loaded and not any(b.startswith("elapsed_steps =") for b in body):
        lines.append("elapsed_steps = _state.elapsed_steps")
    return lines


def _observation(printer: JaxPrinter, obs: ObservationModel) -> str:
    space = obs.space
    if space.kind == "Dict":
        items = ", ".join(
            f"{literal(k)}: {_observation(printer, child)}" for k, child in obs.children
        )
        return f"{{{items}}}"
    if space.kind == "Tuple":
        items = ", ".join(_observation(printer, child) for _, child in obs.children)
        return f"({items}{',' if len(obs.children) == 1 else ''})"
    assert obs.code is not None and obs.code.expr is not None
    if obs.check_shape_at is not None:  # the single env checks it each time; jit cannot
        raise JaxUnsupported(
            "an observation whose length the compiler could not tell from the params",
            path=obs.code.path,
        )
    value = printer.expr(obs.code.expr)
    dtype = space.dtype or ("int64" if space.kind in ("Discrete", "MultiDiscrete") else "int8")
    if space.kind == "Box" and space.shape and None not in space.shape:
        return f"jnp.broadcast_to(_jx.cast({value}, {dtype!r}), {tidy(repr(tuple(space.shape)))})"
    return f"_jx.cast({value}, {dtype!r})"


def _mask_tuple(printer: JaxPrinter, model: EnvModel) -> str:
    """A MultiDiscrete action mask: one int8 array per dimension, as the single env gives."""
    masks = [f"_jx.cast({printer.expr(c.expr)}, 'int8')" for c in model.action_mask]
    return f"({', '.join(masks)},)"


def _drop_unused_imports(source: str) -> str:
    tree = ast.parse(source)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    lines = source.splitlines()
    keep = []
    for line in lines:
        if line == "import math" and "math" not in used:
            continue
        if line == "import numpy as np" and "np" not in used:
            continue
        if line == "from envgen import runtime as _rt" and "_rt" not in used:
            continue
        if line == "import jax" and "jax" not in used:
            continue
        keep.append(line)
    return "\n".join(keep) + "\n"
