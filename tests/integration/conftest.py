"""Fixtures for the integration tests: generated envs with Gymnasium's vector envs, SB3, RLlib.

Every test here is `slow` (run in CI by `.ci/rl-tests`; deselect with `-m "not slow"`).
Ray, RLlib and SB3 write only under a temporary folder: `HOME` points there for each module,
Ray's own files go to a short temporary folder (Unix socket paths must stay short), and
both are removed at the end.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What Ray and the libraries it loads would otherwise write to the user's home or /tmp.
ISOLATED_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "0",
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
}


def generated_package():
    """The `generated` package; a clear error when the installed one is not the real one."""
    module = importlib.import_module("generated")
    if not hasattr(module, "ENVS"):
        pytest.fail(
            f"`import generated` found {list(getattr(module, '__path__', []))} without ENVS "
            "(a namespace package): the editable install of envgen predates "
            "generated/__init__.py; run `pip install -e .` again"
        )
    return module


@pytest.fixture(scope="module", autouse=True)
def isolated_home() -> Iterator[Path]:
    """A temporary HOME (and Ray and SB3 settings) for each module; restored after it."""
    home = Path(tempfile.mkdtemp(prefix="envgen-it-home-"))
    saved = {key: os.environ.get(key) for key in ["HOME", "SB3_LOGDIR", *ISOLATED_ENV]}
    os.environ["HOME"] = str(home)
    os.environ["SB3_LOGDIR"] = str(home / "sb3")  # SB3 logs to $TMPDIR/SB3-<time> otherwise
    os.environ.update(ISOLATED_ENV)
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_results(isolated_home: Path) -> Iterator[Path]:
    """Where RLlib writes an Algorithm's log folder: inside the temporary HOME.

    Ray computes `~/ray_results` once, when `ray.train` is first imported (perhaps before
    HOME changed), so the module global that `Trainable` reads is pointed there as well.
    """
    pytest.importorskip("ray.tune")
    from ray.tune.trainable import trainable

    saved = trainable.DEFAULT_STORAGE_PATH
    trainable.DEFAULT_STORAGE_PATH = str(isolated_home / "ray_results")
    try:
        yield isolated_home / "ray_results"
    finally:
        trainable.DEFAULT_STORAGE_PATH = saved


@pytest.fixture(scope="module")
def ray_session(isolated_home: Path, ray_results: Path) -> Iterator[object]:
    """A small local Ray instance (4 logical CPUs: the driver plus two env runners fit on a
    2-core machine), with envgen's envs registered; shut down and cleaned up after."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.rllib")
    import envgen.rllib

    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: socket paths <= 107
    try:
        ray.init(
            num_cpus=4,
            object_store_memory=100 * 1024**2,
            include_dashboard=False,
            configure_logging=False,
            _temp_dir=temp_dir,
        )
        envgen.rllib.register_envs()
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
