"""Stage 2: the spec as validated Pydantic models.

Values that are code (expressions and blocks) stay strings here; `analysis` parses them.
Numbers are accepted wherever an expression is, so `high: 1.0` and `high: size` both work.
"""

from __future__ import annotations

import keyword
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

#: An expression of the dynamics language, or a literal number / bool.
Expr = Annotated[
    bool | int | float | str,
    Field(description="A number, or an expression of the dynamics language over params."),
]

ENV_ID = re.compile(r"^(?:[A-Za-z_][\w.-]*/)?[A-Za-z_][\w.-]*?-v\d+$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
Dtype = Literal["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_name(value: str, what: str) -> str:
    if not IDENTIFIER.fullmatch(value):  # not .match: `$` accepts a trailing newline
        raise ValueError(f"{what} '{value}' is not a valid name (letters, digits and _)")
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        raise ValueError(f"{what} '{value}' is a Python keyword")
    if value.startswith("_"):
        raise ValueError(f"{what} '{value}' must not start with '_' (reserved for envgen)")
    return value


# --- spaces -------------------------------------------------------------------------


class BoxArgs(StrictModel):
    low: Expr | list[Expr] = Field(description="Lower bound: one value or one per element.")
    high: Expr | list[Expr] = Field(description="Upper bound: one value or one per element.")
    shape: list[Expr] | None = Field(None, description="Shape; taken from the bounds if omitted.")
    dtype: Dtype = "float32"


class BoxSpace(StrictModel):
    """A Box: `{Box: {low: 0, high: 1, shape: [2], dtype: float32}}`."""

    box: BoxArgs = Field(alias="Box")


class DiscreteArgs(StrictModel):
    n: Expr
    start: Expr = 0


class DiscreteSpace(StrictModel):
    """A Discrete space: `{Discrete: 4}` or `{Discrete: {n: 4, start: 1}, labels: [...]}`."""

    discrete: Expr | DiscreteArgs = Field(alias="Discrete")
    labels: list[str] | None = Field(
        None, description="One name per action; each becomes an upper-case constant."
    )

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[str] | None) -> list[str] | None:
        for label in labels or []:
            _check_name(label, "label")
        if labels is not None and len({label.upper() for label in labels}) != len(labels):
            raise ValueError("labels must be distinct (ignoring case)")
        return labels


class MultiDiscreteArgs(StrictModel):
    nvec: list[Expr]
    start: list[Expr] | None = None


class MultiDiscreteSpace(StrictModel):
    """`{MultiDiscrete: [3, 4]}` or `{MultiDiscrete: {nvec: [3, 4], start: [0, 1]}}`."""

    multi_discrete: list[Expr] | MultiDiscreteArgs = Field(alias="MultiDiscrete")


class MultiBinarySpace(StrictModel):
    """`{MultiBinary: 4}` or `{MultiBinary: [2, 3]}`."""

    multi_binary: Expr | list[Expr] = Field(alias="MultiBinary")


class TextArgs(StrictModel):
    max_length: Expr
    min_length: Expr = 1
    charset: str | None = Field(None, description="Allowed characters; alphanumerics if omitted.")


class TextSpace(StrictModel):
    """`{Text: {max_length: 8, charset: abc}}`."""

    text: TextArgs = Field(alias="Text")


class DictSpace(StrictModel):
    """`{Dict: {position: {Box: ...}, goal: {Discrete: 4}}}`."""

    dict_: dict[str, SpaceSpec] = Field(alias="Dict")

    @field_validator("dict_")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            _check_name(key, "Dict key")
        return value


class TupleSpace(StrictModel):
    """`{Tuple: [{Discrete: 2}, {Box: ...}]}`."""

    tuple_: list[SpaceSpec] = Field(alias="Tuple")


class SequenceArgs(StrictModel):
    space: SpaceSpec
    stack: bool = False


class SequenceSpace(StrictModel):
    """`{Sequence: {space: {Box: ...}, stack: true}}`."""

    sequence: SequenceArgs = Field(alias="Sequence")


class GraphArgs(StrictModel):
    node_space: SpaceSpec
    edge_space: SpaceSpec | None = None


class GraphSpace(StrictModel):
    """`{Graph: {node_space: {Box: ...}, edge_space: {Discrete: 3}}}`."""

    graph: GraphArgs = Field(alias="Graph")


class OneOfSpace(StrictModel):
    """`{OneOf: [{Discrete: 3}, {Box: ...}]}`."""

    one_of: list[SpaceSpec] = Field(alias="OneOf")


SPACE_KINDS = {
    "Box": BoxSpace,
    "Discrete": DiscreteSpace,
    "MultiDiscrete": MultiDiscreteSpace,
    "MultiBinary": MultiBinarySpace,
    "Text": TextSpace,
    "Dict": DictSpace,
    "Tuple": TupleSpace,
    "Sequence": SequenceSpace,
    "Graph": GraphSpace,
    "OneOf": OneOfSpace,
}


def _space_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        for kind, model in SPACE_KINDS.items():
            if isinstance(value, model):
                return kind
        return None
    if isinstance(value, dict):
        kinds = [key for key in value if key in SPACE_KINDS]
        return kinds[0] if len(kinds) == 1 else None
    return None


SpaceSpec = Annotated[
    Annotated[BoxSpace, Tag("Box")]
    | Annotated[DiscreteSpace, Tag("Discrete")]
    | Annotated[MultiDiscreteSpace, Tag("MultiDiscrete")]
    | Annotated[MultiBinarySpace, Tag("MultiBinary")]
    | Annotated[TextSpace, Tag("Text")]
    | Annotated[DictSpace, Tag("Dict")]
    | Annotated[TupleSpace, Tag("Tuple")]
    | Annotated[SequenceSpace, Tag("Sequence")]
    | Annotated[GraphSpace, Tag("Graph")]
    | Annotated[OneOfSpace, Tag("OneOf")],
    Discriminator(
        _space_kind,
        custom_error_type="space_kind",
        custom_error_message="a space is a mapping with exactly one of the keys "
        + ", ".join(SPACE_KINDS),
    ),
]


# --- the rest of a spec -------------------------------------------------------------


class ParamSpec(StrictModel):
    """A constructor argument with a default; overridable per instance."""

    default: Any = Field(description="The default value; its type is the param's type.")
    type: Literal["int", "float", "bool", "str", "list"] | None = Field(
        None, description="Type; inferred from `default` when omitted."
    )
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: list[Any] | None = None
    nullable: bool = Field(False, description="Whether None is accepted.")
    doc: str = ""

    @model_validator(mode="after")
    def _type(self) -> ParamSpec:
        if self.type is None:
            default = self.default
            if isinstance(default, bool):
                inferred = "bool"
            elif isinstance(default, int):
                inferred = "int"
            elif isinstance(default, float):
                inferred = "float"
            elif isinstance(default, str):
                inferred = "str"
            elif isinstance(default, list):
                inferred = "list"
            else:
                raise ValueError("give the param a `type` (int, float, bool, str or list)")
            object.__setattr__(self, "type", inferred)
        if self.default is None:
            object.__setattr__(self, "nullable", True)
        return self

    @property
    def param_type(self) -> str:
        assert self.type is not None
        return self.type


class StateVarSpec(StrictModel):
    """A state variable: scalar when `shape` is empty."""

    dtype: Dtype = "float64"
    shape: list[Expr] = Field(default_factory=list)
    init: Expr = Field(0, description="Initial value at reset; may draw randomness.")
    doc: str = ""


class FunctionSpec(StrictModel):
    """A pure helper: `{args: [row, col], return: row * ncol + col}`."""

    args: list[str] = Field(default_factory=list)
    body: str = Field("", description="Statements run before `return` (locals only).")
    returns: Expr = Field(alias="return")

    @field_validator("args")
    @classmethod
    def _args(cls, args: list[str]) -> list[str]:
        for arg in args:
            _check_name(arg, "argument")
        return args


class RenderSpec(StrictModel):
    ansi: str | None = Field(None, description="A Jinja2 template over the state (sandboxed).")
    rgb_array: str | None = Field(
        None, description="A block that sets `frame`, a uint8 H×W×3 image (or an expression)."
    )
    human: bool = Field(False, description="Offer 'human' mode (prints ansi / shows frames).")
    fps: int = Field(30, ge=1, le=1000)


WRAPPERS = (
    "ClipAction",
    "RescaleAction",
    "TimeAwareObservation",
    "FlattenObservation",
    "NormalizeObservation",
    "NormalizeReward",
    "ClipReward",
    "TransformObservation",
    "FrameStackObservation",
    "RecordEpisodeStatistics",
    "DtypeObservation",
)


class HooksSpec(StrictModel):
    """Trusted Python functions `module:function` called as `fn(env)` after reset / step."""

    after_reset: str | None = None
    after_step: str | None = None

    @field_validator("after_reset", "after_step")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        # fullmatch: `$` alone would accept a trailing newline.
        if value is not None and not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*", value
        ):
            raise ValueError(f"hook '{value}' must have the form package.module:function")
        return value


class EnvSpec(StrictModel):
    """One environment."""

    id: str = Field(description="Gymnasium id `namespace/Name-vN`.")
    description: str = ""
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(
        default_factory=dict, description="Data tables (numbers, strings, lists, mappings)."
    )
    let: dict[str, Expr] = Field(
        default_factory=dict, description="Values computed once from params."
    )
    functions: dict[str, FunctionSpec] = Field(default_factory=dict)
    action_space: SpaceSpec
    observation_space: SpaceSpec
    state: dict[str, StateVarSpec] = Field(default_factory=dict)
    reset: str = Field("", description="A block run at reset after the state's `init` values.")
    step: str = Field(description="A block run at every step.")
    observation: Any = Field(
        description="An expression, or a list / mapping of them matching the space."
    )
    reward: Expr = 0.0
    terminated: Expr = False
    info: dict[str, Expr] = Field(default_factory=dict)
    max_episode_steps: Expr | None = None
    render: RenderSpec | None = None
    wrappers: list[str | dict[str, dict[str, Any]]] = Field(default_factory=list)
    hooks: HooksSpec | None = None
    vectorize: bool = Field(True, description="Emit a native NumPy VectorEnv when possible.")
    invalid_action: Literal["raise", "clip", "ignore"] = Field(
        "raise",
        description="Default for actions outside the action space: raise an error, clip them "
        "into the space, or pass them to `step` as they are. Overridable per instance.",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ENV_ID.fullmatch(value):
            raise ValueError(f"'{value}' is not a Gymnasium id; use the form namespace/Name-v0")
        return value

    @field_validator("params", "state", "let", "functions", "constants", "info")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            _check_name(key, "name")
        return value

    @field_validator("wrappers")
    @classmethod
    def _wrappers(cls, value: list[Any]) -> list[Any]:
        for item in value:
            names = [item] if isinstance(item, str) else list(item)
            if len(names) != 1:
                raise ValueError("each wrapper is a name or a mapping {Name: {arg: value}}")
            if names[0] not in WRAPPERS:
                raise ValueError(f"unknown wrapper '{names[0]}'; known: {', '.join(WRAPPERS)}")
        return value


DictSpace.model_rebuild()
TupleSpace.model_rebuild()
SequenceArgs.model_rebuild()
GraphArgs.model_rebuild()
OneOfSpace.model_rebuild()
EnvSpec.model_rebuild()
