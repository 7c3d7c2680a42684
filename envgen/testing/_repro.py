"""Recording env calls as they run, and printing them back as a runnable Python reproduction."""

from __future__ import annotations

import math
import textwrap
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    from ._targets import Target

__all__ = [
    "Script",
    "Violation",
    "same",
    "difference",
    "to_source",
    "format_actions",
    "actions_lines",
]

_MAX_COMMENT = 400


class Violation(Exception):
    """A broken contract, raised inside a property run; carries a runnable reproduction."""

    def __init__(self, message: str, reproduction: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reproduction = reproduction
        self.detail = detail


# ---------------------------------------------------------------------------------------------
# value comparison (also pasted into reproductions, so keep it self-contained)
# ---------------------------------------------------------------------------------------------


def same(a, b):
    """True when a and b are identical values: same types, dtypes, shapes and contents."""
    if isinstance(a, dict):
        if not (isinstance(b, dict) and a.keys() == b.keys()):
            return False
        # RecordEpisodeStatistics' info["episode"] (and its vector form, with "_r"...): "t"
        # is wall-clock time, which no rerun reproduces
        wall = {"r", "l", "t"} <= a.keys() <= {"r", "l", "t", "_r", "_l", "_t"}
        return all(same(a[k], b[k]) for k in a if not (wall and k == "t"))
    if isinstance(a, (tuple, list)):
        return (
            type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))  # noqa: B905
        )
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        if type(a) is not type(b):
            return False
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        if a.dtype.kind == "O":
            return all(same(x, y) for x, y in zip(a.ravel(), b.ravel()))  # noqa: B905
        return bool(np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return a is b


def difference(a, b, path=None):
    """Where a and b first differ, and both values there: "obs[2]: 0.5 != 0.25" (None if same).

    A top-level 5-tuple or 2-tuple is read as a step or reset result: its items are named obs,
    reward, terminated, truncated and info.
    """
    if path is None:
        if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) in (2, 5):
            names = ("obs", "info") if len(a) == 2 else ("obs", "reward", "terminated")
            names += () if len(a) == 2 else ("truncated", "info")
            for name, x, y in zip(names, a, b):  # noqa: B905
                found = difference(x, y, name)
                if found:
                    return found
            return None
        path = "value"
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            only_a = [k for k in a if k not in b]
            only_b = [k for k in b if k not in a]
            return (
                f"{path} keys differ: only in the first {only_a!r}, only in the second {only_b!r}"
            )
        for k in a:
            found = difference(a[k], b[k], f"{path}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and type(a) is type(b):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):  # noqa: B905
            found = difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if same(a, b):
        return None
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{path}: dtype {a.dtype} shape {a.shape} != dtype {b.dtype} shape {b.shape}"
        if a.dtype.kind == "O":
            for idx in np.ndindex(a.shape):
                found = difference(a[idx], b[idx], f"{path}[{', '.join(map(str, idx))}]")
                if found:
                    return found
            return None
        unequal = a != b
        if a.dtype.kind in "fc":
            unequal &= ~(np.isnan(a) & np.isnan(b))
        found = np.argwhere(unequal)
        if not len(found):
            return f"{path}: {a!r} != {b!r}"
        idx = tuple(int(i) for i in found[0])
        where = f"{path}[{', '.join(map(str, idx))}]" if idx else path
        return f"{where}: {a[idx]!r} != {b[idx]!r}"
    if type(a) is not type(b):
        return f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    return f"{path}: {a!r} != {b!r}"


# ---------------------------------------------------------------------------------------------
# values as Python source
# ---------------------------------------------------------------------------------------------


def _float_src(x: float) -> str:
    if math.isnan(x):
        return 'float("nan")'
    if math.isinf(x):
        return 'float("inf")' if x > 0 else '-float("inf")'
    return repr(float(x))


def _dtype_src(dtype: np.dtype) -> str:
    if dtype.kind == "O":
        return "object"
    if dtype.kind == "U":
        return "str"
    if dtype == np.bool_:
        return "np.bool_"  # np.bool is NumPy 2 only
    name = dtype.name
    if hasattr(np, name) and np.dtype(getattr(np, name)) == dtype:
        return f"np.{name}"
    return f"np.dtype({dtype.str!r})"


def _list_src(x: Any) -> str:
    if isinstance(x, list):
        inner = ", ".join(_list_src(v) for v in x)
        return f"[{inner}]"
    if isinstance(x, float):
        return _float_src(x)
    return to_source(x)


def to_source(value: Any) -> str:
    """Python source evaluating to ``value`` (given ``numpy as np`` and ``gymnasium as gym``)."""
    from gymnasium.spaces import GraphInstance
    from gymnasium.vector import AutoresetMode

    if isinstance(value, AutoresetMode):
        return f"gym.vector.AutoresetMode.{value.name}"
    if value is None or isinstance(value, (bool, str, bytes)):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return _float_src(value)
    if isinstance(value, np.generic):
        dtype = value.dtype
        if dtype.kind == "f":
            item = value.item()
            inner = "np.nan" if math.isnan(item) else _float_src(item)
            if math.isinf(item):
                inner = "np.inf" if item > 0 else "-np.inf"
            return f"{_dtype_src(dtype)}({inner})"
        if dtype.kind in "iub":
            return f"{_dtype_src(dtype)}({value.item()!r})"
        return f"np.array({to_source(value.item())}, dtype={_dtype_src(dtype)})[()]"
    if isinstance(value, np.ndarray):
        dtype = _dtype_src(value.dtype)
        if value.size == 0:
            return f"np.zeros({value.shape!r}, dtype={dtype})"
        if value.dtype.kind == "O":
            return f"np.array({_list_src(value.tolist())}, dtype=object)"
        if value.ndim == 0:
            return f"np.array({_list_src(value.item())}, dtype={dtype})"
        return f"np.array({_list_src(value.tolist())}, dtype={dtype})"
    if isinstance(value, GraphInstance):
        return (
            f"gym.spaces.GraphInstance(nodes={to_source(value.nodes)}, "
            f"edges={to_source(value.edges)}, edge_links={to_source(value.edge_links)})"
        )
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({to_source(value[0])},)"
        return "(" + ", ".join(to_source(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(to_source(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_source(k)}: {to_source(v)}" for k, v in value.items()) + "}"
    if type(value).__name__ == "_Opaque":
        return "object()"
    return repr(value)


def _is_immutable(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, bytes, np.generic))


def _action_parts(actions: list[Any]) -> list[tuple[list[str], int]]:
    """Runs of equal actions: ([sources], 1) for a list of singles, ([source], n) for a run."""
    runs: list[tuple[Any, int]] = []
    for action in actions:
        if runs and same(runs[-1][0], action):
            runs[-1] = (action, runs[-1][1] + 1)
        else:
            runs.append((action, 1))
    parts: list[tuple[list[str], int]] = []
    singles: list[str] = []
    for action, count in runs:
        src = to_source(action)
        if count < 3:
            singles.extend([src] * count)
            continue
        if singles:
            parts.append((singles, 1))
            singles = []
        parts.append(([src], count) if _is_immutable(action) else ([src], -count))
    if singles:
        parts.append((singles, 1))
    return parts


def _part_source(items: list[str], count: int) -> str:
    if count == 1:
        return "[" + ", ".join(items) + "]"
    if count > 0:
        return f"[{items[0]}] * {count}"
    return f"[{items[0]} for _ in range({-count})]"


def format_actions(actions: list[Any]) -> str:
    """A compact list expression, run-length encoding repeated actions: ``[0] * 12 + [1]``."""
    parts = _action_parts(actions)
    return " + ".join(_part_source(i, c) for i, c in parts) if parts else "[]"


def actions_lines(name: str, actions: list[Any], width: int = 100) -> list[str]:
    """``name = <actions>`` as source lines, wrapped (between items only) to ``width``."""
    expr = format_actions(actions)
    if len(name) + len(expr) + 3 <= width:
        return [f"{name} = {expr}"]
    lines = [f"{name} = ("]
    for n, (items, count) in enumerate(_action_parts(actions)):
        lead = "    " if n == 0 else "    + "
        if count != 1:
            lines.append(lead + _part_source(items, count))
            continue
        line = lead + "["
        for k, item in enumerate(items):
            piece = item + ("]" if k == len(items) - 1 else ",")
            if len(line) + len(piece) + 1 > width and not line.endswith("["):
                lines.append(line)
                line = " " * (len(lead) + 1) + piece
            else:
                line += ("" if line.endswith("[") else " ") + piece
        lines.append(line)
    lines.append(")")
    return lines


def short_repr(value: Any, limit: int = _MAX_COMMENT) -> str:
    text = repr(value).replace("\n", " ")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def comment(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines() or [""]:
        wrapped = textwrap.wrap(raw, 96) or [""]
        lines.extend(f"# {w}".rstrip() for w in wrapped)
    return lines


# ---------------------------------------------------------------------------------------------
# Script: run env calls and record them
# ---------------------------------------------------------------------------------------------

_STEP = "obs, reward, terminated, truncated, info = {var}.step({action})"


class Script:
    """Runs env calls for a property and records them, to print a reproduction on failure.

    Events: ("code", lines), ("reset", var, seed), ("step", var, action, autoreset),
    ("autoreset", var), ("render", var), ("close", var).
    """

    def __init__(self, target: Target, property_name: str = "", contract: str = "") -> None:
        self.target = target
        self.property_name = property_name
        self.contract = contract
        self.events: list[tuple] = []
        self.preamble: list[str] = []
        self.helpers: list[str] = []
        self._steps: dict[str, int] = {}

    # -- recording helpers ------------------------------------------------------------------

    def code(self, *lines: str) -> None:
        """Record source lines that the property executes itself (in Python)."""
        self.events.append(("code", list(lines)))

    def helper(self, source: str) -> None:
        if source not in self.helpers:
            self.helpers.append(source)

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return fn()
        except Violation:
            raise
        except Exception as exc:  # the env broke: this is the failure
            self.crashed(exc, what)

    def crashed(self, exc: BaseException, what: str) -> NoReturn:
        """Raise the Violation for ``exc``, raised by the last recorded call (``what``)."""
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        message = f"{what} raised {type(exc).__name__}: {exc}"
        repro = self.source(message=message, raised=f"{type(exc).__name__}: {exc}")
        raise Violation(message, repro, detail) from exc

    # -- env calls --------------------------------------------------------------------------

    def make(self, var: str = "env", render_mode: str | None = None) -> Any:
        preamble, line = self.target.make_source(var, render_mode)
        for p in preamble:
            if p not in self.preamble:
                self.preamble.append(p)
        self.events.append(("code", [line]))
        return self._call(lambda: self.target.factory(render_mode=render_mode), f"creating {var}")

    def reset(self, env: Any, seed: int | None = None, var: str = "env") -> Any:
        self.events.append(("reset", var, seed))
        args = "" if seed is None else f"seed={seed}"
        return self._call(lambda: env.reset(seed=seed), f"{var}.reset({args})")

    def step(self, env: Any, action: Any, var: str = "env", autoreset: bool = False) -> Any:
        """Step; with ``autoreset`` also reset (no seed) after the episode ends."""
        n = self._steps[var] = self._steps.get(var, 0) + 1
        self.events.append(("step", var, action, autoreset))
        result = self._call(lambda: env.step(action), f"{var}.step(action) (step {n})")
        return result

    def autoreset(self, env: Any, var: str = "env") -> Any:
        self.events.append(("autoreset", var))
        return self._call(lambda: env.reset(), f"{var}.reset() after the episode ended")

    def render(self, env: Any, var: str = "env") -> Any:
        self.events.append(("render", var))
        return self._call(lambda: env.render(), f"{var}.render()")

    def close(self, env: Any, var: str = "env") -> Any:
        self.events.append(("close", var))
        return self._call(lambda: env.close(), f"{var}.close()")

    def step_count(self, var: str = "env") -> int:
        return self._steps.get(var, 0)

    def actions(self, var: str = "env") -> list[Any]:
        return [e[2] for e in self.events if e[0] == "step" and e[1] == var]

    # -- failure ----------------------------------------------------------------------------

    def fail(self, message: str, checks: list[str] | tuple[str, ...] = ()) -> None:
        raise Violation(message, self.source(message=message, checks=checks))

    # -- rendering --------------------------------------------------------------------------

    def _event_lines(self, event: tuple) -> list[str]:
        kind, var = event[0], event[1] if len(event) > 1 else ""
        if kind == "code":
            return list(event[1])
        if kind == "reset":
            seed = event[2]
            return [f"obs, info = {var}.reset({'' if seed is None else f'seed={seed}'})"]
        if kind == "step":
            return [_STEP.format(var=var, action=to_source(event[2]))]
        if kind == "autoreset":
            return [f"obs, info = {var}.reset()"]
        if kind == "render":
            return [f"frame = {var}.render()"]
        if kind == "close":
            return [f"{var}.close()"]
        raise AssertionError(kind)

    def _body(self, events: list[tuple]) -> list[str]:
        """Lines for ``events``, folding runs of steps on one env into a loop over actions."""
        lines: list[str] = []
        i = 0
        while i < len(events):
            event = events[i]
            if event[0] != "step":
                lines.extend(self._event_lines(event))
                i += 1
                continue
            var, autoreset = event[1], event[3]
            actions = []
            j = i
            while j < len(events):
                e = events[j]
                if e[0] == "step" and e[1] == var and e[3] == autoreset:
                    actions.append(e[2])
                    j += 1
                elif autoreset and e[0] == "autoreset" and e[1] == var:
                    j += 1
                else:
                    break
            if len(actions) == 1 and not autoreset:
                lines.extend(self._event_lines(event))
            else:
                lines.extend(actions_lines("actions", actions))
                lines.append("for action in actions:")
                lines.append("    " + _STEP.format(var=var, action="action"))
                if autoreset:
                    lines.append("    if terminated or truncated:")
                    lines.append(f"        obs, info = {var}.reset()")
            i = j
        return lines

    def source(
        self, *, message: str = "", raised: str = "", checks: list[str] | tuple[str, ...] = ()
    ) -> str:
        """The recorded calls as a runnable script, the last call marked as the culprit."""
        events = list(self.events)
        tail: list[tuple] = []
        # the last env call is shown on its own line: it is the call that broke the contract
        if events and events[-1][0] in ("step", "reset", "autoreset", "render", "close"):
            tail = [events.pop()]
            if tail[0][0] == "autoreset" and events and events[-1][0] == "step":
                tail.insert(0, events.pop())
        head = [
            f"# envgen fuzz reproduction: {self.target.name}",
        ]
        if self.property_name:
            head += comment(f"property {self.property_name}: {self.contract}")
        if message:
            head += comment(f"violation: {message}")
        imports = [h for h in self.helpers if h.startswith("import ")]
        out = head + ["import gymnasium as gym", "import numpy as np", *imports, *self.preamble]
        for h in self.helpers:
            if not h.startswith("import "):
                out += ["", "", h.rstrip("\n")]
        out += ["", ""]
        out += self._body(events)
        for event in tail:
            if event[0] == "step":
                # a step that ends an episode followed by a failing autoreset, or the failing step
                out.extend(self._event_lines((*event[:3], False)))
            else:
                out.extend(self._event_lines(event))
        # one line is marked "# <- ": the line where the script fails when run
        checks = list(checks)
        if raised:
            out[-1] += "  # <- raises " + short_repr(raised, 120)
        elif tail and checks:
            out[-1] += "  # the call that breaks the contract (checked below)"
        elif tail:
            out[-1] += "  # <- the call that breaks the contract"
        body = checks if checks else out
        if not raised and (checks or not tail) and not any("# <- " in x for x in out):
            # the check (or, without an env call at the end, the last assertion) fails
            indices = range(len(body)) if checks else range(len(body) - 1, -1, -1)
            for i in indices:
                if body[i].lstrip().startswith(("assert ", "raise ")):
                    body[i] += "  # <- fails here"
                    break
        out.extend(checks)
        return "\n".join(out) + "\n"
