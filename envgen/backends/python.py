"""Stage 4: render checked models as Python modules through Jinja2 templates.

Decisions are made here, in Python; the templates only lay the pieces out. The output is
formatted by ruff (pinned in pyproject.toml) so that it is byte-for-byte reproducible.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from envgen.backends._printer import Translator, literal, np_dtype, tidy, tidy_block
from envgen.compiler._data import data_type
from envgen.compiler.diagnostics import printable
from envgen.compiler.ir import (
    Code,
    EnvModel,
    ObservationModel,
    ReshapeCheck,
    SizeCheck,
    SpaceModel,
)
from envgen.compiler.types import Sym, T
from envgen.jax._registry import JAX_ENTRY_POINT, JAX_VECTOR_ENTRY_POINT

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("envgen.backends", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # noqa: S701 - the output is Python; user strings arrive as repr() literals
)

INDENT = "    "


@dataclass(frozen=True)
class EmittedModule:
    name: str
    source: str


# --- user text in docstrings ----------------------------------------------------------


def doc_text(text: str) -> str:
    """User text made safe inside a triple-quoted docstring: no escapes, no closing quotes,
    and nothing invisible in the source file: control and format characters (ESC, bidi
    overrides such as U+202E), lone surrogates and line separators are written as escapes
    (`envgen.compiler.diagnostics.printable`'s rule), so the docstring's value is the text
    while the file shows no trojan-source reordering and always encodes as UTF-8."""
    out = []
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\n\t":
            out.append(ch)
        else:
            out.append(printable(ch, keep=""))
    return "".join(out)


def _wrap(text: str, width: int = 88, indent: str = "", hang: str = "") -> list[str]:
    lines: list[str] = []
    for paragraph in str(text).strip().split("\n\n"):
        joined = " ".join(paragraph.split())
        lines.extend(
            textwrap.wrap(
                joined,
                width=width,
                initial_indent=indent,
                subsequent_indent=indent + hang,
                break_long_words=True,
                break_on_hyphens=False,
            )
            or [""]
        )
        lines.append("")
    return lines[:-1] if lines else []


def wrap_doc(text: str) -> list[str]:
    """Docstring text wrapped to fit 100 columns at a class's indent (long words broken)."""
    return _wrap(text)


def module_docstring(env_id: str, what: str) -> str:
    """A module docstring `<id>: <what>.`, or the id on a line of its own when too long."""
    line = f'"""{doc_text(env_id)}: {what}."""'
    if len(line) <= 100:
        return line
    return f'"""{what[:1].upper()}{what[1:]}:\n\n{doc_text(env_id)}\n"""'


def _source_text(raw: object) -> str:
    """A spec value as it reads in the spec, on one line (for docstrings)."""
    if isinstance(raw, str):
        return " ".join(raw.split())
    return repr(raw)


# --- spaces ---------------------------------------------------------------------------


def _space_code(space: SpaceModel, tr: Translator) -> str:
    kind = space.kind
    args = space.args

    def one(code: Code) -> str:
        return tr.code(code)

    if kind == "Box":
        dtype = np_dtype(space.dtype)
        parts = []
        for key in ("low", "high"):
            value = args[key]
            if isinstance(value, list):
                parts.append(f"{key}=np.array([{', '.join(one(c) for c in value)}], dtype={dtype})")
            else:
                parts.append(f"{key}={one(value)}")
        if "shape" in args:
            dims = ", ".join(one(c) for c in args["shape"])
            parts.append(f"shape=({dims}{',' if len(args['shape']) == 1 else ''})")
        parts.append(f"dtype={dtype}")
        return f"spaces.Box({', '.join(parts)})"
    if kind == "Discrete":
        start = f", start={one(args['start'])}" if "start" in args else ""
        return f"spaces.Discrete({one(args['n'])}{start})"
    if kind == "MultiDiscrete":

        def array(value: Code | list[Code]) -> str:  # one expression, or one per element
            return one(value) if isinstance(value, Code) else f"[{', '.join(map(one, value))}]"

        start = f", start={array(args['start'])}" if "start" in args else ""
        if isinstance(args["nvec"], Code):  # counts of params: each >= 1, with the spec line
            where = literal(str(tr.model.document.location(args["nvec"].path)))
            return f"spaces.MultiDiscrete(_rt.counts({array(args['nvec'])}, {where}){start})"
        return f"spaces.MultiDiscrete({array(args['nvec'])}{start})"
    if kind == "MultiBinary":
        dims = [one(c) for c in args["n"]]
        return f"spaces.MultiBinary({dims[0] if len(dims) == 1 else '[' + ', '.join(dims) + ']'})"
    if kind == "Text":
        charset = f", charset={literal(args['charset'])}" if args["charset"] is not None else ""
        return (
            f"spaces.Text({one(args['max_length'])}, min_length={one(args['min_length'])}{charset})"
        )
    if kind == "Dict":
        items = ", ".join(f"{literal(k)}: {_space_code(c, tr)}" for k, c in space.children)
        return f"spaces.Dict({{{items}}})"
    if kind == "Tuple":
        items = ", ".join(_space_code(c, tr) for _, c in space.children)
        return f"spaces.Tuple(({items},))"
    if kind == "Sequence":
        return (
            f"spaces.Sequence({_space_code(space.children[0][1], tr)}, stack={bool(args['stack'])})"
        )
    if kind == "Graph":
        children = dict(space.children)
        edge = _space_code(children["edge_space"], tr) if "edge_space" in children else "None"
        return (
            f"spaces.Graph(node_space={_space_code(children['node_space'], tr)}, edge_space={edge})"
        )
    if kind == "OneOf":
        items = ", ".join(_space_code(c, tr) for _, c in space.children)
        return f"spaces.OneOf(({items},))"
    raise AssertionError(kind)


_NARROW_INTS = frozenset({"int8", "int16", "int32", "uint8", "uint16", "uint32"})


def _observation_code(obs: ObservationModel, tr: Translator, space_ref: str) -> str:
    """Code that builds a fresh observation of the declared space from the spec's values."""
    space = obs.space
    kind = space.kind
    if kind == "Dict":
        items = ", ".join(
            f"{literal(k)}: {_observation_code(c, tr, f'{space_ref}[{literal(k)}]')}"
            for k, c in obs.children
        )
        return f"{{{items}}}"
    if kind == "Tuple" and obs.children:
        items = ", ".join(
            _observation_code(c, tr, f"{space_ref}[{i}]") for i, (_, c) in enumerate(obs.children)
        )
        return f"({items},)"
    if kind in ("Graph", "OneOf"):
        items = ", ".join(
            f"{literal(k)}: {tr.code(c.code)}" for k, c in obs.children if c.code is not None
        )
        return f"_rt.to_space({space_ref}, {{{items}}})"
    assert obs.code is not None
    value = tr.code(obs.code)
    t = obs.code.type
    if kind in ("Box", "MultiDiscrete", "MultiBinary"):
        array = _array_observation(obs, value)
        if obs.check_shape_at is None:
            return array
        # a length the compiler could not decide: checked each time (envgen/compiler/_observation)
        where = literal(obs.check_shape_at)
        return f"_rt.fixed_shape({array}, {space_ref}.shape, {where})"
    if kind == "Discrete":
        # int() even where the types say a plain int: scalar state may hold a NumPy int at
        # run time (`s = table[s, action]`), and the vector env's sub-env observations are ints
        return value if isinstance(obs.code.expr, ast.Constant) else f"int({value})"
    if kind == "Text":
        return value if t.dtype == "str" else f"str({value})"
    return f"_rt.to_space({space_ref}, {value})"


def _array_observation(obs: ObservationModel, value: str) -> str:
    """A fresh array of a Box, MultiDiscrete or MultiBinary observation's dtype."""
    assert obs.code is not None
    kind, t = obs.space.kind, obs.code.type
    if kind == "MultiDiscrete":
        return f"np.array({value}, dtype=np.int64)"
    if kind == "MultiBinary":
        return f"np.array({value}, dtype=np.int8)"
    if isinstance(obs.code.expr, ast.List) and value.endswith("])"):
        value = value.removeprefix("np.array(")[:-1]  # the list itself, built once
    dtype = obs.space.dtype
    if t.kind == "int" and dtype in _NARROW_INTS and t.dtype != dtype:
        # ints into a narrower int Box wrap (docs/spec.md, "Numbers"), as the vector env
        # and JAX cast; np.array([256], dtype=np.uint8) would raise OverflowError
        return f"np.array({value}, dtype=np.int64).astype({np_dtype(dtype)})"
    return f"np.array({value}, dtype={np_dtype(dtype)})"


# --- pieces of the class ----------------------------------------------------------------


def _state_value(t: T, value: str, value_type: T, shape: str | None) -> str:
    """Code converting an initial value to the state's storage type."""
    if shape is not None:
        if value_type.is_scalar:
            return f"np.full({shape}, {value}, dtype={np_dtype(t.dtype)})"
        return f"np.array({value}, dtype={np_dtype(t.dtype)})"
    if t.dtype == "float64":
        return value if value_type == T("float64", (), True) else f"float({value})"
    if t.dtype == "int64":
        return value if (value_type.weak and value_type.kind == "int") else f"int({value})"
    if t.dtype == "bool":
        return value if (value_type.weak and value_type.kind == "bool") else f"bool({value})"
    return f"{np_dtype(t.dtype)}({value})"


def _indent(lines: list[str], level: int = 2) -> str:
    pad = INDENT * level
    return "\n".join(pad + line if line.strip() else "" for line in lines)


def _docstring(model: EnvModel, source_name: str, package: str = "generated") -> str:
    spec = model.spec
    doc: list[str] = []
    doc.extend(_wrap(_summary(spec.description) or f"The {spec.id} environment."))
    doc.append("")
    doc.append("## Description")
    doc.append("")
    doc.extend(_wrap(spec.description or f"The {spec.id} environment."))
    doc.append("")
    doc.extend(_wrap(f"Generated by envgen from `{source_name}`; edit the spec, not this file."))
    doc.append("")
    doc.append("## Action Space")
    doc.append("")
    doc.extend(_space_doc(model.action_space, spec.action_space))
    if model.labels:
        doc.append("")
        doc.append("| Num | Action |")
        doc.append("|-----|--------|")
        for label, value in model.labels.items():
            doc.append(f"| {value} | {label} |")
    if model.action_mask:
        doc.append("")
        doc.extend(
            _wrap(
                f"The actions valid now are `{_source_text(spec.action_mask)}`, returned as "
                '`info["action_mask"]` (int8) at reset and every step and by `action_masks()` '
                "(bools, for MaskablePPO)."
            )
        )
    doc.append("")
    doc.append("## Observation Space")
    doc.append("")
    doc.extend(_space_doc(model.observation_space, spec.observation_space))
    if isinstance(spec.observation, (list, dict)):
        doc.append("")
        items = (
            spec.observation.items()
            if isinstance(spec.observation, dict)
            else enumerate(spec.observation)
        )
        for key, item in items:
            doc.extend(_wrap(f"- {key}: `{_source_text(item)}`", hang="  "))
    else:
        doc.append("")
        doc.extend(_wrap(f"The observation is `{_source_text(spec.observation)}`."))
    doc.append("")
    doc.append("## Rewards")
    doc.append("")
    doc.extend(_wrap(f"After every step the reward is `{_source_text(spec.reward)}`."))
    doc.append("")
    doc.append("## Starting State")
    doc.append("")
    if model.state:
        for name, state in model.state.items():
            shape = f" (shape {list(state.spec.shape)})" if state.spec.shape else ""
            line = f"- `{name}`{shape} = `{_source_text(state.spec.init)}`"
            if state.spec.doc:
                line += f": {' '.join(state.spec.doc.split())}"
            doc.extend(_wrap(line))
    else:
        doc.append("The env has no state variables.")
    if spec.reset.strip():
        doc.append("")
        doc.append("then the spec's `reset` block runs.")
    doc.append("")
    doc.append("## Episode End")
    doc.append("")
    if spec.terminated is False:
        doc.append("The episode never terminates.")
    else:
        doc.extend(_wrap(f"The episode terminates when `{_source_text(spec.terminated)}`."))
    if spec.max_episode_steps is not None:
        doc.extend(_wrap(f"It is truncated after `{_source_text(spec.max_episode_steps)}` steps."))
    doc.append("")
    doc.append("## Arguments")
    doc.append("")
    doc.append("Params are given as keyword arguments or as one `config` mapping (RLlib):")
    doc.append("")
    doc.append("```python")
    doc.append("import gymnasium as gym")
    doc.append(f"import {package}  # registers every env of the package")
    doc.extend(_make_example(spec.id, model))
    doc.append("```")
    doc.append("")
    if model.params:
        for name, param in model.params.items():
            constraint = []
            for key, text in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                value = getattr(param, key)
                if value is not None:
                    constraint.append(f"{text} {value:g}")
            if param.choices is not None:
                constraint.append("one of " + ", ".join(map(repr, param.choices)))
            meaning = " ".join(param.doc.split()) or name
            if constraint:
                meaning += f" ({'; '.join(constraint)})"
            doc.extend(_wrap(f"- `{name}` (default `{param.default!r}`): {meaning}", hang="  "))
    else:
        doc.append("The env has no params.")
    if spec.variants:
        doc.append("")
        doc.append("Variants, registered with other defaults:")
        doc.append("")
        for variant, overrides in spec.variants.items():
            args = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
            doc.extend(_wrap(f"- `{variant}`: {args}", hang="  "))
    if spec.deterministic:
        doc.append("")
        doc.append("The env draws no random numbers: the seed does not matter.")
    doc.append("")
    doc.append("`invalid_action` ('raise', 'clip' or 'ignore') says what happens to an action")
    doc.append("outside the action space; `check_state=True` raises when state becomes NaN/inf.")
    body = "\n".join(INDENT + line if line else "" for line in doc)
    return f'{INDENT}"""{doc_text(body.strip())}\n{INDENT}"""'


def _make_example(env_id: str, model: EnvModel) -> list[str]:
    """`env = gym.make(id, a=1, b=2)` with up to two short params, within 96 columns."""
    args = [repr(env_id)]
    for name, param in model.params.items():
        if len(args) < 3 and len(f"{name}={param.default!r}") <= 40:
            args.append(f"{name}={param.default!r}")
    line = f"env = gym.make({', '.join(args)})"
    if len(line) <= 92:
        return [line]
    return ["env = gym.make(", *(f"    {arg}," for arg in args), ")"]


def _summary(description: str) -> str:
    """The first sentence of a description (the docstring's summary line)."""
    text = " ".join(description.split())
    match = re.search(r"(?<=[.!?])\s", text)
    return text[: match.start()] if match else text


def _space_doc(space: SpaceModel, raw: object) -> list[str]:
    dumped = raw.model_dump(by_alias=True, exclude_none=True)  # type: ignore[attr-defined]
    kind = next(iter(k for k in dumped if k != "labels"))
    return _wrap(f"A `{kind}` space: `{_compact(dumped[kind])}`.")


def _compact(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value)


def param_lines(model: EnvModel, tr: Translator) -> list[str]:
    """`__init__` lines that resolve params and compute `let` values (single and vector)."""
    mode = model.spec.invalid_action
    default_mode = "" if mode == "raise" else f", {literal(mode)}"
    lines = [f"_p = _rt.resolve_params(PARAMS, config, params, ID{default_mode})"]
    for name in model.params:
        t = model.param_types[name]
        if t.is_numeric and not t.is_scalar and t.shape is not None:
            # numeric list params are arrays, as lists in `let` are: the code indexes them
            dtype = np_dtype(t.dtype)
            inner = t.shape[1:]
            extra = f", {literal(tuple(inner))}" if inner and None not in inner else ""
            lines.append(
                f"self.{name} = _rt.param_array(ID, {literal(name)}, _p[{literal(name)}], "
                f"{dtype}, {len(t.shape)}{extra})"
            )
        else:
            lines.append(f"self.{name} = _p[{literal(name)}]")
    lines.append('self.invalid_action = _p["invalid_action"]')
    lines.append('self.check_state = _p["check_state"]')
    # Each requirement is checked as soon as the `let` values it reads exist, so a bad
    # param is named before a `let` computed from it can fail in a less clear way.
    lets = list(model.lets)
    checks: dict[int, list[str]] = {}
    for req in getattr(model, "requires", []):  # multi-agent models have none yet
        calls = {
            n.func.id
            for n in ast.walk(req.check.expr)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        after = max((lets.index(n) + 1 for n in req.check.names if n in model.lets), default=0)
        if calls & set(model.functions):
            after = len(lets)  # a function may read any let value
        # The params the condition reads, directly or through `let` values.
        read, todo = set(), list(req.check.names)
        while todo:
            name = todo.pop()
            if name not in read:
                read.add(name)
                todo += list(model.lets[name].names) if name in model.lets else []
        shown = [n for n in model.params if n in read]
        values = "{" + ", ".join(f"{literal(n)}: self.{n}" for n in shown) + "}"
        checks.setdefault(after, []).append(
            f"_rt.require({tidy(tr.code(req.check))}, ID, {literal(req.message)}, "
            f"{literal(req.where)}, {values})"
        )
    lines += checks.get(0, [])
    for i, (name, code) in enumerate(model.lets.items()):
        lines.append(f"self.{name} = {tidy(tr.code(code))}")
        lines += checks.get(i + 1, [])
    for check in model.shape_checks:
        if isinstance(check, SizeCheck):  # a shape of params: lengths and size (shapes team)
            names = sorted({n for d in check.shape if isinstance(d, Sym) for n in d.names})
            values = "{" + ", ".join(f"{literal(n)}: self.{n}" for n in names) + "}"
            lines.append(
                f"_rt.check_size({literal(check.what)}, {_shape_code(check.shape)}, "
                f"{literal(check.where)}, {values}{f', {check.minimum}' if check.minimum else ''})"
            )
            continue
        if isinstance(check, ReshapeCheck):  # reshape() of a size or into a shape of params
            names = sorted(
                {n for d in (check.size, *check.shape) if isinstance(d, Sym) for n in d.names}
            )
            values = "{" + ", ".join(f"{literal(n)}: self.{n}" for n in names) + "}"
            lines.append(
                f"_rt.check_reshape({literal(check.what)}, {_dim_code(check.size)}, "
                f"{_shape_code(check.shape)}, {literal(check.where)}, {values})"
            )
            continue
        got, want = _shape_code(check.got), _shape_code(check.want)
        lines.append(
            f"_rt.check_shape({literal(check.what)}, {got}, {want}, {literal(check.where)})"
        )
    return lines


def _dim_code(dim: object) -> str:
    """A length as Python: an int, or a polynomial of the env's params and let values."""
    if isinstance(dim, Sym):
        terms = []
        for monomial, coeff in dim.terms:
            factors = [f"self.{name}" for name in monomial]
            if coeff != 1 or not factors:
                factors.insert(0, str(coeff))
            terms.append(" * ".join(factors))
        return tidy(" + ".join(terms))
    return repr(dim)


def _shape_code(shape: tuple[object, ...]) -> str:
    dims = ", ".join(_dim_code(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


def emit_env(
    model: EnvModel,
    source_name: str | None = None,
    *,
    formatted: bool = True,
    package: str = "generated",
) -> EmittedModule:
    """The Python module for one checked spec (formatted).

    `source_name` is the spec's path as written in the header and docstring; builds pass
    it relative to the project so that output does not depend on the working directory;
    `package` is the output package the docstring's example imports.
    """
    spec = model.spec
    source_name = source_name or model.document.name
    tr = Translator(model)
    state_names = list(model.state)

    # __init__
    init = param_lines(model, tr)
    init.append(f"self.action_space = {tidy(_space_code(model.action_space, tr))}")
    init.append(f"self.observation_space = {tidy(_space_code(model.observation_space, tr))}")
    limit = tidy(tr.code(model.max_episode_steps)) if model.max_episode_steps else "None"
    init.append(f"self.max_episode_steps = {limit}")
    init.append("_rt.check_render_mode(self.metadata, render_mode)")
    if _shows_frames(model):  # human mode opens a window: refuse it here if none can open
        init.append('if render_mode == "human":')
        init.append(f"{INDENT}_window.require()")
    init.append("self.render_mode = render_mode")
    for name, state in model.state.items():
        init.append(f"self.{name} = {_placeholder(state.type)}")
    init.append("self._elapsed_steps = 0")
    init.append("self._needs_reset = True")
    init.append("self._closed = False")

    # reset
    reset = [
        "super().reset(seed=seed)",
        "_rt.check_options(ID, options)",
        "self._elapsed_steps = 0",
    ]
    for name, state in model.state.items():
        shape = None
        if state.shape:
            dims = ", ".join(tr.code(c) for c in state.shape)
            shape = f"({dims}{',' if len(state.shape) == 1 else ''})"
        value = _state_value(state.type, tr.code(state.init), state.init.type, shape)
        reset.append(f"{name} = {tidy(value)}")
    reset.extend(tidy_block(tr.block(model.reset.stmts)))
    reset.extend(_store_state(model))
    reset.append("self._needs_reset = False")
    reset.append("self._closed = False")
    if spec.hooks is not None and spec.hooks.after_reset:
        reset.append(f"{_hook_name('after_reset')}(self)")
        reset.extend(f"{n} = self.{n}" for n in state_names)
    if spec.render is not None and spec.render.human:
        reset.append('if self.render_mode == "human":')
        reset.append(f"{INDENT}self.render()")
    # One place builds the observation (Gymnasium's `_get_obs`), from the stored state.
    obs_tr = Translator(model, state_on_self=True)
    obs_tr.uses = tr.uses
    get_obs = tidy_block(
        obs_tr.guarded_lines(
            "",
            "return ",
            lambda: _observation_code(model.observation, obs_tr, "self.observation_space"),
            *_observation_nodes(model.observation),
        )
    )
    obs = "self._get_obs()"
    lines, reset_info = _info_code(model, tr, model.reset_info)
    reset.extend(lines)
    reset.append(f"return {obs}, {reset_info}")

    # step
    step = [
        "if self._needs_reset:",
        f"{INDENT}if self._closed:",
        f'{INDENT * 2}raise gym.error.ClosedEnvironmentError("step() called after close(); '
        'call reset() first")',
        f'{INDENT}raise gym.error.ResetNeeded("step() called before reset()")',
    ]
    step.extend(_action_check(model))
    step.append("self._elapsed_steps += 1")
    for name in state_names:
        step.append(f"{name} = self.{name}")
    step.extend(tidy_block(tr.block(model.step.stmts)))
    step.extend(_store_state(model))
    if spec.hooks is not None and spec.hooks.after_step:
        step.append(f"{_hook_name('after_step')}(self)")
        step.extend(f"{n} = self.{n}" for n in state_names)

    # bool()/float() even where types say plain Python: values computed from NumPy state
    # may be NumPy scalars at run time, and Gymnasium wants Python types. Both go through
    # `guarded`, as the spec's assignments do: plain Python, in `try` where it can raise.
    def terminated() -> str:
        text = tr.code(model.terminated)
        return text if isinstance(model.terminated.expr, ast.Constant) else f"bool({text})"

    def reward() -> str:
        text, node = tr.code(model.reward), model.reward.expr
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            return text
        return f"float({text})"

    assert model.terminated.expr is not None and model.reward.expr is not None
    step.extend(tidy_block(tr.guarded("", "terminated", terminated, model.terminated.expr)))
    step.extend(tidy_block(tr.guarded("", "reward", reward, model.reward.expr)))
    if model.max_episode_steps is not None:
        step.append("truncated = self._elapsed_steps >= self.max_episode_steps")
    else:
        step.append("truncated = False")
    if spec.render is not None and spec.render.human:
        step.append('if self.render_mode == "human":')
        step.append(f"{INDENT}self.render()")
    lines, info = _info_code(model, tr, model.info)
    step.extend(lines)
    step.append(f"return {obs}, reward, terminated, truncated, {info}")

    # render
    render = _render(model, tr.uses)

    methods = [_indent(["def _get_obs(self) -> Any:", *(INDENT + line for line in get_obs)], 1)]
    if model.action_mask:
        methods.append(_indent(_action_masks_method(model, obs_tr), 1))
    for fn in model.functions.values():
        for variant in fn.variants:  # one method per list of argument types it is called with
            body = tidy_block(tr.block(variant.body.stmts))
            head = f"def {variant.method}(self, {', '.join(fn.args)}) -> Any:"
            lines = [head.replace("(self, )", "(self)")]
            lines += [INDENT + line for line in body]
            lines.append(f"{INDENT}return {tidy(tr.code(variant.returns))}")
            methods.append(_indent(lines, 1))

    modes = _render_modes(model)
    fps = spec.render.fps if spec.render is not None else 30
    deterministic = ', "deterministic": True' if spec.deterministic else ""
    metadata = f'{{"render_modes": {literal(modes)}, "render_fps": {fps}{deterministic}}}'

    module_lines = [f"ID = {literal(spec.id)}"]
    for label, value in model.labels.items():
        module_lines.append(f"{label} = {value}")
    for name, value in model.constants.items():
        module_lines.append(f"{name} = {_constant(value, model.constant_types.get(name))}")
    module_lines.append("PARAMS = (")
    for name, param in model.params.items():
        fields = [literal(name), literal(param.param_type), literal(param.default)]
        extras = []
        for key in ("ge", "gt", "le", "lt"):
            bound = getattr(param, key)
            if bound is not None:
                if param.param_type == "int" and isinstance(bound, float) and bound.is_integer():
                    bound = int(bound)  # "must be >= 1, got 0" for an int param, not ">= 1.0"
                extras.append(f"{key}={literal(bound)}")
        if param.choices is not None:
            extras.append(f"choices={literal(tuple(param.choices))}")
        if param.nullable:
            extras.append("nullable=True")
        module_lines.append(f"    _rt.Param({', '.join(fields + extras)}),")
    module_lines.append(")")
    if model.ansi is not None:
        module_lines.append(f"ANSI_TEMPLATE = _rt.ansi_template({literal(model.ansi)})")
    hooks = _hook_targets(model)
    if hooks:
        # The marker `envgen show` and reviewers read: this module runs trusted Python.
        module_lines.append(f"TRUSTED_HOOKS = {literal(tuple(hooks.values()))}")
    for key, target in hooks.items():
        module, _, function = target.partition(":")
        module_lines.append(
            f"{_hook_name(key)} = _rt.load_hook({literal(module)}, {literal(function)})"
        )

    uses = tr.uses
    imports = []
    if "math" in uses:
        imports.append("import math")
    imports.append("from collections.abc import Mapping")
    imports.append("from typing import Any")
    imports.append("")
    imports.append("import gymnasium as gym")
    imports.append("import numpy as np")
    imports.append("from gymnasium import spaces")
    imports.append("")
    if "draw" in uses:
        imports.append("from envgen.runtime import draw as _draw")
    if "numeric" in uses:
        imports.append("from envgen.runtime import numeric as _num")
    if _shows_frames(model):
        imports.append("from envgen.runtime import window as _window")
    imports.append("from envgen import runtime as _rt")

    header = "\n".join(
        [
            module_docstring(spec.id, "a Gymnasium env generated by envgen"),
            "",
            f"# Source: {source_name!r}",
            f"# sha256: {model.source_hash}",
            "# Generated by envgen; do not edit. Regenerate with `envgen build`.",
            *(
                [
                    "# TRUSTED CODE: reset()/step() import and run the Python hooks "
                    + ", ".join(hooks.values()),
                    "# (arbitrary code, not checked by envgen; review it, see SECURITY.md).",
                ]
                if hooks
                else []
            ),
        ]
    )
    source = _TEMPLATES.get_template("env.py.jinja").render(
        header=header,
        imports=imports,
        module_lines=module_lines,
        class_name=model.class_name,
        docstring=_docstring(model, source_name, package),
        metadata=metadata,
        init=_indent(init),
        reset=_indent(reset),
        step=_indent(step),
        render=_indent(render),
        methods=methods,
        closes_window=_shows_frames(model),
    )
    if not formatted:
        return EmittedModule(model.module_name, source)
    return EmittedModule(model.module_name, format_source(source, model.module_name))


def _hook_targets(model: EnvModel) -> dict[str, str]:
    """The spec's hooks, {"after_reset": "package.module:function", ...}."""
    hooks = model.spec.hooks
    if hooks is None:
        return {}
    return {k: getattr(hooks, k) for k in ("after_reset", "after_step") if getattr(hooks, k)}


def _observation_nodes(obs: ObservationModel) -> list[ast.expr]:
    """The spec's expressions an observation is built from."""
    nodes = [obs.code.expr] if obs.code is not None and obs.code.expr is not None else []
    for _, child in obs.children:
        nodes += _observation_nodes(child)
    return nodes


def _info_code(model: EnvModel, tr: Translator, keys: Iterable[str]) -> tuple[list[str], str]:
    """The info dict of reset() or step(): lines to run first and the dict's expression.
    Plain Python where nothing in it can raise; else `info` is computed first, in `try`,
    as `guarded` prints an assignment."""
    keys = list(keys)

    def info() -> str:
        items = ", ".join(f"{literal(k)}: {_info_value(model, tr, k)}" for k in keys)
        if model.action_mask and model.action_space.kind == "MultiDiscrete":
            items += f"{', ' if items else ''}'action_mask': {_mask_tuple(model, tr)}"
        return "{" + items + "}"

    nodes = [model.info[k].expr for k in keys]
    nodes += [c.expr for c in model.action_mask] if model.action_mask else []
    lines = tr.guarded_lines("", "info = ", info, *(n for n in nodes if n is not None))
    if len(lines) == 1:
        return [], tidy(lines[0].removeprefix("info = "))
    return tidy_block(lines), "info"


def _info_value(model: EnvModel, tr: Translator, key: str) -> str:
    value = tr.info_value(model.info[key])
    if key == "action_mask" and model.action_mask and model.action_mask_check is not None:
        # a mask length the compiler could not follow: checked against the action space
        value = f"_rt.checked_mask(self.action_space, {literal(model.action_mask_check)}, {value})"
    return value


def _mask_tuple(model: EnvModel, tr: Translator) -> str:
    """MultiDiscrete: a tuple with one array per dimension, as MultiDiscrete.sample takes."""
    masks = ", ".join(tr.code(c) for c in model.action_mask)
    where = literal(model.action_mask_check or str(model.document.location(("action_mask",))))
    return f"_rt.mask_tuple(self.action_space, {where}, {masks})"


def _action_masks_method(model: EnvModel, tr: Translator) -> list[str]:
    """`action_masks()`, what sb3-contrib's MaskablePPO asks for: bools, one per action
    (the dimensions of a MultiDiscrete space one after another)."""
    masks = [tidy(tr.code(c)) for c in model.action_mask]
    value = masks[0] if len(masks) == 1 else f"np.concatenate([{', '.join(masks)}])"
    return [
        "def action_masks(self) -> np.ndarray:",
        f'{INDENT}"""The actions valid now (True), as in `info["action_mask"]`."""',
        f"{INDENT}if self._needs_reset:",
        f'{INDENT * 2}raise gym.error.ResetNeeded("action_masks() called before reset()")',
        f"{INDENT}return np.asarray({value}, dtype=np.bool_)",
    ]


def _hook_name(key: str) -> str:
    return f"HOOK_{key.upper()}"


def _placeholder(t: T) -> str:
    if not t.is_scalar:
        return "None"
    return {"bool": "False", "int64": "0", "float64": "0.0"}.get(t.dtype, f"{np_dtype(t.dtype)}(0)")


def _constant(value: object, t: T | None = None) -> str:
    """A constant as the analysis typed it: a numeric table (bools and numbers mixed
    included) is a read-only array, so indexing it as one works."""
    if t is None:
        t = data_type(value)
    if t.is_numeric and not t.is_scalar:
        return f"_rt.frozen({literal(value)}, {np_dtype(t.dtype)})"
    return literal(value)


def _flatten(value: object) -> list[object]:
    if isinstance(value, list):
        return [x for v in value for x in _flatten(v)]
    return [value]


def _store_state(model: EnvModel) -> list[str]:
    lines = [f"self.{name} = {name}" for name in model.state]
    if model.state:
        args = ", ".join(f"{n}={n}" for n in model.state)
        lines.append("if self.check_state:")
        lines.append(f"{INDENT}_rt.check_finite(ID, {args})")
    return lines


def _action_check(model: EnvModel) -> list[str]:
    space = model.action_space
    # _rt.contains also answers False (instead of raising) for ragged or odd inputs.
    check = "not _rt.contains(self.action_space, action)"
    if space.kind == "Discrete":
        # Fast path for plain ints (the common case); everything else goes through contains().
        n = model.action_space.args["n"]
        start = model.action_space.args.get("start")
        tr = Translator(model)
        low = tidy(tr.code(start)) if start is not None else "0"
        high = tidy(f"({low}) + ({tr.code(n)})") if start is not None else tidy(tr.code(n))
        check = f"action.__class__ is not int or not {low} <= action < {high}"
        return [
            f"if {check}:",
            f"{INDENT}if _rt.contains(self.action_space, action):",
            f"{INDENT * 2}action = int(action)",
            f"{INDENT}else:",
            f"{INDENT * 2}action = _rt.fix_action(self.action_space, action, self.invalid_action)",
        ]
    return [
        f"if {check}:",
        f"{INDENT}action = _rt.fix_action(self.action_space, action, self.invalid_action)",
    ]


def _render_modes(model: EnvModel) -> list[str]:
    modes = []
    spec = model.spec
    if spec.render is not None:
        if spec.render.human:
            modes.append("human")
        if spec.render.ansi is not None:
            modes.append("ansi")
        if spec.render.rgb_array is not None:
            modes.append("rgb_array")
    return modes


def _shows_frames(model: EnvModel) -> bool:
    """Whether human mode shows rgb_array frames in a window (no ansi text to print)."""
    spec = model.spec
    return (
        spec.render is not None
        and spec.render.human
        and model.ansi is None
        and model.rgb_array is not None
    )


def _render(model: EnvModel, uses: set[str]) -> list[str]:
    spec = model.spec
    lines = [
        "if self.render_mode is None:",
        f"{INDENT}gym.logger.warn(",
        f'{INDENT * 2}"render() called without a render_mode; pass render_mode= to gym.make"',
        f"{INDENT})",
        f"{INDENT}return None",
    ]
    if model.ansi is not None:
        names = list(model.params) + list(model.lets) + list(model.state)
        context = ", ".join(f"{literal(n)}: self.{n}" for n in names)
        context += (", " if context else "") + '"elapsed_steps": self._elapsed_steps'
        for name in list(model.labels) + list(model.constants):
            context += f", {literal(name)}: {name}"
        lines.append('if self.render_mode in ("ansi", "human"):')
        lines.append(f"{INDENT}_text = ANSI_TEMPLATE.render({{{context}}})")
        if spec.render is not None and spec.render.human:
            lines.append(f'{INDENT}if self.render_mode == "human":')
            lines.append(f"{INDENT * 2}print(_text)")
            lines.append(f"{INDENT * 2}return None")
        lines.append(f"{INDENT}return _text")
    if model.rgb_array is not None:
        tr = Translator(model, state_on_self=True)
        tr.uses = uses
        code = model.rgb_array
        if _shows_frames(model):  # human mode: the same frame, shown in a window
            lines.append('if self.render_mode in ("rgb_array", "human"):')
            if code.expr is not None:
                lines.append(f"{INDENT}frame = {tidy(tr.code(code))}")
            else:
                lines.extend(INDENT + line for line in tidy_block(tr.block(code.stmts)))
            lines.append(f"{INDENT}frame = np.ascontiguousarray(frame, dtype=np.uint8)")
            lines.append(f'{INDENT}if self.render_mode == "human":')
            lines.append(f"{INDENT * 2}_window.show_frame(self, frame)")
            lines.append(f"{INDENT * 2}return None")
            lines.append(f"{INDENT}return frame")
        else:
            lines.append('if self.render_mode == "rgb_array":')
            if code.expr is not None:
                lines.append(
                    f"{INDENT}return np.ascontiguousarray({tidy(tr.code(code))}, dtype=np.uint8)"
                )
            else:
                body = tidy_block(tr.block(code.stmts))
                lines.extend(INDENT + line for line in body)
                lines.append(f"{INDENT}return np.ascontiguousarray(frame, dtype=np.uint8)")
    lines.append("return None")
    return lines


def format_source(source: str, name: str) -> str:
    """Format one module with ruff (isolated from any user config), reproducibly."""
    return format_sources({f"{name}.py": source})[f"{name}.py"]


_RUFF_ARGS = ["--isolated", "--line-length", "100", "--target-version", "py310"]


def format_sources(sources: dict[str, str]) -> dict[str, str]:
    """Format many modules with two ruff runs over a temporary folder.

    First `ruff check --fix` sorts imports and drops unused ones, then `ruff format` lays
    the code out; both with fixed settings so output does not depend on user config.
    """
    for name, source in sources.items():
        try:
            ast.parse(source)
        except SyntaxError as exc:  # a compiler bug: show the generated text
            raise RuntimeError(f"envgen emitted invalid Python in {name}: {exc}\n{source}") from exc
    ruff = _ruff()
    with tempfile.TemporaryDirectory(prefix="envgen-format-") as folder:
        paths = {name: Path(folder) / name for name in sources}
        for name, path in paths.items():
            path.write_text(sources[name], encoding="utf-8")
        files = [str(p) for p in paths.values()]
        subprocess.run(
            [
                ruff,
                "check",
                *_RUFF_ARGS,
                "--select",
                "I,F401,UP",
                "--fix",
                "--quiet",
                "--exit-zero",
                "--no-cache",
                *files,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        findings = _lint(ruff, folder, files)
        if findings:
            raise EmittedCodeError(findings)
        result = subprocess.run(
            [ruff, "format", *_RUFF_ARGS, "--no-cache", *files],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"ruff format failed: {result.stderr}")
        return {name: path.read_text(encoding="utf-8") for name, path in paths.items()}


#: Pyflakes rules every emitted module must pass: undefined, unused and redefined names,
#: and the other mistakes that are bugs in generated code rather than style.
_GUARD_RULES = "F"


@dataclass
class Finding:
    """One pyflakes finding in emitted code: a compiler bug, never the user's."""

    file: str
    line: int
    code: str
    message: str
    text: str  # the emitted line


class EmittedCodeError(RuntimeError):
    """The emitted code fails the pyflakes guard (see `format_sources`)."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f"{f.file}:{f.line}: {f.code} {f.message}" for f in findings))
        self.findings = findings


def _lint(ruff: str, folder: str, files: list[str]) -> list[Finding]:
    """Run ruff's pyflakes rules over emitted modules (a safety net behind the analysis)."""
    result = subprocess.run(
        [ruff, "check", *_RUFF_ARGS, "--select", _GUARD_RULES, "--output-format", "json"]
        + ["--exit-zero", "--no-cache", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = []
    for item in json.loads(result.stdout or "[]"):
        path = Path(item["filename"])
        line = item["location"]["row"]
        lines = path.read_text(encoding="utf-8").splitlines()
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        findings.append(Finding(path.name, line, item["code"], item["message"], text))
    return findings


def _ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin

        return find_ruff_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
        return found


def jax_id(env_id: str) -> str:
    """The id of an env's JAX face: `ns/Name-vN` -> `ns/Name-jax-vN`."""
    base, dash, version = env_id.rpartition("-v")
    if not dash or not version.isdigit():
        return f"{env_id}-jax"
    return f"{base}-jax-v{version}"


def emit_registry(
    models: list[EnvModel],
    vector_modules: dict[str, str],
    package: str = "generated",
    *,
    formatted: bool = True,
    multiagent: dict[str, str] | None = None,
    jax_modules: dict[str, str] | None = None,
    jax_fallbacks: dict[str, str] | None = None,
) -> str:
    """The `__init__.py` of the output package: registers every env with Gymnasium.

    `vector_modules` maps an env id to the module holding its native VectorEnv; ids not in
    it fall back to Gymnasium's SyncVectorEnv, and the registry says why.
    """
    envs = []
    variants = []
    for model in models:
        for variant, overrides in model.spec.variants.items():
            variants.append((variant, model, overrides))
    entries = [(m.spec.id, m, {}) for m in models] + variants
    for env_id, model, overrides in sorted(entries, key=lambda e: e[0]):
        spec = model.spec
        limit = model.registered_time_limit
        vector = vector_modules.get(spec.id)
        wrappers = [
            {"name": literal(name), "entry_point": literal(entry), "kwargs": literal(kwargs)}
            for name, entry, kwargs in model.wrappers
        ]
        fallback = None
        if vector is None:
            fallback = literal("; ".join(model.vector_notes) or "not vectorized")
        envs.append(
            {
                "id": literal(env_id),
                "entry_point": literal(f"{package}.{model.module_name}:{model.class_name}"),
                "vector_entry_point": literal(vector) if vector else "None",
                "max_episode_steps": literal(limit),
                "kwargs": literal(dict(overrides)),
                "wrappers": wrappers,
                "fallback": fallback,
                "variant_of": literal(spec.id) if env_id != spec.id else None,
            }
        )
    source = _TEMPLATES.get_template("registry.py.jinja").render(
        envs=envs,
        uses_wrappers=any(env["wrappers"] for env in envs),
        example_id=models[0].spec.id if models else "envgen/Example-v0",
        package=package,
        multiagent={literal(k): literal(v) for k, v in sorted((multiagent or {}).items())},
        jax_modules=[(literal(k), literal(v)) for k, v in sorted((jax_modules or {}).items())],
        jax_ids=[(literal(jax_id(k)), literal(k)) for k in sorted(jax_modules or {})],
        jax_fallbacks=[(literal(k), literal(v)) for k, v in sorted((jax_fallbacks or {}).items())],
        jax_entry_point=literal(JAX_ENTRY_POINT),
        jax_vector_entry_point=literal(JAX_VECTOR_ENTRY_POINT),
    )
    return format_source(source, "__init__") if formatted else source
