"""Spaces: the SpaceModel of each space in the spec, and the checks on its arguments."""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING, Any

from envgen.compiler._language import MAX_ELEMENTS, MAX_INT64
from envgen.compiler._limits import fold, parse
from envgen.compiler.ir import Code, SizeCheck, SpaceModel
from envgen.compiler.types import ANY, INT, STR, Dim, Sym, T, dim_equal

if TYPE_CHECKING:
    from envgen.compiler._checker import Checker, Scope


def check_size(
    checker: Checker, dims: list[Dim], path: tuple, codes: list[Code] | None = None
) -> None:
    """Refuse arrays (state, Box and MultiBinary spaces) whose shape is invalid when the env
    is made with its default params: a negative length (an empty space), or more elements
    than memory allows. A shape of params is also checked when the env is made
    (`SizeCheck`), for the params it is made with. `codes` are the shape's parsed entries
    (a length whose dimension is not known is folded from them)."""
    space = "state" not in path[:1]
    minimum = 1 if space else 0
    literal = all(isinstance(d, int) for d in dims)
    settings = [("the default params", checker.default_values())]
    if not literal:  # each variant is an env made with other params
        settings += [
            (f"the params of the variant {variant}", checker.default_values(variant))
            for variant in getattr(checker.spec, "variants", {})
        ]
    for label, defaults in settings:
        values: list[int | float | None] = []
        for i, dim in enumerate(dims):
            value = dim if isinstance(dim, int) else _at(dim, defaults)
            if value is None and codes is not None and i < len(codes):
                value = fold(codes[i].expr, defaults)
            values.append(value)
        known = [v for v in values if isinstance(v, (int, float))]
        total = math.prod(abs(v) for v in known) if known else 0
        problem = ""
        if known and min(known) < minimum and not literal:
            problem = "a negative length" if min(known) < 0 else "a length of 0"
            hint = "choose params (and ge/le bounds) that give " + (
                "positive lengths" if space else "lengths of 0 or more"
            )
        elif total > MAX_ELEMENTS:
            problem = f"{total:.0f} elements, more than the {MAX_ELEMENTS} accepted"
            hint = "use smaller dimensions" + ("" if literal else " (or smaller params)")
        if problem and literal:
            checker.error(path, f"the shape {_text(dims)} has {problem}", hint, "range")
            return
        if problem:
            written = [
                str(d) if d is not None or codes is None else ast.unparse(codes[i].expr)
                for i, d in enumerate(dims)
            ]
            read = _params_read(checker.spec, [c.expr for c in codes or ()])
            read += [n for n in checker.spec.params if any(n in _sym_names(d) for d in dims)]
            read = list(dict.fromkeys(read))
            params = ", ".join(f"{n}={defaults[n]!r}" for n in read if n in defaults)
            checker.error(
                path,
                f"the shape {_text(written)} is {_text(values)}"
                f"{f' with {label} ({params})' if params else ''}: {problem}",
                hint if params else hint.replace(" (or smaller params)", ""),
                "range",
            )
            return
    if dims and not literal and all(d is not None for d in dims):
        checker.shape_checks.append(
            SizeCheck(_what(path), tuple(dims), str(checker.document.location(path)), minimum)
        )


def _sym_names(dim: Dim) -> set[str]:
    return dim.names if isinstance(dim, Sym) else set()


def _at(dim: Dim, values: dict[str, int | float]) -> int | float | None:
    """A symbolic length's value for the given values of its names (None if one is unknown)."""
    if not isinstance(dim, Sym) or not dim.names <= set(values):
        return None
    return sum(coeff * math.prod(values[n] for n in monomial) for monomial, coeff in dim.terms)


def _params_read(spec: Any, nodes: list[ast.expr | None]) -> list[str]:
    """The params that expressions read, directly or through `let` values, in spec order."""
    read: set[str] = set()
    todo = [
        n.id
        for node in nodes
        if node is not None
        for n in ast.walk(node)
        if isinstance(n, ast.Name)
    ]
    while todo:
        name = todo.pop()
        if name in read:
            continue
        read.add(name)
        text = spec.let.get(name)
        if isinstance(text, str):
            try:
                tree = parse(text, "eval")
            except SyntaxError:
                continue
            todo += [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
    return [name for name in spec.params if name in read]


def _what(path: tuple) -> str:
    if path[0] == "state":
        return f"state '{path[1]}'"
    parts = [p for p in path[1:] if p not in _SPACE_KINDS]
    return f"the {str(path[0]).replace('_', ' ')}" + "".join(f"[{p!r}]" for p in parts)


_SPACE_KINDS = {"Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Tuple", "Text"}
_SPACE_KINDS |= {"Sequence", "Graph", "OneOf", "space", "node_space", "edge_space", "shape"}


def _text(dims: list[Any]) -> str:
    inner = ", ".join("?" if d is None else str(d) for d in dims)
    return f"({inner}{',' if len(dims) == 1 else ''})"


def has_kind(space: SpaceModel, kinds: set[str]) -> bool:
    return space.kind in kinds or any(has_kind(c, kinds) for _, c in space.children)


def build_space(checker: Checker, spec: Any, path: tuple) -> SpaceModel:
    from envgen.compiler import spec as s

    if isinstance(spec, s.BoxSpace):
        box = spec.box
        model = SpaceModel("Box", path, dtype=box.dtype)
        for key in ("low", "high"):
            value = getattr(box, key)
            if isinstance(value, list):
                model.args[key] = [
                    checker.parse_expr(v, path + ("Box", key, i)) for i, v in enumerate(value)
                ]
            else:
                model.args[key] = checker.parse_expr(value, path + ("Box", key))
        if box.shape is not None:
            model.args["shape"] = [
                checker.parse_expr(v, path + ("Box", "shape", i)) for i, v in enumerate(box.shape)
            ]
        return model
    if isinstance(spec, s.DiscreteSpace):
        model = SpaceModel("Discrete", path, labels=list(spec.labels or []), shape=())
        value = spec.discrete
        if isinstance(value, s.DiscreteArgs):
            model.args["n"] = checker.parse_expr(value.n, path + ("Discrete", "n"))
            model.args["start"] = checker.parse_expr(value.start, path + ("Discrete", "start"))
        else:
            model.args["n"] = checker.parse_expr(value, path + ("Discrete",))
        return model
    if isinstance(spec, s.MultiDiscreteSpace):
        model = SpaceModel("MultiDiscrete", path)
        value = spec.multi_discrete

        def entries(raw: Any, where: tuple) -> Code | list[Code]:
            # one expression of params for the whole array (`full(n, 3)`), or one per element
            if isinstance(raw, str):
                return checker.parse_expr(raw, where)
            return [checker.parse_expr(v, where + (i,)) for i, v in enumerate(raw)]

        if isinstance(value, s.MultiDiscreteArgs):
            model.args["nvec"] = entries(value.nvec, path + ("MultiDiscrete", "nvec"))
            if value.start is not None:
                model.args["start"] = entries(value.start, path + ("MultiDiscrete", "start"))
        else:
            model.args["nvec"] = entries(value, path + ("MultiDiscrete",))
        nvec = model.args["nvec"]
        model.shape = (len(nvec),) if isinstance(nvec, list) else None  # set once typed
        return model
    if isinstance(spec, s.MultiBinarySpace):
        model = SpaceModel("MultiBinary", path)
        value = spec.multi_binary
        values = value if isinstance(value, list) else [value]
        model.args["n"] = [
            checker.parse_expr(
                v, path + ("MultiBinary", i) if isinstance(value, list) else path + ("MultiBinary",)
            )
            for i, v in enumerate(values)
        ]
        return model
    if isinstance(spec, s.TextSpace):
        model = SpaceModel("Text", path)
        model.args["max_length"] = checker.parse_expr(
            spec.text.max_length, path + ("Text", "max_length")
        )
        model.args["min_length"] = checker.parse_expr(
            spec.text.min_length, path + ("Text", "min_length")
        )
        model.args["charset"] = spec.text.charset
        if spec.text.charset is not None and not spec.text.charset:
            checker.error(
                path + ("Text", "charset"),
                "the charset is empty",
                "list the allowed characters, or leave `charset` out for alphanumerics",
                "space",
            )
        return model
    if isinstance(spec, s.DictSpace):
        model = SpaceModel("Dict", path)
        model.children = [
            (k, build_space(checker, v, path + ("Dict", k))) for k, v in spec.dict_.items()
        ]
        if not model.children:
            checker.error(path, "a Dict space needs at least one key", "", "space")
        return model
    if isinstance(spec, s.TupleSpace):
        model = SpaceModel("Tuple", path)
        model.children = [
            (i, build_space(checker, v, path + ("Tuple", i))) for i, v in enumerate(spec.tuple_)
        ]
        if not model.children:
            checker.error(path, "a Tuple space needs at least one entry", "", "space")
        return model
    if isinstance(spec, s.SequenceSpace):
        model = SpaceModel("Sequence", path)
        model.args["stack"] = spec.sequence.stack
        model.children = [
            ("space", build_space(checker, spec.sequence.space, path + ("Sequence", "space")))
        ]
        return model
    if isinstance(spec, s.GraphSpace):
        model = SpaceModel("Graph", path)
        model.children = [
            (
                "node_space",
                build_space(checker, spec.graph.node_space, path + ("Graph", "node_space")),
            )
        ]
        if spec.graph.edge_space is not None:
            model.children.append(
                (
                    "edge_space",
                    build_space(checker, spec.graph.edge_space, path + ("Graph", "edge_space")),
                )
            )
        for key, child in model.children:
            if child.kind not in ("Box", "Discrete"):
                checker.error(child.path, f"a Graph's {key} must be a Box or Discrete", "", "space")
        return model
    if isinstance(spec, s.OneOfSpace):
        model = SpaceModel("OneOf", path)
        model.children = [
            (i, build_space(checker, v, path + ("OneOf", i))) for i, v in enumerate(spec.one_of)
        ]
        if not model.children:
            checker.error(path, "a OneOf space needs at least one entry", "", "space")
        return model
    raise AssertionError(f"unknown space {spec!r}")


def check_space_codes(checker: Checker, space: SpaceModel, scope: Scope) -> None:
    for key, value in space.args.items():
        codes = value if isinstance(value, list) else [value]
        for code in codes:
            if not isinstance(code, Code):
                continue
            checker.check_expr(code, scope, random=False)
            t = code.type
            if t.dtype == "any" or (space.kind == "MultiDiscrete" and value is code):
                continue  # a whole-array nvec/start: _check_whole_array_args
            if key in ("shape", "n", "nvec", "start", "max_length", "min_length"):
                if t.kind not in ("int",) or not t.is_scalar:
                    checker.error(
                        code.path,
                        f"{key} must be an integer, got {t.describe()}",
                        "write a whole number, or convert with int(...)",
                        "type",
                    )
                value_ = checker.consts.get(id(code.expr))
                if isinstance(value_, int) and key in ("shape", "n", "nvec") and value_ <= 0:
                    checker.error(
                        code.path,
                        f"{key} must be positive, got {value_}",
                        "use a value of at least 1",
                        "range",
                    )
                if isinstance(value_, int) and key == "shape" and value_ > 10_000_000:
                    checker.error(
                        code.path,
                        f"dimension {value_} is too large",
                        "use dimensions of at most 10000000",
                        "range",
                    )
                elif isinstance(value_, int) and abs(value_) > MAX_INT64:
                    checker.error(
                        code.path,
                        f"{key} {value_} does not fit in a 64-bit integer",
                        "use a smaller value",
                        "range",
                    )
            elif key in ("low", "high") and not t.is_numeric:
                checker.error(
                    code.path,
                    f"{key} must be a number",
                    "write a number or an expression over params",
                    "type",
                )
    if space.kind == "Box":
        dims: list[int | None] = []
        for key in ("low", "high"):
            if space.args[key] == []:
                checker.error(
                    space.path + ("Box", key),
                    f"{key} is an empty list",
                    "give one bound for all elements, or one per element",
                    "shape",
                )
                return
        if "shape" in space.args:
            for code in space.args["shape"]:
                dims.append(checker.dim_of(code.expr))
            for key in ("low", "high"):
                if isinstance(space.args[key], list) and len(space.args[key]) != (
                    dims[0] if len(dims) == 1 and isinstance(dims[0], int) else len(space.args[key])
                ):
                    checker.error(
                        space.args[key][0].path[:-1],
                        f"{key} has {len(space.args[key])} entries but the shape is {tuple(dims)}",
                        "give one bound per element, or one for all",
                        "shape",
                    )
            space.shape = tuple(dims)
            check_size(checker, dims, space.path + ("Box", "shape"), space.args["shape"])
        else:
            lists = [space.args[k] for k in ("low", "high") if isinstance(space.args[k], list)]
            if lists:
                space.shape = (len(lists[0]),)
                if len(lists) == 2 and len(lists[0]) != len(lists[1]):
                    checker.error(space.path, "low and high have different lengths", "", "shape")
            else:
                # bounds of params: a list param (`low: lows`) gives the space its shape
                shapes = [
                    c.type.shape
                    for c in (space.args["low"], space.args["high"])
                    if c.type.dtype != "any" and c.type.shape != ()
                ]
                space.shape = shapes[0] if shapes and shapes[0] is not None else ()
                if len(shapes) == 2 and shapes[0] is not None and shapes[1] is not None:
                    equal = [dim_equal(a, b) for a, b in zip(*shapes, strict=False)]
                    if len(shapes[0]) != len(shapes[1]) or False in equal:
                        checker.error(
                            space.path + ("Box",),
                            f"low has shape {_text(list(shapes[0]))} but high has shape "
                            f"{_text(list(shapes[1]))}",
                            "give bounds of one shape, or a scalar for one of them",
                            "shape",
                        )
        low, high = space.args["low"], space.args["high"]
        if isinstance(low, Code) and isinstance(high, Code):
            a, b = checker.consts.get(id(low.expr)), checker.consts.get(id(high.expr))
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
                checker.error(
                    high.path, f"high ({b}) is below low ({a})", "swap low and high", "range"
                )
    if space.kind == "MultiDiscrete":
        _check_whole_array_args(checker, space)
    if space.kind == "MultiBinary":
        dims = []
        for code in space.args["n"]:
            dims.append(checker.dim_of(code.expr))
        space.shape = tuple(dims)
        check_size(checker, dims, space.path + ("MultiBinary",), space.args["n"])
    for _, child in space.children:
        check_space_codes(checker, child, scope)


def _check_whole_array_args(checker: Checker, space: SpaceModel) -> None:
    """MultiDiscrete `nvec` (and `start`) written as one expression: an integer array of one
    dimension; its length, a polynomial of params, is the space's shape."""
    shapes = []
    for key in ("nvec", "start"):
        code = space.args.get(key)
        if not isinstance(code, Code) or code.type.dtype == "any":
            if isinstance(code, list):
                shapes.append((len(code),))
            continue
        t = code.type
        if t.kind not in ("int", "bool") or t.shape is None or len(t.shape) != 1:
            checker.error(
                code.path,
                f"{key} must be a 1-D integer array, got {t.describe()}",
                "e.g. full(n, 3) for n elements of 3 values each, or a list [3, k + 1]",
                "type",
            )
            return
        shapes.append(t.shape)
    if not shapes:
        return
    if len(shapes) == 2 and dim_equal(shapes[0][0], shapes[1][0]) is False:
        checker.error(
            space.args["start"].path if isinstance(space.args["start"], Code) else space.path,
            f"start has {shapes[1][0]} elements but nvec has {shapes[0][0]}",
            "give one start per element of nvec",
            "shape",
        )
    space.shape = shapes[0]
    check_size(checker, list(space.shape), space.path + ("MultiDiscrete",))


def space_action_type(space: SpaceModel) -> T:
    kind = space.kind
    if kind == "Discrete":
        return INT
    if kind == "Box":
        return T(space.dtype, space.shape)
    if kind == "MultiDiscrete":
        return T("int64", space.shape)
    if kind == "MultiBinary":
        return T("int8", space.shape)
    if kind == "Text":
        return STR
    if kind == "Dict":
        return T("dict", (), False, tuple((k, space_action_type(c)) for k, c in space.children))
    if kind == "Tuple":
        return T("tuple", (), False, tuple((i, space_action_type(c)) for i, c in space.children))
    return ANY
