"""envgen: a declarative environment compiler for reinforcement learning.

The public API is small:

- `envgen.compile_specs(paths, out_dir=None)`: compile spec files/folders in memory;
  returns the checked models, the output files and every diagnostic.
- `envgen.env_ids_from_specs(paths)`: compile specs and register their envs with
  Gymnasium (no files written); returns their ids.
- `envgen.testing`: property-based conformance testing of any Gymnasium env.
- `envgen.rllib`: registration of generated envs with Ray RLlib (optional extra).

Generated envs import only `envgen.runtime` (and `envgen.runtime.draw`), so importing this
package stays cheap: the compiler is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "compile_specs", "env_ids_from_specs"]


def __getattr__(name: str) -> Any:
    if name in ("compile_specs", "env_ids_from_specs"):
        from envgen import build

        return getattr(build, name)
    raise AttributeError(f"module 'envgen' has no attribute {name!r}")
