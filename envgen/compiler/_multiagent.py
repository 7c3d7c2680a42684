"""Stage 3 for multi-agent specs: check the code with the single-agent checker.

The language is the same; a multi-agent spec adds three names: `agent` (the index of the
agent a per-agent piece of code is about), `num_agents` and `live` (one bool per agent:
whether it is still in the game). Agents are numbered in spec order (roles in order, then
the agents of each role); per-agent state is an array whose first axis is that index.

Code that a role inherits from the top level is parsed once per role, so that each role's
copy is typed against the role's own spaces.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from typing import Any

from envgen.compiler._checker import Checker, Scope
from envgen.compiler._data import check_param_default, data_type, param_storage_type, param_type
from envgen.compiler._language import RESERVED
from envgen.compiler._limits import default_values, fold
from envgen.compiler._observation import build_observation, list_code
from envgen.compiler._render import check_template, render_code
from envgen.compiler._spaces import build_space, check_size, check_space_codes, space_action_type
from envgen.compiler._statements import check_defined, check_locals_read
from envgen.compiler.diagnostics import Diagnostic, DiagnosticError
from envgen.compiler.functions import BUILTINS, CONSTANTS
from envgen.compiler.ir import (
    Code,
    EnvModel,
    FunctionModel,
    ObservationModel,
    ShapeCheck,
    SpaceModel,
    StateModel,
    Symbol,
    class_name_for,
    module_name_for,
)
from envgen.compiler.load import Document
from envgen.compiler.spec import ParamSpec, StateVarSpec
from envgen.compiler.types import ANY, BOOL, INT, T, dim_equal, erase, sym
from envgen.compiler.types import scalar as scalar_type
from envgen.runtime.multiagent import MAX_AGENTS  # the limit the generated env checks too

from ._multiagent_spec import AgentCount, MultiAgentSpec

#: Names a multi-agent spec's code sees besides the single-agent ones, and the names the
#: generated PettingZoo classes use for themselves.
MULTIAGENT_RESERVED = RESERVED | {
    "agent",
    "agents",
    "live",
    "num_agents",
    "max_num_agents",
    "possible_agents",
    "agent_selection",
    "agent_roles",
    "rewards",
    "terminations",
    "truncations",
    "infos",
    "observations",
    "actions",
    "observe",
    "state_space",
    "state",
    "observation_spaces",
    "action_spaces",
    "max_cycles",
    "ParallelEnv",
    "AECEnv",
    "conversions",
    "wrappers",
    "parallel_env",
    "parallel",  # envgen.multiagent.make's own keyword: a param of that name is unreachable
    "env_id",  # likewise (make's first argument)
    "raw_env",
    "env",
    "seeding",
}


@dataclass
class RoleModel:
    """A group of agents with their spaces and their (own copy of the) per-agent code."""

    name: str
    names: list[str] | None  # fixed agent names, or None when counted
    count: Code | None  # the count expression of `{count: ...}`
    prefix: str
    action_space: SpaceModel
    observation_space: SpaceModel
    action_type: T
    act: Code
    observation: ObservationModel
    reward: Code
    terminated: Code
    action_mask: Code | None
    info: dict[str, Code]
    reset_info: list[str]
    rejoin_when: Code | None = None  # an agent that has left comes back when it holds
    rejoin_times: Code | None = None  # how many times each agent of the role may come back


@dataclass
class MultiAgentModel:
    """Everything the PettingZoo backend needs, checked and typed."""

    spec: MultiAgentSpec
    document: Document
    source_hash: str
    class_name: str
    module_name: str
    params: dict[str, ParamSpec]
    constants: dict[str, Any]
    labels: dict[str, int]
    lets: dict[str, Code]
    functions: dict[str, Any]
    roles: list[RoleModel]
    state: dict[str, StateModel]
    per_agent: set[str]
    reset: Code
    step: Code
    turns_first: Code | None
    turns_next: Code | None
    global_space: SpaceModel | None
    global_value: ObservationModel | None
    ansi: str | None
    rgb_array: Code | None
    symbols: dict[int, Symbol]
    types: dict[int, T]
    read_copies: list[ast.expr] = field(default_factory=list)
    shape_checks: list[Any] = field(default_factory=list)
    param_types: dict[str, T] = field(default_factory=dict)
    int64_operands: set[int] = field(default_factory=set)  # as EnvModel's

    @property
    def turn_based(self) -> bool:
        return self.turns_next is not None

    @property
    def rejoins(self) -> bool:
        """Whether agents that have left may come back (some role has `rejoin`)."""
        return any(role.rejoin_when is not None for role in self.roles)

    def codes(self) -> list[Code]:
        out: list[Code] = list(self.lets.values())
        for fn in self.functions.values():
            out += [fn.body, fn.returns]
        for var in self.state.values():
            out += [*var.shape, var.init]
        out += [self.reset, self.step]
        for role in self.roles:
            out.append(role.act)
            stack = [role.observation]
            if role is self.roles[0] and self.global_value is not None:
                stack.append(self.global_value)
            while stack:
                obs = stack.pop()
                if obs.code is not None:
                    out.append(obs.code)
                stack.extend(child for _, child in obs.children)
            out += [role.reward, role.terminated, *role.info.values()]
            if role.action_mask is not None:
                out.append(role.action_mask)
            if role.count is not None:
                out.append(role.count)
            out += [c for c in (role.rejoin_when, role.rejoin_times) if c is not None]
        out += [c for c in (self.turns_first, self.turns_next, self.rgb_array) if c is not None]
        return out

    def find_name(self, name: str, exact: ast.AST | None = None) -> tuple[Code, ast.Name] | None:
        return EnvModel.find_name(self, name, exact)  # type: ignore[arg-type]


#: Names the analysis itself declares although users may not.
_BUILT_IN = {("param", "max_cycles"), ("let", "num_agents")}


def _default_count(spec: Any, code: Code) -> int | None:
    """The value of a count (`n`, `n - 3`, `2 * n`: arithmetic on params, `let` values and
    literals) with the params' defaults, or None where it is not known at build time."""
    value = fold(code.expr, default_values(spec))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _params_named(code: Code) -> str:
    """The names a count expression reads, for a hint ('n', or 'n' and 'k')."""
    names = sorted({n.id for n in ast.walk(code.expr) if isinstance(n, ast.Name)})
    return " and ".join(repr(n) for n in names) or "the params"


def _check_rejoin_names(checker: Checker, spec: Any, roles: list[RoleModel]) -> None:
    """With the default params, the names agents come back under (`w_0_r1`, ...) must be
    new, and all the names together at most MAX_AGENTS: what the env checks when made
    (`runtime.multiagent.rejoin_names`), said at build time where the defaults decide it."""
    lives: list[tuple[RoleModel, list[str], int]] = []
    for role in roles:
        if role.names is not None:
            names = list(role.names)
        else:
            count = checker.consts.get(id(role.count.expr)) if role.count is not None else None
            count = count if isinstance(count, int) else _default_count(spec, role.count)
            if not isinstance(count, int) or not 0 < count <= MAX_AGENTS:
                return  # decided by the params (or refused already): checked when made
            names = [f"{role.prefix}_{i}" for i in range(count)]
        times = 0
        if role.rejoin_times is not None:
            value = checker.consts.get(id(role.rejoin_times.expr))
            times = value if isinstance(value, int) else _default_count(spec, role.rejoin_times)
            if not isinstance(times, int) or not 0 <= times < MAX_AGENTS:
                return
        lives.append((role, names, times))
    total = sum(len(names) * (times + 1) for _, names, times in lives)
    if total > MAX_AGENTS:
        role = next(r for r, _, t in lives if t)
        checker.error(
            role.rejoin_times.path,  # type: ignore[union-attr]
            f"with the default params the agents that come back make {total} agent names, "
            f"more than {MAX_AGENTS}",
            "lower `times` or the number of agents (each return is one more name)",
            "range",
        )
        return
    owner = {name: role.name for role, names, _ in lives for name in names}
    for role, names, times in lives:
        for name in names:
            for k in range(1, times + 1):
                again = f"{name}_r{k}"
                if again in owner:
                    checker.error(
                        role.rejoin_times.path,  # type: ignore[union-attr]
                        f"agent '{name}' comes back as '{again}', a name "
                        f"{'role ' + repr(owner[again]) + ' gives' if owner[again] else 'given to'}"
                        " another agent",
                        "rename that agent (PettingZoo agents never come back under a name "
                        "they left with, so a return takes a new name)",
                        "name",
                    )
                    return


#: The default name of an agent counted without roles: `agent_0`, `agent_1`, ...
DEFAULT_PREFIX = "agent"


def analyze_multiagent(document: Document, spec: MultiAgentSpec) -> MultiAgentModel:
    """Check one multi-agent spec; raise `DiagnosticError` with every problem found."""
    checker = Checker(document, spec)  # type: ignore[arg-type]
    checker.reserved_names = MULTIAGENT_RESERVED  # locals may not shadow the class's names
    error = checker.error
    class_name = class_name_for(spec.id).removesuffix("Env")

    params = dict(spec.params)
    if spec.max_cycles is not None:
        if "max_cycles" in params:
            error(
                ("params", "max_cycles"),
                "'max_cycles' is the param that `max_cycles:` makes",
                "remove the param; `max_cycles: N` gives it its default",
                "name",
            )
        params["max_cycles"] = ParamSpec(
            default=spec.max_cycles, ge=1, doc="every agent is truncated after this many steps"
        )

    globals_: dict[str, Symbol] = {}
    owners: dict[str, str] = {}

    def declare(name: str, kind: str, t: T, path: tuple) -> None:
        if (
            (name in MULTIAGENT_RESERVED and (kind, name) not in _BUILT_IN)
            or name in BUILTINS
            or name in CONSTANTS
            or name == class_name
        ):
            error(
                path,
                f"the name '{name}' is reserved by envgen or the language",
                "choose another name",
                "name",
            )
            return
        if name in owners:
            error(path, f"'{name}' is already defined as a {owners[name]}", "rename one", "name")
            return
        owners[name] = kind
        globals_[name] = Symbol(name, kind, t)

    for name, param in params.items():
        path = ("params", name) if name in spec.params else ("max_cycles",)
        declare(name, "param", param_type(param), path)
        check_param_default(checker, name, param)
    for name, value in spec.constants.items():
        t = data_type(value)
        if t.dtype == "any":
            error(
                ("constants", name),
                "a constant must be a number, string, list of numbers/strings (rectangular) "
                "or a mapping of them",
                "give every row of a table the same length",
                "type",
            )
        declare(name, "const", t, ("constants", name))

    # Roles: the spec's own, or one implicit role holding `agents:`.
    role_specs: list[tuple[str, Any, tuple]] = []
    if spec.roles:
        role_specs = [(n, r, ("roles", n)) for n, r in spec.roles.items()]
    else:
        role_specs = [("", None, ())]

    def role_value(role: Any, key: str) -> tuple[Any, tuple]:
        """A role's own value of `key`, else the top-level one, with its spec path."""
        own = getattr(role, key) if role is not None else None
        if own is not None:
            return own, (*role_path, key)
        return getattr(spec, key), (key,)

    # Spaces and labels (per role).
    labels: dict[str, int] = {}
    role_spaces: list[tuple[SpaceModel, SpaceModel]] = []
    for role_name, role, role_path in role_specs:
        act_spec, act_path = role_value(role, "action_space")
        obs_spec, obs_path = role_value(role, "observation_space")
        pairs = (("action_space", act_spec), ("observation_space", obs_spec))
        missing = [k for k, v in pairs if v is None]
        for key in missing:
            where = f"role '{role_name}'" if role_name else "the spec"
            error(
                role_path or (),
                f"{where} has no {key}",
                f"give `{key}:` at the top level (shared) or in the role",
                "spec",
            )
        if missing:
            continue
        action_space = build_space(checker, act_spec, act_path)
        observation_space = build_space(checker, obs_spec, obs_path)
        role_spaces.append((action_space, observation_space))
        if action_space.labels:
            start = action_space.args.get("start")
            start_value = (
                start.expr.value
                if start is not None and isinstance(start.expr, ast.Constant)
                else 0
            )
            for i, label in enumerate(action_space.labels):
                key = label.upper()
                value = int(start_value) + i
                if key in labels:
                    if labels[key] != value:
                        error(
                            (*act_path, "labels", i),
                            f"the label '{label}' means {labels[key]} in another role",
                            "give the same action the same place in every role, or rename it",
                            "labels",
                        )
                    continue
                labels[key] = value
                declare(key, "label", INT, (*act_path, "labels", i))
    if checker.diagnostics:
        raise DiagnosticError(_unique(checker.diagnostics))

    root = Scope(globals_)
    # Agent counts (expressions of params) and the number of agents as a length.
    counts: list[tuple[list[str] | None, Code | None, str]] = []
    total: Any = 0
    named: dict[str, str] = {}  # agent name (or counted prefix) -> the role that has it

    def claim(name: str, role_name: str, where: tuple) -> None:
        """Two roles may not give an agent the same name (a fixed name, or `prefix_i`)."""
        other = named.setdefault(name, role_name)
        if other != role_name:
            error(
                where,
                f"role '{role_name}' names an agent '{name}', as role '{other}' does",
                "rename the agent, or give the counted role another `prefix`",
                "name",
            )

    for role_name, role, role_path in role_specs:
        agents = role.agents if role is not None else spec.agents
        where = (*role_path, "agents") if role is not None else ("agents",)
        if isinstance(agents, AgentCount) and role is not None:
            prefix = agents.prefix or role_name or DEFAULT_PREFIX
            claim(f"{prefix}_*", role_name, where)  # two counted roles, one prefix
        elif role is not None:
            for name in agents:
                claim(name, role_name, where)
        if isinstance(agents, AgentCount):
            code = checker.parse_expr(agents.count, (*where, "count"))
            checker.check_expr(code, root, random=False)
            if code.type.kind not in ("int", "any") or not code.type.is_scalar:
                error(code.path, "an agent count must be an integer", "e.g. 3, or a param", "type")
            value = checker.consts.get(id(code.expr))
            default = _default_count(spec, code)
            if isinstance(value, int) and value < 1:
                error(
                    code.path,
                    f"an agent count must be at least 1, got {value}",
                    "a game needs at least one agent",
                    "range",
                )
            elif isinstance(value, int) and value > MAX_AGENTS:
                error(
                    code.path,
                    f"an agent count must be at most {MAX_AGENTS}, got {value}",
                    "each agent gets its own name, spaces and dict entries when the env is made",
                    "range",
                )
            elif default is not None and not 1 <= default <= MAX_AGENTS:
                # the defaults are known now: the env made with them would refuse to start
                error(
                    code.path,
                    f"with the default params the agent count is {default}; it must be "
                    f"between 1 and {MAX_AGENTS}",
                    f"change the default of {_params_named(code)}, and bound it with "
                    f"ge: 1, le: {MAX_AGENTS}",
                    "range",
                )
            counts.append((None, code, agents.prefix or role_name or DEFAULT_PREFIX))
            total = None if not isinstance(value, int) or total is None else total + value
        else:
            counts.append((list(agents), None, ""))
            total = None if total is None else total + len(agents)
    # Counted names that a count known at build time makes (`prey_0`, ...) against fixed
    # ones; counts that the params decide are checked when the env is made.
    for (role_name, role, role_path), (_names, code, prefix) in zip(
        role_specs, counts, strict=True
    ):
        value = checker.consts.get(id(code.expr)) if code is not None else None
        if role is not None and isinstance(value, int) and value <= 1000:
            for i in range(value):
                claim(f"{prefix}_{i}", role_name, (*role_path, "agents"))
    n_dim = total if isinstance(total, int) else sym("num_agents")
    live_type = T("bool", (n_dim,))

    # num_agents: an int, known once the params are.
    declare("num_agents", "let", INT, ())
    lets: dict[str, Code] = {}
    for name, value in spec.let.items():
        code = checker.parse_expr(value, ("let", name))
        checker.check_expr(code, root, random=False)
        declare(name, "let", code.type, ("let", name))
        lets[name] = code

    for space_pair in role_spaces:
        for space in space_pair:
            check_space_codes(checker, space, root)

    for name in spec.functions:
        declare(name, "function", ANY, ("functions", name))
    for name, fn in spec.functions.items():
        fn_scope = Scope({a: Symbol(a, "arg", ANY) for a in fn.args}, root)
        body = checker.parse_block(fn.body, ("functions", name, "body"))
        fn_locals: dict[str, Symbol] = {}
        defined = checker.check_block(body, fn_scope, set(fn.args), {}, fn_locals)
        returns = checker.parse_expr(fn.returns, ("functions", name, "return"))
        checker._path = returns.path
        if returns.expr is not None and not checker.refused(returns.expr, returns.path):
            checker._random, checker._names = False, set()
            returns.type = checker.expr(returns.expr, fn_scope, defined)
            returns.random, returns.names = checker._random, set(checker._names)
        check_locals_read(checker, body, fn_locals, [body, returns])
        checker.functions[name] = FunctionModel(name, list(fn.args), body, returns)
        if name in globals_:
            globals_[name].type = returns.type

    # State: shared and per-agent, initial values in declaration order.
    agent_symbol = Symbol("agent", "special", INT)
    steps_symbol = Symbol("elapsed_steps", "special", INT)
    live_symbol = Symbol("live", "special", live_type)
    state_scope = Scope({}, root)
    init_scope = Scope({}, root)
    agent_init_scope = Scope({"agent": agent_symbol}, init_scope)
    state_types: dict[str, T] = {}
    states: dict[str, StateModel] = {}
    per_agent: set[str] = set()
    for name, var in spec.state.items():
        shape_codes, dims = [], []
        for i, dim in enumerate(var.shape):
            code = checker.parse_expr(dim, ("state", name, "shape", i))
            checker.check_expr(code, root, random=False)
            if code.type.kind not in ("int", "any") or not code.type.is_scalar:
                error(code.path, "a shape entry must be an integer", "", "type")
            dims.append(checker.dim_of(code.expr))
            shape_codes.append(code)
        check_size(checker, dims, ("state", name, "shape"), shape_codes)
        element = scalar_type(var.dtype) if not var.shape else T(var.dtype, tuple(dims))
        t = T(var.dtype, (n_dim, *dims)) if var.per_agent else element
        if name in owners:
            error(("state", name), f"'{name}' is already defined as a {owners[name]}", "", "name")
        elif name in MULTIAGENT_RESERVED or name in BUILTINS or name in CONSTANTS:
            error(
                ("state", name),
                f"the name '{name}' is reserved by envgen or the language",
                "choose another name",
                "name",
            )
        owners.setdefault(name, "state")
        init = checker.parse_expr(var.init, ("state", name, "init"))
        checker._allow_options = True
        checker.check_expr(init, agent_init_scope if var.per_agent else init_scope)
        checker._allow_options = False
        if init.type.dtype != "any":
            checker._path = init.path
            checker._check_state_assign(name, element, init.type, init.expr)
        symbol = Symbol(name, "state", t)
        init_scope.symbols[name] = symbol
        state_scope.symbols[name] = symbol
        state_types[name] = t
        if var.per_agent:
            per_agent.add(name)
        plain = StateVarSpec(dtype=var.dtype, shape=var.shape, init=var.init, doc=var.doc)
        states[name] = StateModel(name, plain, t, shape_codes, init)

    specials = {"elapsed_steps": steps_symbol, "live": live_symbol}

    # reset
    reset_scope = Scope(dict(specials), state_scope)
    reset_code = checker.parse_block(spec.reset, ("reset",))
    checker._allow_options = True
    reset_locals: dict[str, Symbol] = {}
    checker.check_block(
        reset_code, Scope({}, reset_scope), set(state_types), state_types, reset_locals
    )
    checker._allow_options = False
    check_locals_read(checker, reset_code, reset_locals, [reset_code])

    # The shared step block runs after every agent's act; it sees state, not actions.
    step_base = Scope(dict(specials), state_scope)
    step_scope = Scope({}, step_base)
    step_code = checker.parse_block(spec.step, ("step",))
    step_locals: dict[str, Symbol] = {}
    defined = checker.check_block(step_code, step_scope, set(state_types), state_types, step_locals)

    read_after: list[Code] = [step_code]
    roles: list[RoleModel] = []
    obs_scope = Scope({**specials, "agent": agent_symbol}, state_scope)
    for (role_name, role, role_path), (action_space, observation_space), count in zip(
        role_specs, role_spaces, counts, strict=True
    ):
        action_type = space_action_type(action_space)
        act_text, act_path = role_value(role, "act")
        act_symbols = {
            **specials,
            "agent": agent_symbol,
            "action": Symbol("action", "action", action_type),
        }
        act_code = checker.parse_block(act_text or "", act_path)
        act_locals: dict[str, Symbol] = {}
        checker.check_block(
            act_code,
            Scope({}, Scope(act_symbols, state_scope)),
            set(state_types),
            state_types,
            act_locals,
        )
        check_locals_read(checker, act_code, act_locals, [act_code])

        obs_value, obs_path = role_value(role, "observation")
        if obs_value is None:
            error(role_path or (), "no `observation`", "say what each agent sees", "spec")
            obs_value = 0
        observation = build_observation(checker, obs_value, observation_space, obs_scope, obs_path)

        agent_scope = Scope({**specials, "agent": agent_symbol}, state_scope)
        after = Scope(dict(step_scope.symbols), agent_scope)
        term_value, term_path = role_value(role, "terminated")
        terminated = checker.parse_expr(term_value, term_path)
        checker.check_expr(terminated, after, random=False)
        check_defined(checker, terminated, step_locals, defined)
        if terminated.type.dtype != "any" and (
            not terminated.type.is_scalar or not terminated.type.is_numeric
        ):
            error(
                term_path,
                f"terminated must be a scalar condition, got {terminated.type.describe()}",
                "one agent's flag, e.g. `pos[agent] == goal`",
                "type",
            )
        after.symbols["terminated"] = Symbol("terminated", "special", BOOL)
        reward_value, reward_path = role_value(role, "reward")
        reward = checker.parse_expr(reward_value, reward_path)
        checker.check_expr(reward, after, random=False)
        check_defined(checker, reward, step_locals, defined)
        if reward.type.dtype != "any" and (not reward.type.is_scalar or not reward.type.is_numeric):
            error(
                reward_path,
                f"reward must be a scalar number, got {reward.type.describe()}",
                "one agent's reward, e.g. `1.0 if caught[agent] else 0.0`",
                "reward",
            )
        info_values, info_path = role_value(role, "info")
        info: dict[str, Code] = {}
        reset_info: list[str] = []
        for key, value in (info_values or {}).items():
            code = checker.parse_expr(value, (*info_path, key))
            checker.check_expr(code, after, random=False)
            check_defined(checker, code, step_locals, defined)
            info[key] = code
            if not (code.names & (set(step_locals) | {"terminated"})):
                reset_info.append(key)
        mask_value, mask_path = role_value(role, "action_mask")
        mask = None
        if mask_value is not None:
            mask = (
                list_code(checker, mask_value, mask_path)
                if isinstance(mask_value, list)
                else checker.parse_expr(mask_value, mask_path)
            )
            checker.check_expr(mask, obs_scope, random=False)
            _check_mask(checker, mask, action_space, mask_path)
        rejoin_value, rejoin_path = role_value(role, "rejoin")
        rejoin_when = rejoin_times = None
        if rejoin_value is not None:
            if spec.turns is not None:
                error(
                    rejoin_path,
                    "agents come back (`rejoin`) in simultaneous games only",
                    "remove `rejoin`, or `turns` to make the game simultaneous",
                    "spec",
                )
            rejoin_when = checker.parse_expr(rejoin_value.when, (*rejoin_path, "when"))
            checker.check_expr(rejoin_when, obs_scope, random=False)
            rejoin_times = checker.parse_expr(rejoin_value.times, (*rejoin_path, "times"))
            checker.check_expr(rejoin_times, root, random=False)
            checks = (
                (
                    rejoin_when,
                    "numeric",
                    "a condition",
                    "e.g. `elapsed_steps - left_at[agent] >= 2`",
                ),
                (rejoin_times, "int", "an integer", "e.g. 2, or a param"),
            )
            for code, kind, what, hint in checks:
                t_ = code.type
                ok = t_.is_numeric if kind == "numeric" else t_.kind in ("int", "any")
                if t_.dtype != "any" and (not t_.is_scalar or not ok):
                    error(code.path, f"`rejoin` needs {what}, got {t_.describe()}", hint, "type")
            value = checker.consts.get(id(rejoin_times.expr))
            default = None if isinstance(value, int) else _default_count(spec, rejoin_times)
            if isinstance(value, int) and value < 0:
                error(rejoin_times.path, f"`times` must be at least 0, got {value}", "", "range")
            elif isinstance(value, int) and value >= MAX_AGENTS:
                # each return is one more agent name, made when the env is made
                error(
                    rejoin_times.path,
                    f"`times` must lie between 0 and {MAX_AGENTS - 1}, got {value}",
                    "each return gives the agent one more name in possible_agents",
                    "range",
                )
            elif default is not None and not 0 <= default < MAX_AGENTS:
                # the defaults are known now: the env made with them would refuse to start
                error(
                    rejoin_times.path,
                    f"with the default params `times` is {default}; it must lie between 0 "
                    f"and {MAX_AGENTS - 1}",
                    f"change the default of {_params_named(rejoin_times)}, or bound it "
                    "with ge: and le:",
                    "range",
                )
        read_after += [terminated, reward, *info.values()]
        names, count_code, prefix = count
        roles.append(
            RoleModel(
                name=role_name,
                names=names,
                count=count_code,
                prefix=prefix,
                action_space=action_space,
                observation_space=observation_space,
                action_type=action_type,
                act=act_code,
                observation=observation,
                reward=reward,
                terminated=terminated,
                action_mask=mask,
                info=info,
                reset_info=reset_info,
                rejoin_when=rejoin_when,
                rejoin_times=rejoin_times,
            )
        )
    check_locals_read(checker, step_code, step_locals, read_after)
    if not checker.diagnostics:
        _check_rejoin_names(checker, spec, roles)

    turns_first = turns_next = None
    if spec.turns is not None:
        turn_scope = Scope(dict(specials), state_scope)
        turns_first = checker.parse_expr(spec.turns.first, ("turns", "first"))
        checker.check_expr(turns_first, turn_scope, random=True)
        next_scope = Scope({**specials, "agent": agent_symbol}, state_scope)
        turns_next = checker.parse_expr(spec.turns.next, ("turns", "next"))
        checker.check_expr(turns_next, next_scope, random=False)
        for code in (turns_first, turns_next):
            if code.type.dtype != "any" and (code.type.kind != "int" or not code.type.is_scalar):
                error(
                    code.path,
                    f"a turn is an agent's index (an integer), got {code.type.describe()}",
                    "e.g. `1 - agent` or `(agent + 1) % num_agents`",
                    "type",
                )

    global_space = global_value = None
    if spec.global_state is not None:
        global_space = build_space(checker, spec.global_state.space, ("global_state", "space"))
        check_space_codes(checker, global_space, root)
        global_value = build_observation(
            checker,
            spec.global_state.value,
            global_space,
            Scope(dict(specials), state_scope),
            ("global_state", "value"),
        )

    ansi = rgb = None
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
            rgb = render_code(checker, spec.render.rgb_array, Scope(dict(specials), state_scope))

    if checker.diagnostics:
        raise DiagnosticError(_unique(checker.diagnostics))

    model = MultiAgentModel(
        spec=spec,
        document=document,
        source_hash=hashlib.sha256(document.path.read_bytes()).hexdigest(),
        class_name=class_name,
        module_name=module_name_for(spec.id),
        params=params,
        constants=dict(spec.constants),
        labels=labels,
        lets=lets,
        functions=checker.functions,
        roles=roles,
        state=states,
        per_agent=per_agent,
        reset=reset_code,
        step=step_code,
        turns_first=turns_first,
        turns_next=turns_next,
        global_space=global_space,
        global_value=global_value,
        ansi=ansi,
        rgb_array=rgb,
        symbols=checker.symbols,
        types=checker.types,
        int64_operands=checker.int64_operands,
        read_copies=checker.read_copies,
        shape_checks=checker.shape_checks,
        param_types={n: param_storage_type(p) for n, p in params.items()},
    )
    model.types = {key: erase(t) for key, t in model.types.items()}
    for symbol in model.symbols.values():
        symbol.type = erase(symbol.type)
    for code in model.codes():
        code.type = erase(code.type)
    return model


def _check_mask(checker: Any, mask: Code, space: SpaceModel, path: tuple) -> None:
    if space.kind != "Discrete":
        checker.error(
            path,
            f"action masks are for Discrete action spaces, not {space.kind}",
            "use a Discrete action space, or leave the mask out",
            "type",
        )
        return
    if isinstance(mask.expr, (ast.List, ast.Tuple)):
        for element in mask.expr.elts:
            value = element
            negative = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
            if negative:
                value = value.operand  # type: ignore[attr-defined]
            if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)):
                number = -value.value if negative else value.value
                if number not in (0, 1):
                    checker.error(
                        path,
                        f"an action mask holds 0 or 1 (or false / true) per action, not {number!r}",
                        "write 1 for an action the agent may take, 0 for one it may not",
                        "type",
                    )
                    return
    t = mask.type
    if t.dtype == "any":
        return
    if not t.is_numeric or t.shape is None or len(t.shape) != 1:
        checker.error(
            path,
            f"an action mask is a 1-D array of 0/1 (one per action), got {t.describe()}",
            "e.g. `board == 0` or `[1, 1, can_jump]`",
            "type",
        )
        return
    n = space.args["n"]
    want = checker.dim_of(n.expr)
    got = t.shape[0]
    verdict = dim_equal(want, got)
    if verdict is False:  # the lengths differ, whatever the params (e.g. k + 1 against k)
        checker.error(
            path,
            f"the action mask has {got} entries but there are {want} actions",
            "give one 0/1 per action",
            "type",
        )
    elif verdict is None and want is not None and got is not None:
        # Lengths only the param values decide: checked once when the env is made.
        checker.shape_checks.append(
            ShapeCheck("the action mask", (got,), (want,), str(checker.document.location(path)))
        )


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Code a role inherits is checked once per role; report each problem once."""
    seen, out = set(), []
    for d in diagnostics:
        key = (str(d.location), d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
