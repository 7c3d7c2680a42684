"""Developer tools on the `envgen` command line: schema, new, show, play, bench.

`envgen.cli` attaches :data:`COMMANDS` to its group. Everything here prints a one-line
error with a hint instead of a traceback: exit 2 for a usage error (a missing file, an
unknown env id, a bad option), exit 1 when the command itself fails.

The JSON Schema and the reference documentation are generated from the Pydantic models in
`envgen.spec` (plus :data:`FIELD_DOCS` for fields whose models lack a description or an
example) and from the DSL function table `envgen._functions.BUILTINS`, so they never drift:

    envgen schema -o envgen.schema.json --markdown docs/reference.md
    python -m envgen._cli_dx reference          # the same two files, from the repo root
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import re
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

SCHEMA_FILE = "envgen.schema.json"
REFERENCE_FILE = "docs/reference.md"
SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
EXPR_REF = {"$ref": "#/$defs/Expr"}


class Failure(Exception):
    """A problem to report in one line (plus an optional hint) and exit with `code`."""

    def __init__(self, message: str, hint: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


def _fail(message: str, hint: str = "", code: int = 1) -> None:
    stderr.print(f"[red]error[/red]: {escape(message)}")
    if hint:
        stderr.print(f"  [cyan]hint[/cyan]: {escape(hint)}")
    sys.exit(code)


class _Command(click.Command):
    """A click command that turns :class:`Failure` into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Failure as failure:
            _fail(failure.message, failure.hint, failure.code)
        except KeyboardInterrupt:
            stderr.print("interrupted")
            sys.exit(130)


# =====================================================================================
# JSON Schema
# =====================================================================================

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
        [{"Discrete": 2, "labels": ["left", "right"]},
         {"Box": {"low": -1, "high": 1, "shape": [1], "dtype": "float32"}}],
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
        [["pos"], "picture(x, y)",
         {"position": ["x", "y"], "steps_left": "max_steps - elapsed_steps"}],
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
    "ParamSpec.doc": ("What the param means; shown by `envgen show` and the docstring.",
                      ["number of cells"]),
    # --- state ---
    "StateVarSpec.dtype": ("NumPy dtype of the variable.", ["int64", "float64", "bool"]),
    "StateVarSpec.shape": ("Shape; empty (the default) for a scalar.", [[], [4], ["size", "size"]]),
    "StateVarSpec.init": ("Initial value at reset; may draw randomness.",
                          [0, "size - 1", "uniform(-0.05, 0.05)"]),
    "StateVarSpec.doc": ("What the variable means.", ["cart position (m)"]),
    # --- functions ---
    "FunctionSpec.args": ("Argument names.", [["row", "col"]]),
    "FunctionSpec.body": ("Statements run before `return` (locals only).",
                          ["tx = target % grid_size"]),
    "FunctionSpec.return": ("The value the function returns: an expression over its arguments, "
                            "its body's locals, params and constants.", ["row * ncol + col"]),
    # --- render ---
    "RenderSpec.ansi": ("A Jinja2 template over the state (sandboxed).",
                        ["{{ '.' * pos }}x{{ '.' * (size - pos) }}"]),
    "RenderSpec.rgb_array": ("A block that sets `frame`, a uint8 H×W×3 image (or an expression).",
                             ["picture(agent_x, agent_y, target)"]),
    "RenderSpec.human": ("Offer 'human' mode (prints ansi / shows frames).", [True]),
    "RenderSpec.fps": ("Frames per second for `human` mode and recorded videos.", [30, 10]),
    # --- hooks ---
    "HooksSpec.after_reset": ("`package.module:function` called as `fn(env)` after reset.",
                              ["mypackage.hooks:after_reset"]),
    "HooksSpec.after_step": ("`package.module:function` called as `fn(env)` after each step.",
                             ["mypackage.hooks:after_step"]),
    # --- spaces ---
    "BoxSpace.Box": ("A (possibly unbounded) box in R^n.",
                     [{"low": 0, "high": 1, "shape": [2], "dtype": "float32"}]),
    "BoxArgs.low": ("Lower bound: one value or one per element.", [0, "-size", [-1, "-inf"]]),
    "BoxArgs.high": ("Upper bound: one value or one per element.", [1, "size", [1, "inf"]]),
    "BoxArgs.shape": ("Shape; taken from the bounds if omitted.",
                      [[2], ["image_size", "image_size", 3]]),
    "BoxArgs.dtype": ("NumPy dtype of the elements.", ["float32", "uint8"]),
    "DiscreteSpace.Discrete": ("The number of elements `n`, or `{n, start}`.",
                               [4, {"n": 6, "start": 1}]),
    "DiscreteSpace.labels": ("One name per action; each becomes an upper-case constant.",
                             [["left", "right"]]),
    "DiscreteArgs.n": ("Number of elements.", [6, "size"]),
    "DiscreteArgs.start": ("The smallest element.", [0, 1]),
    "MultiDiscreteSpace.MultiDiscrete": ("One Discrete per element: `nvec`, or `{nvec, start}`.",
                                         [[3, 3], {"nvec": [3, 4], "start": [0, 1]}]),
    "MultiDiscreteArgs.nvec": ("Number of values of each element.", [[3, 4]]),
    "MultiDiscreteArgs.start": ("Smallest value of each element.", [[0, 1]]),
    "MultiBinarySpace.MultiBinary": ("Number (or shape) of binary elements.", [4, [2, 3]]),
    "TextSpace.Text": ("Strings over a character set.", [{"max_length": 8, "charset": "abc"}]),
    "TextArgs.max_length": ("Longest string.", [8]),
    "TextArgs.min_length": ("Shortest string.", [1, 0]),
    "TextArgs.charset": ("Allowed characters; alphanumerics if omitted.", ["abc", "01"]),
    "DictSpace.Dict": ("Named sub-spaces.",
                       [{"position": {"Box": {"low": -1, "high": 1, "shape": [2]}},
                         "goal": {"Discrete": 4}}]),
    "TupleSpace.Tuple": ("Sub-spaces in order.", [[{"Discrete": 3}, {"Box": {"low": 0, "high": 1,
                                                                               "shape": [2]}}]]),
    "SequenceSpace.Sequence": ("Variable-length sequences of elements of one space.",
                               [{"space": {"Discrete": 4}, "stack": False}]),
    "SequenceArgs.space": ("The space of each element.", [{"Discrete": 4}]),
    "SequenceArgs.stack": ("Stack elements into one array instead of a tuple.", [True]),
    "GraphSpace.Graph": ("Graphs with node (and optional edge) features.",
                         [{"node_space": {"Box": {"low": 0, "high": 1, "shape": [1]}},
                           "edge_space": {"Discrete": 3}}]),
    "GraphArgs.node_space": ("Space of each node's features (Box or Discrete).",
                             [{"Box": {"low": 0, "high": 1, "shape": [1]}}]),
    "GraphArgs.edge_space": ("Space of each edge's features; none if omitted.", [{"Discrete": 3}]),
    "OneOfSpace.OneOf": ("A value of exactly one of the sub-spaces, tagged with its index.",
                         [[{"Discrete": 3}, {"Box": {"low": 0, "high": 1, "shape": [1]}}]]),
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
            {"type": "object", "minProperties": 1, "maxProperties": 1,
             "propertyNames": {"enum": list(s.WRAPPERS)},
             "additionalProperties": {"type": "object"}},
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


# =====================================================================================
# Reference documentation (Markdown)
# =====================================================================================


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
            kind, kind)
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
        default = "required" if field in required else (
            _inline(prop["default"]) if prop.get("default") not in ({}, [], "", None)
            else ('`""`' if prop.get("default") == "" else "—"))
        example = _inline(prop["examples"][0]) if prop.get("examples") else ""
        lines.append(f"| `{field}` | {_type_name(prop)} | {default} | "
                     f"{_cell(prop.get('description', ''))} | {example} |")
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
    if builtin.name in ("sum", "mean", "prod", "any", "all", "argmax", "argmin", "cumsum",
                        "count_nonzero", "len", "dot", "norm"):
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
        out += [f"## {section}", "", defs[model].get("description", ""), "",
                *_fields_table(defs[model]), ""]
    out += [
        "## Spaces",
        "",
        "`action_space`, `observation_space` and every sub-space are a mapping with exactly",
        "one of these keys. Bounds, sizes and shapes may be expressions of params.",
        "",
    ]
    for kind in s.SPACE_KINDS:
        definition = defs[f"{kind}Space"]
        out += [f"### {kind}", "", definition.get("description", "").strip(), "",
                *_fields_table(definition), ""]
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


@click.command(cls=_Command)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help=f"Write the JSON Schema here (e.g. {SCHEMA_FILE}); default: print it.")
@click.option("--markdown", type=click.Path(path_type=Path, dir_okay=False),
              help=f"Also write the reference documentation (e.g. {REFERENCE_FILE}).")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the files given by -o / --markdown are stale.")
def schema(output: Path | None, markdown: Path | None, check: bool) -> None:
    """The JSON Schema of spec files, for editors (and the reference docs).

    Start a spec with `# yaml-language-server: $schema=envgen.schema.json` to get
    completion and validation in VS Code (Red Hat YAML) or Neovim (yamlls).
    """
    outputs = [(output, schema_text) if output else None,
               (markdown, reference_markdown) if markdown else None]
    outputs = [o for o in outputs if o]
    if check:
        if not outputs:
            raise click.UsageError("--check needs -o and/or --markdown")
        stale = []
        for path, make in outputs:
            try:
                same = path.read_text(encoding="utf-8") == make()
            except OSError:
                same = False
            if not same:
                stale.append(str(path))
        if stale:
            raise Failure(f"out of date: {', '.join(stale)}",
                          "regenerate with `envgen schema -o envgen.schema.json "
                          "--markdown docs/reference.md`")
        stdout.print(f"up to date: {', '.join(str(p) for p, _ in outputs)}")
        return
    if output is None:
        click.echo(schema_text(), nl=False)
    for path, make in outputs:
        try:
            changed = write_if_changed(path, make())
        except OSError as exc:
            raise Failure(f"cannot write {path}: {exc.strerror or exc}",
                          "choose a writable path") from None
        stderr.print(f"{'wrote' if changed else 'unchanged'} {path}")


# =====================================================================================
# Finding an env: a spec path or a registered id
# =====================================================================================


@dataclass
class Resolved:
    env_id: str
    spec_path: Path | None = None
    model: Any = None  # envgen.analysis.EnvModel when known


def _load_generated() -> None:
    try:
        importlib.import_module("generated")
    except ImportError:
        pass


def _registered_ids() -> list[str]:
    import gymnasium as gym

    _load_generated()
    return sorted(gym.registry)


def _suggest_id(env_id: str, ids: list[str]) -> str:
    lowered = {i.lower(): i for i in ids}
    if env_id.lower() in lowered:
        return f"did you mean '{lowered[env_id.lower()]}'?"
    close = difflib.get_close_matches(env_id, ids, n=2, cutoff=0.8) or \
        difflib.get_close_matches(env_id, ids, n=1, cutoff=0.6)
    if not close:
        short = {i.split("/")[-1]: i for i in ids}
        close = [short[c] for c in difflib.get_close_matches(env_id, list(short), n=3, cutoff=0.6)]
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return "list ids with `python -c \"import gymnasium, generated; gymnasium.pprint_registry()\"`"


def _looks_like_path(target: str) -> bool:
    return target.endswith((".yaml", ".yml")) or "\\" in target or Path(target).exists() or (
        "/" in target and not re.search(r"-v\d+$", target))


def resolve(target: str) -> Resolved:
    """A spec path (compiled in memory and registered) or a registered id."""
    import gymnasium as gym

    if _looks_like_path(target):
        path = Path(target)
        if not path.exists():
            hint = ""
            if path.parent.is_dir():
                names = [p.name for p in path.parent.iterdir()]
                close = difflib.get_close_matches(path.name, names, n=1)
                if close:
                    hint = f"did you mean '{path.parent / close[0]}'?"
            raise Failure(f"no such file: {target}", hint or "give a spec file (.yaml) or an "
                          "env id such as envgen/GoLeft-v0", code=2)
        if path.is_dir():
            specs = sorted(list(path.glob("*.yaml")) + list(path.glob("*.yml")))
            if len(specs) != 1:
                raise Failure(f"{target} is a folder with {len(specs)} specs",
                              "give one spec file", code=2)
            path = specs[0]
        return _resolve_spec(path)
    ids = _registered_ids()
    if target not in gym.registry:
        try:  # `module:Env-v0` imports the module first
            gym.spec(target)
        except Exception:  # noqa: BLE001 - any failure is an unknown id
            raise Failure(f"unknown env id '{target}'", _suggest_id(target, ids), code=2) from None
        target = target.split(":", 1)[-1] if ":" in target else target
    return Resolved(target, _spec_of_registered(target))


def _resolve_spec(path: Path) -> Resolved:
    from envgen.build import check_spec, env_ids_from_specs
    from envgen.cli import print_diagnostics
    from envgen.diagnostics import DiagnosticError

    model, diagnostics = check_spec(path)
    if diagnostics:
        print_diagnostics(diagnostics)
        raise Failure(f"{path} has errors (see above)", "fix them; `envgen validate` checks a spec")
    try:
        ids = env_ids_from_specs([path])
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        raise Failure(f"{path} has errors (see above)") from None
    except Exception as exc:  # noqa: BLE001 - a compiler crash is still one line
        raise Failure(f"envgen crashed compiling {path}: {type(exc).__name__}: {exc}",
                      "this is a bug in envgen; `envgen build` then an id may work") from None
    return Resolved(ids[0], path, model)


def _spec_of_registered(env_id: str) -> Path | None:
    """The spec file a generated env came from (its module's `# Source:` line), if present."""
    import gymnasium as gym

    entry = gym.registry[env_id].entry_point
    if not isinstance(entry, str) or ":" not in entry:
        return None
    try:
        module = importlib.import_module(entry.split(":", 1)[0])
    except Exception:  # noqa: BLE001
        return None
    file = getattr(module, "__file__", None)
    if not file:
        return None
    try:
        head = Path(file).read_text(encoding="utf-8")[:2000]
    except OSError:
        return None
    match = re.search(r"^# Source: '([^']+)'", head, re.M)
    if not match:
        return None
    candidate = Path(file).resolve().parent.parent / match.group(1)
    return candidate if candidate.is_file() else None


def _make(env_id: str, **kwargs: Any) -> Any:
    import gymnasium as gym

    try:
        return gym.make(env_id, **kwargs)
    except Exception as exc:  # noqa: BLE001 - an env that cannot be made is a failure
        raise Failure(f"cannot make {env_id}: {type(exc).__name__}: {exc}") from None


# =====================================================================================
# envgen show
# =====================================================================================


def _number(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _bounds(array: Any) -> Any:
    import numpy as np

    array = np.asarray(array)
    if array.size and (array == array.flat[0]).all():
        return _number(array.flat[0])
    if array.size <= 64:
        return [_number(v) for v in array.ravel()]
    return {"min": _number(array.min()), "max": _number(array.max())}


def describe_space(space: Any, labels: list[str] | None = None) -> dict[str, Any]:
    """A JSON-friendly description of any Gymnasium space, bounds included."""
    from gymnasium import spaces as sp

    out: dict[str, Any] = {"type": type(space).__name__}
    if isinstance(space, sp.Box):
        out.update(shape=list(space.shape), dtype=str(space.dtype),
                   low=_bounds(space.low), high=_bounds(space.high))
    elif isinstance(space, sp.Discrete):
        out.update(n=int(space.n), start=int(space.start))
        if labels:
            out["labels"] = {str(label).upper(): int(space.start) + i
                             for i, label in enumerate(labels)}
    elif isinstance(space, sp.MultiDiscrete):
        out.update(nvec=space.nvec.tolist(), start=space.start.tolist(), dtype=str(space.dtype))
    elif isinstance(space, sp.MultiBinary):
        out.update(shape=list(space.shape))
    elif isinstance(space, sp.Text):
        out.update(min_length=space.min_length, max_length=space.max_length,
                   charset="".join(sorted(space.character_set)))
    elif isinstance(space, sp.Dict):
        out["spaces"] = {k: describe_space(v) for k, v in space.spaces.items()}
    elif isinstance(space, (sp.Tuple, sp.OneOf)):
        out["spaces"] = [describe_space(v) for v in space.spaces]
    elif isinstance(space, sp.Sequence):
        out.update(feature_space=describe_space(space.feature_space), stack=space.stack)
    elif isinstance(space, sp.Graph):
        out["node_space"] = describe_space(space.node_space)
        out["edge_space"] = describe_space(space.edge_space) if space.edge_space else None
    else:
        out["repr"] = repr(space)
    return out


def _space_rows(name: str, info: dict[str, Any]) -> Iterator[tuple[str, str, str, str, str]]:
    kind = info["type"]
    shape, dtype, bounds = "", info.get("dtype", ""), ""
    if kind == "Box":
        shape = str(tuple(info["shape"]))
        bounds = f"[{_fmt(info['low'])}, {_fmt(info['high'])}]"
    elif kind == "Discrete":
        bounds = f"{{{info['start']}, …, {info['start'] + info['n'] - 1}}}"
        if info.get("labels"):
            bounds += "  " + ", ".join(f"{k}={v}" for k, v in info["labels"].items())
    elif kind == "MultiDiscrete":
        shape = str(tuple(info["nvec"] and [len(info["nvec"])]))
        bounds = f"nvec={info['nvec']} start={info['start']}"
    elif kind == "MultiBinary":
        shape, bounds = str(tuple(info["shape"])), "{0, 1}"
    elif kind == "Text":
        bounds = f"length {info['min_length']}..{info['max_length']}, charset {info['charset']!r}"
    elif kind == "Sequence":
        bounds = f"stack={info['stack']}"
    yield name, kind, shape, dtype, bounds
    if kind == "Dict":
        for key, sub in info["spaces"].items():
            yield from _space_rows(f"{name}.{key}", sub)
    elif kind in ("Tuple", "OneOf"):
        for i, sub in enumerate(info["spaces"]):
            yield from _space_rows(f"{name}[{i}]", sub)
    elif kind == "Sequence":
        yield from _space_rows(f"{name}[*]", info["feature_space"])
    elif kind == "Graph":
        yield from _space_rows(f"{name}.nodes", info["node_space"])
        if info["edge_space"]:
            yield from _space_rows(f"{name}.edges", info["edge_space"])


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return f"{_short(value['min'])}..{_short(value['max'])} (per element)"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return _short(value)


def _code(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip()


def show_info(target: str) -> dict[str, Any]:
    """Everything `envgen show` prints, as JSON-friendly data."""
    import gymnasium as gym

    resolved = resolve(target)
    env_spec = gym.registry[resolved.env_id]
    spec = resolved.model.spec if resolved.model is not None else None
    if spec is None and resolved.spec_path is not None:
        from envgen.build import check_spec

        model, _ = check_spec(resolved.spec_path)
        spec = model.spec if model is not None else None
    env = _make(resolved.env_id)
    try:
        unwrapped = env.unwrapped
        labels = None
        if spec is not None:
            labels = getattr(spec.action_space, "labels", None)
        params = []
        module = sys.modules.get(type(unwrapped).__module__)
        docs = {name: p.doc for name, p in spec.params.items()} if spec is not None else {}
        for param in getattr(module, "PARAMS", ()) or ():
            constraints = [f"{op} {_short(getattr(param, attr))}" for attr, op in
                           (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
                           if getattr(param, attr, None) is not None]
            if getattr(param, "choices", None):
                constraints.append(f"in {list(param.choices)}")
            params.append({"name": param.name, "type": param.type, "default": param.default,
                           "constraints": constraints,
                           "doc": getattr(param, "doc", "") or docs.get(param.name, "")})
        limit = env_spec.max_episode_steps
        if limit is None:
            limit = getattr(unwrapped, "max_episode_steps", None)
        doc = (spec.description if spec is not None else (type(unwrapped).__doc__ or ""))
        info = {
            "id": resolved.env_id,
            "description": _first_paragraph(doc or ""),
            "source": _display(resolved.spec_path) if resolved.spec_path else None,
            "entry_point": env_spec.entry_point if isinstance(env_spec.entry_point, str)
            else f"{env_spec.entry_point.__module__}:{env_spec.entry_point.__qualname__}",
            "vector_entry_point": _entry_name(env_spec.vector_entry_point),
            "params": params,
            "action_space": describe_space(env.action_space, labels),
            "observation_space": describe_space(env.observation_space),
            "reward": _code(spec.reward) if spec is not None else None,
            "terminated": _code(spec.terminated) if spec is not None else None,
            "max_episode_steps": _number(limit) if limit is not None else None,
            "max_episode_steps_expr": _code(spec.max_episode_steps) if spec is not None else None,
            "render_modes": list(unwrapped.metadata.get("render_modes", [])),
            "render_fps": unwrapped.metadata.get("render_fps"),
            "info": {k: _code(v) for k, v in spec.info.items()} if spec is not None else {},
        }
    finally:
        env.close()
    return info


def _short(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _first_paragraph(doc: str) -> str:
    import inspect

    paragraphs = [p for p in inspect.cleandoc(doc).split("\n\n")
                  if p.strip() and not p.lstrip().startswith("#")]
    text = " ".join(paragraphs[0].split()) if paragraphs else ""
    return text if len(text) <= 400 else text[:399] + "…"


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _entry_name(entry: Any) -> str | None:
    if entry is None or isinstance(entry, str):
        return entry
    return f"{getattr(entry, '__module__', '?')}:{getattr(entry, '__qualname__', repr(entry))}"


@click.command(cls=_Command)
@click.argument("target", metavar="SPEC|ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def show(target: str, as_json: bool) -> None:
    """What an env is: params, spaces with bounds, reward, termination, time limit.

    SPEC is a spec file; ID a registered Gymnasium id (envgen's or any other).
    """
    info = show_info(target)
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    stdout.print(f"[bold]{escape(info['id'])}[/bold]")
    if info["description"]:
        stdout.print(escape(info["description"]))
    stdout.print(f"[dim]source: {escape(info['source'] or info['entry_point'])}[/dim]")
    if info["params"]:
        table = Table(title="Params", title_justify="left")
        for column in ("name", "type", "default", "constraints", "doc"):
            table.add_column(column)
        for p in info["params"]:
            table.add_row(p["name"], p["type"], repr(p["default"]),
                          ", ".join(p["constraints"]), escape(p["doc"]))
        stdout.print(table)
    table = Table(title="Spaces", title_justify="left")
    for column in ("space", "type", "shape", "dtype", "values"):
        table.add_column(column)
    for name in ("action_space", "observation_space"):
        for row in _space_rows(name.removesuffix("_space"), info[name]):
            table.add_row(*(escape(str(c)) for c in row))
    stdout.print(table)
    table = Table(title="Dynamics", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    limit = info["max_episode_steps"]
    expr = info["max_episode_steps_expr"]
    if limit is not None and expr is not None and str(expr) != str(limit):
        limit_text = f"{limit} steps ({expr})"
    else:
        limit_text = f"{limit} steps" if limit is not None else "none"
    rows = [("reward", info["reward"]), ("terminated", info["terminated"]),
            ("time limit", limit_text)]
    rows += [(f"info.{k}", v) for k, v in info["info"].items()]
    rows += [("render modes", ", ".join(info["render_modes"]) or "none"),
             ("vector env", info["vector_entry_point"] or "SyncVectorEnv (no native one)")]
    for what, value in rows:
        if value is not None:
            table.add_row(what, escape(str(value)))
    stdout.print(table)


# =====================================================================================
# envgen new
# =====================================================================================

TEMPLATES = ("discrete", "continuous", "image", "dict")
TEMPLATE_DIR = Path(__file__).parent / "templates" / "new"


def _id_for(name: str) -> tuple[str, str]:
    """(env id, file stem) for NAME: `GoRight`, `go_right`, `acme/GoRight-v1`."""
    from envgen.spec import ENV_ID

    namespace, _, rest = name.rpartition("/")
    if re.search(r"-v\d+$", rest):
        base, _, version = rest.rpartition("-v")
    else:
        base, version = rest, "0"
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", base) or (
            namespace and not re.match(r"^[A-Za-z_][\w.-]*$", namespace)):
        raise Failure(f"'{name}' does not make a valid env id",
                      "use letters, digits, _ and -, starting with a letter: "
                      "e.g. GoRight, go_right or acme/GoRight-v1", code=2)
    if "_" in base or "-" in base or base.islower():
        base = "".join(w[:1].upper() + w[1:] for w in re.split(r"[_-]+", base) if w)
    env_id = f"{namespace or 'envgen'}/{base}-v{version}"
    if not ENV_ID.match(env_id):
        raise Failure(f"'{name}' does not make a valid env id ({env_id})",
                      "e.g. GoRight or acme/GoRight-v1", code=2)
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).lower()
    return env_id, stem


def _schema_ref(spec_file: Path) -> tuple[str, bool]:
    """The `$schema=` path for a spec at `spec_file`: the nearest envgen.schema.json above it."""
    import os

    folder = spec_file.resolve().parent
    for candidate in [folder, *folder.parents]:
        schema_path = candidate / SCHEMA_FILE
        if schema_path.is_file():
            return Path(os.path.relpath(schema_path, folder)).as_posix(), True
    return Path(os.path.relpath(Path.cwd().resolve() / SCHEMA_FILE, folder)).as_posix(), False


def render_template(template: str, env_id: str, schema_ref: str) -> str:
    from jinja2 import Environment, StrictUndefined

    text = (TEMPLATE_DIR / f"{template}.yaml.jinja").read_text(encoding="utf-8")
    jinja = Environment(undefined=StrictUndefined, keep_trailing_newline=True,
                        variable_start_string="<<", variable_end_string=">>",
                        block_start_string="<%", block_end_string="%>",
                        comment_start_string="<#", comment_end_string="#>")
    return jinja.from_string(text).render(id=env_id, schema=schema_ref,
                                          title=env_id.split("/")[-1])


@click.command(cls=_Command)
@click.argument("name")
@click.option("-t", "--template", type=click.Choice(TEMPLATES), default="discrete",
              show_default=True, help="What kind of env to start from.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File (or folder) to write; default: specs/<name>.yaml if specs/ exists, "
              "else ./<name>.yaml.")
def new(name: str, template: str, output: Path | None) -> None:
    """Scaffold a commented spec NAME that builds and passes the conformance suite as is.

    NAME is an env name (GoRight, go_right) or a full id (acme/GoRight-v1).
    """
    env_id, stem = _id_for(name)
    if output is None:
        output = (Path("specs") if Path("specs").is_dir() else Path(".")) / f"{stem}.yaml"
    elif output.is_dir():
        output = output / f"{stem}.yaml"
    if output.exists():
        raise Failure(f"{output} already exists; not overwriting it",
                      "choose another file with -o, or delete it first")
    if not output.parent.is_dir():
        raise Failure(f"no such folder: {output.parent}", "create it first, or choose -o",
                      code=2)
    ref, found = _schema_ref(output)
    text = render_template(template, env_id, ref)
    try:
        with output.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise Failure(f"{output} already exists; not overwriting it") from None
    except OSError as exc:
        raise Failure(f"cannot write {output}: {exc.strerror or exc}") from None
    stdout.print(f"wrote {output} ({template} template, id {env_id})")
    if not found:
        stdout.print(f"[yellow]note[/yellow]: no {SCHEMA_FILE} found above it; for editor "
                     f"completion run `envgen schema -o {SCHEMA_FILE}`")
    stdout.print(f"next: `envgen show {output}`, `envgen play {output}`, "
                 f"`envgen build {output.parent}`")


# =====================================================================================
# envgen play: episodes, frames (GIF / MP4 / PNG) and plots
# =====================================================================================


def load_policy(policy: str, env: Any, seed: int) -> Callable[[Any], Any]:
    if policy == "random":
        env.action_space.seed(seed)
        return lambda _obs: env.action_space.sample()
    if not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", policy):
        raise Failure(f"bad --policy '{policy}'",
                      "use 'random' or 'module:function' (function(observation) -> action)",
                      code=2)
    module_name, function = policy.split(":")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise Failure(f"cannot import policy module '{module_name}': {exc}",
                      "run from the folder holding it, or install it", code=2) from None
    fn = getattr(module, function, None)
    if not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(function, names, n=1)
        raise Failure(f"'{module_name}' has no function '{function}'",
                      f"did you mean '{module_name}:{close[0]}'?" if close else "", code=2)
    return fn


def _png_bytes(image: Any) -> bytes:
    """A PNG of an H×W×3 uint8 array (no dependencies)."""
    import numpy as np

    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    raw = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def contact_sheet(frames: list[Any], count: int = 8) -> Any:
    """Up to `count` frames, evenly spaced, side by side in rows of 4, on a grey background."""
    import numpy as np

    picks = sorted({round(i * (len(frames) - 1) / max(count - 1, 1))
                    for i in range(min(count, len(frames)))})
    chosen = [frames[i] for i in picks]
    height = max(f.shape[0] for f in chosen)
    width = max(f.shape[1] for f in chosen)
    columns = min(4, len(chosen))
    rows = math.ceil(len(chosen) / columns)
    gap = 4
    sheet = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap, 3), 128,
                    np.uint8)
    for i, frame in enumerate(chosen):
        r, c = divmod(i, columns)
        y, x = gap + r * (height + gap), gap + c * (width + gap)
        sheet[y:y + frame.shape[0], x:x + frame.shape[1]] = frame
    return sheet


class GifWriter:
    """An animated GIF written frame by frame, without dependencies.

    Uses Pillow (smaller, LZW-compressed files) when it is installed; otherwise writes
    uncompressed LZW codes itself (valid everywhere, but larger).
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.delay = max(2, round(100 / max(fps, 1)))
        self.frames: list[Any] = []
        self.handle: Any = None
        self.previous: Any = None
        try:
            import PIL.Image  # noqa: F401
            self.pillow = True
        except ImportError:
            self.pillow = False

    def add(self, frame: Any) -> None:
        if self.pillow:
            from PIL import Image

            self.frames.append(Image.fromarray(frame).quantize(256, dither=0))
            return
        if self.handle is None:
            self.handle = self.path.open("wb")
            height, width = frame.shape[:2]
            self.handle.write(b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0))
            self.handle.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")
        self.handle.write(_gif_frame(frame, self.delay, self.previous))
        self.previous = frame

    def close(self) -> None:
        if self.pillow:
            if self.frames:
                self.frames[0].save(self.path, save_all=True, append_images=self.frames[1:],
                                    duration=self.delay * 10, loop=0, optimize=False)
            return
        if self.handle is not None:
            self.handle.write(b"\x3b")
            self.handle.close()


def _gif_frame(frame: Any, delay: int, previous: Any = None) -> bytes:
    """One GIF image (graphic control, descriptor, local palette, uncompressed LZW data).

    Only the rectangle that changed since `previous` is stored (drawn over it).
    """
    import numpy as np

    frame = np.asarray(frame, dtype=np.uint8)[..., :3]
    left = top = 0
    if previous is not None and previous.shape == frame.shape:
        changed = (frame != previous).any(axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if len(rows) == 0:
            rows = cols = np.array([0])
        top, left = int(rows[0]), int(cols[0])
        frame = frame[top:rows[-1] + 1, left:cols[-1] + 1]
    height, width = frame.shape[:2]
    packed = (frame[..., 0].astype(np.uint32) << 16) | (frame[..., 1].astype(np.uint32) << 8) \
        | frame[..., 2]
    colors, indices = np.unique(packed.ravel(), return_inverse=True)
    if len(colors) > 256:  # a 6×7×6 colour cube
        levels = np.array([6, 7, 6])
        q = (frame.reshape(-1, 3).astype(np.uint32) * levels // 256)
        indices = (q[:, 0] * 42 + q[:, 1] * 6 + q[:, 2]).astype(np.int64)
        grid = np.stack(np.meshgrid(np.arange(6), np.arange(7), np.arange(6), indexing="ij"), -1)
        palette = (grid.reshape(-1, 3) * 255 // (levels - 1)).astype(np.uint8)
    else:
        palette = np.stack([(colors >> 16) & 255, (colors >> 8) & 255, colors & 255], -1)
        palette = palette.astype(np.uint8)
    table = np.zeros((256, 3), np.uint8)
    table[: len(palette)] = palette
    pixels = indices.astype(np.uint16).ravel()
    # Codes are 9 bits: a clear code (256) before every 254 pixels keeps the table small.
    chunks = math.ceil(len(pixels) / 254)
    body = np.full(chunks * 254, 0xFFFF, np.uint16)
    body[: len(pixels)] = pixels
    padded = np.concatenate([np.full((chunks, 1), 256, np.uint16), body.reshape(chunks, 254)],
                            axis=1).ravel()
    codes = np.concatenate([padded[padded != 0xFFFF], np.array([257], np.uint16)])
    bits = ((codes[:, None] >> np.arange(9, dtype=np.uint16)) & 1).astype(np.uint8)
    data = np.packbits(bits.ravel(), bitorder="little").tobytes()
    blocks = b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255]
                      for i in range(0, len(data), 255))
    return (b"\x21\xf9\x04\x04" + struct.pack("<H", delay) + b"\x00\x00"
            + b"\x2c" + struct.pack("<HHHHB", left, top, width, height, 0x87) + table.tobytes()
            + b"\x08" + blocks + b"\x00")


class Mp4Writer:
    def __init__(self, path: Path, fps: float) -> None:
        try:
            import imageio.v2 as imageio
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise Failure("writing .mp4 needs imageio and imageio-ffmpeg",
                          "pip install 'envgen[media]' (or imageio imageio-ffmpeg); "
                          "or write a .gif") from None
        self.writer = imageio.get_writer(str(path), fps=fps, macro_block_size=1)

    def add(self, frame: Any) -> None:
        self.writer.append_data(frame)

    def close(self) -> None:
        self.writer.close()


class PngWriter:
    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.frames: list[Any] = []

    def add(self, frame: Any) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        if self.frames:
            self.path.write_bytes(_png_bytes(contact_sheet(self.frames)))


WRITERS = {".gif": GifWriter, ".mp4": Mp4Writer, ".png": PngWriter}


def _check_frame(frame: Any, env_id: str) -> Any:
    import numpy as np

    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise Failure(f"{env_id}: render() returned shape {array.shape}, not an H×W×3 image")
    return array[..., :3].astype(np.uint8, copy=False)


def _obs_values(space: Any, obs: Any, prefix: str = "obs") -> list[tuple[str, float]] | None:
    """The observation as named numbers (a Discrete as its value, not one-hot); None for
    spaces without a fixed size (Text, Sequence, Graph, OneOf)."""
    import numpy as np
    from gymnasium import spaces as sp

    if isinstance(space, sp.Dict):
        out: list[tuple[str, float]] = []
        for key, sub in space.spaces.items():
            part = _obs_values(sub, obs[key], f"{prefix}.{key}")
            if part is None:
                return None
            out += part
        return out
    if isinstance(space, sp.Tuple):
        out = []
        for i, sub in enumerate(space.spaces):
            part = _obs_values(sub, obs[i], f"{prefix}[{i}]")
            if part is None:
                return None
            out += part
        return out
    if isinstance(space, (sp.Box, sp.Discrete, sp.MultiDiscrete, sp.MultiBinary)):
        values = np.asarray(obs, dtype=np.float64).ravel()
        if values.size == 1:
            return [(prefix, float(values[0]))]
        return [(f"{prefix}[{i}]", float(v)) for i, v in enumerate(values)]
    return None


def write_plot(path: Path, env_id: str, episodes: list[dict[str, Any]], space: Any) -> str | None:
    """A PNG of reward, return and each observation dimension over time; a note or None."""
    try:
        import matplotlib
    except ImportError:
        raise Failure("--plot needs matplotlib",
                      "pip install 'envgen[media]' (or matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    note = None
    named = [[_obs_values(space, o) for o in e["obs"]] for e in episodes]
    names: list[str] = []
    flat: list[list[list[float]]] = []
    if all(v is not None for ep in named for v in ep):
        names = [name for name, _ in named[0][0]]
        flat = [[[value for _, value in v] for v in ep] for ep in named]  # type: ignore[union-attr]
        if len(names) > 12:
            note = f"the observation has {len(names)} dimensions; plotted the first 12"
            names = names[:12]
    else:
        note = "the observation space has no fixed size; plotted reward and return only"
    panels = 2 + len(names)
    fig, axes = plt.subplots(panels, 1, figsize=(8, 1.6 * panels + 0.8), sharex=True,
                             squeeze=False)
    axes = axes[:, 0]
    offset = 0
    for e, episode in enumerate(episodes):
        rewards = np.asarray(episode["rewards"], dtype=float)
        t_steps = offset + np.arange(1, len(rewards) + 1)
        t_obs = offset + np.arange(len(episode["obs"]))
        axes[0].plot(t_steps, rewards, drawstyle="steps-post", color="C0")
        axes[1].plot(np.concatenate([[offset], t_steps]),
                     np.concatenate([[0.0], np.cumsum(rewards)]), color="C1")
        if names:
            values = np.stack(flat[e])[:, : len(names)]
            for i in range(len(names)):
                axes[2 + i].plot(t_obs, values[:, i], color=f"C{2 + i % 8}")
        if e:
            for ax in axes:
                ax.axvline(offset, color="grey", linewidth=0.8, linestyle=":")
        offset += len(rewards)
    for ax, label in zip(axes, ["reward", "return", *names], strict=False):
        ax.set_ylabel(label, rotation=0, ha="right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("step")
    axes[0].set_title(f"{env_id}: {len(episodes)} episode(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return note


@click.command(cls=_Command)
@click.argument("target", metavar="SPEC|ID")
@click.option("--policy", default="random", show_default=True,
              help="'random' or 'module:function' taking an observation, returning an action.")
@click.option("-n", "--episodes", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-steps", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Stop an episode after this many steps even without a time limit.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Record rgb_array frames: .gif, .mp4 (needs imageio-ffmpeg) or .png "
              "(a contact sheet of 8 frames).")
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a PNG of reward, return and each observation dimension (matplotlib).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print ansi frames.")
def play(target: str, policy: str, episodes: int, seed: int, max_steps: int, out: Path | None,
         plot: Path | None, quiet: bool) -> None:
    """Run episodes of an env and show what it does: ansi frames, a GIF/MP4/PNG, a plot.

    SPEC is a spec file; ID a registered Gymnasium id.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    writer_class = None
    if out is not None:
        writer_class = WRITERS.get(out.suffix.lower())
        if writer_class is None:
            raise Failure(f"--out {out}: unknown format '{out.suffix}'",
                          "use .gif, .mp4 or .png", code=2)
    if plot is not None and plot.suffix.lower() != ".png":
        raise Failure(f"--plot {plot}: write a .png", code=2)
    for path in (out, plot):
        if path is not None and not path.resolve().parent.is_dir():
            raise Failure(f"no such folder: {path.parent}", code=2)
    if plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise Failure("--plot needs matplotlib",
                          "pip install 'envgen[media]' (or matplotlib)") from None
    resolved = resolve(target)
    env_id = resolved.env_id
    probe = _make(env_id)
    modes = list(probe.unwrapped.metadata.get("render_modes", []))
    fps = probe.unwrapped.metadata.get("render_fps") or 30
    probe.close()
    if out is not None and "rgb_array" not in modes:
        raise Failure(f"{env_id} has no rgb_array render mode (it offers: "
                      f"{', '.join(modes) or 'none'}), so there are no frames to record",
                      "drop --out" + (" to print ansi frames" if "ansi" in modes else ""))
    render_mode = "rgb_array" if out is not None else (
        "ansi" if "ansi" in modes and not quiet else None)
    env = _make(env_id, render_mode=render_mode)
    act = load_policy(policy, env, seed)
    writer = writer_class(out, fps) if writer_class else None
    results = []
    recorded: list[dict[str, Any]] = []
    limit = env.spec.max_episode_steps if env.spec else None
    expected = episodes * min(limit or max_steps, max_steps)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        console=stderr, transient=True,
                        disable=not stderr.is_terminal or expected < 200)
    try:
        with progress:
            task = progress.add_task(f"playing {env_id}", total=expected)
            for episode in range(episodes):
                obs, _info = env.reset(seed=seed + episode)
                trace: dict[str, Any] = {"obs": [obs], "rewards": []}
                _emit_frame(env, render_mode, writer, env_id, episode, 0)
                total, steps, terminated, truncated = 0.0, 0, False, False
                while not (terminated or truncated) and steps < max_steps:
                    try:
                        action = act(obs)
                    except Exception as exc:  # noqa: BLE001 - a broken policy is a failure
                        raise Failure(f"policy {policy} failed: {type(exc).__name__}: "
                                      f"{exc}") from None
                    obs, reward, terminated, truncated, _info = env.step(action)
                    steps += 1
                    total += float(reward)
                    trace["obs"].append(obs)
                    trace["rewards"].append(float(reward))
                    _emit_frame(env, render_mode, writer, env_id, episode, steps)
                    progress.advance(task)
                end = "terminated" if terminated else ("truncated" if truncated else
                                                       f"stopped at --max-steps {max_steps}")
                results.append((episode, seed + episode, steps, total, end))
                recorded.append(trace)
    finally:
        env.close()
        if writer is not None:
            writer.close()
    table = Table(title=f"{env_id}, policy {policy}", title_justify="left")
    for column in ("episode", "seed", "steps", "return", "end"):
        table.add_column(column, justify="right" if column != "end" else "left")
    for episode, ep_seed, steps, total, end in results:
        table.add_row(str(episode), str(ep_seed), str(steps), f"{total:.4g}", end)
    stdout.print(table)
    if len(results) > 1:
        returns = [r[3] for r in results]
        mean = sum(returns) / len(returns)
        stdout.print(f"mean return {mean:.4g} over {len(returns)} episodes")
    if out is not None:
        stdout.print(f"wrote {out}")
    if plot is not None:
        note = write_plot(plot, env_id, recorded, env.observation_space)
        if note:
            stdout.print(f"[yellow]note[/yellow]: {escape(note)}")
        stdout.print(f"wrote {plot}")


def _emit_frame(env: Any, mode: str | None, writer: Any, env_id: str, episode: int,
                step: int) -> None:
    if mode is None:
        return
    frame = env.render()
    if mode == "ansi":
        stdout.print(f"[dim]ep {episode} step {step:>4}[/dim] {escape(str(frame).rstrip())}")
    elif writer is not None and frame is not None:
        writer.add(_check_frame(frame, env_id))


# =====================================================================================
# envgen bench
# =====================================================================================


def _rate(step: Callable[[], int], seconds: float) -> tuple[float, int]:
    """Env steps per second of `step` (which returns how many env steps it made)."""
    warmup_end = time.perf_counter() + min(0.1, seconds / 5)
    while time.perf_counter() < warmup_end:
        step()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        for _ in range(16):
            count += step()
        now = time.perf_counter()
    return count / (now - start), count


def bench_single(env_id: str, seconds: float, seed: int) -> tuple[float, int]:
    env = _make(env_id, disable_env_checker=True)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(256)]
    env.reset(seed=seed)
    i = 0

    def step() -> int:
        nonlocal i
        _, _, terminated, truncated, _ = env.step(actions[i & 255])
        i += 1
        if terminated or truncated:
            env.reset()
        return 1

    try:
        return _rate(step, seconds)
    finally:
        env.close()


def bench_vector(env_id: str, num_envs: int, mode: str, seconds: float,
                 seed: int) -> tuple[float, int]:
    import gymnasium as gym

    try:
        envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    except Exception as exc:  # noqa: BLE001
        raise Failure(f"cannot make a {mode} vector env of {env_id}: "
                      f"{type(exc).__name__}: {exc}") from None
    envs.action_space.seed(seed)
    actions = [envs.action_space.sample() for _ in range(64)]
    envs.reset(seed=seed)
    i = 0

    def step() -> int:
        nonlocal i
        envs.step(actions[i & 63])
        i += 1
        return num_envs

    try:
        return _rate(step, seconds)
    finally:
        envs.close()


@click.command(cls=_Command)
@click.argument("target", metavar="SPEC|ID")
@click.option("-n", "--num-envs", type=click.IntRange(min=1), default=16, show_default=True,
              help="Sub-envs of the vector envs.")
@click.option("-s", "--seconds", type=click.FloatRange(min=0.01), default=1.0,
              show_default=True, help="Time spent measuring each backend.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def bench(target: str, num_envs: int, seconds: float, seed: int, as_json: bool) -> None:
    """Steps per second: the single env, SyncVectorEnv and the native vector env (if any).

    Actions are random (sampled beforehand); episodes reset when they end.
    """
    import gymnasium as gym

    resolved = resolve(target)
    env_id = resolved.env_id
    rows = []
    rate, count = bench_single(env_id, seconds, seed)
    rows.append({"backend": "single env", "num_envs": 1, "steps_per_s": rate, "steps": count})
    rate, count = bench_vector(env_id, num_envs, "sync", seconds, seed)
    rows.append({"backend": "SyncVectorEnv", "num_envs": num_envs, "steps_per_s": rate,
                 "steps": count})
    native = gym.registry[env_id].vector_entry_point
    problem = None
    if native is not None:
        try:
            rate, count = bench_vector(env_id, num_envs, "vector_entry_point", seconds, seed)
        except Failure as failure:
            problem = failure.message
        else:
            name = (_entry_name(native) or "").rsplit(":", 1)[-1]
            rows.append({"backend": f"native ({name})", "num_envs": num_envs,
                         "steps_per_s": rate, "steps": count})
    base = rows[0]["steps_per_s"]
    for row in rows:
        row["speedup"] = row["steps_per_s"] / base if base else None
    if as_json:
        click.echo(json.dumps({"id": env_id, "seconds": seconds, "results": rows,
                               "native": native is not None, "error": problem}, indent=2))
        if problem:
            sys.exit(1)
        return
    table = Table(title=f"{env_id}: env steps per second ({seconds:g} s each)",
                  title_justify="left")
    for column in ("backend", "envs", "steps/s", "vs single"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for row in rows:
        table.add_row(escape(row["backend"]), str(row["num_envs"]),
                      f"{row['steps_per_s']:,.0f}", f"{row['speedup']:.2f}×")
    stdout.print(table)
    if native is None:
        stdout.print("[dim]no native vector env registered for this id "
                     "(gym.make_vec falls back to SyncVectorEnv)[/dim]")
    if problem:
        raise Failure(f"the native vector env failed: {problem}")


COMMANDS = [schema, new, show, play, bench]


def _main(argv: list[str]) -> int:
    """`python -m envgen._cli_dx reference [ROOT]`: rewrite envgen.schema.json and
    docs/reference.md under ROOT (default: the current folder)."""
    if not argv or argv[0] != "reference":
        print(_main.__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1]) if len(argv) > 1 else Path(".")
    for path, text in ((root / SCHEMA_FILE, schema_text()),
                       (root / REFERENCE_FILE, reference_markdown())):
        print(f"{'wrote' if write_if_changed(path, text) else 'unchanged'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
