"""The vector env's random streams without Numba (ENVGEN_JIT=0): PCG64 stepped as NumPy
array arithmetic over many envs, or on Python ints for a few, bit-identical to NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

from envgen.runtime import vector as vector_runtime


def _rows(seeds: list[int]) -> np.ndarray:
    states = np.zeros((len(seeds), 4), dtype=np.uint64)
    for env, seed in enumerate(seeds):
        states[env] = vector_runtime._words(
            np.random.default_rng(seed).bit_generator.state["state"]
        )
    return states


@pytest.mark.parametrize(
    "num_envs", [1, vector_runtime._FEW_ENVS - 1, vector_runtime._FEW_ENVS, 40]
)
def test_numpy_fill_steps_pcg64_as_numpy_does(num_envs):
    """Both branches (Python ints below _FEW_ENVS, array columns from it), envs in any order
    and a subset, several draws per env, two calls in a row continuing each stream."""
    seeds = [7 * env + 3 for env in range(num_envs + 2)]
    states = _rows(seeds)
    envs = np.arange(num_envs + 2)[::-1][:num_envs].copy()  # reversed, two envs left out
    first, second = np.empty((num_envs, 5)), np.empty((num_envs, 1))
    vector_runtime._pcg_fill_doubles_numpy(states, envs, first)
    vector_runtime._pcg_fill_doubles_numpy(states, envs, second)
    for j, env in enumerate(envs.tolist()):
        want = np.random.default_rng(seeds[env]).random(6)
        assert np.array_equal(np.concatenate([first[j], second[j]]), want), env
    untouched = _rows(seeds)
    for env in set(range(num_envs + 2)) - set(envs.tolist()):
        assert np.array_equal(states[env], untouched[env]), env


def test_streams_without_numba_keep_every_stream(monkeypatch):
    """Streams drawing through the NumPy fill (as under ENVGEN_JIT=0), interleaved with a
    draw through a lent Generator: every env's stream is its default_rng's."""
    monkeypatch.setattr(vector_runtime, "_pcg_fill_doubles", vector_runtime._pcg_fill_doubles_numpy)
    num_envs = vector_runtime._FEW_ENVS + 4
    streams = vector_runtime.Streams(num_envs, buffered=True)
    assert streams.buffered
    for env in range(num_envs):
        streams.seed(env, 50 + env)
    expected = [np.random.default_rng(50 + env) for env in range(num_envs)]
    ids = np.arange(num_envs)
    few = np.array([2, 9])
    for round_ in range(2):
        many = streams.uniform(ids, -2.0, 3.0, 3)
        normals = [streams.generator(env).normal() for env in few.tolist()]
        some = streams.draw(few, "random", {}, size=(2, 2))
        for env in range(num_envs):
            assert np.array_equal(many[env], expected[env].uniform(-2.0, 3.0, 3)), (round_, env)
        for j, env in enumerate(few.tolist()):
            assert normals[j] == expected[env].normal(), (round_, env)
            assert np.array_equal(some[j], expected[env].random((2, 2))), (round_, env)
