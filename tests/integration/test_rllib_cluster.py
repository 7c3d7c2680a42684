"""Scale out, really: a Ray cluster of two nodes on this machine (a head and a second node,
each its own raylet and worker processes, as `ray start` would run them), RLlib env runners
placed on the second node by a custom resource. The driver registers the envs once; the
remote workers, which share no memory with it and never imported `generated`, find them
through the cluster's registry (GCS), as they would on another machine.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray")
pytest.importorskip("ray.rllib")
pytest.importorskip("torch")

from ray.cluster_utils import Cluster  # noqa: E402
from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.utils.metrics import (  # noqa: E402
    ENV_RUNNER_RESULTS,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
)

import envgen  # noqa: E402
import envgen.rllib  # noqa: E402

#: Only the second node has it: asking for it places an actor or task there.
WORKER_RESOURCE = "envgen_worker_node"

CELL_SPEC = """
id: cluster/Corridor-v0
params:
  size: {default: 5, ge: 2}
action_space: {Discrete: 2, labels: [left, right]}
observation_space: {Box: {low: 0, high: size, shape: [1], dtype: float32}}
state:
  pos: {dtype: int64, init: size - 1}
step: |
  pos = clip(pos + (1 if action == RIGHT else -1), 0, size)
observation: [pos]
reward: 1.0 if pos == 0 else 0.0
terminated: pos == 0
max_episode_steps: 40
"""


@pytest.fixture(scope="module")
def cluster(ray_results) -> Iterator[tuple[str, str]]:
    """A head node (the driver's) and a second node; yields their node ids."""
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: socket paths <= 107
    local = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "temp_dir": temp_dir, "include_dashboard": False},
    )
    worker = local.add_node(num_cpus=2, resources={WORKER_RESOURCE: 2}, temp_dir=temp_dir)
    try:
        ray.init(address=local.address, configure_logging=False)
        local.wait_for_nodes()
        head_id = local.head_node.node_id
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        yield head_id, worker.node_id
    finally:
        ray.shutdown()
        local.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_the_driver_runs_on_the_head_node(cluster) -> None:
    head_id, worker_id = cluster
    assert head_id != worker_id
    assert ray.get_runtime_context().get_node_id() == head_id


def test_ppo_env_runners_on_the_second_node_make_envs_by_plain_id(cluster) -> None:
    """`register_envs()` in the driver; PPO's env runner on the other node makes
    `envgen/GoLeft-v0` from the cluster's registry and samples a training batch."""
    _, worker_id = cluster
    envgen.rllib.register_envs(["envgen/GoLeft-v0"])
    algo = (
        PPOConfig()
        .environment("envgen/GoLeft-v0", env_config={"size": 6})
        .env_runners(
            num_env_runners=1,
            num_cpus_per_env_runner=1,
            custom_resources_per_env_runner={WORKER_RESOURCE: 1},
            sample_timeout_s=120,
        )
        .training(train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1)
        .debugging(seed=0)
        .build_algo()
    )
    try:
        where = algo.env_runner_group.foreach_env_runner(
            lambda runner: (
                ray.get_runtime_context().get_node_id(),
                runner.env.unwrapped.envs[0].unwrapped.size,
                __import__("os").getpid(),
            ),
            local_env_runner=False,
        )
        assert [(node, size) for node, size, _ in where] == [(worker_id, 6)]
        assert where[0][2] != __import__("os").getpid()
        result = algo.train()
        assert result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME] >= 128
    finally:
        algo.stop()


def test_a_spec_from_a_notebook_cell_is_made_on_the_second_node(cluster) -> None:
    """A creator holding only the spec's text (what a notebook registers): the task on the
    second node compiles it there, in a process that never saw the driver's compile."""
    _, worker_id = cluster
    from ray.tune.registry import ENV_CREATOR, _global_registry, register_env

    register_env("cluster/Corridor-v0", lambda config: envgen.make(CELL_SPEC, **config))
    envgen.make(CELL_SPEC)  # compiled and registered in the driver too (not shared)

    @ray.remote(resources={WORKER_RESOURCE: 1}, num_cpus=0)
    def make_there() -> tuple[str, bool, list[float]]:
        import gymnasium as gym
        import ray as worker_ray

        before = "cluster/Corridor-v0" in gym.registry  # nothing came from the driver
        env = _global_registry.get(ENV_CREATOR, "cluster/Corridor-v0")({"size": 3})
        observation, _ = env.reset(seed=0)
        return worker_ray.get_runtime_context().get_node_id(), before, observation.tolist()

    node, registered_before, observation = ray.get(make_there.remote())
    assert node == worker_id
    assert registered_before is False
    assert observation == [2.0]
