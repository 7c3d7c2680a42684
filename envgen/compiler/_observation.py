"""The observation: its expressions, checked against the observation space."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from envgen.compiler.diagnostics import did_you_mean
from envgen.compiler.ir import Code, ObservationModel, ShapeCheck, SpaceModel
from envgen.compiler.types import dim_equal

if TYPE_CHECKING:
    from envgen.compiler._checker import Checker, Scope


def build_observation(
    checker: Checker, value: Any, space: SpaceModel, scope: Scope, path: tuple
) -> ObservationModel:
    model = ObservationModel(space)
    kind = space.kind
    if kind in ("Dict", "Graph", "OneOf") or (kind == "Tuple" and isinstance(value, list)):
        if kind == "Dict":
            expected = [k for k, _ in space.children]
        elif kind == "Graph":
            expected = ["nodes", "edge_links", "edges"] if len(space.children) > 1 else ["nodes"]
        elif kind == "OneOf":
            expected = ["index", "value"]
        else:
            expected = list(range(len(space.children)))
        if kind == "Tuple":
            if len(value) != len(expected):
                checker.error(
                    path,
                    f"the observation has {len(value)} entries but the Tuple "
                    f"space has {len(expected)}",
                    "give one expression per entry",
                    "observation",
                )
                return model
            items = list(enumerate(value))
        else:
            if not isinstance(value, dict):
                checker.error(
                    path,
                    f"a {kind} observation is a mapping with the keys "
                    f"{', '.join(map(str, expected))}",
                    f"write `observation: {{{expected[0]}: ..., ...}}`",
                    "observation",
                )
                return model
            missing = [k for k in expected if k not in value]
            extra = [k for k in value if k not in expected]
            for key in extra:
                checker.error(
                    path + (key,),
                    f"'{key}' is not a key of the {kind} space",
                    did_you_mean(str(key), map(str, expected))
                    or f"the keys are {', '.join(map(str, expected))}",
                    "observation",
                )
            if missing:
                checker.error(
                    path,
                    f"the observation lacks {', '.join(map(str, missing))}",
                    f"the {kind} space has the keys {', '.join(map(str, expected))}",
                    "observation",
                )
            if missing or extra:
                return model
            items = [(k, value[k]) for k in expected]
        children = dict(space.children)
        for key, item in items:
            if kind in ("Dict", "Tuple"):
                child_space = children[key]
                model.children.append(
                    (key, build_observation(checker, item, child_space, scope, path + (key,)))
                )
            else:
                code = checker.parse_expr(item, path + (key,))
                checker.check_expr(code, scope, random=False)
                sub = SpaceModel("Any", path + (key,))
                model.children.append((key, ObservationModel(sub, code)))
        return model
    if isinstance(value, list):
        code = list_code(checker, value, path)
    else:
        code = checker.parse_expr(value, path)
    if (
        kind == "Tuple"
        and isinstance(code.expr, (ast.List, ast.Tuple))
        and len(code.expr.elts) == len(space.children)
    ):
        # one quoted list is one array expression, not one entry per element (trial 4 N3)
        entries = ", ".join(ast.unparse(e) for e in code.expr.elts)
        checker.error(
            path,
            f"a Tuple observation is a YAML list with one entry per element, but this is "
            f"one quoted expression (an array of {len(code.expr.elts)} values)",
            f"write the entries as a YAML list, e.g. [{entries}], quoting only the entries "
            "that need it",
            "observation",
        )
        return model
    checker.check_expr(code, scope, random=False)
    model.code = code
    if not check_observation_type(checker, code, space):
        origin = value_dependent_length(checker, code.expr)
        if origin is not None:
            # a length that changes from step to step: no fixed-shape space can hold it
            checker.error(
                path,
                f"the observation's length depends on state values at `{ast.unparse(origin)}`,"
                f" but a {space.kind} space has one shape",
                "make it a fixed length: pad it (where(mask, x, 0) keeps the shape), slice by "
                "params, or rotate with roll(x, k)",
                "observation",
                origin,
            )
        else:
            # a length of params the symbols cannot follow (n // 2): checked each time made
            model.check_shape_at = str(checker.document.location(path))
    return model


def value_dependent_length(checker: Checker, node: ast.expr | None) -> ast.expr | None:
    """The innermost sub-expression whose length the types cannot follow although its parts'
    shapes are known, when it reads a value that changes between steps (state, a local, the
    action, `elapsed_steps`): `arr[:k]`, `zeros(k)`, `x[x > 0]`, `flatnonzero(x)` with k
    or x state. Such a length changes between steps."""
    if node is None:
        return None
    t = checker.types.get(id(node))
    if t is None or t.dtype == "any" or not _undecided(t):
        return None
    undecided = [
        child
        for child in ast.walk(node)
        if child is not node
        and isinstance(child, ast.expr)
        and getattr(checker.types.get(id(child)), "dtype", "any") != "any"
        and _undecided(checker.types[id(child)])
    ]
    outer = [c for c in undecided if not any(c in ast.walk(o) for o in undecided if o is not c)]
    if len(outer) > 1:
        # two unknown lengths may add up to a fixed one (`concatenate([x[:k], zeros(n - k)])`,
        # k <= n): left to the check each time the value is made
        return None
    if outer:
        return value_dependent_length(checker, outer[0])  # `arange(k) * 1.0`: the arange
    parts = [c for c in ast.walk(node) if c is not node and isinstance(c, ast.expr)]

    def varying(c: ast.expr, scalars_only: bool) -> bool:
        t = checker.types.get(id(c))
        return (
            isinstance(c, ast.Name)
            and getattr(checker.symbols.get(id(c)), "kind", None) not in _FIXED_FOR_THE_ENV
            and (not scalars_only or (t is not None and t.is_scalar))
        )

    # a length set by a changing number (`arr[:k]`, `zeros(k)`), or by the values of an
    # array (`x[x > 0]`, `flatnonzero(x)`); not by arrays of known shape (`x[:n]`)
    by_values = (isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice)) or (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "flatnonzero"
    )
    return node if any(varying(c, not by_values) for c in parts) else None


#: What a name can be whose value is fixed once the env is made (the rest vary with steps).
_FIXED_FOR_THE_ENV = {"param", "let", "const", "constant", "function", "label", None}


def _undecided(t: Any) -> bool:
    return t.shape is None or None in t.shape


def list_code(checker: Checker, values: list[Any], path: tuple) -> Code:
    """A list of YAML expressions as one array expression, keeping each element's location."""
    elements = []
    spans = checker.document.spans
    parent = spans.get(tuple(path))
    for i, value in enumerate(values):
        element = checker.parse_expr(value, path + (i,))
        own = spans.get(tuple(path) + (i,))
        if parent is not None and own is not None and element.expr is not None:
            # Re-base the element's positions onto the list's node, where errors point.
            lines = own.content_line - parent.content_line
            columns = own.content_column - parent.content_column
            for node in ast.walk(element.expr):
                if hasattr(node, "lineno"):
                    if node.lineno == 1 and lines == 0:
                        node.col_offset += columns
                    elif node.lineno == 1:
                        node.col_offset += own.content_column - 1
                    node.lineno += lines
        elements.append(element.expr)
    code = Code(path=path, expr=ast.List(elts=elements, ctx=ast.Load()))
    return code


def check_observation_type(checker: Checker, code: Code, space: SpaceModel) -> bool:
    """Check the observation's type against its space; False when its shape is left to the
    env to check each time (a length that depends on values, not only on params)."""
    t = code.type
    if t.dtype == "any":
        return True
    path = code.path
    kind = space.kind
    if kind == "Discrete":
        if not t.is_scalar or t.kind not in ("int", "bool"):
            checker.error(
                path,
                f"a Discrete observation must be an integer scalar, got {t.describe()}",
                "convert with int(...)",
                "observation",
            )
    elif kind in ("Box", "MultiDiscrete", "MultiBinary"):
        if not t.is_numeric:
            checker.error(
                path, f"a {kind} observation must be numeric, got {t.describe()}", "", "observation"
            )
            return True
        expected = space.shape
        if kind != "Box" and t.kind == "float":
            checker.error(
                path,
                f"a {kind} observation must hold integers, got {t.describe()}",
                "convert with int(...)",
                "observation",
            )
        if (
            kind == "Box"
            and space.dtype != "bool"
            and np_kind(space.dtype) == "int"
            and (t.kind == "float")
        ):
            checker.error(
                path,
                f"the {space.dtype} Box cannot hold {t.describe()}",
                "convert explicitly, e.g. int(...), or use a float dtype",
                "observation",
            )
        if expected is not None and t.shape is None:
            return False  # rank unknown: `x[x > 0]`
        if expected is not None and t.shape is not None:
            verdicts = [dim_equal(a, b) for a, b in zip(expected, t.shape, strict=False)]
            if len(expected) != len(t.shape) or False in verdicts:
                hint = "make the expression's shape match the declared space"
                if adds_a_list(code.expr):
                    hint = (
                        "`+` adds arrays element by element (as in NumPy); "
                        "it does not join them: the observation must have the space's shape"
                    )
                checker.error(
                    path,
                    f"the observation is {t.described()} but the space has "
                    f"shape {shape_text(expected)}",
                    hint,
                    "observation",
                )
            elif None in verdicts and all(
                a is not None and b is not None for a, b in zip(expected, t.shape, strict=True)
            ):
                # Lengths only the param values decide: checked once when the env is made.
                checker.shape_checks.append(
                    ShapeCheck(
                        "the observation" + "".join(f"[{p!r}]" for p in path[1:]),
                        t.shape,
                        expected,
                        str(checker.document.location(path)),
                    )
                )
            elif None in verdicts:
                return False  # a length no polynomial of params gives: `flatnonzero(x)`
    elif kind == "Text":
        if t.dtype != "str" or not t.is_scalar:
            checker.error(
                path,
                f"a Text observation must be a string, got {t.describe()}",
                "build one with text(codes, charset)",
                "observation",
            )
    return True


def adds_a_list(node: ast.expr | None) -> bool:
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add)
        and any(isinstance(side, ast.List) for side in (node.left, node.right))
    )


def np_kind(dtype: str) -> str:
    return "int" if dtype.startswith(("int", "uint")) else dtype


def shape_text(shape: tuple[int | None, ...]) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"
