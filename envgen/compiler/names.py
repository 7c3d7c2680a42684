"""The generated-names discipline: spec names and the generator's names never meet.

A generated module binds two kinds of names: the spec's own (params, state, `let` values,
constants, labels, function arguments and locals, all of which appear in generated code
as plain Python names) and the generator's (imports, helpers, method parameters,
bookkeeping locals). They must never collide: a state variable called `ids` once silently
replaced the vector env's list of envs to reset, and a constant called `AutoresetMode`
replaced an import. The rule:

1. every name the generator binds either starts with `_` (the spec language refuses
   names that start with `_`), or belongs to the reserved vocabulary (`RESERVED` in
   the analysis, which this module extends);
2. the reserved vocabulary contains every name the templates bind: it is read from the
   templates themselves (`TEMPLATE_NAMES`), so a template that starts importing a new
   name reserves it without anyone updating a list.

`tests/test_generated_names.py` proves rule 1 on the code generated for every spec in the
repository: it extracts each name any scope binds and checks that the ones the spec did
not write are `_`-prefixed or reserved.
"""

from __future__ import annotations

import ast
import keyword
import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "backends" / "templates"

#: Names the backends emit outside the templates (imports added on demand, class-level
#: vocabulary of the env classes) that are not `_`-prefixed. Everything else the
#: backends bind is `_`-prefixed by construction.
EMITTED = frozenset(
    {
        "math",  # `import math`, added when the spec uses a math constant or function
        "metadata",
        "single_env",
        "render_state",
        "actions",  # VectorEnv.step(self, actions)
        "params",  # **params of every constructor
        "TRUSTED_HOOKS",  # the marker of a module that runs Python hooks
        # the JAX module (backends/jax.py): its imports and public names; its functions'
        # own parameters and locals are `_`-prefixed
        "jax",
        "jnp",
        "State",
        "Params",
        "SingleEnv",
        "STATIC_PARAMS",
        "DATA_PARAMS",
        "RESET_DRAW_SITES",
        "STEP_DRAW_SITES",
        "RENDERS",
        "observe",
        "default_params",
        "reset_info",  # the info entries a reset gives (the action mask)
        "RESET_INFO",
        "max_steps_in_episode",  # the time limit's field of Params (gymnax's name)
        "replace",  # State and Params methods (flax-style `params.replace(...)`) and
        "at",  # the batch indexer (`states.at[i].set(...)`): fields may not shadow them
        "package",  # envgen.jax.make(id, package=...): a param so named could not be passed
        "env_id",  # the -jax ids' entry points take it as a keyword
    }
)


def bound_names(tree: ast.AST) -> set[str]:
    """Every name some scope of `tree` binds: imports, defs, parameters, targets."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


_JINJA_BLOCK = re.compile(r"{%-?.*?-?%}", re.S)
_JINJA_EXPR = re.compile(r"{{.*?}}", re.S)


def template_python(text: str) -> str:
    """A Jinja2 template of a Python module as parseable Python: `{{ x }}` becomes a
    placeholder name, `{% ... %}` tags disappear (their own lines with them)."""
    lines: list[str] = []
    indent = ""  # where a line that is only `{{ x }}` (a block of code) goes
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("{%") and stripped.endswith("%}"):
            continue
        if _JINJA_EXPR.fullmatch(stripped):
            lines.append(indent + "_placeholder")
            continue
        code = _JINJA_EXPR.sub(_placeholder, _JINJA_BLOCK.sub("", line))
        if code.strip():
            indent = code[: len(code) - len(code.lstrip())]
            indent += "    " if code.rstrip().endswith(":") else ""
        lines.append(code)
    return "\n".join(lines) + "\n"


def _placeholder(match: re.Match[str]) -> str:
    # `{{ 'A, ' if x else '' }}B`: the expression is a prefix of a name list, not a name
    following = match.string[match.end() : match.end() + 1]
    return "" if following.isidentifier() else "_placeholder"


def _template_names() -> frozenset[str]:
    names: set[str] = set()
    for path in sorted(TEMPLATES.glob("*.py.jinja")):
        tree = ast.parse(template_python(path.read_text(encoding="utf-8")), str(path))
        names |= bound_names(tree)
    names.discard("_placeholder")
    return frozenset(names)


#: Every name the module templates bind (imports, classes, methods, parameters, locals).
TEMPLATE_NAMES = _template_names()

#: The generator's names that are not `_`-prefixed: specs may not use them.
GENERATED = frozenset(n for n in TEMPLATE_NAMES | EMITTED if not n.startswith("_"))


def is_reserved(name: str) -> bool:
    """Whether a spec is refused for binding `name` (as a param, state, constant, local...)."""
    from envgen.compiler._language import RESERVED

    return name.startswith("_") or name in RESERVED or keyword.iskeyword(name)
