"""Stage 2: the spec as validated Pydantic models.

Values that are code (expressions and blocks) stay strings here; `analysis` parses them.
Numbers are accepted wherever an expression is, so `high: 1.0` and `high: size` both work.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
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

# ASCII only: with Unicode \w and \d, `Hijack-v١` (an Arabic-Indic digit) was a second id
# that Gymnasium parses as version 1, and homoglyphs (Cyrillic а for Latin a) look the same.
ENV_ID = re.compile(r"^(?:[A-Za-z_][\w.-]*/)?[A-Za-z_][\w.-]*?-v\d+$", re.ASCII)
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
    """Arguments of a Box space."""

    low: Expr | list[Expr] = Field(
        description="Lower bound: one value or one per element.",
        examples=[0, "-size", [-1, "-inf"]],
    )
    high: Expr | list[Expr] = Field(
        description="Upper bound: one value or one per element.",
        examples=[1, "size", [1, "inf"]],
    )
    shape: list[Expr] | None = Field(
        None,
        description="Shape; taken from the bounds if omitted.",
        examples=[[2], ["image_size", "image_size", 3]],
    )
    dtype: Dtype = Field(
        "float32", description="NumPy dtype of the elements.", examples=["float32", "uint8"]
    )


class BoxSpace(StrictModel):
    """A Box: `{Box: {low: 0, high: 1, shape: [2], dtype: float32}}`."""

    box: BoxArgs = Field(
        alias="Box",
        description="A (possibly unbounded) box in R^n.",
        examples=[{"low": 0, "high": 1, "shape": [2], "dtype": "float32"}],
    )


class DiscreteArgs(StrictModel):
    """Arguments of a Discrete space."""

    n: Expr = Field(description="Number of elements.", examples=[6, "size"])
    start: Expr = Field(0, description="The smallest element.", examples=[0, 1])


class DiscreteSpace(StrictModel):
    """A Discrete space: `{Discrete: 4}` or `{Discrete: {n: 4, start: 1}, labels: [...]}`."""

    discrete: Expr | DiscreteArgs = Field(
        alias="Discrete",
        description="The number of elements `n`, or `{n, start}`.",
        examples=[4, {"n": 6, "start": 1}],
    )
    labels: list[str] | None = Field(
        None,
        description="One name per action; each becomes an upper-case constant.",
        examples=[["left", "right"]],
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
    """Arguments of a MultiDiscrete space."""

    nvec: list[Expr] | str = Field(
        description="Number of values of each element: a list, or one expression of params "
        "for a whole array.",
        examples=[[3, 4], "full(n_products, max_order + 1)"],
    )
    start: list[Expr] | str | None = Field(
        None, description="Smallest value of each element.", examples=[[0, 1], "zeros(n)"]
    )


class MultiDiscreteSpace(StrictModel):
    """`{MultiDiscrete: [3, 4]}` or `{MultiDiscrete: {nvec: [3, 4], start: [0, 1]}}`."""

    multi_discrete: list[Expr] | MultiDiscreteArgs | str = Field(
        alias="MultiDiscrete",
        description="One Discrete per element: `nvec` (a list, or an expression of params "
        "such as `full(n, 3)`), or `{nvec, start}`.",
        examples=[[3, 3], {"nvec": [3, 4], "start": [0, 1]}, "full(n, 3)"],
    )


class MultiBinarySpace(StrictModel):
    """`{MultiBinary: 4}` or `{MultiBinary: [2, 3]}`."""

    multi_binary: Expr | list[Expr] = Field(
        alias="MultiBinary",
        description="Number (or shape) of binary elements.",
        examples=[4, [2, 3]],
    )


class TextArgs(StrictModel):
    """Arguments of a Text space."""

    max_length: Expr = Field(description="Longest string.", examples=[8])
    min_length: Expr = Field(1, description="Shortest string.", examples=[1, 0])
    charset: str | None = Field(
        None, description="Allowed characters; alphanumerics if omitted.", examples=["abc", "01"]
    )


class TextSpace(StrictModel):
    """`{Text: {max_length: 8, charset: abc}}`."""

    text: TextArgs = Field(
        alias="Text",
        description="Strings over a character set.",
        examples=[{"max_length": 8, "charset": "abc"}],
    )


class DictSpace(StrictModel):
    """`{Dict: {position: {Box: ...}, goal: {Discrete: 4}}}`."""

    dict_: dict[str, SpaceSpec] = Field(
        alias="Dict",
        description="Named sub-spaces.",
        examples=[
            {"position": {"Box": {"low": -1, "high": 1, "shape": [2]}}, "goal": {"Discrete": 4}}
        ],
    )

    @field_validator("dict_")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            _check_name(key, "Dict key")
        return value


class TupleSpace(StrictModel):
    """`{Tuple: [{Discrete: 2}, {Box: ...}]}`."""

    tuple_: list[SpaceSpec] = Field(
        alias="Tuple",
        description="Sub-spaces in order.",
        examples=[[{"Discrete": 3}, {"Box": {"low": 0, "high": 1, "shape": [2]}}]],
    )


class SequenceArgs(StrictModel):
    """Arguments of a Sequence space."""

    space: SpaceSpec = Field(description="The space of each element.", examples=[{"Discrete": 4}])
    stack: bool = Field(
        False, description="Stack elements into one array instead of a tuple.", examples=[True]
    )


class SequenceSpace(StrictModel):
    """`{Sequence: {space: {Box: ...}, stack: true}}`."""

    sequence: SequenceArgs = Field(
        alias="Sequence",
        description="Variable-length sequences of elements of one space.",
        examples=[{"space": {"Discrete": 4}, "stack": False}],
    )


class GraphArgs(StrictModel):
    """Arguments of a Graph space."""

    node_space: SpaceSpec = Field(
        description="Space of each node's features (Box or Discrete).",
        examples=[{"Box": {"low": 0, "high": 1, "shape": [1]}}],
    )
    edge_space: SpaceSpec | None = Field(
        None,
        description="Space of each edge's features; none if omitted.",
        examples=[{"Discrete": 3}],
    )


class GraphSpace(StrictModel):
    """`{Graph: {node_space: {Box: ...}, edge_space: {Discrete: 3}}}`."""

    graph: GraphArgs = Field(
        alias="Graph",
        description="Graphs with node (and optional edge) features.",
        examples=[
            {
                "node_space": {"Box": {"low": 0, "high": 1, "shape": [1]}},
                "edge_space": {"Discrete": 3},
            }
        ],
    )


class OneOfSpace(StrictModel):
    """`{OneOf: [{Discrete: 3}, {Box: ...}]}`."""

    one_of: list[SpaceSpec] = Field(
        alias="OneOf",
        description="A value of exactly one of the sub-spaces, tagged with its index.",
        examples=[[{"Discrete": 3}, {"Box": {"low": 0, "high": 1, "shape": [1]}}]],
    )


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

    default: Any = Field(
        description="The default value; its type is the param's type.", examples=[10, 0.5, True]
    )
    type: Literal["int", "float", "bool", "str", "list"] | None = Field(
        None, description="Type; inferred from `default` when omitted.", examples=["int", "float"]
    )
    ge: float | None = Field(
        None, description="The value must be greater than or equal to this.", examples=[0, 1]
    )
    gt: float | None = Field(None, description="The value must be greater than this.", examples=[0])
    le: float | None = Field(
        None, description="The value must be less than or equal to this.", examples=[100]
    )
    lt: float | None = Field(None, description="The value must be less than this.", examples=[1])
    choices: list[Any] | None = Field(
        None, description="The only values accepted.", examples=[["easy", "hard"], [4, 8]]
    )
    nullable: bool = Field(False, description="Whether None is accepted.", examples=[True])
    doc: str = Field(
        "",
        description="What the param means; shown by `envgen show` and the docstring.",
        examples=["number of cells"],
    )

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

    dtype: Dtype = Field(
        "float64", description="NumPy dtype of the variable.", examples=["int64", "float64", "bool"]
    )
    shape: list[Expr] = Field(
        default_factory=list,
        description="Shape; empty (the default) for a scalar.",
        examples=[[], [4], ["size", "size"]],
    )
    init: Expr = Field(
        0,
        description="Initial value at reset; may draw randomness.",
        examples=[0, "size - 1", "uniform(-0.05, 0.05)"],
    )
    doc: str = Field("", description="What the variable means.", examples=["cart position (m)"])


class FunctionSpec(StrictModel):
    """A pure helper: `{args: [row, col], return: row * ncol + col}`."""

    args: list[str] = Field(
        default_factory=list, description="Argument names.", examples=[["row", "col"]]
    )
    body: str = Field(
        "",
        description="Statements run before `return` (locals only).",
        examples=["tx = target % grid_size"],
    )
    returns: Expr = Field(
        alias="return",
        description="The value the function returns: an expression over its arguments, "
        "its body's locals, params and constants.",
        examples=["row * ncol + col"],
    )

    @field_validator("args")
    @classmethod
    def _args(cls, args: list[str]) -> list[str]:
        for arg in args:
            _check_name(arg, "argument")
        repeated = sorted({a for a in args if args.count(a) > 1})
        if repeated:
            raise ValueError(
                f"the argument {repeated[0]!r} is named twice; give each argument its own name"
            )
        return args


class RenderSpec(StrictModel):
    """How the env renders: an ansi template, an rgb_array block, human mode."""

    ansi: str | None = Field(
        None,
        description="A Jinja2 template over the state (sandboxed).",
        examples=["{{ '.' * pos }}x{{ '.' * (size - pos) }}"],
    )
    rgb_array: str | None = Field(
        None,
        description="A block that sets `frame`, a uint8 H×W×3 image (or an expression).",
        examples=["picture(agent_x, agent_y, target)"],
    )
    human: bool = Field(
        False, description="Offer 'human' mode (prints ansi / shows frames).", examples=[True]
    )
    fps: int = Field(
        30,
        ge=1,
        le=1000,
        description="Frames per second for `human` mode and recorded videos.",
        examples=[30, 10],
    )


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

    after_reset: str | None = Field(
        None,
        description="`package.module:function` called as `fn(env)` after reset.",
        examples=["mypackage.hooks:after_reset"],
    )
    after_step: str | None = Field(
        None,
        description="`package.module:function` called as `fn(env)` after each step.",
        examples=["mypackage.hooks:after_step"],
    )

    @field_validator("after_reset", "after_step")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        # fullmatch: `$` alone would accept a trailing newline.
        if value is not None and not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*", value
        ):
            raise ValueError(f"hook '{value}' must have the form package.module:function")
        return value


class RequireSpec(StrictModel):
    """A condition the params must meet, checked when the env is made."""

    check: Expr = Field(
        description="A condition over params, `let` values and constants; the env refuses "
        "params for which it is false.",
        examples=["sum(grid == 3) >= 1", "goal < size"],
    )
    message: str = Field(
        description="What is wrong when the check fails, in the user's terms.",
        examples=["the map needs a goal (G)"],
    )


class EnvSpec(StrictModel):
    """One environment."""

    id: str = Field(
        description="Gymnasium id `namespace/Name-vN`.",
        examples=["envgen/GoLeft-v0", "acme/Warehouse-v2"],
    )
    description: str = Field(
        "",
        description="What the env is about; becomes the generated class's docstring.",
        examples=["The agent starts at the right end of a corridor and must walk to cell 0."],
    )
    params: dict[str, ParamSpec] = Field(
        default_factory=dict,
        description="Constructor arguments with defaults, overridable per instance "
        "(`gym.make(id, size=20)`); usable in every expression, in space bounds and shapes.",
        examples=[{"size": {"default": 10, "ge": 2, "doc": "number of cells"}}],
    )
    constants: dict[str, Any] = Field(
        default_factory=dict,
        description="Data tables (numbers, strings, lists, mappings).",
        examples=[{"desc": ["SFFF", "FHFH", "FFFH", "HFFG"]}],
    )
    let: dict[str, Expr] = Field(
        default_factory=dict,
        description="Values computed once from params.",
        examples=[{"cell": "image_size // grid_size", "gravity": 9.8}],
    )
    functions: dict[str, FunctionSpec] = Field(
        default_factory=dict,
        description="Pure helper functions callable from any code block.",
        examples=[{"index": {"args": ["row", "col"], "return": "row * ncol + col"}}],
    )
    require: list[RequireSpec] = Field(
        default_factory=list,
        description="Conditions on the params (and `let` values), each with a message; the "
        "env refuses to be made with params that break one.",
        examples=[[{"check": "sum(grid == 3) >= 1", "message": "the map needs a goal (G)"}]],
    )
    action_space: SpaceSpec = Field(
        description="The action space; a mapping with exactly one space kind as key.",
        examples=[
            {"Discrete": 2, "labels": ["left", "right"]},
            {"Box": {"low": -1, "high": 1, "shape": [1], "dtype": "float32"}},
        ],
    )
    observation_space: SpaceSpec = Field(
        description="The observation space; bounds and shapes may be expressions of params.",
        examples=[{"Box": {"low": 0, "high": "size", "shape": [1], "dtype": "float32"}}],
    )
    state: dict[str, StateVarSpec] = Field(
        default_factory=dict,
        description="The variables an episode carries from step to step, with their initial "
        "values.",
        examples=[{"pos": {"dtype": "int64", "init": "size - 1"}}],
    )
    reset: str = Field(
        "",
        description="A block run at reset after the state's `init` values.",
        examples=["goal = integers(0, size)"],
    )
    step: str = Field(
        description="A block run at every step.",
        examples=["pos = clip(pos + (1 if action == RIGHT else -1), 0, size)"],
    )
    observation: Any = Field(
        description="An expression, or a list / mapping of them matching the space.",
        examples=[
            ["pos"],
            "picture(x, y)",
            {"position": ["x", "y"], "steps_left": "max_steps - elapsed_steps"},
        ],
    )
    reward: Expr = Field(
        0.0,
        description="The reward after each step: an expression over state, locals and params.",
        examples=["1.0 if pos == 0 else 0.0", -1.0],
    )
    terminated: Expr = Field(
        False,
        description="Whether the episode has ended in a terminal state after this step.",
        examples=["pos == 0", False],
    )
    info: dict[str, Expr] = Field(
        default_factory=dict,
        description="Extra values returned in `info` by reset and step, one expression each.",
        examples=[{"distance": "abs(goal - pos)"}],
    )
    max_episode_steps: Expr | None = Field(
        None,
        description="Time limit: the episode is truncated after this many steps (an "
        "expression of params).",
        examples=[100, "max_steps"],
    )
    render: RenderSpec | None = Field(
        None,
        description="Render modes the env offers: `ansi` text, `rgb_array` frames, `human`.",
        examples=[{"ansi": "{{ '.' * pos }}x{{ '.' * (size - pos) }}"}],
    )
    wrappers: list[str | dict[str, dict[str, Any]]] = Field(
        default_factory=list,
        description="Gymnasium wrappers applied by `gym.make`, in order: a name or "
        "`{Name: {arg: value}}`.",
        examples=[["RecordEpisodeStatistics", {"ClipReward": {"min_reward": -1, "max_reward": 1}}]],
    )
    hooks: HooksSpec | None = Field(
        None,
        description="Trusted Python functions called after reset / step (not vectorizable).",
        examples=[{"after_step": "mypackage.hooks:log_step"}],
    )
    vectorize: bool = Field(
        True,
        description="Emit a native VectorEnv (a compiled kernel or NumPy code) when possible.",
        examples=[True, False],
    )
    action_mask: Any = Field(
        None,
        description="Which actions are valid now: for a Discrete action space an array of "
        "n bools (or 0/1), for MultiDiscrete a list with one such array per dimension. "
        "Returned as `info['action_mask']` (int8) at reset and every step, and by "
        "`env.action_masks()`.",
        examples=["[pos > 0, pos < size - 1]", ["[a > 0, True, a < 4]", "[True, b > 0]"]],
    )
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="More env ids registered from this spec, each with its own param "
        "defaults: `{id: {param: value}}`.",
        examples=[{"envgen/FrozenLake8x8-v1": {"map_name": "8x8"}}],
    )
    deterministic: bool = Field(
        False,
        description="Declare that the env draws no random numbers, so the seed does not "
        "matter; the compiler refuses it for a spec that draws, and the generated env says "
        "so in `metadata['deterministic']`.",
        examples=[True],
    )
    invalid_action: Literal["raise", "clip", "ignore"] = Field(
        "raise",
        description="Default for actions outside the action space: raise an error, clip them "
        "into the space, or pass them to `step` as they are. Overridable per instance.",
        examples=["raise"],
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        odd = next(((i, c) for i, c in enumerate(value) if not c.isascii()), None)
        if odd is not None:
            i, c = odd
            name = unicodedata.name(c, "unnamed")
            raise ValueError(
                f"ids are ASCII only: {value!r} has U+{ord(c):04X} ({name}) at position {i}, "
                "which can look like or be read as another character"
            )
        if not ENV_ID.fullmatch(value):
            raise ValueError(f"'{value}' is not a Gymnasium id; use the form namespace/Name-v0")
        return value

    @field_validator("variants")
    @classmethod
    def _variant_ids(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not ENV_ID.fullmatch(key):
                raise ValueError(
                    f"variant '{key}' is not a Gymnasium id; use the form namespace/Name-v0"
                )
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
