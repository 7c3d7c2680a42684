"""Turning what a user names (an env id, a class, a file, a spec) into an env factory."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

__all__ = ["Target", "TargetError", "resolve_target", "resolve_targets"]

SPEC_SUFFIXES = (".yaml", ".yml")


class TargetError(ValueError):
    """The user named something that is not an env (a usage error, with a suggestion)."""


@dataclass
class Target:
    """An env under test: a factory plus what the fuzzer needs to know about it.

    ``factory(render_mode=None)`` builds a fresh env. ``make_source(var, render_mode)`` returns
    ``(preamble_lines, line)``: Python source that builds the same env into ``var``, for
    reproductions.
    """

    name: str
    factory: Callable[..., gym.Env]
    make_source: Callable[[str, str | None], tuple[list[str], str]]
    max_episode_steps: int | None = None
    env_id: str | None = None
    has_vector_entry_point: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)
    autoreset_mode: str | None = None  # what a vector target asked make_vec for (its value)

    def __repr__(self) -> str:
        return f"Target({self.name!r})"


# ---------------------------------------------------------------------------------------------
# source snippets
# ---------------------------------------------------------------------------------------------


def _is_installed_module(module: Any) -> bool:
    """True for modules a fresh interpreter can import by name (stdlib or site-packages)."""
    file = getattr(module, "__file__", None)
    if file is None:
        return False
    file = str(Path(file).resolve())
    roots = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")}
    return any(file.startswith(str(Path(r).resolve())) for r in roots)


def _class_loader_source(obj: Any) -> tuple[list[str], str]:
    """Preamble lines that bind ``obj`` (a class or function) to its own name, and that name."""
    module = sys.modules.get(obj.__module__)
    name = obj.__qualname__
    if module is not None and _is_installed_module(module):
        return [f"from {obj.__module__} import {name.split('.')[0]}"], name
    file = getattr(module, "__file__", None) if module is not None else None
    if file is None:
        return [f"from {obj.__module__} import {name.split('.')[0]}  # adjust the import"], name
    path = str(Path(file).resolve())
    modname = obj.__module__.replace(".", "_")
    return [
        "import importlib.util",
        "import sys",
        f"_spec = importlib.util.spec_from_file_location({modname!r}, {path!r})",
        "_module = importlib.util.module_from_spec(_spec)",
        "sys.modules[_spec.name] = _module",
        "_spec.loader.exec_module(_module)",
        f"{name.split('.')[0]} = _module.{name.split('.')[0]}",
    ], name


def _kwargs_source(render_mode: str | None, kwargs: dict[str, Any]) -> str:
    from ._repro import to_source

    parts = [f"{k}={to_source(v)}" for k, v in kwargs.items()]
    if render_mode is not None:
        parts.append(f"render_mode={render_mode!r}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# targets from registered ids
# ---------------------------------------------------------------------------------------------


def _registered_id_target(
    env_id: str,
    *,
    display: str | None = None,
    preamble: list[str] | None = None,
    kwargs: dict[str, Any] | None = None,
    vector: str | None = None,
    num_envs: int = 2,
    vector_kwargs: dict[str, Any] | None = None,
) -> Target:
    spec = gym.spec(_bare_id(env_id))
    kwargs = dict(kwargs or {})
    full_id = spec.id if ":" not in env_id else env_id
    if preamble is None:
        preamble = _registration_source(spec, full_id)
    if vector is not None:
        return _make_vec_target(
            full_id, spec, display, list(preamble), kwargs, vector, num_envs, vector_kwargs
        )

    def factory(render_mode: str | None = None, **extra: Any) -> gym.Env:
        return gym.make(full_id, render_mode=render_mode, **{**kwargs, **extra})

    def make_source(var: str, render_mode: str | None) -> tuple[list[str], str]:
        args = _kwargs_source(render_mode, kwargs)
        return list(preamble), f"{var} = gym.make({full_id!r}{', ' + args if args else ''})"

    return Target(
        name=display or env_id,
        factory=factory,
        make_source=make_source,
        max_episode_steps=spec.max_episode_steps,
        env_id=full_id,
        has_vector_entry_point=spec.vector_entry_point is not None,
        kwargs=kwargs,
    )


VECTOR_MODES = ("sync", "async", "vector_entry_point")


def _make_vec_target(
    env_id: str,
    spec: Any,
    display: str | None,
    preamble: list[str],
    kwargs: dict[str, Any],
    mode: str,
    num_envs: int,
    vector_kwargs: dict[str, Any] | None,
) -> Target:
    """``gym.make_vec(env_id, num_envs, vectorization_mode=mode)``: a vector env target."""
    from ._repro import to_source

    if mode not in VECTOR_MODES:
        raise TargetError(f"unknown vectorization mode {mode!r} (one of {', '.join(VECTOR_MODES)})")
    if mode == "vector_entry_point" and spec.vector_entry_point is None:
        raise TargetError(f"{env_id} has no vector_entry_point; use sync or async")
    vector_kwargs = dict(vector_kwargs or {})
    autoreset = vector_kwargs.get("autoreset_mode")
    if autoreset is not None:
        try:
            autoreset = gym.vector.AutoresetMode(getattr(autoreset, "value", autoreset))
        except ValueError:
            modes = ", ".join(m.value for m in gym.vector.AutoresetMode)
            raise TargetError(f"unknown autoreset mode {autoreset!r} (one of {modes})") from None
        vector_kwargs["autoreset_mode"] = autoreset
    if mode == "vector_entry_point":
        # Gymnasium refuses vector_kwargs for a custom vector env: its constructor takes them
        # as keyword arguments, beside the env's own
        taken = _entry_point_kwargs(env_id, spec.vector_entry_point, vector_kwargs)
        kwargs = {**kwargs, **taken}
        vector_kwargs = {}

    def factory(render_mode: str | None = None, **extra: Any) -> Any:
        more = {**kwargs, **extra}
        if render_mode is not None:
            more["render_mode"] = render_mode
        return gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode=mode,
            vector_kwargs=vector_kwargs or None,
            **more,
        )

    def make_source(var: str, render_mode: str | None) -> tuple[list[str], str]:
        args = [f"num_envs={num_envs}", f"vectorization_mode={mode!r}"]
        if vector_kwargs:
            args.append(f"vector_kwargs={to_source(vector_kwargs)}")
        more = _kwargs_source(render_mode, kwargs)
        if more:
            args.append(more)
        return preamble, f"{var} = gym.make_vec({env_id!r}, {', '.join(args)})"

    label = f"{mode} x{num_envs}" + (f", {autoreset.value}" if autoreset else "")
    return Target(
        name=display or f"{env_id}[{label}]",
        factory=factory,
        make_source=make_source,
        env_id=env_id,
        kwargs=kwargs,
        autoreset_mode=autoreset.value if autoreset else None,
    )


def _entry_point_kwargs(env_id: str, entry_point: Any, asked: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments (``autoreset_mode``) to give a vector entry point.

    All of them when its signature takes them (envgen's vector envs do). One that it cannot
    take is dropped where its class already declares that value (Gymnasium's
    ``CartPoleVectorEnv`` is NEXT_STEP, and says so in ``metadata``); otherwise a usage error.
    """
    if not asked:
        return {}
    try:
        creator = (
            entry_point
            if callable(entry_point)
            else gym.envs.registration.load_env_creator(entry_point)
        )
        params = inspect.signature(creator).parameters
    except Exception:  # unloadable or no signature: make_vec will say what is wrong
        return dict(asked)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(asked)
    taken = {k: v for k, v in asked.items() if k in params}
    declared = getattr(creator, "metadata", None) or {}
    for name, value in asked.items():
        if name in taken:
            continue
        fixed = declared.get(name)
        if fixed is not None and getattr(fixed, "value", fixed) == getattr(value, "value", value):
            continue  # what it does anyway
        have = f" (it is {getattr(fixed, 'value', fixed)})" if fixed is not None else ""
        raise TargetError(
            f"the vector entry point of {env_id} takes no {name} argument: its {name} is fixed"
            f"{have}; use --vector sync or async for another"
        )
    return taken


def _registration_source(spec: Any, env_id: str) -> list[str]:
    """Lines that register ``spec`` in a fresh interpreter, unless it is there already."""
    if ":" in env_id:  # "module:Name-v0" imports its module itself
        return []
    entry = spec.entry_point
    if isinstance(entry, str):
        if entry.startswith("gymnasium."):
            return []
        module = entry.split(":")[0]
        if module in sys.modules and _is_installed_module(sys.modules[module]):
            # an installed package registering its envs on import
            return [f"import {module}  # registers {spec.id}"]
        entry_src = repr(entry)
        lines: list[str] = []
    else:
        lines, entry_src = _class_loader_source(entry)
    args = [f"id={spec.id!r}", f"entry_point={entry_src}"]
    vector = getattr(spec, "vector_entry_point", None)
    if isinstance(vector, str):
        args.append(f"vector_entry_point={vector!r}")
    elif vector is not None:
        more, vector_src = _class_loader_source(vector)
        lines += [m for m in more if m not in lines]
        args.append(f"vector_entry_point={vector_src}")
    if spec.max_episode_steps is not None:
        args.append(f"max_episode_steps={spec.max_episode_steps}")
    if spec.kwargs:
        from ._repro import to_source

        args.append(f"kwargs={to_source(dict(spec.kwargs))}")
    return [*lines, f"gym.register({', '.join(args)})"]


# ---------------------------------------------------------------------------------------------
# targets from classes and factories
# ---------------------------------------------------------------------------------------------


def _accepts_render_mode(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "render_mode" or p.kind is p.VAR_KEYWORD for p in params)


def _callable_target(
    obj: Callable[..., gym.Env],
    *,
    name: str | None = None,
    max_episode_steps: int | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Target:
    kwargs = dict(kwargs or {})
    takes_render_mode = _accepts_render_mode(obj)

    def factory(render_mode: str | None = None, **extra: Any) -> gym.Env:
        if render_mode is not None and takes_render_mode:
            return obj(render_mode=render_mode, **{**kwargs, **extra})
        return obj(**{**kwargs, **extra})

    if (
        hasattr(obj, "__qualname__")
        and "<lambda>" not in obj.__qualname__
        and ("<locals>" not in obj.__qualname__)
    ):
        preamble, call_name = _class_loader_source(obj)
    else:
        preamble, call_name = [], "make_env  # your env factory"

    def make_source(var: str, render_mode: str | None) -> tuple[list[str], str]:
        args = _kwargs_source(render_mode if takes_render_mode else None, kwargs)
        if call_name.startswith("make_env"):
            return preamble, f"{var} = make_env({args})  # your env factory"
        return preamble, f"{var} = {call_name}({args})"

    if max_episode_steps is None:
        spec = getattr(obj, "spec", None)
        max_episode_steps = getattr(spec, "max_episode_steps", None)
    display = name or getattr(obj, "__qualname__", None) or repr(obj)
    return Target(
        name=display,
        factory=factory,
        make_source=make_source,
        max_episode_steps=max_episode_steps,
        kwargs=kwargs,
    )


def _load_file_module(path: Path) -> Any:
    modname = "envgen_fuzz_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    existing = sys.modules.get(modname)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot load Python file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module  # so that pickle can find its classes again
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[modname]
        raise TargetError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _attribute(module: Any, attr: str, where: str) -> Any:
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(module) if not n.startswith("_")]
            close = difflib.get_close_matches(attr, names, n=1)
            hint = f"; did you mean {where}:{close[0]}?" if close else ""
            raise TargetError(f"{where} has no attribute {attr!r}{hint}")
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------------------------------
# resolution
# ---------------------------------------------------------------------------------------------


def _suggest_id(name: str) -> str:
    ids = list(gym.registry)
    close = difflib.get_close_matches(name, ids, n=1, cutoff=0.5)
    if not close:
        lowered = {i.lower(): i for i in ids}
        close = [lowered[m] for m in difflib.get_close_matches(name.lower(), lowered, n=1)]
    return f"; did you mean {close[0]}?" if close else ""


def _spec_targets(path: Path, env_kwargs: dict[str, Any] | None = None, **vec: Any) -> list[Target]:
    try:
        from envgen.build import env_ids_from_specs  # provided by the compiler
    except ImportError as exc:
        raise TargetError(
            f"{path} is a spec, but this envgen cannot compile specs (envgen.build missing)"
        ) from exc
    ids = env_ids_from_specs([path])
    if not ids:
        raise TargetError(f"{path} defines no environments")
    preamble = [
        "from pathlib import Path",
        "from envgen.build import env_ids_from_specs",
        f"env_ids_from_specs([Path({str(path.resolve())!r})])",
    ]
    if vec.get("vector") is not None:
        return [_registered_id_target(i, preamble=preamble, kwargs=env_kwargs, **vec) for i in ids]
    return [_registered_id_target(i, display=i, preamble=preamble, kwargs=env_kwargs) for i in ids]


def resolve_targets(target: Any, **options: Any) -> list[Target]:
    """Resolve one user-named target; a spec folder can name several envs."""
    if isinstance(target, Target):
        return [target]
    if isinstance(target, Path) or (isinstance(target, str) and _looks_like_spec(target)):
        path = Path(target)
        if path.exists() and (path.is_dir() or path.suffix in SPEC_SUFFIXES):
            return _spec_targets(path, **options)
    return [resolve_target(target, **options)]


def _looks_like_spec(text: str) -> bool:
    return text.endswith(SPEC_SUFFIXES) or Path(text).is_dir()


def resolve_target(
    target: Any,
    *,
    max_episode_steps: int | None = None,
    name: str | None = None,
    vector: str | None = None,
    num_envs: int = 2,
    vector_kwargs: dict[str, Any] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Target:
    """Normalise ``target`` into a :class:`Target`.

    ``target`` may be a registered id (``"CartPole-v1"``, ``"module:ns/Name-v0"``), a
    ``"module:Class"`` or ``"path/to/file.py:Class"`` string, a spec file (``.yaml``), an env
    class or any callable returning an env, or a ``gymnasium.envs.registration.EnvSpec``.
    ``kwargs`` are passed to the env constructor; ``max_episode_steps`` tells the fuzzer the
    time limit of an env that is not registered with one. ``vector`` ("sync", "async" or
    "vector_entry_point") makes a registered id a vector env target:
    ``gym.make_vec(id, num_envs, vectorization_mode=vector, vector_kwargs=...)``.
    (A class or factory returning a ``gymnasium.vector.VectorEnv`` is a vector target as is.)
    ``env_kwargs`` are constructor kwargs too, for names that clash with this function's
    (``envgen fuzz -p max_episode_steps=50``).
    """
    kwargs = {**(env_kwargs or {}), **kwargs}
    vec = {"vector": vector, "num_envs": num_envs, "vector_kwargs": vector_kwargs}
    if vector is not None and not isinstance(target, (str, gym.envs.registration.EnvSpec)):
        raise TargetError("vector= applies to registered env ids only")
    if isinstance(target, Target):
        return target
    if isinstance(target, gym.Env):
        raise TargetError(
            "pass an env factory (its class, or a function returning a new env), not an env "
            "instance: the fuzzer needs fresh instances"
        )
    if isinstance(target, gym.envs.registration.EnvSpec):
        target = target.id
    if isinstance(target, Path):
        target = str(target)
    if not isinstance(target, str):
        if callable(target):
            return _callable_target(
                target, name=name, max_episode_steps=max_episode_steps, kwargs=kwargs
            )
        raise TargetError(f"cannot fuzz {target!r}: not an env id, class or factory")

    text = target.strip()
    if _looks_like_spec(text) and Path(text).exists():
        targets = _spec_targets(Path(text), kwargs, **vec)
        if len(targets) != 1:
            raise TargetError(f"{text} defines {len(targets)} envs; use resolve_targets")
        return targets[0]

    if ":" in text:
        left, _, right = text.rpartition(":")
        if vector is not None and left.endswith(".py"):
            raise TargetError(f"--vector applies to registered env ids, not to {text}")
        if left.endswith(".py"):
            path = Path(left)
            if not path.exists():
                raise TargetError(f"no such file: {left}")
            obj = _attribute(_load_file_module(path.resolve()), right, left)
            return _callable_target(
                obj, name=name or text, max_episode_steps=max_episode_steps, kwargs=kwargs
            )
        # "module:ns/Name-v0" (gymnasium imports the module) or "module:Class"
        try:
            module = importlib.import_module(left)
        except ImportError as exc:
            raise TargetError(f"cannot import module {left!r} ({exc})") from exc
        if right in gym.registry or not hasattr(module, right.split(".")[0]):
            if right in gym.registry:
                return _id_target(text, text, name, kwargs, **vec)
            obj = _attribute(module, right, left)  # raises with a suggestion
        else:
            obj = _attribute(module, right, left)
        if vector is not None:  # checked once the module has registered its envs
            raise TargetError(f"--vector applies to registered env ids, not to {text}")
        if isinstance(obj, type) or callable(obj):
            return _callable_target(
                obj, name=name or text, max_episode_steps=max_episode_steps, kwargs=kwargs
            )
        raise TargetError(f"{text} is not an env class or factory")

    if text in gym.registry or _is_versionless_id(text):
        return _id_target(text, text, name, kwargs, **vec)
    if text.endswith(".py"):
        raise TargetError(f"name the env class in the file: {text}:ClassName")
    raise TargetError(f"unknown env {text!r}{_suggest_id(text)}")


def _is_versionless_id(text: str) -> bool:
    try:
        gym.spec(text)
    except Exception:
        return False
    return True


def _bare_id(env_id: str) -> str:
    """``"module:ns/Name-v0"`` -> ``"ns/Name-v0"`` (gym.make imports the module, gym.spec not)."""
    return env_id.split(":", 1)[1] if ":" in env_id else env_id


def _id_target(
    env_id: str, display: str, name: str | None, kwargs: dict[str, Any], **vec: Any
) -> Target:
    try:
        gym.spec(_bare_id(env_id))
    except gym.error.DeprecatedEnv as exc:
        raise TargetError(f"{exc}") from exc
    except gym.error.Error as exc:
        raise TargetError(f"unknown env {env_id!r}{_suggest_id(env_id)}") from exc
    if vec.get("vector") is None:
        return _registered_id_target(env_id, display=name or display, kwargs=kwargs)
    return _registered_id_target(env_id, display=name, kwargs=kwargs, **vec)
