"""What `envgen show` reports about an env: params, spaces with bounds, dynamics."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from envgen.cli._params import Params
from envgen.cli._resolve import make_env, resolve


def _number(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _bounds(array: Any) -> Any:
    import numpy as np

    array = np.asarray(array)
    if array.size and (array == array.flat[0]).all():
        return _number(array.flat[0])
    if array.size <= 64:
        return [_number(v) for v in array.ravel()]
    return {"min": _number(array.min()), "max": _number(array.max())}


def describe_space(space: Any, labels: list[str] | None = None) -> dict[str, Any]:
    """A JSON-friendly description of any Gymnasium space, bounds included."""
    from gymnasium import spaces as sp

    out: dict[str, Any] = {"type": type(space).__name__}
    if isinstance(space, sp.Box):
        out.update(
            shape=list(space.shape),
            dtype=str(space.dtype),
            low=_bounds(space.low),
            high=_bounds(space.high),
        )
    elif isinstance(space, sp.Discrete):
        out.update(n=int(space.n), start=int(space.start))
        if labels:
            out["labels"] = {
                str(label).upper(): int(space.start) + i for i, label in enumerate(labels)
            }
    elif isinstance(space, sp.MultiDiscrete):
        out.update(nvec=space.nvec.tolist(), start=space.start.tolist(), dtype=str(space.dtype))
    elif isinstance(space, sp.MultiBinary):
        out.update(shape=list(space.shape))
    elif isinstance(space, sp.Text):
        out.update(
            min_length=space.min_length,
            max_length=space.max_length,
            charset="".join(sorted(space.character_set)),
        )
    elif isinstance(space, sp.Dict):
        out["spaces"] = {k: describe_space(v) for k, v in space.spaces.items()}
    elif isinstance(space, (sp.Tuple, sp.OneOf)):
        out["spaces"] = [describe_space(v) for v in space.spaces]
    elif isinstance(space, sp.Sequence):
        out.update(feature_space=describe_space(space.feature_space), stack=space.stack)
    elif isinstance(space, sp.Graph):
        out["node_space"] = describe_space(space.node_space)
        out["edge_space"] = describe_space(space.edge_space) if space.edge_space else None
    else:
        out["repr"] = repr(space)
    return out


def space_rows(name: str, info: dict[str, Any]) -> Iterator[tuple[str, str, str, str, str]]:
    """Table rows (name, type, shape, dtype, values) of a described space and its parts."""
    kind = info["type"]
    shape, dtype, bounds = "", info.get("dtype", ""), ""
    if kind == "Box":
        shape = str(tuple(info["shape"]))
        bounds = f"[{_fmt(info['low'])}, {_fmt(info['high'])}]"
    elif kind == "Discrete":
        bounds = f"{{{info['start']}, …, {info['start'] + info['n'] - 1}}}"
        if info.get("labels"):
            bounds += "  " + ", ".join(f"{k}={v}" for k, v in info["labels"].items())
    elif kind == "MultiDiscrete":
        shape = str(tuple(info["nvec"] and [len(info["nvec"])]))
        bounds = f"nvec={info['nvec']} start={info['start']}"
    elif kind == "MultiBinary":
        shape, bounds = str(tuple(info["shape"])), "{0, 1}"
    elif kind == "Text":
        bounds = f"length {info['min_length']}..{info['max_length']}, charset {info['charset']!r}"
    elif kind == "Sequence":
        bounds = f"stack={info['stack']}"
    yield name, kind, shape, dtype, bounds
    if kind == "Dict":
        for key, sub in info["spaces"].items():
            yield from space_rows(f"{name}.{key}", sub)
    elif kind in ("Tuple", "OneOf"):
        for i, sub in enumerate(info["spaces"]):
            yield from space_rows(f"{name}[{i}]", sub)
    elif kind == "Sequence":
        yield from space_rows(f"{name}[*]", info["feature_space"])
    elif kind == "Graph":
        yield from space_rows(f"{name}.nodes", info["node_space"])
        if info["edge_space"]:
            yield from space_rows(f"{name}.edges", info["edge_space"])


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return f"{_short(value['min'])}..{_short(value['max'])} (per element)"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return _short(value)


def _code(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip()


def show_info(target: str, params: Params | None = None) -> dict[str, Any]:
    """Everything `envgen show` prints, as JSON-friendly data (for the env made with
    `params`, when given)."""
    import gymnasium as gym

    resolved = resolve(target)
    env_spec = gym.registry[resolved.env_id]
    spec = resolved.model.spec if resolved.model is not None else None
    if spec is None and resolved.spec_path is not None:
        from envgen.build import check_spec

        model, _ = check_spec(resolved.spec_path)
        spec = model.spec if model is not None else None
    env = make_env(resolved.env_id, params)
    try:
        unwrapped = env.unwrapped
        labels = None
        if spec is not None:
            labels = getattr(spec.action_space, "labels", None)
        param_rows = []
        module = sys.modules.get(type(unwrapped).__module__)
        docs = {name: p.doc for name, p in spec.params.items()} if spec is not None else {}
        for param in getattr(module, "PARAMS", ()) or ():
            constraints = [
                f"{op} {_short(getattr(param, attr))}"
                for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
                if getattr(param, attr, None) is not None
            ]
            if getattr(param, "choices", None):
                constraints.append(f"in {list(param.choices)}")
            param_rows.append(
                {
                    "name": param.name,
                    "type": param.type,
                    "default": param.default,
                    "constraints": constraints,
                    "doc": getattr(param, "doc", "") or docs.get(param.name, ""),
                    "value": _plain_value(getattr(unwrapped, param.name, param.default)),
                }
            )
        limit = env_spec.max_episode_steps
        if limit is None:
            limit = getattr(unwrapped, "max_episode_steps", None)
        doc = spec.description if spec is not None else (type(unwrapped).__doc__ or "")
        info = {
            "id": resolved.env_id,
            "description": _first_paragraph(doc or ""),
            "source": _display(resolved.spec_path) if resolved.spec_path else None,
            "entry_point": env_spec.entry_point
            if isinstance(env_spec.entry_point, str)
            else f"{env_spec.entry_point.__module__}:{env_spec.entry_point.__qualname__}",
            "vector_entry_point": entry_name(env_spec.vector_entry_point),
            "vector_fallback": None
            if env_spec.vector_entry_point is not None
            else _vector_fallback(resolved.env_id),
            "vector_backend": _vector_backend(
                env_spec.vector_entry_point, params.values if params else {}
            ),
            "jax": _jax_face(resolved.env_id, env_spec.entry_point),
            "params": param_rows,
            "action_space": describe_space(env.action_space, labels),
            "observation_space": describe_space(env.observation_space),
            "reward": _code(spec.reward) if spec is not None else None,
            "terminated": _code(spec.terminated) if spec is not None else None,
            "max_episode_steps": _number(limit) if limit is not None else None,
            "max_episode_steps_expr": _code(spec.max_episode_steps) if spec is not None else None,
            "render_modes": list(unwrapped.metadata.get("render_modes", [])),
            "render_fps": unwrapped.metadata.get("render_fps"),
            "info": {k: _code(v) for k, v in spec.info.items()} if spec is not None else {},
            # Python functions the env imports and runs (generated modules mark them).
            "trusted_hooks": list(getattr(module, "TRUSTED_HOOKS", ()) or ()),
        }
    finally:
        env.close()
    return info


def _vector_fallback(env_id: str) -> str | None:
    """Why an envgen env has no native vector env (its registry's VECTOR_FALLBACKS)."""
    import importlib

    from envgen.jax._registry import entry_package

    package = entry_package(env_id)
    try:
        registry = importlib.import_module(package) if package else None
    except ImportError:
        return None
    return getattr(registry, "VECTOR_FALLBACKS", {}).get(env_id)


def _jax_face(env_id: str, entry: Any) -> str:
    """Where the env's JAX version is (envgen.jax.make / the `-jax` id), or why there is none
    (never nothing: docs/jax.md promises the reason here)."""
    import importlib

    from envgen.jax._registry import find

    try:
        found = find(env_id)
    except ValueError as exc:
        return f"none: {exc}"
    if found.module is None:
        return f"none: {found.fallback}"
    registry = importlib.import_module(found.package)
    jax_ids = {v: k for k, v in getattr(registry, "JAX_IDS", {}).items()}
    if found.package == "_envgen_specs":  # a spec file compiled in memory
        return f"yes: envgen.jax.make({env_id!r}) once built (envgen build)"
    package = "" if found.package == "generated" else f"{found.package}:"
    face = f"envgen.jax.make({package + env_id!r})"
    if env_id in jax_ids:
        face += f", gym.make({jax_ids[env_id]!r})"
    return face


def _plain_value(value: Any) -> Any:
    """A param's value as JSON-friendly data (a read-only array param as a list)."""
    value = value.tolist() if hasattr(value, "tolist") else value
    return _number(value) if isinstance(value, float) else value


def _short(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _first_paragraph(doc: str) -> str:
    import inspect

    paragraphs = [
        p
        for p in inspect.cleandoc(doc).split("\n\n")
        if p.strip() and not p.lstrip().startswith("#")
    ]
    text = " ".join(paragraphs[0].split()) if paragraphs else ""
    return text if len(text) <= 400 else text[:399] + "…"


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _vector_backend(entry: Any, params: dict[str, Any]) -> str | None:
    """How envgen's native vector env steps here: its `backend`, and why not the kernel.

    Builds one (compiling its kernel the first time in an environment: seconds; cached).
    None for other vector envs, or where it cannot be built.
    """
    if entry is None:
        return None
    try:
        from gymnasium.envs.registration import load_env_creator

        creator = load_env_creator(entry) if isinstance(entry, str) else entry
        envs = creator(num_envs=1, **params)
    except Exception:  # noqa: BLE001 (show describes; `envgen bench` reports failures)
        return None
    backend = getattr(envs, "backend", None)
    note = getattr(envs, "backend_note", None)
    envs.close()
    if backend is None:
        return None
    text = "compiled kernel (numba)" if backend == "numba" else "NumPy code"
    return f"{text}: {note}" if note else text


def entry_name(entry: Any) -> str | None:
    """A registry entry point as `module:name`."""
    if entry is None or isinstance(entry, str):
        return entry
    return f"{getattr(entry, '__module__', '?')}:{getattr(entry, '__qualname__', repr(entry))}"
