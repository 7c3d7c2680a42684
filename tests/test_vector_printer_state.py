"""The NumPy vector printer's translator state (tables of a step variant, per-env
conditions of `a if c else b`) is put back when a construct it cannot print stops it."""

from __future__ import annotations

import pytest


def test_the_vector_printer_restores_its_tables_and_conditions_after_unsupported(tmp_path):
    """`VectorTranslator.using(variant)` and `.condition(test)` put back the translator's
    tables and per-env conditions when `Unsupported` leaves their block (review r2 item 9)."""
    from pathlib import Path

    from envgen.backends._vector_statements import VectorTranslator
    from envgen.backends._vector_values import Unsupported, V
    from envgen.build import compile_specs

    spec = Path(__file__).parents[1] / "specs" / "classic" / "mountain_car_continuous.yaml"
    (model,) = compile_specs([spec], tmp_path / "pkg").models
    fresh, later = model.step_variants
    vt = VectorTranslator(model, buffered=True)
    with pytest.raises(Unsupported), vt.using(later):
        assert vt.types is later.types and vt.operands is later.operand_dtypes
        with vt.using(fresh):
            assert vt.types is fresh.types
        assert vt.types is later.types  # a nested block gives back the outer variant's
        raise Unsupported("a construct the printer does not handle")
    assert (vt.types, vt.operands, vt.held) == (model.types, model.operand_dtypes, model.held)
    test = V("position > 0", True, model.reward.type, "bool")
    with pytest.raises(Unsupported), vt.condition(test):
        with vt.condition(test, negated=True):
            assert vt.conditions == ["(position > 0)", "~(position > 0)"]
        assert vt.conditions == ["(position > 0)"]
        raise Unsupported("a draw inside the arm")
    assert vt.conditions == []
