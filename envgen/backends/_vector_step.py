"""The NumPy vector backend: the step's dynamics (one or two variants by the state's types)."""

from __future__ import annotations

import ast
import functools
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
from envgen.compiler.ir import Code, EnvModel
from envgen.compiler.types import T


def _repeat(code: str, n: str, t: T, dtype: str) -> str:
    """A value the same for every env as a batch of `n` copies (an array value: n rows)."""
    if t.is_scalar:
        return f"np.full(({n},), {code}, dtype={np_dtype(dtype)})"
    return f"np.array(np.broadcast_to({code}, ({n}, *np.shape({code}))), dtype={np_dtype(dtype)})"


def _scalar_float_key(model: EnvModel, types: dict[str, T]) -> tuple[tuple[str, bool], ...]:
    """The run-time (dtype, weak) of each scalar float state variable, as a comparable key."""
    key = []
    for name, state in model.state.items():
        if state.type.is_scalar and state.type.kind == "float":
            t = types.get(name, state.type)
            key.append((t.dtype, t.weak))
    return tuple(key)


@dataclass
class _StepCode:
    lines: list[str]  # the dynamics (state read into locals ... terminated, reward)
    info: list[tuple[str, str]]  # step-only info key -> code
    end: dict[str, T]  # the state's types at the end of the step
    dtypes: dict[str, str]  # the state's array dtypes at the end of the step


def _translate_step(
    model: EnvModel, vt: VectorTranslator, entry: dict[str, T], retype: bool
) -> _StepCode:
    scope = Scope("step", "_n", "self._all_ids")
    scope.live = "_live"
    scope.retype = retype
    for name, state in model.state.items():
        scope.lines.append(f"{name} = self.{name}")
        scope.defined.add(name)
        scope.vec_names.add(name)
        scope.types[name] = entry[name]
        scope.dtypes[name] = vt.vec_dtype(state.type)
    vt.block(model.step.stmts, scope, None)
    end = {name: scope.types.get(name, entry[name]) for name in model.state}
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
    return _StepCode(scope.prelude + scope.lines, info, end, dtypes)


def _step_dynamics(
    model: EnvModel, vt: VectorTranslator, rscope: Scope
) -> tuple[list[str], list[str], list[str], bool]:
    """Lines of `step` that run the dynamics, lines that collect step info, extra methods.

    The state's run-time types may differ between the first step after a reset and the
    later ones (a reset that stores NumPy float64 scalars, a step that stores float32
    ones): then the dynamics are translated twice, for each entry type, and each env runs
    the variant its types call for (see docs/vectorization.md).
    """
    declared = {name: s.type for name, s in model.state.items()}
    reset_end = {name: rscope.types.get(name, declared[name]) for name in model.state}
    for name in list(reset_end):
        if not (declared[name].is_scalar and declared[name].kind == "float"):
            reset_end[name] = declared[name]
    key = functools.partial(_scalar_float_key, model)
    retype = key(reset_end) != key(declared)
    vt.risky = False
    first = _translate_step(model, vt, reset_end, retype)
    variants = [first]
    if key(first.end) != key(reset_end):
        later_entry = {
            **reset_end,
            **{
                n: t
                for n, t in first.end.items()
                if declared[n].is_scalar and declared[n].kind == "float"
            },
        }
        later = _translate_step(model, vt, later_entry, True)
        stable = key(later.end) == key(later_entry)
        if stable and (later.lines, later.info, later.dtypes) == (
            first.lines,
            first.info,
            first.dtypes,
        ):
            # The types differ (a Python float after reset, a NumPy float64 after a step)
            # in ways that change no operation: one variant, draws or not.
            pass
        elif _draws_in(model.step):
            raise _retyped(
                model,
                reset_end,
                first.end,
                ("reset", "a step"),
                "with random draws in step",
            )
        elif not stable:
            raise _retyped(
                model, later_entry, later.end, ("one step", "the next"), "changing at every step"
            )
        else:
            variants.append(later)
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
