"""Translate checked dynamics code into Python source for the single-env backend.

Scalars stay plain Python numbers and use `math` (fast); arrays use NumPy. Every user
string that reaches the output goes through `repr`, so it can only ever be a literal.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

from envgen.compiler.functions import BUILTINS, CONSTANTS
from envgen.compiler.ir import BINARY_OPERATORS as _BINOP
from envgen.compiler.ir import Code, EnvModel, FunctionVariant, Symbol
from envgen.compiler.types import ANY, T, list_literal_dtype

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
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not ", ast.Invert: "~"}

NP_DTYPE = {"bool": "np.bool_"}
_PYTHON_TYPE = {"float": "float", "int": "int", "bool": "bool"}


def np_dtype(name: str) -> str:
    return NP_DTYPE.get(name, f"np.{name}")


def literal(value: object) -> str:
    """A Python literal for spec data (numbers, strings, lists, mappings), via repr."""
    if isinstance(value, float):
        # Spelled without `math`: data literals also go where nothing imports it (module
        # constants, param defaults, the registry's wrapper keywords).
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if isinstance(value, str) and len(value) > 60:
        # Implicit concatenation in parentheses keeps lines short (ruff cannot split strings).
        chunks, rest = [], value
        while rest:
            cut = 48
            space = rest.rfind(" ", 20, 56)
            if len(rest) > 56 and space > 0:
                cut = space + 1
            chunks.append(rest[:cut])
            rest = rest[cut:]
        return "(" + " ".join(repr(chunk) for chunk in chunks) + ")"
    if isinstance(value, (bool, int, str)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not spec data: {value!r}")


class UnresolvedName(AssertionError):
    """A name the analysis did not resolve reached a printer (a compiler bug)."""

    def __init__(self, node: ast.Name) -> None:
        super().__init__(f"the name '{node.id}' was not resolved")
        self.name = node.id
        self.node = node


class Translator:
    """Spells checked DSL syntax trees as Python for one scope of a generated method."""

    #: Python numbers follow the language's number rules (docs/spec.md, "Numbers") through
    #: envgen.runtime.numeric; printers whose scalars are not Python numbers (the Numba
    #: kernel's) turn this off.
    number_rules = True

    def __init__(self, model: EnvModel, *, state_on_self: bool = False) -> None:
        self.model = model
        self.state_on_self = state_on_self
        self.uses: set[str] = set()  # module-level helpers needed (math, _draw, ...)
        #: exact mode prints the runtime's IEEE helpers for Python float operations that
        #: can raise; `statement` prints an assignment plainly first, inside `try`
        self.exact = True
        self.raising = False  # set when a printed operation can raise on Python numbers
        self.loop_bounds: dict[str, tuple[int, int]] = {}  # loop variables' proven bounds
        #: int_bounds by id(node), with the node kept alive so that its id is never reused:
        #: expr() asks for the bounds of every node it prints, and each answer walks the
        #: subtree (a let's expression at each use), so without it a chain of n operations
        #: costs n² (a node's loop variables have the same bounds wherever it is printed)
        self._bounds: dict[int, tuple[ast.expr, tuple[int, int] | None]] = {}
        self._signs: dict[int, tuple[ast.expr, int]] = {}  # _sign by id(node), the same way

    # -- names

    def name(self, node: ast.Name) -> str:
        symbol: Symbol | None = self.model.symbols.get(id(node))
        name = node.id
        if symbol is None:
            # The analysis resolves every name it accepts; printing a bare one would be a
            # NameError at step time, so it is a compiler bug, reported as one.
            raise UnresolvedName(node)
        if symbol.kind == "constant":
            if name not in CONSTANTS:
                raise UnresolvedName(node)
            spelled = CONSTANTS[name][0]
            if spelled.startswith("math."):
                self.uses.add("math")
            return spelled
        kind = symbol.kind
        if kind in ("param", "let"):
            return f"self.{name}"
        if kind == "state" and self.state_on_self:
            return f"self.{name}"
        if kind == "special" and name == "elapsed_steps":
            return "self._elapsed_steps"
        return name

    def type_of(self, node: ast.AST) -> T:
        return self.model.types.get(id(node), ANY)

    # -- expressions

    def expr(self, node: ast.expr, ring_parent: bool = False) -> str:
        method: Callable[[ast.expr], str] = getattr(self, f"_{type(node).__name__}")
        text = method(node)
        if self.number_rules and not ring_parent and self._may_overflow(node):
            # int64 wraps around (docs/spec.md, "Numbers"); a Python int does not. `+ - *`
            # commute with the wrap, so one wrap at the root of each chain is enough.
            self.uses.add("numeric")
            text = f"_num.wrap64({text})"
        if self.number_rules and id(node) in self.model.int64_operands:
            # a plain int meeting a narrow int it may not fit: int64 there, as the IR says
            # (NEP 50 would take it as the narrow dtype and raise)
            text = f"np.int64({text})"
        return text

    # -- the number rules (docs/spec.md, "Numbers"; envgen/runtime/numeric.py)

    def _python_int(self, node: ast.expr) -> bool:
        t = self.type_of(node)
        return t.weak and t.is_scalar and t.kind == "int"

    def _ring(self, node: ast.expr) -> bool:
        """An int64 operation whose operands may be left unwrapped (it commutes with the
        wrap to 64 bits)."""
        if not self.number_rules:
            return False
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, _RING_OPS) and self._python_int(node)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, (ast.USub, ast.UAdd)) and self._python_int(node)
        return False

    def _may_overflow(self, node: ast.expr) -> bool:
        if not self._python_int(node):
            return False
        if isinstance(node, ast.BinOp):
            return self._op_may_overflow(node.op, node.left, node.right)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub):
                return False
        elif not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "abs"
            and node.func.id not in self.model.functions
        ):
            return False
        return not _in_int64(self.int_bounds(node))

    def _op_may_overflow(self, op: ast.operator, left: ast.expr, right: ast.expr) -> bool:
        """Whether Python ints `left op right` may leave int64 (`x = x op y` and `x op= y`
        both ask)."""
        if isinstance(op, ast.FloorDiv):
            # only INT64_MIN // -1 leaves the range
            divisor = self.int_bounds(right)
            return divisor is None or divisor[0] <= -1 <= divisor[1]
        if not isinstance(op, _RING_OPS):
            return False
        return not _in_int64(self._op_bounds(op, left, right))

    def int_bounds(self, node: ast.expr) -> tuple[int, int] | None:
        """Bounds of an integer value the analysis can prove (literals, bounded params, a
        Discrete action, and + - * // % of those), else None."""
        cached = self._bounds.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        bounds = self._int_bounds(node)
        self._bounds[id(node)] = (node, bounds)
        return bounds

    def _int_bounds(self, node: ast.expr) -> tuple[int, int] | None:
        t = self.type_of(node)
        if t.dtype == "bool" and t.is_scalar:
            return (0, 1)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return (int(node.value), int(node.value))
        if isinstance(node, ast.Name):
            return self._name_bounds(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "len"
            and node.func.id not in self.model.functions
        ):
            return (0, _MAX_LENGTH)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.int_bounds(node.operand)
            return None if inner is None else (-inner[1], -inner[0])
        if isinstance(node, ast.IfExp):
            a, b = self.int_bounds(node.body), self.int_bounds(node.orelse)
            return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
        if not isinstance(node, ast.BinOp):
            return None
        return self._op_bounds(node.op, node.left, node.right)

    def _op_bounds(
        self, op: ast.operator, left_node: ast.expr, right_node: ast.expr
    ) -> tuple[int, int] | None:
        """Bounds of `left op right` (of a BinOp, or of an augmented assignment)."""
        right = self.int_bounds(right_node)
        if isinstance(op, (ast.FloorDiv, ast.Mod)) and right and right[0] >= 0:
            # a divisor of 0 gives 0 (NumPy's rule)
            if isinstance(op, ast.Mod):
                return (0, max(right[1] - 1, 0))
            left = self.int_bounds(left_node)
            if left is None or right[1] < 1:
                return None if left is None else (0, 0)
            low = max(right[0], 1)
            ends = [0, left[0] // low, left[0] // right[1], left[1] // low, left[1] // right[1]]
            return (min(ends), max(ends))
        left = self.int_bounds(left_node)
        if left is None or right is None:
            return None
        if isinstance(op, ast.Add):
            return (left[0] + right[0], left[1] + right[1])
        if isinstance(op, ast.Sub):
            return (left[0] - right[1], left[1] - right[0])
        if isinstance(op, ast.Mult):
            ends = [a * b for a in left for b in right]
            return (min(ends), max(ends))
        return None

    def _name_bounds(self, node: ast.Name) -> tuple[int, int] | None:
        symbol = self.model.symbols.get(id(node))
        if symbol is None:
            return None
        if symbol.kind == "param":
            param = self.model.params.get(node.id)
            if param is None or param.param_type != "int":
                return None
            low = (
                param.ge
                if param.ge is not None
                else (None if param.gt is None else math.floor(param.gt) + 1)
            )
            high = (
                param.le
                if param.le is not None
                else (None if param.lt is None else math.ceil(param.lt) - 1)
            )
            # an int param's value is an int64 (checked when the env is made)
            low = _INT64_MIN if low is None else math.ceil(low)
            high = _INT64_MAX if high is None else math.floor(high)
            return (low, high)
        # a multi-agent model has one action space per role, none of its own:
        # its actions get no bounds (the printer then wraps, which is always right)
        action_space = getattr(self.model, "action_space", None)
        if symbol.kind == "action" and action_space is not None and action_space.kind == "Discrete":
            n = action_space.args.get("n")
            start = action_space.args.get("start")
            n_value = _constant_int(n.expr if n is not None else None)
            start_value = 0 if start is None or start.expr is None else _constant_int(start.expr)
            if n_value is None or start_value is None:
                return None
            return (start_value, start_value + n_value - 1)
        if symbol.kind == "let" and node.id in self.model.lets:
            let = self.model.lets[node.id].expr
            return None if let is None else self.int_bounds(let)
        if symbol.kind == "loop" and node.id in self.loop_bounds:
            return self.loop_bounds[node.id]
        if symbol.kind == "special" and node.id == "elapsed_steps":
            return (0, 2**62)
        return None

    def _zero_free(self, node: ast.expr) -> bool:
        """Whether a divisor is proven nonzero (a nonzero literal, bounds without 0)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value != 0
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return self._zero_free(node.operand)
        return self._sign(node) != 0

    def _sign(self, node: ast.expr) -> int:
        """1 or -1 where a scalar number is proven positive or negative, else 0: ints by
        their bounds (within int64, so no wrap can make 0), floats from literals, float
        params' limits (checked when the env is made; never NaN) and sums of those, through
        `let` values (a product or quotient of floats can underflow to 0: not followed)."""
        cached = self._signs.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        sign = self._find_sign(node)
        self._signs[id(node)] = (node, sign)
        return sign

    def _find_sign(self, node: ast.expr) -> int:
        t = self.type_of(node)
        if not (t.is_scalar and t.is_numeric):
            return 0
        if t.kind == "int":
            bounds = self.int_bounds(node)
            if not _in_int64(bounds):
                return 0
            assert bounds is not None
            return 1 if bounds[0] > 0 else -1 if bounds[1] < 0 else 0
        if t.kind != "float":
            return 0
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return (node.value > 0) - (node.value < 0)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self._sign(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._sign(node.left), self._sign(node.right)
            return left if left == right else 0  # inf + inf is inf; -inf + inf would be nan
        if isinstance(node, ast.Name):
            symbol = self.model.symbols.get(id(node))
            if symbol is not None and symbol.kind == "let" and node.id in self.model.lets:
                let = self.model.lets[node.id].expr
                return 0 if let is None else self._sign(let)
            param = self.model.params.get(node.id)
            if symbol is None or symbol.kind != "param" or param is None:
                return 0
            if param.param_type != "float" or param.nullable:
                return 0
            if (param.gt is not None and param.gt >= 0) or (param.ge is not None and param.ge > 0):
                return 1
            if (param.lt is not None and param.lt <= 0) or (param.le is not None and param.le < 0):
                return -1
        return 0

    def _python_numbers(self, *nodes: ast.expr) -> bool:
        """Whether the single env holds these values as plain Python numbers (their
        arithmetic raises where NumPy's gives inf, nan or 0)."""
        return all(
            self.type_of(n).weak and self.type_of(n).is_scalar and self.type_of(n).is_numeric
            for n in nodes
        )

    def _maybe_python(self, node: ast.expr) -> bool:
        """Whether the single env may hold this value as a plain Python number: a weak one,
        or a Python-level choice (`a if c else b`, builtin min/max/clip of scalars) that may
        return such an operand as it is, whatever the analysis typed the choice
        (`max(0.0, f)` of a float32 `f` is float32 when f wins, the Python 0.0 otherwise)."""
        t = self.type_of(node)
        if not (t.is_scalar and t.is_numeric):
            return False
        if t.weak:
            return True
        if isinstance(node, ast.IfExp):
            return self._maybe_python(node.body) or self._maybe_python(node.orelse)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self._maybe_python(node.operand)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "abs"
            and node.func.id not in self.model.functions
            and len(node.args) == 1
        ):
            return self._maybe_python(node.args[0])
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("min", "max", "clip")
            and node.func.id not in self.model.functions
        ):
            return any(self._maybe_python(a) for a in node.args)
        return False

    def arithmetic(
        self, op: ast.operator, left: str, right: str, left_node: ast.expr, right_node: ast.expr
    ) -> str:
        """`left op right` under the number rules: a Python float operation that can raise
        is marked `raising` (the statement runs it in `try`, see `statement`) and, in exact
        mode, calls the runtime's IEEE version."""
        if (
            self.number_rules
            and isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod))
            and not self._python_numbers(left_node, right_node)
            and self._maybe_python(left_node)
            and self._maybe_python(right_node)
            and not self._zero_free(right_node)
        ):
            # NumPy operands as the analysis types them, but a choice may hand Python
            # numbers to the operator at run time (hostile trial 6 Q1: 1.0 / max(0.0, f))
            self.raising = True
            if self.exact:
                self.uses.add("numeric")
                return f"_num.{_EXACT_DIVISION[type(op)]}({left}, {right})"
        if (
            self.number_rules
            and isinstance(op, ast.Pow)
            and not self._python_numbers(left_node, right_node)
            and self._maybe_python(left_node)
            and self._maybe_python(right_node)
        ):
            # Python's ** of two plain floats raises or gives a complex number where NumPy's
            # gives inf or nan (max(0.0, f) ** -1.0; hostile trial 6 Q10): each run-time type
            # computes as it would, without either
            self.uses.add("numeric")
            return f"_num.either_power({left}, {right})"
        if self.number_rules and self._python_numbers(left_node, right_node):
            if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)) and not self._zero_free(right_node):
                integers = self.type_of(left_node).kind in ("int", "bool") and self.type_of(
                    right_node
                ).kind in ("int", "bool")
                if (
                    integers
                    and isinstance(op, (ast.FloorDiv, ast.Mod))
                    and isinstance(right_node, (ast.Name, ast.Constant))
                ):
                    # NumPy's integer rule, inline (a name is cheap to read twice)
                    return f"({left}) {_BINOP[type(op)]} ({right}) if ({right}) else 0"
                self.raising = True
                if self.exact:
                    self.uses.add("numeric")
                    name = _EXACT_DIVISION[type(op)]
                    return f"_num.{name}({left}, {right})"
            if isinstance(op, ast.Pow):
                # float64, as the analysis types it (Python's int ** int is an exact int,
                # its float ** a complex for a negative base)
                self.raising = True
                if self.exact:
                    self.uses.add("numeric")
                    return f"_num.power({left}, {right})"
                self.uses.add("math")
                return f"math.pow({left}, {right})"
        return f"({left}) {_BINOP[type(op)]} ({right})"

    def _Constant(self, node: ast.Constant) -> str:
        return literal(node.value)

    def _Name(self, node: ast.Name) -> str:
        return self.name(node)

    def _operand(self, node: ast.expr, ring: bool) -> str:
        return self.expr(node, ring_parent=True) if ring else self.expr(node)

    def _BinOp(self, node: ast.BinOp) -> str:
        ring = self._ring(node)
        left = self._operand(node.left, ring)
        right = self._operand(node.right, ring)
        if self._numpy_int(node) and isinstance(node.op, _RING_OPS):
            return f"np.{_UFUNCS[type(node.op)]}({left}, {right})"
        return self.arithmetic(node.op, left, right, node.left, node.right)

    def _UnaryOp(self, node: ast.UnaryOp) -> str:
        operand = self._operand(node.operand, self._ring(node))
        if self._numpy_int(node) and isinstance(node.op, ast.USub):
            return f"np.negative({operand})"
        return f"{_UNARY[type(node.op)]}({operand})"

    def _numpy_int(self, node: ast.expr) -> bool:
        """A narrow NumPy integer scalar (int8(x), uint8 state), whose `+ - *` wrap as the
        number rules say but, as scalars, with NumPy's "overflow encountered" RuntimeWarning
        (an error under -W error): their ufuncs wrap silently, as arrays do. (An int64 one
        would need 2**63 to warn: it keeps the cheaper operator.)"""
        t = self.type_of(node)
        return self.number_rules and t.is_scalar and not t.weak and t.dtype in _NARROW_INTS

    def _BoolOp(self, node: ast.BoolOp) -> str:
        op = " and " if isinstance(node.op, ast.And) else " or "
        return op.join(f"({self.expr(v)})" for v in node.values)

    def _Compare(self, node: ast.Compare) -> str:
        parts = [f"({self.expr(node.left)})"]
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts.append(f"{_CMP[type(op)]} ({self.expr(right)})")
        return " ".join(parts)

    def _IfExp(self, node: ast.IfExp) -> str:
        text = (
            f"({self.expr(node.body)}) if ({self.expr(node.test)}) else ({self.expr(node.orelse)})"
        )
        return self._selected(text, [node.body, node.orelse], node)

    def _selected(self, text: str, operands: list[ast.expr], node: ast.expr) -> str:
        """A Python-level choice among scalars (`a if c else b`, builtin min/max/clip)
        returns one of them as it is: where the analysis made a plain-int operand int64 (it
        may not fit the narrow int it meets), the choice is int64 whichever operand it
        returns; where it typed the choice as a narrow NumPy integer (int8, uint8, ...) and
        an operand is a plain Python int, the choice is converted to it, so that what
        follows wraps as the IR says whichever operand won (`max(100, c) * 3` of an int8 c
        is 44, not 300; hostile trial 6 Q11). A float choice is left as Python gives it:
        Gymnasium's own MountainCarContinuous computes with the Python float its clip of a
        float32 action returns, and envgen replays it exactly (`_maybe_python` guards the
        operations such a value could make raise)."""
        if self.number_rules and any(id(n) in self.model.int64_operands for n in operands):
            return f"np.int64({text})"
        t = self.type_of(node)
        if (
            self.number_rules
            and t.is_scalar
            and t.is_numeric
            and not t.weak
            and t.kind == "int"
            and t.dtype != "int64"
            and any(self.type_of(n).weak or self.type_of(n).dtype != t.dtype for n in operands)
        ):
            return f"{np_dtype(t.dtype)}({text})"
        return text

    def _List(self, node: ast.List) -> str:
        t = self.type_of(node)
        inner = ", ".join(self.expr(e) for e in node.elts)
        if t.dtype in ("str", "tuple"):  # strings; the arrays concatenate()/stack() join
            return f"[{inner}]"
        elements = [self.type_of(e) for e in node.elts]
        if (
            t.is_numeric
            and all(e.is_numeric for e in elements)
            and list_literal_dtype(elements) != t.dtype
        ):
            # np.array([np.float32(x), 1.0]) would be float64: the analysis says float32
            # (NEP 50, as arithmetic on the same values gives), and so does the array.
            return f"np.array([{inner}], dtype={np_dtype(t.dtype)})"
        return f"np.array([{inner}])"

    def _Tuple(self, node: ast.Tuple) -> str:
        inner = ", ".join(self.expr(e) for e in node.elts)
        return f"({inner}{',' if len(node.elts) == 1 else ''})"

    def _Slice(self, node: ast.Slice) -> str:
        lower = self.expr(node.lower) if node.lower else ""
        upper = self.expr(node.upper) if node.upper else ""
        text = f"{lower}:{upper}"
        if node.step is not None:
            text += f":{self.expr(node.step)}"
        return text

    def _Subscript(self, node: ast.Subscript) -> str:
        index = node.slice
        if isinstance(index, ast.Tuple):
            inner = ", ".join(self.expr(e) for e in index.elts)
        else:
            inner = self.expr(index)
        return f"({self.expr(node.value)})[{inner}]"

    def _Call(self, node: ast.Call) -> str:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if name in self.model.functions:
            args = ", ".join(self.expr(a) for a in node.args)
            return f"self.{function_method(self.model, node)}({args})"
        builtin = BUILTINS[name]
        positional = [self.expr(a) for a in node.args]
        keywords = {k.arg: self.expr(k.value) for k in node.keywords if k.arg}
        all_scalar = all(self.type_of(a).is_scalar for a in node.args) and all(
            self.type_of(k.value).is_scalar for k in node.keywords
        )
        if builtin.variadic:
            if len(positional) == 1:
                if "axis" in keywords:
                    return f"np.{name}({positional[0]}, axis={keywords['axis']})"
                return f"np.{name}({positional[0]})"
            if all_scalar:
                return self._selected(f"{name}({', '.join(positional)})", list(node.args), node)
            fn = "np.minimum" if name == "min" else "np.maximum"
            text = positional[0]
            for other in positional[1:]:
                text = f"{fn}({text}, {other})"
            return text
        has_size = "size" in keywords or len(positional) > _size_index(builtin)
        use_scalar = builtin.scalar is not None and all_scalar and not has_size
        if name == "square" and use_scalar:
            # x * x, as np.square computes it: Python's x ** 2 calls the C library's pow(),
            # which differs from x * x in the last bit for about 0.1% of x.
            arg = _argument(node, builtin.params, "x")
            assert arg is not None  # the analysis checked the arguments
            return self.square(arg, self.expr(arg))
        template = builtin.scalar if use_scalar else builtin.array
        if builtin.axis is not None and _argument(node, builtin.params, "axis") is not None:
            template = builtin.axis
        assert template is not None
        cast = self._int_cast(node, name, use_scalar) if self.number_rules else None
        if cast is not None:
            template = cast
        if self.number_rules and use_scalar and name in _RAISING_MATH:
            self.raising = True
            if self.exact:
                template = template.replace("math.", "_num.").replace(
                    "round(", "_num.round_half_even("
                )
        # Parenthesize every argument: templates put them next to operators
        # (`{x} ** 2`); tidy() removes the parentheses that turn out to be redundant.
        values = {k: f"({v})" for k, v in zip(builtin.params, positional, strict=False)}
        values.update({k: f"({v})" for k, v in keywords.items()})
        if "dtype" in builtin.params:
            dtype_node = _argument(node, builtin.params, "dtype")
            dtype = (
                dtype_node.value
                if isinstance(dtype_node, ast.Constant)
                else ("float64" if name != "full" else None)
            )
            if name == "array":  # the analysed dtype, whatever the argument's run-time one
                dtype = self.type_of(node).dtype
            values["dtype"] = np_dtype(str(dtype)) if dtype else "None"
        parts = positional + [f"{k}={v}" for k, v in keywords.items()]
        values["args"] = ", ".join(parts)
        for param in builtin.params:
            values.setdefault(param, "None")
        if "math." in template:
            self.uses.add("math")
        if "_num." in template:
            self.uses.add("numeric")
        if "_draw." in template:
            self.uses.add("draw")
        if name == "clip" and use_scalar:  # min(max(x, low), high): a choice among them
            return self._selected(tidy(template.format(**values)), list(node.args), node)
        return tidy(template.format(**values))

    def _int_cast(self, node: ast.Call, name: str, scalar: bool) -> str | None:
        """The template of a conversion to an integer type under the number rules (None
        where the builtin's own is exact): ints wrap, floats truncate and saturate, NaN
        gives 0. NumPy refuses an out-of-range Python int and leaves out-of-range floats to
        the platform."""
        dtype = "int64" if name == "int" else name
        if dtype not in _INT_DTYPES or len(node.args) != 1 or node.keywords:
            return None
        arg = self.type_of(node.args[0])
        if scalar:
            if name == "int":
                return "_num.to_int({x})" if arg.kind == "float" else None
            return f"_num.cast_int({{x}}, np.{dtype})"
        if arg.kind == "float":
            return f"_num.cast_int_array({{x}}, np.{dtype})"
        return None

    def square(self, arg: ast.expr, code: str) -> str:
        if isinstance(arg, (ast.Name, ast.Constant)):
            return tidy(f"({code}) * ({code})")
        return f"_rt.square({code})"

    # -- statements

    def block(self, stmts: list[ast.stmt], indent: int = 0) -> list[str]:
        lines: list[str] = []
        for stmt in stmts:
            lines.extend(self.statement(stmt, indent))
        return lines

    def statement(self, stmt: ast.stmt, indent: int) -> list[str]:
        pad = "    " * indent
        if isinstance(stmt, ast.Pass):
            return [f"{pad}pass"]
        if isinstance(stmt, ast.Assign):
            target = self.target(stmt.targets[0])

            def assigned() -> str:
                return self.stored(stmt.targets[0], self.expr(stmt.value), stmt.value)

            return self.guarded(pad, target, assigned, stmt.value)
        if isinstance(stmt, ast.AugAssign):
            target = self.target(stmt.target)
            current = self.target(stmt.target)

            def updated() -> str:
                ring = self.number_rules and _is_ring_op(stmt.op)
                ring = ring and self._python_int(stmt.target)
                operand = self._operand(stmt.value, ring)
                if self._numpy_int(stmt.target) and isinstance(stmt.op, _RING_OPS):
                    value = f"np.{_UFUNCS[type(stmt.op)]}({current}, {operand})"
                else:
                    value = self.arithmetic(stmt.op, current, operand, stmt.target, stmt.value)
                if (
                    self.number_rules
                    and self._python_int(stmt.target)
                    and self._op_may_overflow(stmt.op, stmt.target, stmt.value)
                ):
                    # the rule of `x = x op y` (expr), on the target's bounds
                    self.uses.add("numeric")
                    value = f"_num.wrap64({value})"
                return self.stored(stmt.target, value, None)

            return self.guarded(pad, target, updated, stmt.value)
        if isinstance(stmt, ast.If):
            lines = [f"{pad}if {self.expr(stmt.test)}:"]
            lines += self.block(stmt.body, indent + 1) or [f"{pad}    pass"]
            orelse = stmt.orelse
            while len(orelse) == 1 and isinstance(orelse[0], ast.If):
                inner = orelse[0]
                lines.append(f"{pad}elif {self.expr(inner.test)}:")
                lines += self.block(inner.body, indent + 1) or [f"{pad}    pass"]
                orelse = inner.orelse
            if orelse:
                lines.append(f"{pad}else:")
                lines += self.block(orelse, indent + 1)
            return lines
        if isinstance(stmt, ast.For):
            assert isinstance(stmt.target, ast.Name) and isinstance(stmt.iter, ast.Call)
            args = ", ".join(self.expr(a) for a in stmt.iter.args)
            lines = [f"{pad}for {self.name(stmt.target)} in range({args}):"]
            bounds = [self.int_bounds(a) for a in stmt.iter.args]
            saved = dict(self.loop_bounds)
            if len(bounds) in (1, 2) and all(b is not None for b in bounds):
                low = 0 if len(bounds) == 1 else bounds[0][0]  # type: ignore[index]
                high = bounds[-1][1] - 1  # type: ignore[index]
                self.loop_bounds[stmt.target.id] = (min(low, high), max(low, high))
            try:
                return lines + (self.block(stmt.body, indent + 1) or [f"{pad}    pass"])
            finally:
                self.loop_bounds = saved
        if isinstance(stmt, ast.Expr):
            return [f"{pad}{self.expr(stmt.value)}"]
        raise AssertionError(f"unchecked statement {stmt!r}")

    def guarded(self, pad: str, target: str, value: Callable[[], str], node: ast.expr) -> list[str]:
        """`target = value`, printed plainly where no operation in it can raise on Python
        numbers; else plainly inside `try` (free in Python 3.11 when nothing is raised),
        with the runtime's IEEE version after an exception. A value that draws or calls a
        spec function is printed exact only: running it twice would draw twice."""
        return self.guarded_lines(pad, f"{target} = ", value, node)

    def guarded_lines(
        self, pad: str, head: str, value: Callable[[], str], *nodes: ast.expr
    ) -> list[str]:
        """`head + value` (`x = ...`, `return ...`), as `guarded` prints an assignment."""
        fast, exact = self.fast_and_exact(value, *nodes)
        if exact is None:
            return [f"{pad}{head}{fast}"]
        return [
            f"{pad}try:",
            f"{pad}    {head}{fast}",
            f"{pad}except (ArithmeticError, ValueError):  # a Python number's inf or nan",
            f"{pad}    {head}{exact}",
        ]

    def fast_and_exact(self, value: Callable[[], str], *nodes: ast.expr) -> tuple[str, str | None]:
        """The code `value()` prints in plain Python, and the runtime's IEEE version of it
        to run after an exception, None where nothing in it can raise on Python numbers
        (the plain one is then the only one), or where the plain one is already exact (a
        value that draws or calls a spec function: running it twice would draw twice)."""
        self.exact, self.raising = False, False
        before = set(self.uses)
        try:
            fast = value()
        finally:
            self.exact = True
        if not self.raising:
            return fast, None
        fast_uses = self.uses - before
        self.uses.difference_update(fast_uses)  # e.g. `math` for math.pow, if unused
        exact = value()
        if any(self._draws_or_calls(node) for node in nodes):
            return exact, None
        self.uses.update(fast_uses)
        return fast, exact

    def _draws_or_calls(self, node: ast.expr) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                name = sub.func.id
                if name in self.model.functions:
                    return True
                builtin = BUILTINS.get(name)
                templates = (builtin.scalar or "", builtin.array or "") if builtin else ()
                if any("np_random" in t or "_draw." in t for t in templates):
                    return True
        return False

    def stored(self, target: ast.expr, code: str, value: ast.expr | None) -> str:
        """`code` as it is stored into `target`: state keeps its declared storage type
        (plain Python numbers for float64/int64/bool scalars), and array state never
        shares memory with another array (a view or another name)."""
        if not isinstance(target, ast.Name):
            return code
        symbol = self.model.symbols.get(id(target))
        if symbol is None or symbol.kind != "state":
            return code
        state_t = self.model.state[target.id].type
        value_t = self.type_of(value) if value is not None else self.type_of(target)
        if state_t.is_scalar:
            # Scalar state may hold a NumPy scalar after a step (a float32 into float64
            # state): the documented rule of docs/vectorization.md; the vector env follows.
            return code
        if value is None or isinstance(value, (ast.Name, ast.Subscript, ast.IfExp)):
            return f"np.array({code}, dtype={np_dtype(state_t.dtype)})"
        if value_t.dtype != state_t.dtype:
            return f"np.asarray({code}, dtype={np_dtype(state_t.dtype)})"
        return code

    def target(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Subscript):
            return self._Subscript(node)
        if isinstance(node, (ast.Tuple, ast.List)):
            return ", ".join(self.target(e) for e in node.elts)
        raise AssertionError(f"unchecked target {node!r}")

    def info_value(self, code: Code) -> str:
        """An info value with one type for the whole episode, never sharing memory with
        state: arrays are copied with their dtype, NumPy scalars get their dtype, and plain
        numbers that could come back as either int or float are converted."""
        assert code.expr is not None
        text, t, node = self.expr(code.expr), code.type, code.expr
        if not t.is_numeric:
            return text
        if not t.is_scalar:
            return f"np.array({text}, dtype={np_dtype(t.dtype)})"
        if not t.weak:
            return f"{np_dtype(t.dtype)}({text})"
        if isinstance(node, ast.Constant):
            return text
        # Weak values are plain numbers, but scalar state may hold a NumPy scalar after a
        # step (docs/vectorization.md), and `a if c else b` either kind: one type, always.
        return f"{_PYTHON_TYPE[t.kind]}({text})"

    def code(self, code: Code) -> str:
        assert code.expr is not None
        return self.expr(code.expr)


_RING_OPS = (ast.Add, ast.Sub, ast.Mult)
_UFUNCS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply"}
_NARROW_INTS = frozenset({"int8", "int16", "int32", "uint8", "uint16", "uint32"})
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_LENGTH = 2**40  # no array in memory is longer (a terabyte of int8)
_EXACT_DIVISION = {ast.Div: "div", ast.FloorDiv: "floordiv", ast.Mod: "mod"}
_INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8")
#: builtins whose scalar (math module) form raises where NumPy gives inf or nan
_RAISING_MATH = {
    *("sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan"),
    *("arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "floor", "ceil", "round", "pow"),
}


def _in_int64(bounds: tuple[int, int] | None) -> bool:
    return bounds is not None and _INT64_MIN <= bounds[0] and bounds[1] <= _INT64_MAX


def _is_ring_op(op: ast.operator) -> bool:
    return isinstance(op, _RING_OPS)


def _constant_int(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return int(node.value)
    return None


def _size_index(builtin) -> int:
    return builtin.params.index("size") if "size" in builtin.params else 99


def function_method(model: EnvModel, node: ast.Call) -> str:
    """The method a call of a spec function prints: the variant the analysis chose."""
    assert isinstance(node.func, ast.Name)
    symbol = model.symbols.get(id(node.func))
    if symbol is not None and symbol.name.startswith("_"):
        return symbol.name
    return f"_{node.func.id}"  # functions checked once (multi-agent specs)


def function_variant(model: EnvModel, node: ast.Call) -> FunctionVariant | None:
    assert isinstance(node.func, ast.Name)
    method = function_method(model, node)
    for variant in model.functions[node.func.id].variants:
        if variant.method == method:
            return variant
    return None


def _argument(node: ast.Call, params: tuple[str, ...], name: str) -> ast.expr | None:
    for keyword in node.keywords:
        if keyword.arg == name:
            return keyword.value
    index = params.index(name)
    return node.args[index] if index < len(node.args) else None


class _OneArray(ast.NodeTransformer):
    """`np.array(np.array([...]), dtype=d)` -> `np.array([...], dtype=d)`: a list literal is
    printed as `np.array([...])`, and a conversion around it would build the array twice."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        # int(int(x)), float(float(x)), bool(bool(x)): one conversion is enough.
        if (
            isinstance(node.func, ast.Name)
            and node.func.id in ("int", "float", "bool")
            and len(node.args) == 1
            and not node.keywords
            and isinstance(node.args[0], ast.Call)
            and isinstance(node.args[0].func, ast.Name)
            and node.args[0].func.id == node.func.id
            and len(node.args[0].args) == 1
            and not node.args[0].keywords
        ):
            return node.args[0]
        # np.array(np.asarray(x, dtype=d), dtype=d): the copy converts already.
        if (
            _is_np_call(node, ("array",))
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Call)
            and _is_np_call(node.args[0], ("asarray",))
            and len(node.args[0].args) == 1
            and [ast.dump(k) for k in node.keywords] == [ast.dump(k) for k in node.args[0].keywords]
        ):
            node.args = node.args[0].args
        if _is_np_call(node, ("array", "asarray")) and len(node.args) == 1:
            inner = node.args[0]
            if (
                isinstance(inner, ast.Call)
                and _is_np_call(inner, ("array",))
                and len(inner.args) == 1
                and not inner.keywords
                and isinstance(inner.args[0], ast.List)
            ):
                node.args = [inner.args[0]]
        return node


def _is_np_call(node: ast.Call, names: tuple[str, ...]) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "np"
        and func.attr in names
    )


def tidy(source: str) -> str:
    """Re-print an expression with minimal parentheses (ast.unparse decides them)."""
    return ast.unparse(_OneArray().visit(ast.parse(source, mode="eval")).body)


def tidy_block(lines: list[str]) -> list[str]:
    """Re-print statements with minimal parentheses, keeping their relative indentation."""
    if not lines:
        return []
    tree = _OneArray().visit(ast.parse("\n".join(lines)))
    return ast.unparse(tree).splitlines()
