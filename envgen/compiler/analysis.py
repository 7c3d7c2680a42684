"""Stage 3: check the spec's code and data, and infer types and shapes.

Code strings are parsed with `ast` and checked against a whitelist; nothing from a spec is
ever evaluated. The result is an `EnvModel`: the spec's parts as typed, checked syntax
trees, plus the facts the emitters need (which names are params, which are state, ...).
"""

from __future__ import annotations

import ast
import hashlib
import keyword
import math
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
import jinja2.sandbox
import numpy as np

from envgen.compiler.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from envgen.compiler.functions import BUILTINS, CONSTANTS, CallError
from envgen.compiler.load import Document
from envgen.compiler.names import GENERATED
from envgen.compiler.spec import EnvSpec, ParamSpec, StateVarSpec
from envgen.compiler.types import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    NONE,
    NUMERIC,
    STR,
    Dim,
    Sym,
    T,
    binary_result,
    broadcast,
    dim_add,
    dim_equal,
    dim_mul,
    erase,
    promote,
    sym,
)
from envgen.compiler.types import scalar as scalar_type

#: Names the generated module and methods use; specs may not define them.
RESERVED = {
    "self",
    "np",
    "math",
    "gym",
    "spaces",
    "action",
    "obs",
    "reward",
    "terminated",
    "truncated",
    "info",
    "seed",
    "options",
    "elapsed_steps",
    "render_mode",
    "config",
    "kwargs",
    "metadata",
    "spec",
    "np_random",
    "observation_space",
    "action_space",
    "step",
    "reset",
    "render",
    "close",
    "super",
    "None",
    "range",
    "print",
    "eval",
    "exec",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "compile",
    "input",
    "type",
    "object",
    "isinstance",
    "dict",
    "list",
    "tuple",
    "set",
    "str",
    "repr",
    "hash",
    "id",
    "iter",
    "next",
    "map",
    "filter",
    "zip",
    "enumerate",
    "sorted",
    "reversed",
    "format",
    "callable",
    "classmethod",
    "staticmethod",
    "property",
    "Exception",
    "ValueError",
    "TypeError",
    "RuntimeError",
    "annotations",
    "unwrapped",
    "jinja2",
    "utils",
    "logger",
    # Module-level names of a generated module (labels and constants live beside them).
    "ID",
    "PARAMS",
    "ANSI_TEMPLATE",
    "HOOK_AFTER_RESET",
    "HOOK_AFTER_STEP",
    "Mapping",
    "Any",
    # Attributes of a generated env (params, let values and state are stored on `self`).
    "invalid_action",
    "check_state",
    "max_episode_steps",
    "np_random_seed",
    # Keyword arguments and attributes of a generated vector env.
    "num_envs",
    "autoreset_mode",
    "backend",
    "backend_note",
    "threads",
    # Module-level names the compiled kernels of a vector env read.
    "prange",
    "jit",
    "get_wrapper_attr",
    "set_wrapper_attr",
    "has_wrapper_attr",
}
# Every name the templates and backends bind without a `_` prefix (envgen/compiler/names.py).
RESERVED |= GENERATED
#: Functions become methods `_name`; these would collide with the env's own attributes.
RESERVED_METHODS = {"closed", "needs_reset", "elapsed_steps", "np_random", "np_random_seed"}
#: Largest number of elements a space or state array may have (a build-time memory guard).
MAX_ELEMENTS = 10_000_000
#: Largest integer a space size may be (Gymnasium stores them as int64).
MAX_INT64 = 2**63 - 1
#: Python builtins a hostile spec might reach for; they get a hint that the language cannot.
PYTHON_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "open",
        "getattr",
        "setattr",
        "__import__",
        "compile",
        "globals",
        "locals",
        "vars",
        "input",
        "print",
        "type",
    }
)

_REFUSED = {
    ast.Attribute: (
        "attribute access (a.b) is not part of the language",
        "use the function table, e.g. sqrt(x) rather than math.sqrt(x)",
    ),
    ast.Import: ("import is not allowed", "the language has no modules; use its functions"),
    ast.ImportFrom: ("import is not allowed", "the language has no modules; use its functions"),
    ast.Lambda: ("lambda is not allowed", "define a helper under `functions:`"),
    ast.FunctionDef: ("def is not allowed in code", "define a helper under `functions:`"),
    ast.AsyncFunctionDef: ("def is not allowed in code", "define a helper under `functions:`"),
    ast.ClassDef: ("class is not allowed", "state lives under `state:`"),
    ast.While: ("while loops are not allowed", "use `for i in range(n)` with a bounded n"),
    ast.ListComp: ("comprehensions are not allowed", "use array functions or a for loop"),
    ast.SetComp: ("comprehensions are not allowed", "use array functions or a for loop"),
    ast.DictComp: ("comprehensions are not allowed", "use array functions or a for loop"),
    ast.GeneratorExp: (
        "generator expressions are not allowed",
        "use array functions or a for loop",
    ),
    ast.With: (
        "with is not allowed",
        "the language has no files or contexts; assign values directly",
    ),
    ast.Try: ("try is not allowed", "guard the computation with if/else instead"),
    ast.Raise: ("raise is not allowed", "end the episode with `terminated`"),
    ast.Assert: ("assert is not allowed", "end the episode with `terminated`, or clip the value"),
    ast.Delete: ("del is not allowed", "locals end with the block; just stop using the name"),
    ast.Global: ("global is not allowed", "state variables are assigned directly by name"),
    ast.Nonlocal: ("nonlocal is not allowed", "state variables are assigned directly by name"),
    ast.Return: ("return is not allowed in a block", "functions return their `return:` value"),
    ast.Yield: ("yield is not allowed", "a block runs once per step; assign the value instead"),
    ast.YieldFrom: ("yield is not allowed", "a block runs once per step; assign the value instead"),
    ast.Await: ("await is not allowed", "the language is synchronous; call functions directly"),
    ast.NamedExpr: ("the walrus operator := is not allowed", "assign on its own line"),
    ast.JoinedStr: ("f-strings are not allowed in code", "use the ansi render template for text"),
    ast.Dict: (
        "dict literals are not allowed in code",
        "write mappings in YAML (`constants:`, `info:`)",
    ),
    ast.Set: ("set literals are not allowed", "use an array, e.g. [1, 2]"),
    ast.Starred: ("* unpacking is not allowed", "pass the arguments one by one"),
    ast.Break: ("break is not allowed", "loops run a fixed number of times"),
    ast.Continue: ("continue is not allowed", "use if/else inside the loop"),
}
if hasattr(ast, "Match"):
    _REFUSED[ast.Match] = ("match is not allowed", "use if/elif/else")
if hasattr(ast, "TryStar"):
    _REFUSED[ast.TryStar] = ("try is not allowed", "guard the computation with if/else instead")

BINARY_OPERATORS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}


# --- the typed model handed to the emitters -----------------------------------------


@dataclass
class Symbol:
    name: str
    kind: str  # param, let, const, label, state, local, loop, action, special, function, arg
    type: T


@dataclass
class Code:
    """A parsed expression (`expr`) or block (`stmts`) with its spec path."""

    path: tuple[str | int, ...]
    expr: ast.expr | None = None
    stmts: list[ast.stmt] = field(default_factory=list)
    type: T = ANY
    random: bool = False
    names: set[str] = field(default_factory=set)


@dataclass
class SpaceModel:
    kind: str
    path: tuple[str | int, ...]
    args: dict[str, Any] = field(default_factory=dict)  # values are Code or lists of Code
    children: list[tuple[str | int, SpaceModel]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    dtype: str = ""
    shape: tuple[int | None, ...] | None = None


@dataclass
class ObservationModel:
    space: SpaceModel
    code: Code | None = None
    children: list[tuple[str | int, ObservationModel]] = field(default_factory=list)


@dataclass
class StateModel:
    name: str
    spec: StateVarSpec
    type: T
    shape: list[Code]
    init: Code


@dataclass
class ShapeCheck:
    """A shape the analysis could not decide alone: `got` must equal `want` once the
    params are known (checked when the env is made)."""

    what: str
    got: tuple[Dim, ...]
    want: tuple[Dim, ...]
    where: str  # file:line:column of the spec value


@dataclass
class FunctionModel:
    name: str
    args: list[str]
    body: Code
    returns: Code


@dataclass
class EnvModel:
    """Everything the emitters need, checked and typed."""

    spec: EnvSpec
    document: Document
    source_hash: str
    class_name: str
    module_name: str
    params: dict[str, ParamSpec]
    constants: dict[str, Any]
    labels: dict[str, int]
    lets: dict[str, Code]
    functions: dict[str, FunctionModel]
    action_space: SpaceModel
    observation_space: SpaceModel
    action_type: T
    state: dict[str, StateModel]
    reset: Code
    step: Code
    observation: ObservationModel
    reward: Code
    terminated: Code
    info: dict[str, Code]
    reset_info: list[str]
    max_episode_steps: Code | None
    ansi: str | None
    rgb_array: Code | None
    symbols: dict[int, Symbol]  # id(ast.Name) -> what the name refers to
    types: dict[int, T]  # id(ast.expr) -> its type
    vector_notes: list[str]
    uses_random_in_step: bool
    read_copies: list[ast.expr] = field(default_factory=list)  # keeps typed node ids valid
    shape_checks: list[ShapeCheck] = field(default_factory=list)
    param_types: dict[str, T] = field(default_factory=dict)

    @property
    def registered_time_limit(self) -> int | None:
        """The time limit Gymnasium's registry gets: only a constant one (the env itself
        truncates at `max_episode_steps` either way, even when it depends on params)."""
        code = self.max_episode_steps
        if code is not None and isinstance(code.expr, ast.Constant):
            value = code.expr.value
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return None

    @property
    def wrappers(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(name, entry point, kwargs) of each Gymnasium wrapper `gym.make` applies."""
        out = []
        for item in self.spec.wrappers:
            name, kwargs = (item, {}) if isinstance(item, str) else next(iter(item.items()))
            out.append((name, f"gymnasium.wrappers:{name}", dict(kwargs or {})))
        return out

    def codes(self) -> list[Code]:
        """Every piece of checked code in the spec, in spec order."""
        out: list[Code] = list(self.lets.values())
        for fn in self.functions.values():
            out += [fn.body, fn.returns]
        for var in self.state.values():
            out += [*var.shape, var.init]
        out += [self.reset, self.step]
        stack = [self.observation]
        while stack:
            obs = stack.pop()
            if obs.code is not None:
                out.append(obs.code)
            stack.extend(child for _, child in obs.children)
        out += [self.reward, self.terminated, *self.info.values()]
        out += [c for c in (self.max_episode_steps, self.rgb_array) if c is not None]
        return out

    def find_name(self, name: str, exact: ast.AST | None = None) -> tuple[Code, ast.Name] | None:
        """The place in the spec's code of the node `exact`, else the first that mentions
        `name`."""
        first = None
        for code in self.codes():
            roots = [code.expr] if code.expr is not None else code.stmts
            for root in roots:
                for node in ast.walk(root):
                    if node is exact:
                        return code, node  # type: ignore[return-value]
                    if first is None and isinstance(node, ast.Name) and node.id == name:
                        first = code, node
        return first

    @property
    def reads_action(self) -> bool:
        """Whether any code after the action arrives (step, reward, ...) reads it."""
        after = [self.step, self.terminated, self.reward, *self.info.values()]
        return any("action" in code.names for code in after)

    @property
    def stochastic(self) -> bool:
        return (
            self.uses_random_in_step
            or any(s.init.random for s in self.state.values())
            or (self.reset.random)
        )


def class_name_for(env_id: str) -> str:
    name = env_id.split("/")[-1]
    base, _, version = name.rpartition("-v")
    words = re.split(r"[^A-Za-z0-9]+", base)
    camel = "".join(w[:1].upper() + w[1:] for w in words if w)
    if not camel or camel[0].isdigit():
        camel = "Env" + camel
    return f"{camel}V{version}Env" if not camel.endswith("Env") else f"{camel}V{version}"


def module_name_for(env_id: str) -> str:
    name = env_id.replace("/", "_").replace("-", "_").replace(".", "_")
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    snake = re.sub(r"[^a-z0-9_]", "_", snake)
    return snake if snake[0].isalpha() else "env_" + snake


# --- the checker --------------------------------------------------------------------


class _Scope:
    def __init__(self, symbols: dict[str, Symbol], parent: _Scope | None = None) -> None:
        self.symbols = symbols
        self.parent = parent

    def lookup(self, name: str) -> Symbol | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.symbols:
                return scope.symbols[name]
            scope = scope.parent
        return None

    def visible(self) -> set[str]:
        names: set[str] = set()
        scope: _Scope | None = self
        while scope is not None:
            names |= set(scope.symbols)
            scope = scope.parent
        return names


class _Checker:
    def __init__(self, document: Document, spec: EnvSpec) -> None:
        self.document = document
        self.spec = spec
        self.diagnostics: list[Diagnostic] = []
        self.symbols: dict[int, Symbol] = {}
        self.types: dict[int, T] = {}
        self.consts: dict[int, Any] = {}
        self.vector_notes: list[str] = []
        self.functions: dict[str, FunctionModel] = {}
        self.read_copies: list[ast.expr] = []
        self.shape_checks: list[ShapeCheck] = []
        self._random = False
        self._names: set[str] = set()
        self._allow_random = True
        self._allow_options = False
        self._path: tuple[str | int, ...] = ()

    # -- reporting

    def error(
        self,
        path: tuple,
        message: str,
        hint: str = "",
        code: str = "spec",
        node: ast.AST | None = None,
    ) -> None:
        if node is not None and hasattr(node, "lineno"):
            location = self.document.code_location(path, node.lineno, node.col_offset)
        else:
            location = self.document.location(path)
        self.diagnostics.append(Diagnostic(location, message, hint, code))

    # -- parsing

    def parse_expr(self, value: Any, path: tuple) -> Code:
        code = Code(path=path)
        if isinstance(value, bool) or value is None:
            code.expr = ast.Constant(value)
        elif isinstance(value, (int, float)):
            code.expr = ast.Constant(value)
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                self.error(path, "empty expression", "write a value or an expression", "syntax")
                code.expr = ast.Constant(0)
                return code
            try:
                tree = ast.parse(text, mode="eval")
            except SyntaxError as exc:
                self._syntax_error(path, exc)
                code.expr = ast.Constant(0)
                return code
            code.expr = tree.body
        else:
            self.error(
                path,
                f"expected an expression, got {type(value).__name__}",
                "write a number or an expression such as `size - 1`",
                "type",
            )
            code.expr = ast.Constant(0)
        return code

    def parse_block(self, text: str, path: tuple) -> Code:
        code = Code(path=path)
        if not text.strip():
            return code
        try:
            tree = ast.parse(text, mode="exec")
        except SyntaxError as exc:
            self._syntax_error(path, exc)
            return code
        code.stmts = tree.body
        return code

    def _syntax_error(self, path: tuple, exc: SyntaxError) -> None:
        line = exc.lineno or 1
        column = max((exc.offset or 1) - 1, 0)
        location = self.document.code_location(path, line, column)
        message = exc.msg
        hint = "the language is a small subset of Python: check brackets and indentation"
        if "indent" in message.lower():
            hint = "indent blocks with spaces, consistently"
        self.diagnostics.append(Diagnostic(location, f"syntax error: {message}", hint, "syntax"))

    # -- whitelist

    def refused(self, node: ast.AST, path: tuple) -> bool:
        bad = False
        for sub in ast.walk(node):
            entry = _REFUSED.get(type(sub))
            if entry is not None:
                self.error(path, entry[0], entry[1], "refused", sub)
                bad = True
            elif isinstance(sub, ast.Name) and sub.id.startswith("_"):
                self.error(
                    path,
                    f"names starting with '_' are reserved ('{sub.id}')",
                    "rename it without the leading underscore",
                    "refused",
                    sub,
                )
                bad = True
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, (bytes, complex)):
                self.error(
                    path,
                    "bytes and complex literals are not supported",
                    "use ints, floats, bools or strings",
                    "refused",
                    sub,
                )
                bad = True
            elif isinstance(sub, ast.Call) and not isinstance(sub.func, ast.Name):
                if not isinstance(sub.func, ast.Attribute):
                    self.error(
                        path,
                        "only named functions can be called",
                        "call a function from the table, e.g. clip(x, 0, 1)",
                        "refused",
                        sub,
                    )
                    bad = True
        return bad

    # -- expressions

    def expr(self, node: ast.expr, scope: _Scope, defined: set[str] | None = None) -> T:
        t = self._expr(node, scope, defined)
        self.types[id(node)] = t
        return t

    def _expr(self, node: ast.expr, scope: _Scope, defined: set[str] | None) -> T:
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
                return T(promote(a, b).dtype, None)
            try:
                result = binary_result(a, b, true_divide=(op == "/"))
            except ValueError as exc:
                self.error(path, str(exc), "check the shapes of both operands", "shape", node)
                return ANY
            if op == "**" and result.kind == "int":
                # int ** negative int is a float in Python; keep the static type honest.
                return FLOAT if result.weak else T("float64", result.shape)
            if op in ("&", "|", "^") and a.dtype == b.dtype == "bool":
                return T("bool", result.shape, result.weak)
            self._fold(node)
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
            try:
                shape = broadcast(*[t.shape for t in types if t.dtype != "any"])
            except ValueError as exc:
                self.error(path, str(exc), "check the shapes of both operands", "shape", node)
                return ANY
            # A comparison of plain Python numbers is a plain bool; of NumPy values, np.bool_.
            return T("bool", shape, shape == () and all(t.weak for t in types))
        if isinstance(node, ast.IfExp):
            test = self.expr(node.test, scope, defined)
            a = self.expr(node.body, scope, defined)
            b = self.expr(node.orelse, scope, defined)
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
            try:
                inner = broadcast(*[e.shape for e in elements])
            except ValueError:
                self.error(path, "array rows must all have the same shape", "", "shape", node)
                return ANY
            out = promote(*[T(e.dtype, (), e.weak) for e in elements])
            if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
                self.consts[id(node)] = tuple(e.value for e in node.elts)  # type: ignore[attr-defined]
            dtype = out.dtype
            return T(dtype, (len(elements),) + (inner or ()) if inner is not None else None)
        if isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    t = self.expr(part, scope, defined)
                    if t.kind not in ("int", "bool", "any") or not t.is_scalar:
                        self.error(path, "slice bounds must be integers", "", "type", part)
            return ANY
        self.error(path, f"{type(node).__name__} is not part of the language", "", "refused", node)
        return ANY

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
        """Record the value of arithmetic on integer literals (used for shapes and sizes)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = self.consts.get(id(node.operand))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.consts[id(node)] = -value
        elif isinstance(node, ast.BinOp):
            a, b = self.consts.get(id(node.left)), self.consts.get(id(node.right))
            if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
                ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
                if type(node.op) in ops:
                    self.consts[id(node)] = ops[type(node.op)]

    def _name(self, node: ast.Name, scope: _Scope, defined: set[str] | None) -> T:
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
            self.error(
                path,
                f"unknown name '{name}'",
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
        return symbol.type

    def _call(self, node: ast.Call, scope: _Scope, defined: set[str] | None) -> T:
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
            for arg in node.args:
                self.expr(arg, scope, defined)
            if function.returns.random or function.body.random:
                self._random = True
            self.symbols[id(node.func)] = Symbol(name, "function", function.returns.type)
            return function.returns.type
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
            if node.keywords:
                self.error(path, f"{name}() takes no keyword arguments", "", "call", node)
            if not positional:
                self.error(path, f"{name}() needs at least one argument", "", "call", node)
                return ANY
            types = [self.expr(a, scope, defined) for a in positional]
            if any(t.dtype == "any" for t in types):
                return ANY
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
            try:
                return builtin.rule({f"a{i}": t for i, t in enumerate(types)}, consts)
            except CallError as exc:
                self.error(path, f"{name}(): {exc}", "", "type", node)
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
            args[param] = self.expr(arg, scope, defined)
            if id(arg) in self.consts:
                consts[param] = self.consts[id(arg)]
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
                continue
            if keyword_.arg in args:
                self.error(path, f"{name}() got '{keyword_.arg}' twice", "", "call", keyword_.value)
            args[keyword_.arg] = self.expr(keyword_.value, scope, defined)
            if id(keyword_.value) in self.consts:
                consts[keyword_.arg] = self.consts[id(keyword_.value)]
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
        if any(t.dtype == "any" for t in args.values()) and not builtin.random:
            return ANY
        try:
            return builtin.rule(args, consts)
        except CallError as exc:
            self.error(path, f"{name}(): {exc}", f"e.g. {builtin.example}", "type", node)
            return ANY
        except KeyError:
            return ANY

    def _subscript(self, node: ast.Subscript, scope: _Scope, defined: set[str] | None) -> T:
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
        fancy = False
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
        if base.shape is None:
            return T(base.dtype, None)
        rest = list(base.shape[len(parts) :])
        shape = tuple(out_dims + rest) if not fancy else None
        if base.dtype == "str" and shape == ():
            return STR
        return T(base.dtype, shape, base.weak and shape == ())

    # -- statements

    def block(
        self,
        stmts: list[ast.stmt],
        scope: _Scope,
        defined: set[str],
        state: dict[str, T],
        locals_: dict[str, Symbol],
    ) -> set[str]:
        for stmt in stmts:
            defined = self.statement(stmt, scope, defined, state, locals_)
        return defined

    def statement(
        self,
        stmt: ast.stmt,
        scope: _Scope,
        defined: set[str],
        state: dict[str, T],
        locals_: dict[str, Symbol],
    ) -> set[str]:
        path = self._path
        if isinstance(stmt, ast.Pass):
            return defined
        if isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value, scope, defined)
            if len(stmt.targets) != 1:
                self.error(
                    path,
                    "chained assignment (a = b = c) is not supported",
                    "assign each name on its own line",
                    "refused",
                    stmt,
                )
            for target in stmt.targets:
                defined = self.assign(target, value, stmt.value, scope, defined, state, locals_)
            return defined
        if isinstance(stmt, ast.AnnAssign):
            self.error(path, "annotations are not supported", "write `x = value`", "refused", stmt)
            return defined
        if isinstance(stmt, ast.AugAssign):
            current = self.expr(self._read(stmt.target), scope, defined)
            value = self.expr(stmt.value, scope, defined)
            op = BINARY_OPERATORS.get(type(stmt.op), "?")
            if current.is_numeric and value.is_numeric:
                try:
                    result = binary_result(current, value, true_divide=(op == "/"))
                except ValueError as exc:
                    self.error(path, str(exc), "", "shape", stmt)
                    result = current
            else:
                result = ANY
            return self.assign(
                stmt.target, result, stmt.value, scope, defined, state, locals_, augmented=True
            )
        if isinstance(stmt, ast.If):
            test = self.expr(stmt.test, scope, defined)
            if not test.is_scalar and test.dtype != "any":
                self.error(
                    path,
                    f"an if condition must be a scalar, got {test.describe()}",
                    "use any(...)/all(...), or where(...) for element-wise choices",
                    "type",
                    stmt.test,
                )
            then = self.block(stmt.body, scope, set(defined), state, locals_)
            other = self.block(stmt.orelse, scope, set(defined), state, locals_)
            return then & other
        if isinstance(stmt, ast.For):
            if stmt.orelse:
                self.error(
                    path,
                    "for/else is not supported",
                    "move the else body after the loop",
                    "refused",
                    stmt,
                )
            if not isinstance(stmt.target, ast.Name):
                self.error(
                    path,
                    "a for loop needs one loop variable",
                    "for i in range(n):",
                    "refused",
                    stmt.target,
                )
                return defined
            iterator = stmt.iter
            if not (
                isinstance(iterator, ast.Call)
                and isinstance(iterator.func, ast.Name)
                and iterator.func.id == "range"
                and not iterator.keywords
                and 1 <= len(iterator.args) <= 3
            ):
                self.error(
                    path,
                    "a for loop must iterate over range(...)",
                    "for i in range(n): with an integer n",
                    "refused",
                    iterator,
                )
                return defined
            for arg in iterator.args:
                t = self.expr(arg, scope, defined)
                if t.dtype != "any" and (t.kind != "int" or not t.is_scalar):
                    self.error(
                        path,
                        f"range() needs integers, got {t.describe()}",
                        "convert with int(...)",
                        "type",
                        arg,
                    )
                if self._data_dependent(arg, scope):
                    self.vector_notes.append(
                        f"line {stmt.lineno} of {'.'.join(map(str, path))}: the loop bound "
                        "depends on state"
                    )
            name = stmt.target.id
            self._declare_local(stmt.target, INT, scope, locals_, kind="loop")
            inner = self.block(stmt.body, scope, set(defined) | {name}, state, locals_)
            return defined | (inner & defined)
        if isinstance(stmt, ast.Expr):
            call = stmt.value
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and (call.func.id in BUILTINS and BUILTINS[call.func.id].statement)
            ):
                self.expr(call, scope, defined)
                return defined
            self.expr(call, scope, defined)
            self.error(
                path,
                "this expression has no effect",
                "assign its value to a name, e.g. `x = ...`",
                "refused",
                stmt,
            )
            return defined
        entry = _REFUSED.get(type(stmt))
        if entry is None:
            self.error(
                path,
                f"{type(stmt).__name__} statements are not part of the language",
                "",
                "refused",
                stmt,
            )
        return defined

    def _read(self, target: ast.expr) -> ast.expr:
        """A load-context copy of an assignment target, kept alive with the model.

        Types are keyed by node id; keeping the copies referenced means no later node can
        reuse an id that still has a type recorded.
        """
        clone = _load(target)
        self.read_copies.append(clone)
        return clone

    def _data_dependent(self, node: ast.AST, scope: _Scope) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                symbol = scope.lookup(sub.id)
                if symbol is not None and symbol.kind in (
                    "state",
                    "local",
                    "action",
                    "special",
                    "loop",
                ):
                    return True
        return False

    def _declare_local(
        self,
        target: ast.Name,
        value: T,
        scope: _Scope,
        locals_: dict[str, Symbol],
        kind: str = "local",
    ) -> Symbol:
        name = target.id
        if name in BUILTINS or name in CONSTANTS:
            self.error(
                self._path,
                f"'{name}' would hide the built-in function/constant",
                "choose another name",
                "name",
                target,
            )
        if name in RESERVED or keyword.iskeyword(name):
            self.error(self._path, f"'{name}' is reserved", "choose another name", "name", target)
        symbol = locals_.get(name)
        if symbol is None:
            symbol = Symbol(name, kind, value)
            locals_[name] = symbol
            scope.symbols[name] = symbol
        elif symbol.kind in ("local", "loop") and value.dtype != "any":
            if symbol.type.shape != value.shape and symbol.type.dtype != "any":
                if symbol.type.is_scalar != value.is_scalar:
                    self.error(
                        self._path,
                        f"'{name}' was {symbol.type.described()} and is now "
                        f"assigned {value.described()}",
                        "use a new name",
                        "type",
                        target,
                    )
            if symbol.type.is_numeric and value.is_numeric:
                symbol.type = promote(symbol.type, value).with_shape(symbol.type.shape)
                if symbol.type.shape == ():
                    symbol.type = T(symbol.type.dtype, (), symbol.type.weak)
        self.symbols[id(target)] = symbol
        return symbol

    def assign(
        self,
        target: ast.expr,
        value: T,
        value_node: ast.expr,
        scope: _Scope,
        defined: set[str],
        state: dict[str, T],
        locals_: dict[str, Symbol],
        augmented: bool = False,
    ) -> set[str]:
        path = self._path
        if isinstance(target, ast.Name):
            name = target.id
            symbol = scope.lookup(name)
            if symbol is not None and symbol.kind in (
                "param",
                "let",
                "const",
                "label",
                "action",
                "special",
                "function",
                "arg",
                "loop",
            ):
                what = {
                    "param": "param",
                    "let": "let value",
                    "const": "constant",
                    "label": "label constant",
                    "action": "the action",
                    "special": "built-in name",
                    "function": "function",
                    "arg": "function argument",
                    "loop": "loop variable",
                }[symbol.kind]
                hint = {
                    "param": "params are fixed per instance; keep changing values in `state:`",
                    "action": "copy it first: `a = action`",
                }.get(symbol.kind, "assign to a new name")
                self.error(path, f"cannot assign to {what} '{name}'", hint, "assign", target)
                return defined
            if name in state:
                self._check_state_assign(name, state[name], value, target, value_node)
                self.symbols[id(target)] = scope.lookup(name)  # type: ignore[assignment]
                self.types[id(target)] = state[name]
                return defined | {name}
            if augmented and name not in defined:
                self.error(
                    path,
                    f"'{name}' is used before it is assigned",
                    f"assign it first, e.g. `{name} = 0`",
                    "name",
                    target,
                )
            self._declare_local(target, value, scope, locals_)
            self.types[id(target)] = value
            return defined | {name}
        if isinstance(target, ast.Subscript):
            base = target.value
            while isinstance(base, ast.Subscript):
                base = base.value
            if not isinstance(base, ast.Name):
                self.error(path, "can only assign into a named array", "", "assign", target)
                return defined
            symbol = scope.lookup(base.id)
            if symbol is not None and symbol.kind not in ("state", "local"):
                self.error(
                    path,
                    f"cannot assign into {symbol.kind} '{base.id}'",
                    "copy it into a local or state variable first",
                    "assign",
                    target,
                )
                return defined
            clone = self._read(target)
            element = self.expr(clone, scope, defined)
            # Every name in the target (its indices and slice bounds) is resolved like any
            # other read: the backends print the target itself, not the clone.
            for written, read in zip(ast.walk(target), ast.walk(clone), strict=True):
                if id(read) in self.symbols:
                    self.symbols[id(written)] = self.symbols[id(read)]
                if id(read) in self.types:
                    self.types[id(written)] = self.types[id(read)]
                if id(read) in self.consts:
                    self.consts[id(written)] = self.consts[id(read)]
            self.types[id(target)] = element
            if element.kind == "int" and value.kind == "float":
                self.error(
                    path,
                    f"assigning a float into integer array '{base.id}'",
                    "convert with int(...)",
                    "type",
                    target,
                )
            if symbol is not None and symbol.kind == "state":
                defined = defined | {base.id}
            return defined
        if isinstance(target, (ast.Tuple, ast.List)):
            names = target.elts
            if isinstance(value_node, (ast.Tuple, ast.List)) and len(value_node.elts) == len(names):
                for sub_target, sub_value in zip(names, value_node.elts, strict=True):
                    defined = self.assign(
                        sub_target,
                        self.types.get(id(sub_value), ANY),
                        sub_value,
                        scope,
                        defined,
                        state,
                        locals_,
                    )
                return defined
            if value.shape and isinstance(value.shape[0], int) and value.shape[0] != len(names):
                self.error(
                    path,
                    f"cannot unpack {value.shape[0]} values into {len(names)} names",
                    "",
                    "shape",
                    target,
                )
            element = T(value.dtype, value.shape[1:] if value.shape else None)
            if element.shape == ():
                element = T(element.dtype, ())
            for sub_target in names:
                defined = self.assign(
                    sub_target, element, value_node, scope, defined, state, locals_
                )
            return defined
        self.error(path, "cannot assign to this", "", "assign", target)
        return defined

    def _check_state_assign(
        self, name: str, var: T, value: T, node: ast.AST, value_node: ast.AST | None = None
    ) -> None:
        if value.dtype in ("any",):
            return
        path = self._path
        if (
            var.is_scalar
            and var.weak
            and value.is_scalar
            and not value.weak
            and value.is_numeric
            and value.dtype != var.dtype
            and value.kind == var.kind
            and not _is_cast(value_node)
        ):
            # A float32 operand (a Box action, a float32 state) would turn the float64 state
            # into float32 silently; an explicit cast says which one is meant.
            self.error(
                path,
                f"this makes {var.dtype} state '{name}' {value.described()}",
                f"keep it {var.dtype} with `{name} = {_PYTHON_CAST[var.kind]}(...)`, or write "
                f"`{name} = {value.dtype}(...)` to store {value.dtype} values on purpose "
                "(docs/vectorization.md, state types)",
                "type",
                node,
            )
            return
        if not value.is_numeric:
            self.error(
                path, f"state '{name}' holds numbers; got {value.describe()}", "", "type", node
            )
            return
        if var.kind == "int" and value.kind == "float":
            self.error(
                path,
                f"assigning a float to integer state '{name}'",
                "convert explicitly with int(...), or make the state float64",
                "type",
                node,
            )
        if var.kind == "bool" and value.kind != "bool":
            self.error(
                path,
                f"assigning {value.described()} to bool state '{name}'",
                "compare instead, e.g. `x > 0`",
                "type",
                node,
            )
        if (
            (var.kind == value.kind or (var.kind == "float" and value.kind in ("int", "bool")))
            and not value.weak
            and value.dtype != var.dtype
            and np.result_type(var.dtype, value.dtype).name != var.dtype
        ):
            # State keeps its declared dtype; a wider value would change it silently.
            self.error(
                path,
                f"assigning {value.described()} to {var.dtype} state '{name}'",
                f"convert explicitly, e.g. `{name} = {var.dtype}(...)`, or declare the "
                f"state as {value.dtype}",
                "type",
                node,
            )
        if var.is_scalar and not value.is_scalar and value.shape is not None:
            self.error(
                path,
                f"assigning {value.described()} to scalar state '{name}'",
                "give the state a `shape`, or reduce the array",
                "shape",
                node,
            )
        if not var.is_scalar and value.shape is not None and var.shape is not None:
            try:
                if broadcast(var.shape, value.shape) != var.shape:
                    raise ValueError
            except ValueError:
                self.error(
                    path,
                    f"assigning {value.described()} to state '{name}', {var.described()}",
                    "make the value's shape match the state's `shape`",
                    "shape",
                    node,
                )

    # -- a whole code value

    def check_expr(self, code: Code, scope: _Scope, *, random: bool = True) -> Code:
        assert code.expr is not None
        self._path = code.path
        if self.refused(code.expr, code.path):
            code.type = ANY
            return code
        self._random, self._names, self._allow_random = False, set(), random
        code.type = self.expr(code.expr, scope, None)
        code.random, code.names = self._random, set(self._names)
        return code

    def check_block(
        self,
        code: Code,
        scope: _Scope,
        defined: set[str],
        state: dict[str, T],
        locals_: dict[str, Symbol],
    ) -> set[str]:
        self._path = code.path
        bad = False
        for stmt in code.stmts:
            bad = self.refused(stmt, code.path) or bad
        if bad:
            return defined
        self._random, self._names, self._allow_random = False, set(), True
        defined = self.block(code.stmts, scope, defined, state, locals_)
        code.random, code.names = self._random, set(self._names)
        return defined


def _load(target: ast.expr) -> ast.expr:
    """The same target, read instead of written (for `x += 1` and `a[i] = ...`)."""
    clone = ast.parse(ast.unparse(target), mode="eval").body
    ast.copy_location(clone, target)
    for new, old in zip(ast.walk(clone), ast.walk(target), strict=False):
        ast.copy_location(new, old)
    return clone


# --- types of spec data ---------------------------------------------------------------


def _param_type(spec: ParamSpec) -> T:
    kind = spec.param_type
    if kind == "list":
        if spec.default is None:
            return ANY  # no default to learn the element type from
        return _data_type(spec.default, exact=False)
    return {"int": INT, "float": FLOAT, "bool": BOOL, "str": STR}[kind]


def _param_storage_type(spec: ParamSpec) -> T:
    """A param's type with what a value passed in must share with the default: for a list,
    every length but the first (rows of [x, y, r] stay rows of three)."""
    t = erase(_param_type(spec))
    if t.is_numeric and t.shape and spec.default is not None:
        exact = _data_type(spec.default, exact=True)
        if exact.shape is not None and len(exact.shape) == len(t.shape):
            return T(t.dtype, (None, *exact.shape[1:]))
    return t


def _data_type(value: Any, exact: bool = True) -> T:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, dict):
        return T("dict", (), False, tuple((k, _data_type(v, exact)) for k, v in value.items()))
    if isinstance(value, list):
        if not value:
            return T("float64", (0,) if exact else (None,))
        items = [_data_type(v, exact) for v in value]
        if all(i.dtype == "str" and i.is_scalar for i in items):
            return T("str", (len(items),) if exact else (None,))
        if all(i.is_numeric for i in items):
            inner = items[0].shape
            if any(i.shape != inner for i in items):
                return ANY
            dtype = promote(*[T(i.dtype, (), i.weak) for i in items]).dtype
            first = len(items) if exact else None
            return T(dtype, (first,) + tuple(inner or ()))
    return ANY


def _space_action_type(space: SpaceModel) -> T:
    kind = space.kind
    if kind == "Discrete":
        return INT
    if kind == "Box":
        return T(space.dtype, space.shape)
    if kind == "MultiDiscrete":
        return T("int64", space.shape)
    if kind == "MultiBinary":
        return T("int8", space.shape)
    if kind == "Text":
        return STR
    if kind == "Dict":
        return T("dict", (), False, tuple((k, _space_action_type(c)) for k, c in space.children))
    if kind == "Tuple":
        return T("tuple", (), False, tuple((i, _space_action_type(c)) for i, c in space.children))
    return ANY


# --- the analysis -------------------------------------------------------------------


def analyze(document: Document, spec: EnvSpec) -> EnvModel:
    """Check one spec; raise `DiagnosticError` with every problem found."""
    checker = _Checker(document, spec)
    error = checker.error

    # Global names: params, constants, labels, let, functions.
    globals_: dict[str, Symbol] = {}
    owners: dict[str, str] = {}
    class_name = class_name_for(spec.id)
    class_names = (class_name, class_name.removesuffix("Env") + "VectorEnv")

    def declare(name: str, kind: str, t: T, path: tuple) -> None:
        if name in RESERVED or name in BUILTINS or name in CONSTANTS or name in class_names:
            error(
                path,
                f"the name '{name}' is reserved by envgen or the language",
                "choose another name",
                "name",
            )
            return
        if name in owners:
            error(
                path,
                f"'{name}' is already defined as a {owners[name]}",
                "rename one of them",
                "name",
            )
            return
        owners[name] = kind
        globals_[name] = Symbol(name, kind, t)

    for name, param in spec.params.items():
        declare(name, "param", _param_type(param), ("params", name))
        _check_param_default(checker, name, param)
    for name, value in spec.constants.items():
        t = _data_type(value)
        if t.dtype == "any":
            error(
                ("constants", name),
                "a constant must be a number, string, list of "
                "numbers/strings (rectangular) or a mapping of them",
                "give every row of a table the same length",
                "type",
            )
        declare(name, "const", t, ("constants", name))
    labels: dict[str, int] = {}
    action_space = _space(checker, spec.action_space, ("action_space",))
    observation_space = _space(checker, spec.observation_space, ("observation_space",))
    if action_space.labels:
        start = action_space.args.get("start")
        start_value = (
            start.expr.value if start is not None and isinstance(start.expr, ast.Constant) else 0
        )
        n = action_space.args["n"]
        if isinstance(n.expr, ast.Constant) and len(action_space.labels) != n.expr.value:
            error(
                ("action_space", "labels"),
                f"{len(action_space.labels)} labels for {n.expr.value} actions",
                "give exactly one label per action",
                "labels",
            )
        for i, label in enumerate(action_space.labels):
            labels[label.upper()] = int(start_value) + i
            declare(label.upper(), "label", INT, ("action_space", "labels", i))

    root = _Scope(globals_)
    lets: dict[str, Code] = {}
    for name, value in spec.let.items():
        code = checker.parse_expr(value, ("let", name))
        checker.check_expr(code, root, random=False)
        declare(name, "let", code.type, ("let", name))
        lets[name] = code

    # Space bounds are expressions over params and let.
    for space in (action_space, observation_space):
        _check_space_codes(checker, space, root)

    # Functions: pure, see params/let/constants and their arguments.
    for name in spec.functions:
        if name in RESERVED_METHODS and name not in RESERVED:
            error(
                ("functions", name),
                f"the function name '{name}' is reserved by the generated env",
                "choose another name",
                "name",
            )
        declare(name, "function", ANY, ("functions", name))
    for name, fn in spec.functions.items():
        fn_scope = _Scope({a: Symbol(a, "arg", ANY) for a in fn.args}, root)
        body = checker.parse_block(fn.body, ("functions", name, "body"))
        fn_locals: dict[str, Symbol] = {}
        defined = checker.check_block(body, fn_scope, set(fn.args), {}, fn_locals)
        returns = checker.parse_expr(fn.returns, ("functions", name, "return"))
        checker._path = returns.path
        if returns.expr is not None and not checker.refused(returns.expr, returns.path):
            checker._random, checker._names = False, set()
            returns.type = checker.expr(returns.expr, fn_scope, defined)
            returns.random, returns.names = checker._random, set(checker._names)
        _check_locals_read(checker, body, fn_locals, [body, returns])
        model = FunctionModel(name, list(fn.args), body, returns)
        checker.functions[name] = model
        if name in globals_:  # not when the name was refused (reserved or duplicate)
            globals_[name].type = returns.type
        if body.random or returns.random:
            checker.vector_notes.append(f"function '{name}' draws randomness")

    # State: initial values in declaration order; each may use the ones before it.
    state_scope = _Scope({}, root)
    state_types: dict[str, T] = {}
    states: dict[str, StateModel] = {}
    init_scope = _Scope({}, root)
    for name, var in spec.state.items():
        shape_codes = []
        dims: list[int | None] = []
        for i, dim in enumerate(var.shape):
            code = checker.parse_expr(dim, ("state", name, "shape", i))
            checker.check_expr(code, root, random=False)
            if code.type.kind not in ("int", "any") or not code.type.is_scalar:
                error(code.path, "a shape entry must be an integer", "", "type")
            dims.append(checker.dim_of(code.expr))
            shape_codes.append(code)
        _check_size(checker, dims, ("state", name, "shape"))
        t = scalar_type(var.dtype) if not var.shape else T(var.dtype, tuple(dims))
        if name in owners:
            error(
                ("state", name),
                f"'{name}' is already defined as a {owners[name]}",
                "rename one of them",
                "name",
            )
        elif name in RESERVED or name in BUILTINS or name in CONSTANTS:
            error(
                ("state", name),
                f"the name '{name}' is reserved by envgen or the language",
                "choose another name",
                "name",
            )
        owners.setdefault(name, "state")
        init = checker.parse_expr(var.init, ("state", name, "init"))
        checker._allow_options = True
        checker.check_expr(init, init_scope)
        checker._allow_options = False
        if init.type.dtype != "any":
            checker._path = init.path
            checker._check_state_assign(name, t, init.type, init.expr)  # type: ignore[arg-type]
        symbol = Symbol(name, "state", t)
        init_scope.symbols[name] = symbol
        state_scope.symbols[name] = symbol
        state_types[name] = t
        states[name] = StateModel(name, var, t, shape_codes, init)

    action_type = _space_action_type(action_space)

    # reset: state plus locals; no action.
    reset_scope = _Scope({"elapsed_steps": Symbol("elapsed_steps", "special", INT)}, state_scope)
    reset_code = checker.parse_block(spec.reset, ("reset",))
    checker._allow_options = True
    reset_locals: dict[str, Symbol] = {}
    checker.check_block(
        reset_code, _Scope({}, reset_scope), set(state_types), state_types, reset_locals
    )
    checker._allow_options = False
    _check_locals_read(checker, reset_code, reset_locals, [reset_code])

    # step: state, action, elapsed_steps, locals.
    step_symbols = {
        "action": Symbol("action", "action", action_type),
        "elapsed_steps": Symbol("elapsed_steps", "special", INT),
    }
    step_scope = _Scope({}, _Scope(step_symbols, state_scope))
    step_code = checker.parse_block(spec.step, ("step",))
    step_locals: dict[str, Symbol] = {}
    defined = checker.check_block(step_code, step_scope, set(state_types), state_types, step_locals)
    uses_random_in_step = step_code.random

    # Observation: over state only (it is also computed at reset).
    obs_scope = _Scope({"elapsed_steps": Symbol("elapsed_steps", "special", INT)}, state_scope)
    observation = _observation(
        checker, spec.observation, observation_space, obs_scope, ("observation",)
    )

    # After step: terminated, then reward and info (which may read `terminated`).
    after = _Scope(dict(step_scope.symbols), _Scope(step_symbols, state_scope))
    terminated = checker.parse_expr(spec.terminated, ("terminated",))
    checker.check_expr(terminated, after, random=False)
    _check_defined(checker, terminated, step_locals, defined)
    if terminated.type.dtype != "any" and (
        not terminated.type.is_scalar or not terminated.type.is_numeric
    ):
        error(
            ("terminated",),
            f"terminated must be a scalar condition, got {terminated.type.describe()}",
            "e.g. `pos == 0`",
            "type",
        )
    after.symbols["terminated"] = Symbol("terminated", "special", BOOL)
    reward = checker.parse_expr(spec.reward, ("reward",))
    checker.check_expr(reward, after, random=False)
    _check_defined(checker, reward, step_locals, defined)
    if reward.type.dtype != "any" and (not reward.type.is_scalar or not reward.type.is_numeric):
        error(
            ("reward",),
            f"reward must be a scalar number, got {reward.type.describe()}",
            "reduce arrays with sum(...) or mean(...)",
            "type",
        )
    info: dict[str, Code] = {}
    reset_info: list[str] = []
    for key, value in spec.info.items():
        code = checker.parse_expr(value, ("info", key))
        checker.check_expr(code, after, random=False)
        _check_defined(checker, code, step_locals, defined)
        info[key] = code
        if not (code.names & (set(step_locals) | {"action", "terminated"})):
            reset_info.append(key)

    _check_locals_read(
        checker, step_code, step_locals, [step_code, terminated, reward, *info.values()]
    )

    max_steps = None
    if spec.max_episode_steps is not None:
        max_steps = checker.parse_expr(spec.max_episode_steps, ("max_episode_steps",))
        checker.check_expr(max_steps, root, random=False)
        if max_steps.type.kind not in ("int", "any") or not max_steps.type.is_scalar:
            error(
                ("max_episode_steps",),
                "max_episode_steps must be an integer",
                "e.g. 200, or a param",
                "type",
            )
        limit = checker.consts.get(id(max_steps.expr))
        if isinstance(limit, int) and not isinstance(limit, bool) and limit <= 0:
            error(
                ("max_episode_steps",),
                f"max_episode_steps must be positive, got {limit}",
                "e.g. 200; leave it out for no time limit",
                "range",
            )

    ansi = None
    rgb = None
    if spec.render is not None:
        if spec.render.ansi is not None:
            ansi = spec.render.ansi
            _check_template(
                checker,
                ansi,
                ("render", "ansi"),
                root.visible() | set(state_types) | {"elapsed_steps"},
            )
        if spec.render.rgb_array is not None:
            render_scope = _Scope(
                {"elapsed_steps": Symbol("elapsed_steps", "special", INT)}, state_scope
            )
            rgb = _render_code(checker, spec.render.rgb_array, render_scope)

    if spec.hooks is not None and (spec.hooks.after_step or spec.hooks.after_reset):
        checker.vector_notes.append("the spec has Python hooks (trusted code, run per env)")
    for space, where in ((action_space, "action"), (observation_space, "observation")):
        if _has_kind(space, {"Text", "Graph", "Sequence", "OneOf"}):
            checker.vector_notes.append(
                f"the {where} space has a Text, Graph, Sequence or OneOf part"
            )
    if action_space.kind in ("Dict", "Tuple"):
        checker.vector_notes.append("the action space is a Dict or Tuple")
    if not spec.vectorize:
        checker.vector_notes.append("the spec sets `vectorize: false`")

    if checker.diagnostics:
        raise DiagnosticError(checker.diagnostics)

    raw = document.path.read_bytes()
    model = EnvModel(
        spec=spec,
        document=document,
        source_hash=hashlib.sha256(raw).hexdigest(),
        class_name=class_name_for(spec.id),
        module_name=module_name_for(spec.id),
        params=dict(spec.params),
        constants=dict(spec.constants),
        labels=labels,
        lets=lets,
        functions=checker.functions,
        action_space=action_space,
        observation_space=observation_space,
        action_type=action_type,
        state=states,
        reset=reset_code,
        step=step_code,
        observation=observation,
        reward=reward,
        terminated=terminated,
        info=info,
        reset_info=reset_info,
        max_episode_steps=max_steps,
        ansi=ansi,
        rgb_array=rgb,
        symbols=checker.symbols,
        types=checker.types,
        vector_notes=checker.vector_notes,
        uses_random_in_step=uses_random_in_step,
        read_copies=checker.read_copies,
        shape_checks=checker.shape_checks,
        param_types={name: _param_storage_type(param) for name, param in spec.params.items()},
    )
    _erase_symbolic_lengths(model)
    return model


def _erase_symbolic_lengths(model: EnvModel) -> None:
    """Hand the backends lengths as ints or unknown: the symbolic ones have done their
    work (the observation contract, `shape_checks`) and no backend prints them."""
    model.types = {key: erase(t) for key, t in model.types.items()}
    for symbol in model.symbols.values():
        symbol.type = erase(symbol.type)
    for code in model.codes():
        code.type = erase(code.type)
    for state in model.state.values():
        state.type = erase(state.type)
    model.action_type = erase(model.action_type)
    spaces = [model.action_space, model.observation_space]
    while spaces:
        space = spaces.pop()
        if space.shape is not None:
            space.shape = tuple(None if isinstance(d, Sym) else d for d in space.shape)
        spaces.extend(child for _, child in space.children)


def _check_locals_read(
    checker: _Checker, block: Code, block_locals: dict[str, Symbol], readers: list[Code]
) -> None:
    """A local that nothing reads is refused: it is a typo or a leftover, and generated
    code must not carry dead names (ruff's F841)."""
    if checker.diagnostics:
        return  # a dead local is noise beside a real error (often the error's own echo)
    read = set().union(*(code.names for code in readers))
    for name, symbol in block_locals.items():
        if symbol.kind != "local" or name in read:
            continue
        where = _first_store(block.stmts, name)
        checker._path = block.path
        checker.error(
            block.path,
            f"'{name}' is assigned but never used",
            "remove the assignment, or use the value (a typo in a later name?)",
            "name",
            where,
        )


def _first_store(stmts: list[ast.stmt], name: str) -> ast.AST | None:
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
                return node
    return None


def _check_defined(
    checker: _Checker, code: Code, step_locals: dict[str, Symbol], defined: set[str]
) -> None:
    for node in ast.walk(code.expr) if code.expr is not None else []:
        if isinstance(node, ast.Name) and node.id in step_locals and node.id not in defined:
            checker.error(
                code.path,
                f"'{node.id}' is not assigned on every path of `step`",
                "assign it before any if/else, or in every branch",
                "name",
                node,
            )


def _check_param_default(checker: _Checker, name: str, param: ParamSpec) -> None:
    path = ("params", name, "default")
    value = param.default
    if value is None:
        return
    kind = param.param_type
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "list": isinstance(value, list),
    }[kind]
    if not ok:
        checker.error(
            path,
            f"the default {value!r} is not a {kind}",
            "change the default or the `type`",
            "type",
        )
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) and kind == "int":
            checker.error(path, "an int param must be finite", "", "range")
        for bound, test, text in (
            (param.ge, lambda v, b: v >= b, ">="),
            (param.gt, lambda v, b: v > b, ">"),
            (param.le, lambda v, b: v <= b, "<="),
            (param.lt, lambda v, b: v < b, "<"),
        ):
            if bound is not None and not test(value, bound):
                checker.error(
                    path,
                    f"the default {value} is not {text} {bound}",
                    "change the default or the bound",
                    "range",
                )
    if param.choices is not None and value not in param.choices:
        checker.error(
            path,
            f"the default {value!r} is not one of the choices {param.choices}",
            did_you_mean(str(value), map(str, param.choices))
            or "make the default one of the choices",
            "range",
        )


def _check_size(checker: _Checker, dims: list[int | None], path: tuple) -> None:
    """Refuse arrays whose known size would exhaust memory when the env is built or reset."""
    total = 1
    for dim in dims:
        if isinstance(dim, int) and dim > 0:
            total *= dim
    if total > MAX_ELEMENTS:
        checker.error(
            path,
            f"the shape {tuple(dims)} has {total} elements, more than the {MAX_ELEMENTS} accepted",
            "use smaller dimensions",
            "range",
        )


def _has_kind(space: SpaceModel, kinds: set[str]) -> bool:
    return space.kind in kinds or any(_has_kind(c, kinds) for _, c in space.children)


def _space(checker: _Checker, spec: Any, path: tuple) -> SpaceModel:
    from envgen.compiler import spec as s

    if isinstance(spec, s.BoxSpace):
        box = spec.box
        model = SpaceModel("Box", path, dtype=box.dtype)
        for key in ("low", "high"):
            value = getattr(box, key)
            if isinstance(value, list):
                model.args[key] = [
                    checker.parse_expr(v, path + ("Box", key, i)) for i, v in enumerate(value)
                ]
            else:
                model.args[key] = checker.parse_expr(value, path + ("Box", key))
        if box.shape is not None:
            model.args["shape"] = [
                checker.parse_expr(v, path + ("Box", "shape", i)) for i, v in enumerate(box.shape)
            ]
        return model
    if isinstance(spec, s.DiscreteSpace):
        model = SpaceModel("Discrete", path, labels=list(spec.labels or []), shape=())
        value = spec.discrete
        if isinstance(value, s.DiscreteArgs):
            model.args["n"] = checker.parse_expr(value.n, path + ("Discrete", "n"))
            model.args["start"] = checker.parse_expr(value.start, path + ("Discrete", "start"))
        else:
            model.args["n"] = checker.parse_expr(value, path + ("Discrete",))
        return model
    if isinstance(spec, s.MultiDiscreteSpace):
        model = SpaceModel("MultiDiscrete", path)
        value = spec.multi_discrete
        if isinstance(value, s.MultiDiscreteArgs):
            model.args["nvec"] = [
                checker.parse_expr(v, path + ("MultiDiscrete", "nvec", i))
                for i, v in enumerate(value.nvec)
            ]
            if value.start is not None:
                model.args["start"] = [
                    checker.parse_expr(v, path + ("MultiDiscrete", "start", i))
                    for i, v in enumerate(value.start)
                ]
        else:
            model.args["nvec"] = [
                checker.parse_expr(v, path + ("MultiDiscrete", i)) for i, v in enumerate(value)
            ]
        model.shape = (len(model.args["nvec"]),)
        return model
    if isinstance(spec, s.MultiBinarySpace):
        model = SpaceModel("MultiBinary", path)
        value = spec.multi_binary
        values = value if isinstance(value, list) else [value]
        model.args["n"] = [
            checker.parse_expr(
                v, path + ("MultiBinary", i) if isinstance(value, list) else path + ("MultiBinary",)
            )
            for i, v in enumerate(values)
        ]
        return model
    if isinstance(spec, s.TextSpace):
        model = SpaceModel("Text", path)
        model.args["max_length"] = checker.parse_expr(
            spec.text.max_length, path + ("Text", "max_length")
        )
        model.args["min_length"] = checker.parse_expr(
            spec.text.min_length, path + ("Text", "min_length")
        )
        model.args["charset"] = spec.text.charset
        if spec.text.charset is not None and not spec.text.charset:
            checker.error(
                path + ("Text", "charset"),
                "the charset is empty",
                "list the allowed characters, or leave `charset` out for alphanumerics",
                "space",
            )
        return model
    if isinstance(spec, s.DictSpace):
        model = SpaceModel("Dict", path)
        model.children = [
            (k, _space(checker, v, path + ("Dict", k))) for k, v in spec.dict_.items()
        ]
        if not model.children:
            checker.error(path, "a Dict space needs at least one key", "", "space")
        return model
    if isinstance(spec, s.TupleSpace):
        model = SpaceModel("Tuple", path)
        model.children = [
            (i, _space(checker, v, path + ("Tuple", i))) for i, v in enumerate(spec.tuple_)
        ]
        if not model.children:
            checker.error(path, "a Tuple space needs at least one entry", "", "space")
        return model
    if isinstance(spec, s.SequenceSpace):
        model = SpaceModel("Sequence", path)
        model.args["stack"] = spec.sequence.stack
        model.children = [
            ("space", _space(checker, spec.sequence.space, path + ("Sequence", "space")))
        ]
        return model
    if isinstance(spec, s.GraphSpace):
        model = SpaceModel("Graph", path)
        model.children = [
            ("node_space", _space(checker, spec.graph.node_space, path + ("Graph", "node_space")))
        ]
        if spec.graph.edge_space is not None:
            model.children.append(
                (
                    "edge_space",
                    _space(checker, spec.graph.edge_space, path + ("Graph", "edge_space")),
                )
            )
        for key, child in model.children:
            if child.kind not in ("Box", "Discrete"):
                checker.error(child.path, f"a Graph's {key} must be a Box or Discrete", "", "space")
        return model
    if isinstance(spec, s.OneOfSpace):
        model = SpaceModel("OneOf", path)
        model.children = [
            (i, _space(checker, v, path + ("OneOf", i))) for i, v in enumerate(spec.one_of)
        ]
        if not model.children:
            checker.error(path, "a OneOf space needs at least one entry", "", "space")
        return model
    raise AssertionError(f"unknown space {spec!r}")


def _check_space_codes(checker: _Checker, space: SpaceModel, scope: _Scope) -> None:
    for key, value in space.args.items():
        codes = value if isinstance(value, list) else [value]
        for code in codes:
            if not isinstance(code, Code):
                continue
            checker.check_expr(code, scope, random=False)
            t = code.type
            if t.dtype == "any":
                continue
            if key in ("shape", "n", "nvec", "start", "max_length", "min_length"):
                if t.kind not in ("int",) or not t.is_scalar:
                    checker.error(
                        code.path,
                        f"{key} must be an integer, got {t.describe()}",
                        "write a whole number, or convert with int(...)",
                        "type",
                    )
                value_ = checker.consts.get(id(code.expr))
                if isinstance(value_, int) and key in ("shape", "n", "nvec") and value_ <= 0:
                    checker.error(
                        code.path,
                        f"{key} must be positive, got {value_}",
                        "use a value of at least 1",
                        "range",
                    )
                if isinstance(value_, int) and key == "shape" and value_ > 10_000_000:
                    checker.error(
                        code.path,
                        f"dimension {value_} is too large",
                        "use dimensions of at most 10000000",
                        "range",
                    )
                elif isinstance(value_, int) and abs(value_) > MAX_INT64:
                    checker.error(
                        code.path,
                        f"{key} {value_} does not fit in a 64-bit integer",
                        "use a smaller value",
                        "range",
                    )
            elif key in ("low", "high") and not t.is_numeric:
                checker.error(
                    code.path,
                    f"{key} must be a number",
                    "write a number or an expression over params",
                    "type",
                )
    if space.kind == "Box":
        dims: list[int | None] = []
        for key in ("low", "high"):
            if space.args[key] == []:
                checker.error(
                    space.path + ("Box", key),
                    f"{key} is an empty list",
                    "give one bound for all elements, or one per element",
                    "shape",
                )
                return
        if "shape" in space.args:
            for code in space.args["shape"]:
                dims.append(checker.dim_of(code.expr))
            for key in ("low", "high"):
                if isinstance(space.args[key], list) and len(space.args[key]) != (
                    dims[0] if len(dims) == 1 and isinstance(dims[0], int) else len(space.args[key])
                ):
                    checker.error(
                        space.args[key][0].path[:-1],
                        f"{key} has {len(space.args[key])} entries but the shape is {tuple(dims)}",
                        "give one bound per element, or one for all",
                        "shape",
                    )
            space.shape = tuple(dims)
            _check_size(checker, dims, space.path + ("Box", "shape"))
        else:
            lists = [space.args[k] for k in ("low", "high") if isinstance(space.args[k], list)]
            if lists:
                space.shape = (len(lists[0]),)
                if len(lists) == 2 and len(lists[0]) != len(lists[1]):
                    checker.error(space.path, "low and high have different lengths", "", "shape")
            else:
                space.shape = ()
        low, high = space.args["low"], space.args["high"]
        if isinstance(low, Code) and isinstance(high, Code):
            a, b = checker.consts.get(id(low.expr)), checker.consts.get(id(high.expr))
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
                checker.error(
                    high.path, f"high ({b}) is below low ({a})", "swap low and high", "range"
                )
    if space.kind == "MultiBinary":
        dims = []
        for code in space.args["n"]:
            dims.append(checker.dim_of(code.expr))
        space.shape = tuple(dims)
        _check_size(checker, dims, space.path + ("MultiBinary",))
    for _, child in space.children:
        _check_space_codes(checker, child, scope)


def _observation(
    checker: _Checker, value: Any, space: SpaceModel, scope: _Scope, path: tuple
) -> ObservationModel:
    model = ObservationModel(space)
    kind = space.kind
    if kind in ("Dict", "Graph", "OneOf") or (kind == "Tuple" and isinstance(value, list)):
        if kind == "Dict":
            expected = [k for k, _ in space.children]
        elif kind == "Graph":
            expected = ["nodes", "edge_links", "edges"] if len(space.children) > 1 else ["nodes"]
        elif kind == "OneOf":
            expected = ["index", "value"]
        else:
            expected = list(range(len(space.children)))
        if kind == "Tuple":
            if len(value) != len(expected):
                checker.error(
                    path,
                    f"the observation has {len(value)} entries but the Tuple "
                    f"space has {len(expected)}",
                    "give one expression per entry",
                    "observation",
                )
                return model
            items = list(enumerate(value))
        else:
            if not isinstance(value, dict):
                checker.error(
                    path,
                    f"a {kind} observation is a mapping with the keys "
                    f"{', '.join(map(str, expected))}",
                    f"write `observation: {{{expected[0]}: ..., ...}}`",
                    "observation",
                )
                return model
            missing = [k for k in expected if k not in value]
            extra = [k for k in value if k not in expected]
            for key in extra:
                checker.error(
                    path + (key,),
                    f"'{key}' is not a key of the {kind} space",
                    did_you_mean(str(key), map(str, expected))
                    or f"the keys are {', '.join(map(str, expected))}",
                    "observation",
                )
            if missing:
                checker.error(
                    path,
                    f"the observation lacks {', '.join(map(str, missing))}",
                    f"the {kind} space has the keys {', '.join(map(str, expected))}",
                    "observation",
                )
            if missing or extra:
                return model
            items = [(k, value[k]) for k in expected]
        children = dict(space.children)
        for key, item in items:
            if kind in ("Dict", "Tuple"):
                child_space = children[key]
                model.children.append(
                    (key, _observation(checker, item, child_space, scope, path + (key,)))
                )
            else:
                code = checker.parse_expr(item, path + (key,))
                checker.check_expr(code, scope, random=False)
                sub = SpaceModel("Any", path + (key,))
                model.children.append((key, ObservationModel(sub, code)))
        return model
    if isinstance(value, list):
        code = _list_code(checker, value, path)
    else:
        code = checker.parse_expr(value, path)
    checker.check_expr(code, scope, random=False)
    model.code = code
    _check_observation_type(checker, code, space)
    return model


def _list_code(checker: _Checker, values: list[Any], path: tuple) -> Code:
    """A list of YAML expressions as one array expression, keeping each element's location."""
    elements = []
    spans = checker.document.spans
    parent = spans.get(tuple(path))
    for i, value in enumerate(values):
        element = checker.parse_expr(value, path + (i,))
        own = spans.get(tuple(path) + (i,))
        if parent is not None and own is not None and element.expr is not None:
            # Re-base the element's positions onto the list's node, where errors point.
            lines = own.content_line - parent.content_line
            columns = own.content_column - parent.content_column
            for node in ast.walk(element.expr):
                if hasattr(node, "lineno"):
                    if node.lineno == 1 and lines == 0:
                        node.col_offset += columns
                    elif node.lineno == 1:
                        node.col_offset += own.content_column - 1
                    node.lineno += lines
        elements.append(element.expr)
    code = Code(path=path, expr=ast.List(elts=elements, ctx=ast.Load()))
    return code


def _check_observation_type(checker: _Checker, code: Code, space: SpaceModel) -> None:
    t = code.type
    if t.dtype == "any":
        return
    path = code.path
    kind = space.kind
    if kind == "Discrete":
        if not t.is_scalar or t.kind not in ("int", "bool"):
            checker.error(
                path,
                f"a Discrete observation must be an integer scalar, got {t.describe()}",
                "convert with int(...)",
                "observation",
            )
    elif kind in ("Box", "MultiDiscrete", "MultiBinary"):
        if not t.is_numeric:
            checker.error(
                path, f"a {kind} observation must be numeric, got {t.describe()}", "", "observation"
            )
            return
        expected = space.shape
        if kind != "Box" and t.kind == "float":
            checker.error(
                path,
                f"a {kind} observation must hold integers, got {t.describe()}",
                "convert with int(...)",
                "observation",
            )
        if (
            kind == "Box"
            and space.dtype != "bool"
            and np_kind(space.dtype) == "int"
            and (t.kind == "float")
        ):
            checker.error(
                path,
                f"the {space.dtype} Box cannot hold {t.describe()}",
                "convert explicitly, e.g. int(...), or use a float dtype",
                "observation",
            )
        if expected is not None and t.shape is not None:
            verdicts = [dim_equal(a, b) for a, b in zip(expected, t.shape, strict=False)]
            if len(expected) != len(t.shape) or False in verdicts:
                hint = "make the expression's shape match the declared space"
                if _adds_a_list(code.expr):
                    hint = (
                        "`+` adds arrays element by element (as in NumPy); "
                        "it does not join them: the observation must have the space's shape"
                    )
                checker.error(
                    path,
                    f"the observation is {t.described()} but the space has "
                    f"shape {_shape_text(expected)}",
                    hint,
                    "observation",
                )
            elif None in verdicts and all(
                a is not None and b is not None for a, b in zip(expected, t.shape, strict=True)
            ):
                # Lengths only the param values decide: checked once when the env is made.
                checker.shape_checks.append(
                    ShapeCheck(
                        "the observation" + "".join(f"[{p!r}]" for p in path[1:]),
                        t.shape,
                        expected,
                        str(checker.document.location(path)),
                    )
                )
    elif kind == "Text":
        if t.dtype != "str" or not t.is_scalar:
            checker.error(
                path,
                f"a Text observation must be a string, got {t.describe()}",
                "build one with text(codes, charset)",
                "observation",
            )


_PYTHON_CAST = {"float": "float", "int": "int", "bool": "bool"}


def _is_cast(node: ast.AST | None) -> bool:
    """Whether `node` is an explicit dtype conversion, e.g. float32(x)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in NUMERIC | {"int", "float", "bool"}
    )


def _adds_a_list(node: ast.expr | None) -> bool:
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add)
        and any(isinstance(side, ast.List) for side in (node.left, node.right))
    )


def np_kind(dtype: str) -> str:
    return "int" if dtype.startswith(("int", "uint")) else dtype


def _shape_text(shape: tuple[int | None, ...]) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


def _render_code(checker: _Checker, text: str, scope: _Scope) -> Code:
    path = ("render", "rgb_array")
    stripped = text.strip()
    is_block = "\n" in stripped or re.match(r"^[A-Za-z_]\w*\s*=[^=]", stripped)
    if not is_block:
        code = checker.parse_expr(text, path)
        checker.check_expr(code, scope)
        t = code.type
        if t.dtype not in ("uint8", "any") or (t.shape is not None and len(t.shape) != 3):
            checker.error(
                path,
                f"rgb_array must be a uint8 H×W×3 image, got {t.describe()}",
                "build it with zeros((h, w, 3), dtype='uint8') and drawing functions",
                "render",
            )
        return code
    code = checker.parse_block(text, path)
    render_locals: dict[str, Symbol] = {}
    defined = checker.check_block(code, _Scope({}, scope), set(), {}, render_locals)
    if "frame" not in render_locals or "frame" not in defined:
        checker.error(
            path,
            "an rgb_array block must assign `frame`",
            "end with `frame = ...` (a uint8 H×W×3 array)",
            "render",
        )
    dead = {k: v for k, v in render_locals.items() if k != "frame"}
    _check_locals_read(checker, code, dead, [code])
    return code


_SANDBOX = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)


def _check_template(checker: _Checker, template: str, path: tuple, names: set[str]) -> None:
    try:
        parsed = _SANDBOX.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        location = checker.document.code_location(path, exc.lineno or 1, 0)
        checker.diagnostics.append(
            Diagnostic(
                location,
                f"template syntax error: {exc.message}",
                "see Jinja2's template syntax",
                "template",
            )
        )
        return
    from jinja2 import meta, nodes

    # The sandbox refuses these at render time too; refusing them here makes a spec that
    # probes it fail at build time, with a location, instead of when someone renders.
    for node in parsed.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name)):
        bad = None
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            bad = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
                bad = node.arg.value
        elif isinstance(node, nodes.Name) and node.name == "self":
            bad = "self"
        elif isinstance(node, nodes.Filter):
            if node.name == "attr":
                bad = "|attr"
            for pair in node.kwargs:
                value = getattr(pair.value, "value", None)
                if isinstance(value, str) and value.startswith("_"):
                    bad = value
        if bad is not None:
            checker.error(
                path,
                f"the template reaches '{bad}', which templates may not use",
                "templates format params, let and state values; they cannot reach "
                "attributes or internals",
                "template",
            )
            return
    for kind in (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends):
        if next(parsed.find_all(kind), None) is not None:
            checker.error(
                path,
                f"the template uses {{% {kind.__name__.lower()} %}}, which templates may not use",
                "write the whole template inline",
                "template",
            )
            return
    for name in sorted(meta.find_undeclared_variables(parsed)):
        if name not in names:
            checker.error(
                path,
                f"the template uses unknown name '{name}'",
                did_you_mean(name, names) or "templates see params, let and state",
                "template",
            )
