"""The JSON Schema of a spec file and the Markdown reference, generated from the models.

Both come from the Pydantic models in `envgen.spec` (their docstrings, field descriptions
and examples) and from the DSL function table `envgen._functions.BUILTINS`, so they never
drift from what envgen accepts:

    envgen schema -o envgen.schema.json --markdown docs/reference.md
    python -m envgen._cli_dx reference          # the same two files, from the repo root
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_FILE = "envgen.schema.json"
REFERENCE_FILE = "docs/reference.md"
SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
EXPR_REF = {"$ref": "#/$defs/Expr"}

# --- the JSON Schema -------------------------------------------------------------------

#: Description and examples of every field, keyed `Model.field` (by alias). Used where the
#: Pydantic model has no description (or only the generic one of `Expr`), and for examples.
#: `tests/test_schema.py` checks that every field of every model has an entry here.
FIELD_DOCS: dict[str, tuple[str, list[Any]]] = {
    # --- EnvSpec ---
    "EnvSpec.id": (
        "Gymnasium id of the env, `namespace/Name-vN`; `gym.make` takes it.",
        ["envgen/GoLeft-v0", "acme/Warehouse-v2"],
    ),
    "EnvSpec.description": (
        "What the env is about; becomes the generated class's docstring.",
        ["The agent starts at the right end of a corridor and must walk to cell 0."],
    ),
    "EnvSpec.params": (
        "Constructor arguments with defaults, overridable per instance "
        "(`gym.make(id, size=20)`); usable in every expression, in space bounds and shapes.",
        [{"size": {"default": 10, "ge": 2, "doc": "number of cells"}}],
    ),
    "EnvSpec.constants": (
        "Data tables (numbers, strings, lists, mappings), visible as read-only names.",
        [{"desc": ["SFFF", "FHFH", "FFFH", "HFFG"]}],
    ),
    "EnvSpec.let": (
        "Values computed once from params, in order; later entries may use earlier ones.",
        [{"cell": "image_size // grid_size", "gravity": 9.8}],
    ),
    "EnvSpec.functions": (
        "Pure helper functions callable from any code block.",
        [{"index": {"args": ["row", "col"], "return": "row * ncol + col"}}],
    ),
    "EnvSpec.action_space": (
        "The action space; a mapping with exactly one space kind as key.",
        [
            {"Discrete": 2, "labels": ["left", "right"]},
            {"Box": {"low": -1, "high": 1, "shape": [1], "dtype": "float32"}},
        ],
    ),
    "EnvSpec.observation_space": (
        "The observation space; bounds and shapes may be expressions of params.",
        [{"Box": {"low": 0, "high": "size", "shape": [1], "dtype": "float32"}}],
    ),
    "EnvSpec.state": (
        "The variables an episode carries from step to step, with their initial values.",
        [{"pos": {"dtype": "int64", "init": "size - 1"}}],
    ),
    "EnvSpec.reset": (
        "A block run at reset after the state's `init` values (may draw randomness).",
        ["goal = integers(0, size)"],
    ),
    "EnvSpec.step": (
        "A block run at every step: reads state, `action`, params; assigns the next state "
        "and locals that `observation`, `reward`, `terminated` and `info` may use.",
        ["pos = clip(pos + (1 if action == RIGHT else -1), 0, size)"],
    ),
    "EnvSpec.observation": (
        "What the agent sees after reset and each step: an expression, or a list / mapping "
        "of expressions with the observation space's structure.",
        [
            ["pos"],
            "picture(x, y)",
            {"position": ["x", "y"], "steps_left": "max_steps - elapsed_steps"},
        ],
    ),
    "EnvSpec.reward": (
        "The reward after each step: an expression over state, locals and params.",
        ["1.0 if pos == 0 else 0.0", -1.0],
    ),
    "EnvSpec.terminated": (
        "Whether the episode has ended in a terminal state after this step.",
        ["pos == 0", False],
    ),
    "EnvSpec.info": (
        "Extra values returned in `info` by reset and step, one expression each.",
        [{"distance": "abs(goal - pos)"}],
    ),
    "EnvSpec.max_episode_steps": (
        "Time limit: the episode is truncated after this many steps (an expression of params).",
        [100, "max_steps"],
    ),
    "EnvSpec.render": (
        "Render modes the env offers: `ansi` text, `rgb_array` frames, `human`.",
        [{"ansi": "{{ '.' * pos }}x{{ '.' * (size - pos) }}"}],
    ),
    "EnvSpec.wrappers": (
        "Gymnasium wrappers applied by `gym.make`, in order: a name or `{Name: {arg: value}}`.",
        [["RecordEpisodeStatistics", {"ClipReward": {"min_reward": -1, "max_reward": 1}}]],
    ),
    "EnvSpec.hooks": (
        "Trusted Python functions called after reset / step (not vectorizable).",
        [{"after_step": "mypackage.hooks:log_step"}],
    ),
    "EnvSpec.vectorize": (
        "Emit a native NumPy VectorEnv when possible.",
        [True, False],
    ),
    # --- params ---
    "ParamSpec.default": ("The default value; its type is the param's type.", [10, 0.5, True]),
    "ParamSpec.type": ("Type; inferred from `default` when omitted.", ["int", "float"]),
    "ParamSpec.ge": ("The value must be greater than or equal to this.", [0, 1]),
    "ParamSpec.gt": ("The value must be greater than this.", [0]),
    "ParamSpec.le": ("The value must be less than or equal to this.", [100]),
    "ParamSpec.lt": ("The value must be less than this.", [1]),
    "ParamSpec.choices": ("The only values accepted.", [["easy", "hard"], [4, 8]]),
    "ParamSpec.nullable": ("Whether None is accepted.", [True]),
    "ParamSpec.doc": (
        "What the param means; shown by `envgen show` and the docstring.",
        ["number of cells"],
    ),
    # --- state ---
    "StateVarSpec.dtype": ("NumPy dtype of the variable.", ["int64", "float64", "bool"]),
    "StateVarSpec.shape": ("Shape; empty (the default) for a scalar.", [[], [4], ["size", "size"]]),
    "StateVarSpec.init": (
        "Initial value at reset; may draw randomness.",
        [0, "size - 1", "uniform(-0.05, 0.05)"],
    ),
    "StateVarSpec.doc": ("What the variable means.", ["cart position (m)"]),
    # --- functions ---
    "FunctionSpec.args": ("Argument names.", [["row", "col"]]),
    "FunctionSpec.body": (
        "Statements run before `return` (locals only).",
        ["tx = target % grid_size"],
    ),
    "FunctionSpec.return": (
        "The value the function returns: an expression over its arguments, "
        "its body's locals, params and constants.",
        ["row * ncol + col"],
    ),
    # --- render ---
    "RenderSpec.ansi": (
        "A Jinja2 template over the state (sandboxed).",
        ["{{ '.' * pos }}x{{ '.' * (size - pos) }}"],
    ),
    "RenderSpec.rgb_array": (
        "A block that sets `frame`, a uint8 H×W×3 image (or an expression).",
        ["picture(agent_x, agent_y, target)"],
    ),
    "RenderSpec.human": ("Offer 'human' mode (prints ansi / shows frames).", [True]),
    "RenderSpec.fps": ("Frames per second for `human` mode and recorded videos.", [30, 10]),
    # --- hooks ---
    "HooksSpec.after_reset": (
        "`package.module:function` called as `fn(env)` after reset.",
        ["mypackage.hooks:after_reset"],
    ),
    "HooksSpec.after_step": (
        "`package.module:function` called as `fn(env)` after each step.",
        ["mypackage.hooks:after_step"],
    ),
    # --- spaces ---
    "BoxSpace.Box": (
        "A (possibly unbounded) box in R^n.",
        [{"low": 0, "high": 1, "shape": [2], "dtype": "float32"}],
    ),
    "BoxArgs.low": ("Lower bound: one value or one per element.", [0, "-size", [-1, "-inf"]]),
    "BoxArgs.high": ("Upper bound: one value or one per element.", [1, "size", [1, "inf"]]),
    "BoxArgs.shape": (
        "Shape; taken from the bounds if omitted.",
        [[2], ["image_size", "image_size", 3]],
    ),
    "BoxArgs.dtype": ("NumPy dtype of the elements.", ["float32", "uint8"]),
    "DiscreteSpace.Discrete": (
        "The number of elements `n`, or `{n, start}`.",
        [4, {"n": 6, "start": 1}],
    ),
    "DiscreteSpace.labels": (
        "One name per action; each becomes an upper-case constant.",
        [["left", "right"]],
    ),
    "DiscreteArgs.n": ("Number of elements.", [6, "size"]),
    "DiscreteArgs.start": ("The smallest element.", [0, 1]),
    "MultiDiscreteSpace.MultiDiscrete": (
        "One Discrete per element: `nvec`, or `{nvec, start}`.",
        [[3, 3], {"nvec": [3, 4], "start": [0, 1]}],
    ),
    "MultiDiscreteArgs.nvec": ("Number of values of each element.", [[3, 4]]),
    "MultiDiscreteArgs.start": ("Smallest value of each element.", [[0, 1]]),
    "MultiBinarySpace.MultiBinary": ("Number (or shape) of binary elements.", [4, [2, 3]]),
    "TextSpace.Text": ("Strings over a character set.", [{"max_length": 8, "charset": "abc"}]),
    "TextArgs.max_length": ("Longest string.", [8]),
    "TextArgs.min_length": ("Shortest string.", [1, 0]),
    "TextArgs.charset": ("Allowed characters; alphanumerics if omitted.", ["abc", "01"]),
    "DictSpace.Dict": (
        "Named sub-spaces.",
        [{"position": {"Box": {"low": -1, "high": 1, "shape": [2]}}, "goal": {"Discrete": 4}}],
    ),
    "TupleSpace.Tuple": (
        "Sub-spaces in order.",
        [[{"Discrete": 3}, {"Box": {"low": 0, "high": 1, "shape": [2]}}]],
    ),
    "SequenceSpace.Sequence": (
        "Variable-length sequences of elements of one space.",
        [{"space": {"Discrete": 4}, "stack": False}],
    ),
    "SequenceArgs.space": ("The space of each element.", [{"Discrete": 4}]),
    "SequenceArgs.stack": ("Stack elements into one array instead of a tuple.", [True]),
    "GraphSpace.Graph": (
        "Graphs with node (and optional edge) features.",
        [
            {
                "node_space": {"Box": {"low": 0, "high": 1, "shape": [1]}},
                "edge_space": {"Discrete": 3},
            }
        ],
    ),
    "GraphArgs.node_space": (
        "Space of each node's features (Box or Discrete).",
        [{"Box": {"low": 0, "high": 1, "shape": [1]}}],
    ),
    "GraphArgs.edge_space": ("Space of each edge's features; none if omitted.", [{"Discrete": 3}]),
    "OneOfSpace.OneOf": (
        "A value of exactly one of the sub-spaces, tagged with its index.",
        [[{"Discrete": 3}, {"Box": {"low": 0, "high": 1, "shape": [1]}}]],
    ),
}

#: A short description for model definitions that have no docstring.
MODEL_DOCS = {
    "BoxArgs": "Arguments of a Box space.",
    "DiscreteArgs": "Arguments of a Discrete space.",
    "MultiDiscreteArgs": "Arguments of a MultiDiscrete space.",
    "TextArgs": "Arguments of a Text space.",
    "SequenceArgs": "Arguments of a Sequence space.",
    "GraphArgs": "Arguments of a Graph space.",
    "RenderSpec": "How the env renders: an ansi template, an rgb_array block, human mode.",
}

_EXPR_TYPES = [{"type": "boolean"}, {"type": "integer"}, {"type": "number"}, {"type": "string"}]
#: Mapping keys that become Python names (params, state, ...): no leading `_`.
_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"


def _generic_expr_description() -> str:
    from envgen.spec import Expr

    for item in getattr(Expr, "__metadata__", ()):
        if getattr(item, "description", None):
            return item.description
    return ""


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file: the Pydantic schema, documented and tightened."""
    from envgen import spec as s

    raw = s.EnvSpec.model_json_schema(by_alias=True)
    generic = _generic_expr_description()
    defs: dict[str, Any] = raw.pop("$defs", {})

    def collapse(node: Any) -> Any:
        """Replace every inline copy of the `Expr` union by a reference to one definition."""
        if isinstance(node, list):
            return [collapse(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {k: collapse(v) for k, v in node.items()}
        if node.get("anyOf") == _EXPR_TYPES:
            del node["anyOf"]
            if node.get("description") == generic:
                del node["description"]
            node = {**EXPR_REF, **node}
        return node

    root = collapse(raw)
    defs = {name: collapse(d) for name, d in defs.items()}
    for name, definition in [("EnvSpec", root), *defs.items()]:
        if "description" not in definition and name in MODEL_DOCS:
            definition["description"] = MODEL_DOCS[name]
        for field, prop in definition.get("properties", {}).items():
            key = f"{name}.{field}"
            if key in FIELD_DOCS:
                description, examples = FIELD_DOCS[key]
                if not prop.get("description") or prop.get("description") == generic:
                    prop["description"] = description
                prop.setdefault("examples", examples)
            if not prop.get("examples"):  # a field added to the models without an example
                if prop.get("default") is not None:
                    prop["examples"] = [prop["default"]]
                elif prop.get("enum"):
                    prop["examples"] = prop["enum"][:2]
    # Tighten what Pydantic's validators check but its schema cannot say.
    props = root["properties"]
    props["id"]["pattern"] = s.ENV_ID.pattern
    for field in ("params", "state", "let", "functions", "constants", "info"):
        props[field]["propertyNames"] = {"pattern": _NAME_PATTERN}
    defs["DictSpace"]["properties"]["Dict"]["propertyNames"] = {"pattern": _NAME_PATTERN}
    defs["DiscreteSpace"]["properties"]["labels"]["anyOf"][0]["items"]["pattern"] = _NAME_PATTERN
    hook = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$"
    for field in ("after_reset", "after_step"):
        defs["HooksSpec"]["properties"][field]["anyOf"][0]["pattern"] = hook
    props["wrappers"]["items"] = {
        "anyOf": [
            {"enum": list(s.WRAPPERS)},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {"enum": list(s.WRAPPERS)},
                "additionalProperties": {"type": "object"},
            },
        ]
    }
    defs["Expr"] = {
        "title": "Expr",
        "description": generic,
        "anyOf": _EXPR_TYPES,
        "examples": [1.0, "size - 1", "clip(pos + 1, 0, size)"],
    }
    schema = {
        "$schema": SCHEMA_URI,
        "$id": "https://envgen.dev/envgen.schema.json",
        "title": "envgen spec",
        "description": "A YAML spec that envgen compiles into a Gymnasium environment. "
        "Generated by `envgen schema`; do not edit.",
        **{k: v for k, v in root.items() if k != "title" and k != "description"},
        "$defs": dict(sorted(defs.items())),
    }
    return schema


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


# --- the reference documentation (Markdown) -------------------------------------------


def _type_name(node: dict[str, Any]) -> str:
    """A short human name for a schema node's type."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return "expr" if name == "Expr" else _link(name)
    if "anyOf" in node or "oneOf" in node:
        options = [o for o in node.get("anyOf", node.get("oneOf")) if o.get("type") != "null"]
        if len(options) == len(_EXPR_TYPES) and all("type" in o for o in options):
            return "expr"
        if all("$ref" in o and o["$ref"].endswith("Space") for o in options) and len(options) > 3:
            return "[space](#spaces)"
        return " or ".join(dict.fromkeys(_type_name(o) for o in options))
    if "enum" in node and len(node["enum"]) > 6:
        return "[name](#wrappers)" if "ClipAction" in node["enum"] else "name"
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type")
    if kind == "array":
        return f"list of {_type_name(node.get('items', {}))}"
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"mapping name → {_type_name(extra)}"
        return "mapping"
    if kind:
        return {"string": "string", "integer": "int", "number": "float", "boolean": "bool"}.get(
            kind, kind
        )
    return "any"


_SECTIONS = {
    "ParamSpec": "params",
    "StateVarSpec": "state",
    "FunctionSpec": "functions",
    "RenderSpec": "render",
    "HooksSpec": "hooks",
}


def _link(name: str) -> str:
    if name in _SECTIONS:
        return f"[{_SECTIONS[name]} entry](#{_SECTIONS[name]})"
    if name.endswith("Space"):
        return f"[{name.removesuffix('Space')}](#{name.removesuffix('Space').lower()})"
    return name


def _inline(value: Any) -> str:
    """A YAML-flow rendering of an example, for a table cell."""
    import yaml

    if isinstance(value, str):
        text = value
    else:
        text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip()
        text = text.removesuffix("\n...").strip()
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _fields_table(definition: dict[str, Any]) -> list[str]:
    required = set(definition.get("required", []))
    lines = ["| Key | Type | Default | Description | Example |", "|---|---|---|---|---|"]
    for field, prop in definition.get("properties", {}).items():
        default = (
            "required"
            if field in required
            else (
                _inline(prop["default"])
                if prop.get("default") not in ({}, [], "", None)
                else ('`""`' if prop.get("default") == "" else "—")
            )
        )
        example = _inline(prop["examples"][0]) if prop.get("examples") else ""
        lines.append(
            f"| `{field}` | {_type_name(prop)} | {default} | "
            f"{_cell(prop.get('description', ''))} | {example} |"
        )
    return lines


def _signature(builtin: Any) -> str:
    params = list(builtin.params)
    shown = [p if i < builtin.required else f"{p}=…" for i, p in enumerate(params)]
    if builtin.variadic:
        shown = [*params, "…"]
    return f"{builtin.name}({', '.join(shown)})"


def _function_group(builtin: Any) -> str:
    if builtin.random:
        return "Random draws (from the env's seeded generator)"
    if builtin.statement:
        return "Drawing (on an H×W×3 uint8 `frame`)"
    if builtin.name in ("zeros", "ones", "full", "arange", "linspace", "text", "encode"):
        return "Creating arrays and strings"
    if builtin.name in (
        "sum",
        "mean",
        "prod",
        "any",
        "all",
        "argmax",
        "argmin",
        "cumsum",
        "count_nonzero",
        "len",
        "dot",
        "norm",
    ):
        return "Reductions and linear algebra"
    return "Math"


def reference_markdown() -> str:
    """docs/reference.md: every key of a spec, every space, every DSL function."""
    from envgen import spec as s
    from envgen._functions import BUILTINS

    schema = build_schema()
    defs = schema["$defs"]
    out = [
        "# envgen spec reference",
        "",
        "<!-- Generated by `envgen schema --markdown docs/reference.md` from the Pydantic models",
        "     in envgen/spec.py and the function table in envgen/_functions.py; do not edit. -->",
        "",
        "A spec is a YAML file describing one environment. Start it with",
        "`# yaml-language-server: $schema=<path to envgen.schema.json>` and editors with the",
        "YAML language server (VS Code's Red Hat YAML extension, Neovim's yamlls) complete and",
        "check it as you type. `envgen new NAME` scaffolds a commented spec to start from.",
        "",
        "Values marked *expr* are a number or an expression of the dynamics language: a",
        "restricted subset of Python over params, `let` values, state, the locals of `step`,",
        "`action`, `elapsed_steps` (steps since reset) and the label constants (`LEFT`, ...).",
        "Constants `pi`, `e`, `inf` and `nan` are predefined.",
        "",
        "## Top-level keys",
        "",
        *_fields_table(schema),
        "",
    ]
    for model, section in _SECTIONS.items():
        out += [
            f"## {section}",
            "",
            defs[model].get("description", ""),
            "",
            *_fields_table(defs[model]),
            "",
        ]
    out += [
        "## Spaces",
        "",
        "`action_space`, `observation_space` and every sub-space are a mapping with exactly",
        "one of these keys. Bounds, sizes and shapes may be expressions of params.",
        "",
    ]
    for kind in s.SPACE_KINDS:
        definition = defs[f"{kind}Space"]
        out += [
            f"### {kind}",
            "",
            definition.get("description", "").strip(),
            "",
            *_fields_table(definition),
            "",
        ]
        args = definition["properties"][kind]
        refs = [args] + args.get("anyOf", [])
        for ref in refs:
            if "$ref" in ref and ref["$ref"].endswith("Args"):
                name = ref["$ref"].rsplit("/", 1)[-1]
                out += [f"`{kind}` arguments:", "", *_fields_table(defs[name]), ""]
    out += [
        "## Wrappers",
        "",
        "Names accepted in `wrappers` (Gymnasium's wrappers of the same name):",
        "",
        ", ".join(f"`{w}`" for w in s.WRAPPERS) + ".",
        "",
        "## Dtypes",
        "",
        ", ".join(f"`{d}`" for d in s.DTYPES) + ".",
        "",
        "## Functions",
        "",
        "The functions code blocks and expressions may call. Parameters written `name=…` are",
        "optional. Random draws always use the env's seeded generator (`self.np_random`), so",
        "the same seed gives the same episode.",
        "",
    ]
    groups: dict[str, list[Any]] = {}
    for builtin in BUILTINS.values():
        groups.setdefault(_function_group(builtin), []).append(builtin)
    for group, builtins in groups.items():
        out += [f"### {group}", "", "| Function | Description | Example |", "|---|---|---|"]
        for b in builtins:
            out.append(f"| `{_signature(b)}` | {_cell(b.doc)} | {_inline(b.example)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
