"""The checker: parses spec code, walks it with the expression and statement rules,
and records every name's symbol and every expression's type."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from envgen.compiler._expressions import ExpressionRules
from envgen.compiler._language import REFUSED, fits_int64
from envgen.compiler._limits import LimitError, default_values, fold, parse
from envgen.compiler._statements import StatementRules, check_locals_read
from envgen.compiler.diagnostics import Diagnostic
from envgen.compiler.ir import (
    BINARY_OPERATORS,
    Code,
    FunctionModel,
    FunctionVariant,
    ShapeCheck,
    Symbol,
)
from envgen.compiler.load import Document
from envgen.compiler.spec import EnvSpec
from envgen.compiler.types import ANY, T


@dataclass
class FlowTables:
    """What flow-sensitive checking records: node types, operand dtypes, joined types."""

    types: dict[int, T]
    operands: dict[int, str]
    held: dict[int, T]


class Scope:
    def __init__(self, symbols: dict[str, Symbol], parent: Scope | None = None) -> None:
        self.symbols = symbols
        self.parent = parent

    def lookup(self, name: str) -> Symbol | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.symbols:
                return scope.symbols[name]
            scope = scope.parent
        return None

    def visible(self) -> set[str]:
        names: set[str] = set()
        scope: Scope | None = self
        while scope is not None:
            names |= set(scope.symbols)
            scope = scope.parent
        return names


#: What checking code again with flow-sensitive types (`Checker.flowing`) sets aside.
_FLOW_STATE = (
    "types",
    "symbols",
    "operand_dtypes",
    "held",
    "diagnostics",
    "vector_notes",
    "shape_checks",
    "_flow",
    "_varying",
    "_control",
    "_guarded",
    "_stored",
    "_random",
    "_names",
    "_path",
    "_allow_options",
)
#: What checking a spec function's body for one call (`Checker.specialize`) sets aside.
_CALL_STATE = (
    "_path",
    "_random",
    "_names",
    "_allow_random",
    "_allow_options",
    "_varying",
    "_control",
)


class Checker(ExpressionRules, StatementRules):
    def __init__(self, document: Document, spec: EnvSpec) -> None:
        self.document = document
        self.spec = spec
        self.diagnostics: list[Diagnostic] = []
        self.symbols: dict[int, Symbol] = {}
        self.types: dict[int, T] = {}
        #: id(node) -> the dtype both operands of an operation are converted to
        self.operand_dtypes: dict[int, str] = {}
        #: ids of plain-int operands the backends hold as int64 (`EnvModel.int64_operands`)
        self.int64_operands: set[int] = set()
        #: id(ast.Name) assigned under an if that differs per env -> the type the name holds
        #: after it (what it held before, joined with the value: the vector env's where())
        self.held: dict[int, T] = {}
        #: while typing a block flow-sensitively: the type each state variable and local
        #: holds at the statement being checked (None: every name has its declared type)
        self._flow: dict[str, T] | None = None
        self.consts: dict[int, Any] = {}
        self.vector_notes: list[str] = []
        self.functions: dict[str, FunctionModel] = {}
        #: each spec function's body and return text, checked anew per call signature
        self.templates: dict[str, tuple[str, Any]] = {}
        self.root: Scope | None = None  # the global scope spec functions see
        self._specializing: list[str] = []
        #: locals of the block being checked whose value may differ from env to env, and
        #: how many if/for around the statement being checked depend on such values
        self._varying: set[str] = set()
        self._control = 0
        #: how many if/else branches, `a if c else b` arms and loop bodies are around the
        #: code being checked (code that may not run: no make-time check may refuse it)
        self._guarded = 0
        #: scalar state -> the type the path being checked stored into it last (an `if`
        #: checks that both branches agree on its dtype)
        self._stored: dict[str, T] = {}
        self.read_copies: list[ast.expr] = []
        self.shape_checks: list[ShapeCheck] = []
        self._random = False
        self._names: set[str] = set()
        self._allow_random = True
        self._allow_options = False
        self._path: tuple[str | int, ...] = ()
        #: variant name (None: the defaults) -> `default_values` with its params
        self._default_values: dict[str | None, dict[str, int | float]] = {}

    def default_values(self, variant: str | None = None) -> dict[str, int | float]:
        """The params' default values and the `let` values folded from them (`_limits.
        default_values`), with the params `variant` sets; computed once per variant."""
        if variant not in self._default_values:
            overrides = None if variant is None else self.spec.variants[variant]
            self._default_values[variant] = default_values(self.spec, overrides)
        return self._default_values[variant]

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
                tree = parse(text, "eval")
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
            tree = parse(text, "exec")
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
        if isinstance(exc, LimitError):  # a limit (envgen/compiler/_limits.py), not syntax
            self.diagnostics.append(Diagnostic(location, message, exc.hint, exc.diagnostic_code))
            return
        hint = "the language is a small subset of Python: check brackets and indentation"
        if "indent" in message.lower():
            hint = "indent blocks with spaces, consistently"
        self.diagnostics.append(Diagnostic(location, f"syntax error: {message}", hint, "syntax"))

    # -- whitelist

    def refused(self, node: ast.AST, path: tuple) -> bool:
        bad = False
        folded: dict[int, Any] = {}  # each operation's constant value, folded once
        for sub in ast.walk(node):
            entry = REFUSED.get(type(sub))
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
            elif isinstance(sub, (ast.BinOp, ast.AugAssign)) and (
                unsupported := _unsupported_operator(sub, folded)
            ):
                self.error(path, *unsupported, "refused", sub)
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

    # -- a whole code value

    def check_expr(self, code: Code, scope: Scope, *, random: bool = True) -> Code:
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
        scope: Scope,
        defined: set[str],
        state: dict[str, T],
        locals_: dict[str, Symbol],
    ) -> set[str]:
        self._path = code.path
        self._stored = {}
        bad = False
        for stmt in code.stmts:
            bad = self.refused(stmt, code.path) or bad
        if bad:
            # Not checked further; the names it assigns still exist (untyped), so code
            # after it reports no follow-on "unknown name" errors for them.
            assigned = set()
            for stmt in code.stmts:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Name):
                        code.names.add(sub.id)
                        if isinstance(sub.ctx, ast.Store) and scope.lookup(sub.id) is None:
                            assigned.add(sub.id)
            for name in sorted(assigned):
                symbol = locals_.setdefault(name, Symbol(name, "local", ANY))
                scope.symbols[name] = symbol
            return defined | assigned
        self._random, self._names, self._allow_random = False, set(), True
        self._varying, self._control = set(), 0
        defined = self.block(code.stmts, scope, defined, state, locals_)
        code.random, code.names = self._random, set(self._names)
        return defined

    # -- flow-sensitive typing

    @contextmanager
    def flowing(self, entry: dict[str, T]) -> Iterator[FlowTables]:
        """Check code again with each state variable and local typed by what it holds at
        each point (starting from `entry`), into tables of their own: the model's tables,
        diagnostics and notes are left as they were (the code was checked already)."""
        variants = {name: len(f.variants) for name, f in self.functions.items()}
        with self._restoring(*_FLOW_STATE):
            tables = FlowTables(dict(self.types), dict(self.operand_dtypes), dict(self.held))
            self.types, self.operand_dtypes, self.held = (
                tables.types,
                tables.operands,
                tables.held,
            )
            self._flow = dict(entry)
            self.symbols = dict(self.symbols)  # calls keep the variants the single env calls
            self.diagnostics, self.vector_notes, self.shape_checks = [], [], []
            self._varying, self._control = set(), 0
            try:
                yield tables
            finally:
                for name, count in variants.items():
                    del self.functions[name].variants[count:]

    @contextmanager
    def _restoring(self, *names: str) -> Iterator[None]:
        """The checker's attributes `names` as they were when the block began, after it."""
        saved = [getattr(self, name) for name in names]
        try:
            yield
        finally:
            for name, value in zip(names, saved, strict=True):
                setattr(self, name, value)

    # -- spec functions, specialised per call

    def specialize(
        self, name: str, types: tuple[T, ...], node: ast.AST | None
    ) -> FunctionVariant | None:
        """The variant of spec function `name` for arguments of `types`, checked on first
        use (its own parse of the body, so each variant's nodes keep their own types)."""
        function = self.functions[name]
        for variant in function.variants:
            if variant.arg_types == types:
                return variant
        if name in self._specializing:
            chain = " -> ".join([*self._specializing[self._specializing.index(name) :], name])
            self.error(
                self._path,
                f"the function '{name}' calls itself ({chain})",
                "functions may not be recursive; use a for loop",
                "call",
                node,
            )
            return None
        assert self.root is not None
        body_text, returns_text = self.templates[name]
        path = ("functions", name)
        self._specializing.append(name)
        with self._restoring(*_CALL_STATE):
            try:
                self._allow_options = False
                scope = Scope(
                    {a: Symbol(a, "arg", t) for a, t in zip(function.args, types, strict=True)},
                    self.root,
                )
                body = self.parse_block(body_text, path + ("body",))
                locals_: dict[str, Symbol] = {}
                defined = self.check_block(body, scope, set(function.args), {}, locals_)
                returns = self.parse_expr(returns_text, path + ("return",))
                self._path = returns.path
                if returns.expr is not None and not self.refused(returns.expr, returns.path):
                    self._random, self._names = False, set()
                    returns.type = self.expr(returns.expr, scope, defined)
                    returns.random, returns.names = self._random, set(self._names)
                check_locals_read(self, body, locals_, [body, returns])
            finally:
                self._specializing.pop()
        number = len(function.variants) + 1
        method = f"_{name}" if number == 1 else f"_{name}__{number}"
        while number > 1 and method[1:] in self.functions:  # a function named like a variant
            number += 1
            method = f"_{name}__{number}"
        variant = FunctionVariant(method, types, body, returns)
        function.variants.append(variant)
        if number == 1:
            function.body, function.returns = body, returns
            if variant.random:
                self.vector_notes.append(f"function '{name}' draws randomness")
        return variant


def _unsupported_operator(
    node: ast.BinOp | ast.AugAssign, folded: dict[int, Any]
) -> tuple[str, str] | None:
    """(message, hint) for an operator no backend prints (shifts) or a division by a
    literal zero, which every backend would raise on (or, in JAX, silently not)."""
    if type(node.op) not in BINARY_OPERATORS:
        return (
            "bit shifts are not part of the language",
            "multiply or floor-divide by a power of two instead, e.g. x * 2 ** 3",
        )
    divisor = node.right if isinstance(node, ast.BinOp) else node.value
    if (
        isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod))
        and isinstance(divisor, ast.Constant)
        and type(divisor.value) in (int, float)
        and divisor.value == 0
    ):
        return ("division by zero", "divide by a value that cannot be zero")
    # `folded` keeps each operation's value: every operation of a chain is checked
    value = fold(node, memo=folded) if isinstance(node, ast.BinOp) else None
    if isinstance(value, int) and not fits_int64(value):
        # integers are int64 in every backend: Python would compute the exact value, NumPy
        # would wrap it, JAX would raise; so the language has no such constant
        return (
            f"this integer expression of constants is {value}, outside the int64 range",
            "integers are int64; write a float (9.3e18) for larger magnitudes",
        )
    return None
