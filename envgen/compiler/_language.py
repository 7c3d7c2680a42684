"""The language's fixed rules: reserved names, refused syntax, size limits."""

from __future__ import annotations

import ast

from envgen.compiler.names import GENERATED
from envgen.runtime import MAX_ELEMENTS as _RUNTIME_MAX_ELEMENTS
from envgen.runtime.numeric import INT64_MAX
from envgen.runtime.numeric import fits_int64 as fits_int64  # one int64 range: the env's

#: Names the generated module and methods use; specs may not define them.
RESERVED = {
    "self",
    "np",
    "math",
    "gym",
    "spaces",
    "action",
    "obs",
    "reward",
    "terminated",
    "truncated",
    "info",
    "seed",
    "options",
    "elapsed_steps",
    "render_mode",
    "config",
    "kwargs",
    "metadata",
    "spec",
    "np_random",
    "observation_space",
    "action_space",
    "action_masks",  # the method sb3-contrib's MaskablePPO calls (specs with action_mask)
    "step",
    "reset",
    "render",
    "close",
    "super",
    "None",
    "range",
    "print",
    "eval",
    "exec",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "compile",
    "input",
    "type",
    "object",
    "isinstance",
    "dict",
    "list",
    "tuple",
    "set",
    "str",
    "repr",
    "hash",
    "id",
    "iter",
    "next",
    "map",
    "filter",
    "zip",
    "enumerate",
    "sorted",
    "reversed",
    "format",
    "callable",
    "classmethod",
    "staticmethod",
    "property",
    "Exception",
    "ValueError",
    "TypeError",
    "RuntimeError",
    "annotations",
    "unwrapped",
    "jinja2",
    "utils",
    "logger",
    # Module-level names of a generated module (labels and constants live beside them).
    "ID",
    "PARAMS",
    "ANSI_TEMPLATE",
    "HOOK_AFTER_RESET",
    "HOOK_AFTER_STEP",
    "Mapping",
    "Any",
    # Attributes of a generated env (params, let values and state are stored on `self`).
    "invalid_action",
    "check_state",
    "max_episode_steps",
    "np_random_seed",
    # Keyword arguments and attributes of a generated vector env.
    "num_envs",
    "autoreset_mode",
    "backend",
    "backend_note",
    "threads",
    # Module-level names the compiled kernels of a vector env read.
    "prange",
    "jit",
    "get_wrapper_attr",
    "set_wrapper_attr",
    "has_wrapper_attr",
}
# Every name the templates and backends bind without a `_` prefix (envgen/compiler/names.py).
RESERVED |= GENERATED
#: Functions become methods `_name`; these would collide with the env's own attributes.
RESERVED_METHODS = {"closed", "needs_reset", "elapsed_steps", "np_random", "np_random_seed"}
#: Largest number of elements a space or state array may have: refused at build for the
#: shapes the compiler can fold, checked when the env is made for shapes of params.
MAX_ELEMENTS = _RUNTIME_MAX_ELEMENTS  # one number: the generated env checks it too
#: Largest integer a space size may be (Gymnasium stores them as int64).
MAX_INT64 = INT64_MAX


#: Python builtins a hostile spec might reach for; they get a hint that the language cannot.
PYTHON_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "open",
        "getattr",
        "setattr",
        "__import__",
        "compile",
        "globals",
        "locals",
        "vars",
        "input",
        "print",
        "type",
    }
)

REFUSED = {
    ast.Attribute: (
        "attribute access (a.b) is not part of the language",
        "use the function table, e.g. sqrt(x) rather than math.sqrt(x)",
    ),
    ast.Import: ("import is not allowed", "the language has no modules; use its functions"),
    ast.ImportFrom: ("import is not allowed", "the language has no modules; use its functions"),
    ast.Lambda: ("lambda is not allowed", "define a helper under `functions:`"),
    ast.FunctionDef: ("def is not allowed in code", "define a helper under `functions:`"),
    ast.AsyncFunctionDef: ("def is not allowed in code", "define a helper under `functions:`"),
    ast.ClassDef: ("class is not allowed", "state lives under `state:`"),
    ast.While: ("while loops are not allowed", "use `for i in range(n)` with a bounded n"),
    ast.ListComp: ("comprehensions are not allowed", "use array functions or a for loop"),
    ast.SetComp: ("comprehensions are not allowed", "use array functions or a for loop"),
    ast.DictComp: ("comprehensions are not allowed", "use array functions or a for loop"),
    ast.GeneratorExp: (
        "generator expressions are not allowed",
        "use array functions or a for loop",
    ),
    ast.With: (
        "with is not allowed",
        "the language has no files or contexts; assign values directly",
    ),
    ast.Try: ("try is not allowed", "guard the computation with if/else instead"),
    ast.Raise: ("raise is not allowed", "end the episode with `terminated`"),
    ast.Assert: ("assert is not allowed", "end the episode with `terminated`, or clip the value"),
    ast.Delete: ("del is not allowed", "locals end with the block; just stop using the name"),
    ast.Global: ("global is not allowed", "state variables are assigned directly by name"),
    ast.Nonlocal: ("nonlocal is not allowed", "state variables are assigned directly by name"),
    ast.Return: ("return is not allowed in a block", "functions return their `return:` value"),
    ast.Yield: ("yield is not allowed", "a block runs once per step; assign the value instead"),
    ast.YieldFrom: ("yield is not allowed", "a block runs once per step; assign the value instead"),
    ast.Await: ("await is not allowed", "the language is synchronous; call functions directly"),
    ast.NamedExpr: ("the walrus operator := is not allowed", "assign on its own line"),
    ast.JoinedStr: ("f-strings are not allowed in code", "use the ansi render template for text"),
    ast.Dict: (
        "dict literals are not allowed in code",
        "write mappings in YAML (`constants:`, `info:`)",
    ),
    ast.Set: ("set literals are not allowed", "use an array, e.g. [1, 2]"),
    ast.Starred: ("* unpacking is not allowed", "pass the arguments one by one"),
    ast.Break: ("break is not allowed", "loops run a fixed number of times"),
    ast.Continue: ("continue is not allowed", "use if/else inside the loop"),
}
if hasattr(ast, "Match"):
    REFUSED[ast.Match] = ("match is not allowed", "use if/elif/else")
if hasattr(ast, "TryStar"):
    REFUSED[ast.TryStar] = ("try is not allowed", "guard the computation with if/else instead")
