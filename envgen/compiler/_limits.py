"""Limits on what a spec may ask of the compiler and of the env it builds, each a located error.

Every limit here stops a class of input that used to crash the build with a traceback, or
build an env that then failed at import or construction:

- code that nests too deeply (`ast.parse` runs out of memory on 100 000 unary minus signs;
  the analysis, the printers and the generated module's parser recurse per level; a
  201-term `+` chain hits Python's 200-level parenthesis limit): `MAX_CODE_DEPTH`;
- integer literals outside the 64-bit range (a 5000-digit hex literal cannot even be
  printed), float literals that overflow to infinity, `...`: `check_literals`;
- arrays with a negative length, or more than `MAX_ELEMENTS` elements, whether the shape
  is a literal (`zeros((2, -1))`), folded from constants (`zeros(10**12)`,
  `shape: [int(1e12)]`) or inferred: `check_model`;
- Box bounds that Gymnasium refuses at construction (NaN, `low: inf`, `high: -inf`);
- ansi templates that use unknown filters or tests, or that Jinja2 cannot compile;
- wrapper keywords the wrapper does not take, and values Gymnasium refuses (`_wrappers`);
- ids whose module file name would be too long for a file system.

`parse` replaces `ast.parse` for spec code (`envgen.compiler._checker`); `check_model`
runs after the analysis (`envgen.build.check_spec`); `template_problems` runs inside the
template check (`envgen.compiler._render`).
"""

from __future__ import annotations

import ast
import inspect
import math
from collections.abc import Mapping
from typing import Any

from envgen.compiler._language import MAX_ELEMENTS, fits_int64
from envgen.compiler.diagnostics import Diagnostic, did_you_mean
from envgen.runtime import bound_failures

#: Deepest nesting of spec code (expressions and blocks), in syntax-tree levels.
MAX_CODE_DEPTH = 100
#: Deepest nesting of an ansi template's syntax tree.
MAX_TEMPLATE_DEPTH = 100
#: Longest module file name (bytes): file systems allow 255, and `_vector.py` is added.
MAX_MODULE_NAME = 200
#: Functions whose arguments give the shape (or length) of the array they create.
_CREATORS = {"zeros", "ones", "full", "empty", "arange", "linspace", "eye", "identity"}


class LimitError(SyntaxError):
    """A spec's code exceeds a limit; raised from `parse` like a syntax error, with its own
    diagnostic code and hint (`envgen.compiler._checker` reports both)."""

    def __init__(self, message: str, line: int, offset: int, code: str, hint: str) -> None:
        super().__init__(message)
        self.msg = message
        self.lineno = line
        self.offset = offset
        self.diagnostic_code = code
        self.hint = hint


def parse(text: str, mode: str) -> ast.AST:
    """`ast.parse(text, mode)` for spec code, within the limits; raises `SyntaxError`
    (a `LimitError` for a limit) with the position of the problem."""
    try:
        tree = ast.parse(text, mode=mode)
    except (MemoryError, RecursionError):
        raise LimitError(
            "the code nests too deeply to parse",
            1,
            1,
            "too-deep",
            "split the expression into several assignments of a few levels each",
        ) from None
    except SyntaxError as exc:
        if "Exceeds the limit" in (exc.msg or ""):  # Python's 4300-digit int limit
            raise LimitError(
                "an integer literal outside the 64-bit range",
                exc.lineno or 1,
                exc.offset or 1,
                "too-large",
                "integers are int64; write a float (1e30) for larger magnitudes",
            ) from None
        if "too many nested" in (exc.msg or "") or "too complex" in (exc.msg or ""):
            raise LimitError(
                f"the code nests too deeply ({exc.msg})",
                exc.lineno or 1,
                exc.offset or 1,
                "too-deep",
                "split the expression into several assignments of a few levels each",
            ) from None
        raise
    _check_depth(tree)
    check_literals(tree)
    return tree


def _check_depth(tree: ast.AST) -> None:
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CODE_DEPTH:
            raise LimitError(
                f"the code nests more than {MAX_CODE_DEPTH} levels deep",
                getattr(node, "lineno", 1),
                getattr(node, "col_offset", 0) + 1,
                "too-deep",
                "split long chains (a + b + ... , x if c else ...) into several assignments",
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def check_literals(tree: ast.AST) -> None:
    """Integer literals fit in 64 bits, float literals are finite, and no `...`."""
    # -9223372036854775808 is a minus applied to the literal 2**63, which alone is too large
    negated = {
        id(node.operand)
        for node in ast.walk(tree)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        value = node.value
        where = (getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not fits_int64(-value if id(node) in negated else value)
        ):
            raise LimitError(
                f"an integer literal of {value.bit_length()} bits is outside the 64-bit range",
                *where,
                "too-large",
                "integers are int64; write a float (1e30) for larger magnitudes",
            )
        if isinstance(value, float) and math.isinf(value):
            raise LimitError(
                "a float literal that overflows to infinity",
                *where,
                "too-large",
                "write inf for infinity, or a number below 1.8e308",
            )
        if value is Ellipsis:
            raise LimitError(
                "`...` (Ellipsis) is not part of the language",
                *where,
                "refused",
                "index with integers and slices, e.g. x[:] or x[0, :]",
            )


# --- constant folding (for lengths written as expressions of literals) ---------------------


def apply(op: ast.operator | ast.unaryop, *operands: Any) -> Any:
    """The value of one arithmetic operation (`-a`, `+a`, or `a op b`) on numbers, or None
    where it has none (not a number, division by zero, an operator outside the table): the
    constant folder's one operator table, with bounded products and powers."""
    if not operands or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in operands
    ):
        return None
    if len(operands) == 1:
        (a,) = operands
        if isinstance(op, ast.USub):
            return -a
        return a if isinstance(op, ast.UAdd) else None
    a, b = operands
    try:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b if abs(a) < 2**128 and abs(b) < 2**128 else math.inf
        if isinstance(op, ast.FloorDiv):
            return a // b
        if isinstance(op, ast.Mod):
            return a % b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.Pow):
            if abs(b) > 256 or abs(a) > 2**64:
                return math.inf if abs(a) > 1 and b > 0 else None
            return a**b
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return None


def fold(
    node: ast.AST | None,
    names: Mapping[str, int | float] | None = None,
    memo: dict[int, Any] | None = None,
) -> Any:
    """The value of a constant expression of numbers (`10**12`, `int(1e12)`, `(2, -1)`), or
    None when it depends on names (other than those in `names`: a param's default, say) or
    is not plain arithmetic. Never evaluates spec text: it walks the checked tree, with
    bounded powers.

    `memo` (id(node) -> value) keeps what was folded for a caller that folds every node of
    a tree: each operation of a chain `a + b + c + ...` is then folded once, not once per
    enclosing operation (time quadratic in the chain's length)."""
    if node is None:
        return None
    if memo is None:
        return _fold(node, names, None)
    if id(node) not in memo:
        memo[id(node)] = _fold(node, names, memo)
    return memo[id(node)]


def _fold(node: ast.AST, names: Mapping[str, int | float] | None, memo: dict | None) -> Any:
    """`fold` of one node, its operands folded through `fold` (with the same `memo`)."""
    if isinstance(node, ast.Constant):
        value = node.value
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(node, ast.Name):
        return None if names is None else names.get(node.id)
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [fold(e, names, memo) for e in node.elts]
        return None if any(i is None for i in items) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return apply(node.op, fold(node.operand, names, memo))
    if isinstance(node, ast.BinOp):
        return apply(node.op, fold(node.left, names, memo), fold(node.right, names, memo))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        values = [fold(a, names, memo) for a in node.args]
        if not values or not all(isinstance(v, (int, float)) for v in values):
            return None
        if node.func.id in ("min", "max") and len(values) >= 2:
            return min(values) if node.func.id == "min" else max(values)
        if len(values) != 1:
            return None
        (value,) = values
        if node.func.id == "int" and math.isfinite(value):
            return int(value)
        if node.func.id == "float":
            return float(value)
        if node.func.id == "abs":
            return abs(value)
    return None


def default_values(spec: Any, overrides: Mapping[str, Any] | None = None) -> dict[str, int | float]:
    """The numbers the params have by default (or as a variant sets them: `overrides`), and
    the `let` values that are arithmetic on them (`cells: size * size`): what a shape of
    params is when the env is made plainly."""
    values: dict[str, int | float] = {}
    for name, param in spec.params.items():
        default = (overrides or {}).get(name, param.default)
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            continue
        if bound_failures(param, default):
            continue  # an invalid default is reported as such, not by what it leads to
        if param.type == "float" or isinstance(default, int):
            values[name] = float(default) if param.type == "float" else default
    for name, text in spec.let.items():
        try:
            node = parse(text, "eval").body if isinstance(text, str) else ast.Constant(text)
        except SyntaxError:
            continue  # reported where the let value is checked
        value = fold(_inline_functions(node, spec), values)
        if isinstance(value, (int, float)):
            values[name] = value
    return values


#: How deep `_inline_functions` follows spec functions calling spec functions.
_MAX_INLINE_DEPTH = 8


def _inline_functions(node: ast.expr, spec: Any, depth: int = 0) -> ast.expr:
    """`node` with each call of a spec function that is one `return` expression (no body)
    replaced by that expression over the call's arguments, so that `fold` sees through
    `tri(n)` with `tri: {args: [k], return: k * (k + 1) // 2}`: a length of 0 at the default
    params is then refused at build, as the env would refuse it when made."""
    functions = getattr(spec, "functions", None) or {}
    if not functions or depth >= _MAX_INLINE_DEPTH:
        return node

    class Inline(ast.NodeTransformer):
        def visit_Call(self, call: ast.Call) -> ast.expr:
            self.generic_visit(call)
            fn = functions.get(call.func.id) if isinstance(call.func, ast.Name) else None
            if fn is None or fn.body.strip() or call.keywords or len(call.args) != len(fn.args):
                return call
            try:
                returns = fn.returns
                body = parse(returns, "eval").body if isinstance(returns, str) else None
            except SyntaxError:
                return call
            if body is None:
                return ast.Constant(returns) if isinstance(returns, (int, float)) else call
            arguments = dict(zip(fn.args, call.args, strict=True))

            class Substitute(ast.NodeTransformer):
                def visit_Name(self, name: ast.Name) -> ast.expr:
                    return arguments.get(name.id, name)

            return _inline_functions(Substitute().visit(body), spec, depth + 1)

    return Inline().visit(node)


def _count(value: Any) -> tuple[float, bool] | None:
    """(elements, has a negative length) of a folded shape or length, or None."""
    dims = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(d, (int, float)) for d in dims):
        return None
    total = 1.0
    for d in dims:
        total *= abs(d) if math.isfinite(d) else math.inf
    return total, any(d < 0 for d in dims)


# --- after the analysis --------------------------------------------------------------------


def check_model(model: Any) -> list[Diagnostic]:
    """Limits the analysis does not check, for one analysed spec (single- or multi-agent)."""
    out: list[Diagnostic] = []
    document = model.document

    def at_node(path: tuple, node: ast.AST, message: str, hint: str, code: str) -> None:
        location = document.code_location(path, getattr(node, "lineno", 1), node.col_offset)
        out.append(Diagnostic(location, message, hint, code))

    # Ids: the module file name must fit a file system.
    if len(model.module_name.encode()) > MAX_MODULE_NAME:
        out.append(
            Diagnostic(
                document.location(("id",)),
                f"the id is too long: its module name has {len(model.module_name)} characters, "
                f"more than {MAX_MODULE_NAME}",
                "choose a shorter id",
                "too-large",
            )
        )

    # Array sizes: inferred shapes, lengths folded from constants, and state shapes.
    codes = list(model.codes())
    seen: set[int] = set()
    for code in codes:
        roots = [*code.stmts, *([code.expr] if code.expr is not None else [])]
        for root in roots:
            for node in ast.walk(root):
                if id(node) in seen or not isinstance(node, ast.expr):
                    continue
                problem = _array_problem(model, node)
                if problem is not None:
                    seen.update(id(n) for n in ast.walk(node))
                    at_node(code.path, node, problem, _SIZE_HINT, "too-large")
    for name, state in model.state.items():
        folded = [fold(c.expr) for c in state.shape]
        counted = _count(tuple(folded)) if folded and None not in folded else None
        if counted is not None and (counted[1] or counted[0] > MAX_ELEMENTS):
            what = "a negative length" if counted[1] else f"{counted[0]:.0f} elements"
            out.append(
                Diagnostic(
                    document.location(("state", name, "shape")),
                    f"state '{name}' would have {what} (at most {MAX_ELEMENTS} elements)",
                    _SIZE_HINT,
                    "too-large",
                )
            )

    # reshape() of state whose size the defaults give (hostile trial 4 H6: `(4, -1)` of 6),
    # where it always runs: not in a branch or loop the params may skip (trial 6 Q9)
    defaults = default_values(model.spec)
    for code in codes:
        roots = [*code.stmts, *([code.expr] if code.expr is not None else [])]
        guarded = _guarded_nodes(roots)
        for root in roots:
            for node in ast.walk(root):
                if id(node) in guarded:
                    continue
                problem = _reshape_problem(model, node, defaults)
                if problem is not None:
                    at_node(code.path, node, problem, _RESHAPE_HINT, "shape")

    # Box bounds Gymnasium refuses when the env is made.
    for space in _model_spaces(model):
        if space.kind != "Box":
            continue
        for key in ("low", "high"):
            value = space.args.get(key)
            for code in value if isinstance(value, list) else [value]:
                bound = fold(getattr(code, "expr", None))
                if not isinstance(bound, (int, float)):
                    continue
                bad = ""
                if math.isnan(bound):
                    bad = "NaN"
                elif key == "low" and bound == math.inf:
                    bad = "+inf (nothing is above it)"
                elif key == "high" and bound == -math.inf:
                    bad = "-inf (nothing is below it)"
                if bad:
                    out.append(
                        Diagnostic(
                            document.location(code.path),
                            f"the Box's {key} is {bad}; Gymnasium refuses such a space",
                            "use finite bounds, or -inf for low and inf for high",
                            "range",
                        )
                    )

    # Wrapper keywords: the ones the wrapper takes.
    out += _wrapper_problems(model)
    return out


_SIZE_HINT = f"arrays hold at most {MAX_ELEMENTS} elements and no length is negative"
_RESHAPE_HINT = "give lengths whose product is the array's size (or one -1 that divides it)"


def _guarded_nodes(roots: list[ast.AST]) -> set[int]:
    """ids of the nodes in if/else branches, `a if c else b` arms and loop bodies: code that
    may not run (their tests and the loop's range always run)."""
    out: set[int] = set()
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, (ast.If, ast.For)):
                parts: list[ast.AST] = [*node.body, *node.orelse]
            elif isinstance(node, ast.IfExp):
                parts = [node.body, node.orelse]
            else:
                continue
            for part in parts:
                out.update(id(n) for n in ast.walk(part))
    return out


def _reshape_problem(model: Any, node: ast.AST, defaults: dict[str, Any]) -> str | None:
    """`reshape(x, shape)` of a state array `x` that cannot work with the default params."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "reshape"
        and len(node.args) == 2
        and isinstance(node.args[0], ast.Name)
    ):
        return None
    state = getattr(model, "state", {}).get(node.args[0].id)
    symbol = model.symbols.get(id(node.args[0]))
    if getattr(symbol, "kind", None) != "state" or getattr(state, "symbolic", None) is None:
        return None
    shape = state.symbolic.shape
    sizes = [fold(c.expr, defaults) for c in state.shape]
    target = fold(node.args[1], defaults)
    target = (target,) if isinstance(target, (int, float)) else target
    if not shape or not isinstance(target, tuple) or None in sizes:
        return None
    if not all(isinstance(d, int) for d in (*sizes, *target)):
        return None
    total, rest = math.prod(sizes), math.prod(d for d in target if d != -1)
    if -1 in target:
        if rest and total % rest == 0:
            return None
    elif rest == total:
        return None
    return (
        f"reshape() of '{node.args[0].id}' ({total} elements with the default params) "
        f"into {tuple(target)} cannot work"
    )


def _array_problem(model: Any, node: ast.expr) -> str | None:
    if not isinstance(node, ast.Call):  # where arrays are made, not where they are used
        return None
    t = model.types.get(id(node))
    shape = getattr(t, "shape", None)
    if shape:
        ints = [d for d in shape if isinstance(d, int)]
        if any(d < 0 for d in ints):
            return f"an array with a negative length (shape {tuple(shape)})"
        if len(ints) == len(shape) and math.prod(ints) > MAX_ELEMENTS:
            return f"an array of {math.prod(ints)} elements (at most {MAX_ELEMENTS})"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id not in _CREATORS or not node.args:
            return None
        if node.func.id == "arange":
            bounds = [fold(a) for a in node.args[:3]]
            if any(not isinstance(b, (int, float)) for b in bounds):
                return None
            start, stop, step = (
                (0, bounds[0], 1)
                if len(bounds) == 1
                else (*bounds[:2], bounds[2] if len(bounds) > 2 else 1)
            )
            if step == 0 or not all(math.isfinite(x) for x in (start, stop, step)):
                return None
            counted = _count(max(0.0, math.ceil((stop - start) / step)))
        elif node.func.id == "linspace":
            num = fold(node.args[2]) if len(node.args) > 2 else None
            num = (
                num
                if num is not None
                else next((fold(k.value) for k in node.keywords if k.arg == "num"), None)
            )
            counted = _count(num) if num is not None else None
        elif node.func.id in ("eye", "identity"):
            n = fold(node.args[0])
            counted = _count((n, n)) if isinstance(n, (int, float)) else None
        else:
            counted = _count(fold(node.args[0]))
        if counted is not None:
            total, negative = counted
            if negative:
                return f"{node.func.id}() with a negative length"
            if total > MAX_ELEMENTS:
                return f"{node.func.id}() of {total:.0f} elements (at most {MAX_ELEMENTS})"
    return None


def _model_spaces(model: Any) -> list[Any]:
    """Every space of a single-agent model, or of each role of a multi-agent one (and its
    global state)."""
    roles = getattr(model, "roles", None)
    if roles is None:
        return _spaces(model.action_space) + _spaces(model.observation_space)
    out = []
    for role in roles:
        out += _spaces(role.action_space) + _spaces(role.observation_space)
    if model.global_space is not None:
        out += _spaces(model.global_space)
    return out


def _spaces(space: Any) -> list[Any]:
    out = [space]
    for _, child in space.children:
        out += _spaces(child)
    return out


def _wrapper_problems(model: Any) -> list[Diagnostic]:
    out = []
    try:
        import gymnasium.wrappers as wrappers
    except ImportError:  # pragma: no cover - Gymnasium is a dependency
        return out
    for index, (name, _, kwargs) in enumerate(getattr(model, "wrappers", ())):
        wrapper = getattr(wrappers, name, None)
        if wrapper is None:
            continue  # the schema reports unknown wrappers
        try:
            signature = inspect.signature(wrapper.__init__)
        except (TypeError, ValueError):
            continue
        params = list(signature.parameters.values())[1:]  # self
        if any(p.kind is p.VAR_KEYWORD for p in params):
            continue
        takes = [p.name for p in params[1:]]  # after env
        path = ("wrappers", index)
        for key in kwargs:
            if key not in takes:
                hint = did_you_mean(str(key), takes) or (
                    f"{name} takes: {', '.join(takes)}" if takes else f"{name} takes no keywords"
                )
                out.append(
                    Diagnostic(
                        model.document.location((*path, name, key)),
                        f"the wrapper {name} has no keyword '{key}'",
                        hint,
                        "schema",
                    )
                )
        missing = [
            p.name
            for p in params[1:]
            if p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in kwargs
        ]
        if missing:
            out.append(
                Diagnostic(
                    model.document.location((*path, name)),
                    f"the wrapper {name} needs {', '.join(repr(m) for m in missing)}",
                    f"e.g. {{{name}: {{{missing[0]}: ...}}}}",
                    "schema",
                )
            )
    if not out:  # the keywords are the wrappers' own: Gymnasium checks their values
        from envgen.compiler._wrappers import wrapper_problems

        out += wrapper_problems(model)
    return out


# --- ansi templates --------------------------------------------------------------------------


def template_problems(environment: Any, source: str, parsed: Any) -> list[tuple[str, str]]:
    """(message, hint) for what would make an ansi template fail when the env renders or is
    imported: unknown filters and tests, nesting too deep, code Jinja2 cannot compile."""
    from jinja2 import nodes

    problems = []
    for node in parsed.find_all((nodes.Filter, nodes.Test)):
        table = environment.filters if isinstance(node, nodes.Filter) else environment.tests
        if node.name not in table:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            problems.append(
                (
                    f"the template uses the unknown {kind} '{node.name}'",
                    did_you_mean(node.name, table) or f"see Jinja2's list of builtin {kind}s",
                )
            )
    if problems:
        return problems
    stack = [(parsed, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TEMPLATE_DEPTH:
            return [
                (
                    f"the template nests more than {MAX_TEMPLATE_DEPTH} levels deep",
                    "split long expressions with {% set %} into several steps",
                )
            ]
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    try:
        environment.compile(source)
    except (SyntaxError, RecursionError, MemoryError) as exc:
        reason = getattr(exc, "msg", None) or type(exc).__name__
        return [
            (
                f"the template cannot be compiled ({reason})",
                "split long expressions with {% set %} into several steps",
            )
        ]
    except Exception as exc:  # noqa: BLE001 - any Jinja2 error is the template's problem
        return [(f"the template cannot be compiled: {exc}", "see Jinja2's template syntax")]
    return []
