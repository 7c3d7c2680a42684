"""Which generated JAX module an env id names (imports neither JAX nor the JAX module).

An id reaches its JAX module through the package (the registry `__init__.py` that `envgen
build` writes, or the in-memory one of specs compiled by `envgen fuzz` / `envgen show`):

- `"pkg:ns/Name-v0"`: the package `pkg` (Gymnasium's `module:id` form);
- `package="pkg"`: the same;
- `"ns/Name-v0"` alone: the package whose module the registered env's entry point is in
  (any package built with `-o` once it is imported, or a spec compiled in memory), else
  `generated`.

Used by `envgen.jax.make` / `make_func`, the `jax_agreement` fuzz property and `envgen show`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JaxEntry:
    """Where an env's JAX module is, or why it has none."""

    env_id: str  # the id of the spec whose module it is (a variant's base id)
    package: str
    module: str | None = None  # the JAX module's import name
    fallback: str | None = None  # why there is no JAX module
    kwargs: dict[str, Any] = field(default_factory=dict)  # a variant's param defaults
    known: tuple[str, ...] = ()  # the package's envs that have a JAX module


#: The entry point of every `-jax` id (the registry `__init__.py` registers it, with the
#: id it faces and its package as the kwargs `env_id` and `package`).
JAX_ENTRY_POINT = "envgen.jax._gym:make_env"
JAX_VECTOR_ENTRY_POINT = "envgen.jax._gym:make_vector_env"
#: The kwargs of a `-jax` registration that name the env, not its params.
JAX_ID_KWARGS = ("env_id", "package")


def entry_package(env_id: str) -> str | None:
    """The package of a registered env's entry point (`pkg.module:Class` or a class); for a
    `-jax` id, the package its registration names."""
    import gymnasium as gym

    try:
        spec = gym.spec(env_id)
    except gym.error.Error:
        return None
    entry = spec.entry_point
    if entry == JAX_ENTRY_POINT:
        return (spec.kwargs or {}).get("package")
    if isinstance(entry, str):
        name = entry.split(":")[0]
    else:
        name = getattr(entry, "__module__", "")
    package = name.rpartition(".")[0]
    return package or None


def find(env_id: str, package: str | None = None) -> JaxEntry:
    """The JAX module of `env_id` (see the module docstring for the forms). Raises
    ValueError (what was not found, and where) when the package or id is unknown."""
    if ":" in env_id:
        given, env_id = env_id.split(":", 1)
        if package is not None and package != given:
            raise ValueError(f"{given!r} and package={package!r} name two packages")
        package = given
    if package is None:
        package = entry_package(env_id)
        if package is None:
            # the `-jax` id or a variant of a generated env: `generated` registers them
            package = "generated"
    if not all(part.isidentifier() for part in package.split(".")):
        raise ValueError(
            f"{package!r} is not a package name: name the package as Python imports it "
            "(dotted names, e.g. 'mygen' or 'pkgs.mygen'), not a folder, and put its parent "
            "folder on sys.path"
        )
    try:
        registry = importlib.import_module(package)
    except ImportError as exc:
        raise ValueError(
            f"cannot import the package {package!r} ({exc}); build the specs with "
            f"`envgen build SPECS -o {package}` and put its parent folder on sys.path"
        ) from exc
    env_id = getattr(registry, "JAX_IDS", {}).get(env_id, env_id)
    modules = getattr(registry, "JAX_MODULES", {})
    fallbacks = getattr(registry, "JAX_FALLBACKS", {})
    kwargs: dict[str, Any] = {}
    base = getattr(registry, "VARIANTS", {}).get(env_id)
    if base is not None:
        kwargs = dict(getattr(registry, "ENVS", {}).get(env_id, {}).get("kwargs", {}) or {})
        env_id = base
    entry = JaxEntry(env_id, package, kwargs=kwargs, known=tuple(sorted(modules)))
    if env_id in modules:
        # The registry names its modules by the package name it was built as (`-o mygen`);
        # import them from the package the user named, whatever it is called now, so that
        # no other package of the build-time name on sys.path is ever imported instead.
        entry.module = f"{registry.__name__}.{modules[env_id].rpartition('.')[2]}"
    elif env_id in fallbacks:
        entry.fallback = fallbacks[env_id]
    else:
        known = ", ".join(entry.known) or "none"
        raise ValueError(
            f"no generated env {env_id!r} in the package {package!r} (its JAX envs: {known}); "
            "name another package as 'package:ns/Name-v0' or package='...'"
        )
    return entry
