"""Entry points of the `-jax` ids (`gym.make("envgen/CartPole-jax-v1")`, `gym.make_vec`)."""

from __future__ import annotations

from typing import Any

import jax
from gymnasium.vector import AutoresetMode

from envgen.jax._env import JaxEnv, JaxVectorEnv, jitted_func, make_func


def make_env(
    env_id: str, package: str | None = None, render_mode: str | None = None, **overrides: Any
) -> JaxEnv:
    env = JaxEnv(jitted_func(env_id, package, overrides), render_mode=render_mode)
    env.made_with = (env_id, package, overrides)
    return env


def make_vector_env(
    env_id: str,
    num_envs: int = 1,
    package: str | None = None,
    render_mode: str | None = None,
    **overrides: Any,
) -> JaxVectorEnv:
    func_env = make_func(env_id, package=package, **overrides)
    limit = func_env.static.max_episode_steps
    envs = JaxVectorEnv(
        func_env,
        num_envs,
        max_episode_steps=0 if limit is None else int(limit),
        metadata={**func_env.metadata, "autoreset_mode": AutoresetMode.NEXT_STEP},
        render_mode=render_mode,
    )
    func_env.transform(jax.jit)  # after the vector env's vmap
    return envs
