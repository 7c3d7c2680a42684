"""The gymnax face of a generated env: `env, params = envgen.jax.make(id)`.

The interface is gymnax 1.0's (`gymnax.environments.environment.Environment`): `reset(key,
params) -> (obs, state)`, `step(key, state, action, params) -> (obs, state, reward,
terminated, truncated, info)` with auto-reset (the reset state replaces the stepped one
where the episode ended; `info["final_observation"]` keeps the last observation),
`default_params`, `observation_space(params)` / `action_space(params)` with `sample(key)`.
`step` and `reset` are written out here, the same as gymnax's, so the face behaves the same
with and without gymnax installed; where gymnax is installed, the env and its spaces are
also instances of gymnax's classes (trainers that check `isinstance` accept them).
"""

from __future__ import annotations

import collections
from functools import partial
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces as gym_spaces

from envgen.jax import _runtime as _jx
from envgen.jax._env import _module, _static

try:  # gymnax is optional: the `jax` extra installs it, the dev extra does not
    from gymnax.environments import environment as _gx_environment
    from gymnax.environments import spaces as _gx_spaces
except ImportError:  # pragma: no cover - depends on the venv
    _gx_environment = _gx_spaces = None


def _base(name: str) -> tuple[type, ...]:
    if _gx_spaces is None:
        return (object,)
    return (getattr(_gx_spaces, name),)


# --- spaces, as gymnax's (Discrete also has Gymnasium's `start`) -------------------------------


class Discrete(*_base("Discrete")):  # type: ignore[misc]
    """Integers start, ..., start + n - 1."""

    def __init__(self, num_categories: int, start: int = 0) -> None:
        self.n = int(num_categories)
        self.start = int(start)
        self.shape = ()
        self.dtype = _jx.dt("int64")

    def __repr__(self) -> str:
        return f"Discrete({self.n}, start={self.start})"

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, (), self.start, self.start + self.n, self.dtype)

    def contains(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return (x >= self.start) & (x < self.start + self.n)


class Box(*_base("Box")):  # type: ignore[misc]
    """Arrays of `shape` between `low` and `high`."""

    def __init__(self, low: Any, high: Any, shape: tuple[int, ...], dtype: Any) -> None:
        self.low, self.high, self.shape, self.dtype = low, high, shape, dtype

    def __repr__(self) -> str:
        return f"Box(shape={self.shape}, dtype={np.dtype(self.dtype).name})"

    def sample(self, key: jax.Array) -> jax.Array:
        if jnp.issubdtype(self.dtype, jnp.integer):
            return jax.random.randint(key, self.shape, self.low, self.high + 1, self.dtype)
        return jax.random.uniform(key, self.shape, minval=self.low, maxval=self.high).astype(
            self.dtype
        )

    def contains(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.all(x >= self.low) & jnp.all(x <= self.high)


class MultiDiscrete(*_base("Space")):  # type: ignore[misc]
    """Int arrays whose element i is in [start_i, start_i + nvec_i)."""

    def __init__(self, nvec: Any, start: Any = None) -> None:
        self.nvec = np.asarray(nvec)
        self.start = np.zeros_like(self.nvec) if start is None else np.asarray(start)
        self.shape = self.nvec.shape
        self.dtype = _jx.dt("int64")

    def sample(self, key: jax.Array) -> jax.Array:
        u = jax.random.uniform(key, self.shape)
        return (jnp.floor(u * self.nvec) + self.start).astype(self.dtype)

    def contains(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.all((x >= self.start) & (x < self.start + self.nvec))


class MultiBinary(*_base("Space")):  # type: ignore[misc]
    """int8 arrays of 0s and 1s."""

    def __init__(self, n: Any) -> None:
        self.shape = (int(n),) if np.ndim(n) == 0 else tuple(int(d) for d in n)
        self.dtype = jnp.int8

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.bernoulli(key, 0.5, self.shape).astype(self.dtype)

    def contains(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.all((x == 0) | (x == 1))


class Dict(*_base("Dict")):  # type: ignore[misc]
    """A mapping of spaces; samples are dicts."""

    def __init__(self, spaces: dict[str, Any]) -> None:
        self.spaces = spaces
        self.num_spaces = len(spaces)

    def sample(self, key: jax.Array) -> Any:
        keys = jax.random.split(key, self.num_spaces)
        return collections.OrderedDict(
            (k, space.sample(keys[i])) for i, (k, space) in enumerate(self.spaces.items())
        )

    def contains(self, x: Any) -> jax.Array:
        return jnp.all(jnp.array([s.contains(x[k]) for k, s in self.spaces.items()]))


class Tuple(*_base("Tuple")):  # type: ignore[misc]
    """A tuple of spaces; samples are tuples."""

    def __init__(self, spaces: list[Any]) -> None:
        self.spaces = spaces
        self.num_spaces = len(spaces)

    def sample(self, key: jax.Array) -> Any:
        keys = jax.random.split(key, self.num_spaces)
        return tuple(space.sample(keys[i]) for i, space in enumerate(self.spaces))

    def contains(self, x: Any) -> jax.Array:
        return jnp.all(jnp.array([s.contains(x[i]) for i, s in enumerate(self.spaces)]))


def gymnax_space(space: gym.Space) -> Any:
    """The gymnax-style space for a Gymnasium space of a generated env."""
    if isinstance(space, gym_spaces.Discrete):
        return Discrete(int(space.n), int(space.start))
    if isinstance(space, gym_spaces.Box):
        dtype = _jx.dt(space.dtype.name)
        return Box(jnp.asarray(space.low), jnp.asarray(space.high), space.shape, dtype)
    if isinstance(space, gym_spaces.MultiDiscrete):
        return MultiDiscrete(space.nvec, space.start)
    if isinstance(space, gym_spaces.MultiBinary):
        return MultiBinary(space.n)
    if isinstance(space, gym_spaces.Dict):
        return Dict({k: gymnax_space(v) for k, v in space.spaces.items()})
    if isinstance(space, gym_spaces.Tuple):
        return Tuple([gymnax_space(s) for s in space.spaces])
    raise TypeError(f"{type(space).__name__} spaces have no JAX counterpart")


# --- the env ---------------------------------------------------------------------------------


_EnvBase = (_gx_environment.Environment,) if _gx_environment is not None else (object,)


class GymnaxEnv(*_EnvBase):  # type: ignore[misc]
    """A generated env with gymnax's interface. Made by `envgen.jax.make`."""

    def __init__(self, module: Any, static: Any) -> None:
        self.module = module
        self.static = static
        self._params = module.default_params(static)
        self._action_space = gymnax_space(static.action_space)
        self._observation_space = gymnax_space(static.observation_space)
        self._renderers: dict[int, Any] = {}

    def __deepcopy__(self, memo: dict) -> GymnaxEnv:
        # Immutable (pure functions, a reference env read for static values, spaces):
        # trainers that deep-copy their config (rejax) share it, as they do gymnax's envs.
        return self

    @property
    def default_params(self) -> Any:
        return self._params

    @partial(jax.jit, static_argnames=("self",))
    def step(
        self, key: jax.Array, state: Any, action: Any, params: Any = None
    ) -> tuple[Any, Any, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
        """Step, and reset where the episode ended (gymnax 1.0's `Environment.step`)."""
        if params is None:
            params = self.default_params
        if self.module.STEP_DRAW_SITES:
            key_step, key_reset = jax.random.split(key)
        else:
            # a step that draws nothing leaves the key to the reset: one threefry split per
            # env and step saved (the auto-reset's draws are most of a CartPole step's work)
            key_step = key_reset = key
        obs_st, state_st, reward, terminated, info = self.step_env(key_step, state, action, params)
        truncated = self.is_truncated(state_st, params)
        done = jnp.logical_or(terminated, truncated)
        obs_re, state_re = self.reset_env(key_reset, params)
        state = jax.tree.map(lambda x, y: jax.lax.select(done, x, y), state_re, state_st)
        obs = jax.tree.map(lambda x, y: jax.lax.select(done, x, y), obs_re, obs_st)
        if "action_mask" in info:
            # the mask goes with the observation returned: the reset state's where the episode
            # ended, so a masked policy sees the new state's mask (the other entries describe
            # the step, as gymnax's do)
            fresh = self.module.reset_info(state_re, params, self.static)["action_mask"]
            info["action_mask"] = jax.tree.map(
                lambda x, y: jax.lax.select(done, x, y), fresh, info["action_mask"]
            )
        info = {
            **info,
            "terminated": terminated,
            "truncated": truncated,
            "final_observation": obs_st,
        }
        return obs, state, reward, terminated, truncated, info

    @partial(jax.jit, static_argnames=("self",))
    def reset(self, key: jax.Array, params: Any = None) -> tuple[Any, Any]:
        if params is None:
            params = self.default_params
        return self.reset_env(key, params)

    def step_env(self, key: jax.Array, state: Any, action: Any, params: Any) -> Any:
        next_state, reward, terminated, info = self.module.step(
            key, state, action, params, self.static
        )
        obs = self.module.observe(next_state, params, self.static)
        return obs, next_state, reward, terminated, info

    def reset_env(self, key: jax.Array, params: Any) -> Any:
        state = self.module.reset(key, params, self.static)
        return self.module.observe(state, params, self.static), state

    def observe(self, key: Any, state: Any, action: Any, params: Any) -> Any:
        return self.module.observe(state, params, self.static)

    def reset_info(self, state: Any, params: Any = None) -> dict[str, Any]:
        """The info entries the single env gives at reset, for `state`: its action mask
        (`info["action_mask"]`), which gymnax's `reset` has no place to return."""
        params = self.default_params if params is None else params
        return self.module.reset_info(state, params, self.static)

    def get_obs(self, state: Any, params: Any = None, key: Any = None) -> Any:
        params = self.default_params if params is None else params
        return self.module.observe(state, params, self.static)

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
        if isinstance(space, Discrete):
            return space.n
        raise NotImplementedError("num_actions of a non-Discrete action space")

    def action_space(self, params: Any = None) -> Any:
        return self._action_space

    def observation_space(self, params: Any = None) -> Any:
        return self._observation_space


def make(env_id: str, *, package: str | None = None, **overrides: Any) -> tuple[GymnaxEnv, Any]:
    """`env, params = make("envgen/CartPole-v1", **param_overrides)`, like `gymnax.make`.

    An env built into another package (`envgen build specs -o mygen`) is
    `make("mygen:ns/Name-v0")` or `make("ns/Name-v0", package="mygen")`, or just its id
    once `mygen` is imported. Data params (numbers) land in `params` (change them with
    `params.replace`, vmap over them); static ones (shapes, strings, lists) are fixed here."""
    module, defaults = _module(env_id, package)
    env = GymnaxEnv(module, _static(module, {**defaults, **overrides}))
    return env, env.default_params
