"""Spaces: the SpaceModel of each space in the spec, and the checks on its arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envgen.compiler._language import MAX_ELEMENTS, MAX_INT64
from envgen.compiler.ir import Code, SpaceModel
from envgen.compiler.types import ANY, INT, STR, T

if TYPE_CHECKING:
    from envgen.compiler._checker import Checker, Scope


def check_size(checker: Checker, dims: list[int | None], path: tuple) -> None:
    """Refuse arrays whose known size would exhaust memory when the env is built or reset."""
    total = 1
    for dim in dims:
        if isinstance(dim, int) and dim > 0:
            total *= dim
    if total > MAX_ELEMENTS:
        checker.error(
            path,
            f"the shape {tuple(dims)} has {total} elements, more than the {MAX_ELEMENTS} accepted",
            "use smaller dimensions",
            "range",
        )


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
        if isinstance(value, s.MultiDiscreteArgs):
            model.args["nvec"] = [
                checker.parse_expr(v, path + ("MultiDiscrete", "nvec", i))
                for i, v in enumerate(value.nvec)
            ]
            if value.start is not None:
                model.args["start"] = [
                    checker.parse_expr(v, path + ("MultiDiscrete", "start", i))
                    for i, v in enumerate(value.start)
                ]
        else:
            model.args["nvec"] = [
                checker.parse_expr(v, path + ("MultiDiscrete", i)) for i, v in enumerate(value)
            ]
        model.shape = (len(model.args["nvec"]),)
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
            if t.dtype == "any":
                continue
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
            check_size(checker, dims, space.path + ("Box", "shape"))
        else:
            lists = [space.args[k] for k in ("low", "high") if isinstance(space.args[k], list)]
            if lists:
                space.shape = (len(lists[0]),)
                if len(lists) == 2 and len(lists[0]) != len(lists[1]):
                    checker.error(space.path, "low and high have different lengths", "", "shape")
            else:
                space.shape = ()
        low, high = space.args["low"], space.args["high"]
        if isinstance(low, Code) and isinstance(high, Code):
            a, b = checker.consts.get(id(low.expr)), checker.consts.get(id(high.expr))
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
                checker.error(
                    high.path, f"high ({b}) is below low ({a})", "swap low and high", "range"
                )
    if space.kind == "MultiBinary":
        dims = []
        for code in space.args["n"]:
            dims.append(checker.dim_of(code.expr))
        space.shape = tuple(dims)
        check_size(checker, dims, space.path + ("MultiBinary",))
    for _, child in space.children:
        check_space_codes(checker, child, scope)


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
