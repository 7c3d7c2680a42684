"""Typing rules of statements: assignments (to locals, state and array elements),
if, for; and the checks on a block's locals."""

from __future__ import annotations

import ast
import keyword
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from envgen.compiler._language import REFUSED, RESERVED
from envgen.compiler._observation import value_dependent_length
from envgen.compiler.functions import BUILTINS, CONSTANTS
from envgen.compiler.ir import BINARY_OPERATORS, Code, Symbol
from envgen.compiler.types import (
    ANY,
    INT,
    NARROW_INTS,
    NUMERIC,
    T,
    binary_result,
    broadcast,
    join,
    operand_dtype,
    promote,
    widened,
)

if TYPE_CHECKING:
    from envgen.compiler._checker import Checker, Scope


class StatementRules:
    """The checker's statement methods (mixed into `Checker`)."""

    #: Names a local may not take; multi-agent specs reserve more (their class's names).
    reserved_names: frozenset[str] | set[str] = RESERVED

    # -- statements

    def block(
        self,
        stmts: list[ast.stmt],
        scope: Scope,
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
        scope: Scope,
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
                # the statement's own entries: its result, and what both sides convert to
                self.types[id(stmt)] = result
                self.operand_dtypes[id(stmt)] = operand_dtype(op, current, value, result)
                self.widen([None, stmt.value], [current, value])
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
            varying = self._data_dependent(stmt.test, scope)
            self._control += varying  # what the branches assign differs from env to env
            before = self._flow
            if before is not None:
                self._flow = dict(before)
            stored = self._stored
            self._stored = dict(stored)
            self._guarded += 1
            then = self.block(stmt.body, scope, set(defined), state, locals_)
            stored_then, self._stored = self._stored, dict(stored)
            if before is not None:
                after_then, self._flow = self._flow, dict(before)
            other = self.block(stmt.orelse, scope, set(defined), state, locals_)
            self._guarded -= 1
            self._stored = self._branch_dtypes(stmt, state, stored, stored_then, self._stored)
            if before is not None:
                self._flow = join_flows(after_then, self._flow)  # type: ignore[arg-type]
            self._control -= varying
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
            arg_types = []
            for arg in iterator.args:
                t = self.expr(arg, scope, defined)
                arg_types.append(t)
                if t.dtype != "any" and (t.kind != "int" or not t.is_scalar):
                    self.error(
                        path,
                        f"range() needs integers, got {t.describe()}",
                        "convert with int(...)",
                        "type",
                        arg,
                    )
            varying = any(self._data_dependent(arg, scope) for arg in iterator.args)
            if varying:
                where = self.document.code_location(path, iterator.lineno, iterator.col_offset)
                self.vector_notes.append(
                    f"{where}: the loop bound `{ast.unparse(iterator)}` differs from env to env "
                    "(it depends on state or the action)"
                )
            name = stmt.target.id
            counter = replace(INT, limits=_range_limits(arg_types))
            self._declare_local(stmt.target, counter, scope, locals_, kind="loop")
            entry_flow = dict(self._flow) if self._flow is not None else None
            if varying:
                self._varying.add(name)
            self._control += varying
            self._guarded += 1  # a loop may run no pass
            inner = self.block(stmt.body, scope, set(defined) | {name}, state, locals_)
            # flow-sensitive: the body again from the join of what the names held at the
            # loop's top and after a pass, until the join changes nothing (it only widens, in
            # a finite lattice, so this ends; it was capped at 8 passes, which would have
            # left types that are no fixed point, silently)
            while self._flow is not None:
                joined = join_flows(entry_flow, self._flow)
                if joined == entry_flow:
                    break
                entry_flow = joined
                self._flow = dict(entry_flow)
                inner = self.block(stmt.body, scope, set(defined) | {name}, state, locals_)
            self._guarded -= 1
            self._control -= varying
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
        entry = REFUSED.get(type(stmt))
        if entry is None:
            self.error(
                path,
                f"{type(stmt).__name__} statements are not part of the language",
                "",
                "refused",
                stmt,
            )
        return defined

    def _branch_dtypes(
        self,
        stmt: ast.If,
        state: dict[str, T],
        before: dict[str, T],
        then: dict[str, T],
        other: dict[str, T],
    ) -> dict[str, T]:
        """What scalar state holds after an `if`, from what each branch stored (trial 6
        hostile Q7, Q8): a dtype that depends on the branch taken would make the single
        env's type depend on the action history (`q = int8(q + 100)` in one branch), which
        neither vector backend nor JAX can follow, so it is an error."""
        merged = dict(then)
        for name in sorted(set(then) | set(other)):
            if name not in state or not state[name].is_scalar:
                continue
            a = then.get(name, before.get(name, state[name]))
            b = other.get(name, before.get(name, state[name]))
            merged[name] = a
            if a.dtype == b.dtype or not (a.is_numeric and b.is_numeric):
                continue
            where = "after the other branch" if stmt.orelse else "when the condition is false"
            self.error(
                self._path,
                f"state '{name}' holds {a.dtype} after this `if` and {b.dtype} {where}: its "
                "type would depend on which branch ran",
                f"convert it the same way on every path, e.g. `{name} = {a.dtype}(...)` in "
                f"both branches (or `{name} = {b.dtype}(...)`), or in none",
                "type",
                stmt,
            )
        return merged

    def _held(self, name: str, scope: Scope) -> T | None:
        """The type `name` holds before an assignment to it (None: not bound yet)."""
        if self._flow is not None:
            return self._flow.get(name)
        symbol = scope.lookup(name)
        return symbol.type if symbol is not None else None

    def _read(self, target: ast.expr) -> ast.expr:
        """A load-context copy of an assignment target, kept alive with the model.

        Types are keyed by node id; keeping the copies referenced means no later node can
        reuse an id that still has a type recorded.
        """
        clone = load_target(target)
        self.read_copies.append(clone)
        return clone

    def _data_dependent(self, node: ast.AST, scope: Scope) -> bool:
        """Whether `node`'s value may differ from env to env: it reads state, the action, a
        random draw, or a local that does (a local computed from params does not)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                symbol = scope.lookup(sub.id)
                if symbol is None:
                    continue
                if symbol.kind in ("state", "action", "special"):
                    return True
                if symbol.kind in ("local", "loop") and sub.id in self._varying:
                    return True
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and builtin.random:
                    return True
                if sub.func.id in self.functions:
                    variant = next(
                        (
                            v
                            for v in self.functions[sub.func.id].variants
                            if v.method == getattr(self.symbols.get(id(sub.func)), "name", "")
                        ),
                        None,
                    )
                    if variant is None or variant.random:
                        return True
        return False

    def _declare_local(
        self,
        target: ast.Name,
        value: T,
        scope: Scope,
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
        if name in self.reserved_names or keyword.iskeyword(name):
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
        scope: Scope,
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
                # a plain number keeps the state's own type (the vector env stores it in the
                # state's array); a NumPy scalar is held as it is
                held = state[name] if value.weak and state[name].weak else value
                self._stored[name] = held
                if self._control:
                    self.held[id(target)] = join(self._held(name, scope) or state[name], value)
                if self._flow is not None:
                    self._flow[name] = held
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
            before = self._held(name, scope)
            self._declare_local(target, value, scope, locals_)
            self.types[id(target)] = value
            if self._control and before is not None:
                self.held[id(target)] = join(before, value)
            if self._flow is not None:
                self._flow[name] = value
            if self._control or self._data_dependent(value_node, scope):
                self._varying.add(name)
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
                if id(read) in self.operand_dtypes:
                    self.operand_dtypes[id(written)] = self.operand_dtypes[id(read)]
            self.types[id(target)] = element
            if element.kind == "int" and value.kind == "float":
                self.error(
                    path,
                    f"assigning a float into integer array '{base.id}'",
                    "convert with int(...)",
                    "type",
                    target,
                )
            elif element.is_numeric:
                self._plain_int_may_not_fit(
                    f"array '{base.id}'", ast.unparse(target), element, value, target
                )
            if symbol is not None and symbol.kind == "state":
                defined = defined | {base.id}
            elif self._control or self._data_dependent(target, scope):
                self._varying.add(base.id)
            elif self._data_dependent(value_node, scope):
                self._varying.add(base.id)
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

    def _plain_int_may_not_fit(
        self, what: str, target: str, var: T, value: T, node: ast.AST, hint: str = ""
    ) -> bool:
        """Report a plain int stored into a narrow int (`b = 300` into uint8 state,
        `a[i] = bump`) that may not fit it: NumPy 2 raises, Numba and JAX would wrap."""
        if var.dtype not in NARROW_INTS or not widened([T(var.dtype), value])[1]:
            return False
        dtype, limits = var.dtype, value.limits
        if limits is not None and limits[0] == limits[1]:
            message = f"{limits[0]} does not fit {dtype} {what}"
        else:
            may = "any int64" if limits is None else f"{limits[0]} to {limits[1]}"
            message = f"this int may not fit {dtype} {what} (it may be {may})"
        if not hint:
            if self._path[-1:] == ("init",):
                target = "init"
            hint = (
                f"write `{target}{' =' if target != 'init' else ':'} {dtype}(...)` to wrap it "
                f"into {dtype} on purpose, bound the value (a param's ge/le, a literal), or "
                "make the variable int64"
            )
        self.error(self._path, message, hint, "type", node)
        return True

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
            and not is_cast(value_node)
        ):
            # A float32 operand (a Box action, a float32 state) would turn the float64 state
            # into float32 silently; an explicit cast says which one is meant.
            self.error(
                path,
                f"this makes {var.dtype} state '{name}' {value.described()}",
                f"keep it {var.dtype} with `{name} = {PYTHON_CAST[var.kind]}(...)`, or write "
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
        if self._plain_int_may_not_fit(f"state '{name}'", name, var, value, node):
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
                return
        source = value_node if value_node is not None else node
        if not var.is_scalar and isinstance(source, ast.expr):
            # a length that changes between steps cannot fit the state's one shape (shapes)
            origin = value_dependent_length(self, source)
            if origin is not None:
                self.error(
                    path,
                    f"the length of the value for state '{name}' depends on values at "
                    f"`{ast.unparse(origin)}`, but the state has one shape",
                    "make it a fixed length: pad it (where(mask, x, 0) keeps the shape), slice "
                    "by params, or rotate with roll(x, k)",
                    "shape",
                    origin,
                )


def join_flows(a: dict[str, T], b: dict[str, T]) -> dict[str, T]:
    """What each name holds where two paths meet (a name bound on one path only keeps
    that path's type: it is read only where it is bound on every path)."""
    out = dict(a)
    for name, t in b.items():
        out[name] = join(out[name], t) if name in out else t
    return out


def _range_limits(args: list[T]) -> tuple[int, int] | None:
    """The lowest and highest value a `range(...)` of ints of these types may give."""
    limits = [t.limits if t.weak and t.kind == "int" else None for t in args]
    if len(limits) == 1:
        limits = [(0, 0), *limits]
    if len(limits) == 2:
        limits.append((1, 1))
    start, stop, step = limits
    if start is None or stop is None or step is None:
        return None
    if step[0] > 0:
        return (start[0], max(start[0], stop[1] - 1))
    if step[1] < 0:
        return (min(start[1], stop[0] + 1), start[1])
    return None


def load_target(target: ast.expr) -> ast.expr:
    """The same target, read instead of written (for `x += 1` and `a[i] = ...`)."""
    clone = ast.parse(ast.unparse(target), mode="eval").body
    ast.copy_location(clone, target)
    for new, old in zip(ast.walk(clone), ast.walk(target), strict=False):
        ast.copy_location(new, old)
    return clone


PYTHON_CAST = {"float": "float", "int": "int", "bool": "bool"}


def is_cast(node: ast.AST | None) -> bool:
    """Whether `node` is an explicit dtype conversion, e.g. float32(x)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in NUMERIC | {"int", "float", "bool"}
    )


def check_locals_read(
    checker: Checker, block: Code, block_locals: dict[str, Symbol], readers: list[Code]
) -> None:
    """A local that nothing reads is refused: it is a typo or a leftover, and generated
    code must not carry dead names (ruff's F841)."""
    if checker.diagnostics:
        return  # a dead local is noise beside a real error (often the error's own echo)
    read = set().union(*(code.names for code in readers))
    for name, symbol in block_locals.items():
        if symbol.kind != "local" or name in read:
            continue
        where = first_store(block.stmts, name)
        checker._path = block.path
        checker.error(
            block.path,
            f"'{name}' is assigned but never used",
            "remove the assignment, or use the value (a typo in a later name?)",
            "name",
            where,
        )


def first_store(stmts: list[ast.stmt], name: str) -> ast.AST | None:
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
                return node
    return None


def check_defined(
    checker: Checker, code: Code, step_locals: dict[str, Symbol], defined: set[str]
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
