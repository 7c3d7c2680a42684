"""Typing rules of expressions: names, operators, calls, subscripts."""

from __future__ import annotations

import ast
import math
from dataclasses import replace
from typing import TYPE_CHECKING

from envgen.compiler._language import MAX_ELEMENTS, PYTHON_BUILTINS
from envgen.compiler._limits import apply
from envgen.compiler.diagnostics import did_you_mean
from envgen.compiler.functions import BUILTINS, CONSTANTS, CallError, _shape_of, _size, axis_of
from envgen.compiler.ir import BINARY_OPERATORS, ReshapeCheck, Symbol
from envgen.compiler.types import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    NONE,
    STR,
    Dim,
    Shape,
    Sym,
    T,
    binary_result,
    broadcast,
    dim_add,
    dim_equal,
    dim_mul,
    list_literal_dtype,
    matmul_type,
    operand_dtype,
    promote,
    sym,
    widened,
)

if TYPE_CHECKING:
    from envgen.compiler._checker import Scope


_READ_BEFORE_STEP = {
    "observation": "the observation is built at reset too, before any step",
    "action_mask": "the action mask is computed at reset too, before any step",
    "render": "render reads the state, between steps",
    "reset": "reset runs before any step",
    "state": "initial values are computed at reset, before any step",
}


def _step_local_elsewhere(spec: object, name: str, path: tuple) -> tuple[str, str] | None:
    """(message, hint) when `name` is a local of the `step` block read where step locals do
    not exist (the observation, the mask, render, reset), else None."""
    why = _READ_BEFORE_STEP.get(str(path[0])) if path else None
    step = getattr(spec, "step", None)
    if why is None or not isinstance(step, str):
        return None
    try:
        tree = ast.parse(step)
    except SyntaxError:
        return None
    assigned = any(
        isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store)
        for node in ast.walk(tree)
    )
    if not assigned:
        return None
    return (
        f"'{name}' is a local of the `step` block: {why}, so it sees state, params, `let` "
        "values and elapsed_steps, not step locals (reward, terminated and info see them)",
        f"store it in a state variable: declare `{name}` under `state:` (its init is what "
        "this shows after reset) and assign it in `step` as now",
    )


class ExpressionRules:
    """The checker's expression methods (mixed into `Checker`)."""

    # -- expressions

    def expr(self, node: ast.expr, scope: Scope, defined: set[str] | None = None) -> T:
        t = self._expr(node, scope, defined)
        if t.weak and t.kind == "int" and t.is_scalar:
            limits = self._int_limits(node)
            if limits != t.limits:
                t = replace(t, limits=limits)
        self.types[id(node)] = t
        return t

    # -- what a plain int may be (types.widened: whether it is weak next to a narrow int)

    def _int_limits(self, node: ast.expr) -> tuple[int, int] | None:
        """The lowest and highest value a plain int expression may have, where the analysis
        can prove them: literals, constants, bounded int params, lets, labels, loop
        variables over a bounded range, a Discrete action, and + - * // % - abs min max len
        of those; None where unknown (a state variable, a local, anything that may wrap)."""
        limits = self._find_int_limits(node)
        if limits is None or not (_INT64_MIN <= limits[0] and limits[1] <= _INT64_MAX):
            return None  # unknown, or it may wrap around int64
        return limits

    def _operand_limits(self, node: ast.expr) -> tuple[int, int] | None:
        t = self.types.get(id(node))
        if t is None or not (t.weak and t.is_scalar):
            return None
        return (0, 1) if t.kind == "bool" else t.limits

    def _find_int_limits(self, node: ast.expr) -> tuple[int, int] | None:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, int) and not isinstance(value, bool):
                return (value, value)
            return None
        if isinstance(node, ast.Name):
            symbol = self.symbols.get(id(node))
            if symbol is None:
                return None
            if symbol.kind == "param":
                return _param_limits(getattr(self.spec, "params", {}).get(node.id))
            if symbol.kind == "const":
                value = getattr(self.spec, "constants", {}).get(node.id)
                if isinstance(value, int) and not isinstance(value, bool):
                    return (value, value)
                return None
            # a local or state variable may hold anything by the time it is read here
            return symbol.type.limits if symbol.kind in ("let", "label", "action", "loop") else None
        if isinstance(node, ast.UnaryOp):
            inner = self._operand_limits(node.operand)
            if inner is None or not isinstance(node.op, (ast.USub, ast.UAdd)):
                return None
            return (-inner[1], -inner[0]) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.IfExp):
            a, b = self._operand_limits(node.body), self._operand_limits(node.orelse)
            return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
        if isinstance(node, ast.BinOp):
            return _op_limits(
                node.op, self._operand_limits(node.left), self._operand_limits(node.right)
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in self.functions or node.keywords:
                return None
            if name == "len":
                return (0, MAX_ELEMENTS)
            args = [self._operand_limits(a) for a in node.args]
            if not args or any(a is None for a in args):
                return None
            known = [a for a in args if a is not None]
            if name == "abs" and len(known) == 1:
                low, high = known[0]
                return (0 if low <= 0 <= high else min(abs(low), abs(high)), max(-low, high))
            if name in ("min", "max") and len(known) > 1:
                pick = min if name == "min" else max
                return (pick(a[0] for a in known), pick(a[1] for a in known))
            if name in ("int", "int64") and len(known) == 1:
                return known[0]
        return None

    def _expr(self, node: ast.expr, scope: Scope, defined: set[str] | None) -> T:
        path = self._path
        if isinstance(node, ast.Constant):
            value = node.value
            self.consts[id(node)] = value
            if isinstance(value, bool):
                return BOOL
            if isinstance(value, int):
                return INT
            if isinstance(value, float):
                return FLOAT
            if isinstance(value, str):
                return STR
            if value is None:
                return NONE
            return ANY
        if isinstance(node, ast.Name):
            return self._name(node, scope, defined)
        if isinstance(node, ast.BinOp):
            a = self.expr(node.left, scope, defined)
            b = self.expr(node.right, scope, defined)
            op = BINARY_OPERATORS.get(type(node.op), "?")
            if a.dtype == "any" or b.dtype == "any":
                return ANY
            if not (a.is_numeric and b.is_numeric):
                if op == "+" and a.dtype == b.dtype == "str" and a.is_scalar and b.is_scalar:
                    return STR
                self.error(
                    path,
                    f"cannot apply '{op}' to {a.describe()} and {b.describe()}",
                    "arithmetic works on numbers and numeric arrays",
                    "type",
                    node,
                )
                return ANY
            if op == "@":
                try:
                    return matmul_type(a, b)
                except ValueError as exc:
                    self.error(path, str(exc), "check the shapes of both operands", "shape", node)
                    return ANY
            try:
                result = binary_result(a, b, true_divide=(op == "/"))
            except ValueError as exc:
                self.error(path, str(exc), "check the shapes of both operands", "shape", node)
                return ANY
            if op == "**" and result.kind == "int":
                # int ** negative int is a float in Python; keep the static type honest.
                result = FLOAT if result.weak else T("float64", result.shape)
            elif op in ("&", "|", "^") and a.dtype == b.dtype == "bool":
                result = T("bool", result.shape, result.weak)
            else:
                self._fold(node)
            self.operand_dtypes[id(node)] = operand_dtype(op, a, b, result)
            self.widen([node.left, node.right], [a, b])
            return result
        if isinstance(node, ast.UnaryOp):
            t = self.expr(node.operand, scope, defined)
            if isinstance(node.op, ast.Not):
                if not t.is_scalar and t.dtype != "any":
                    self.error(
                        path, "`not` needs a scalar", "use ~x for arrays of bools", "type", node
                    )
                return BOOL
            if isinstance(node.op, ast.Invert) and t.dtype != "bool" and t.kind != "int":
                self.error(path, "~ needs bools or integers", "", "type", node)
            if isinstance(node.op, ast.USub) and t.dtype == "bool":
                return INT if t.weak else T("int64", t.shape)
            self._fold(node)
            return t
        if isinstance(node, ast.BoolOp):
            weak = True
            for value in node.values:
                t = self.expr(value, scope, defined)
                weak = weak and t.weak
                if not t.is_scalar and t.dtype != "any":
                    self.error(
                        path,
                        "`and`/`or` need scalars",
                        "use & and | for element-wise logic on arrays",
                        "type",
                        value,
                    )
            # `a and b` returns one of its operands: a plain bool only if both are.
            return BOOL if weak else T("bool")
        if isinstance(node, ast.Compare):
            types = [self.expr(node.left, scope, defined)]
            types += [self.expr(c, scope, defined) for c in node.comparators]
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, (ast.Is, ast.IsNot)):
                    if not (isinstance(right, ast.Constant) and right.value is None):
                        self.error(
                            path,
                            "`is` may only compare with None",
                            "use == to compare values",
                            "refused",
                            node,
                        )
                    return BOOL
                if isinstance(op, (ast.In, ast.NotIn)):
                    self.error(
                        path, "`in` is not supported", "compare with == and `or`", "refused", node
                    )
                    return BOOL
            if any(t.dtype == "any" for t in types):
                return ANY  # an operand already in error: no follow-on errors
            try:
                shape = broadcast(*[t.shape for t in types if t.dtype != "any"])
            except ValueError as exc:
                self.error(path, str(exc), "check the shapes of both operands", "shape", node)
                return ANY
            for right, pair in zip(
                node.comparators, zip(types, types[1:], strict=False), strict=True
            ):
                if pair[0].is_numeric and pair[1].is_numeric:
                    self.operand_dtypes[id(right)] = promote(*pair).dtype
            operands: list[ast.expr | None] = [node.left, *node.comparators]
            for i in range(len(node.comparators)):
                self.widen(operands[i : i + 2], types[i : i + 2])
            # A comparison of plain Python numbers is a plain bool; of NumPy values, np.bool_.
            return T("bool", shape, shape == () and all(t.weak for t in types))
        if isinstance(node, ast.IfExp):
            test = self.expr(node.test, scope, defined)
            self._guarded += 1
            a = self.expr(node.body, scope, defined)
            b = self.expr(node.orelse, scope, defined)
            self._guarded -= 1
            if not test.is_scalar and test.dtype != "any":
                self.error(
                    path,
                    "the condition of `a if c else b` must be a scalar",
                    "use where(c, a, b) for arrays",
                    "type",
                    node.test,
                )
            if a.dtype == "any" or b.dtype == "any":
                return b if a.dtype == "any" else a
            if a.dtype == b.dtype == "str":
                return T("str", a.shape if a.shape == b.shape else (None,) if a.shape else ())
            if a.dtype == "any" or b.dtype == "any":
                return ANY
            if not (a.is_numeric and b.is_numeric):
                self.error(
                    path,
                    f"both branches must have the same kind of value "
                    f"({a.describe()} vs {b.describe()})",
                    "",
                    "type",
                    node,
                )
                return ANY
            out = promote(a, b)
            self.operand_dtypes[id(node)] = out.dtype
            self.widen([node.body, node.orelse], [a, b])
            try:
                shape = broadcast(a.shape, b.shape)
            except ValueError as exc:
                self.error(path, str(exc), "", "shape", node)
                return ANY
            return T(out.dtype, shape, out.weak and shape == ())
        if isinstance(node, ast.Call):
            return self._call(node, scope, defined)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, scope, defined)
        if isinstance(node, (ast.List, ast.Tuple)):
            elements = [self.expr(e, scope, defined) for e in node.elts]
            if isinstance(node.ctx, ast.Store):
                return ANY
            if not elements:
                return T("float64", (0,))
            if all(e.dtype == "str" and e.is_scalar for e in elements):
                return T("str", (len(elements),))
            if any(e.dtype == "any" for e in elements):
                return ANY
            if not all(e.is_numeric for e in elements):
                self.error(path, "array elements must be numbers", "", "type", node)
                return ANY
            ragged = _ragged([e.shape for e in elements])
            if ragged:
                hint = "every element must have the same shape (NumPy refuses ragged arrays)"
                if any(e.is_scalar for e in elements):
                    hint = (
                        "a list of a scalar and an array is not an array: join them with "
                        "concatenate, e.g. concatenate([[x], values])"
                    )
                self.error(
                    path,
                    f"the elements of this list have different shapes ({ragged})",
                    hint,
                    "shape",
                    node,
                )
                return ANY
            try:
                inner = broadcast(*[e.shape for e in elements])
            except ValueError:
                self.error(path, "array rows must all have the same shape", "", "shape", node)
                return ANY
            if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
                self.consts[id(node)] = tuple(e.value for e in node.elts)  # type: ignore[attr-defined]
            # What np.array([...]) gives, in every backend: the array constructor takes a
            # Python number as int64/float64, not weakly as arithmetic does (NEP 50), so
            # `[c, d]` of int64 and int32 scalars is int64 (hostile trial 4 H4: typed int32,
            # it overflowed in the single env and wrapped in JAX).
            dtype = list_literal_dtype(elements)
            return T(dtype, (len(elements),) + (inner or ()) if inner is not None else None)
        if isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    t = self.expr(part, scope, defined)
                    if t.dtype != "any" and (t.kind not in ("int", "bool") or not t.is_scalar):
                        self.error(path, "slice bounds must be integers", "", "type", part)
            return ANY
        self.error(path, f"{type(node).__name__} is not part of the language", "", "refused", node)
        return ANY

    def widen(self, nodes: list[ast.expr | None], types: list[T]) -> None:
        """Record the operands of one operation that are plain ints a narrow int operand
        may not hold (`types.widened`): the backends hold them as int64 there."""
        for node, strong in zip(nodes, widened(types), strict=True):
            if strong and node is not None:
                self.int64_operands.add(id(node))

    def dim_of(self, node: ast.expr | None) -> Dim:
        """The length an integer expression over params, `let` values and literals stands
        for, as a polynomial of their names (None when it depends on anything else)."""
        if node is None:
            return None
        value = self.consts.get(id(node))
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(node, ast.Name):
            symbol = self.symbols.get(id(node))
            if symbol is not None and symbol.kind in ("param", "let") and symbol.type == INT:
                return sym(node.id)
            return None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return dim_mul(-1, self.dim_of(node.operand))
        if isinstance(node, ast.BinOp):
            a, b = self.dim_of(node.left), self.dim_of(node.right)
            if isinstance(node.op, ast.Add):
                return dim_add(a, b)
            if isinstance(node.op, ast.Sub):
                return dim_add(a, b, -1)
            if isinstance(node.op, ast.Mult):
                return dim_mul(a, b)
        return None

    def _fold(self, node: ast.expr) -> None:
        """Record the value of arithmetic on integer literals (used for shapes and sizes):
        `+`, `-`, `*` of ints and negation, computed by the one constant folder
        (`_limits.apply`) from the operands' values recorded already."""
        operands: list[ast.expr] = []
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operands = [node.operand]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            operands = [node.left, node.right]
        values = [self.consts.get(id(o)) for o in operands]
        if not operands or any(isinstance(v, bool) for v in values):
            return
        if isinstance(node, ast.UnaryOp) and isinstance(values[0], (int, float)):
            self.consts[id(node)] = apply(node.op, values[0])
        elif isinstance(node, ast.BinOp) and all(isinstance(v, int) for v in values):
            self.consts[id(node)] = apply(node.op, *values)

    def _name(self, node: ast.Name, scope: Scope, defined: set[str] | None) -> T:
        path = self._path
        name = node.id
        symbol = scope.lookup(name)
        if symbol is None:
            if name in CONSTANTS:
                symbol = Symbol(name, "constant", CONSTANTS[name][1])
                self.symbols[id(node)] = symbol
                if name in ("True", "False"):
                    self.consts[id(node)] = name == "True"
                return symbol.type
            if name in BUILTINS:
                self.error(
                    path,
                    f"'{name}' is a function; call it with arguments",
                    f"e.g. {BUILTINS[name].example}",
                    "name",
                    node,
                )
                return ANY
            hint = did_you_mean(name, scope.visible() | set(CONSTANTS))
            if name in PYTHON_BUILTINS:
                hint = "the language cannot reach Python builtins; it has a fixed function table"
            message = f"unknown name '{name}'"
            elsewhere = _step_local_elsewhere(self.spec, name, path)
            if elsewhere is not None:
                message, hint = elsewhere
            elif name.isupper():  # reads like an action label: say which exist
                labels = [
                    label.upper() for label in getattr(self.spec.action_space, "labels", None) or []
                ]
                known = (
                    f"the action labels are {', '.join(labels)}"
                    if labels
                    else "a Discrete action space with `labels: [...]` defines one upper-case "
                    "constant per label"
                )
                hint = f"{hint}; {known}" if hint else known
            self.error(
                path,
                message,
                hint or "define it under params, let, state, or assign it earlier in the block",
                "name",
                node,
            )
            return ANY
        if symbol.kind in ("local", "loop") and defined is not None and name not in defined:
            self.error(
                path,
                f"'{name}' may be used before it is assigned",
                "assign it on every path before this line",
                "name",
                node,
            )
        if symbol.kind == "function":
            self.error(path, f"'{name}' is a function; call it", "", "name", node)
        self.symbols[id(node)] = symbol
        self._names.add(name)
        if self._flow is not None and symbol.kind in ("state", "local") and name in self._flow:
            return self._flow[name]  # the type it holds here (flow-sensitive typing)
        return symbol.type

    def _call(self, node: ast.Call, scope: Scope, defined: set[str] | None) -> T:
        path = self._path
        if not isinstance(node.func, ast.Name):
            for arg in node.args:
                self.expr(arg, scope, defined)
            return ANY
        name = node.func.id
        if name in self.functions and scope.lookup(name) is not None:
            function = self.functions[name]
            if node.keywords or len(node.args) != len(function.args):
                self.error(
                    path,
                    f"{name}() takes {len(function.args)} argument(s) ({', '.join(function.args)})",
                    "",
                    "call",
                    node,
                )
            types = tuple(self.expr(arg, scope, defined) for arg in node.args)
            if name not in self.templates:  # checked once, untyped (multi-agent specs)
                if function.returns.random or function.body.random:
                    self._random = True
                self.symbols[id(node.func)] = Symbol(name, "function", function.returns.type)
                return function.returns.type
            if len(types) != len(function.args):
                return ANY
            variant = self.specialize(name, types, node)
            if variant is None:
                return ANY
            if variant.random:
                if not self._allow_random:
                    self.error(
                        path,
                        f"the function '{name}' draws random numbers, which is not allowed here",
                        "randomness may be drawn in state init, reset and step",
                        "random",
                        node,
                    )
                self._random = True
            self.symbols[id(node.func)] = Symbol(variant.method, "function", variant.returns.type)
            return variant.returns.type
        builtin = BUILTINS.get(name)
        if builtin is None:
            shadow = scope.lookup(name)
            hint = did_you_mean(name, list(BUILTINS) + list(self.functions))
            if name in PYTHON_BUILTINS:
                hint = "the language cannot reach Python builtins; see the function table"
            message = f"unknown function '{name}'"
            if shadow is not None:
                message = f"'{name}' is a {shadow.kind}, not a function"
            self.error(
                path, message, hint or "see the function table in docs/spec.md", "call", node
            )
            for arg in node.args:
                self.expr(arg, scope, defined)
            return ANY
        if name == "option" and not self._allow_options:
            self.error(
                path,
                "option() reads reset(options=...): it is allowed in state init and reset only",
                "copy the value into a state variable at reset",
                "call",
                node,
            )
        if builtin.random:
            if not self._allow_random:
                self.error(
                    path,
                    f"random draw '{name}' is not allowed here",
                    "randomness may be drawn in state init, reset and step",
                    "random",
                    node,
                )
            self._random = True
        args: dict[str, T] = {}
        consts: dict[str, object] = {}
        positional = node.args
        if builtin.variadic:
            axis = [k for k in node.keywords if k.arg == "axis"]
            if len(axis) != len(node.keywords) or (axis and len(positional) != 1):
                self.error(
                    path,
                    f"{name}() takes no keyword arguments"
                    + (" but axis=, with one array" if name in ("min", "max") else ""),
                    f"e.g. {name}(a, b), {name}(values) or {name}(values, axis=0)",
                    "call",
                    node,
                )
                for keyword_ in node.keywords:
                    self.expr(keyword_.value, scope, defined)
                return ANY
            if not positional:
                self.error(path, f"{name}() needs at least one argument", "", "call", node)
                return ANY
            types = [self.expr(a, scope, defined) for a in positional]
            if axis:
                self.expr(axis[0].value, scope, defined)
            if any(t.dtype == "any" for t in types):
                return ANY
            if axis:
                x = types[0]
                try:
                    if not x.is_numeric or x.is_scalar or x.dtype == "bool":
                        raise CallError(
                            f"axis= needs a numeric array, got {x.describe()}"
                            + ("; use any()/all() for bools" if x.dtype == "bool" else "")
                        )
                    k = axis_of(
                        {"axis": ANY},
                        {"axis": self.consts.get(id(axis[0].value))},
                        None if x.shape is None else len(x.shape),
                    )
                except CallError as exc:
                    self.error(
                        path,
                        f"{name}(): {exc}",
                        exc.hint or f"e.g. {builtin.example}",
                        "type",
                        node,
                    )
                    return ANY
                assert k is not None and x.shape is not None
                return T(x.dtype, x.shape[:k] + x.shape[k + 1 :])
            if len(types) == 1:
                t = types[0]
                if t.is_scalar:
                    self.error(
                        path,
                        f"{name}() of one argument needs an array",
                        f"e.g. {name}(a, b) or {name}(values)",
                        "call",
                        node,
                    )
                return T(t.dtype if t.dtype != "bool" else "int64", ())
            if all(t.is_numeric for t in types):
                self.operand_dtypes[id(node)] = promote(*types).dtype  # min(a, b, ...)
                self.widen(positional, types)
            try:
                return builtin.rule({f"a{i}": t for i, t in enumerate(types)}, consts)
            except CallError as exc:
                self.error(path, f"{name}(): {exc}", exc.hint, "type", node)
                return ANY
        if len(positional) > len(builtin.params):
            self.error(
                path,
                f"{name}() takes at most {len(builtin.params)} argument(s) "
                f"({', '.join(builtin.params)})",
                f"e.g. {builtin.example}",
                "call",
                node,
            )
            return ANY
        for param, arg in zip(builtin.params, positional, strict=False):
            if builtin.sequence and param == builtin.params[0]:
                args[param] = self._sequence(name, arg, scope, defined)
                continue
            args[param] = self.expr(arg, scope, defined)
            if id(arg) in self.consts:
                consts[param] = self.consts[id(arg)]
            elif param in builtin.shapes:
                consts[param] = self.dims_of(arg)
        unknown_keyword = False
        for keyword_ in node.keywords:
            if keyword_.arg is None or keyword_.arg not in builtin.params:
                self.error(
                    path,
                    f"{name}() has no argument '{keyword_.arg}'",
                    did_you_mean(str(keyword_.arg), builtin.params)
                    or f"its arguments are {', '.join(builtin.params)}",
                    "call",
                    keyword_.value,
                )
                self.expr(keyword_.value, scope, defined)
                unknown_keyword = True
                continue
            if keyword_.arg in args:
                self.error(path, f"{name}() got '{keyword_.arg}' twice", "", "call", keyword_.value)
            if builtin.sequence and keyword_.arg == builtin.params[0]:
                args[keyword_.arg] = self._sequence(name, keyword_.value, scope, defined)
                continue
            args[keyword_.arg] = self.expr(keyword_.value, scope, defined)
            if id(keyword_.value) in self.consts:
                consts[keyword_.arg] = self.consts[id(keyword_.value)]
            elif keyword_.arg in builtin.shapes:
                consts[keyword_.arg] = self.dims_of(keyword_.value)
        if unknown_keyword:
            return ANY  # the call's type is unknown: no errors downstream of this one
        missing = [p for p in builtin.params[: builtin.required] if p not in args]
        if missing:
            self.error(
                path,
                f"{name}() is missing {', '.join(missing)}",
                f"e.g. {builtin.example}",
                "call",
                node,
            )
            return ANY
        if (
            any(
                t.dtype == "any" or any(f.dtype == "any" for _, f in t.fields)
                for t in args.values()
            )
            and not builtin.random
        ):
            return ANY
        operands = _CONVERTED.get(name, ())
        if operands and all(p in args and args[p].is_numeric for p in operands):
            self.operand_dtypes[id(node)] = promote(*[args[p] for p in operands]).dtype
            self.widen(
                [_argument_node(node, builtin.params, p) for p in operands],
                [args[p] for p in operands],
            )
        try:
            out = builtin.rule(args, consts)
        except CallError as exc:
            self.error(
                path, f"{name}(): {exc}", exc.hint or f"e.g. {builtin.example}", "type", node
            )
            return ANY
        except KeyError:
            return ANY
        if name == "reshape":
            self._reshape_check(node, path, args["x"], consts.get("shape"))
        # np.full(4, 300, dtype=np.uint8) and np.array([300], dtype=np.uint8) raise in
        # NumPy 2; Numba and JAX would wrap
        values: list[ast.expr | None] = []
        if name == "full":
            values = [_argument_node(node, builtin.params, "value")]
        elif name == "array":
            items = _argument_node(node, builtin.params, "x")
            values = list(items.elts) if isinstance(items, (ast.List, ast.Tuple)) else []
        for value_node in values:
            if value_node is not None and id(value_node) in self.types:
                self._plain_int_may_not_fit(
                    f"elements of {name}()",
                    "",
                    T(out.dtype),
                    self.types[id(value_node)],
                    value_node,
                    f"convert on purpose with {out.dtype}(...), which wraps, or bound the value",
                )
        return out

    def _reshape_check(self, node: ast.Call, path: tuple, x: T, shape: object) -> None:
        """A reshape whose size or shape the params decide: the build checked it at the
        default params (`_limits`), the env checks it for the params it is made with (`-p
        k=4` would otherwise fail at the first step, differently in each backend)."""
        if self._guarded or self._specializing:
            return  # code that may not run with these params (a branch, a loop, a function)
        target = _shape_of(shape)
        if x.shape is None or target is None or None in x.shape or None in target:
            return
        size = _size(x.shape)
        if not any(isinstance(d, Sym) for d in (size, *target)):
            return  # literal lengths: the rule itself checked them
        where = str(self.document.code_location(path, node.lineno, node.col_offset))
        check = ReshapeCheck(f"`{ast.unparse(node)[:80]}`", size, target, where)
        if check not in self.shape_checks:
            self.shape_checks.append(check)

    def _sequence(self, name: str, node: ast.expr, scope: Scope, defined: set[str] | None) -> T:
        """The list of arrays concatenate()/stack() join: each element typed on its own (they
        may differ in length), the list itself a tuple type the backends print as a list."""
        if not isinstance(node, (ast.List, ast.Tuple)):
            self.expr(node, scope, defined)
            self.error(
                self._path,
                f"{name}() takes a list of arrays, written out",
                f"e.g. {name}([a, b])",
                "call",
                node,
            )
            return ANY
        fields = tuple((i, self.expr(e, scope, defined)) for i, e in enumerate(node.elts))
        t = T("tuple", (), False, fields)
        self.types[id(node)] = t
        return t

    def dims_of(self, node: ast.expr) -> tuple[Dim, ...] | Dim:
        """A shape or length argument as polynomials of params (None where unknown)."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.dim_of(e) for e in node.elts)
        return self.dim_of(node)

    def _subscript(self, node: ast.Subscript, scope: Scope, defined: set[str] | None) -> T:
        path = self._path
        base = self.expr(node.value, scope, defined)
        index = node.slice
        if base.dtype in ("dict", "tuple"):
            key = index.value if isinstance(index, ast.Constant) else None
            self.types[id(index)] = ANY
            for field_key, field_type in base.fields:
                if field_key == key:
                    return field_type
            keys = [k for k, _ in base.fields]
            if (
                base.dtype == "dict"
                and not isinstance(key, str)
                and keys
                and all(isinstance(k, str) for k in keys)
            ):
                if isinstance(index, ast.Constant):
                    pass
                else:
                    key_type = self.expr(index, scope, defined)
                    if key_type.dtype == "str":
                        values = [t for _, t in base.fields]
                        if all(v.dtype == values[0].dtype for v in values):
                            return T(values[0].dtype, (None,) if values[0].shape else ())
                        return ANY
            self.error(
                path,
                f"no entry {key!r} here; the keys are {', '.join(repr(k) for k in keys)}",
                did_you_mean(str(key), [str(k) for k in keys]),
                "index",
                node,
            )
            return ANY
        if base.dtype == "any":
            self.expr(index, scope, defined) if not isinstance(index, ast.Tuple) else [
                self.expr(e, scope, defined) for e in index.elts
            ]
            return ANY
        if base.shape == ():
            self.error(
                path,
                f"cannot index {base.described()}",
                "only arrays, tables and Dict/Tuple values can be indexed",
                "index",
                node,
            )
            return ANY
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        if isinstance(index, ast.Tuple):
            self.types[id(index)] = ANY
        out_dims: list[int | None] = []
        rank = None if base.shape is None else len(base.shape)
        if rank is not None and len(parts) > rank:
            self.error(
                path,
                f"too many indices ({len(parts)}) for {base.describe()}",
                f"give at most {rank} index(es), separated by commas",
                "index",
                node,
            )
            return ANY
        fancy = unknown = False
        for axis, part in enumerate(parts):
            t = self.expr(part, scope, defined)
            dim = base.shape[axis] if base.shape is not None else None
            if isinstance(part, ast.Slice):
                lower = self.dim_of(part.lower) if part.lower else 0
                upper = self.dim_of(part.upper) if part.upper else dim
                if part.step is not None:
                    out_dims.append(None)
                elif isinstance(lower, int) and isinstance(upper, int):
                    if isinstance(dim, int):
                        upper = min(upper, dim) if upper >= 0 else dim + upper
                        lower = min(lower, dim) if lower >= 0 else max(dim + lower, 0)
                    out_dims.append(max(0, upper - lower) if upper >= 0 and lower >= 0 else None)
                elif isinstance(lower, int) and lower >= 0 and upper is not None:
                    # a[1:n] of an axis of length n: n - 1, when the polynomials show that
                    # the bound lies inside the axis (NumPy clamps it otherwise).
                    room = dim_add(dim, upper, -1) if dim is not None else None
                    length = dim_add(upper, lower, -1)
                    if isinstance(room, int) and room >= 0:
                        out_dims.append(max(length, 0) if isinstance(length, int) else length)
                    else:
                        out_dims.append(None)
                else:
                    out_dims.append(None)
            elif t.dtype == "any":
                out_dims.append(None)
                unknown = True  # an index already in error: no follow-on errors
            elif t.kind not in ("int", "bool") or (t.dtype == "bool" and t.is_scalar):
                self.error(
                    path,
                    f"an index must be an integer, got {t.describe()}",
                    "convert with int(...)",
                    "index",
                    part,
                )
                return ANY
            elif not t.is_scalar:
                fancy = True
                out_dims.extend(t.shape or (None,))
            else:
                value = self.consts.get(id(part))
                if isinstance(value, int) and isinstance(dim, int) and not -dim <= value < dim:
                    self.error(
                        path,
                        f"index {value} is out of range for an axis of length {dim}",
                        f"indices run from {-dim} to {dim - 1}",
                        "index",
                        part,
                    )
        if unknown:
            return ANY
        if base.shape is None:
            return T(base.dtype, None)
        rest = list(base.shape[len(parts) :])
        shape = tuple(out_dims + rest) if not fancy else None
        if base.dtype == "str" and shape == ():
            return STR
        return T(base.dtype, shape, base.weak and shape == ())


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _argument_node(node: ast.Call, params: tuple[str, ...], name: str) -> ast.expr | None:
    """The node a built-in's argument `name` was given as (positional or keyword)."""
    for param, arg in zip(params, node.args, strict=False):
        if param == name:
            return arg
    for keyword_ in node.keywords:
        if keyword_.arg == name:
            return keyword_.value
    return None


def _param_limits(param: object) -> tuple[int, int] | None:
    """An int param's range from its bounds (checked when the env is made)."""
    if param is None or getattr(param, "param_type", None) != "int":
        return None
    if getattr(param, "nullable", False):
        return None
    ge, gt = getattr(param, "ge", None), getattr(param, "gt", None)
    le, lt = getattr(param, "le", None), getattr(param, "lt", None)
    low = math.ceil(ge) if ge is not None else (None if gt is None else math.floor(gt) + 1)
    high = math.floor(le) if le is not None else (None if lt is None else math.ceil(lt) - 1)
    if low is None or high is None:
        return None
    return (low, high)


def _op_limits(
    op: ast.operator, left: tuple[int, int] | None, right: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The range of `left op right` for ints in these ranges (integer // and % by zero
    give 0, the language's rule)."""
    if left is None or right is None:
        return None
    if isinstance(op, ast.Add):
        return (left[0] + right[0], left[1] + right[1])
    if isinstance(op, ast.Sub):
        return (left[0] - right[1], left[1] - right[0])
    if isinstance(op, ast.Mult):
        ends = [a * b for a in left for b in right]
        return (min(ends), max(ends))
    if isinstance(op, (ast.FloorDiv, ast.Mod)) and right[0] >= 0:
        if isinstance(op, ast.Mod):
            return (0, max(right[1] - 1, 0))
        if right[1] < 1:
            return (0, 0)
        low = max(right[0], 1)
        ends = [0, left[0] // low, left[0] // right[1], left[1] // low, left[1] // right[1]]
        return (min(ends), max(ends))
    return None


#: Built-ins whose operands the vector env converts to one dtype (as NumPy's ufuncs do)
_CONVERTED = {"clip": ("x", "low", "high"), "where": ("a", "b")}


def _ragged(shapes: list[Shape]) -> str:
    """The differing shapes of a list's elements as text ('' when they may all agree)."""
    known = [s for s in shapes if s is not None]
    if not known:
        return ""
    ranks = {len(s) for s in known}
    differ = len(ranks) > 1
    if not differ:
        for axis in range(ranks.pop()):
            dims = [s[axis] for s in known]
            if any(dim_equal(dims[0], d) is False for d in dims[1:]):
                differ = True
    if not differ:
        return ""
    seen: list[str] = []
    for s in known:
        text = T("float64", s).describe().removeprefix("float64 ")
        text = "a scalar" if s == () else text.replace("array of shape ", "")
        if text not in seen:
            seen.append(text)
    return " and ".join(seen)
