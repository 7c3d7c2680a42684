"""Error messages that confused newcomers: each says where, what happened and what to do,
in the user's terms rather than the parser's."""

from __future__ import annotations

import textwrap
from pathlib import Path

from envgen.build import compile_specs

BASE = """\
id: t/Jumper-v0
params:
  max_inventory: {default: 4}
action_space: {Discrete: 2, labels: [stay, hop]}
observation_space: {Discrete: 5}
state:
  count: {dtype: int64, init: 0}
step: |
  if action == HOP:
      count = min(count + 1, 4)
observation: count
"""


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    compiled = compile_specs([path])
    assert not compiled.files
    return [d.format() for d in compiled.diagnostics]


def test_the_base_spec_builds(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE)
    assert not compile_specs([path]).diagnostics


def test_an_unquoted_comma_in_a_flow_mapping_says_to_quote_the_expression(tmp_path: Path) -> None:
    text = BASE.replace("init: 0}", "init: integers(0, max_inventory + 1)}")
    (error,) = _errors(tmp_path, text)
    assert error.startswith(f"{tmp_path}/spec.yaml:7:")
    assert "the comma ended the value" in error
    assert "unknown key" not in error.splitlines()[0]
    assert 'quote the expression: init: "integers(0, max_inventory + 1)"' in error


def test_a_yaml_list_where_an_expression_goes_is_one_error_that_says_to_quote_it(
    tmp_path: Path,
) -> None:
    text = BASE + "functions:\n  pair:\n    args: [a, b]\n    return: [a, b]\n"
    errors = _errors(tmp_path, text)
    assert len(errors) == 1, errors
    (error,) = errors
    assert "spec.yaml:15:13" in error and "functions.pair.return" in error
    assert "a YAML list is not an expression" in error
    assert 'return: "[a, b]"' in error
    assert "valid boolean" not in error


def test_an_undeclared_label_names_the_labels_that_exist(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, BASE.replace("action == HOP", "action == JUMP"))
    assert "unknown name 'JUMP'" in error
    assert "the action labels are STAY, HOP" in error
    no_labels = BASE.replace(", labels: [stay, hop]", "").replace("action == HOP", "action == JUMP")
    (error,) = _errors(tmp_path, no_labels)
    assert "labels: [...]" in error  # how to declare them


def test_yaml_indentation_errors_are_plain_and_located(tmp_path: Path) -> None:
    text = BASE.replace("observation: count", "observation: count\n  reward: 1.0")
    (error,) = _errors(tmp_path, text)
    assert "spec.yaml:12:" in error
    assert "indented more than the line above" in error
    assert "mapping values are not allowed here" not in error
    text = BASE.replace("  count: {dtype", "    count: {dtype").replace(
        "step: |", "  other: {init: 0}\nstep: |"
    )
    (error,) = _errors(tmp_path, text)
    assert "spec.yaml:8:3" in error
    assert "indented differently from the lines of its block (by 2 spaces, where line 7" in error
    assert "<block end>" not in error and "<block mapping start>" not in error
    text = BASE.replace("observation: count", "observation: count: 1")
    (error,) = _errors(tmp_path, text)
    assert "spec.yaml:11:" in error and "': ' here would start a mapping" in error


def test_a_step_local_in_the_observation_says_why_it_is_not_visible(tmp_path: Path) -> None:
    text = BASE.replace(
        "      count = min(count + 1, 4)", "      count = min(count + 1, 4)\n  seen = count * 2"
    ).replace("observation: count", "observation: seen\nreward: seen")
    (error,) = _errors(tmp_path, text)  # reward may read it; the observation may not
    assert "spec.yaml:12:" in error
    assert "'seen' is a local of the `step` block" in error
    assert "built at reset too" in error
    assert "store it in a state variable" in error
    assert "assign it earlier in the block" not in error
