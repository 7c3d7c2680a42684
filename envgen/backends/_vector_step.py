"""The NumPy vector backend: the step's dynamics (one or two variants by the state's types)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from envgen.backends._printer import (
    literal,
    np_dtype,
)
from envgen.backends._vector_parts import _tidy_lines
from envgen.backends._vector_statements import VectorTranslator
from envgen.backends._vector_values import Scope, Unsupported
from envgen.backends.python import (
    INDENT,
)
from envgen.compiler.functions import BUILTINS
from envgen.compiler.ir import Code, EnvModel, StepVariant
from envgen.compiler.types import T


def _repeat(code: str, n: str, t: T, dtype: str) -> str:
    """A value the same for every env as a batch of `n` copies (an array value: n rows)."""
    if t.is_scalar:
        return f"np.full(({n},), {code}, dtype={np_dtype(dtype)})"
    return f"np.array(np.broadcast_to({code}, ({n}, *np.shape({code}))), dtype={np_dtype(dtype)})"


@dataclass
class _StepCode:
    lines: list[str]  # the dynamics (state read into locals ... terminated, reward)
    info: list[tuple[str, str]]  # step-only info key -> code
    dtypes: dict[str, str]  # the state's array dtypes at the end of the step


def _translate_step(
    model: EnvModel, vt: VectorTranslator, variant: StepVariant | None
) -> _StepCode:
    """The dynamics printed from the model's types, or from a step variant's."""
    with vt.using(variant):
        return _print_step(model, vt)


def _print_step(model: EnvModel, vt: VectorTranslator) -> _StepCode:
    """The dynamics, printed from the tables `vt` uses now."""
    scope = Scope("step", "_n", "self._all_ids")
    scope.live = "_live"
    for name, state in model.state.items():
        scope.lines.append(f"{name} = self.{name}")
        scope.defined.add(name)
        scope.dtypes[name] = vt.vec_dtype(state.type)  # the storage's, whatever the entry type
        if not state.type.is_scalar:
            scope.arrays.add(name)
    vt.block(model.step.stmts, scope, None)
    dtypes = {name: scope.dtypes.get(name, vt.vec_dtype(s.type)) for name, s in model.state.items()}
    term = vt.code(model.terminated, scope)
    rew = vt.code(model.reward, scope)
    outputs = [term.code, rew.code]
    info: list[tuple[str, str]] = []
    for key, code in model.info.items():
        if key in model.reset_info:
            continue
        value = vt.code(code, scope)
        dtype = vt.vec_dtype(code.type)
        c = value.code
        if not value.vec:
            c = _repeat(c, "_n", code.type, dtype)
        else:
            c = f"np.asarray({c}, dtype={np_dtype(dtype)})"  # mask_info copies it
        info.append((key, c))

    # terminated / reward are written into (autoreset), so they must not share memory
    # with the state or with each other: copy unless the value is a fresh array.
    def fresh(code: str) -> bool:
        if code.isidentifier():
            return code in scope.fresh and code not in model.state and outputs.count(code) == 1
        return not code.endswith("]")

    if not term.vec:
        term_code = f"np.full((_n,), bool({term.code}))"
    elif fresh(term.code) and term.dtype == "bool":
        term_code = term.code
    else:
        term_code = f"np.array({term.code}, dtype=np.bool_)"
    scope.lines.append(f"terminated = {term_code}")
    if not rew.vec:
        rew_code = f"np.full((_n,), float({rew.code}))"
    elif fresh(rew.code) and rew.dtype == "float64":
        rew_code = rew.code
    else:
        rew_code = f"np.array({rew.code}, dtype=np.float64)"
    scope.lines.append(f"reward = {rew_code}")
    return _StepCode(scope.prelude + scope.lines, info, dtypes)


def _step_dynamics(
    model: EnvModel, vt: VectorTranslator
) -> tuple[list[str], list[str], list[str], bool]:
    """Lines of `step` that run the dynamics, lines that collect step info, extra methods.

    The analysis types the step once per set of state types at its entry where those
    differ between the first step after a reset and later ones (`model.step_variants`):
    each variant is printed from its own types, and each env runs the variant its
    entry types call for (see docs/compiler.md).
    """
    vt.risky = False
    if not model.step_variants:
        variants = [_translate_step(model, vt, None)]
    else:
        variants = [_translate_step(model, vt, v) for v in model.step_variants]
    if len(variants) == 2:
        fresh, later = model.step_variants
        if model.step_types_settle and (
            variants[1].lines,
            variants[1].info,
            variants[1].dtypes,
        ) == (variants[0].lines, variants[0].info, variants[0].dtypes):
            # The types differ (a Python float after reset, a NumPy float64 after a step)
            # in ways that change no operation: one variant, draws or not.
            del variants[1]
        elif _draws_in(model.step):
            raise _retyped(
                model, fresh.entry, fresh.end, ("reset", "a step"), "with random draws in step"
            )
        elif not model.step_types_settle:
            raise _retyped(
                model, later.entry, later.end, ("one step", "the next"), "not settled in two steps"
            )
    state_names = list(model.state)
    guard = ['with np.errstate(all="ignore"):'] if vt.risky else []
    pad = INDENT if vt.risky else ""
    writes = []
    for name, state in model.state.items():
        storage = vt.vec_dtype(state.type)
        if any(v.dtypes[name] != storage for v in variants):
            writes.append(f"self.{name} = np.asarray({name}, dtype={np_dtype(storage)})")
        else:
            writes.append(f"self.{name} = {name}")
    if state_names:
        args = ", ".join(f"{n}={n}" for n in state_names)
        writes += ["if self.check_state:", f"    _rt.check_finite(ID, {args})"]
    if len(variants) == 1:
        body = guard + [pad + line for line in _tidy_lines(variants[0].lines)]
        info = [f"_step_info[{literal(k)}] = {c}" for k, c in variants[0].info]
        return body + writes, _tidy_lines(info), [], bool(info)
    text = "\n".join("\n".join(v.lines) + "\n".join(c for _, c in v.info) for v in variants)
    params = ["action", "_n"]
    if re.search(r"\b_elapsed\b", text):
        params.append("_elapsed")
    if re.search(r"\b_live(_ids)?\b", text):
        params += ["_live", "_live_ids"]
    outputs = [*state_names, "terminated", "reward"]
    methods = []
    for method, variant in zip(("_dynamics_fresh", "_dynamics"), variants, strict=True):
        info = "{" + ", ".join(f"{literal(k)}: {c}" for k, c in variant.info) + "}"
        lines = [*_tidy_lines(variant.lines), f"return {', '.join(outputs)}, {info}"]
        methods += [f"def {method}(self, {', '.join(params)}) -> Any:"]
        methods += [INDENT + line for line in guard + [pad + line for line in lines]]
        methods.append("")
    methods[1:1] = [
        f'{INDENT}"""The dynamics for envs on their first step since reset (state types differ)."""'
    ]
    call = ", ".join(params)
    body = [
        "_fresh = self._elapsed == 1",
        "if not _fresh.any():",
        f"    _out = self._dynamics({call})",
        "elif _fresh.all():",
        f"    _out = self._dynamics_fresh({call})",
        "else:",
        f"    _out = _merge(_fresh, self._dynamics_fresh({call}), self._dynamics({call}))",
        f"{', '.join(outputs)}, _step_info = _out",
    ]
    return body + writes, [], methods, bool(variants[0].info)


def _retyped(
    model: EnvModel,
    before: dict[str, T],
    after: dict[str, T],
    points: tuple[str, str],
    why: str,
) -> Unsupported:
    """The note for scalar float state whose run-time type differs between steps: which
    variable, its two types, and the step line that stores the second one."""
    names = [
        n
        for n, s in model.state.items()
        if s.type.is_scalar
        and s.type.kind == "float"
        and (before[n].dtype, before[n].weak) != (after[n].dtype, after[n].weak)
    ]
    parts = [
        f"state '{n}' holding {_run_time(before[n])} after {points[0]} and "
        f"{_run_time(after[n])} after {points[1]}"
        for n in names
    ]
    first = names[0]
    exc = Unsupported(
        f"{', '.join(parts)}, {why} (store one type: `{first} = "
        f"{model.state[first].type.dtype}(...)` wherever it is assigned)"
    )
    for stmt in model.step.stmts:
        for node in ast.walk(stmt):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, ast.AugAssign) else [])
            )
            if any(isinstance(t, ast.Name) and t.id == first for t in targets):
                exc.node = node  # the last store of the first such variable
    return exc


def _run_time(t: T) -> str:
    return "a Python float" if t.weak else f"a NumPy {t.dtype}"


def _draws_in(code: Code) -> bool:
    for stmt in code.stmts:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                builtin = BUILTINS.get(sub.func.id)
                if builtin is not None and builtin.random:
                    return True
    return False
