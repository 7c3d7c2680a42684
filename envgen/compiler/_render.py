"""Render code: the rgb_array expression or block, and the sandboxed ansi template."""

from __future__ import annotations

import re

import jinja2
import jinja2.sandbox

from envgen.compiler._checker import Checker, Scope
from envgen.compiler._limits import template_problems
from envgen.compiler._statements import check_locals_read
from envgen.compiler.diagnostics import Diagnostic, did_you_mean
from envgen.compiler.ir import Code, Symbol


def render_code(checker: Checker, text: str, scope: Scope) -> Code:
    path = ("render", "rgb_array")
    stripped = text.strip()
    is_block = "\n" in stripped or re.match(r"^[A-Za-z_]\w*\s*=[^=]", stripped)
    if not is_block:
        code = checker.parse_expr(text, path)
        checker.check_expr(code, scope)
        t = code.type
        if t.dtype not in ("uint8", "any") or (t.shape is not None and len(t.shape) != 3):
            checker.error(
                path,
                f"rgb_array must be a uint8 H×W×3 image, got {t.describe()}",
                "build it with zeros((h, w, 3), dtype='uint8') and drawing functions",
                "render",
            )
        return code
    code = checker.parse_block(text, path)
    render_locals: dict[str, Symbol] = {}
    defined = checker.check_block(code, Scope({}, scope), set(), {}, render_locals)
    if "frame" not in render_locals or "frame" not in defined:
        checker.error(
            path,
            "an rgb_array block must assign `frame`",
            "end with `frame = ...` (a uint8 H×W×3 array)",
            "render",
        )
    dead = {k: v for k, v in render_locals.items() if k != "frame"}
    check_locals_read(checker, code, dead, [code])
    return code


SANDBOX = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)


def check_template(checker: Checker, template: str, path: tuple, names: set[str]) -> None:
    try:
        parsed = SANDBOX.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        location = checker.document.code_location(path, exc.lineno or 1, 0)
        checker.diagnostics.append(
            Diagnostic(
                location,
                f"template syntax error: {exc.message}",
                "see Jinja2's template syntax",
                "template",
            )
        )
        return
    for message, hint in template_problems(SANDBOX, template, parsed):  # _limits.py
        checker.error(path, message, hint, "template")
        return
    from jinja2 import meta, nodes

    # The sandbox refuses these at render time too; refusing them here makes a spec that
    # probes it fail at build time, with a location, instead of when someone renders.
    for node in parsed.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name)):
        bad = None
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            bad = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
                bad = node.arg.value
        elif isinstance(node, nodes.Name) and node.name == "self":
            bad = "self"
        elif isinstance(node, nodes.Filter):
            if node.name == "attr":
                bad = "|attr"
            for pair in node.kwargs:
                value = getattr(pair.value, "value", None)
                if isinstance(value, str) and value.startswith("_"):
                    bad = value
        if bad is not None:
            checker.error(
                path,
                f"the template reaches '{bad}', which templates may not use",
                "templates format params, let and state values; they cannot reach "
                "attributes or internals",
                "template",
            )
            return
    for kind in (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends):
        if next(parsed.find_all(kind), None) is not None:
            checker.error(
                path,
                f"the template uses {{% {kind.__name__.lower()} %}}, which templates may not use",
                "write the whole template inline",
                "template",
            )
            return
    for name in sorted(meta.find_undeclared_variables(parsed)):
        if name not in names:
            checker.error(
                path,
                f"the template uses unknown name '{name}'",
                did_you_mean(name, names) or "templates see params, let and state",
                "template",
            )
