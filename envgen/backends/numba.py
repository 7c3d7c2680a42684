"""Stage 4c: a compiled per-env kernel for the native vector env (Numba), where it applies.

The NumPy vector env (envgen/emit_vector.py) runs every operation over the whole batch,
so a step costs one NumPy call per operation; at 1024 envs that call overhead, not the
arithmetic, is most of the time. For specs whose state is scalar numbers this stage emits
the single env's own scalar code, once more, as the body of a loop over the envs:

    @jit
    def _step_envs(_actions, _resetting, ..., _state_x, ..., polemass_length, ...):
        for _i in range(len(_actions)):
            if _resetting[_i]:
                continue                  # autoresets: `_autoreset_envs`, a loop of its own
            action = _actions[_i]
            x = _state_x[_i]
            ...                           # the spec's step, as the single env spells it
            _state_x[_i] = x

Numba compiles it (`envgen.runtime.vector.jit`), so per env it runs the same IEEE
operations in the same order as the single env's Python: results are bit-identical, which
the equivalence tests check. Where the kernel cannot be emitted the reason is returned and
the env runs the NumPy code alone; where it cannot be compiled or Numba is missing the env
falls back to the NumPy code at construction time (see docs/vectorization.md).
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from envgen.backends._printer import _CMP as _COMPARE
from envgen.backends._printer import (
    Translator,
    _argument,
    function_variant,
    literal,
    np_dtype,
    tidy,
    tidy_block,
)
from envgen.backends.python import INDENT, _state_value
from envgen.compiler.functions import BUILTINS, DTYPES
from envgen.compiler.ir import BINARY_OPERATORS, Code, EnvModel, FunctionModel
from envgen.compiler.types import ANY, T, array_dtype

#: Math functions that cost a C library call each (sqrt, floor, abs, ... are instructions).
_LIBRARY_MATH = {
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "exp",
    "log",
    "log2",
    "log10",
    "arctan2",
}
#: Builtins whose scalar spelling Numba compiles with the single env's semantics. Math
#: functions are checked against Python's at run time (`vector_runtime.kernel_math`).
_KERNEL_BUILTINS = {
    *_LIBRARY_MATH,
    # hypot: CPython's own algorithm (vector_norm), not the C library's: see `_cpython_hypot`
    "hypot",
    *("sqrt", "floor", "ceil", "round", "abs", "square", "sign", "pow"),
    *("min", "max", "clip", "where", "int", "float", "bool", "float64", "option"),
    *("float32", "int8", "int16", "int32", "int64", "uint8"),
    # drawn from the per-env PCG64 state rows (`Streams.states()`)
    *("random", "uniform"),
    # drawn from each env's own Generator (Numba implements NumPy's algorithms)
    *("normal", "standard_normal", "integers", "exponential", "poisson", "binomial"),
}
_SCALAR_DTYPES = {"bool", "int64", "float64"}
_ACTION_KINDS = ("Discrete", "Box", "MultiDiscrete", "MultiBinary")
#: Scalar dtypes NumPy keeps through arithmetic with plain numbers (NEP 50), where Numba
#: would widen: the kernel casts each operation's operands and result back to them.
_NARROW = {"float32", "int8", "int16", "int32", "uint8"}
#: Array dtypes the kernel computes with (float32 arrays: only indexed, e.g. a Box action).
_ARRAY_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "float64", "float32"}
#: Array dtypes of arithmetic results Numba computes as NumPy does (narrower ones it widens).
_WIDE = {"bool", "int64", "float64"}
#: Builtins Numba computes element by element exactly as NumPy does on arrays (no library
#: math: NumPy's array sin/exp/... may be SIMD code that differs from the C library's).
_ELEMENTWISE = {
    *("sqrt", "floor", "ceil", "abs", "square", "sign", "min", "max", "clip", "where"),
    *("int", "float", "bool", "float64"),
}
#: Library math the kernel applies to arrays element by element with the C library (as
#: `math.<name>`), where NumPy's array function gives the same bits on this machine (checked
#: at import: `array_math_lines`): np name -> math name.
_ARRAY_MATH = {
    **{n: n for n in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "log", "log2")},
    **{"log10": "log10", "arcsin": "asin", "arccos": "acos", "arctan": "atan"},
}
#: Array functions whose Numba form gives NumPy's results (see `_check_expr`).
_ARRAY_FUNCTIONS = {
    *("sum", "prod", "mean", "any", "all", "argmax", "argmin", "cumsum", "count_nonzero"),
    *("len", "zeros", "ones", "full", "arange", "ravel", "reshape", "roll", "array", "eye"),
    *("flatnonzero", "concatenate", "stack"),
}
#: Reductions NumPy computes pairwise for floats (Numba: in order), so ints and bools only.
_FLOAT_REDUCTIONS = {"sum", "prod", "mean"}


#: Small jitted helpers, emitted into the generated module where its kernels call them (not
#: imported: Numba's disk cache of a kernel would not notice a change in another module).
_HELPERS = {
    "_square": [
        "@jit",
        "def _square(_x):",
        f'{INDENT}"""x * x, as np.square computes it (x ** 2 would call the C library\'s pow)."""',
        f"{INDENT}return _x * _x",
    ],
    "_index": [
        "@jit",
        "def _index(_k, _n, _axis):",
        f'{INDENT}"""Index `_k` into axis `_axis`, of size `_n`; IndexError out of bounds."""',
        f"{INDENT}if _k < -_n or _k >= _n:",
        # NumPy's message, built by the exception class in Python when raised: a message
        # built here made the check about 7x slower (Numba builds it on the hot path)
        f"{INDENT * 2}raise _KernelIndexError(_k, _axis, _n)",
        f"{INDENT}return _k",
    ],
    "_floordiv": [
        "@jit",
        "def _floordiv(_a, _b):",
        f'{INDENT}"""_a // _b of ints as NumPy computes it: INT64_MIN // -1 wraps to INT64_MIN',
        f'{INDENT}(Numba\'s // gives 0 there); // 0 is 0 (error_model="numpy")."""',
        f"{INDENT}if _b == -1:",
        f"{INDENT * 2}return -_a",
        f"{INDENT}return _a // _b",
    ],
    "_saturate": [
        "@jit",
        "def _saturate(_x, _lo, _hi):",
        f'{INDENT}"""A float converted to an int in [_lo, _hi]: truncated, saturated, NaN to 0."""',
        f"{INDENT}if _x != _x:",
        f"{INDENT * 2}return 0",
        f"{INDENT}if _x >= _hi:",
        f"{INDENT * 2}return _hi",
        f"{INDENT}if _x <= _lo:",
        f"{INDENT * 2}return _lo",
        f"{INDENT}return int(_x)",
    ],
    "_draw_n_random": [
        "@jit",
        "def _draw_n_random(_rng, _i, _n):",
        f'{INDENT}"""Env `_i`\'s next `random(_n)`: its next _n doubles."""',
        f"{INDENT}_out = np.empty(_n)",
        f"{INDENT}for _k in range(_n):",
        f"{INDENT * 2}_out[_k] = _pcg_next_double(_rng, _i)",
        f"{INDENT}return _out",
    ],
    "_draw_n_uniform": [
        "@jit",
        "def _draw_n_uniform(_rng, _i, _low, _high, _n):",
        f'{INDENT}"""Env `_i`\'s next `uniform(low, high, _n)` (bounds: numbers or _n-arrays),',
        f"{INDENT}as Generator.uniform computes it: low + (high - low) * double, in order.",
        f'{INDENT}"""',
        f"{INDENT}_lows = np.empty(_n)",
        f"{INDENT}_lows[:] = _low",
        f"{INDENT}_highs = np.empty(_n)",
        f"{INDENT}_highs[:] = _high",
        f"{INDENT}_out = np.empty(_n)",
        f"{INDENT}for _k in range(_n):",
        f"{INDENT * 2}_out[_k] = _lows[_k] + (_highs[_k] - _lows[_k]) * _pcg_next_double(_rng, _i)",
        f"{INDENT}return _out",
    ],
    "_draw_random": [
        "@jit",
        "def _draw_random(_rng, _i):",
        f'{INDENT}"""Env `_i`\'s next `random()`."""',
        f"{INDENT}return _pcg_next_double(_rng, _i)",
    ],
    "_draw_uniform": [
        "@jit",
        "def _draw_uniform(_rng, _i, _low, _high):",
        f'{INDENT}"""Env `_i`\'s next `uniform(low, high)`, as Generator.uniform computes it."""',
        f"{INDENT}_low = float(_low)",
        f"{INDENT}return _low + (float(_high) - _low) * _pcg_next_double(_rng, _i)",
    ],
}


def _int_limits(dtype: str) -> tuple[int, int]:
    """The range of an integer dtype, from its name (this module does not import NumPy)."""
    bits = int(dtype.removeprefix("u").removeprefix("int"))
    if dtype.startswith("u"):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


#: The spec's integer dtypes (compiler/functions.py) and their ranges.
_INT_LIMITS = {dtype: _int_limits(dtype) for dtype in DTYPES if "int" in dtype}


def _as_float(code: str, t: T) -> str:
    """float(x) of code of type `t`, as Numba compiles it (it has no float(bool))."""
    if t.is_scalar and t.kind == "bool":
        return f"(1.0 if {code} else 0.0)"
    return f"float({code})"


def _at(rank: int) -> list[str]:
    """A helper reading one element of a computed array (IndexError out of bounds)."""
    ks = [f"_k{axis}" for axis in range(rank)]
    index = ", ".join(f"_index({k}, _x.shape[{a}], {a})" for a, k in enumerate(ks))
    return [
        "@jit",
        f"def _at{rank}(_x, {', '.join(ks)}):",
        f'{INDENT}"""_x[{", ".join(ks)}]; IndexError for an index out of bounds."""',
        f"{INDENT}return _x[{index}]",
    ]


def _sized_draw(name: str) -> list[str]:
    """A helper drawing `_n` values with env `_i`'s Generator, one scalar draw at a time."""
    dtype = "np.int64" if name in ("integers", "poisson", "binomial") else "np.float64"
    return [
        "@jit",
        f"def _generator_n_{name}(_g, _n, *_args):",
        f'{INDENT}"""`{name}(..., size=_n)`: NumPy draws it as _n scalar draws, in order."""',
        f"{INDENT}_out = np.empty(_n, dtype={dtype})",
        f"{INDENT}for _k in range(_n):",
        f"{INDENT * 2}_out[_k] = _g.{name}(*_args)",
        f"{INDENT}return _out",
    ]


def _map_math(name: str, math_name: str) -> list[str]:
    return [
        "@jit",
        f"def _map_{name}(_x):",
        f'{INDENT}"""np.{name}(x) with the C library\'s {math_name}, element by element."""',
        f"{INDENT}_flat = _x.ravel()",
        f"{INDENT}_out = np.empty(_flat.size)",
        f"{INDENT}for _k in range(_flat.size):",
        f"{INDENT * 2}_out[_k] = math.{math_name}(_flat[_k])",
        f"{INDENT}return _out.reshape(_x.shape)",
    ]


def array_math_note(names: list[str]) -> list[str]:
    """Module lines: `_KERNEL_ARRAY_MATH`, None where NumPy's array functions `names` give
    the C library's bits on this machine (the kernel computes them so), else why not."""
    checks = " and ".join(f"_exact(np.{n}, math.{_ARRAY_MATH[n]}) is np.{n}" for n in names)
    listed = ", ".join(f"np.{n}" for n in names)
    return [
        "# NumPy's array math (the single env's) may be SIMD code, not the C library's",
        "_KERNEL_ARRAY_MATH = (",
        f"{INDENT}None",
        f"{INDENT}if {checks}",
        f"{INDENT}else {literal(f'no kernel: {listed} on arrays differs from the C library here')}",
        ")",
    ]


def _runtime_functions(*names: str) -> list[str]:
    """The source of functions in envgen/runtime/vector.py, read as text (not imported:
    that would load Numba during `envgen build`), for a generated module's own copy."""
    path = Path(__file__).resolve().parent.parent / "runtime" / "vector.py"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = {
        node.name: node
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef) and node.name in names
    }
    out: list[str] = []
    for name in names:
        node = found[name]
        first = min(d.lineno for d in node.decorator_list) if node.decorator_list else node.lineno
        block = lines[first - 1 : node.end_lineno]
        out += [line.split("  # noqa:")[0] for line in block] + ["", ""]
    return out[:-2]


#: math.hypot as CPython computes it (vector_norm), checked by `kernel_math("hypot")`.
_HELPERS["_cpython_hypot"] = _runtime_functions("_cpython_hypot", "_cpython_dl_mul")


#: PCG64 stepped on a stream's state row (the draws above call it), as `Streams` steps it.
_HELPERS["_pcg_next_double"] = _runtime_functions("_pcg_next_double")


#: The drawing library's fill and fill_rect, for observations drawn inside the kernel.
_HELPERS["_draw_fill"] = _runtime_functions("_draw_color", "_draw_fill")
_HELPERS["_draw_fill_rect"] = _runtime_functions("_draw_fill_rect")


def _with_callees(used: set[str]) -> set[str]:
    """`used` and, transitively, the helpers their code calls: read from the helpers' text
    (a call of a function another `_HELPERS` entry defines), so none is wired by hand."""
    defined_in = {
        function: name
        for name, lines in _HELPERS.items()
        for function in _DEF.findall("\n".join(lines))
    }
    needed, todo = set(), list(used)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        text = "\n".join(_HELPERS[name])
        todo += [defined_in[f] for f in _CALL.findall(text) if f in defined_in]
    return needed


_DEF = re.compile(r"^def (\w+)\(", re.MULTILINE)
_CALL = re.compile(r"\b(_\w+)\(")


#: Drawing functions a kernel can draw observations with (the rest: NumPy code).
_KERNEL_DRAWING = {"fill": 1, "fill_rect": 5}  # name -> arguments before the color


class NoKernel(Exception):
    """Why a spec gets no compiled kernel (the message is shown to users)."""


@dataclass
class KernelCode:
    functions: list[str]  # module-level source of the jitted functions
    method: list[str]  # the `_run_kernel` method (body lines, with its def)
    math: list[str]  # `math` functions the kernel calls (checked against Python's)
    draws: int  # most draws from the state rows one env makes in one kernel call
    direct: list[str]  # Generator methods the kernel calls (checked against NumPy's)
    threadable: bool  # the step loop may run on several threads (it draws nothing)
    observes: bool  # the kernel also writes the observations (else `_observe()` does)
    array_math: list[str]  # NumPy functions the kernel applies to arrays (array_math_note)
    reset_info: bool  # the kernel also writes the info reset returns (else `_info()` does)


@dataclass
class _Args:
    """The non-array arguments (params and `let` values) a kernel function reads."""

    names: list[str] = field(default_factory=list)

    def add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)


class KernelTranslator(Translator):
    """The single env's scalar spelling, with params as arguments and draws from the
    streams' state rows (or, not `buffered`, from each env's Generator)."""

    number_rules = False  # Numba's int64 wraps, and the kernel's floats follow IEEE 754

    def __init__(self, model: EnvModel, section: str, buffered: bool = True) -> None:
        super().__init__(model)
        self.section = section  # "reset", "step" or "observe"
        self.buffered = buffered  # draws from the state rows, else from the generators
        self.args = _Args()
        self.draws = 0  # draws from the state rows one env makes here (at most)
        self.direct: set[str] = set()  # Generator methods called directly
        self.math: set[str] = set()
        self.substitutes: dict[int, str] = {}  # id(node) -> code computed elsewhere
        self.helpers: set[str] = set()  # module-level helpers the code calls (_HELPERS)
        self.array_math: set[str] = set()  # NumPy functions applied to arrays (_ARRAY_MATH)
        self.functions: dict[str, list[str]] = {}  # compiled spec functions, by name

    def expr(self, node: ast.expr) -> str:
        if id(node) in self.substitutes:
            return self.substitutes[id(node)]
        return super().expr(node)

    def name(self, node: ast.Name) -> str:
        symbol = self.model.symbols.get(id(node))
        if symbol is not None and symbol.kind in ("param", "let"):
            self.args.add(node.id)
            return node.id
        if symbol is not None and symbol.kind == "special" and node.id == "elapsed_steps":
            return "0" if self.section == "reset" else "_elapsed[_i]"  # step, observe
        return super().name(node)

    def _narrow(self, node: ast.expr, code: str) -> str:
        """`code` cast to `node`'s analysed scalar dtype where NumPy keeps a narrow one."""
        t = self.type_of(node)
        if t.is_scalar and t.dtype in _NARROW and not t.weak:
            return f"np.{t.dtype}({code})"
        return code

    def _BinOp(self, node: ast.BinOp) -> str:
        t = self.type_of(node)
        if t.is_scalar and t.dtype in _NARROW and not t.weak:
            # NumPy computes np.float32(x) * 0.5 in float32 (NEP 50); Numba would widen.
            op = BINARY_OPERATORS[type(node.op)]
            left = f"np.{t.dtype}({self.expr(node.left)})"
            right = f"np.{t.dtype}({self.expr(node.right)})"
            return f"np.{t.dtype}({left} {op} {right})"
        if isinstance(node.op, ast.Pow) and self.type_of(node).kind == "float":
            # Python's float ** is the C library's pow(); Numba would turn `x ** 2` into
            # x * x, which differs from pow() in the last bit for about 0.1% of x.
            self.math.add("pow")
            return f"_c_pow({self.expr(node.left)}, {self.expr(node.right)})"
        return super()._BinOp(node)

    def statement(self, stmt: ast.stmt, indent: int) -> list[str]:
        t = self.type_of(stmt)
        if isinstance(stmt, ast.AugAssign) and t.is_scalar and t.dtype in _NARROW and not t.weak:
            # `x op= y` as `x = x op y` prints it (_BinOp): NumPy keeps np.float32(x) + 0.3
            # in float32 (NEP 50) where Numba would widen (trial 6 newcomer P9)
            op = BINARY_OPERATORS[type(stmt.op)]
            current = self.target(stmt.target)
            value = (
                f"np.{t.dtype}(np.{t.dtype}({current}) {op} np.{t.dtype}({self.expr(stmt.value)}))"
            )
            pad = INDENT * indent
            return [f"{pad}{self.target(stmt.target)} = {self.stored(stmt.target, value, None)}"]
        return super().statement(stmt, indent)

    def arithmetic(
        self, op: ast.operator, left: str, right: str, left_node: ast.expr, right_node: ast.expr
    ) -> str:
        if (
            isinstance(op, ast.FloorDiv)
            and all(self.type_of(n).kind == "int" for n in (left_node, right_node))
            and self._op_may_overflow(op, left_node, right_node)
        ):
            # int64 wraps (docs/spec.md, "Numbers"): INT64_MIN // -1 is INT64_MIN, not 0
            self.helpers.add("_floordiv")
            return f"_floordiv({left}, {right})"
        if (
            isinstance(op, (ast.Add, ast.Sub, ast.Mult))
            and all(
                self.type_of(n).is_scalar and array_dtype(self.type_of(n)) == "int64"
                for n in (left_node, right_node)
            )
            and self._op_may_overflow(op, left_node, right_node)
        ):
            # int64 wraps (docs/spec.md, "Numbers"), but Numba's signed + - * carry LLVM's
            # `nsw` (overflow is undefined), so LLVM may fold what follows as if it did not
            # wrap: `abs(lo - 1)` at INT64_MIN gave -INT64_MAX (trial 6 newcomer P1). In
            # uint64 the same bits wrap by definition; ops proven in range stay plain.
            symbol = BINARY_OPERATORS[type(op)]
            return f"np.int64(np.uint64({left}) {symbol} np.uint64({right}))"
        return super().arithmetic(op, left, right, left_node, right_node)

    def _Compare(self, node: ast.Compare) -> str:
        # the dtype the analysis compares each pair in (one for the whole chain, or none)
        dtypes = {self.model.operand_dtypes.get(id(right)) for right in node.comparators}
        common = dtypes.pop() if len(dtypes) == 1 else None
        if common in _NARROW:
            # np.float32(x) > 0.07 compares in float32 (NEP 50): 0.07 rounded first
            parts = [f"np.{common}({self.expr(node.left)})"]
            for op, right in zip(node.ops, node.comparators, strict=True):
                parts.append(f"{_COMPARE[type(op)]} np.{common}({self.expr(right)})")
            return "(" + " ".join(parts) + ")"
        return super()._Compare(node)

    def _List(self, node: ast.List) -> str:
        if self.type_of(node).dtype == "tuple":  # the arrays concatenate()/stack() join
            inner = ", ".join(self.expr(e) for e in node.elts)
            return f"({inner}{',' if len(node.elts) == 1 else ''})"
        return super()._List(node)

    def _spec_function(self, node: ast.Call) -> str:
        """A call of a spec function: the variant the analysis chose, compiled as
        `_fn_<method>(args..., params and lets it reads)`."""
        variant = function_variant(self.model, node)
        assert variant is not None and isinstance(node.func, ast.Name)
        fn = self.model.functions[node.func.id]
        name = f"_fn{variant.method}"
        ft = KernelTranslator(self.model, self.section, self.buffered)
        body = tidy_block(ft.block(variant.body.stmts))
        returned = tidy(ft.code(variant.returns))
        extra = [a for a in ft.args.names if a not in fn.args]
        self.functions.update(ft.functions)
        self.functions[name] = _function(
            name,
            [*fn.args, *extra],
            f"The spec function '{fn.name}', as the single env computes it.",
            [*body, f"return {returned}"],
        )
        self.helpers |= ft.helpers
        self.math |= ft.math
        self.array_math |= ft.array_math
        self.direct |= ft.direct
        for arg in extra:
            self.args.add(arg)
        return f"{name}({', '.join([*(self.expr(a) for a in node.args), *extra])})"

    def _Subscript(self, node: ast.Subscript) -> str:
        # An index out of bounds is an IndexError, as in the single env and the NumPy code
        # (docs/spec.md, "Numbers"); a compiled kernel must not read outside the array.
        index = node.slice
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        if not isinstance(node.value, ast.Name) and all(isinstance(p, ast.Slice) for p in parts):
            return f"({self.expr(node.value)})[{', '.join(self._Slice(p) for p in parts)}]"
        if not isinstance(node.value, ast.Name):  # a computed array: indexed by a helper
            helper = f"_at{len(parts)}"
            self.helpers.add(helper)
            _HELPERS.setdefault(helper, _at(len(parts)))
            args = ", ".join(self.expr(p) for p in parts)
            return f"{helper}({self.expr(node.value)}, {args})"
        array = self.expr(node.value)
        index = node.slice
        parts = []
        for axis, part in enumerate(index.elts if isinstance(index, ast.Tuple) else [index]):
            if isinstance(part, ast.Slice):
                parts.append(self._Slice(part))
            elif _in_range(self.type_of(node.value), axis, part):
                parts.append(self.expr(part))
            else:
                self.helpers.add("_index")
                parts.append(f"_index({self.expr(part)}, {array}.shape[{axis}], {axis})")
        return f"{array}[{', '.join(parts)}]"

    def stored(self, target: ast.expr, code: str, value: ast.expr | None) -> str:
        # the single env's copy into array state, spelled as Numba compiles it
        # (np.array(array, dtype=...) is not; astype always copies)
        if isinstance(target, ast.Name):
            symbol = self.model.symbols.get(id(target))
            state = self.model.state.get(target.id) if symbol and symbol.kind == "state" else None
            if state is not None and not state.type.is_scalar:
                value_t = self.type_of(value) if value is not None else self.type_of(target)
                if (
                    value is None
                    or isinstance(value, (ast.Name, ast.Subscript, ast.IfExp))
                    or value_t.dtype != state.type.dtype
                ):
                    return f"np.asarray({code}).astype({np_dtype(state.type.dtype)})"
                return code
        return super().stored(target, code, value)

    def square(self, arg: ast.expr, code: str) -> str:
        if isinstance(arg, (ast.Name, ast.Constant)):
            return super().square(arg, code)
        self.helpers.add("_square")
        return f"_square({code})"

    def _Call(self, node: ast.Call) -> str:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if name in self.model.functions:
            return self._spec_function(node)
        if name == "option":  # autoresets get no options: the default
            default = _argument(node, BUILTINS[name].params, "default")
            assert default is not None
            return self.expr(default)
        if name == "array" and not self.type_of(node.args[0]).is_scalar:
            if not isinstance(node.args[0], ast.List):  # an array: a copy, as astype makes
                dtype = np_dtype(self.type_of(node).dtype)
                return f"np.asarray({self.expr(node.args[0])}).astype({dtype})"
        if (name == "int" or name in _INT_LIMITS) and node.args:
            x = self.type_of(node.args[0])
            if x.is_scalar and x.kind == "float":  # docs/spec.md, "Numbers"
                dtype = "int64" if name == "int" else name
                low, high = _INT_LIMITS[dtype]
                self.helpers.add("_saturate")
                code = f"_saturate({self.expr(node.args[0])}, {low}, {high})"
                return code if name == "int" else f"np.{dtype}({code})"
        if name in ("ravel", "reshape"):  # of a copy, as the single env's np.array(x)
            arg = node.args[0]
            code = f"np.copy({self.expr(arg)})" if not isinstance(arg, ast.List) else self.expr(arg)
            if name == "ravel":
                return f"{code}.ravel()"
            shape = _argument(node, BUILTINS[name].params, "shape")
            assert shape is not None
            return f"{code}.reshape({self.expr(shape)})"
        if name == "choice":  # checked: choice(a), a 1-D array or an int
            self.direct.add("integers")
            a = node.args[0]
            if self.type_of(a).is_scalar:
                return f"_rngs[_i].integers(0, {self.expr(a)})"
            code = self.expr(a)
            return f"{code}[_rngs[_i].integers(0, len({code}))]"
        size = _argument(node, BUILTINS[name].params, "size") if BUILTINS[name].random else None
        t = self.type_of(node)
        if size is None and BUILTINS[name].random and not t.is_scalar:  # array bounds
            assert t.shape is not None and isinstance(t.shape[0], int)  # checked
            size = ast.Constant(t.shape[0])
        if size is not None and self.buffered:  # random/uniform from the buffers
            assert isinstance(size, ast.Constant)  # checked: a literal count
            self.draws += size.value
            if name == "random":
                self.helpers.add("_draw_n_random")
                return f"_draw_n_random(_rng, _i, {size.value})"
            params = BUILTINS[name].params
            low = _argument(node, params, "low")
            high = _argument(node, params, "high")
            low_code = self.expr(low) if low is not None else "0.0"
            high_code = self.expr(high) if high is not None else "1.0"
            self.helpers.add("_draw_n_uniform")
            return f"_draw_n_uniform(_rng, _i, {low_code}, {high_code}, {size.value})"
        if size is not None:
            # n scalar draws: NumPy's sized draws consume the stream exactly as n scalar
            # ones (tests/test_vector.py checks it), and Numba's scalar draws are checked.
            self.direct.add(name)
            params = BUILTINS[name].params
            given = [(p, _argument(node, params, p)) for p in params if p != "size"]
            while given and given[-1][1] is None:
                given.pop()
            if any(a is None for _, a in given):
                raise NoKernel(f"`{ast.unparse(node)}` leaves out an argument before others")
            args = [self.expr(a) for _, a in given if a is not None]
            # not `_draw_n_<name>`: random/uniform have helpers of that name for the streams'
            # state rows, which a spec drawing from Generators must not get (newcomer N17)
            helper = f"_generator_n_{name}"
            self.helpers.add(helper)
            _HELPERS.setdefault(helper, _sized_draw(name))
            return f"{helper}(_rngs[_i], {self.expr(size)}, {', '.join(args)})".replace(", )", ")")
        if BUILTINS[name].random and not self.buffered:
            # The generator's own method, compiled by Numba (checked against NumPy's at run
            # time: `vector_runtime.kernel_draw`).
            self.direct.add(name)
            return super()._Call(node).replace("self.np_random.", "_rngs[_i].")
        if name == "random":
            self.draws += 1
            self.helpers.add("_draw_random")
            return "_draw_random(_rng, _i)"
        if name == "uniform":
            self.draws += 1
            params = BUILTINS[name].params
            low = _argument(node, params, "low")
            high = _argument(node, params, "high")
            low_code = self.expr(low) if low is not None else "0.0"
            high_code = self.expr(high) if high is not None else "1.0"
            self.helpers.add("_draw_uniform")
            return f"_draw_uniform(_rng, _i, {low_code}, {high_code})"
        if name in ("float", "float64") and len(node.args) == 1 and not node.keywords:
            arg_type = self.type_of(node.args[0])
            if arg_type.is_scalar and arg_type.kind == "bool":
                return _as_float(self.expr(node.args[0]), arg_type)
            if arg_type.is_scalar:
                # Numba types float() of a float32 as float32 (math.sin of it is then sinf)
                return f"np.float64({self.expr(node.args[0])})"
        if name in ("floor", "ceil", "round"):
            # The single env's float(math.floor(x)) as NumPy's floor: Numba's math.floor
            # returns an int64, which overflows for |x| >= 2**63, inf and nan; Python's
            # round() of a float rounds half to even like np.rint. + 0.0: the single env's
            # result is never -0.0 (np.ceil(-0.5) is), and no other value changes.
            arg = _argument(node, BUILTINS[name].params, "x")
            assert arg is not None
            fn = {"floor": "np.floor", "ceil": "np.ceil", "round": "np.rint"}[name]
            return f"({fn}(np.float64({self.expr(arg)})) + 0.0)"
        if name == "pow":
            self.math.add("pow")
            return f"_c_pow({self.expr(node.args[0])}, {self.expr(node.args[1])})"
        if name in _KERNEL_DRAWING:  # checked by _check_picture: a literal (r, g, b)
            color = node.args[-1]
            assert isinstance(color, (ast.Tuple, ast.List))
            self.helpers.add("_draw_fill" if name == "fill" else "_draw_fill_rect")
            args = ", ".join(self.expr(a) for a in [*node.args[:-1], *color.elts])
            return f"_draw_{name}({args})"
        if name == "hypot":  # CPython's algorithm, not the C library's hypot()
            self.math.add("hypot")
            self.helpers.add("_cpython_hypot")
            return f"_cpython_hypot({self.expr(node.args[0])}, {self.expr(node.args[1])})"
        builtin = BUILTINS[name]
        if name in _ARRAY_MATH and not self.type_of(node).is_scalar:
            # element by element with the C library; NumPy's np.<name> is checked to give
            # the same bits (array_math_lines), else the kernel is not used
            math_name = _ARRAY_MATH[name]
            self.math.add(math_name)
            self.array_math.add(name)
            helper = f"_map_{name}"
            self.helpers.add(helper)
            _HELPERS.setdefault(helper, _map_math(name, math_name))
            return f"{helper}({self.expr(node.args[0])})"
        if builtin.scalar is not None and "math." in builtin.scalar:
            self.math.add(builtin.scalar.split("math.", 1)[1].split("(", 1)[0])
            # math.f(np.float32) is f of the double. Not float(x): Numba types float() of a
            # float32 as float32, and math.sin(float(x)) becomes the C library's sinf
            for arg in node.args:
                if self.type_of(arg).dtype in _NARROW:
                    self.substitutes[id(arg)] = f"np.float64({self.expr(arg)})"
        return self._narrow(node, super()._Call(node))


def _check_expr(
    model: EnvModel, node: ast.expr, where: str, untyped: bool = False, buffered: bool = True
) -> None:
    """Raise NoKernel unless Numba computes every value in `node` as the single env does.

    Scalars of bool/int/float (float32 and small ints: cast to their dtype after every
    operation, as NumPy keeps them); arrays of bool/int/float64 with the operations whose
    compiled form is exact (elementwise arithmetic, comparisons, integer reductions, the
    array functions of `_ARRAY_FUNCTIONS`), indexed with scalar ints or slices.

    `untyped`: values the analysis could not type (a spec function's arguments) pass; Numba
    types them from the (checked) scalar arguments of the call, as Python would.
    `buffered`: random()/uniform() come from the per-env buffers (no sized draws then)."""

    def check(child: ast.expr) -> None:
        _check_expr(model, child, where, untyped, buffered)

    t = model.types.get(id(node))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if name in model.functions:
            _check_function(model, node, where, buffered)
            for arg in node.args:
                check(arg)
            if not _kernel_type(t):
                raise NoKernel(f"{where}: '{name}' returns {t.describe() if t else '?'}")
            return
        if name not in _KERNEL_BUILTINS and name not in _ARRAY_FUNCTIONS and name != "choice":
            raise NoKernel(f"{where} calls {name}()")
        builtin = BUILTINS[name]
        params = builtin.params
        if name == "option":
            default = _argument(node, params, "default")
            assert default is not None
            check(default)
        else:
            args = [*node.args, *(k.value for k in node.keywords)]
            arrays = [a for a in args if _is_array(model, a)]
            if t is not None and not t.is_scalar:
                arrays.append(node)
            size = _argument(node, params, "size") if "size" in params else None
            if name == "choice":
                _check_choice(model, node, where, buffered)
            elif builtin.random and size is None and arrays:
                # array bounds, no size: one draw per element of the broadcast shape
                shape = t.shape if t is not None else None
                if not (
                    buffered
                    and name == "uniform"
                    and shape is not None
                    and len(shape) == 1
                    and isinstance(shape[0], int)
                ):
                    raise NoKernel(f"{where} draws with bounds `{ast.unparse(node)}`")
            elif builtin.random and size is not None:
                literal_size = isinstance(size, ast.Constant) and type(size.value) is int
                if buffered and not literal_size or not _is_scalar_int(model, size):
                    # buffered draws are counted at build time
                    raise NoKernel(
                        f"{where} draws arrays of random numbers (`{ast.unparse(node)}`)"
                    )
                bounds = [a for a in args if a is not size]
                if buffered and any(
                    not (_is_scalar_int(model, a) or model.types.get(id(a), ANY).kind == "float")
                    or len(model.types.get(id(a), ANY).shape or ()) > 1
                    for a in bounds
                ):
                    raise NoKernel(f"{where} draws with bounds `{ast.unparse(node)}`")
            elif _argument(node, params, "axis") is not None if "axis" in params else False:
                raise NoKernel(f"{where} reduces along an axis (`{ast.unparse(node)}`)")
            elif arrays and name in _ARRAY_MATH and len(args) == 1:
                if model.types.get(id(args[0]), ANY).dtype not in ("float64", "int64", "bool"):
                    raise NoKernel(f"{where} applies {name}() to {t.described() if t else '?'}")
            elif arrays and name not in _ARRAY_FUNCTIONS and name not in _ELEMENTWISE:
                raise NoKernel(f"{where} applies {name}() to an array (`{ast.unparse(node)}`)")
            elif name in _FLOAT_REDUCTIONS and any(
                model.types.get(id(a), ANY).kind == "float" for a in arrays
            ):
                # NumPy sums floats pairwise (in blocks of 8); Numba adds them in order.
                raise NoKernel(f"{where} reduces floats with {name}() (`{ast.unparse(node)}`)")
            elif name == "arange" and any(
                model.types.get(id(a), ANY).kind != "int" for a in node.args
            ):
                raise NoKernel(f"{where} calls arange() with float bounds")
            elif name == "full" and _argument(node, params, "dtype") is None:
                raise NoKernel(f"{where} calls full() without a dtype")
            for arg in args:
                check(arg)
    elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            raise NoKernel(f"{where} multiplies matrices")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            operands = [model.types.get(id(o), ANY) for o in (node.left, node.right)]
            if any(o.dtype not in ("float64", "int64", "bool") for o in operands):
                raise NoKernel(f"{where} raises a {operands[0].describe()} to a power")
        if isinstance(node, (ast.BinOp, ast.UnaryOp)) and t is not None and not t.is_scalar:
            if t.dtype not in _WIDE:
                raise NoKernel(f"{where} computes {t.describe()} (`{ast.unparse(node)}`)")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                check(child)
    elif isinstance(node, ast.Subscript):
        if not isinstance(node.value, ast.Name):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            slices = [isinstance(p, ast.Slice) for p in parts]
            if any(slices) and not all(slices):
                raise NoKernel(f"{where} slices a computed array (`{ast.unparse(node)}`)")
        check(node.value)
        if not _is_array(model, node.value):
            raise NoKernel(f"{where} indexes a non-array value (`{ast.unparse(node)}`)")
        index = node.slice
        for part in index.elts if isinstance(index, ast.Tuple) else [index]:
            if isinstance(part, ast.Slice):
                for bound in (part.lower, part.upper, part.step):
                    if bound is not None:
                        if not _is_scalar_int(model, bound):
                            raise NoKernel(f"{where} slices with `{ast.unparse(bound)}`")
                        check(bound)
            elif _is_scalar_int(model, part):
                check(part)
            else:
                raise NoKernel(f"{where} indexes with `{ast.unparse(part)}`")
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            check(element)
        if isinstance(node, ast.Tuple) or (t is not None and t.dtype == "tuple"):
            return  # shapes, colors, the arrays concatenate() joins: checked element-wise
    elif isinstance(node, ast.Name):
        symbol = model.symbols.get(id(node))
        if symbol is not None and symbol.kind == "param" and model.params[node.id].nullable:
            raise NoKernel(f"{where} reads the nullable param '{node.id}'")
    elif not isinstance(node, ast.Constant):
        raise NoKernel(f"{where} uses {type(node).__name__} `{ast.unparse(node)}`")
    if untyped and (t is None or t.dtype == "any"):
        return
    if not _kernel_type(t):
        described = t.describe() if t is not None else "an untyped value"
        raise NoKernel(f"{where} computes {described} (`{ast.unparse(node)}`)")


def _kernel_type(t: T | None) -> bool:
    """A value type the kernel holds with the single env's semantics."""
    if t is None:
        return False
    if t.is_scalar:
        return array_dtype(t) in _SCALAR_DTYPES or t.dtype in _NARROW
    return t.dtype in _ARRAY_DTYPES


def _is_array(model: EnvModel, node: ast.expr) -> bool:
    t = model.types.get(id(node))
    return t is not None and not t.is_scalar


def _is_scalar_int(model: EnvModel, node: ast.expr) -> bool:
    t = model.types.get(id(node))
    return t is not None and t.is_scalar and t.kind == "int"


def _in_range(t: T, axis: int, index: ast.expr) -> bool:
    """Whether `index` is a literal int inside a dimension the analysis knows."""
    if t.shape is None or axis >= len(t.shape) or not isinstance(index, ast.Constant):
        return False
    dim, k = t.shape[axis], index.value
    return (
        isinstance(dim, int) and isinstance(k, int) and not isinstance(k, bool) and -dim <= k < dim
    )


def _rebound(stmts: list[ast.stmt]) -> set[str]:
    """Names assigned anywhere in `stmts` (not arrays written in place: `x[k] = v`)."""
    return {
        sub.id
        for stmt in stmts
        for sub in ast.walk(stmt)
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)
    }


def _check_function(model: EnvModel, node: ast.Call, where: str, buffered: bool) -> None:
    """A spec function the kernel compiles: its variant's body and result, checked alike."""
    variant = function_variant(model, node)
    assert isinstance(node.func, ast.Name)
    name = node.func.id
    if variant is None:
        raise NoKernel(f"{where} calls the spec function '{name}' (no typed variant)")
    if variant.random:
        raise NoKernel(f"{where} calls the spec function '{name}', which draws random numbers")
    inner = f"function '{name}'"
    for sub in [*variant.body.stmts, variant.returns.expr]:
        for n in ast.walk(sub):  # type: ignore[arg-type]
            if isinstance(n, ast.Name) and n.id == "elapsed_steps":
                raise NoKernel(f"{inner} reads elapsed_steps")
    _check_block(model, variant.body.stmts, inner, buffered=buffered)
    assert variant.returns.expr is not None
    _check_expr(model, variant.returns.expr, inner, buffered=buffered)


def _check_choice(model: EnvModel, node: ast.Call, where: str, buffered: bool) -> None:
    """choice(a) of a 1-D array or an int: `a[integers(0, len(a))]`, as NumPy draws it."""
    a = node.args[0] if node.args else None
    t = model.types.get(id(a)) if a is not None else None
    if (
        buffered
        or len(node.args) != 1
        or node.keywords
        or t is None
        or not (t.is_scalar and t.kind == "int" or (t.shape is not None and len(t.shape) == 1))
    ):
        raise NoKernel(f"{where} calls `{ast.unparse(node)}` (kernels take choice(a) only)")


def _check_block(
    model: EnvModel, stmts: list[ast.stmt], where: str, loop: bool = False, buffered: bool = True
) -> None:
    def check(node: ast.expr) -> None:
        _check_expr(model, node, where, buffered=buffered)
        if loop and buffered and _draws(node):
            # buffered draws are counted at build time: one per call site
            raise NoKernel(f"{where} draws random numbers in a loop")

    for stmt in stmts:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            if isinstance(target, ast.Subscript):
                check(target)
            elif not isinstance(target, ast.Name):
                raise NoKernel(f"{where} assigns to `{ast.unparse(target)}`")
            check(stmt.value)
            _check_stored(model, target, stmt.value, where)
        elif isinstance(stmt, ast.If):
            check(stmt.test)
            _check_block(model, stmt.body, where, loop, buffered)
            _check_block(model, stmt.orelse, where, loop, buffered)
        elif isinstance(stmt, ast.For):
            assert isinstance(stmt.iter, ast.Call)
            for arg in stmt.iter.args:
                check(arg)
            _check_block(model, stmt.body, where, True, buffered)
        else:
            raise NoKernel(f"{where} has a {type(stmt).__name__} statement")


def _check_stored(model: EnvModel, target: ast.expr, value: ast.expr, where: str) -> None:
    """Scalar state keeps the run-time type of what it was given (docs/vectorization.md): a
    float32 stored into float64 state makes the next step compute in float32 in the single
    env, which the kernel's float64 state arrays cannot follow in one typing of the step;
    where the analysis typed the step per variant, `_step_typings` checks the stores."""
    if not isinstance(target, ast.Name) or model.step_variants:
        return  # typed per step variant, each reading the state back in its dtype
    symbol = model.symbols.get(id(target))
    if symbol is None or symbol.kind != "state":
        return
    state_t = model.state[target.id].type
    value_t = model.types.get(id(value))
    if (
        state_t.is_scalar
        and value_t is not None
        and value_t.dtype in _NARROW
        and value_t.dtype != state_t.dtype  # narrow state given its own dtype keeps it
    ):
        raise NoKernel(
            f"{where} stores {value_t.described()} into state '{target.id}' "
            "(its run-time type changes after the first step)"
        )


def _draws(node: ast.AST) -> bool:
    return any(
        isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Name)
        and sub.func.id in BUILTINS
        and BUILTINS[sub.func.id].random
        for sub in ast.walk(node)
    )


def _names(nodes: Sequence[ast.AST]) -> set[str]:
    """The names read anywhere in `nodes`."""
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def _hoistable_calls(model: EnvModel, stmts: list[ast.stmt]) -> list[ast.Call]:
    """Library math calls in the step's top-level assignments that read only step-start
    values (state not yet assigned, params, `let` values, constants), outermost first.

    The kernel computes them for every env in a loop of its own before the step loop: a
    loop of nothing but `cos`/`sin` calls, and a step loop without them, run faster than
    one loop with both (CartPole at 16384 envs: 28 -> 25 ns per env-step). The values are
    the same: the same function of the same inputs.
    """
    assigned: set[str] = set()
    found: list[ast.Call] = []

    def start_values_only(node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and _draws(sub):
                return False
            if isinstance(sub, ast.Name):
                symbol = model.symbols.get(id(sub))
                if symbol is None or symbol.kind in ("constant", "param", "let"):
                    continue
                if symbol.kind != "state" or sub.id in assigned:
                    return False
        return True

    def visit(node: ast.AST) -> None:
        t = model.types.get(id(node))
        if (
            isinstance(node, ast.Call)
            and t is not None
            and t.is_scalar
            and isinstance(node.func, ast.Name)
            and node.func.id in _LIBRARY_MATH
            and node.func.id not in model.functions
            and start_values_only(node)
        ):
            found.append(node)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in stmts:
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            visit(stmt.value)
        assigned.update(
            sub.id
            for sub in ast.walk(stmt)
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)
        )
        assigned.update(  # arrays written in place: `x[k] = ...`
            sub.value.id
            for sub in ast.walk(stmt)
            if isinstance(sub, ast.Subscript)
            and isinstance(sub.ctx, ast.Store)
            and isinstance(sub.value, ast.Name)
        )
    return found


def _check(model: EnvModel, buffered: bool = True) -> None:
    kind = model.action_space.kind
    if kind not in _ACTION_KINDS:
        raise NoKernel(f"the action space is {kind} (kernels take {', '.join(_ACTION_KINDS)})")
    if kind == "Box" and model.action_space.dtype not in _ARRAY_DTYPES:
        raise NoKernel(f"the action space is a {model.action_space.dtype} Box")
    for name, state in model.state.items():
        scalar = state.type.is_scalar and (
            array_dtype(state.type) in _SCALAR_DTYPES or state.type.dtype in _NARROW
        )
        array = not state.type.is_scalar and state.type.dtype in _WIDE
        if not (scalar or array):
            raise NoKernel(f"state '{name}' is {(state.symbolic or state.type).describe()}")
        _check_expr(model, _expr(state.init), f"state '{name}' init", buffered=buffered)
        for dim in state.shape:
            if dim.expr is not None:
                _check_expr(model, dim.expr, f"state '{name}' shape", buffered=buffered)
    _check_block(model, model.reset.stmts, "reset", buffered=buffered)
    for typing in _step_typings(model):  # the step, as each of its typings prints it
        typed = typing.model
        _check_block(typed, model.step.stmts, "step", buffered=buffered)
        outputs = [(model.terminated, "terminated"), (model.reward, "reward")]
        outputs += [(c, f"info '{k}'") for k, c in model.info.items() if k not in model.reset_info]
        for code, where in outputs:
            _check_expr(typed, _expr(code), where, buffered=buffered)
            if not typed.types.get(id(code.expr), code.type).is_scalar:
                raise NoKernel(f"{where} is {code.type.described()}")


@dataclass
class _StepTyping:
    """The model as one step variant types the step (`EnvModel.step_variants`), and the
    dtype each scalar state holds when that variant starts (None: the array's own)."""

    model: EnvModel
    reads: dict[str, str | None]


def _step_typings(model: EnvModel) -> list[_StepTyping]:
    """The step's typings: one, or, where the single env's state changes type after the
    first step (MountainCarContinuous: float64 after reset, float32 after a step, as in
    Gymnasium), the first step's and every later step's. Each env runs the one its
    `_elapsed` calls for; the state arrays keep the declared dtype, which holds every
    variant's values exactly (a float32 in a float64 array), and each variant reads them
    back in its own entry dtype."""
    if not model.step_variants:
        return [_StepTyping(model, dict.fromkeys(model.state))]
    if not model.step_types_settle:
        raise NoKernel("the state's run-time types do not settle within two steps")
    typings = []
    for variant in model.step_variants:
        typed = copy.copy(model)  # shallow: the same trees, typed from this variant's tables
        typed.types, typed.operand_dtypes = variant.types, variant.operand_dtypes
        typed.held = variant.held
        reads: dict[str, str | None] = {}
        for name, state in model.state.items():
            storage = array_dtype(state.type)
            entry = variant.entry.get(name)
            for t in (entry, variant.end.get(name)):
                if t is None or array_dtype(t) == storage:
                    continue
                if not (t.is_scalar and (storage, t.dtype) in _EXACT_STORES):
                    declared = state.type.describe()
                    raise NoKernel(f"state '{name}' ({declared}) holds {t.described()} in a step")
            changes = entry is not None and array_dtype(entry) != storage
            reads[name] = entry.dtype if changes else None
        typings.append(_StepTyping(typed, reads))
    return typings


#: (array dtype, scalar dtype) pairs where the array holds every value of the scalar
#: dtype exactly, so that reading it back as that dtype gives the stored value.
_EXACT_STORES = {
    *(("float64", d) for d in ("float32", "int8", "int16", "int32", "uint8")),
    *(("int64", d) for d in ("int8", "int16", "int32", "uint8")),
}


def _calls_spec_functions(model: EnvModel) -> bool:
    """Whether the step, terminated, reward or the step's info call a spec function."""
    code: list[ast.AST] = [*model.step.stmts, _expr(model.terminated), _expr(model.reward)]
    code += [_expr(c) for k, c in model.info.items() if k not in model.reset_info]
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in model.functions
        for node in code
        for n in ast.walk(node)
    )


def _computes_with_changing_state(model: EnvModel, nodes: Sequence[ast.expr]) -> bool:
    """Whether `nodes` (an observation's or reset info's values, typed once) compute with
    state whose dtype differs between step variants: the single env computes in the dtype
    the state holds at the time. A bare read is exact from the state arrays (the value,
    converted into the output's dtype, is the same)."""
    changing = {
        name
        for name in model.state
        if len({array_dtype(v.entry[name]) for v in model.step_variants if name in v.entry}) > 1
    }
    return bool(changing & _names([n for n in nodes if not isinstance(n, ast.Name)]))


def _observation_rows(model: EnvModel) -> list[ast.expr] | None:
    """The scalar expressions of one observation row, where the kernel can write it.

    A Box built from a list of float expressions (written into float32/float64 rows as
    `np.array([...], dtype=...)` converts them) or a Discrete observation; None otherwise.
    """
    obs = model.observation
    if obs.code is None or obs.children or obs.code.expr is None:
        return None
    expr = obs.code.expr
    kind = obs.space.kind
    if _computes_with_changing_state(model, expr.elts if isinstance(expr, ast.List) else [expr]):
        return None
    try:
        if kind == "Discrete":
            _check_expr(model, expr, "observation")
            return [expr] if array_dtype(model.types[id(expr)]) == "int64" else None
        floats = obs.space.dtype in ("float32", "float64")
        if kind == "Box" and isinstance(expr, ast.List) and floats:
            for element in expr.elts:
                _check_expr(model, element, "observation")
                if array_dtype(model.types[id(element)]) != "float64":
                    return None
            return list(expr.elts)
    except NoKernel:
        return None
    return None


def _reset_info_rows(model: EnvModel) -> list[tuple[str, list[ast.expr], str, int]]:
    """The info the single env also returns at reset (it reads state only), where the
    kernel can write it: (key, its scalar expressions, dtype, length (0: a number)) per
    key, or [] (all keys then stay NumPy code after the kernel). A key is a number or a
    list of numbers (an action mask)."""
    found = []
    try:
        for key in model.reset_info:
            code = model.info[key]
            t = code.type
            expr = code.expr
            if expr is None or not t.is_numeric or t.dtype not in _INFO_DTYPES:
                return []
            if (  # int8([...]), as an action mask is built: each element cast
                isinstance(expr, ast.Call)
                and isinstance(expr.func, ast.Name)
                and expr.func.id == t.dtype
                and len(expr.args) == 1
                and not expr.keywords
                and isinstance(expr.args[0], ast.List)
            ):
                expr = expr.args[0]
            if t.is_scalar:
                rows = [expr]
            elif isinstance(expr, ast.List) and t.shape == (len(expr.elts),):
                rows = list(expr.elts)
            else:
                return []
            if _computes_with_changing_state(model, rows):
                return []
            for row in rows:
                _check_expr(model, row, f"info '{key}'")
                row_type = model.types[id(row)]
                # bool -> any dtype, or the same dtype: casts that cannot wrap or round
                if not row_type.is_scalar or array_dtype(row_type) not in ("bool", t.dtype):
                    return []
            found.append((key, rows, array_dtype(t), 0 if t.is_scalar else len(rows)))
    except NoKernel:
        return []
    return found


#: Info dtypes the kernel writes (casts as NumPy's astype).
_INFO_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64"}


def _picture(model: EnvModel) -> tuple[ast.Call, FunctionModel] | None:
    """The observation, where it is a spec function's picture the kernel can draw: a uint8
    Box observation `f(scalars...)` whose body makes `frame = zeros(...)`, draws on it with
    fill/fill_rect and scalar statements, and returns it (SimpleVisual). None otherwise."""
    obs = model.observation
    expr = obs.code.expr if obs.code is not None and not obs.children else None
    if (
        obs.space.kind != "Box"
        or obs.space.dtype != "uint8"
        or not isinstance(expr, ast.Call)
        or not isinstance(expr.func, ast.Name)
        or expr.func.id not in model.functions
        or expr.keywords
        or _computes_with_changing_state(model, expr.args)
    ):
        return None
    function = model.functions[expr.func.id]
    try:
        for arg in expr.args:
            _check_expr(model, arg, "observation")
        _check_picture(model, function)
    except NoKernel:
        return None
    return expr, function


def _check_picture(model: EnvModel, function: FunctionModel) -> None:
    returned = function.returns.expr
    if not isinstance(returned, ast.Name):
        raise NoKernel(f"function '{function.name}' does not return a frame by name")
    frame = returned.id
    made = False

    def block(stmts: list[ast.stmt]) -> None:
        nonlocal made
        for stmt in stmts:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                value = stmt.value
                if stmt.targets[0].id != frame:
                    _check_expr(model, value, "picture", untyped=True)
                    continue
                if made or not (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)
                    and value.func.id == "zeros"
                    and value.args
                    and isinstance(value.args[0], ast.Tuple)
                ):
                    raise NoKernel("the picture's frame is not made once by zeros((h, w, 3))")
                for dim in value.args[0].elts:
                    _check_expr(model, dim, "picture", untyped=True)
                made = True
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                call = stmt.value
                assert isinstance(call.func, ast.Name)
                before = _KERNEL_DRAWING.get(call.func.id)
                if before is None or call.keywords or len(call.args) != before + 1:
                    raise NoKernel(f"the picture calls {call.func.id}()")
                target, *coords, color = call.args
                if not isinstance(target, ast.Name) or target.id != frame or not made:
                    raise NoKernel("the picture draws on another array")
                if not isinstance(color, (ast.Tuple, ast.List)) or len(color.elts) != 3:
                    raise NoKernel("the picture's colors are not literal (r, g, b)")
                for value in [*coords, *color.elts]:
                    _check_expr(model, value, "picture", untyped=True)
            elif isinstance(stmt, ast.For):
                assert isinstance(stmt.iter, ast.Call)
                for arg in stmt.iter.args:
                    _check_expr(model, arg, "picture", untyped=True)
                block(stmt.body)
            elif isinstance(stmt, ast.If):
                _check_expr(model, stmt.test, "picture", untyped=True)
                block(stmt.body)
                block(stmt.orelse)
            elif not isinstance(stmt, ast.Pass):
                raise NoKernel(f"the picture has a {type(stmt).__name__} statement")

    block(function.body.stmts)
    if not made:
        raise NoKernel("the picture's frame is not made by zeros()")


def _expr(code: Code) -> ast.expr:
    assert code.expr is not None
    return code.expr


def emit_kernel(model: EnvModel, buffered: bool) -> KernelCode:
    """The jitted kernel functions and `_run_kernel` for `model`; NoKernel says why not.

    `buffered`: the vector env serves random()/uniform() from per-env PCG64 state rows
    (`Streams.states()`); otherwise every draw calls the env's own Generator inside the kernel.
    """
    _check(model, buffered)
    state = list(model.state)
    arrays = [f"_state_{name}" for name in state]  # spec names never start with `_`

    # _reset_env: state initial values, then the reset block (no options: an autoreset)
    rt = KernelTranslator(model, "reset", buffered)
    reset_body = []
    for name, var in model.state.items():
        shape = None
        if var.shape:
            dims = ", ".join(rt.code(c) for c in var.shape)
            shape = f"({dims}{',' if len(var.shape) == 1 else ''})"
        if shape is not None and not var.init.type.is_scalar:
            value = f"np.asarray({rt.code(var.init)}).astype({np_dtype(var.type.dtype)})"
        else:
            value = _state_value(var.type, rt.code(var.init), var.init.type, shape)
        reset_body.append(f"{name} = {tidy(value)}")
    reset_body += tidy_block(rt.block(model.reset.stmts))
    reset_body += [f"{array}[_i] = {name}" for name, array in zip(state, arrays, strict=True)]

    # the step of one env, as the single env spells it: once per typing of the step
    typings = _step_typings(model)
    steps = [_step_code(typing, state, arrays, buffered, hoist=True) for typing in typings]
    if len({tuple(step.body) for step in steps}) == 1:
        steps = steps[:1]  # the typings differ in nothing the kernel prints
    elif _calls_spec_functions(model):
        # a call's function variant comes from the symbols, shared by both typings: the
        # later typing would call the float64 typing's code with float32 values
        raise NoKernel(
            "the step calls a spec function with state whose type changes after the first step"
        )
    elif any(step.hoisted for step in steps):  # hoisted math would read one typing's state
        steps = [_step_code(typing, state, arrays, buffered, hoist=False) for typing in typings]
    step_translators = [t for step in steps for t in (step.st, step.ht)]
    hoisted, hoist_reads = steps[0].hoisted, steps[0].hoist_reads
    outputs = steps[0].outputs
    if any(step.outputs != outputs for step in steps):
        raise NoKernel("the step's info has other dtypes after the first step")
    if len(steps) == 1:
        step_body = steps[0].body
    else:  # the first step after a (re)set, then every later one
        fresh, later = steps
        step_body = [
            "if _elapsed[_i] == 1:",
            *(INDENT + line for line in fresh.body),
            "else:",
            *(INDENT + line for line in later.body),
        ]

    def random_args(translator: KernelTranslator) -> list[str]:
        if translator.direct:
            return ["_rngs"]
        return ["_rng"] if translator.draws else []

    functions = []
    reset_params = ["_i", *random_args(rt), *arrays, *rt.args.names]
    functions += _function(
        "_reset_env",
        reset_params,
        "The single env's reset of env `_i` (no options), into the state arrays.",
        reset_body,
    )

    # _observe_env: one observation row, from the state arrays
    rows = _observation_rows(model)
    observe: list[str] = []
    observe_params: list[str] = []
    translators = [rt, *step_translators]  # whose helpers, math and draws the module needs
    if rows is not None:
        ot = KernelTranslator(model, "observe", buffered)
        translators.append(ot)
        read = _names(rows)
        observed = [
            (name, array) for name, array in zip(state, arrays, strict=True) if name in read
        ]
        observe_body = [f"{name} = {array}[_i]" for name, array in observed]
        if len(rows) == 1 and model.observation.space.kind == "Discrete":
            observe_body.append(f"_obs[_i] = {tidy(ot.expr(rows[0]))}")
        else:
            observe_body += [f"_obs[_i, {k}] = {tidy(ot.expr(row))}" for k, row in enumerate(rows)]
        elapsed = ["_elapsed"] if "elapsed_steps" in read else []
        observe_params = ["_i", "_obs", *elapsed, *(a for _, a in observed), *ot.args.names]
        observe = [f"_observe_env({', '.join(observe_params)})"]
        functions += _function(
            "_observe_env",
            observe_params,
            "Env `_i`'s observation, into row `_i` of `_obs`.",
            observe_body,
        )

    picture = _picture(model) if rows is None else None
    if picture is not None:
        # the spec function, compiled, returns env _i's frame; _observe_env stores it
        call, function = picture
        ft = KernelTranslator(model, "observe", buffered)
        ot = KernelTranslator(model, "observe", buffered)
        translators += [ft, ot]
        body = tidy_block(ft.block(function.body.stmts))
        returned = function.returns.expr
        assert isinstance(returned, ast.Name)
        name = f"_fn_{function.name}"
        functions += _function(
            name,
            [*function.args, *ft.args.names],
            f"The spec function '{function.name}', as the single env computes it.",
            [*body, f"return {returned.id}"],
        )
        read = _names(list(call.args))
        observed = [
            (name_, array) for name_, array in zip(state, arrays, strict=True) if name_ in read
        ]
        values_ = ", ".join([*(tidy(ot.expr(a)) for a in call.args), *ft.args.names])
        observe_body = [f"{name_} = {array}[_i]" for name_, array in observed]
        observe_body.append(f"_obs[_i] = {name}({values_})")
        elapsed = ["_elapsed"] if "elapsed_steps" in read else []
        observe_params = _unique(
            ["_i", "_obs", *elapsed, *(a for _, a in observed), *ot.args.names, *ft.args.names]
        )
        observe = [f"_observe_env({', '.join(observe_params)})"]
        functions += _function(
            "_observe_env",
            observe_params,
            "Env `_i`'s observation, drawn into `_obs[_i]`.",
            observe_body,
        )
    observes = rows is not None or picture is not None

    # _info_env: the info the single env also returns at reset, after each step and reset,
    # as the observation (else NumPy code computes it for all envs after the kernel:
    # WallMaze's action mask took about 40 array temporaries a step).
    reset_info = _reset_info_rows(model)
    info_call: list[str] = []
    info_params: list[str] = []
    if reset_info:
        it = KernelTranslator(model, "observe", buffered)
        translators.append(it)
        read = _names([row for _, rows_, _, _ in reset_info for row in rows_])
        observed = [
            (name_, array) for name_, array in zip(state, arrays, strict=True) if name_ in read
        ]
        info_body = [f"{name_} = {array}[_i]" for name_, array in observed]
        for number, (_, key_rows, dtype, length) in enumerate(reset_info):
            cast = "bool" if dtype == "bool" else f"np.{dtype}"
            if length == 0:
                info_body.append(f"_rinfo{number}[_i] = {cast}({tidy(it.expr(key_rows[0]))})")
            else:
                info_body += [
                    f"_rinfo{number}[_i, {k}] = {cast}({tidy(it.expr(row))})"
                    for k, row in enumerate(key_rows)
                ]
        elapsed = ["_elapsed"] if "elapsed_steps" in read else []
        info_params = _unique(
            [
                "_i",
                *(f"_rinfo{number}" for number in range(len(reset_info))),
                *elapsed,
                *(a for _, a in observed),
                *it.args.names,
            ]
        )
        info_call = [f"_info_env({', '.join(info_params)})"]
        functions += _function(
            "_info_env",
            info_params,
            "Env `_i`'s info that reset also returns, into row `_i` of the `_rinfo` arrays.",
            info_body,
        )

    outs = [*(["_obs"] if observes else []), "_terminated", "_truncated", "_reward"]

    # _autoreset_envs: the envs that ended last step start a new episode (NEXT_STEP). A
    # loop over their indices, not over all envs: no unpredictable branch between two
    # resets, so the core overlaps their cache misses (at 16384 envs most draws miss).
    autoreset_params = _unique(
        [
            "_ids",
            *random_args(rt),
            "_elapsed",
            *arrays,
            *outs,
            *rt.args.names,
            *observe_params[1:],  # not `_i`
            *info_params[1:],
        ]
    )
    functions += _function(
        "_autoreset_envs",
        autoreset_params,
        "Reset the envs `_ids`, as the single env's reset() does.",
        [
            "for _i in _ids:",
            f"{INDENT}_reset_env({', '.join(reset_params)})",
            f"{INDENT}_elapsed[_i] = 0",
            f"{INDENT}_terminated[_i] = False",
            f"{INDENT}_truncated[_i] = False",
            f"{INDENT}_reward[_i] = 0.0",
            *(INDENT + line for line in observe),
            *(INDENT + line for line in info_call),
        ],
    )

    # _step_envs: every other env steps, as the single env's step() does; then the envs
    # in `_resetting` autoreset. One call from Python per step (each call costs about a
    # microsecond of argument unboxing, and so did the NumPy calls that found the resetting
    # envs). Resets are a loop of their own: a step loop without
    # them compiles to much faster code.
    # terminated, truncated and done are rows of one array (`_flags`): each array argument
    # costs Numba's dispatcher about 0.25 us per call, and each np.empty in Python as much.
    # Work arrays (`_work`: the hoisted math, the resetting envs) live on the env.
    hoisted_rows = [
        ("_work_math", f"{array} = _work_math[{k}]") for k, (array, _) in enumerate(hoisted)
    ]
    step_params = _unique(
        [
            "_actions",
            "_resetting",
            "_flags",
            *(["_work_math"] if hoisted else []),
            "_work_ids",
            *(arg for t in step_translators for arg in random_args(t)),
            *random_args(rt),
            "_elapsed",
            "_limit",
            *arrays,
            *(o for o in outs if o not in ("_terminated", "_truncated")),
            *(o[0] for o in outputs),
            *(name for t in step_translators for name in t.args.names),
            *rt.args.names,
            *observe_params[1:],  # not `_i`
            *info_params[1:],
        ]
    )
    # With no draws in the step, envs are independent: the loop may run on several threads.
    threadable = not any(t.draws or t.direct for t in step_translators)
    loop = "prange" if threadable else "range"
    hoist_loop = []
    if hoisted:
        hoist_loop = [
            *(line for _, line in hoisted_rows),
            f"for _i in {loop}(len(_actions)):",
            f"{INDENT}if _resetting[_i]:",
            f"{INDENT * 2}continue",
            *(INDENT + line for line in hoist_reads),
            *(f"{INDENT}{array}[_i] = {code}" for array, code in hoisted),
        ]
    functions += _function(
        "_step_envs",
        step_params,
        "Step the envs not in `_resetting`, as the single env's step() does, then reset\n"
        "those (NEXT_STEP autoresets). `_flags`: terminated, truncated and done (the env\n"
        "ended) per env. Returns how many reset.",
        [
            "_terminated, _truncated, _done = _flags[0], _flags[1], _flags[2]",
            *hoist_loop,
            f"for _i in {loop}(len(_actions)):",
            f"{INDENT}if _resetting[_i]:",
            f"{INDENT * 2}continue",
            f"{INDENT}_elapsed[_i] += 1",
            *(INDENT + line for line in step_body),
            f"{INDENT}_done[_i] = terminated or _truncated[_i]",
            *(INDENT + line for line in observe),
            *(INDENT + line for line in info_call),
            "_k = 0",
            "for _i in range(len(_actions)):",
            f"{INDENT}if _resetting[_i]:",
            f"{INDENT * 2}_work_ids[_k] = _i",
            f"{INDENT * 2}_done[_i] = False",
            f"{INDENT * 2}_k += 1",
            "if _k:",
            f"{INDENT}_autoreset_envs({', '.join(['_work_ids[:_k]', *autoreset_params[1:]])})",
            "return _k",
        ],
        threads=threadable,
    )

    # _run_kernel: fresh output arrays, then both loops
    method = [
        "def _run_kernel(self, action: np.ndarray, _resetting: np.ndarray) -> Any:",
        f'{INDENT}"""Step all envs with the compiled kernels (autoresetting `_resetting`)."""',
        f"{INDENT}_n = len(action)",
    ]
    if rows is not None:
        shape = "_n" if model.observation.space.kind == "Discrete" else f"(_n, {len(rows)})"
        dtype = "np.int64" if model.observation.space.kind == "Discrete" else None
        dtype = dtype or np_dtype(model.observation.space.dtype)
        method.append(f"{INDENT}obs = np.empty({shape}, dtype={dtype})")
    elif picture is not None:
        shape = "(_n, *self.single_observation_space.shape)"
        method.append(f"{INDENT}obs = np.empty({shape}, dtype=np.uint8)")
    method += [
        f"{INDENT}_flags = np.empty((3, _n), dtype=np.bool_)",
        f"{INDENT}terminated, truncated, _done = _flags",
        f"{INDENT}reward = np.empty(_n, dtype=np.float64)",
        f"{INDENT}_work = self._work",
        f"{INDENT}if _work is None or len(_work[1]) != _n:  # once (and for the compile probe)",
        f"{INDENT * 2}_work = (np.empty(({len(hoisted)}, _n)), np.empty(_n, dtype=np.int64))",
        f"{INDENT * 2}self._work = _work",
    ]
    for out, _, dtype in outputs:
        method.append(f"{INDENT}{out} = np.zeros(_n, dtype={np_dtype(dtype)})")
    for number, (_, _, dtype, length) in enumerate(reset_info):
        shape = f"(_n, {length})" if length else "_n"
        method.append(f"{INDENT}_rinfo{number} = np.empty({shape}, dtype={np_dtype(dtype)})")
    values = {
        "_ids": "_ids",
        "_actions": "action",
        "_resetting": "_resetting",
        "_flags": "_flags",
        "_work_math": "_work[0]",
        "_work_ids": "_work[1]",
        "_rngs": "_rngs",
        "_rng": "_rng",
        "_elapsed": "self._elapsed",
        "_limit": "self._step_limit",
        "_obs": "obs",
        "_terminated": "terminated",
        "_truncated": "truncated",
        "_reward": "reward",
        **{array: f"self.{name}" for name, array in zip(state, arrays, strict=True)},
        **{out: out for out, _, _ in outputs},
        **{f"_rinfo{number}": f"_rinfo{number}" for number in range(len(reset_info))},
    }
    if any(t.direct for t in translators):
        method.append(f"{INDENT}_rngs = self._streams.kernel_generators()")
    if any(t.draws for t in translators):
        method.append(f"{INDENT}_rng = self._streams.states()")

    def call(name: str, params: list[str]) -> str:
        return f"{name}({', '.join(values.get(p, f'self.{p}') for p in params)})"

    step_call = call("_step_envs", step_params)
    if threadable:
        step_call = step_call.replace("_step_envs(", "self._threaded(_step_envs)(", 1)
    method.append(f"{INDENT}_resets = {step_call}")
    if state:
        checks = ", ".join(f"{name}=self.{name}" for name in state)
        method += [f"{INDENT}if self.check_state:", f"{INDENT * 2}_rt.check_finite(ID, {checks})"]
    info_dict = "{" + ", ".join(f"{literal(key)}: {out}" for out, key, _ in outputs) + "}"
    # the reset info, as `_info(info, None)` gives it: every env has each key
    reset_items = [
        f"{literal(key)}: _rinfo{number}, {literal('_' + key)}: np.ones(_n, dtype=np.bool_)"
        for number, (key, _, _, _) in enumerate(reset_info)
    ]
    reset_dict = "{" + ", ".join(reset_items) + "}" if reset_info else "None"
    obs_out = "obs" if observes else "None"
    method.append(
        f"{INDENT}return {obs_out}, terminated, truncated, reward, {info_dict}, {reset_dict}, "
        "_done, _resets > 0"
    )
    used = _with_callees(set().union(*(t.helpers for t in translators)))
    helpers = [line for name in sorted(used) for line in [*_HELPERS[name], "", ""]]
    spec_functions: dict[str, list[str]] = {}
    for t in translators:
        spec_functions.update(t.functions)
    compiled = [line for name in sorted(spec_functions) for line in spec_functions[name]]
    functions = helpers + compiled + functions
    math = sorted(set().union(*(t.math for t in translators)))
    direct = sorted(set().union(*(t.direct for t in translators)))
    draws = max(rt.draws, *(t.draws for t in step_translators))
    array_math = sorted(set().union(*(t.array_math for t in translators)))
    return KernelCode(
        functions, method, math, draws, direct, threadable, observes, array_math, bool(reset_info)
    )


@dataclass
class _StepCode:
    """One typing's step of env `_i` (`_step_code`)."""

    body: list[str]  # state reads, the step, state writes and the env's outputs
    st: KernelTranslator  # the step's translator
    ht: KernelTranslator  # the hoisted math's translator
    hoisted: list[tuple[str, str]]  # (work array, code) of the math computed beforehand
    hoist_reads: list[str]  # the state reads the hoisted math needs
    outputs: list[tuple[str, str, str]]  # (array, info key, dtype) of the step's info


def _step_code(
    typing: _StepTyping, state: list[str], arrays: list[str], buffered: bool, hoist: bool
) -> _StepCode:
    """The step of env `_i` as the single env spells it, typed as `typing` types it."""
    model = typing.model

    def read(name: str, array: str) -> str:
        dtype = typing.reads[name]  # the single env holds another dtype here: exact
        return f"{name} = np.{dtype}({array}[_i])" if dtype else f"{name} = {array}[_i]"

    st = KernelTranslator(model, "step", buffered)
    # library math calls on step-start values: a loop of their own (see _hoistable_calls)
    ht = KernelTranslator(model, "step", buffered)
    hoisted: list[tuple[str, str]] = []  # (array, code)
    calls = _hoistable_calls(model, model.step.stmts) if hoist else []
    for number, call in enumerate(calls):
        assert isinstance(call.func, ast.Name)
        array = f"_{call.func.id}{number}"
        hoisted.append((array, tidy(ht.expr(call))))
        st.substitutes[id(call)] = f"{array}[_i]"
    called = _names(calls)
    hoist_reads = [read(n, a) for n, a in zip(state, arrays, strict=True) if n in called]
    # Array state the step never mentions is not read (a view nobody uses).
    code: list[ast.AST] = [*model.step.stmts, _expr(model.terminated), _expr(model.reward)]
    code += [_expr(c) for k, c in model.info.items() if k not in model.reset_info]
    mentioned = _names(code)
    step_body = [
        read(name, array)
        for name, array in zip(state, arrays, strict=True)
        if model.state[name].type.is_scalar or name in mentioned
    ]
    if model.reads_action:
        step_body.append("action = _actions[_i]")
    step_body += tidy_block(st.block(model.step.stmts))
    # Array state the step never rebinds is a view of its row, written in place already.
    rebound = _rebound(model.step.stmts)
    step_body += [
        f"{array}[_i] = {name}"
        for name, array in zip(state, arrays, strict=True)
        if model.state[name].type.is_scalar or name in rebound
    ]
    reward_type = model.types.get(id(model.reward.expr), model.reward.type)
    step_body.append(f"terminated = {tidy(f'bool({st.code(model.terminated)})')}")
    step_body.append(f"reward = {tidy(_as_float(st.code(model.reward), reward_type))}")
    step_body += ["_terminated[_i] = terminated", "_reward[_i] = reward"]
    info = [(k, c) for k, c in model.info.items() if k not in model.reset_info]
    outputs = []
    for number, (key, code_) in enumerate(info):
        dtype = array_dtype(model.types.get(id(code_.expr), code_.type))
        outputs.append((f"_info{number}", key, dtype))
        step_body.append(f"_info{number}[_i] = {tidy(st.code(code_))}")
    step_body.append("_truncated[_i] = _elapsed[_i] >= _limit")
    return _StepCode(step_body, st, ht, hoisted, hoist_reads, outputs)


def _function(
    name: str, params: list[str], doc: str, body: list[str], threads: bool = False
) -> list[str]:
    """A jitted module-level function, and the two blank lines after it."""
    lines = doc.splitlines()
    docstring = (
        [f'{INDENT}"""{lines[0]}"""']
        if len(lines) == 1
        else [
            f'{INDENT}"""{lines[0]}',
            *(f"{INDENT}{line}" if line else "" for line in lines[1:]),
            f'{INDENT}"""',
        ]
    )
    return [
        "@jit(threads=True)" if threads else "@jit",
        f"def {name}({', '.join(params)}):",
        *docstring,
        *(INDENT + b for b in body),
        "",
        "",
    ]


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))
