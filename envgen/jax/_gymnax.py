"""The gymnax face of a generated env (imports gymnax, which is slow to import)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces as gym_spaces
from gymnax.environments import environment
from gymnax.environments import spaces as gx_spaces

from envgen.jax import _runtime as _jx
from envgen.jax._env import _module, _static

# --- spaces -----------------------------------------------------------------------------------


class Discrete(gx_spaces.Discrete):
    """gymnax's Discrete with Gymnasium's `start` (values start, ..., start + n - 1)."""

    def __init__(self, num_categories: int, start: int = 0) -> None:
        super().__init__(num_categories)
        self.start = int(start)

    def sample(self, key: jax.Array) -> jax.Array:
        return super().sample(key) + self.start

    def contains(self, x: jax.Array) -> jax.Array:
        return super().contains(jnp.asarray(x) - self.start)


class MultiDiscrete(gx_spaces.Space):
    """Gymnasium's MultiDiscrete for JAX: an int array, element i in [start_i, start_i + n_i)."""

    def __init__(self, nvec: Any, start: Any = None) -> None:
        self.nvec = np.asarray(nvec)
        self.start = np.zeros_like(self.nvec) if start is None else np.asarray(start)
        self.shape = self.nvec.shape
        self.dtype = _jx.dt("int64")

    def sample(self, key: jax.Array) -> jax.Array:
        u = jax.random.uniform(key, self.shape)
        return (jnp.floor(u * self.nvec) + self.start).astype(self.dtype)

    def contains(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.all((x >= self.start) & (x < self.start + self.nvec))


class MultiBinary(gx_spaces.Space):
    """Gymnasium's MultiBinary for JAX: an int8 array of 0s and 1s."""

    def __init__(self, n: Any) -> None:
        self.shape = (int(n),) if np.ndim(n) == 0 else tuple(int(d) for d in n)
        self.dtype = jnp.int8

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.bernoulli(key, 0.5, self.shape).astype(self.dtype)

    def contains(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.all((x == 0) | (x == 1))


def gymnax_space(space: gym.Space) -> gx_spaces.Space:
    """The gymnax space for a Gymnasium space of a generated env."""
    if isinstance(space, gym_spaces.Discrete):
        return Discrete(int(space.n), int(space.start))
    if isinstance(space, gym_spaces.Box):
        dtype = _jx.dt(space.dtype.name)
        return gx_spaces.Box(jnp.asarray(space.low), jnp.asarray(space.high), space.shape, dtype)
    if isinstance(space, gym_spaces.MultiDiscrete):
        return MultiDiscrete(space.nvec, space.start)
    if isinstance(space, gym_spaces.MultiBinary):
        return MultiBinary(space.n)
    if isinstance(space, gym_spaces.Dict):
        return gx_spaces.Dict({k: gymnax_space(v) for k, v in space.spaces.items()})
    if isinstance(space, gym_spaces.Tuple):
        return gx_spaces.Tuple([gymnax_space(s) for s in space.spaces])
    raise TypeError(f"{type(space).__name__} spaces have no JAX counterpart")


# --- gymnax ----------------------------------------------------------------------------------


class GymnaxEnv(environment.Environment):
    """A generated env with gymnax's interface (`reset(key, params)`, `step(key, state,
    action, params)` with auto-reset, spaces with `sample(key)`). Made by `envgen.jax.make`."""

    def __init__(self, module: Any, static: Any) -> None:
        super().__init__()
        self.module = module
        self.static = static
        self._params = module.default_params(static)
        self._action_space = gymnax_space(static.action_space)
        self._observation_space = gymnax_space(static.observation_space)
        self._renderers: dict[int, Any] = {}

    @property
    def default_params(self) -> Any:
        return self._params

    def step_env(self, key: jax.Array, state: Any, action: Any, params: Any) -> Any:
        next_state, reward, terminated, info = self.module.step(
            key, state, action, params, self.static
        )
        obs = self.module.observe(next_state, params, self.static)
        return obs, next_state, reward, terminated, info

    def reset_env(self, key: jax.Array, params: Any) -> Any:
        state = self.module.reset(key, params, self.static)
        return self.module.observe(state, params, self.static), state

    def get_obs(self, state: Any, params: Any = None, key: Any = None) -> Any:
        return self.module.observe(
            state, self.default_params if params is None else params, self.static
        )

    def is_truncated(self, state: Any, params: Any) -> jax.Array:
        return state.elapsed_steps >= params.max_steps_in_episode

    def render(self, state: Any, params: Any = None) -> jax.Array:
        """The rgb_array frame of one state, or a frame per env for a batch of states."""
        if not self.module.RENDERS:
            raise NotImplementedError(f"{self.name} has no rgb_array render")
        params = self.default_params if params is None else params
        batch = jnp.ndim(state.elapsed_steps)
        if batch not in self._renderers:

            def one(s: Any, p: Any) -> jax.Array:
                return self.module.render(s, p, self.static)

            for _ in range(batch):
                one = jax.vmap(one, in_axes=(0, None))
            self._renderers[batch] = jax.jit(one)
        return self._renderers[batch](state, params)

    @property
    def name(self) -> str:
        return self.module.ID

    @property
    def num_actions(self) -> int:
        space = self._action_space
        if isinstance(space, gx_spaces.Discrete):
            return int(space.n)
        raise NotImplementedError("num_actions of a non-Discrete action space")

    def action_space(self, params: Any = None) -> gx_spaces.Space:
        return self._action_space

    def observation_space(self, params: Any = None) -> gx_spaces.Space:
        return self._observation_space


def make(env_id: str, *, package: str = "generated", **overrides: Any) -> tuple[GymnaxEnv, Any]:
    """`env, params = make("envgen/CartPole-v1", **param_overrides)`, like `gymnax.make`.

    Data params (numbers) land in `params` (change them per env with `params.replace`, vmap
    over them); static ones (shapes, strings, lists) are fixed here."""
    module, _ = _module(env_id, package)
    env = GymnaxEnv(module, _static(module, overrides))
    return env, env.default_params
