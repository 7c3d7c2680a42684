"""`-p NAME=VALUE` / `--params FILE` on play, show, bench and fuzz, and targets in every form
`gym.make` takes (`module:ns/Name-v0` from the current folder, versionless ids).

Every command runs for real in a subprocess. The `module:` tests run the installed `envgen`
script (not `python -m`, which would put the current folder on `sys.path` by itself).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import run_envgen

ROOT = Path(__file__).resolve().parent.parent
CORRIDOR = """\
id: mine/Corridor-v0
params:
  size: {default: 5, ge: 2, doc: number of cells}
action_space: {Discrete: 2, labels: [left, right]}
observation_space: {Box: {low: 0, high: size, shape: [1], dtype: float32}}
state:
  pos: {dtype: int64, init: size - 1}
step: |
  pos = clip(pos + (1 if action == RIGHT else -1), 0, size)
observation: [pos]
reward: 1.0 if pos == 0 else 0.0
terminated: pos == 0
max_episode_steps: 50
render:
  ansi: "{{ '.' * pos }}x{{ '.' * (size - pos) }}"
"""


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # only the repository (for envgen itself), never the working folder
    env["PYTHONPATH"] = str(ROOT)
    return env


def envgen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run_envgen(*args, cwd=cwd, env=_environment(), no_traceback=True)


def envgen_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The console script, as a user types `envgen ...` (the current folder is not on the
    path unless envgen puts it there)."""
    return run_envgen(*args, cwd=cwd, env=_environment(), script=True, no_traceback=True)


# --- -p NAME=VALUE and --params FILE ------------------------------------------------------


def test_play_takes_a_list_param_read_as_yaml(tmp_path: Path) -> None:
    result = envgen(
        "play",
        "envgen/FrozenLake-v1",
        "-p",
        "desc=[SFF, FHF, FFG]",
        "-p",
        "is_slippery=false",
        "--policy",
        "random",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # the custom 3x3 map is what is played (the default map is 4x4 and starts "SFFF")
    assert "FHF" in result.stdout and "SFFF" not in result.stdout
    assert "FFFH" not in result.stdout


def test_show_reports_the_env_made_with_the_params(tmp_path: Path) -> None:
    (tmp_path / "lake.yaml").write_text("desc: [SF, HG]\nis_slippery: false\n")
    result = envgen("show", "envgen/FrozenLake-v1", "--params", "lake.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["observation_space"] == {"type": "Discrete", "n": 4, "start": 0}
    values = {p["name"]: p["value"] for p in info["params"]}
    assert values["desc"] == ["SF", "HG"] and values["is_slippery"] is False
    # a -p wins over the file
    result = envgen(
        "show",
        "envgen/FrozenLake-v1",
        "--params",
        "lake.yaml",
        "-p",
        "desc=[SFF, FFG]",
        "--json",
        cwd=tmp_path,
    )
    assert json.loads(result.stdout)["observation_space"]["n"] == 6
    table = envgen("show", "envgen/GoLeft-v0", "-p", "size=3", cwd=tmp_path)
    assert table.returncode == 0 and "value" in table.stdout


def test_bench_makes_every_backend_with_the_params(tmp_path: Path) -> None:
    result = envgen(
        "bench", "envgen/GoLeft-v0", "-p", "size=3", "-s", "0.05", "-n", "2", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["params"] == {"size": 3}
    assert {r["backend"].split(" ")[0] for r in data["results"]} >= {"single", "SyncVectorEnv"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "size=1"], ["param 'size' must be >= 2", "-p size=1"]),
        (["-p", "sizes=4"], ["unknown param 'sizes'", "did you mean 'size'"]),
        (["-p", "size=big"], ["param 'size' must be an int", "'big'"]),
    ],
)
def test_a_bad_value_names_the_param_and_its_constraint(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    for command in ("play", "show", "bench"):
        result = envgen(command, "envgen/GoLeft-v0", *args, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        text = " ".join(result.stderr.split())
        for piece in expected:
            assert piece.lower() in text.lower(), (command, text)
        assert "size (int, >= 2, default 10)" in text  # the hint lists the valid params


def test_a_bad_value_in_a_params_file_is_located(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("# corridor\nsize: 0\n")
    result = envgen("play", "envgen/GoLeft-v0", "--params", "p.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "param 'size' must be >= 2" in result.stderr
    assert "p.yaml:2:7" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "size"], "expected NAME=VALUE"),
        (["-p", "=3"], "expected NAME=VALUE"),
        (["-p", "size=[1, 2"], "not valid YAML"),
        # the same limits as a spec file (a hostile trial got a RecursionError traceback)
        (["-p", "size=" + "[" * 5000], "nests too deeply"),
        (["-p", "size=" + "[" * 100 + "]" * 100], "nests deeper than 64 levels"),
        # and the same value checks: these were silently read as None and {"a": 1}
        (["-p", "size=99999999999999999999999"], "outside the 64-bit range"),
        (["-p", "size={a: 1, a: 2}"], "duplicate key 'a'"),
        (["--params", "missing.yaml"], "no such file"),
        (["--params", "list.yaml"], "expected a mapping"),
    ],
)
def test_malformed_params_are_usage_errors(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    result = envgen("show", "envgen/GoLeft-v0", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_fuzz_takes_params(tmp_path: Path) -> None:
    spec = tmp_path / "corridor.yaml"
    spec.write_text(CORRIDOR)
    # the vector property compares gym.make_vec(..., size=3) with single envs of size 3
    result = envgen(
        "fuzz", "corridor.yaml", "-p", "size=3", "--examples", "2", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    report = json.loads(result.stdout)
    statuses = {r["property"]: r["status"] for r in report["results"]}
    assert statuses["vector"] == "pass"
    result = envgen("fuzz", "corridor.yaml", "-p", "size=1", cwd=tmp_path)
    assert result.returncode == 2
    assert "param 'size' must be >= 2" in result.stderr and "-p size=1" in result.stderr


def test_fuzz_reproductions_carry_the_params(tmp_path: Path) -> None:
    (tmp_path / "lake.yaml").write_text("desc: [SF, HG]\n")
    result = envgen(
        "fuzz",
        "generated:envgen/FrozenLake-v1",
        "--params",
        "lake.yaml",
        "--property",
        "vector",
        "--examples",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


# --- targets in every form gym.make takes ------------------------------------------------


@pytest.fixture(scope="module")
def own_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a package `mygen` built from a spec, as a user would have it."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "corridor.yaml").write_text(CORRIDOR)
    result = envgen("build", "corridor.yaml", "-o", "mygen", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_module_id_targets_import_from_the_current_folder(own_package: Path) -> None:
    show = envgen_script("show", "mygen:mine/Corridor-v0", "--json", cwd=own_package)
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["id"] == "mine/Corridor-v0"
    play = envgen_script("play", "mygen:mine/Corridor-v0", "-p", "size=3", cwd=own_package)
    assert play.returncode == 0, play.stderr
    assert "..x." in play.stdout  # the first frame of a 3-cell corridor: pos 2
    bench = envgen_script("bench", "mygen:mine/Corridor-v0", "-s", "0.05", cwd=own_package)
    assert bench.returncode == 0, bench.stderr
    fuzz = envgen_script(
        "fuzz", "mygen:mine/Corridor-v0", "--examples", "2", "--property", "step", cwd=own_package
    )
    assert fuzz.returncode == 0, fuzz.stdout[-2000:] + fuzz.stderr


def test_every_id_form_gym_make_takes(tmp_path: Path) -> None:
    for target, expected in (
        ("generated:envgen/GoLeft-v0", "envgen/GoLeft-v0"),
        ("envgen/GoLeft-v0", "envgen/GoLeft-v0"),
        ("envgen/GoLeft", "envgen/GoLeft-v0"),  # versionless: the latest version
        ("CartPole-v1", "CartPole-v1"),
        ("gymnasium.envs.classic_control:CartPole-v1", "CartPole-v1"),
    ):
        result = envgen_script("show", target, "--json", cwd=tmp_path)
        assert result.returncode == 0, (target, result.stderr)
        assert json.loads(result.stdout)["id"] == expected, target


def test_bad_module_id_targets_are_one_line_errors(own_package: Path) -> None:
    result = envgen_script("show", "nosuchmodule:mine/Corridor-v0", cwd=own_package)
    assert result.returncode == 2
    assert "cannot import module 'nosuchmodule'" in result.stderr
    result = envgen_script("show", "mygen:mine/Corridoor-v0", cwd=own_package)
    assert result.returncode == 2
    assert "unknown env id 'mine/Corridoor-v0'" in result.stderr
    assert "did you mean 'mine/Corridor-v0'" in result.stderr
    (own_package / "broken.py").write_text("raise RuntimeError('boom')\n")
    result = envgen_script("show", "broken:mine/Corridor-v0", cwd=own_package)
    assert result.returncode == 1
    assert "importing module 'broken'" in result.stderr and "boom" in result.stderr
