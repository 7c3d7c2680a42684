"""PPO on an envgen spec through the JAX backend, the whole training run in one `jax.jit`.

    python examples/jax_ppo.py                       # CartPole, about a minute on CPU
    python examples/jax_ppo.py envgen/GoLeft-v0 --timesteps 100000

A PureJaxRL-style loop (Lu et al., 2022): `envgen.jax.make` gives a gymnax-style env, it is
vmapped over `num_envs` copies, rollouts are a `lax.scan` of `env.step` (which auto-resets),
and the PPO update (GAE, clipped objective, minibatch epochs; Adam from optax) is another
scan, all inside one jitted function. Discrete actions and flat Box observations only.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

import envgen.jax


class Config(NamedTuple):
    num_envs: int = 16
    num_steps: int = 128
    total_timesteps: int = 150_000
    update_epochs: int = 4
    num_minibatches: int = 4
    lr: float = 2.5e-3
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: int = 64


def _dense(key: jax.Array, n_in: int, n_out: int, scale: float) -> dict[str, jax.Array]:
    w = jax.nn.initializers.orthogonal(scale)(key, (n_in, n_out))
    return {"w": w, "b": jnp.zeros(n_out)}


def init_network(key: jax.Array, n_obs: int, n_actions: int, hidden: int) -> dict[str, Any]:
    keys = jax.random.split(key, 6)
    root2 = jnp.sqrt(2.0)
    return {
        "actor": [
            _dense(keys[0], n_obs, hidden, root2),
            _dense(keys[1], hidden, hidden, root2),
            _dense(keys[2], hidden, n_actions, 0.01),
        ],
        "critic": [
            _dense(keys[3], n_obs, hidden, root2),
            _dense(keys[4], hidden, hidden, root2),
            _dense(keys[5], hidden, 1, 1.0),
        ],
    }


def _mlp(layers: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    for layer in layers[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ layers[-1]["w"] + layers[-1]["b"]


def policy(network: dict[str, Any], obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(action logits, value) for a batch of observations."""
    obs = obs.reshape(obs.shape[0], -1).astype(jnp.float32)
    return _mlp(network["actor"], obs), _mlp(network["critic"], obs)[:, 0]


class Transition(NamedTuple):
    done: jax.Array
    action: jax.Array
    value: jax.Array
    reward: jax.Array
    log_prob: jax.Array
    obs: jax.Array


def make_train(env_id: str, config: Config | None = None, **overrides: Any):
    """A function `train(key) -> (network, mean episode return per update)`, to jit."""
    config = config or Config()
    env, params = envgen.jax.make(env_id, **overrides)
    n_actions = env.num_actions
    obs_shape = env.observation_space(params).shape
    n_obs = int(jnp.prod(jnp.array(obs_shape))) if obs_shape else 1
    num_updates = config.total_timesteps // (config.num_steps * config.num_envs)
    batch = config.num_steps * config.num_envs
    minibatch = batch // config.num_minibatches
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    schedule = optax.linear_schedule(
        config.lr, 0.0, num_updates * config.update_epochs * config.num_minibatches
    )
    optimizer = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm), optax.adam(schedule, eps=1e-5)
    )

    def loss_fn(network, batch_data, advantages, targets):
        logits, value = policy(network, batch_data.obs)
        log_probs = jax.nn.log_softmax(logits)
        log_prob = jnp.take_along_axis(log_probs, batch_data.action[:, None], axis=1)[:, 0]
        value_clipped = batch_data.value + jnp.clip(
            value - batch_data.value, -config.clip_eps, config.clip_eps
        )
        value_loss = (
            0.5
            * jnp.maximum(jnp.square(value - targets), jnp.square(value_clipped - targets)).mean()
        )
        ratio = jnp.exp(log_prob - batch_data.log_prob)
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        actor_loss = -jnp.minimum(
            ratio * advantages,
            jnp.clip(ratio, 1 - config.clip_eps, 1 + config.clip_eps) * advantages,
        ).mean()
        entropy = -(jnp.exp(log_probs) * log_probs).sum(-1).mean()
        return actor_loss + config.vf_coef * value_loss - config.ent_coef * entropy

    def train(key: jax.Array):
        key, k_net, k_reset = jax.random.split(key, 3)
        network = init_network(k_net, n_obs, n_actions, config.hidden)
        opt_state = optimizer.init(network)
        obs, env_state = reset(jax.random.split(k_reset, config.num_envs), params)
        episode_return = jnp.zeros(config.num_envs)

        def rollout_step(carry, _):
            network, env_state, obs, key, episode_return = carry
            key, k_action, k_step = jax.random.split(key, 3)
            logits, value = policy(network, obs)
            action = jax.random.categorical(k_action, logits)
            log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], 1)[:, 0]
            next_obs, env_state, reward, terminated, truncated, _ = step(
                jax.random.split(k_step, config.num_envs), env_state, action, params
            )
            done = terminated | truncated
            episode_return = episode_return + reward
            finished = (jnp.where(done, episode_return, 0.0).sum(), done.sum())
            episode_return = jnp.where(done, 0.0, episode_return)
            transition = Transition(terminated, action, value, reward, log_prob, obs)
            return (network, env_state, next_obs, key, episode_return), (transition, finished)

        def update(carry, _):
            network, opt_state, env_state, obs, key, episode_return = carry
            (network, env_state, obs, key, episode_return), (traj, finished) = jax.lax.scan(
                rollout_step,
                (network, env_state, obs, key, episode_return),
                None,
                config.num_steps,
            )
            _, last_value = policy(network, obs)

            def gae(carry, t):
                advantage, next_value = carry
                delta = t.reward + config.gamma * next_value * (1 - t.done) - t.value
                advantage = delta + config.gamma * config.gae_lambda * (1 - t.done) * advantage
                return (advantage, t.value), advantage

            _, advantages = jax.lax.scan(
                gae, (jnp.zeros_like(last_value), last_value), traj, reverse=True
            )
            targets = advantages + traj.value

            def epoch(carry, _):
                network, opt_state, key = carry
                key, k_perm = jax.random.split(key)
                perm = jax.random.permutation(k_perm, batch)
                flat = jax.tree.map(
                    lambda x: x.reshape((batch,) + x.shape[2:])[perm], (traj, advantages, targets)
                )
                shaped = jax.tree.map(
                    lambda x: x.reshape((config.num_minibatches, minibatch) + x.shape[1:]), flat
                )

                def minibatch_step(carry, data):
                    network, opt_state = carry
                    grads = jax.grad(loss_fn)(network, *data)
                    updates, opt_state = optimizer.update(grads, opt_state)
                    return (optax.apply_updates(network, updates), opt_state), None

                (network, opt_state), _ = jax.lax.scan(minibatch_step, (network, opt_state), shaped)
                return (network, opt_state, key), None

            (network, opt_state, key), _ = jax.lax.scan(
                epoch, (network, opt_state, key), None, config.update_epochs
            )
            total, count = finished[0].sum(), finished[1].sum()
            mean_return = jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)
            return (network, opt_state, env_state, obs, key, episode_return), mean_return

        carry = (network, opt_state, env_state, obs, key, episode_return)
        (network, *_), returns = jax.lax.scan(update, carry, None, num_updates)
        return network, returns

    return train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id", nargs="?", default="envgen/CartPole-v1")
    parser.add_argument("--timesteps", type=int, default=Config().total_timesteps)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train = jax.jit(make_train(args.env_id, Config(total_timesteps=args.timesteps)))
    start = time.perf_counter()
    _, returns = jax.block_until_ready(train(jax.random.key(args.seed)))
    seconds = time.perf_counter() - start
    returns = [float(r) for r in returns]
    for i in range(0, len(returns), max(1, len(returns) // 10)):
        print(f"update {i:4d}: mean episode return {returns[i]:.1f}")
    print(f"final: {returns[-1]:.1f} ({args.timesteps} steps in {seconds:.1f}s, compile included)")


if __name__ == "__main__":
    main()
