"""Types of spec data: params, constants and lists in YAML."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from envgen.compiler.diagnostics import did_you_mean
from envgen.compiler.spec import ParamSpec
from envgen.compiler.types import ANY, BOOL, FLOAT, INT, STR, T, erase, promote
from envgen.runtime import bound_failures

if TYPE_CHECKING:
    from envgen.compiler._checker import Checker


def param_type(spec: ParamSpec) -> T:
    kind = spec.param_type
    if kind == "list":
        if spec.default is None:
            return ANY  # no default to learn the element type from
        return data_type(spec.default, exact=False)
    return {"int": INT, "float": FLOAT, "bool": BOOL, "str": STR}[kind]


def param_storage_type(spec: ParamSpec) -> T:
    """A param's type with what a value passed in must share with the default: for a list,
    every length but the first (rows of [x, y, r] stay rows of three)."""
    t = erase(param_type(spec))
    if t.is_numeric and t.shape and spec.default is not None:
        exact = data_type(spec.default, exact=True)
        if exact.shape is not None and len(exact.shape) == len(t.shape):
            return T(t.dtype, (None, *exact.shape[1:]))
    return t


def data_type(value: Any, exact: bool = True) -> T:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, dict):
        return T("dict", (), False, tuple((k, data_type(v, exact)) for k, v in value.items()))
    if isinstance(value, list):
        if not value:
            return T("float64", (0,) if exact else (None,))
        items = [data_type(v, exact) for v in value]
        if all(i.dtype == "str" and i.is_scalar for i in items):
            return T("str", (len(items),) if exact else (None,))
        if all(i.is_numeric for i in items):
            inner = items[0].shape
            if any(i.shape != inner for i in items):
                return ANY
            dtype = promote(*[T(i.dtype, (), i.weak) for i in items]).dtype
            first = len(items) if exact else None
            return T(dtype, (first,) + tuple(inner or ()))
    return ANY


def check_param_default(checker: Checker, name: str, param: ParamSpec) -> None:
    path = ("params", name, "default")
    value = param.default
    if value is None:
        return
    kind = param.param_type
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "list": isinstance(value, list),
    }[kind]
    if not ok:
        checker.error(
            path,
            f"the default {value!r} is not a {kind}",
            "change the default or the `type`",
            "type",
        )
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) and kind == "int":
            checker.error(path, "an int param must be finite", "", "range")
        for text, bound in bound_failures(param, value):
            checker.error(
                path,
                f"the default {value} is not {text} {bound_text(kind, bound)}",
                "change the default or the bound",
                "range",
            )
    if param.choices is not None and value not in param.choices:
        checker.error(
            path,
            f"the default {value!r} is not one of the choices {param.choices}",
            did_you_mean(str(value), map(str, param.choices))
            or "make the default one of the choices",
            "range",
        )


def bound_text(kind: str, bound: float) -> str:
    """A param's bound as its type writes it: `1` for an int param, not `1.0`."""
    if kind == "int" and isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)
