"""The typed model the analysis hands the backends (the IR).

Every piece of spec code is a `Code` (a checked `ast` tree with its spec path); each name
node is resolved to a `Symbol` and each expression node has a type (`EnvModel.symbols` and
`EnvModel.types`, keyed by node id). Backends only print this model.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from envgen.compiler.load import Document
from envgen.compiler.spec import EnvSpec, ParamSpec, StateVarSpec
from envgen.compiler.types import ANY, Dim, T

BINARY_OPERATORS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}


@dataclass
class Symbol:
    name: str
    kind: str  # param, let, const, label, state, local, loop, action, special, function, arg
    type: T


@dataclass
class Code:
    """A parsed expression (`expr`) or block (`stmts`) with its spec path."""

    path: tuple[str | int, ...]
    expr: ast.expr | None = None
    stmts: list[ast.stmt] = field(default_factory=list)
    type: T = ANY
    random: bool = False
    names: set[str] = field(default_factory=set)


@dataclass
class SpaceModel:
    kind: str
    path: tuple[str | int, ...]
    args: dict[str, Any] = field(default_factory=dict)  # values are Code or lists of Code
    children: list[tuple[str | int, SpaceModel]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    dtype: str = ""
    shape: tuple[int | None, ...] | None = None


@dataclass
class ObservationModel:
    space: SpaceModel
    code: Code | None = None
    children: list[tuple[str | int, ObservationModel]] = field(default_factory=list)
    #: where the spec writes this part, when its shape depends on values the analysis cannot
    #: follow (`flatnonzero(...)`, a slice by state): the env checks it each time it is made
    check_shape_at: str | None = None


@dataclass
class StateModel:
    name: str
    spec: StateVarSpec
    type: T
    shape: list[Code]
    init: Code
    #: the type with its lengths as polynomials of params (`type` has them erased), for
    #: messages: "float64 array of shape (lead_time,)"
    symbolic: T | None = None


@dataclass
class ShapeCheck:
    """A shape the analysis could not decide alone: `got` must equal `want` once the
    params are known (checked when the env is made)."""

    what: str
    got: tuple[Dim, ...]
    want: tuple[Dim, ...]
    where: str  # file:line:column of the spec value


@dataclass
class SizeCheck:
    """An array (state or space) whose shape is a polynomial of params: checked when the env
    is made that no length is below `minimum` and that it holds at most MAX_ELEMENTS."""

    what: str
    shape: tuple[Dim, ...]
    where: str  # file:line:column of the spec value
    minimum: int = 0  # 1 for spaces: Gymnasium refuses empty ones


@dataclass
class ReshapeCheck:
    """`reshape(x, shape)` where the size of `x` or the shape is a polynomial of params:
    checked when the env is made that the size fits the shape (one -1 may take the rest)."""

    what: str
    size: Dim
    shape: tuple[Dim, ...]
    where: str  # file:line:column of the call


@dataclass
class FunctionVariant:
    """A spec function checked for one list of argument types (as Numba and JAX specialise
    a function per call signature): its own typed copy of the body, printed as `method`."""

    method: str  # the generated method: `_name`, `_name__2`, ...
    arg_types: tuple[T, ...]
    body: Code
    returns: Code

    @property
    def random(self) -> bool:
        return self.body.random or self.returns.random


@dataclass
class FunctionModel:
    name: str
    args: list[str]
    body: Code  # the first variant's (the generic one where there are no variants)
    returns: Code
    variants: list[FunctionVariant] = field(default_factory=list)


@dataclass
class StepVariant:
    """`step` (with terminated, reward and the step's info) typed for one set of state
    types at its entry.

    The single env's scalar state may hold another type after a step than after a reset
    (MountainCarContinuous: a NumPy float64 after reset, a float32 after a step, as in
    Gymnasium). The analysis types the step from the entry types after a reset and, where
    they differ, from those after the first step (as spec functions are typed per
    argument types), each into tables of its own."""

    entry: dict[str, T]  # state name -> the type it holds when the step starts
    end: dict[str, T]  # state name -> the type it holds when the step ends
    types: dict[int, T]  # id(node) -> type, as `EnvModel.types`, for this entry
    operand_dtypes: dict[int, str]  # as `EnvModel.operand_dtypes`, for this entry
    held: dict[int, T]  # as `EnvModel.held`, for this entry


@dataclass
class EnvModel:
    """Everything the emitters need, checked and typed."""

    spec: EnvSpec
    document: Document
    source_hash: str
    class_name: str
    module_name: str
    params: dict[str, ParamSpec]
    constants: dict[str, Any]
    labels: dict[str, int]
    lets: dict[str, Code]
    functions: dict[str, FunctionModel]
    action_space: SpaceModel
    observation_space: SpaceModel
    action_type: T
    state: dict[str, StateModel]
    reset: Code
    step: Code
    observation: ObservationModel
    reward: Code
    terminated: Code
    info: dict[str, Code]
    reset_info: list[str]
    max_episode_steps: Code | None
    ansi: str | None
    rgb_array: Code | None
    symbols: dict[int, Symbol]  # id(ast.Name) -> what the name refers to
    #: id(ast.expr) -> its type (and id of an `x op= y` statement -> its result's type)
    types: dict[int, T]
    vector_notes: list[str]
    uses_random_in_step: bool
    read_copies: list[ast.expr] = field(default_factory=list)  # keeps typed node ids valid
    shape_checks: list[ShapeCheck | SizeCheck] = field(default_factory=list)
    param_types: dict[str, T] = field(default_factory=dict)
    requires: list[Any] = field(default_factory=list)  # _features.RequireModel
    action_mask: list[Code] = field(default_factory=list)  # one int8 code per dimension
    action_mask_check: str | None = None  # where the mask is, when the env checks its length
    constant_types: dict[str, T] = field(default_factory=dict)  # as the analysis typed them
    #: id of an operation (BinOp, `x op= y`, IfExp, min/max/clip/where call; of each
    #: right-hand operand of a comparison) -> the dtype both operands are converted to
    operand_dtypes: dict[int, str] = field(default_factory=dict)
    #: ids of plain-int operands (a literal, an int param or let, int64 scalar state) that
    #: meet a narrow int they may not fit: the operation is int64 (`types.widened`), and the
    #: backends hold these as int64 there, where NEP 50 would take them as the narrow dtype
    int64_operands: set[int] = field(default_factory=set)
    #: id of a name assigned under an `if` whose test differs per env -> the type the name
    #: holds after it (its previous type joined with the value's; the vector env's where())
    held: dict[int, T] = field(default_factory=dict)
    #: ids of the name nodes that hold values differing from env to env where they stand
    #: (an assignment's target: before it is assigned), and of the random draws
    per_env: set[int] = field(default_factory=set)
    #: id of a `for` whose body makes names per env -> those of them bound before the loop
    loop_spreads: dict[int, list[str]] = field(default_factory=dict)
    #: `step` typed per entry state types, where they differ from the declared ones
    #: (empty: `types` holds for every step). Two variants: the first step after a
    #: reset, and every later one.
    step_variants: list[StepVariant] = field(default_factory=list)
    #: whether the state's types after a step are those it entered the last variant with
    #: (False: they do not settle within two steps; no third variant is typed)
    step_types_settle: bool = True

    @property
    def registered_time_limit(self) -> int | None:
        """The time limit Gymnasium's registry gets: only a constant one (the env itself
        truncates at `max_episode_steps` either way, even when it depends on params)."""
        code = self.max_episode_steps
        if code is not None and isinstance(code.expr, ast.Constant):
            value = code.expr.value
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return None

    @property
    def wrappers(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(name, entry point, kwargs) of each Gymnasium wrapper `gym.make` applies."""
        out = []
        for item in self.spec.wrappers:
            name, kwargs = (item, {}) if isinstance(item, str) else next(iter(item.items()))
            out.append((name, f"gymnasium.wrappers:{name}", dict(kwargs or {})))
        return out

    def codes(self) -> list[Code]:
        """Every piece of checked code in the spec, in spec order."""
        out: list[Code] = list(self.lets.values())
        for fn in self.functions.values():
            for variant in fn.variants:
                out += [variant.body, variant.returns]
            if not fn.variants:
                out += [fn.body, fn.returns]
        for var in self.state.values():
            out += [*var.shape, var.init]
        out += [self.reset, self.step]
        stack = [self.observation]
        while stack:
            obs = stack.pop()
            if obs.code is not None:
                out.append(obs.code)
            stack.extend(child for _, child in obs.children)
        out += [self.reward, self.terminated, *self.info.values()]
        out += [c for c in (self.max_episode_steps, self.rgb_array) if c is not None]
        out += [r.check for r in self.requires] + list(self.action_mask)
        return out

    def find_name(self, name: str, exact: ast.AST | None = None) -> tuple[Code, ast.Name] | None:
        """The place in the spec's code of the node `exact`, else the first that mentions
        `name`."""
        first = None
        for code in self.codes():
            roots = [code.expr] if code.expr is not None else code.stmts
            for root in roots:
                for node in ast.walk(root):
                    if node is exact:
                        return code, node  # type: ignore[return-value]
                    if first is None and isinstance(node, ast.Name) and node.id == name:
                        first = code, node
        return first

    @property
    def reads_action(self) -> bool:
        """Whether any code after the action arrives (step, reward, ...) reads it."""
        after = [self.step, self.terminated, self.reward, *self.info.values()]
        return any("action" in code.names for code in after)

    @property
    def stochastic(self) -> bool:
        return (
            self.uses_random_in_step
            or any(s.init.random for s in self.state.values())
            or (self.reset.random)
        )


def class_name_for(env_id: str) -> str:
    name = env_id.split("/")[-1]
    base, _, version = name.rpartition("-v")
    words = re.split(r"[^A-Za-z0-9]+", base)
    camel = "".join(w[:1].upper() + w[1:] for w in words if w)
    if not camel or camel[0].isdigit():
        camel = "Env" + camel
    return f"{camel}V{version}Env" if not camel.endswith("Env") else f"{camel}V{version}"


def module_name_for(env_id: str) -> str:
    name = env_id.replace("/", "_").replace("-", "_").replace(".", "_")
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    snake = re.sub(r"[^a-z0-9_]", "_", snake)
    return snake if snake[0].isalpha() else "env_" + snake
