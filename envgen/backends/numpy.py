"""Stage 4b: emit a native NumPy `gymnasium.vector.VectorEnv` for a spec.

The single env (envgen/emit.py) holds one copy of the state as Python numbers. The vector
env holds every state variable as an array with a leading batch axis and runs the spec's
code once per step for all copies:

- values that cannot differ between copies (params, `let`, constants, literals, loop
  counters) are spelled exactly as the single env spells them (same Python semantics);
- values that can (state, action, locals computed from them) are NumPy arrays; every
  operation casts its operands the way NEP 50 promotion treats the single env's Python
  numbers ("weak" values), so results match the single env bit for bit;
- `if/elif/else` on per-env conditions become masks: both sides run, assignments are
  merged with `np.where`; random draws run only for the envs whose mask is active, each
  from that env's own generator (see docs/vectorization.md);
- specs the translator does not handle return None with a note (SyncVectorEnv fallback).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from envgen.backends import python as emit
from envgen.backends._printer import (
    function_method,
    literal,
    np_dtype,
    tidy,
)
from envgen.backends._vector_parts import (
    _action_check,
    _check,
    _draws,
    _fold_lets,
    _literal_lets,
    _observation,
    _state_inits,
)
from envgen.backends._vector_statements import VectorTranslator
from envgen.backends._vector_step import _repeat, _step_dynamics
from envgen.backends._vector_values import _BUFFERED, Scope, Unsupported
from envgen.backends.numba import KernelCode, NoKernel, array_math_note, emit_kernel
from envgen.backends.python import (
    _TEMPLATES,
    INDENT,
    _indent,
    _space_code,
    doc_text,
    format_source,
    param_lines,
)
from envgen.compiler.ir import EnvModel


@dataclass
class _Parts:
    init: list[str]
    step: list[str]
    reset_envs: list[str]
    observe: list[str]
    info: list[str]
    render: list[tuple[str, str]]  # (state variable, how to hand it to the single env)
    check_actions: list[str]
    module_lines: list[str]
    methods: list[str]
    kernel: list[str]  # module-level jitted functions (empty: no kernel)


def emit_vector_env(model: EnvModel, source_name: str) -> tuple[str, str] | None:
    """The module `<module>_vector` with a native VectorEnv for `model`, or None (with a note)."""
    if model.vector_notes:
        return None
    reasons = _check(model)
    if reasons:
        model.vector_notes.extend(reasons)
        return None
    try:
        parts = _build(model)
    except Unsupported as exc:
        found = model.find_name("", exc.node) if exc.node is not None else None
        where = ""
        if found is not None and hasattr(found[1], "lineno"):
            code, node = found
            where = f"{model.document.code_location(code.path, node.lineno, node.col_offset)}: "
        model.vector_notes.append(f"{where}the vector backend does not support {exc}")
        return None
    return _render_module(model, source_name, parts)


def _build(model: EnvModel) -> _Parts:
    draws = _draws(model)
    buffered = bool(draws) and draws <= _BUFFERED
    vt = VectorTranslator(model, buffered)
    tr = vt.single
    state_names = list(model.state)

    # __init__
    init = param_lines(model, tr)
    # `let` values that call spec functions run them on a single env made first.
    lets_call = {
        function_method(model, node)
        for code in model.lets.values()
        for node in ast.walk(code.expr)  # type: ignore[arg-type]
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in model.functions
    }
    if lets_call:
        vt.functions |= lets_call
        init.insert(1, "self._functions = _SingleEnv(config, **params)  # runs spec functions")
    init.insert(1, "self._config, self._params = config, dict(params)")
    limit = tidy(tr.code(model.max_episode_steps)) if model.max_episode_steps else "None"
    init += [
        f"self.single_action_space = {tidy(_space_code(model.action_space, tr))}",
        f"self.single_observation_space = {tidy(_space_code(model.observation_space, tr))}",
        f"self.max_episode_steps = {limit}",
        "self._setup(num_envs, autoreset_mode, render_mode, max_episode_steps, "
        f"buffered={buffered})",
    ]
    for name, state in model.state.items():
        dims = "".join(f", {tr.expr(c.expr)}" for c in state.shape if c.expr is not None)
        init.append(
            f"self.{name} = np.zeros((num_envs{dims}), dtype={np_dtype(vt.vec_dtype(state.type))})"
        )

    # _reset_envs(ids): compressed over the envs being reset.
    rscope = Scope("reset", "_n", "_ids")
    rscope.prelude.append("_n = len(_ids)")  # before the prelude's own lines (`_ar`)
    _state_inits(model, vt, rscope)
    vt.block(model.reset.stmts, rscope, None)
    reset_envs = rscope.prelude + rscope.lines
    if not any(re.search(r"\b_n\b", line) for line in reset_envs[1:]):
        reset_envs.remove("_n = len(_ids)")
    for name in state_names:
        reset_envs.append(f"self.{name}[_ids] = {name}")
    reset_envs.append("self._elapsed[_ids] = 0")
    if state_names:
        args = ", ".join(f"{n}={n}" for n in state_names)
        reset_envs += ["if self.check_state:", f"    _rt.check_finite(ID, {args})"]

    # _observe()
    oscope = Scope("observe", "self.num_envs", "self._all_ids")
    obs = _observation(model.observation, vt, oscope)
    observe = oscope.prelude + oscope.lines + [f"return {obs}"]

    # _info(info, mask): the keys the single env returns at reset (they read state only).
    iscope = Scope("observe", "self.num_envs", "self._all_ids")
    for key in model.reset_info:
        value = vt.code(model.info[key], iscope)
        dtype = vt.vec_dtype(model.info[key].type)
        code = value.code
        if not value.vec:
            code = _repeat(code, "self.num_envs", model.info[key].type, dtype)
        elif value.dtype != dtype:
            code = f"({code}).astype({np_dtype(dtype)})"
        iscope.lines.append(f"info[{literal(key)}] = _mask_info({code}, _mask)")
        iscope.lines.append(
            f"info[{literal('_' + key)}] = np.ones(self.num_envs, dtype=np.bool_) "
            "if _mask is None else _mask.copy()"
        )
    info = iscope.prelude + iscope.lines + ["return info"]

    # step: the spec's dynamics, then the autoreset bookkeeping.
    dynamics, step_info, methods_extra, has_step_info = _step_dynamics(model, vt)
    lets = _literal_lets(model)
    dynamics = _fold_lets(dynamics, lets)
    methods_extra = _fold_lets(methods_extra, lets)
    reset_envs = _fold_lets(reset_envs, lets)
    if re.search(r"\boptions\b", "\n".join(reset_envs)):
        # option() spelled as in the single env's reset(): its `options` are the reset's
        reset_envs.insert(0, "options = self._options")
    observe = _fold_lets(observe, lets)
    body_text = "\n".join(dynamics + step_info)
    uses_live = re.search(r"\b_live(_ids)?\b", body_text) is not None
    step = [
        "if self._needs_reset:",
        '    raise gym.error.ResetNeeded("step() called before reset()")',
        "action = self._check_actions(actions)",
        "_n = self.num_envs",
        "_next_step = self._next_step",
        "_resetting = self._autoreset",
    ]
    live = ["_any_reset = _next_step and bool(_resetting.any())"]
    if uses_live:
        live += [
            "_live = ~_resetting if _any_reset else self._all_true",
            "_live_ids = np.flatnonzero(_live) if _any_reset else self._all_ids",
        ]
    numpy_step = [*live, "self._elapsed += 1"]
    if re.search(r"\b_elapsed\b", body_text):
        numpy_step.append("_elapsed = self._elapsed")
    numpy_step += dynamics
    # `_step_limit`: the spec's limit, the `max_episode_steps=` given to the constructor
    # (which applies to specs without one too), or a count no episode reaches.
    numpy_step.append("truncated = self._elapsed >= self._step_limit")
    if step_info:
        numpy_step.append("_step_info: dict[str, Any] = {}")
        numpy_step += step_info
    numpy_step += [
        "if _any_reset:",
        "    _ids = np.flatnonzero(_resetting)",
        "    self._reset_envs(_ids)",
        "    reward[_ids] = 0.0",
        "    terminated[_ids] = False",
        "    truncated[_ids] = False",
        "_done = terminated | truncated",
    ]
    try:
        kernel: KernelCode | None = emit_kernel(model, buffered)
        note = "note=_KERNEL_ARRAY_MATH, " if kernel.array_math else ""
        init.append(
            f"self._choose_backend(backend, threads, {note}"
            f"math_names={literal(tuple(kernel.math))}, "
            f"draws={kernel.draws}, direct={literal(tuple(kernel.direct))}, "
            f"threadable={kernel.threadable})"
        )
    except NoKernel as exc:
        kernel = None
        init.append(
            f"self._choose_backend(backend, threads, note={literal('no kernel: ' + str(exc))})"
        )
    if kernel is None:
        if not model.reads_action:  # checked all the same: invalid actions are refused
            step[step.index("action = self._check_actions(actions)")] = (
                "self._check_actions(actions)"
            )
        step += [*numpy_step, "obs = self._observe()"]
    else:
        outputs = "_step_info" if has_step_info else "_"
        observed = "obs" if kernel.observes else "_"
        reset_info = "_reset_info" if kernel.reset_info else "_"
        step += [
            "if self._kernel:",
            f"    {observed}, terminated, truncated, reward, {outputs}, {reset_info}, _done, "
            "_any_reset = self._run_kernel(action, _resetting)",
            "else:",
            *(INDENT + line for line in numpy_step),
        ]
        if kernel.observes:
            step.append(f"{INDENT}obs = self._observe()")
        else:
            step.append("obs = self._observe()")
    step.append("_infos: dict[str, Any] = {}")
    if has_step_info:
        step += [
            "_stepped = ~_resetting if _any_reset else None",
            "if _stepped is None or _stepped.any():",
            "    for _key, _value in _step_info.items():",
            "        _infos[_key] = _mask_info(_value, _stepped)",
            '        _infos["_" + _key] = '
            "self._all_true.copy() if _stepped is None else _stepped.copy()",
        ]
    if kernel is not None and kernel.reset_info:  # written by the kernel when it ran
        step += [
            "if self._kernel:",
            "    _infos.update(_reset_info)",
            "else:",
            "    _infos = self._info(_infos, None)",
        ]
    elif model.reset_info:
        step.append("_infos = self._info(_infos, None)")
    step += [
        "if _next_step:",
        "    self._autoreset = _done",
        "elif self._same_step and _done.any():",
        "    _infos = self._final(_done, obs, _infos)",
        "    obs = self._observe()",
        "return obs, reward, terminated, truncated, _infos",
    ]
    rest = "\n".join(line for line in step if line != "_n = self.num_envs")
    if not re.search(r"\b_n\b", rest):
        step.remove("_n = self.num_envs")
    # render: each state variable, and how env i's value is handed to the single env.
    render = []
    for name, state in model.state.items():
        how = "copy"
        if state.type.is_scalar:
            how = "item" if state.type.weak else "scalar"
        render.append((name, how))

    module_lines = sorted(vt.exact.values())
    if kernel is not None and kernel.array_math:
        module_lines += array_math_note(kernel.array_math)
    check = _action_check(model)
    methods: list[str] = list(methods_extra)
    if vt.functions:
        if not lets_call:
            init.append("self._functions = _SingleEnv(config, **params)  # runs spec functions")
        for method in sorted(vt.functions):
            methods += [
                f"def {method}(self, *_args: Any) -> Any:",
                f"    return self._functions.{method}(*_args)",
                "",
            ]
    kernel_lines: list[str] = []
    if kernel is not None:
        methods += [*kernel.method, ""]
        kernel_lines = kernel.functions
    return _Parts(
        init, step, reset_envs, observe, info, render, check, module_lines, methods, kernel_lines
    )


def _render_module(model: EnvModel, source_name: str, parts: _Parts) -> tuple[str, str]:
    spec = model.spec
    name = f"{model.module_name}_vector"
    class_name = f"{model.class_name.removesuffix('Env')}VectorEnv"
    imports = ["ID", "PARAMS", f"{model.class_name} as _SingleEnv"]
    imports += list(model.labels) + list(model.constants)
    modes = [m for m in _render_modes(model) if m != "human"]
    fps = spec.render.fps if spec.render is not None else 30
    metadata = (
        f'{{"render_modes": {literal(modes)}, "render_fps": {fps}, '
        '"autoreset_mode": AutoresetMode.NEXT_STEP'
        + (', "deterministic": True}' if spec.deterministic else "}")
    )
    header = "\n".join(
        [
            emit.module_docstring(spec.id, "a native NumPy VectorEnv generated by envgen"),
            "",
            f"# Source: {source_name!r}",
            f"# sha256: {model.source_hash}",
            "# Generated by envgen; do not edit. Regenerate with `envgen build`.",
        ]
    )
    doc = [
        *emit.wrap_doc(f"{doc_text(spec.id)}: N copies stepped together with NumPy arrays."),
        "",
        *emit.wrap_doc(
            f"Each sub-env i behaves exactly like `{model.class_name}` reset with seed "
            "`seed + i` (as SyncVectorEnv seeds them), including across autoresets. Params are "
            "resolved as the single env resolves them. `autoreset_mode` is NEXT_STEP (default), "
            "SAME_STEP (`final_obs` / `final_info` in info) or DISABLED. See "
            "docs/vectorization.md."
        ),
    ]
    docstring = f'{INDENT}"""' + "\n".join(INDENT + line if line else "" for line in doc).strip()
    docstring += f'\n{INDENT}"""'
    fix = parts.methods
    source = _TEMPLATES.get_template("vector_env.py.jinja").render(
        header=header,
        single_module=model.module_name,
        single_imports=", ".join(imports),
        module_lines=parts.module_lines,
        class_name=class_name,
        docstring=docstring,
        metadata=metadata,
        init=_indent(parts.init),
        step=_indent(parts.step),
        reset_envs=_indent(parts.reset_envs),
        observe=_indent(parts.observe),
        info=_indent(parts.info),
        check_actions=_indent(parts.check_actions),
        render_state=literal(tuple(parts.render)),
        kernel="\n".join(parts.kernel),
    )
    source = source.rstrip("\n") + "\n\n" + _indent(fix, 1) + "\n"
    return name, format_source(source, name)


def _render_modes(model: EnvModel) -> list[str]:
    """The single env's render modes but "human": a vector env returns frames."""
    return [mode for mode in emit._render_modes(model) if mode != "human"]
