"""Stage 3: check the spec's code and data, and infer types and shapes.

Code strings are parsed with `ast` and checked against a whitelist; nothing from a spec is
ever evaluated. The result is an `EnvModel` (envgen.compiler.ir): the spec's parts as typed,
checked syntax trees, plus the facts the backends need (which names are params, which are
state, ...). The rules live in the modules this one orchestrates: `_checker` (with
`_expressions` and `_statements`), `_data`, `_spaces`, `build_observation` and `_render`.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import replace

from envgen.compiler import _features
from envgen.compiler._checker import Checker, Scope
from envgen.compiler._data import check_param_default, data_type, param_storage_type, param_type
from envgen.compiler._flow import step_variants
from envgen.compiler._language import RESERVED, RESERVED_METHODS
from envgen.compiler._observation import build_observation
from envgen.compiler._per_env import mark_per_env
from envgen.compiler._render import check_template, render_code
from envgen.compiler._spaces import (
    build_space,
    check_size,
    check_space_codes,
    has_kind,
    space_action_type,
)
from envgen.compiler._statements import check_defined, check_locals_read
from envgen.compiler.diagnostics import Diagnostic, DiagnosticError
from envgen.compiler.functions import BUILTINS, CONSTANTS
from envgen.compiler.ir import (
    Code,
    EnvModel,
    FunctionModel,
    ShapeCheck,
    SpaceModel,
    StateModel,
    Symbol,
    class_name_for,
    module_name_for,
)
from envgen.compiler.load import Document
from envgen.compiler.spec import EnvSpec
from envgen.compiler.types import ANY, BOOL, INT, Sym, T, erase
from envgen.compiler.types import scalar as scalar_type

__all__ = ["EnvModel", "analyze"]


def _discrete_limits(checker: Checker, space: SpaceModel) -> tuple[int, int] | None:
    """The lowest and highest action of a Discrete space, from what its `n` and `start`
    may be (a plain int that may not fit a narrow int is int64 there: `types.widened`)."""
    ends = []
    for key, default in (("n", None), ("start", (0, 0))):
        code = space.args.get(key)
        t = checker.types.get(id(code.expr)) if code is not None and code.expr else None
        ends.append(t.limits if t is not None else default)
    n, start = ends
    if n is None or start is None:
        return None
    return (start[0], start[1] + max(n[1], 1) - 1)


def analyze(document: Document, spec: EnvSpec) -> EnvModel:
    """Check one spec; raise `DiagnosticError` with every problem found."""
    checker = Checker(document, spec)
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
        declare(name, "param", param_type(param), ("params", name))
        check_param_default(checker, name, param)
    for name, value in spec.constants.items():
        t = data_type(value)
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
    action_space = build_space(checker, spec.action_space, ("action_space",))
    observation_space = build_space(checker, spec.observation_space, ("observation_space",))
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
            number = labels[label.upper()]
            value = replace(INT, limits=(number, number))
            declare(label.upper(), "label", value, ("action_space", "labels", i))

    # Functions: pure, see params/let/constants and their arguments. Each is checked at
    # each call for the types of that call's arguments (a variant per list of types), so
    # its result is as precise as the same code inline; `let` values may call them.
    root = Scope(globals_)
    checker.root = root
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
        path = ("functions", name)
        checker.functions[name] = FunctionModel(
            name, list(fn.args), Code(path + ("body",)), Code(path + ("return",))
        )
        checker.templates[name] = (fn.body, fn.returns)

    lets: dict[str, Code] = {}
    for name, value in spec.let.items():
        code = checker.parse_expr(value, ("let", name))
        checker.check_expr(code, root, random=False)
        declare(name, "let", code.type, ("let", name))
        lets[name] = code

    # Space bounds are expressions over params and let.
    for space in (action_space, observation_space):
        check_space_codes(checker, space, root)

    requires = _features.check_requires(checker, spec, root)
    _features.check_variants(checker, spec)

    # State: initial values in declaration order; each may use the ones before it.
    state_scope = Scope({}, root)
    state_types: dict[str, T] = {}
    states: dict[str, StateModel] = {}
    init_scope = Scope({}, root)
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
        check_size(checker, dims, ("state", name, "shape"), shape_codes)
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

    action_type = space_action_type(action_space)
    if action_space.kind == "Discrete":
        action_type = replace(action_type, limits=_discrete_limits(checker, action_space))

    # reset: state plus locals; no action.
    reset_scope = Scope({"elapsed_steps": Symbol("elapsed_steps", "special", INT)}, state_scope)
    reset_code = checker.parse_block(spec.reset, ("reset",))
    checker._allow_options = True
    reset_locals: dict[str, Symbol] = {}
    checker.check_block(
        reset_code, Scope({}, reset_scope), set(state_types), state_types, reset_locals
    )
    checker._allow_options = False
    check_locals_read(checker, reset_code, reset_locals, [reset_code])

    # step: state, action, elapsed_steps, locals.
    step_symbols = {
        "action": Symbol("action", "action", action_type),
        "elapsed_steps": Symbol("elapsed_steps", "special", INT),
    }
    step_scope = Scope({}, Scope(step_symbols, state_scope))
    step_code = checker.parse_block(spec.step, ("step",))
    step_locals: dict[str, Symbol] = {}
    defined = checker.check_block(step_code, step_scope, set(state_types), state_types, step_locals)
    uses_random_in_step = step_code.random

    # Observation: over state only (it is also computed at reset).
    obs_scope = Scope({"elapsed_steps": Symbol("elapsed_steps", "special", INT)}, state_scope)
    observation = build_observation(
        checker, spec.observation, observation_space, obs_scope, ("observation",)
    )

    # After step: terminated, then reward and info (which may read `terminated`).
    after = Scope(dict(step_scope.symbols), Scope(step_symbols, state_scope))
    terminated = checker.parse_expr(spec.terminated, ("terminated",))
    checker.check_expr(terminated, after, random=False)
    check_defined(checker, terminated, step_locals, defined)
    if terminated.type.dtype != "any" and (
        not terminated.type.is_scalar or not terminated.type.is_numeric
    ):
        error(
            ("terminated",),
            f"terminated must be a scalar condition, got {terminated.type.describe()}",
            "e.g. `pos == 0`" + _assigned_at(document, step_code, terminated),
            "type",
        )
    after.symbols["terminated"] = Symbol("terminated", "special", BOOL)
    reward = checker.parse_expr(spec.reward, ("reward",))
    checker.check_expr(reward, after, random=False)
    check_defined(checker, reward, step_locals, defined)
    if reward.type.dtype != "any" and (not reward.type.is_scalar or not reward.type.is_numeric):
        error(
            ("reward",),
            f"reward must be a scalar number, got {reward.type.describe()}",
            "reduce arrays with sum(...) or mean(...)" + _assigned_at(document, step_code, reward),
            "type",
        )
    info: dict[str, Code] = {}
    reset_info: list[str] = []
    for key, value in spec.info.items():
        if key in GYMNASIUM_INFO_KEYS or key.startswith("_"):
            error(
                ("info", key),
                f"the info key '{key}' is Gymnasium's: "
                + (
                    "vector envs put a mask of the envs that have a key under '_' + key"
                    if key.startswith("_")
                    else "vector envs and wrappers write it (autoreset, episode statistics)"
                ),
                "rename this info entry",
                "name",
            )
        code = checker.parse_expr(value, ("info", key))
        checker.check_expr(code, after, random=False)
        check_defined(checker, code, step_locals, defined)
        info[key] = code
        if not (code.names & (set(step_locals) | {"action", "terminated"})):
            reset_info.append(key)

    check_locals_read(
        checker, step_code, step_locals, [step_code, terminated, reward, *info.values()]
    )

    # The action mask is read like the observation (after reset and after each step).
    action_mask, mask_check = _features.check_action_mask(
        checker, spec, action_space, obs_scope, ShapeCheck
    )
    if spec.action_mask is not None and "action_mask" in spec.info:
        error(
            ("info", "action_mask"),
            "`action_mask` is already the info entry of the spec's action mask",
            "rename this info entry",
            "name",
        )
    elif action_mask and action_space.kind == "Discrete":
        info["action_mask"] = action_mask[0]
        reset_info.append("action_mask")
    elif action_mask:
        checker.vector_notes.append("a MultiDiscrete action mask is a tuple of arrays in info")
    _features.check_deterministic(
        checker,
        spec,
        [
            *lets.values(),
            *(c for fn in checker.functions.values() for c in (fn.body, fn.returns)),
            *(var.init for var in states.values()),
            reset_code,
            step_code,
        ],
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
            check_template(
                checker,
                ansi,
                ("render", "ansi"),
                root.visible() | set(state_types) | {"elapsed_steps"},
            )
        if spec.render.rgb_array is not None:
            render_scope = Scope(
                {"elapsed_steps": Symbol("elapsed_steps", "special", INT)}, state_scope
            )
            rgb = render_code(checker, spec.render.rgb_array, render_scope)

    if spec.hooks is not None and (spec.hooks.after_step or spec.hooks.after_reset):
        checker.vector_notes.append("the spec has Python hooks (trusted code, run per env)")
    for space, where in ((action_space, "action"), (observation_space, "observation")):
        if has_kind(space, {"Text", "Graph", "Sequence", "OneOf"}):
            checker.vector_notes.append(
                f"the {where} space has a Text, Graph, Sequence or OneOf part"
            )
    if spec.wrappers:
        # Gymnasium's make_vec refuses a vector_entry_point for a spec with wrappers; its
        # SyncVectorEnv applies them to each sub-env, as gym.make does
        checker.vector_notes.append(
            "the spec applies Gymnasium wrappers, which gym.make_vec applies to each sub-env "
            "of a SyncVectorEnv"
        )
    if action_space.kind in ("Dict", "Tuple"):
        checker.vector_notes.append("the action space is a Dict or Tuple")
    if not spec.vectorize:
        checker.vector_notes.append("the spec sets `vectorize: false`")

    for name, function in checker.functions.items():
        if not function.variants and name in globals_:
            # Never called: checked once with arguments of unknown type, for its errors.
            checker.specialize(name, tuple(ANY for _ in function.args), None)

    if checker.diagnostics:
        raise DiagnosticError(_unique(checker.diagnostics))

    variants, settle = step_variants(
        checker,
        states,
        reset_code,
        reset_scope,
        step_code,
        step_scope.parent,  # type: ignore[arg-type]
        # as checked above: terminated, then the `terminated` symbol, then reward and info
        [
            (terminated, True),
            (reward, False),
            *((info[key], False) for key in info if key not in reset_info),
        ],
    )

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
        constant_types={name: data_type(value) for name, value in spec.constants.items()},
        param_types={name: param_storage_type(param) for name, param in spec.params.items()},
        requires=requires,
        action_mask=action_mask,
        action_mask_check=mask_check,
        operand_dtypes=checker.operand_dtypes,
        int64_operands=checker.int64_operands,
        held=checker.held,
        step_variants=variants,
        step_types_settle=settle,
    )
    _erase_symbolic_lengths(model)
    mark_per_env(model)
    return model


#: Info keys Gymnasium's vector envs and wrappers write (a spec's entry would be overwritten
#: or would overwrite theirs); `_`-prefixed keys are the vector envs' masks.
GYMNASIUM_INFO_KEYS = {"final_obs", "final_info", "final_observation", "episode"}


def _assigned_at(document: Document, step: Code, value: Code) -> str:
    """For a value that is a step local: where step last assigns it (following `r = s`
    to where `s` is assigned), so an error about the value points at the line that made
    its type."""
    node: ast.AST | None = value.expr
    found: ast.Assign | None = None
    seen: set[str] = set()
    while isinstance(node, ast.Name) and node.id not in seen:
        seen.add(node.id)
        last = None
        for stmt in step.stmts:
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == node.id for t in sub.targets
                ):
                    last = sub
        if last is None:
            break
        found, node = last, last.value
    if found is None:
        return ""
    where = document.code_location(step.path, found.lineno, found.col_offset)
    return f"; its value comes from {where}: `{ast.unparse(found)}`"


def _erase_symbolic_lengths(model: EnvModel) -> None:
    """Hand the backends lengths as ints or unknown: the symbolic ones have done their
    work (the observation contract, `shape_checks`) and no backend prints them."""
    model.types = {key: erase(t) for key, t in model.types.items()}
    model.held = {key: erase(t) for key, t in model.held.items()}
    for symbol in model.symbols.values():
        symbol.type = erase(symbol.type)
    for code in model.codes():
        code.type = erase(code.type)
    for state in model.state.values():
        state.symbolic = state.type
        state.type = erase(state.type)
    model.action_type = erase(model.action_type)
    for variant in model.step_variants:
        variant.types = {key: erase(t) for key, t in variant.types.items()}
        variant.held = {key: erase(t) for key, t in variant.held.items()}
        variant.entry = {name: erase(t) for name, t in variant.entry.items()}
        variant.end = {name: erase(t) for name, t in variant.end.items()}
    spaces = [model.action_space, model.observation_space]
    while spaces:
        space = spaces.pop()
        if space.shape is not None:
            space.shape = tuple(None if isinstance(d, Sym) else d for d in space.shape)
        spaces.extend(child for _, child in space.children)


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Each diagnostic once: a function's error shows in every variant checked."""
    seen: set[str] = set()
    out = []
    for diagnostic in diagnostics:
        key = diagnostic.format()
        if key not in seen:
            seen.add(key)
            out.append(diagnostic)
    return out
