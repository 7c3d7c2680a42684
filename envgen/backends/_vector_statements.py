"""The NumPy vector backend: statements over a batch of envs (masks for per-env `if`)."""

from __future__ import annotations

import ast

from envgen.backends._printer import (
    literal,
    np_dtype,
)
from envgen.backends._vector_expressions import VectorExpressions
from envgen.backends._vector_values import _BINOP, Scope, Unsupported, V
from envgen.backends.python import (
    INDENT,
)
from envgen.compiler.ir import Code
from envgen.compiler.types import T


class VectorTranslator(VectorExpressions):
    """Spells checked DSL trees as batched NumPy code."""

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
            if op is None:  # `@=`
                raise Unsupported(f"`{ast.unparse(stmt)}` on per-env values (write `x = x @ y`)")
            current = self.read_target(stmt.target, scope, mask)
            value = self.expr(stmt.value, scope, mask)
            result = self.binop(current, value, op, self.type_of(stmt), self.operand(stmt))
            self.assign(stmt.target, result, scope, mask)
            return
        if isinstance(stmt, ast.If):
            self.if_(stmt, scope, mask)
            return
        if isinstance(stmt, ast.For):
            assert isinstance(stmt.target, ast.Name) and isinstance(stmt.iter, ast.Call)
            for arg in stmt.iter.args:
                if self.is_vec(arg, scope):
                    raise Unsupported("a loop whose bound depends on state")
            # arrays made before the loop and written per env in it: one row per env
            # before the loop (the body indexes them with the batch axis first)
            for name in self.model.loop_spreads.get(id(stmt), []):
                if name in scope.arrays and name in scope.defined:
                    rows = f"({scope.n}, *np.shape({name}))"
                    scope.lines.append(f"{name} = np.broadcast_to({name}, {rows}).copy()")
            args = ", ".join(self.single.expr(a) for a in stmt.iter.args)
            scope.lines.append(f"for {stmt.target.id} in range({args}):")
            start = len(scope.lines)
            self.block(stmt.body, scope, mask)
            body = scope.lines[start:]
            del scope.lines[start:]
            scope.lines.extend(INDENT + line for line in body or ["pass"])
            return
        raise Unsupported(f"the statement `{ast.unparse(stmt)}`")

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
                    if None in (state_t.shape or ()):  # lengths from params: the storage's
                        shape = f"({scope.n}, *np.shape(self.{name})[1:])"
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
                if not value.vec and mask is None and id(target) in self.model.per_env:
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
                if value.vec:
                    scope.dtypes[name] = value.dtype
                if value.t.is_scalar:
                    scope.arrays.discard(name)
                else:
                    scope.arrays.add(name)
            else:
                cond = self.broadcast_mask(mask, rank)
                scope.lines.append(f"{name} = np.where({cond}, {value.code}, {name})")
                merged = self.held.get(id(target), value.t)  # what np.where() gives
                value = V(name, True, merged, self.vec_dtype(merged))
                scope.dtypes[name] = value.dtype
                scope.fresh.add(name)
            scope.defined.add(name)
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
            vec_base = id(base_node) in self.model.per_env
            if not vec_base and (value.vec or mask is not None or self.is_vec(target.slice, scope)):
                shape = base_t.shape
                if shape is None:
                    raise Unsupported(f"assigning into '{name}' of unknown shape per env")
                scope.lines.append(
                    f"{name} = np.broadcast_to({name}, ({scope.n}, *np.shape({name}))).copy()"
                )
                vec_base = True
            if not vec_base:
                scope.lines.append(f"{self.single.target(target)} = {value.code}")
                return
            base = V(name, True, base_t, self.vec_dtype(base_t))
            parts = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
            if any(
                isinstance(p, ast.Slice)
                and any(b is not None and self.is_vec(b, scope) for b in (p.lower, p.upper, p.step))
                for p in parts
            ):
                self.assign_ragged(name, parts, base_t, value, scope, mask)
                return
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

    def assign_ragged(
        self,
        name: str,
        parts: list[ast.expr],
        base_t: T,
        value: V,
        scope: Scope,
        mask: str | None,
    ) -> None:
        """`xs[lo:hi] = v` where `lo`/`hi` differ per env: the slice's positions as a mask
        over its axis (NumPy's slice rules: negative bounds count from the end, then clip),
        and `np.where` writes `v` there. One such axis, a scalar `v`, the other indices the
        same for every env."""
        ragged = [
            i
            for i, p in enumerate(parts)
            if isinstance(p, ast.Slice)
            and any(b is not None and self.is_vec(b, scope) for b in (p.lower, p.upper, p.step))
        ]
        axis = ragged[0]
        part = parts[axis]
        assert isinstance(part, ast.Slice)
        if len(ragged) > 1 or part.step is not None:
            raise Unsupported("a slice with a step or per-env bounds on two axes")
        if base_t.shape is None:
            raise Unsupported(f"assigning into '{name}' of unknown rank per env")
        if not value.t.is_scalar:
            raise Unsupported(
                "an array into a slice whose bounds differ per env (its length differs per env)"
            )
        index = [":"]
        kept = 0  # the axes of the view before the ragged one (ints drop theirs)
        for i, p in enumerate(parts):
            if i == axis:
                index.append(":")
                continue
            if self.is_vec(p, scope):
                raise Unsupported("a per-env index next to a slice with per-env bounds")
            index.append(self.single.expr(p))
            kept += isinstance(p, ast.Slice)
        view = f"{name}[{', '.join(index)}]"
        rank = self._rank_after_index(ast.Subscript(ast.Name(name), ast.Tuple(parts)), base_t)
        length = scope.temp("len")
        scope.lines.append(f"{length} = np.shape({name})[{axis + 1}]")
        bounds = []
        for bound, default in ((part.lower, "0"), (part.upper, length)):
            if bound is None:
                bounds.append(default)
                continue
            if isinstance(bound, ast.Constant) and bound.value >= 0:
                bounds.append(literal(bound.value))  # past the end selects nothing: no clip
                continue
            b = self.expr(bound, scope, mask)
            code = scope.temp("b")
            scope.lines.append(
                f"{code} = np.clip(np.where({b.code} < 0, {b.code} + {length}, {b.code}), "
                f"0, {length}).reshape(-1, 1)"
            )
            bounds.append(code)
        positions = scope.temp("sel")
        axis_positions = f"np.arange({length})"
        scope.lines.append(
            f"{positions} = ({axis_positions} >= {bounds[0]}) & ({axis_positions} < {bounds[1]})"
        )
        if mask is not None:
            scope.lines.append(f"{positions} &= {mask}[:, None]")
        shape = ["None"] * rank
        shape[kept] = ":"
        fill = value.code
        if value.vec:
            fill = f"({fill})[:, {', '.join(['None'] * rank)}]"
        scope.lines.append(f"{view} = np.where({positions}[:, {', '.join(shape)}], {fill}, {view})")

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
