"""The JAX backend: generated pure functions agree with the reference env, under both faces.

Agreement runs in JAX's x64 mode (the specs' float64 state stays float64), eagerly, with
the reference env's draws replayed into the JAX draws (envgen.testing._jax). Distribution
tests compare the real `jax.random` draws with NumPy's by a two-sample KS test.
"""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")  # the JAX extra; every other test runs without it
import jax.numpy as jnp  # noqa: E402

import envgen.jax  # noqa: E402
import generated  # noqa: E402
from envgen.jax._runtime import Replay  # noqa: E402
from envgen.testing._jax import jax_module, ks_critical, ks_statistic, replay_problem  # noqa: E402

DETERMINISTIC = [
    ("envgen/CartPole-v1", {}),
    ("envgen/MountainCar-v0", {}),
    ("envgen/GoLeft-v0", {}),
    ("envgen/FrozenLake-v1", {"is_slippery": False}),
]


def _module(env_id: str):
    found = jax_module(env_id)
    assert not isinstance(found, str), (env_id, found)
    return found[0]


def test_import_generated_does_not_import_jax() -> None:
    code = (
        "import sys; sys.modules['jax'] = None\n"  # importing JAX would raise ImportError
        "import gymnasium as gym, generated\n"
        "env = gym.make('envgen/CartPole-v1'); env.reset(seed=0); env.step(0)\n"
        "assert 'envgen/CartPole-jax-v1' in gym.registry\n"
        "assert 'envgen/TypeTheWord-v0' in generated.JAX_FALLBACKS\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_spec_has_a_jax_module_or_a_reason() -> None:
    specs = set(generated.ENVS) - set(generated.VARIANTS)  # a variant shares its spec's module
    assert set(generated.JAX_MODULES) | set(generated.JAX_FALLBACKS) == specs
    assert not set(generated.JAX_MODULES) & set(generated.JAX_FALLBACKS)
    for env_id, why in generated.JAX_FALLBACKS.items():
        assert isinstance(why, str) and len(why) > 10, (env_id, why)  # a reason, in words
    with pytest.raises(ValueError, match="Text observation spaces"):
        envgen.jax.make("envgen/TypeTheWord-v0")


@pytest.mark.parametrize("env_id", sorted(generated.JAX_MODULES))
def test_replayed_draws_give_the_reference_trajectory(env_id: str) -> None:
    module, kwargs = jax_module(env_id)
    steps = 15 if env_id == "envgen/SimpleVisual-v0" else 40
    tolerance = {}
    if env_id == "envgen/MountainCarContinuous-v0":
        # The single env holds its float64 state as float32 after a step and computes the
        # next step in float32 (NEP 50); JAX state keeps its declared float64 (docs/jax.md).
        tolerance = {"rtol": 1e-5, "atol": 1e-7}
    assert replay_problem(module, kwargs, seed=3, steps=steps, **tolerance) is None


@pytest.mark.parametrize(("env_id", "overrides"), DETERMINISTIC)
def test_jitted_gymnax_step_follows_the_reference(env_id: str, overrides: dict) -> None:
    """Deterministic specs from the reference's start state: same trajectory through the
    gymnax face (jitted, real keys), auto-reset aside."""
    module = _module(env_id)
    with jax.enable_x64(True):
        env, params = envgen.jax.make(env_id, **overrides)
        ref = gym.make(env_id, **overrides).unwrapped
        ref.reset(seed=7)
        ref.action_space.seed(7)
        state = module.State(
            **{
                n: jnp.asarray(getattr(ref, n))
                for n in module.State.__dataclass_fields__
                if n != "elapsed_steps"
            },
            elapsed_steps=jnp.asarray(0),
        )
        step = jax.jit(env.step)
        key = jax.random.key(0)
        for t in range(150):
            action = ref.action_space.sample()
            obs, reward, terminated, truncated, _ = ref.step(action)
            key, sub = jax.random.split(key)
            j_obs, state, j_reward, j_term, j_trunc, info = step(sub, state, action, params)
            if terminated or truncated:
                np.testing.assert_allclose(info["final_observation"], obs, rtol=1e-6)
                assert bool(j_term) == terminated and bool(j_trunc) == truncated
                break
            np.testing.assert_allclose(j_obs, obs, rtol=1e-6, atol=1e-9, err_msg=f"step {t}")
            assert float(j_reward) == pytest.approx(reward, rel=1e-9), t
            assert not bool(j_term) and not bool(j_trunc)


def test_replay_catches_a_planted_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    module, kwargs = jax_module("envgen/CartPole-v1")
    real = module.step

    def off_by_a_little(key, state, action, params, static):
        next_state, reward, terminated, info = real(key, state, action, params, static)
        return next_state.replace(x=next_state.x + 1e-6), reward, terminated, info

    monkeypatch.setattr(module, "step", off_by_a_little)
    problem = replay_problem(module, kwargs, seed=0, steps=10)
    assert problem is not None and "step 1" in problem and "observation" in problem


def test_a_replay_runs_out_when_the_draws_differ() -> None:
    module, _ = jax_module("envgen/CartPole-v1")
    static = module.SingleEnv()
    with pytest.raises(IndexError, match="only 3 recorded draws"):
        module.reset(Replay([0.0, 0.0, 0.0]), module.default_params(static), static)


def _jax_initial_obs(env_id: str, n: int, **overrides) -> np.ndarray:
    env, params = envgen.jax.make(env_id, **overrides)
    keys = jax.random.split(jax.random.key(123), n)
    obs, _ = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    return np.asarray(obs)


@pytest.mark.parametrize("env_id", ["envgen/CartPole-v1", "envgen/MountainCar-v0"])
def test_initial_states_have_the_reference_distribution(env_id: str) -> None:
    n = 400
    ref = gym.make(env_id)
    numpy_obs = np.array([ref.reset(seed=s)[0] for s in range(n)])
    jax_obs = _jax_initial_obs(env_id, n)
    for column in range(numpy_obs.shape[1]):
        if np.ptp(numpy_obs[:, column]) == 0:
            assert np.all(jax_obs[:, column] == numpy_obs[0, column])
            continue
        d = ks_statistic(numpy_obs[:, column], jax_obs[:, column])
        assert d < ks_critical(n, n), (column, d)
    # the test has power: a shifted distribution is rejected
    shift = 0.25 * np.ptp(numpy_obs[:, 0])
    assert ks_statistic(numpy_obs[:, 0], jax_obs[:, 0] + shift) > ks_critical(n, n)


def _jax_returns(env_id: str, n: int, steps: int, policy, **overrides) -> np.ndarray:
    env, params = envgen.jax.make(env_id, **overrides)

    def episode(key):
        key, sub = jax.random.split(key)
        obs, state = env.reset(sub, params)

        def body(carry, t):
            key, state, total, alive = carry
            key, sub = jax.random.split(key)
            _, state, reward, terminated, truncated, _ = env.step(sub, state, policy(t), params)
            total = total + jnp.where(alive, reward, 0.0)
            alive = alive & ~(terminated | truncated)
            return (key, state, total, alive), None

        init = (key, state, jnp.zeros(()), jnp.ones((), bool))
        (_, _, total, _), _ = jax.lax.scan(body, init, jnp.arange(steps))
        return total

    return np.asarray(jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(5), n)))


def _numpy_returns(env_id: str, n: int, steps: int, policy, **overrides) -> np.ndarray:
    env = gym.make(env_id, **overrides)
    totals = []
    for seed in range(n):
        env.reset(seed=seed)
        total = 0.0
        for t in range(steps):
            _, reward, terminated, truncated, _ = env.step(int(policy(t)))
            total += reward
            if terminated or truncated:
                break
        totals.append(total)
    return np.array(totals)


@pytest.mark.parametrize(
    ("env_id", "steps", "policy"),
    [
        ("envgen/FrozenLake-v1", 100, lambda t: 1 + t % 2),  # down, right, down, ...
        ("envgen/SimpleTrading-v0", 40, lambda t: t % 3),
        ("envgen/DiceGuess-v0", 20, lambda t: 1 + t % 6),
    ],
)
def test_returns_under_a_fixed_policy_have_the_reference_distribution(
    env_id: str, steps: int, policy
) -> None:
    n = 300
    numpy_returns = _numpy_returns(env_id, n, steps, policy)
    jax_returns = _jax_returns(env_id, n, steps, policy)
    assert np.std(numpy_returns) > 0, "the policy's returns must vary for the test to mean much"
    d = ks_statistic(numpy_returns, jax_returns)
    assert d < ks_critical(n, n), d


def test_params_are_data_vmapped() -> None:
    env, params = envgen.jax.make("envgen/CartPole-v1")
    both = jax.tree.map(
        lambda *x: jnp.stack([jnp.asarray(v) for v in x]),
        params,
        params.replace(sutton_barto_reward=True),
    )
    key = jax.random.key(0)

    def first_reward(p):
        _, state = env.reset(key, p)
        return env.step(key, state, 0, p)[2]

    rewards = jax.vmap(first_reward)(both)
    assert rewards.tolist() == [1.0, 0.0]


def test_static_params_are_fixed_at_make() -> None:
    module = _module("envgen/FrozenLake-v1")
    assert "map_name" in module.STATIC_PARAMS and "success_rate" in module.DATA_PARAMS
    env, params = envgen.jax.make("envgen/FrozenLake-v1", map_name="8x8")
    assert env.observation_space(params).n == 64
    obs, _ = env.reset(jax.random.key(0), params)
    assert int(obs) == 0  # the 8x8 map's start


def test_spaces_sample_and_contain() -> None:
    env, params = envgen.jax.make("envgen/CartPole-v1")
    assert env.num_actions == 2
    action = env.action_space(params).sample(jax.random.key(1))
    assert bool(env.action_space(params).contains(action))
    obs, _ = env.reset(jax.random.key(1), params)
    assert bool(env.observation_space(params).contains(obs))


def test_gymnax_rollout_of_4096_envs_in_scan() -> None:
    env, params = envgen.jax.make("envgen/CartPole-v1")
    n, steps = 4096, 20

    @jax.jit
    def rollout(key):
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, n), params)

        def body(carry, _):
            key, state = carry
            key, k_act, k_step = jax.random.split(key, 3)
            actions = jax.random.randint(k_act, (n,), 0, 2)
            out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_step, n), state, actions, params
            )
            return (key, out[1]), (out[2], out[3] | out[4])

        _, (rewards, dones) = jax.lax.scan(body, (key, state), None, steps)
        return rewards, dones

    rewards, dones = rollout(jax.random.key(0))
    assert rewards.shape == (steps, n)
    assert 0 < float(dones.mean()) < 0.2  # random play ends episodes (auto-reset follows)


def test_render_matches_the_reference_frame() -> None:
    env, params = envgen.jax.make("envgen/CartPole-v1")
    ref = gym.make("envgen/CartPole-v1", render_mode="rgb_array")
    ref.reset(seed=2)
    for _ in range(5):
        ref.step(1)
    u = ref.unwrapped
    module = _module("envgen/CartPole-v1")
    with jax.enable_x64(True):
        state = module.State(
            **{
                n: jnp.asarray(getattr(u, n))
                for n in module.State.__dataclass_fields__
                if n != "elapsed_steps"
            },
            elapsed_steps=jnp.asarray(5),
        )
        frame = np.asarray(env.render(state, params))
    want = ref.render()
    assert frame.shape == want.shape and frame.dtype == np.uint8
    assert np.mean(np.any(frame != want, axis=-1)) < 1e-3  # a few edge pixels at most
    batch = jax.tree.map(lambda x: jnp.stack([x, x, x]), state)
    assert env.render(batch, params).shape == (3, 400, 600, 3)


def test_gymnasium_functional_faces() -> None:
    env = gym.make("envgen/CartPole-jax-v1", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(1)
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    assert terminated and 5 < steps < 60 and total == steps
    assert env.render().shape == (400, 600, 3)
    envs = gym.make_vec(
        "envgen/CartPole-jax-v1", num_envs=8, vectorization_mode="vector_entry_point"
    )
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (8, 4)
    ended = np.zeros(8, dtype=bool)
    for _ in range(30):
        was_done = ended.copy()
        obs, reward, terminated, truncated, _ = envs.step(np.ones(8, dtype=np.int64))
        # NEXT_STEP autoreset: a sub-env that ended restarts with reward 0 and flags false
        assert np.all(reward[was_done] == 0.0) and not np.any(terminated[was_done])
        assert np.all(np.abs(obs[was_done]) <= 0.05)
        ended = terminated | truncated
    assert obs.shape == (8, 4) and reward.shape == (8,)


def test_gymnasium_functional_faces_return_the_specs_info() -> None:
    """FuncEnv's `transition_info` is the spec's `info` (SimpleTrading: portfolio value,
    position, price), in the single env and the vector env; the single env has the same keys."""
    reference = gym.make("envgen/SimpleTrading-v0")
    reference.reset(seed=0)
    _, _, _, _, want = reference.step(1)
    env = gym.make("envgen/SimpleTrading-jax-v0")
    env.reset(seed=0)
    _, _, _, _, info = env.step(1)
    assert set(info) == set(want) == {"portfolio_value", "position", "price"}
    state = env.unwrapped.state.env
    assert float(info["price"]) == pytest.approx(float(state.price))
    assert float(info["portfolio_value"]) == pytest.approx(
        float(state.cash + state.position * state.price), rel=1e-5
    )
    envs = gym.make_vec(
        "envgen/SimpleTrading-jax-v0", num_envs=4, vectorization_mode="vector_entry_point"
    )
    envs.reset(seed=0)
    for _ in range(3):
        _, _, _, _, info = envs.step(np.array([1, 0, 2, 1]))
    # Gymnasium's vector info: each key with its `_key` mask, as the native vector env gives
    assert set(info) == set(want) | {f"_{k}" for k in want} and info["price"].shape == (4,)
    assert info["_price"].all()
    assert np.allclose(info["price"], np.asarray(envs.state.env.price))


def test_gymnax_face_without_gymnax_installed() -> None:
    code = (
        "import sys; sys.modules['gymnax'] = None\n"  # as in a venv without gymnax
        "import jax, envgen.jax\n"
        "env, params = envgen.jax.make('envgen/GoLeft-v0', size=4)\n"
        "obs, state = env.reset(jax.random.key(0), params)\n"
        "assert obs.tolist() == [3.0], obs\n"
        "for t in range(3):\n"
        "    obs, state, reward, terminated, truncated, info = env.step(\n"
        "        jax.random.key(t), state, 0, params)\n"
        "assert bool(terminated) and float(reward) == 1.0\n"
        "assert obs.tolist() == [3.0] and info['final_observation'].tolist() == [0.0]\n"
        "assert not any(c.__module__.startswith('gymnax') for c in type(env).__mro__)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


ARRAY_SPEC = """\
id: test/ArrayFns-v0
params:
  n: {default: 3, ge: 1}
  gain: {default: 0.5}
action_space: {Discrete: 2}
observation_space: {Box: {low: -100, high: 100, shape: [2 * n], dtype: float32}}
state:
  grid: {shape: [2, n], init: 0.0}
  t: {init: 0.0}
step: |
  row = ones((n,)) * action * gain + uniform(0.0, 1.0)
  grid = stack([row, roll(grid[0], 1)], axis=0)
  if action == 1:
      grid[1, 0] = sum(grid, axis=0)[0]
  flat = reshape(grid, (2 * n,))
  t = t + sum(flat) + sum(eye(n), axis=1)[0] + mean(array([t, gain]))
observation: concatenate([grid[0], grid[1]])
reward: float(sum(flat))
terminated: t > 50
max_episode_steps: 30
"""


def test_array_functions_and_static_params(tmp_path, monkeypatch) -> None:
    """stack/roll/reshape/eye/concatenate/array and axis= reductions, a masked element
    assignment, and `n` (a shape) as a static param while `gain` stays data."""
    (tmp_path / "arr.yaml").write_text(ARRAY_SPEC)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "envgen",
            "build",
            str(tmp_path / "arr.yaml"),
            "-o",
            str(tmp_path / "arrpkg"),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import arrpkg

    module = __import__(arrpkg.JAX_MODULES["test/ArrayFns-v0"], fromlist=["x"])
    assert module.STATIC_PARAMS == ("n",) and module.DATA_PARAMS == ("gain",)
    for n in (3, 5):
        assert replay_problem(module, {"n": n}, seed=n, steps=25) is None
