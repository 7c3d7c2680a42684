"""The hostile corpus that must build (tests/hostile/), terminal safety of the CLI, hooks
marked as trusted code, and the run-time arguments of generated envs.

The hostile specs that must be refused are in tests/bad_specs/ (test_bad_specs.py); the
hostile files in test_hostile_files.py; names that shadow generated code in
test_generated_names.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

from envgen.build import compile_specs, write
from envgen.cli import main
from envgen.runtime import InvalidParam

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).parent / "hostile"
TESTS = Path(__file__).parent

sys.path.insert(0, str(ROOT))
import generated  # noqa: E402,F401 - registers the bundled envs

#: Characters that must never reach a terminal or a source file raw.
INVISIBLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _raw_invisible(text: str) -> list[str]:
    return [
        f"U+{ord(c):04X}" for c in text if c not in "\n\t" and unicodedata.category(c) in INVISIBLE
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile corpus built into one package, `hostile_envs`, under a temporary folder."""
    folder = tmp_path_factory.mktemp("hostile")
    out = folder / "hostile_envs"
    compiled = compile_specs([HOSTILE], out)
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    write(compiled, out)
    return folder


def test_the_corpus_builds_imports_and_runs(built: Path) -> None:
    script = f"""
import json, math, sys
sys.path[:0] = [{str(built)!r}, {str(TESTS)!r}]
import gymnasium as gym
import hostile_envs
out = {{}}
for env_id in hostile_envs.ENVS:
    env = gym.make(env_id, render_mode="ansi") if "Bidi" in env_id else gym.make(env_id)
    env.reset(seed=0)
    rewards = [env.step(1)[1] for _ in range(3)]
    out[env_id] = {{"rewards": rewards, "doc": type(env.unwrapped).__doc__,
                    "ceiling": getattr(env.unwrapped, "ceiling", None)}}
    if "Bidi" in env_id:
        out[env_id]["render"] = env.render()
print(json.dumps(out, default=str))
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=built
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(result) == {"hostile/NonFinite-v0", "hostile/Bidi-v0", "hostile/Hooked-v0"}
    # .inf/.nan constants, param default and wrapper keywords work as written.
    assert result["hostile/NonFinite-v0"]["rewards"] == [1.0, 1.0, 1.0]
    assert result["hostile/NonFinite-v0"]["ceiling"] == math.inf
    # The docstring's value keeps the text as written; the render too.
    bidi = result["hostile/Bidi-v0"]
    assert "\u202e" in bidi["doc"] and "\x1b]0;pwned\x07" in bidi["doc"]
    assert bidi["render"] == "3\u202e"


def test_generated_source_shows_no_invisible_character(built: Path) -> None:
    for path in sorted((built / "hostile_envs").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert _raw_invisible(source) == [], path.name
    source = (built / "hostile_envs" / "hostile_bidi_v0.py").read_text(encoding="utf-8")
    assert "\\u202e" in source and "\\x1b]0;pwned\\x07" in source


def test_validate_and_show_print_escapes_not_control_sequences() -> None:
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(TESTS)
    try:
        validated = runner.invoke(main, ["validate", "hostile"])
        shown = runner.invoke(main, ["show", "hostile/bidi_text.yaml"])
    finally:
        os.chdir(old)
    assert validated.exit_code == 0, validated.output
    assert shown.exit_code == 0, shown.output
    for output in (validated.output, shown.output):
        assert "Traceback" not in output
        assert _raw_invisible(output) == []
    assert "\\u202e)kcab txet(" in shown.output and "\\x1b]0;pwned\\x07" in shown.output


def test_hooks_are_marked_as_trusted_code_in_the_module_the_build_and_show(
    built: Path, tmp_path: Path
) -> None:
    source = (built / "hostile_envs" / "hostile_hooked_v0.py").read_text(encoding="utf-8")
    assert "# TRUSTED CODE: reset()/step() import and run the Python hooks" in source
    assert 'TRUSTED_HOOKS = ("features.hooks:start", "features.hooks:blow")' in source
    plain = (built / "hostile_envs" / "hostile_non_finite_v0.py").read_text(encoding="utf-8")
    assert "TRUSTED" not in plain
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(TESTS)
    try:
        build = runner.invoke(main, ["build", "hostile", "-o", str(tmp_path / "pkg")])
        shown = runner.invoke(main, ["show", "hostile/trusted_hooks.yaml"])
    finally:
        os.chdir(old)
    assert build.exit_code == 0, build.output
    assert "1 envs run trusted Python hooks (hostile/Hooked-v0)" in build.output
    assert shown.exit_code == 0, shown.output
    assert "trusted code" in shown.output
    assert "features.hooks:start, features.hooks:blow" in shown.output


# --- run-time arguments ------------------------------------------------------------------


def test_params_out_of_range_for_64_bits_or_floats_are_invalid_params() -> None:
    with pytest.raises(InvalidParam, match="param 'size' must fit in 64 bits"):
        gym.make("envgen/GoLeft-v0", size=10**100)
    with pytest.raises(InvalidParam, match="param 'goal_velocity' is too large for a float"):
        gym.make("envgen/MountainCarContinuous-v0", goal_velocity=10**400)


def test_check_state_must_be_a_bool() -> None:
    for value in ("yes", 1, None):
        with pytest.raises(InvalidParam, match="check_state must be True or False"):
            gym.make("envgen/GoLeft-v0", check_state=value)
    assert gym.make("envgen/GoLeft-v0", check_state=np.bool_(True)).unwrapped.check_state


@pytest.mark.parametrize("options", [5, "abc", ["low"], 1.5])
def test_reset_options_that_are_not_a_mapping_are_refused(options: object) -> None:
    env = gym.make("envgen/GoLeft-v0")
    with pytest.raises(TypeError, match=r"reset\(options=\.\.\.\) takes a dict"):
        env.reset(options=options)
    vector = gym.make_vec("envgen/GoLeft-v0", num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(TypeError, match=r"reset\(options=\.\.\.\) takes a dict"):
        vector.reset(options=options)
    env.reset(options={})  # a mapping, even an empty one, is fine
    vector.reset(options=None)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "abc", None, 10**400])
def test_reset_option_values_must_be_finite_numbers(value: object) -> None:
    env = gym.make("envgen/CartPole-v1")
    with pytest.raises(ValueError, match="reset option 'low' must be a finite number"):
        env.reset(seed=0, options={"low": value, "high": 0.05})
    obs, _ = env.reset(seed=0, options={"low": -0.01, "high": 0.01})
    assert np.all(np.abs(obs) <= 0.01)
