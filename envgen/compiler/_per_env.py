"""Which values differ from env to env: the facts a vector env is printed from.

In a vector env every value is either the same for every env (params, `let`, literals and
what is computed from them only) or one value per env (state, the action, random draws and
what is computed from them). A local starts uniform and becomes per env where it is first
assigned a per-env value or assigned under an `if` whose test is per env; it stays per env
from there on (the vector env holds one array per name). This pass walks the checked code
in the order it runs and records, once, for every name node whether it holds per-env
values at that point (for an assignment's target: before the assignment), and for every
random draw that it is per env; `for` loops whose body makes a name per env are walked
again from the names their body leaves per env.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from envgen.compiler.functions import BUILTINS
from envgen.compiler.ir import Code, EnvModel, ObservationModel


@dataclass
class PerEnv:
    """The facts (`EnvModel.per_env`, `EnvModel.loop_spreads`) and the walk's state."""

    model: EnvModel
    kind: str = "step"  # the method being walked: reset, step, observe
    marks: set[int] = field(default_factory=set)
    loop_spreads: dict[int, list[str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # locals (and state) per env so far
    defined: set[str] = field(default_factory=set)  # names bound so far

    # -- expressions

    def reads(self, node: ast.AST) -> bool:
        """Whether `node` reads a per-env value (marking the names and draws that are)."""
        found = False
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if self._name(sub):
                    self.marks.add(id(sub))
                    found = True
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and builtin.random:
                    self.marks.add(id(sub))
                    found = True
        return found

    def _name(self, node: ast.Name) -> bool:
        symbol = self.model.symbols.get(id(node))
        kind = symbol.kind if symbol is not None else None
        if kind in ("state", "action") or node.id in self.names:
            return True
        if kind == "special" and node.id == "elapsed_steps":
            return self.kind != "reset"
        return kind == "special" and node.id == "terminated"

    def value(self, node: ast.expr) -> bool:
        """Whether the value of `node` differs per env (marking what it reads)."""
        if not self.reads(node):
            return False
        return self._value(node)

    def _value(self, node: ast.expr) -> bool:
        # `reads(node)` holds here: the value is per env unless the operation makes one
        # value of per-env operands (a length), or passes a uniform operand through
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
            return self._part(node.left) or self._part(node.right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self._part(node.operand)
        if isinstance(node, ast.IfExp) and not self._part(node.test):
            return self._part(node.body) or self._part(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in self.model.functions:
                return True
            if name in ("len", "option"):
                return False  # an array's length is the same in every env
            builtin = BUILTINS.get(name)
            if builtin is not None and builtin.variadic and len(node.args) == 1:
                argument = node.args[0]
                if self.model.types.get(id(argument)) is not None and (
                    self.model.types[id(argument)].is_scalar
                ):
                    return self._part(argument)  # min(x) of a scalar is x
        return True

    def _part(self, node: ast.expr) -> bool:
        return self.reads(node) and self._value(node)

    # -- statements

    def block(self, stmts: list[ast.stmt], masked: bool) -> None:
        for stmt in stmts:
            self.statement(stmt, masked)

    def statement(self, stmt: ast.stmt, masked: bool) -> None:
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            if isinstance(target, (ast.Tuple, ast.List)):
                value = stmt.value
                if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                    parts = [self.value(v) for v in value.elts]
                else:
                    parts = [self.value(value)] * len(target.elts)
                for sub, per_env in zip(target.elts, parts, strict=True):
                    self.store(sub, per_env, masked)
                return
            self.store(target, self.value(stmt.value), masked)
            return
        if isinstance(stmt, ast.AugAssign):
            current = self.target_read(stmt.target)
            self.store(stmt.target, self.value(stmt.value) or current, masked)
            return
        if isinstance(stmt, ast.If):
            per_env = self.value(stmt.test)
            if per_env:
                self.block(stmt.body, True)
                self.block(stmt.orelse, True)
                return
            before = set(self.defined)
            after = None
            for body in (stmt.body, stmt.orelse):
                self.defined = set(before)
                self.block(body, masked)
                after = set(self.defined) if after is None else after & self.defined
            self.defined = before | (after or set())
            return
        if isinstance(stmt, ast.For):
            assert isinstance(stmt.iter, ast.Call)
            for arg in stmt.iter.args:
                self.reads(arg)
            before, defined = set(self.names), set(self.defined)
            self.block(stmt.body, masked)
            walked_from = before
            while self.names != walked_from:
                # the body made names per env that it may read before assigning them:
                # walked again from there (as the vector env prints it), until no more are
                # (a chain `c = a; a = b; b = pos` spreads one name per pass; names only grow)
                walked_from = set(self.names)
                self.loop_spreads[id(stmt)] = sorted((self.names - before) & defined)
                self.defined = defined
                self.block(stmt.body, masked)
            return
        if isinstance(stmt, ast.Expr):
            self.reads(stmt.value)

    def target_read(self, target: ast.expr) -> bool:
        """Whether the current value of an assignment target differs per env."""
        if isinstance(target, ast.Name):
            per_env = self.held(target)
            if per_env:
                self.marks.add(id(target))
            return per_env
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            base = self.target_read(target.value)
            return self.reads(target.slice) or base
        return False

    def held(self, target: ast.Name) -> bool:
        symbol = self.model.symbols.get(id(target))
        kind = symbol.kind if symbol is not None else None
        return kind in ("state", "action") or target.id in self.names

    def store(self, target: ast.expr, per_env: bool, masked: bool) -> None:
        if isinstance(target, ast.Name):
            if self.held(target):
                self.marks.add(id(target))  # per env before this assignment
            if per_env or masked:
                self.names.add(target.id)
            self.defined.add(target.id)
            return
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            base = target.value
            index = self.reads(target.slice)
            if self.held(base):
                self.marks.add(id(base))
            elif per_env or masked or index:
                self.names.add(base.id)


def mark_per_env(model: EnvModel) -> None:
    """Record the per-env facts of every piece of code a vector env runs."""
    walk = PerEnv(model, "reset")
    for name, state in model.state.items():
        walk.value(state.init.expr)  # type: ignore[arg-type]
        walk.names.add(name)
        walk.defined.add(name)
    walk.block(model.reset.stmts, False)
    marks, spreads = walk.marks, walk.loop_spreads

    walk = PerEnv(model, "step", marks, spreads, set(model.state), set(model.state))
    walk.block(model.step.stmts, False)
    for code in [model.terminated, model.reward, *model.info.values()]:
        walk.value(code.expr)  # type: ignore[arg-type]

    walk = PerEnv(model, "observe", marks, spreads)
    observations: list[ObservationModel] = [model.observation]
    codes: list[Code] = list(model.action_mask)
    while observations:
        observation = observations.pop()
        if observation.code is not None:
            codes.append(observation.code)
        observations.extend(child for _, child in observation.children)
    for code in codes:
        walk.value(code.expr)  # type: ignore[arg-type]
    model.per_env, model.loop_spreads = marks, spreads
