"""Checks of the spec features around the dynamics: `require`, `action_mask`, `variants`
and `deterministic`. Each takes the checker and the scopes `analyze` built, reports located
problems through the checker, and returns what the backends emit."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from envgen.compiler.diagnostics import did_you_mean
from envgen.compiler.functions import BUILTINS
from envgen.compiler.spec import EnvSpec
from envgen.compiler.types import dim_equal


@dataclass
class RequireModel:
    """One `require:` entry: a checked condition over params and `let` values."""

    check: Any  # Code
    message: str
    where: str  # file:line:column of the condition, for the error at construction


def check_requires(checker: Any, spec: EnvSpec, root: Any) -> list[RequireModel]:
    """Type-check each condition over params, constants, `let` values and functions."""
    out = []
    for i, item in enumerate(spec.require):
        path = ("require", i, "check")
        code = checker.parse_expr(item.check, path)
        if code.expr is None:
            continue
        checker.check_expr(code, root, random=False)
        t = code.type
        if t.dtype != "any" and (not t.is_scalar or not t.is_numeric):
            checker.error(
                path,
                f"a requirement must be a true/false condition, got {t.describe()}",
                "reduce arrays with any(...), all(...) or sum(...), e.g. `sum(grid == 3) >= 1`",
                "type",
            )
        out.append(RequireModel(code, item.message, str(checker.document.location(path))))
    return out


def check_action_mask(
    checker: Any, spec: EnvSpec, action_space: Any, scope: Any, shape_check: type
) -> tuple[list[Any], str | None]:
    """The mask expressions (one per Discrete dimension) as checked `int8(...)` codes, and
    where the spec's mask is when the env must check its length at run time (else None).

    Each must be a 1-D array of bools or integers with one entry per action of its
    dimension; lengths only the params decide are checked when the env is made.
    """
    if spec.action_mask is None:
        return [], None
    kind = action_space.kind
    if kind == "Discrete":
        raws: list[tuple[Any, tuple]] = [(spec.action_mask, ("action_mask",))]
        sizes = [action_space.args["n"]]
    elif kind == "MultiDiscrete":
        if not isinstance(action_space.args["nvec"], list):  # nvec as one expression
            checker.error(
                ("action_mask",),
                "a MultiDiscrete action mask needs `nvec` written as a list (one size per "
                "dimension), to match one mask per dimension",
                "write nvec as a list, e.g. nvec: [rows, cols]",
                "action-mask",
            )
            return [], None
        sizes = list(action_space.args["nvec"])
        if not isinstance(spec.action_mask, list) or len(spec.action_mask) != len(sizes):
            checker.error(
                ("action_mask",),
                f"a MultiDiscrete action mask is a list of {len(sizes)} expressions, one per "
                "dimension",
                'e.g. action_mask: ["row_ok", "col_ok"], each an array of that dimension\'s '
                "size (as MultiDiscrete.sample(mask=...) takes them)",
                "action-mask",
            )
            return [], None
        raws = [(raw, ("action_mask", i)) for i, raw in enumerate(spec.action_mask)]
    else:
        checker.error(
            ("action_mask",),
            f"action masks need a Discrete or MultiDiscrete action space, not {kind}",
            "remove `action_mask`, or use a Discrete action space",
            "action-mask",
        )
        return [], None
    codes = []
    unchecked: list[str] = []
    for (raw, path), size in zip(raws, sizes, strict=True):
        if isinstance(raw, (list, dict)) or raw is None:
            checker.error(
                path,
                "an action mask is one expression (an array of bools)",
                'quote a list literal: "[pos > 0, pos < size - 1]"',
                "action-mask",
            )
            continue
        code = checker.parse_expr(raw, path)
        if code.expr is None:
            continue
        checker.check_expr(code, scope, random=False)
        t = code.type
        if t.dtype == "any":
            continue
        if t.kind not in ("bool", "int") or t.shape is None or len(t.shape) != 1:
            checker.error(
                path,
                f"an action mask must be a 1-D array of bools (or 0/1), got {t.describe()}",
                "e.g. `[pos > 0, pos < size - 1]`, or `grid[row, :] != WALL`",
                "action-mask",
            )
            continue
        want = checker.dim_of(size.expr)
        verdict = dim_equal(t.shape[0], want) if want is not None else None
        if verdict is False:
            checker.error(
                path,
                f"the action mask has {t.shape[0]} entries but there are {want} actions",
                "give one entry per action, in action order",
                "action-mask",
            )
            continue
        if verdict is None and want is not None and t.shape[0] is not None:
            # Lengths that only the param values decide: checked when the env is made.
            checker.shape_checks.append(
                shape_check(
                    "the action mask", (t.shape[0],), (want,), str(checker.document.location(path))
                )
            )
        elif verdict is None:
            # A length the compiler cannot follow (zeros(n), a slice): the env checks each
            # mask it returns against the action space, with this place in the spec.
            unchecked.append(str(checker.document.location(path)))
        # What the backends emit: the same expression as int8 (Gymnasium's Taxi convention).
        text = raw if isinstance(raw, str) else repr(raw)
        wrapped = checker.parse_expr(f"int8({text})", path)
        checker.check_expr(wrapped, scope, random=False)
        codes.append(wrapped)
    return codes, (unchecked[0] if unchecked else None)


def check_variants(checker: Any, spec: EnvSpec) -> None:
    """Each variant names params that exist, with values their constraints accept."""
    from envgen import runtime

    for variant, overrides in spec.variants.items():
        if variant == spec.id:
            checker.error(
                ("variants", variant),
                f"the variant '{variant}' has the spec's own id",
                "give it another name or version",
                "variant",
            )
        for name, value in overrides.items():
            path = ("variants", variant, name)
            param = spec.params.get(name)
            if param is None:
                hint = did_you_mean(name, list(spec.params)) or (
                    f"params: {', '.join(spec.params)}" if spec.params else "the spec has no params"
                )
                checker.error(
                    path, f"the variant sets '{name}', which is not a param", hint, "variant"
                )
                continue
            spec_param = runtime.Param(
                name,
                param.param_type,
                param.default,
                param.ge,
                param.gt,
                param.le,
                param.lt,
                tuple(param.choices) if param.choices is not None else None,
                param.nullable,
            )
            try:
                runtime.check_param(spec_param, value, variant)
            except runtime.InvalidParam as exc:
                checker.error(path, str(exc), "give a value the param accepts", "variant")


def check_deterministic(checker: Any, spec: EnvSpec, codes: list[Any]) -> None:
    """`deterministic: true` is refused, at the first draw, for code that draws."""
    if not spec.deterministic:
        return
    for code in codes:
        if not code.random:
            continue
        roots = [code.expr] if code.expr is not None else code.stmts
        for root in roots:
            for node in ast.walk(root):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                name = node.func.id
                builtin = BUILTINS.get(name)
                function = checker.functions.get(name)
                random_function = function is not None and (
                    function.body.random or function.returns.random
                )
                if (builtin is not None and builtin.random) or random_function:
                    checker.error(
                        code.path,
                        f"the spec says `deterministic: true` but {name}() draws a random number",
                        "remove `deterministic: true`, or the draw (a deterministic env "
                        "ignores its seed)",
                        "deterministic",
                        node,
                    )
                    return
    for code in codes:
        if code.random:  # a draw the walk above did not find: point at the block
            checker.error(
                code.path,
                "the spec says `deterministic: true` but this code draws random numbers",
                "remove `deterministic: true`, or the draw",
                "deterministic",
            )
            return
