"""The gymnax face with gymnax itself installed (.ci/jax-tests runs this in a venv with the
`jax` extra; the main venv's dev extra has no gymnax, and these tests skip there)."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")
gymnax = pytest.importorskip("gymnax")

import jax.numpy as jnp  # noqa: E402
from gymnax.environments import environment, spaces  # noqa: E402
from gymnax.wrappers.purerl import FlattenObservationWrapper, LogWrapper  # noqa: E402

import envgen.jax  # noqa: E402


def test_envs_and_spaces_are_gymnax_instances() -> None:
    env, params = envgen.jax.make("envgen/CartPole-v1")
    assert isinstance(env, environment.Environment)
    assert isinstance(env.action_space(params), spaces.Discrete)
    assert isinstance(env.observation_space(params), spaces.Box)
    dict_env, dict_params = envgen.jax.make("envgen/DictNavigation-v0")
    assert isinstance(dict_env.observation_space(dict_params), spaces.Dict)


def test_gymnax_wrappers_run_unchanged() -> None:
    """PureJaxRL's LogWrapper and FlattenObservationWrapper (as shipped with gymnax) over an
    envgen env, vmapped and jitted, the way PureJaxRL trainers use them."""
    env, params = envgen.jax.make("envgen/CartPole-v1")
    env = LogWrapper(FlattenObservationWrapper(env))
    n = 64
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(jax.random.key(0), n), params
    )
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))

    def body(carry, key):
        state = carry
        k_action, k_step = jax.random.split(key)
        action = jax.random.randint(k_action, (n,), 0, 2)
        obs, state, reward, terminated, truncated, info = step(
            jax.random.split(k_step, n), state, action, params
        )
        return state, info["returned_episode_returns"]

    _, returns = jax.lax.scan(body, state, jax.random.split(jax.random.key(1), 100))
    assert returns.shape == (100, n)
    assert 10 < float(jnp.max(returns)) <= 500  # episodes of random play were logged


def test_same_dynamics_as_gymnax_cartpole() -> None:
    """From the same state and actions, envgen's CartPole and gymnax's hand-written one
    agree (float32; gymnax rewards the step that fails with 1, like Gymnasium)."""
    ours, params = envgen.jax.make("envgen/CartPole-v1")
    theirs = gymnax.make("CartPole-v1")
    their_env, their_params = theirs
    _, state = ours.reset(jax.random.key(3), params)
    their_state = their_env.reset(jax.random.key(3), their_params)[1].replace(
        x=state.x, x_dot=state.x_dot, theta=state.theta, theta_dot=state.theta_dot
    )
    for t in range(8):
        action = t % 2
        obs, state, reward, *_ = ours.step_env(jax.random.key(t), state, action, params)
        their_obs, their_state, their_reward, *_ = their_env.step_env(
            jax.random.key(t), their_state, action, their_params
        )
        assert jnp.allclose(obs, their_obs, rtol=1e-5, atol=1e-6), t
        assert float(reward) == float(their_reward) == 1.0
