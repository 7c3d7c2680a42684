"""The generated code as a user reads and lints it: docstrings, arrays built once, `_get_obs`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT, run_envgen

LONG = textwrap.dedent(
    """\
    id: acme/AVeryLongNameForAWarehouseRoutingEnvironmentWithManyShelves-v12
    description: >-
      A description whose words are long: supercalifragilisticexpialidocious-{w} and a
      path/that/never/ends/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}/{w}
    params:
      a_param_with_a_rather_long_name: {{default: 1234567, doc: {w} {w} {w} {w}}}
      table_of_numbers: {{default: [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]}}
    action_space: {{MultiDiscrete: [3, 3]}}
    observation_space: {{MultiDiscrete: [1000, 1000, 1000]}}
    state:
      position_of_the_agent: {{dtype: int64, shape: [2], init: "[1, 2]"}}
    step: |
      position_of_the_agent = clip(position_of_the_agent + action - 1, 0, 999)
    observation: "[position_of_the_agent[0], position_of_the_agent[1], position_of_the_agent[0] + position_of_the_agent[1] + a_param_with_a_rather_long_name % 7]"
    info:
      constant_table: "[1, 2]"
    """  # noqa: E501 - the spec line is long on purpose
).format(w="word" * 6)


def _build(tmp_path: Path, package: str) -> Path:
    spec = tmp_path / "long.yaml"
    spec.write_text(LONG)
    out = tmp_path / package
    run_envgen("build", str(spec), "-o", str(out), check=True, cwd=tmp_path)
    return out


def test_docstring_imports_the_package_it_was_built_into_and_fits_100_columns(
    tmp_path: Path,
) -> None:
    out = _build(tmp_path, "mygen")
    (module,) = [p for p in out.glob("acme_*.py") if not p.name.endswith(("_vector.py", "_jax.py"))]
    text = module.read_text()
    assert "import mygen  # registers" in text
    assert "import generated" not in text
    # The user's own lint (E501 at 100 columns, pycodestyle's W too) passes on every file.
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "100"]
        + ["--select", "E,W,F", "--no-cache", str(out)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_arrays_are_built_once_and_the_observation_in_one_place(tmp_path: Path) -> None:
    out = _build(tmp_path, "pkg")
    for path in out.glob("*.py"):
        assert "np.array(np.array(" not in path.read_text(), path.name
        assert "np.asarray(np.array([" not in path.read_text().replace("\n", ""), path.name
    (module,) = [p for p in out.glob("acme_*.py") if not p.name.endswith(("_vector.py", "_jax.py"))]
    text = module.read_text()
    assert text.count("def _get_obs(self)") == 1
    assert text.count("self._get_obs()") == 2  # reset and step
    assert text.count("% 7") == 1  # the observation's code is printed once


def test_committed_modules_build_their_observation_with_get_obs() -> None:
    for path in sorted((ROOT / "generated").glob("envgen_*.py")):
        if path.name.endswith("_vector.py"):
            continue
        text = path.read_text()
        if "(gym.Env):" not in text:  # multi-agent modules (PettingZoo) are built elsewhere
            continue
        assert "def _get_obs(self)" in text, path.name
        assert "np.array(np.array(" not in text, path.name
