"""Support code imported by generated envs: param checking, errors, drawing, text helpers.

Kept small and dependency-free (NumPy, Gymnasium, Jinja2) so that the generated modules
read like hand-written envs and run wherever envgen is installed (e.g. Ray workers).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from envgen.runtime.numeric import fits_int64


def square(x: Any) -> Any:
    """`square(x)` of the language: x * x (Python's x ** 2 is the C library's pow())."""
    return x * x


class InvalidAction(ValueError):
    """An action that is not an element of the env's action space."""

    def __init__(self, action: Any, space: spaces.Space) -> None:
        super().__init__(
            f"action {action!r} is not in the action space {space}; "
            "sample valid actions with env.action_space.sample()"
        )


class InvalidRenderMode(ValueError, TypeError):
    """A render_mode the env does not declare.

    Also a TypeError, because Stable-Baselines3's `make_vec_env` retries without
    `render_mode` exactly when the constructor raises a TypeError.
    """


def check_shape(what: str, got: tuple[int, ...], want: tuple[int, ...], where: str) -> None:
    """The shape contract the compiler could not decide alone, checked once per env made."""
    if tuple(got) != tuple(want):
        raise InvalidParam(
            f"{where}: with these params {what} would have shape {tuple(got)} but the "
            f"space has shape {tuple(want)}; choose params that agree, or fix the spec"
        )


class ObservationShapeError(ValueError):
    """An observation part whose length depends on values (`flatnonzero(...)`, a slice by
    state) came out with another shape than its space's."""


def fixed_shape(value: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    """`value`, an observation part whose length the compiler could not decide, after
    checking that it has its space's `shape` (raises `ObservationShapeError` naming the spec
    line otherwise: a wrong-shaped observation is never returned silently)."""
    if value.shape != shape:
        raise ObservationShapeError(
            f"{where}: the observation has shape {value.shape} but the space has shape "
            f"{shape}; the compiler could not tell its length from the params (it depends on "
            "values, or on params through // or a slice), so the env checks it each time: make "
            "it a fixed length (pad it, or take a fixed slice)"
        )
    return value


def counts(nvec: Any, where: str) -> np.ndarray:
    """A MultiDiscrete `nvec` computed from params, checked: every count at least 1."""
    nvec = np.asarray(nvec, dtype=np.int64)
    if nvec.size and nvec.min() < 1:
        raise InvalidParam(
            f"{where}: with these params nvec is {nvec.tolist()}; every element needs a count "
            "of at least 1: choose other params, or fix the spec"
        )
    return nvec


#: Most elements an array of state or a space may have (the compiler refuses more at build).
MAX_ELEMENTS = 10_000_000


def check_size(
    what: str, shape: tuple[int, ...], where: str, values: Mapping[str, Any], minimum: int = 0
) -> None:
    """A shape of params, checked once per env made: no length below `minimum` (0 for
    arrays, 1 for spaces) and at most `MAX_ELEMENTS` elements."""
    shape = tuple(int(d) for d in shape)
    short = next((d for d in shape if d < minimum), None)
    if short is not None:
        reason = "a negative length" if short < 0 else "a length of 0 (a space needs 1 or more)"
    elif math.prod(shape) > MAX_ELEMENTS:
        reason = f"{math.prod(shape)} elements, more than the {MAX_ELEMENTS} an array may hold"
    else:
        return
    shown = ", ".join(f"{name}={_short(value)}" for name, value in values.items())
    raise InvalidParam(
        f"{where}: with {shown or 'these params'} {what} would have shape {shape}: {reason}; "
        "choose other params, or fix the spec"
    )


def check_reshape(
    what: str, size: int, shape: tuple[int, ...], where: str, values: Mapping[str, Any]
) -> None:
    """A reshape whose size or shape is a polynomial of params, checked once per env made:
    the lengths (one may be -1, NumPy's "the rest") must hold exactly `size` elements."""
    size, shape = int(size), tuple(int(d) for d in shape)
    rest = math.prod(d for d in shape if d != -1)
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        reason = "lengths must be 0 or more, with at most one -1"
    elif -1 in shape and (rest == 0 or size % rest):
        reason = f"{size} elements do not divide into rows of {rest}"
    elif -1 not in shape and rest != size:
        reason = f"{size} elements do not fill {rest}"
    else:
        return
    shown = ", ".join(f"{name}={_short(value)}" for name, value in values.items())
    raise InvalidParam(
        f"{where}: with {shown or 'these params'} {what} asks for the shape {shape}: "
        f"{reason}; choose other params, or fix the spec"
    )


def check_render_mode(metadata: Mapping[str, Any], render_mode: str | None) -> None:
    """Raise `InvalidRenderMode` unless `render_mode` is None or one the env declares."""
    modes = metadata["render_modes"]
    if render_mode is not None and render_mode not in modes:
        raise InvalidRenderMode(f"render_mode must be one of {modes}, got {render_mode!r}")


class InvalidParam(ValueError):
    """A constructor argument that the env's params do not accept."""


@dataclass(frozen=True)
class Param:
    """What a generated env accepts for one of its params."""

    name: str
    type: str  # int, float, bool, str, list
    default: Any
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    doc: str = ""


#: Keyword arguments every generated env understands besides its params.
OPTIONS = ("invalid_action", "check_state")
INVALID_ACTION_MODES = ("raise", "clip", "ignore")


#: A param's bounds: (its attribute, the test a value must pass, the operator as written).
_BOUNDS = (
    ("ge", lambda v, b: v >= b, ">="),
    ("gt", lambda v, b: v > b, ">"),
    ("le", lambda v, b: v <= b, "<="),
    ("lt", lambda v, b: v < b, "<"),
)


def bound_failures(param: Any, value: Any) -> list[tuple[str, Any]]:
    """The bounds (`ge`, `gt`, `le`, `lt`, in that order) of `param` that `value` breaks,
    as (operator, bound) pairs: `[(">=", 1)]` for 0 where `ge: 1`. The one bound test of
    the env (`_coerce`) and the compiler (a param's default, the default values it folds);
    `param` is a `Param` or the compiler's `ParamSpec`."""
    failures = []
    for attribute, ok, text in _BOUNDS:
        bound = getattr(param, attribute)
        if bound is not None and not ok(value, bound):
            failures.append((text, bound))
    return failures


def _coerce(param: Param, value: Any, env_id: str) -> Any:
    where = f"{env_id}: param '{param.name}'"
    if value is None:
        if param.nullable:
            return None
        raise InvalidParam(f"{where} must not be None")
    kind = param.type
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise InvalidParam(f"{where} must be a bool, got {value!r}")
    if kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)
            else:
                raise InvalidParam(f"{where} must be an int, got {value!r}")
        value = int(value)
        if not fits_int64(value):  # NumPy and spaces store ints in 64 bits
            raise InvalidParam(f"{where} must fit in 64 bits, got a {value.bit_length()}-bit int")
    elif kind == "float":
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise InvalidParam(f"{where} must be a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:
            raise InvalidParam(f"{where} is too large for a float") from None
        if math.isnan(value):
            raise InvalidParam(f"{where} must not be NaN")
    elif kind == "str":
        if not isinstance(value, str):
            raise InvalidParam(f"{where} must be a string, got {value!r}")
    elif kind == "list":
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
            raise InvalidParam(f"{where} must be a list, got {value!r}")
        value = list(value)
    failures = bound_failures(param, value)
    if failures:
        text, bound = failures[0]
        raise InvalidParam(f"{where} must be {text} {bound}, got {value!r}")
    if param.choices is not None and value not in param.choices:
        raise InvalidParam(
            f"{where} must be one of {', '.join(map(repr, param.choices))}, got {value!r}"
        )
    return value


def resolve_params(
    params: Sequence[Param],
    config: Mapping[str, Any] | None,
    kwargs: Mapping[str, Any],
    env_id: str,
    invalid_action: str = "raise",
) -> dict[str, Any]:
    """Merge defaults, a `config` mapping (as RLlib passes) and keyword arguments; check all.

    Raises `InvalidParam` naming the valid params for an unknown key, and the constraint
    for a value that breaks one.
    """
    if config is not None and not isinstance(config, Mapping):
        raise InvalidParam(
            f"{env_id}: the first argument is a config mapping of params, got {config!r}"
        )
    by_name = {p.name: p for p in params}
    merged: dict[str, Any] = {}
    for source in (dict(config or {}), dict(kwargs)):
        for key, value in source.items():
            if key not in by_name and key not in OPTIONS:
                valid = ", ".join(sorted(by_name)) or "(none)"
                close = difflib.get_close_matches(key, list(by_name) + list(OPTIONS), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise InvalidParam(f"{env_id}: unknown param '{key}'.{hint} Valid params: {valid}")
            if key in merged and merged[key] != value:
                raise InvalidParam(
                    f"{env_id}: param '{key}' is given twice with different values "
                    f"({merged[key]!r} and {value!r})"
                )
            merged[key] = value
    resolved = {}
    for param in params:
        value = merged.get(param.name, param.default)
        resolved[param.name] = _coerce(param, value, env_id)
    mode = merged.get("invalid_action", invalid_action)
    if mode not in INVALID_ACTION_MODES:
        raise InvalidParam(
            f"{env_id}: invalid_action must be one of {', '.join(INVALID_ACTION_MODES)}"
        )
    resolved["invalid_action"] = mode
    check_state = merged.get("check_state", False)
    if not isinstance(check_state, (bool, np.bool_)):
        raise InvalidParam(f"{env_id}: check_state must be True or False, got {check_state!r}")
    resolved["check_state"] = bool(check_state)
    return resolved


def check_options(env_id: str, options: Any) -> None:
    """`reset(options=...)` must be a mapping (or None), as Gymnasium documents it."""
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(
            f"{env_id}: reset(options=...) takes a dict of options or None, got {options!r}"
        )


def check_param(param: Param, value: Any, env_id: str) -> Any:
    """`value` converted to the param's type; `InvalidParam` naming the constraint if not."""
    return _coerce(param, value, env_id)


class RequirementFailed(InvalidParam):
    """Params that break one of the spec's `require:` conditions."""


def require(ok: Any, env_id: str, message: str, where: str, values: Mapping[str, Any]) -> None:
    """Raise `RequirementFailed` with the spec's message, the values the condition read and
    the condition's place in the spec, unless `ok`."""
    if bool(ok):
        return
    shown = ", ".join(f"{name}={_short(value)}" for name, value in values.items())
    raise RequirementFailed(
        f"{env_id}: {message}" + (f" (with {shown})" if shown else "") + f"; required at {where}"
    )


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def checked_mask(space: spaces.Discrete, where: str, mask: np.ndarray) -> np.ndarray:
    """A Discrete action mask whose length the compiler could not check: checked here."""
    if mask.shape != (int(space.n),):
        raise ValueError(
            f"{where}: the action mask has shape {mask.shape} but the action space {space} "
            f"needs ({int(space.n)},): one entry per action"
        )
    return mask


def mask_tuple(space: spaces.MultiDiscrete, where: str, *masks: Any) -> tuple[np.ndarray, ...]:
    """A MultiDiscrete action mask as `MultiDiscrete.sample(mask=...)` takes it: one int8
    array per dimension, each as long as that dimension (checked)."""
    out = tuple(np.array(mask, dtype=np.int8) for mask in masks)
    for i, (mask, n) in enumerate(zip(out, space.nvec.reshape(-1), strict=True)):
        if mask.shape != (int(n),):
            raise ValueError(
                f"{where}: the action mask of dimension {i} has shape {mask.shape} but that "
                f"dimension has {int(n)} actions"
            )
    return out


def option(options: Mapping[str, Any] | None, name: str, default: Any) -> Any:
    """`options[name]` from `reset(options=...)`, converted like `default`, else `default`."""
    if not options or name not in options:
        return default
    value = options[name]
    try:
        if isinstance(default, bool):
            return bool(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
        if isinstance(default, int):
            if number != int(number) or not fits_int64(int(number)):
                raise ValueError
            return int(number)
        return number
    except (TypeError, ValueError, OverflowError):
        kind = "a whole number" if isinstance(default, int) else "a finite number"
        raise ValueError(f"reset option {name!r} must be {kind}, got {value!r}") from None


def contains(space: spaces.Space, value: Any) -> bool:
    """`space.contains(value)`, but False for inputs that make Gymnasium's check raise
    (ragged lists, objects NumPy cannot convert)."""
    try:
        return bool(space.contains(value))
    except (ValueError, TypeError, OverflowError):
        return False


def fix_action(space: spaces.Space, action: Any, mode: str) -> Any:
    """The action to use for one outside the space: raise, clip into the space, or ignore."""
    if mode == "raise":
        raise InvalidAction(action, space)
    if mode == "clip":
        try:
            return _clip_into(space, action)
        except (ValueError, TypeError, OverflowError):
            raise InvalidAction(action, space) from None
    return action


def _clip_into(space: spaces.Space, action: Any) -> Any:
    """The element of `space` nearest to `action` (per coordinate)."""
    if isinstance(space, spaces.Box):
        array = np.asarray(action, dtype=space.dtype)
        if array.shape != space.shape:
            raise InvalidAction(action, space)
        return np.clip(np.nan_to_num(array), space.low, space.high)
    if isinstance(space, spaces.Discrete):
        return int(min(max(int(action), space.start), space.start + space.n - 1))
    if isinstance(space, spaces.MultiDiscrete):
        array = np.asarray(action, dtype=np.int64)
        return np.clip(array, space.start, space.start + space.nvec - 1)
    if isinstance(space, spaces.MultiBinary):
        return np.clip(np.asarray(action, dtype=np.int8), 0, 1)
    raise InvalidAction(action, space)


def check_finite(env_id: str, **state: Any) -> None:
    """Raise if any state value is NaN or infinite (enabled with `check_state=True`)."""
    for name, value in state.items():
        array = np.asarray(value)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise FloatingPointError(f"{env_id}: state '{name}' became {value!r}")


def encode(rows: Sequence[str], alphabet: str) -> np.ndarray:
    """Each character of each row replaced by its index in `alphabet` (a 2-D int array)."""
    rows = [row.decode() if isinstance(row, bytes) else str(row) for row in rows]
    if not rows or len({len(row) for row in rows}) != 1:
        raise ValueError("encode() needs non-empty rows of equal length")
    lookup = {ch: i for i, ch in enumerate(alphabet)}
    try:
        return np.array([[lookup[ch] for ch in row] for row in rows], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"encode(): character {exc.args[0]!r} is not in {alphabet!r}") from None


def text(codes: Any, charset: str) -> str:
    """The string of `charset[code]` for each code."""
    return "".join(charset[int(c)] for c in np.asarray(codes).reshape(-1))


def to_space(space: spaces.Space, value: Any) -> Any:
    """Convert a value computed by a spec into the canonical element type of `space`."""
    if isinstance(space, spaces.Box):
        return np.array(value, dtype=space.dtype).reshape(space.shape)
    if isinstance(space, spaces.Discrete):
        return int(value)
    if isinstance(space, spaces.MultiDiscrete):
        return np.array(value, dtype=space.dtype).reshape(space.shape)
    if isinstance(space, spaces.MultiBinary):
        return np.array(value, dtype=space.dtype).reshape(space.shape)
    if isinstance(space, spaces.Text):
        return str(value)
    if isinstance(space, spaces.Dict):
        return {key: to_space(sub, value[key]) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(to_space(sub, v) for sub, v in zip(space.spaces, value, strict=True))
    if isinstance(space, spaces.Sequence):
        items = tuple(to_space(space.feature_space, v) for v in value)
        if space.stack:
            return _stack(space.feature_space, items)
        return items
    if isinstance(space, spaces.Graph):
        nodes = to_space_batch(space.node_space, value["nodes"])
        edges = None
        links = None
        if space.edge_space is not None:
            edges = to_space_batch(space.edge_space, value["edges"])
            links = np.array(value["edge_links"], dtype=np.int64).reshape(-1, 2)
        return spaces.GraphInstance(nodes, edges, links)
    if isinstance(space, spaces.OneOf):
        index = int(value["index"])
        return (index, to_space(space.spaces[index], value["value"]))
    raise TypeError(f"unsupported space {space}")


def to_space_batch(space: spaces.Space, values: Any) -> np.ndarray:
    """Stack values of a Box or Discrete space along a new first axis (graph nodes, edges)."""
    if isinstance(space, spaces.Discrete):
        return np.array(values, dtype=np.int64).reshape(-1)
    assert isinstance(space, spaces.Box)
    return np.array(values, dtype=space.dtype).reshape((-1, *space.shape))


def _stack(space: spaces.Space, items: tuple[Any, ...]) -> Any:
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return np.array(items, dtype=space.dtype).reshape((len(items), *space.shape))
    if isinstance(space, spaces.Discrete):
        return np.array(items, dtype=np.int64)
    return spaces.utils.create_empty_array  # pragma: no cover - refused at build time


def frozen(data: Any, dtype: Any = None) -> np.ndarray:
    """A read-only array for a spec's constant table (so no env can change it for others)."""
    array = np.array(data, dtype=dtype)
    array.setflags(write=False)
    return array


def param_array(
    env_id: str, name: str, value: Any, dtype: Any, rank: int, inner: tuple[int, ...] = ()
) -> Any:
    """A list param as the read-only array the spec's code indexes (`obstacles[:, 0]`).

    None stays None (a nullable param); anything that is not a rectangular array of numbers
    of the declared rank, with rows of the default's `inner` shape, is refused with the
    param's name. An empty list is no rows."""
    if value is None:
        return None
    try:
        array = np.array(value)
    except (ValueError, TypeError) as exc:
        raise InvalidParam(f"{env_id}: param '{name}' must be a rectangular list ({exc})") from None
    if array.size == 0 and array.ndim == 1 and rank > 1 and inner:
        array = array.reshape((0, *inner))
    if (
        array.ndim != rank
        or (array.size and array.dtype.kind not in "biuf")
        or (np.dtype(dtype).kind in "iub" and array.dtype.kind == "f")
    ):
        raise InvalidParam(
            f"{env_id}: param '{name}' must be a {rank}-D list of numbers like its default, "
            f"got {value!r:.80}"
        )
    if inner and array.shape[1:] != tuple(inner):
        raise InvalidParam(
            f"{env_id}: param '{name}' must hold rows of shape {tuple(inner)} like its "
            f"default, got rows of shape {array.shape[1:]}"
        )
    array = array.astype(dtype)
    array.setflags(write=False)
    return array


def ansi_template(source: str) -> Any:
    """Compile an ansi render template in Jinja2's immutable sandbox.

    The sandbox refuses attribute access to internals (`__class__`, `__globals__`, ...) and
    calls of unsafe callables, so a template can format state but not reach Python.
    """
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False
    )
    return environment.from_string(source)


def load_hook(module: str, function: str) -> Any:
    """Import a trusted Python hook `module:function` named by a spec (see SECURITY.md)."""
    import importlib

    def hook(env: Any) -> None:
        target = getattr(importlib.import_module(module), function)
        target(env)

    hook.__qualname__ = f"{module}:{function}"
    return hook


def reshape_rows(x: Any, shape: Any) -> np.ndarray:
    """A copy of the batch `x` (one row per env) with each row in `shape` (one length may be
    -1): what `reshape(x, shape)` and `ravel(x)` are per env, even for an empty batch."""
    x = np.array(x)
    dims = (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        size = math.prod(x.shape[1:])
        dims = tuple((size // known if known else -1) if d == -1 else d for d in dims)
    return x.reshape((x.shape[0], *dims))


def roll_rows(x: Any, shift: Any) -> np.ndarray:
    """`roll(x, shift)` of each row of the batch `x`: the row flattened, rolled, reshaped."""
    x = np.asarray(x)
    flat = x.reshape(x.shape[0], math.prod(x.shape[1:]))
    return np.roll(flat, shift, axis=1).reshape(x.shape)
