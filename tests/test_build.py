"""The build command: freshness check, all-or-nothing writes, lint-clean output, exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SPECS, run_envgen


def test_committed_generated_package_is_fresh() -> None:
    result = run_envgen("build", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_build_into_a_new_folder_then_check_then_noop(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    first = run_envgen("build", str(SPECS), "-o", str(out), check=True)
    assert "written" in first.stdout
    names = sorted(p.name for p in out.glob("*.py"))
    assert "__init__.py" in names and len(names) >= 10
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*.py")}
    again = run_envgen("build", str(SPECS), "-o", str(out), check=True)
    assert "0 written, 0 removed" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.py")} == mtimes
    assert run_envgen("build", str(SPECS), "-o", str(out), "--check").returncode == 0


def test_check_reports_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    run_envgen("build", str(SPECS), "-o", str(out), check=True)
    target = out / "envgen_go_left_v0.py"
    target.write_text(target.read_text() + "\n# edited by hand\n")
    result = run_envgen("build", str(SPECS), "-o", str(out), "--check")
    assert result.returncode == 1
    assert "stale:" in result.stderr and "envgen_go_left_v0.py" in result.stderr


def test_generated_code_passes_ruff_check_and_format() -> None:
    ruff = [sys.executable, "-m", "ruff"]
    generated = str(ROOT / "generated")
    check = subprocess.run([*ruff, "check", generated], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([*ruff, "format", "--check", generated], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_a_broken_spec_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    out = tmp_path / "pkg"
    run_envgen("build", str(specs), "-o", str(out), check=True)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    broken = specs / "go_left.yaml"
    broken.write_text(broken.read_text().replace("pos = clip(pos", "pos = clip(positon"))
    result = run_envgen("build", str(specs), "-o", str(out))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "go_left.yaml:11:" in result.stderr and "unknown name 'positon'" in result.stderr
    assert "hint:" in result.stderr
    assert "nothing was written" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_validate_lists_each_spec() -> None:
    result = run_envgen("validate", str(SPECS / "go_left.yaml"), check=True)
    assert "ok  envgen/GoLeft-v0" in result.stdout


def test_usage_errors_exit_2() -> None:
    result = run_envgen("biuld")
    assert result.returncode == 2
    assert "Did you mean 'build'?" in result.stderr
    missing = run_envgen("build", "no/such/folder")
    assert missing.returncode == 1
    assert "no such file or folder" in missing.stderr


def test_project_code_is_lint_clean() -> None:
    """The compiler, its tests and benchmarks pass the same ruff checks as generated code."""
    paths = [str(ROOT / name) for name in ("envgen", "tests", "benchmarks")]
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", *paths], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([*ruff, "format", "--check", *paths], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
