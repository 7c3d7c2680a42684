"""Bad input to the commands is one clear error and a non-zero exit: no traceback, nothing
written (hostile and newcomer trial 3: `schema` paths, `fuzz` of an env that cannot be
made, `show` of a multi-agent id, `envgen.jax.make(package=...)`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import run_envgen


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-o", "x.json", "--markdown", "x.json"], "both name x.json"),
        (["-o", "./x.json", "--markdown", "x.json"], "both name"),
        (["-o", "sub/"], "'sub/' is not a file name"),
        (["-o", ""], "'' is not a file name"),
        (["--markdown", "docs/"], "'docs/' is not a file name"),
    ],
)
def test_schema_refuses_output_paths_it_would_misuse(
    tmp_path: Path, args: list[str], words: str
) -> None:
    result = run_envgen("schema", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written (a file named `sub`, before)


def test_schema_writes_two_different_files(tmp_path: Path) -> None:
    result = run_envgen("schema", "-o", "x.json", "--markdown", "x.md", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.json").read_text().startswith("{")
    assert (tmp_path / "x.md").read_text().startswith("#")


def test_fuzz_of_an_env_that_refuses_its_defaults_is_one_error(tmp_path: Path) -> None:
    """Every property made the env and failed with the same traceback; now the env is made
    once first and its refusal is one error (exit 1)."""
    (tmp_path / "refusing.py").write_text(
        textwrap.dedent(
            """\
            import gymnasium as gym
            from envgen.runtime import InvalidParam


            class Refusing(gym.Env):
                def __init__(self, size=-1):
                    raise InvalidParam(f"size must be positive, got {size}")
            """
        )
    )
    result = run_envgen("fuzz", "refusing.py:Refusing", "--examples", "1", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.count("error") == 1, result.stderr
    assert "Refusing cannot be made with its default params: size must be" in result.stderr


def test_show_of_a_multiagent_id_says_what_it_is() -> None:
    """It said `unknown env id ... (module 'generated' does not register it)` and suggested
    another id, though `envgen.multiagent.make` makes it (newcomer trial 3)."""
    for target in ("generated:envgen/Pursuit-v0", "envgen/Pursuit-v0"):
        result = run_envgen("show", target)
        assert result.returncode == 2, result.stderr
        assert "is a multi-agent (PettingZoo) env of module 'generated'" in result.stderr
        assert f"envgen.multiagent.make('{target}')" in result.stderr
        assert "unknown env id" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("package", ["../x", "/tmp/pkg", "pkg/sub", "a..b", "", "my-gen"])
def test_jax_make_refuses_a_package_that_is_not_a_package_name(package: str) -> None:
    """`package="../x"` raised importlib's TypeError ("the 'package' argument is required to
    perform a relative import"): hostile trial 3."""
    from envgen.jax._registry import find

    with pytest.raises(ValueError, match="is not a package name"):
        find("envgen/CartPole-v1", package)
    with pytest.raises(ValueError, match="is not a package name"):
        find(f"{package}:envgen/CartPole-v1")
    assert find("envgen/CartPole-v1", "generated").module == "generated.envgen_cart_pole_v1_jax"
