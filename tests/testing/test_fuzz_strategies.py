"""from_space draws values every space contains; outside_space draws values none contains."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium import spaces as S
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from envgen.testing import from_space, outside_space

SPACES = {
    "box-float32": S.Box(-1.0, 1.0, (3,), np.float32),
    "box-float16": S.Box(-2.0, 2.0, (2, 2), np.float16),
    "box-float64-unbounded": S.Box(-np.inf, np.inf, (4,), np.float64),
    "box-half-bounded": S.Box(
        np.array([-1.0, 0.0, -np.inf], np.float32),
        np.array([1.0, np.inf, 5.0], np.float32),
        dtype=np.float32,
    ),
    "box-scalar": S.Box(0.0, 1.0, (), np.float32),
    "box-uint8-image": S.Box(0, 255, (8, 8, 3), np.uint8),
    "box-int8": S.Box(-3, 3, (5,), np.int8),
    "box-int32": S.Box(-5, 7, (2, 3), np.int32),
    "box-int64-full-range": S.Box(-np.inf, np.inf, (2,), np.int64),
    "box-uint16": S.Box(0, 1000, (3,), np.uint16),
    "box-bool": S.Box(0, 1, (4,), np.bool_),
    "discrete": S.Discrete(5),
    "discrete-start": S.Discrete(3, start=-2),
    "multi-discrete": S.MultiDiscrete([3, 4, 2]),
    "multi-discrete-start-2d": S.MultiDiscrete([[2, 3], [4, 5]], start=[[1, -1], [0, 10]]),
    "multi-binary": S.MultiBinary(6),
    "multi-binary-2d": S.MultiBinary([2, 3]),
    "text": S.Text(6),
    "text-charset": S.Text(5, min_length=2, charset="abc"),
    "text-empty-ok": S.Text(3, min_length=0, charset="xy"),
    "dict": S.Dict(pos=S.Box(-1, 1, (2,)), kind=S.Discrete(3)),
    "tuple": S.Tuple((S.Discrete(2), S.Box(0, 1, (1,)), S.MultiBinary(2))),
    "nested": S.Dict(
        a=S.Tuple((S.Discrete(2), S.Dict(b=S.Box(0, 5, (2,), np.int16), t=S.Text(3)))),
        c=S.MultiDiscrete([2, 2]),
    ),
    "sequence": S.Sequence(S.Discrete(4)),
    "sequence-box": S.Sequence(S.Box(0, 1, (2,))),
    "sequence-stack": S.Sequence(S.Box(0, 1, (2,)), stack=True),
    "sequence-stack-dict": S.Sequence(S.Dict(x=S.Discrete(3), y=S.Box(-1, 1, (1,))), stack=True),
    "graph": S.Graph(node_space=S.Box(0, 1, (3,)), edge_space=S.Discrete(4)),
    "graph-no-edges": S.Graph(node_space=S.Discrete(5), edge_space=None),
    "oneof": S.OneOf((S.Discrete(2), S.Box(0, 1, (2,)))),
}

SETTINGS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def _contains(space, value) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return space.contains(value)


@pytest.mark.parametrize("name", SPACES)
def test_from_space_values_are_contained(name):
    space = SPACES[name]

    @SETTINGS
    @given(from_space(space))
    def check(value):
        assert _contains(space, value), value

    check()


@pytest.mark.parametrize("name", SPACES)
def test_outside_space_values_are_not_contained(name):
    space = SPACES[name]

    @SETTINGS
    @given(outside_space(space))
    def check(value):
        assert not _contains(space, value), value

    check()


@pytest.mark.parametrize(
    "name", ["box-float16", "box-uint8-image", "box-int8", "multi-discrete-start-2d"]
)
def test_array_values_have_the_space_dtype_and_shape(name):
    space = SPACES[name]

    @SETTINGS
    @given(from_space(space))
    def check(value):
        assert value.dtype == space.dtype and value.shape == space.shape

    check()


def _finds(strategy, condition):
    return find(strategy, condition, settings=settings(database=None, max_examples=2000))


def test_edge_values_are_drawn():
    box = S.Box(-1.5, 2.5, (1,), np.float32)
    assert _finds(from_space(box), lambda x: x[0] == np.float32(2.5))[0] == np.float32(2.5)
    assert _finds(from_space(box), lambda x: x[0] == np.float32(-1.5))[0] == np.float32(-1.5)
    negative_zero = _finds(from_space(box), lambda x: x[0] == 0 and np.signbit(x[0]))
    assert np.signbit(negative_zero[0])
    unbounded = S.Box(-np.inf, np.inf, (1,), np.float32)
    huge = _finds(from_space(unbounded), lambda x: x[0] == np.finfo(np.float32).max)
    assert huge[0] == np.finfo(np.float32).max
    ints = S.Box(-np.inf, np.inf, (1,), np.int16)
    assert _finds(from_space(ints), lambda x: x[0] == -32768)[0] == -32768
    assert _finds(from_space(S.Sequence(S.Discrete(3))), lambda x: len(x) == 0) == ()
    assert _finds(from_space(S.Discrete(3, start=-2)), lambda x: x == 0) == 0
    text = _finds(from_space(S.Text(4, min_length=0, charset="ab")), lambda x: x == "")
    assert text == ""


def test_infinity_only_on_request():
    unbounded = S.Box(-np.inf, np.inf, (2,), np.float64)

    @SETTINGS
    @given(from_space(unbounded))
    def finite(value):
        assert np.all(np.isfinite(value))

    finite()
    inf = _finds(from_space(unbounded, allow_infinity=True), lambda x: np.isinf(x).any())
    assert unbounded.contains(inf)


def test_outside_space_draws_each_kind_of_wrong_value():
    box = S.Box(-1.0, 1.0, (2,), np.float32)
    strategy = outside_space(box)
    wrong_shape = _finds(strategy, lambda x: isinstance(x, np.ndarray) and x.shape != (2,))
    assert wrong_shape.shape != (2,)
    wrong_dtype = _finds(
        strategy, lambda x: isinstance(x, np.ndarray) and x.shape == (2,) and x.dtype != np.float32
    )
    assert wrong_dtype.dtype == np.float64
    nan = _finds(strategy, lambda x: isinstance(x, np.ndarray) and np.isnan(x).any())
    assert np.isnan(nan).any()
    out_of_bounds = _finds(
        strategy,
        lambda x: (
            isinstance(x, np.ndarray)
            and x.dtype == np.float32
            and x.shape == (2,)
            and not np.isnan(x).any()
        ),
    )
    assert (np.abs(out_of_bounds) > 1).any()
    assert _finds(outside_space(S.Discrete(3)), lambda x: x is None) is None


def test_strategies_are_usable_inside_composite_tests():
    space = SPACES["nested"]

    @SETTINGS
    @given(st.lists(from_space(space), min_size=1, max_size=3), outside_space(space))
    def check(values, bad):
        assert all(_contains(space, v) for v in values)
        assert not _contains(space, bad)

    check()
