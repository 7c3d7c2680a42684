"""The JAX backend's faces: gymnax's interface and Gymnasium's functional API.

    import jax
    import envgen.jax

    env, params = envgen.jax.make("envgen/CartPole-v1")
    obs, state = env.reset(jax.random.key(0), params)
    obs, state, reward, terminated, truncated, info = env.step(key, state, 1, params)

`gym.make("envgen/CartPole-jax-v1")` (any generated id with `-jax` before its version)
gives a Gymnasium env over the same functions; `gym.make_vec` a VectorEnv. Needs
`pip install -e ".[jax]"`. See docs/jax.md.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names, and the module that defines each (gymnax is imported only when needed).
_LAZY = {
    "make": "_gymnax",
    "GymnaxEnv": "_gymnax",
    "gymnax_space": "_gymnax",
    "make_func": "_env",
    "EnvgenFuncEnv": "_env",
    "JaxEnv": "_env",
    "JaxVectorEnv": "_env",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'envgen.jax' has no attribute {name!r}")
    return getattr(importlib.import_module(f"envgen.jax.{module}"), name)
