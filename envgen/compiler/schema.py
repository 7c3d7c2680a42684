"""The JSON Schema of a spec file and the Markdown reference, generated from the models.

Both come from the Pydantic models in `envgen.compiler.spec` (their docstrings, field descriptions
and examples) and from the DSL function table `envgen.compiler.functions.BUILTINS`, so they never
drift from what envgen accepts:

    envgen schema -o envgen.schema.json --markdown docs/reference.md
    python -m envgen.cli._commands reference          # the same two files, from the repo root
"""

from __future__ import annotations

import errno
import functools
import json
import stat
from pathlib import Path
from typing import Any

SCHEMA_FILE = "envgen.schema.json"
REFERENCE_FILE = "docs/reference.md"
SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
EXPR_REF = {"$ref": "#/$defs/Expr"}

# --- the JSON Schema -------------------------------------------------------------------

_EXPR_TYPES = [{"type": "boolean"}, {"type": "integer"}, {"type": "number"}, {"type": "string"}]
#: Mapping keys that become Python names (params, state, ...): no leading `_`.
_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"


@functools.cache
def _schema_generator() -> type:
    from pydantic.json_schema import GenerateJsonSchema

    class SchemaGenerator(GenerateJsonSchema):
        """Pydantic's generator, except that examples keep their keys in the order written
        (`{low: 0, high: 1, shape: [2]}`, not sorted)."""

        def sort(self, value: Any, parent_key: str | None = None) -> Any:
            if parent_key == "examples":
                return value
            if isinstance(value, dict):
                keys = value if parent_key in ("properties", "default") else sorted(value)
                return {key: self.sort(value[key], key) for key in keys}
            if isinstance(value, list):
                return [self.sort(item, parent_key) for item in value]
            return value

    return SchemaGenerator


def _generic_expr_description() -> str:
    from envgen.compiler.spec import Expr

    for item in getattr(Expr, "__metadata__", ()):
        if getattr(item, "description", None):
            return item.description
    return ""


def _collapse(node: Any, generic: str) -> Any:
    """Replace every inline copy of the `Expr` union by a reference to one definition."""
    if isinstance(node, list):
        return [_collapse(n, generic) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _collapse(v, generic) for k, v in node.items()}
    if node.get("anyOf") == _EXPR_TYPES:
        del node["anyOf"]
        if node.get("description") == generic:
            del node["description"]
        node = {**EXPR_REF, **node}
    return node


def _model_schema(model: type, generic: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the model's own schema, its definitions), `Expr` collapsed."""
    raw = model.model_json_schema(by_alias=True, schema_generator=_schema_generator())
    defs: dict[str, Any] = raw.pop("$defs", {})
    return _collapse(raw, generic), {name: _collapse(d, generic) for name, d in defs.items()}


#: The keys that make a spec multi-agent (`envgen.compiler._multiagent_spec.is_multiagent`).
MULTIAGENT_KEYS = ("agents", "roles")


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file: the models' schema (descriptions and examples
    included), with `Expr` shared through one definition and tightened where the models'
    validators check more than their schema says.

    A spec with `agents:` or `roles:` is a multi-agent spec (`MultiAgentSpec`), any other
    a single-agent one (`EnvSpec`): the root says so with `if`/`then`/`else`, as envgen
    decides it, so an editor checks each kind against its own keys."""
    from envgen.compiler import _multiagent_spec as m
    from envgen.compiler import spec as s

    generic = _generic_expr_description()
    root, defs = _model_schema(s.EnvSpec, generic)
    multi, multi_defs = _model_schema(m.MultiAgentSpec, generic)
    for name, definition in multi_defs.items():
        # Shared models (spaces, params, render, ...) are one definition for both kinds.
        assert defs.setdefault(name, definition) == definition, name
    # Tighten what Pydantic's validators check but its schema cannot say.
    props = root["properties"]
    for spec_props in (props, multi["properties"]):
        spec_props["id"]["pattern"] = s.ENV_ID.pattern
        for field in ("params", "state", "let", "functions", "constants", "info"):
            spec_props[field]["propertyNames"] = {"pattern": _NAME_PATTERN}
    multi["properties"]["roles"]["propertyNames"] = {"pattern": _NAME_PATTERN}
    defs["RoleSpec"]["properties"]["info"]["anyOf"][0]["propertyNames"] = {"pattern": _NAME_PATTERN}
    agent_names = {
        "type": "array",
        "items": {"type": "string", "pattern": m.AGENT_NAME.pattern},
        "minItems": 1,
        "uniqueItems": True,
    }
    multi["properties"]["agents"]["anyOf"][0] = agent_names
    defs["RoleSpec"]["properties"]["agents"]["anyOf"][0] = agent_names
    defs["AgentCount"]["properties"]["prefix"]["anyOf"][0]["pattern"] = _NAME_PATTERN
    # A multi-agent spec names its agents one way: `agents` or `roles`, not both.
    multi["oneOf"] = [{"required": ["agents"]}, {"required": ["roles"]}]
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
    defs["EnvSpec"] = root
    defs["MultiAgentSpec"] = multi
    schema = {
        "$schema": SCHEMA_URI,
        "$id": "https://envgen.dev/envgen.schema.json",
        "title": "envgen spec",
        "description": "A YAML spec that envgen compiles into a Gymnasium environment, or "
        "(with `agents` or `roles`) into a PettingZoo multi-agent environment. "
        "Generated by `envgen schema`; do not edit.",
        "type": "object",
        "if": {"anyOf": [{"required": [key]} for key in MULTIAGENT_KEYS]},
        "then": {"$ref": "#/$defs/MultiAgentSpec"},
        "else": {"$ref": "#/$defs/EnvSpec"},
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
    "RequireSpec": "require",
}


def _link(name: str) -> str:
    if name in _SECTIONS:
        return f"[{_SECTIONS[name]} entry](#{_SECTIONS[name]})"
    if name in _MULTIAGENT_SECTIONS:
        section = _MULTIAGENT_SECTIONS[name]
        return f"[{section}](#{section.replace(' ', '-')})"
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
        *("concatenate", "stack", "ravel", "reshape", "roll", "array", "eye", "flatnonzero"),
    ):
        return "Joining and reshaping arrays"
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
    from envgen.compiler import spec as s
    from envgen.compiler.functions import BUILTINS

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
        *_fields_table(defs["EnvSpec"]),
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
    out += _multiagent_sections(defs)
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
        out += _GROUP_NOTES.get(group, [])
    return "\n".join(out).rstrip() + "\n"


#: The parts of a multi-agent spec, in the order the reference shows them.
_MULTIAGENT_SECTIONS = {
    "RoleSpec": "roles",
    "AgentCount": "agent count",
    "AgentStateVarSpec": "per-agent state",
    "TurnsSpec": "turns",
    "RejoinSpec": "rejoin",
    "GlobalStateSpec": "global_state",
}


def _multiagent_sections(defs: dict[str, Any]) -> list[str]:
    """The keys of a multi-agent spec (`agents:` or `roles:`) and of its parts."""
    out = [
        "## Multi-agent specs",
        "",
        "A spec with `agents` or `roles` is a multi-agent spec: envgen compiles it to a",
        "PettingZoo `ParallelEnv` (or an `AECEnv` with `turns`); see",
        "[multiagent.md](multiagent.md). Its code also sees `agent` (the index of the agent",
        "the code is about), `num_agents` and `live`. Its keys:",
        "",
        *_fields_table(defs["MultiAgentSpec"]),
        "",
    ]
    for model, section in _MULTIAGENT_SECTIONS.items():
        definition = defs[model]
        if model == "AgentStateVarSpec":  # only `per_agent` is new; the rest is `state`
            definition = {
                "properties": {"per_agent": definition["properties"]["per_agent"]},
            }
        out += [
            f"### {section}",
            "",
            " ".join(defs[model].get("description", "").split()),
            "",
            *_fields_table(definition),
            "",
        ]
    return out


#: Prose after a group's table of functions.
_GROUP_NOTES = {
    "Reductions and linear algebra": [
        "`axis=` takes a whole-number literal (negative counts from the end, as in NumPy); the",
        "result has that axis removed and the dtype NumPy gives (`sum` of int8 is int64, `mean`",
        "of float32 is float32). Without it a reduction is over all elements; `min(x, axis=0)`",
        "and `max(x, axis=0)` reduce one array along an axis.",
        "",
    ],
    "Joining and reshaping arrays": [
        "Each returns a new array (never a view of state), with the dtype and shape NumPy gives.",
        "Lengths are followed symbolically: `concatenate([[inventory], pipeline])` of a",
        "`pipeline` of shape `[lead_time]` is checked against a Box of shape `[lead_time + 1]`",
        "at build time. A scalar is not an array: `[inventory, pipeline]` is refused (NumPy",
        "cannot make an array of it); write `concatenate([[inventory], pipeline])`. In the",
        "native vector env, `flatnonzero` of per-env values (its length differs from env to",
        "env) and `eye` of a per-env size are not supported; on params, `let` values and",
        "constants they are.",
        "",
    ],
}


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it holds it already; True if written.

    The folder must exist (a mistyped path must not create folders), and an existing `path`
    must be a regular file: a link would write somewhere else, and a FIFO would block the
    read. The write is atomic (`envgen._output.atomic_write`): an interrupted write leaves
    the old file whole. `OSError` with a message otherwise."""
    from envgen._output import FileTooLarge, atomic_write, read_regular

    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise OSError(
            errno.EINVAL, "it is not a regular file (a link, folder or device); remove it first"
        )
    data = text.encode("utf-8")
    if mode is not None:
        try:
            if read_regular(path, len(data)) == data:
                return False
        except FileTooLarge:  # longer than the text: it changed
            pass
    if not path.parent.is_dir():
        raise OSError(errno.ENOENT, f"no such folder {path.parent}; create it first")
    atomic_write(path, data)
    return True
