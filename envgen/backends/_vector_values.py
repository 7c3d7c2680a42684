"""The NumPy vector backend's values: a translated expression (`V`), a method body being built
(`Scope`), and the operator tables."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from envgen.compiler.types import T


class Unsupported(Exception):
    """Something the vector translator does not handle; the message says what, and `node`
    (the innermost statement or code value being translated) where in the spec."""

    node: ast.AST | None = None


#: Draws the buffered stream serves (bit-identical to the Generator methods).
_BUFFERED = {"random", "uniform"}
#: Unary float functions: name -> the `math` function the single env uses for scalars.
_MATH = {
    "sqrt": "sqrt",
    "exp": "exp",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
}
_MATH2 = {"arctan2": "atan2", "hypot": "hypot", "pow": "pow"}
_BINOP = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


@dataclass
class V:
    """A translated expression: its code, whether it varies per env, and its NumPy dtype.

    `vec` values are arrays with a leading batch axis; their `dtype` is the array's. Uniform
    values are spelled like the single env's, and `t` is the analysis type.
    """

    code: str
    vec: bool
    t: T
    dtype: str = ""


@dataclass
class Scope:
    """One generated method body being built: its lines, masks and per-env names."""

    kind: str  # "step", "reset", "after", "observe"
    n: str  # the expression for the batch size
    envs: str  # the expression for the env ids of the batch positions
    defined: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)
    prelude: list[str] = field(default_factory=list)
    counter: int = 0
    live: str | None = None  # in step: ids of the envs that step (others autoreset)
    #: the dtype of the array each per-env name is bound to, as printed (state enters
    #: `step` in its storage dtype whatever the type the variant being printed gives it)
    dtypes: dict[str, str] = field(default_factory=dict)
    arrays: set[str] = field(default_factory=set)  # names bound to arrays (per env: rows)
    fresh: set[str] = field(default_factory=set)  # locals bound to a new array of their own

    def temp(self, stem: str) -> str:
        self.counter += 1
        return f"_{stem}{self.counter}"


_RISKY_OPS = {"/", "//", "%", "**"}
_RISKY_CALLS = {
    "sqrt",
    "log",
    "log2",
    "log10",
    "arcsin",
    "arccos",
    "pow",
    "exp",
    "cosh",
    "sinh",
    "tan",
}
