"""Gymnasium's functional face of a generated env (`FuncEnv`, FunctionalJaxEnv, and a
FunctionalJaxVectorEnv with fixed-shape autoreset). The gymnax face is in `_gymnax`.

Both faces wrap the pure functions of a generated `<module>_jax` module. `static` is the
reference env (the generated single env) made once with the overrides: its params and
`let` values are the static ones the functions read.
"""

from __future__ import annotations

import collections
import importlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces as gym_spaces
from gymnasium.envs.functional_jax_env import FunctionalJaxEnv, FunctionalJaxVectorEnv
from gymnasium.experimental.functional import FuncEnv

from envgen.jax import _runtime as _jx
from envgen.jax._registry import find

# --- finding the module -------------------------------------------------------------------------


def _module(env_id: str, package: str | None) -> tuple[Any, dict[str, Any]]:
    """The generated JAX module of `env_id` and the param defaults of the id (a variant's);
    `env_id` may name its package (`"mygen:ns/Name-v0"`), see `envgen.jax._registry`."""
    entry = find(env_id, package)
    if entry.module is None:
        raise ValueError(f"{entry.env_id} has no JAX version: {entry.fallback}")
    module = importlib.import_module(entry.module)
    needs_x64 = getattr(module, "_NEEDS_X64", None)
    if needs_x64 and not jax.config.jax_enable_x64:
        raise ValueError(
            f"{entry.env_id} needs JAX's 64-bit mode: {needs_x64}; turn it on with "
            "jax.config.update('jax_enable_x64', True) (see docs/jax.md)"
        )
    return module, entry.kwargs


def _static(module: Any, overrides: dict[str, Any]) -> Any:
    """The reference env whose params and `let` values the functions read."""
    if overrides.get("check_state"):
        # the other backends raise FloatingPointError when state becomes inf or nan; jitted
        # code cannot raise, and ignoring the option would be silently wrong (hostile trial 4)
        raise ValueError(
            f"{module.ID}: check_state=True is not available in JAX (jitted code cannot raise "
            "when a state becomes inf or nan); check with the single env or the vector env"
        )
    return module.SingleEnv(**overrides)


# --- Gymnasium's functional API -----------------------------------------------------------------


@_jx.struct
class FuncState(_jx.Struct):
    """The FuncEnv state: the env's state and what the last transition gave."""

    env: Any
    reward: jax.Array
    terminated: jax.Array
    info: Any  # the spec's `info` entries after the last transition (zeros after a reset)


class EnvgenFuncEnv(FuncEnv):
    """A generated env as Gymnasium's `FuncEnv` (initial, transition, observation, reward,
    terminal), for FunctionalJaxEnv / FunctionalJaxVectorEnv."""

    def __init__(self, module: Any, static: Any) -> None:
        self.module = module
        self.static = static
        self._renderers: dict[int, Any] = {}
        self.observation_space = static.observation_space
        self.action_space = static.action_space
        self._action = static.action_space.sample()  # a placeholder action (info's shapes)
        self.metadata = {
            "render_modes": ["rgb_array"] if module.RENDERS else [],
            "render_fps": static.metadata.get("render_fps"),
            "jax": True,
        }
        super().__init__()

    def get_default_params(self, **kwargs: Any) -> Any:
        return self.module.default_params(self.static)

    def _p(self, params: Any) -> Any:
        return self.default_params if params is None else params

    def initial(self, rng: Any, params: Any = None) -> FuncState:
        params = self._p(params)
        state = self.module.reset(rng, params, self.static)
        # the info a step would give, as zeros: the state keeps one shape (vector autoreset)
        action = jax.tree.map(jnp.asarray, self._action)
        shapes = jax.eval_shape(
            lambda k, s: self.module.step(k, s, action, params, self.static)[3], rng, state
        )
        info = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
        # the entries a reset gives (the action mask) are the fresh state's, not zeros
        info = {**info, **self.module.reset_info(state, params, self.static)}
        return FuncState(state, jnp.zeros((), _jx.dt("float64")), jnp.zeros((), bool), info)

    def state_info(self, state: FuncState, params: Any = None) -> dict[str, Any]:
        """The info entries a reset gives, as the single env's `reset()` (the action mask)."""
        return {key: state.info[key] for key in self.module.RESET_INFO}

    def transition(self, state: FuncState, action: Any, rng: Any, params: Any = None) -> FuncState:
        next_state, reward, terminated, info = self.module.step(
            rng, state.env, action, self._p(params), self.static
        )
        return FuncState(next_state, reward, terminated, info)

    def transition_info(
        self, state: FuncState, action: Any, next_state: FuncState, params: Any = None
    ) -> dict[str, Any]:
        """The spec's `info` entries of the transition."""
        return next_state.info

    def observation(self, state: FuncState, rng: Any, params: Any = None) -> Any:
        return self.module.observe(state.env, self._p(params), self.static)

    def reward(
        self, state: Any, action: Any, next_state: FuncState, rng: Any, params: Any = None
    ) -> Any:
        return next_state.reward

    def terminal(self, state: FuncState, rng: Any, params: Any = None) -> Any:
        return state.terminated

    def render_init(self, params: Any = None, **kwargs: Any) -> None:
        return None

    def render_image(self, state: FuncState, render_state: Any, params: Any = None) -> Any:
        params = self._p(params)
        batch = jnp.ndim(state.env.elapsed_steps)
        if batch not in self._renderers:

            def one(s: Any, p: Any) -> jax.Array:
                return self.module.render(s, p, self.static)

            for _ in range(batch):
                one = jax.vmap(one, in_axes=(0, None))
            self._renderers[batch] = jax.jit(one)
        return render_state, np.asarray(self._renderers[batch](state.env, params))

    def render_close(self, render_state: Any, params: Any = None) -> None:
        return None


def as_batch(space: Any, value: Any) -> Any:
    """Batched observations as NumPy arrays of the batch space's dtypes (without x64 JAX
    holds int64 as int32; hostile trial 6 Q12), in Dict and Tuple spaces too."""
    if isinstance(space, gym_spaces.Dict):
        return {k: as_batch(space[k], value[k]) for k in value}
    if isinstance(space, gym_spaces.Tuple):
        return tuple(as_batch(s, v) for s, v in zip(space.spaces, value, strict=True))
    if isinstance(space, (gym_spaces.Box, gym_spaces.MultiDiscrete, gym_spaces.MultiBinary)):
        return np.asarray(value, dtype=space.dtype)
    return jax.tree.map(np.asarray, value)


def as_single(space: Any, value: Any) -> Any:
    """An observation as NumPy, with the single env's types where the space says so: a
    Discrete value is an `int` (JAX gives a 0-d array, which Gymnasium's checker warns
    about), an array has the space's dtype; in Dict and Tuple spaces too."""
    if isinstance(space, gym_spaces.Discrete):
        return int(value)
    if isinstance(space, gym_spaces.Dict):
        return {k: as_single(space[k], value[k]) for k in value}
    if isinstance(space, gym_spaces.Tuple):
        return tuple(as_single(s, v) for s, v in zip(space.spaces, value, strict=True))
    if isinstance(space, (gym_spaces.Box, gym_spaces.MultiDiscrete, gym_spaces.MultiBinary)):
        # in the space's dtype: without x64 JAX holds int64 as int32 (float64 as float32),
        # and an observation of another dtype is not in the space (Gymnasium's checker warns)
        return np.asarray(value, dtype=space.dtype)
    return jax.tree.map(np.asarray, value)


def make_func(env_id: str, *, package: str | None = None, **overrides: Any) -> EnvgenFuncEnv:
    """The env as Gymnasium's FuncEnv (`env_id` as `envgen.jax.make` takes it)."""
    module, defaults = _module(env_id, package)
    return EnvgenFuncEnv(module, _static(module, {**defaults, **overrides}))


#: Jitted FuncEnvs by (id, package, params): every env made with the same ones shares the
#: compiled functions (each `jax.jit` of a new instance's methods compiled again: seconds per
#: `gym.make`, which the fuzzer and SyncVectorEnv pay for every instance they make).
_JITTED: collections.OrderedDict[Any, EnvgenFuncEnv] = collections.OrderedDict()
_JITTED_KEPT = 16


def _exact_key(value: Any) -> Any:
    """A hashable key equal for equal param values only (repr shortens large arrays, so two
    arrays differing in the middle had one key and shared one env's params)."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_exact_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _exact_key(v)) for k, v in value.items())))
    return (type(value).__name__, value)


def jitted_func(env_id: str, package: str | None, overrides: dict[str, Any]) -> EnvgenFuncEnv:
    """The FuncEnv of `env_id` with its functions jitted, shared by the envs made alike."""
    params = tuple(sorted((name, _exact_key(value)) for name, value in overrides.items()))
    key = (env_id, package, params, jax.config.jax_enable_x64)
    if key in _JITTED:
        _JITTED.move_to_end(key)
        return _JITTED[key]
    func_env = make_func(env_id, package=package, **overrides)
    func_env.transform(jax.jit)
    _JITTED[key] = func_env
    while len(_JITTED) > _JITTED_KEPT:
        _JITTED.popitem(last=False)
    return func_env


class JaxEnv(FunctionalJaxEnv):
    """FunctionalJaxEnv that also truncates at the spec's time limit (as the other
    backends do) and returns NumPy observations."""

    def __init__(self, func_env: EnvgenFuncEnv, render_mode: str | None = None) -> None:
        """`func_env` with its functions jitted already (`jitted_func`)."""
        super().__init__(func_env, metadata=func_env.metadata, render_mode=render_mode)
        self.max_episode_steps = func_env.static.max_episode_steps
        #: how `envgen.jax._gym.make_env` made it (pickling makes it again)
        self.made_with: tuple[str, str | None, dict[str, Any]] | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        obs, info = super().reset(seed=seed, options=options)
        return as_single(self.observation_space, obs), jax.tree.map(np.asarray, info)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, _, info = super().step(action)
        limit = self.max_episode_steps
        truncated = limit is not None and int(self.state.env.elapsed_steps) >= limit
        return (
            as_single(self.observation_space, obs),
            reward,
            terminated,
            truncated,
            jax.tree.map(np.asarray, info),
        )

    def action_masks(self) -> np.ndarray:
        """The actions valid now (True), as in `info["action_mask"]` (sb3-contrib's
        MaskablePPO asks for it): a MultiDiscrete space's dimensions one after another."""
        if "action_mask" not in self.func_env.module.RESET_INFO:
            raise AttributeError(f"{self.func_env.module.ID} has no action mask")
        mask = self.state.info["action_mask"]
        parts = mask if isinstance(mask, tuple) else (mask,)
        return np.concatenate([np.asarray(m) for m in parts]).astype(np.bool_)

    def __getstate__(self) -> dict[str, Any]:
        # the generated module and the jitted functions do not pickle: keep how the env was
        # made, its state and its key, and make it again when unpickled
        if self.made_with is None:
            raise TypeError("only envs made by gym.make or envgen.jax can be pickled")
        state = getattr(self, "state", None)
        return {
            "made_with": self.made_with,
            "render_mode": self.render_mode,
            "state": None if state is None else jax.device_get(state),
            "rng": jax.device_get(self.rng),
            "np_random": self._np_random,
        }

    def __setstate__(self, saved: dict[str, Any]) -> None:
        env_id, package, overrides = saved["made_with"]
        self.__init__(jitted_func(env_id, package, overrides), render_mode=saved["render_mode"])
        self.made_with = saved["made_with"]
        if saved["state"] is not None:
            self.state = jax.tree.map(jnp.asarray, saved["state"])
        self.rng = jnp.asarray(saved["rng"])
        self._np_random = saved["np_random"]


class JaxVectorEnv(FunctionalJaxVectorEnv):
    """FunctionalJaxVectorEnv whose autoreset keeps every shape fixed (Gymnasium's resets a
    variable number of sub-envs, which recompiles for each count): the sub-envs that ended
    at the previous step restart (NEXT_STEP mode, reward 0, flags false), and NumPy arrays
    come out."""

    def step(self, action: Any) -> Any:
        self.steps += 1
        rng, self.rng = jax.random.split(self.rng)
        rngs = jax.random.split(rng, self.num_envs)
        action = jax.tree.map(jnp.asarray, action)
        next_state = self.func_env.transition(self.state, action, rngs)
        reward = self.func_env.reward(self.state, action, next_state, rngs)
        terminated = self.func_env.terminal(next_state, rngs)
        if self.time_limit > 0:
            truncated = self.steps >= self.time_limit
        else:
            truncated = jnp.zeros_like(terminated)
        restarted = np.asarray(self.prev_done)
        if restarted.any():
            done = self.prev_done
            rng, self.rng = jax.random.split(self.rng)
            fresh = self.func_env.initial(jax.random.split(rng, self.num_envs))
            next_state = _select(done, fresh, next_state)
            self.steps = jnp.where(done, 0, self.steps)
            terminated = terminated & ~done
            truncated = truncated & ~done
            reward = jnp.where(done, 0.0, reward)
        self.prev_done = terminated | truncated
        observation = self.func_env.observation(next_state, rngs)
        self.state = next_state
        info = self.func_env.transition_info(self.state, action, next_state)
        return (
            as_batch(self.observation_space, observation),
            np.asarray(reward),
            np.asarray(terminated),
            np.asarray(truncated),
            self._vector_info(info, restarted),
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        obs, info = super().reset(seed=seed, options=options)
        self.prev_done = jnp.zeros(self.num_envs, dtype=bool)
        return as_batch(self.observation_space, obs), self._vector_info(info)

    def _vector_info(
        self, info: dict[str, Any], restarted: np.ndarray | None = None
    ) -> dict[str, Any]:
        """NumPy arrays, each key with Gymnasium's `_key` mask of the envs that have it: an
        env that restarted this step has only the entries a reset gives (as the native
        vector env's NEXT_STEP autoreset returns the reset's info)."""
        at_reset = set(self.func_env.module.RESET_INFO)
        out: dict[str, Any] = {}
        for key, value in info.items():
            out[key] = jax.tree.map(np.asarray, value)
            has = np.ones(self.num_envs, dtype=np.bool_)
            if restarted is not None and key not in at_reset:
                has &= ~restarted
            out[f"_{key}"] = has
        return out


def _select(mask: jax.Array, a: Any, b: Any) -> Any:
    def one(x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.where(mask.reshape(mask.shape + (1,) * (x.ndim - 1)), x, y)

    return jax.tree.map(one, a, b)
