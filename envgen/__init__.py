"""envgen: a declarative environment compiler for reinforcement learning.

The public API is small:

- `envgen.compile_specs(paths, out_dir=None)`: compile spec files/folders in memory;
  returns the checked models, the output files and every diagnostic.
- `envgen.env_ids_from_specs(paths)`: compile specs and register their envs with
  Gymnasium (no files written); returns their ids.
- `envgen.make(spec, **params)`: a Gymnasium env from YAML text (a notebook cell), a spec
  file or an id, compiled in memory; `envgen.check(spec)` reports the problems of one;
  `envgen.show_episode(env)` shows an episode inline (`%load_ext envgen` adds `%%envgen`).
- `envgen.testing`: property-based conformance testing of any Gymnasium env.
- `envgen.rllib`: registration of generated envs with Ray RLlib (optional extra).

Generated envs import only `envgen.runtime` (and `envgen.runtime.draw`), so importing this
package stays cheap: the compiler is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "check",
    "compile_specs",
    "env_ids_from_specs",
    "load_ipython_extension",
    "make",
    "show_episode",
]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext envgen`: the `%%envgen` cell magic; spec errors without tracebacks."""
    from envgen._notebook import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    if name in ("compile_specs", "env_ids_from_specs"):
        from envgen import build

        return getattr(build, name)
    if name in ("make", "check", "show_episode", "SpecError"):
        from envgen import _notebook

        return getattr(_notebook, name)
    raise AttributeError(f"module 'envgen' has no attribute {name!r}")
