"""Train it: PPO (examples/jax_ppo.py, PureJaxRL-style, all inside one jax.jit) learns the
CartPole spec through the JAX backend on CPU within a fixed budget of environment steps."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("optax")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "jax_ppo.py"


def _example():
    spec = importlib.util.spec_from_file_location("jax_ppo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ppo_learns_cartpole_through_the_jax_backend() -> None:
    ppo = _example()
    config = ppo.Config(total_timesteps=100_000)
    train = jax.jit(ppo.make_train("envgen/CartPole-v1", config))
    _, returns = jax.block_until_ready(train(jax.random.key(0)))
    returns = np.asarray(returns)
    assert returns.shape == (100_000 // (config.num_envs * config.num_steps),)
    assert returns[0] < 40  # a random policy: about 22
    # clearly learned: random play averages about 22, the time limit is 500
    assert np.nanmean(returns[-5:]) > 200, returns
