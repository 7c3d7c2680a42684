"""The NumPy vector backend: the parts of the vector env class (spaces checks, state inits,
observation, action checks)."""

from __future__ import annotations

import ast
import re

from envgen.backends._printer import (
    Translator,
    literal,
    np_dtype,
    tidy,
    tidy_block,
)
from envgen.backends._vector_statements import VectorTranslator
from envgen.backends._vector_values import _BUFFERED, Scope
from envgen.compiler.functions import BUILTINS
from envgen.compiler.ir import Code, EnvModel, ObservationModel, SpaceModel


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
    if obs.check_shape_at is not None:  # a length the compiler could not decide (shapes team)
        where, array = (
            literal(obs.check_shape_at),
            f"np.array({value.code}, dtype={np_dtype(dtype)})",
        )
        if not value.vec:
            one = f"_rt.fixed_shape({array}, {path}.shape, {where})"
            return f"np.full({full}, {one}, dtype={np_dtype(dtype)})"
        return f"_rt.fixed_shape({array}, ({n}, *{path}.shape), {where})"
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
                scope.dtypes[name] = "float64"
                scope.defined.add(name)
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
        elif model.reset.stmts or any(
            name in other.init.names for other in model.state.values() if other is not state
        ):
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
    scope.dtypes[name] = dtype  # the single env converts the initial value to the state's type
    if not t.is_scalar:
        scope.arrays.add(name)
    scope.defined.add(name)


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
        # envgen.runtime.vector: an int64 batch in range as it is (one compiled pass), else
        # converted or fixed per env as the single env does
        return [f"return self._discrete_actions(actions, {start}, {n})"]
    dtype = {"Box": np_dtype(space.dtype), "MultiDiscrete": "np.int64", "MultiBinary": "np.int8"}[
        kind
    ]
    lines += [
        "action = np.asarray(actions)",
        "_shape = (_n, *self.single_action_space.shape)",
        # no cast before the check: the single space refuses rows of another dtype kind
        "if action.shape != _shape or not self.action_space.contains(action):",
        "    action = self._fix_actions(actions)",
        f"return np.array(action, dtype={dtype})",
    ]
    return lines
