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


def test_commands_import_nothing_from_the_working_folder_but_the_package_named(
    tmp_path: Path,
) -> None:
    """A stray numpy.py in a cloned spec repository ran on every validate, build and show
    (hostile trial 4, H13); a package named as `mygen:ns/Id` is still found there."""
    import subprocess

    from conftest import SPECS

    (tmp_path / "spec.yaml").write_text((SPECS / "go_left.yaml").read_text())
    for name in ("numpy", "yaml", "gymnasium", "pydantic", "jax", "numba"):
        (tmp_path / f"{name}.py").write_text(
            f"open({str(tmp_path / 'PWNED')!r}, 'a').write({name!r})\nraise SystemExit(3)\n"
        )

    def envgen(*args: str) -> subprocess.CompletedProcess:
        # the console script: `python -m` would put the working folder first on sys.path
        return run_envgen(*args, cwd=tmp_path, script=True)

    for args in (["validate", "spec.yaml"], ["build", "spec.yaml", "-o", "mygen"]):
        result = envgen(*args)
        assert result.returncode == 0, result.stdout + result.stderr
    shown = envgen("show", "mygen:envgen/GoLeft-v0")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "GoLeft" in shown.stdout
    assert not (tmp_path / "PWNED").exists(), (tmp_path / "PWNED").read_text()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("gymnasium", "is the name of an installed module"),
        ("json", "is the name of an installed module"),
        ("sys", "built into Python"),
        ("class", "is not a valid Python package name"),
    ],
)
def test_build_refuses_a_package_name_that_shadows_a_module_or_cannot_be_imported(
    tmp_path: Path, name: str, words: str
) -> None:
    from conftest import SPECS

    result = run_envgen("build", str(SPECS / "go_left.yaml"), "-o", name, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_build_never_overwrites_files_envgen_did_not_write(tmp_path: Path) -> None:
    """`build -o DIR` replaced a hand-written __init__.py and a same-named module without a
    word (hostile trial 4, H14)."""
    from conftest import SPECS

    out = tmp_path / "pkg"
    out.mkdir()
    (out / "__init__.py").write_text("SECRET_WORK = 42\n")
    (out / "envgen_go_left_v0.py").write_text("# my own module\n")
    result = run_envgen("build", str(SPECS / "go_left.yaml"), "-o", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error[output-hand-written]" in result.stderr
    assert "__init__.py, envgen_go_left_v0.py" in result.stderr
    assert "Nothing was written" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["__init__.py", "envgen_go_left_v0.py"]
    assert (out / "__init__.py").read_text() == "SECRET_WORK = 42\n"
    (out / "__init__.py").unlink()
    (out / "envgen_go_left_v0.py").unlink()
    assert run_envgen("build", str(SPECS / "go_left.yaml"), "-o", str(out)).returncode == 0
    again = run_envgen("build", str(SPECS / "go_left.yaml"), "-o", str(out))
    assert again.returncode == 0, again.stderr  # its own files are rewritten freely


def test_an_error_in_a_huge_line_shows_a_short_excerpt_and_a_short_caret(tmp_path: Path) -> None:
    """A 1.2 MB one-line list gave an 800 KB caret line and a hint about aliases it does not
    have (hostile trial 4, H12)."""
    spec = tmp_path / "huge.yaml"
    spec.write_text("id: t/A-v0\nconstants:\n  T: [" + ",".join(["1.5"] * 300_000) + "]\n")
    result = run_envgen("validate", str(spec))
    assert result.returncode == 1
    assert len(result.stderr) < 2000, len(result.stderr)
    assert "more than 200000 values" in result.stderr and "move large data" in result.stderr
    lines = result.stderr.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    column = lines[caret].index("^")
    assert lines[caret - 1][column] in "1.5,", lines[caret - 1]  # under a value of the list


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bench", "specs/go_left.yaml", "-s", "nan"], "'nan' is not a finite number"),
        (["bench", "specs/go_left.yaml", "-s", "inf"], "is not in the range"),
        (["bench", "specs/go_left.yaml", "-n", "100000000000000000000"], "is not in the range"),
        (["fuzz", "specs/go_left.yaml", "--budget", "nan"], "'nan' is not a finite number"),
        (["fuzz", "specs/go_left.yaml", "--seed", "-5"], "-5 is not in the range"),
        (["fuzz", "specs/go_left.yaml", "--examples", "1000000"], "is not in the range"),
        (["play", "envgen/GoLeft-v0", "--seed", "-1"], "-1 is not in the range"),
        (["new", "A" * 300], "is too long for an env name"),
    ],
)
def test_numbers_and_names_out_of_range_are_usage_errors(args: list[str], words: str) -> None:
    """Each was a traceback, a failure blamed on the env, or a run that never ended
    (hostile trial 4, H16 and H17)."""
    import os

    from click.testing import CliRunner
    from conftest import ROOT

    from envgen.cli import main

    before = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        os.chdir(before)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
