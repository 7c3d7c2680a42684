"""The compiler's shared pieces of review r1: step variants typed at most twice (what the docs
say), the one constant folder's operator table and memo, and the one param bound test."""

from __future__ import annotations

import ast

import pytest

from envgen.build import compile_specs
from envgen.compiler._limits import apply, fold
from envgen.runtime import InvalidParam, Param, bound_failures, check_param

_SETTLES_LATE = """\
id: envgen/SettlesLate-v0
description: b holds a Python float after one step and a float32 from the third on
action_space: {Discrete: 2}
observation_space: {Box: {low: -1000, high: 1000, shape: [2], dtype: float64}}
state:
  a: {dtype: float64, init: 0.0}
  b: {dtype: float64, init: 0.0}
step: |
  b = a
  a = float32(a + 1.0)
observation: [a, b]
reward: 0.0
terminated: a > 100.0
max_episode_steps: 10
"""


def test_types_that_settle_after_two_steps_are_not_followed(tmp_path):
    """`b = a; a = float32(...)`: the analysis types two entries (after reset, after one
    step), finds the second does not end where it entered, and says so; the vector env
    falls back with a note that says "within two steps", not "at every step"."""
    spec = tmp_path / "settles_late.yaml"
    spec.write_text(_SETTLES_LATE)
    compiled = compile_specs([spec], tmp_path / "pkg")
    (model,) = compiled.models
    fresh, later = model.step_variants
    assert not model.step_types_settle
    assert (later.entry["b"].dtype, later.end["b"].dtype) == ("float64", "float32")
    assert fresh.end["a"].dtype == later.entry["a"].dtype == "float32"
    (note,) = [n for n in compiled.notes if "SettlesLate" in n]
    assert "state 'b'" in note and "not settled in two steps" in note
    assert f"{model.module_name}_vector.py" not in compiled.files


def test_no_scalar_float_state_means_no_variants(tmp_path):
    """Int and array state cannot change type at run time: no variants, and settled."""
    spec = tmp_path / "ints.yaml"
    text = _SETTLES_LATE.replace("dtype: float64, init: 0.0", "dtype: int64, init: 0")
    spec.write_text(text.replace("float32(a + 1.0)", "a + 1").replace("100.0", "100"))
    (model,) = compile_specs([spec], tmp_path / "pkg").models
    assert model.step_variants == [] and model.step_types_settle


@pytest.mark.parametrize(
    ("op", "operands", "value"),
    [
        (ast.USub(), (3,), -3),
        (ast.UAdd(), (2.5,), 2.5),
        (ast.Not(), (1,), None),
        (ast.Add(), (2, 3), 5),
        (ast.Mult(), (2**200, 2), float("inf")),
        (ast.FloorDiv(), (7, 0), None),
        (ast.Pow(), (2, 10), 1024),
        (ast.Add(), (True, 1), None),
        (ast.LShift(), (1, 2), None),
    ],
)
def test_apply_is_the_folders_operator_table(op, operands, value):
    assert apply(op, *operands) == value


def test_fold_with_a_memo_folds_each_operation_once():
    """A memo keeps every node's value: folding the whole chain, then each operation,
    gives the values plain folding gives (and the memo holds one entry per node)."""
    tree = ast.parse("-(-(1 + 2 * 3) - 4) + x", mode="eval").body
    memo: dict[int, object] = {}
    nodes = list(ast.walk(tree))
    assert fold(tree, memo=memo) is None  # `x` is a name: not a constant
    assert set(memo) == {id(n) for n in nodes if isinstance(n, ast.expr)}
    assert memo[id(tree.left)] == 11
    for node in nodes:
        if isinstance(node, ast.expr):
            assert fold(node, memo=memo) == fold(node)


def test_one_bound_test_for_env_and_compiler():
    """`bound_failures` lists every broken bound in order; the env reports the first."""
    param = Param("n", "int", 3, ge=1, lt=10)
    assert bound_failures(param, 5) == []
    assert bound_failures(param, 0) == [(">=", 1)]
    both = Param("x", "float", 0.0, gt=1.0, le=0.5)
    assert bound_failures(both, 0.75) == [(">", 1.0), ("<=", 0.5)]
    with pytest.raises(InvalidParam, match=r"must be > 1.0, got 0.75"):
        check_param(both, 0.75, "X-v0")
    with pytest.raises(InvalidParam, match="must be < 10, got 10"):
        check_param(param, 10, "X-v0")
