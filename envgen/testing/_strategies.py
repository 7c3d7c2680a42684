"""Hypothesis strategies for Gymnasium spaces.

``from_space(space)`` draws values that ``space.contains`` accepts, favouring edge values
(bounds, +/-0, dtype limits, empty sequences) as well as typical ones.
``outside_space(space)`` draws values that ``space.contains`` rejects.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra.numpy import arrays

__all__ = ["from_space", "outside_space", "space_contains"]

# Cap on the size of drawn Sequence/Graph containers: large enough to find bugs that depend on
# several items, small enough to keep the search fast.
MAX_COLLECTION = 5


def space_contains(space: spaces.Space, value: Any) -> bool:
    """``space.contains(value)``, silencing Gymnasium's casting warnings; errors count as False."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return bool(space.contains(value))
        except Exception:
            return False


# ---------------------------------------------------------------------------------------------
# scalar element strategies
# ---------------------------------------------------------------------------------------------


def _float_width(dtype: np.dtype) -> int:
    return min(dtype.itemsize * 8, 64)


def _element_strategy(
    dtype: np.dtype, lo: Any, hi: Any, *, allow_infinity: bool = False
) -> st.SearchStrategy:
    """Scalars of ``dtype`` in the closed interval [lo, hi], with edge values favoured."""
    kind = dtype.kind
    if kind == "b":
        values = [v for v in (False, True) if bool(lo) <= v <= bool(hi)]
        return st.sampled_from(values)
    if kind in "iu":
        info = np.iinfo(dtype)
        lo_i = int(max(lo, info.min)) if np.isfinite(lo) else int(info.min)
        hi_i = int(min(hi, info.max)) if np.isfinite(hi) else int(info.max)
        edges = sorted({lo_i, hi_i} | ({0} if lo_i <= 0 <= hi_i else set()))
        return st.one_of(st.integers(lo_i, hi_i), st.sampled_from(edges))
    if kind == "f":
        finfo = np.finfo(dtype)
        width = _float_width(dtype)
        big = float(finfo.max)
        lo_f, hi_f = float(lo), float(hi)
        min_value = lo_f if np.isfinite(lo_f) else (None if allow_infinity else -big)
        max_value = hi_f if np.isfinite(hi_f) else (None if allow_infinity else big)
        typical = st.floats(
            min_value=min_value,
            max_value=max_value,
            allow_nan=False,
            allow_infinity=allow_infinity and not (np.isfinite(lo_f) and np.isfinite(hi_f)),
            width=width,
        )
        candidates = [lo_f, hi_f, 0.0, -0.0, big, -big, float(finfo.tiny), -float(finfo.tiny)]
        edges = []
        for v in candidates:
            if np.isfinite(v) or allow_infinity:
                if lo_f <= v <= hi_f and not any(
                    v == e and np.signbit(v) == np.signbit(e) for e in edges
                ):
                    edges.append(v)
        if not edges:
            return typical
        return st.one_of(typical, st.sampled_from(edges))
    raise InvalidArgument(f"envgen.testing cannot draw elements of dtype {dtype}")


def _bounded_array(
    dtype: np.dtype,
    shape: tuple[int, ...],
    low: np.ndarray,
    high: np.ndarray,
    *,
    allow_infinity: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``dtype``/``shape`` with per-element closed bounds ``low``/``high``.

    Elements sharing the same bounds are drawn together with ``hypothesis.extra.numpy.arrays``
    (one strategy per distinct (low, high) pair), then scattered into place.
    """
    dtype = np.dtype(dtype)
    low = np.broadcast_to(np.asarray(low), shape).ravel()
    high = np.broadcast_to(np.asarray(high), shape).ravel()
    groups: dict[tuple[Any, Any], list[int]] = {}
    for i, (lo, hi) in enumerate(zip(low.tolist(), high.tolist(), strict=True)):
        groups.setdefault((lo, hi), []).append(i)
    if len(groups) <= 1:
        lo, hi = next(iter(groups)) if groups else (0, 0)
        elements = _element_strategy(dtype, lo, hi, allow_infinity=allow_infinity)
        return arrays(dtype, shape, elements=elements)

    keys = list(groups)
    index_lists = [np.asarray(groups[k], dtype=np.intp) for k in keys]
    parts = st.tuples(
        *[
            arrays(
                dtype,
                (len(idx),),
                elements=_element_strategy(dtype, lo, hi, allow_infinity=allow_infinity),
            )
            for (lo, hi), idx in zip(keys, index_lists, strict=True)
        ]
    )

    def scatter(values: tuple[np.ndarray, ...]) -> np.ndarray:
        out = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=dtype)
        for idx, vals in zip(index_lists, values, strict=True):
            out[idx] = vals
        return out.reshape(shape)

    return parts.map(scatter)


# ---------------------------------------------------------------------------------------------
# from_space
# ---------------------------------------------------------------------------------------------


def _stack(feature_space: spaces.Space, items: list[Any]) -> Any:
    out = gym.vector.utils.create_empty_array(feature_space, len(items))
    if not items:
        return out
    return gym.vector.utils.concatenate(feature_space, items, out)


def _discrete_type(space: spaces.Space) -> type:
    dtype = getattr(space, "dtype", None) or np.int64
    return np.dtype(dtype).type


def from_space(space: spaces.Space, *, allow_infinity: bool = False) -> st.SearchStrategy:
    """A Hypothesis strategy drawing values that ``space.contains``.

    Supports every Gymnasium space: Box (any integer, float or bool dtype, bounded or not),
    Discrete, MultiDiscrete (with ``start``), MultiBinary, Text, Dict, Tuple, Sequence (also
    ``stack=True``), Graph and OneOf, nested arbitrarily. Edge values are favoured: bounds,
    +/-0.0, dtype limits, empty sequences. Infinite values are only drawn for unbounded Box
    dimensions when ``allow_infinity=True`` (off by default: most envs cannot act on them).
    """
    return _from_space(space, allow_infinity)


def _from_space(space: spaces.Space, allow_infinity: bool) -> st.SearchStrategy:
    try:
        return _from_space_cached(space, allow_infinity)
    except TypeError:  # unhashable space
        return _build_from_space(space, allow_infinity)


@lru_cache(maxsize=256)
def _from_space_cached(space: spaces.Space, allow_infinity: bool) -> st.SearchStrategy:
    return _build_from_space(space, allow_infinity)


def _build_from_space(space: spaces.Space, allow_infinity: bool) -> st.SearchStrategy:
    if isinstance(space, spaces.Box):
        strategy = _bounded_array(
            space.dtype, space.shape, space.low, space.high, allow_infinity=allow_infinity
        )
        return strategy.filter(lambda x: space_contains(space, x))
    if isinstance(space, spaces.Discrete):
        start, n = int(space.start), int(space.n)
        make = _discrete_type(space)
        return st.integers(start, start + n - 1).map(make)
    if isinstance(space, spaces.MultiDiscrete):
        low = np.asarray(space.start)
        high = np.asarray(space.start) + np.asarray(space.nvec) - 1
        return _bounded_array(space.dtype, space.shape, low, high)
    if isinstance(space, spaces.MultiBinary):
        return arrays(space.dtype, space.shape, elements=st.integers(0, 1))
    if isinstance(space, spaces.Text):
        chars = getattr(space, "character_list", None) or sorted(space.character_set)
        return st.text(
            alphabet=st.sampled_from(list(chars)),
            min_size=space.min_length,
            max_size=space.max_length,
        )
    if isinstance(space, spaces.Dict):
        return st.fixed_dictionaries(
            {key: _from_space(sub, allow_infinity) for key, sub in space.spaces.items()}
        )
    if isinstance(space, spaces.Tuple):
        return st.tuples(*[_from_space(sub, allow_infinity) for sub in space.spaces])
    if isinstance(space, spaces.Sequence):
        items = st.lists(_from_space(space.feature_space, allow_infinity), max_size=MAX_COLLECTION)
        if space.stack:
            return items.map(lambda xs: _stack(space.feature_space, xs))
        return items.map(tuple)
    if isinstance(space, spaces.Graph):
        return _graphs(space, allow_infinity)
    if isinstance(space, spaces.OneOf):
        return st.one_of(
            *[
                _from_space(sub, allow_infinity).map(lambda v, i=i: (np.int64(i), v))
                for i, sub in enumerate(space.spaces)
            ]
        )
    raise InvalidArgument(f"envgen.testing has no strategy for space {space!r}")


@st.composite
def _graphs(draw: st.DrawFn, space: spaces.Graph, allow_infinity: bool) -> spaces.GraphInstance:
    node_values = draw(
        st.lists(_from_space(space.node_space, allow_infinity), min_size=1, max_size=MAX_COLLECTION)
    )
    nodes = _stack(space.node_space, node_values)
    if space.edge_space is None or draw(st.booleans()):
        if space.edge_space is None:
            return spaces.GraphInstance(nodes, None, None)
        # edges given, possibly none at all
        edge_values = draw(
            st.lists(_from_space(space.edge_space, allow_infinity), max_size=MAX_COLLECTION)
        )
        edges = _stack(space.edge_space, edge_values)
        n = len(node_values)
        links = draw(arrays(np.int64, (len(edge_values), 2), elements=st.integers(0, n - 1)))
        return spaces.GraphInstance(nodes, edges, links)
    return spaces.GraphInstance(nodes, None, None)


# ---------------------------------------------------------------------------------------------
# outside_space
# ---------------------------------------------------------------------------------------------


class _Opaque:
    """An object no Gymnasium space contains."""

    def __repr__(self) -> str:
        return "object()"


_FOREIGN = st.sampled_from([None, "not-a-value", _Opaque(), 1.5, [], {}])


def _uncastable_dtype(dtype: np.dtype) -> np.dtype:
    """A dtype that numpy cannot safely cast to ``dtype``."""
    kind = dtype.kind
    if kind == "b":
        return np.dtype(np.int64)
    if kind in "iu":
        return np.dtype(np.float64)
    if kind == "f":
        return np.dtype(np.float64) if dtype.itemsize < 8 else np.dtype(np.complex128)
    return np.dtype(np.complex128)


def _box_outside(space: spaces.Box) -> list[st.SearchStrategy]:
    dtype, shape = space.dtype, space.shape
    inside = from_space(space)
    options: list[st.SearchStrategy] = [_FOREIGN]
    # wrong shape: one extra leading dimension, or one element fewer/more
    options.append(inside.map(lambda x: np.stack([x, x])))
    if shape:
        options.append(arrays(dtype, (shape[0] + 1, *shape[1:]), elements=st.just(0)))
    else:
        options.append(arrays(dtype, (2,), elements=st.just(0)))
    # wrong dtype (values in range, but the dtype cannot be safely cast)
    bad = _uncastable_dtype(dtype)
    options.append(inside.map(lambda x: x.astype(bad)))
    low = np.broadcast_to(space.low, shape)
    high = np.broadcast_to(space.high, shape)
    size = int(np.prod(shape, dtype=np.int64))
    if size:
        # one element out of bounds, as a value of the space's dtype where representable
        finite_low = np.flatnonzero(space.bounded_below & (low > _dtype_min(dtype)))
        finite_high = np.flatnonzero(space.bounded_above & (high < _dtype_max(dtype)))

        @st.composite
        def out_of_bounds(draw: st.DrawFn) -> np.ndarray:
            x = draw(inside).copy().ravel()
            below = draw(st.booleans()) if len(finite_low) and len(finite_high) else len(finite_low)
            if below:
                i = draw(st.sampled_from(finite_low.tolist()))
                x[i] = _step_out(dtype, low.ravel()[i], -1)
            else:
                i = draw(st.sampled_from(finite_high.tolist()))
                x[i] = _step_out(dtype, high.ravel()[i], +1)
            return x.reshape(shape)

        if len(finite_low) or len(finite_high):
            options.append(out_of_bounds())
        if dtype.kind == "f":

            @st.composite
            def with_nan(draw: st.DrawFn) -> np.ndarray:
                x = draw(inside).copy().ravel()
                x[draw(st.integers(0, size - 1))] = np.nan
                return x.reshape(shape)

            options.append(with_nan())
    return options


def _dtype_min(dtype: np.dtype) -> float:
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    if dtype.kind == "f":
        return -np.inf
    return 0


def _dtype_max(dtype: np.dtype) -> float:
    if dtype.kind in "iu":
        return np.iinfo(dtype).max
    if dtype.kind == "f":
        return np.inf
    return 1


def _step_out(dtype: np.dtype, bound: Any, direction: int) -> Any:
    """The next representable value of ``dtype`` beyond ``bound`` in ``direction``."""
    if dtype.kind in "iu":
        return int(bound) + direction
    if dtype.kind == "f":
        target = np.inf if direction > 0 else -np.inf
        value = np.nextafter(dtype.type(bound), dtype.type(target))
        # one ulp is invisible to most envs, but still outside: that is the point of the test
        return value
    return not bool(bound)


def _discrete_outside(space: spaces.Discrete) -> list[st.SearchStrategy]:
    start, n = int(space.start), int(space.n)
    make = _discrete_type(space)
    return [
        _FOREIGN,
        st.sampled_from([start - 1, start + n]).map(make),
        st.sampled_from([start + n, start - 1, start + n + 1000]),
        st.sampled_from([float(start), start + 0.5]),
        st.just(np.array([start], dtype=np.int64)),
    ]


def _multi_outside(space: spaces.Space, low: np.ndarray, high: np.ndarray) -> list:
    shape = space.shape
    inside = from_space(space)
    options: list[st.SearchStrategy] = [
        _FOREIGN,
        inside.map(lambda x: np.stack([x, x])),
    ]
    size = int(np.prod(shape, dtype=np.int64))
    if size:

        @st.composite
        def out_of_range(draw: st.DrawFn) -> np.ndarray:
            x = draw(inside).astype(np.int64).ravel()
            i = draw(st.integers(0, size - 1))
            lo = int(np.broadcast_to(low, shape).ravel()[i])
            hi = int(np.broadcast_to(high, shape).ravel()[i])
            x[i] = draw(st.sampled_from([lo - 1, hi + 1]))
            return x.reshape(shape)

        options.append(out_of_range())
        options.append(inside.map(lambda x: x.astype(np.float64) + 0.5))
    return options


def _text_outside(space: spaces.Text) -> list[st.SearchStrategy]:
    chars = getattr(space, "character_list", None) or sorted(space.character_set)
    alphabet = st.sampled_from(list(chars))
    options: list[st.SearchStrategy] = [
        st.sampled_from([None, 0, b"bytes", ["a"]]),
        st.text(alphabet=alphabet, min_size=space.max_length + 1, max_size=space.max_length + 3),
    ]
    if space.min_length > 0:
        options.append(st.text(alphabet=alphabet, max_size=space.min_length - 1))
    foreign_char = st.characters().filter(lambda c: c not in space.character_set)
    if space.max_length > 0:
        options.append(
            st.tuples(
                st.text(alphabet=alphabet, max_size=max(space.max_length - 1, 0)), foreign_char
            ).map(lambda t: t[0] + t[1])
        )
    return options


def _dict_outside(space: spaces.Dict) -> list[st.SearchStrategy]:
    inside = from_space(space)
    options: list[st.SearchStrategy] = [
        st.sampled_from([None, 0, "not-a-dict", []]),
        inside.map(lambda d: {**d, "__unexpected_key__": 0}),
    ]
    keys = list(space.spaces)
    if keys:
        options.append(
            st.tuples(inside, st.sampled_from(keys)).map(
                lambda t: {k: v for k, v in t[0].items() if k != t[1]}
            )
        )

        @st.composite
        def one_bad_value(draw: st.DrawFn) -> dict:
            value = dict(draw(inside))
            key = draw(st.sampled_from(keys))
            value[key] = draw(outside_space(space.spaces[key]))
            return value

        options.append(one_bad_value())
    return options


def _tuple_outside(space: spaces.Tuple) -> list[st.SearchStrategy]:
    inside = from_space(space)
    n = len(space.spaces)
    options: list[st.SearchStrategy] = [
        st.sampled_from([None, 0, "not-a-tuple"]),
        inside.map(lambda t: (*t, 0)),
    ]
    if n:
        options.append(inside.map(lambda t: t[:-1]))

        @st.composite
        def one_bad_item(draw: st.DrawFn) -> tuple:
            value = list(draw(inside))
            i = draw(st.integers(0, n - 1))
            value[i] = draw(outside_space(space.spaces[i]))
            return tuple(value)

        options.append(one_bad_item())
    return options


def _sequence_outside(space: spaces.Sequence) -> list[st.SearchStrategy]:
    feature = space.feature_space
    if space.stack:
        options: list[st.SearchStrategy] = [st.sampled_from([None, 0, "not-a-sequence"])]
        # stacked items of the wrong shape (or of an unsafely castable dtype)
        stacked = st.lists(from_space(feature), min_size=1, max_size=3).map(
            lambda xs: _stack(feature, xs)
        )
        options.append(stacked.map(_corrupt_stacked))
        if isinstance(feature, spaces.Box):
            bad = _uncastable_dtype(np.dtype(feature.dtype))
            options.append(stacked.map(lambda x: x.astype(bad)))
        return options
    return [
        st.sampled_from([None, 0, "not-a-sequence"]),
        st.lists(outside_space(feature), min_size=1, max_size=3).map(tuple),
        st.tuples(st.lists(from_space(feature), max_size=3), outside_space(feature)).map(
            lambda t: (*t[0], t[1])
        ),
    ]


def _corrupt_stacked(x: Any) -> Any:
    """Give one leaf of a stacked (batched) value the wrong shape."""
    if isinstance(x, np.ndarray):
        return x[..., None]
    if isinstance(x, dict) and x:
        key = next(iter(x))
        return {**x, key: _corrupt_stacked(x[key])}
    if isinstance(x, tuple) and x:
        return (
            (_corrupt_stacked(x[0]), *x[1:])
            if isinstance(x[0], np.ndarray)
            else (
                _Opaque(),
                *x[1:],
            )
        )
    return _Opaque()


def _graph_outside(space: spaces.Graph) -> list[st.SearchStrategy]:
    inside = from_space(space)
    options: list[st.SearchStrategy] = [
        st.sampled_from([None, 0, "not-a-graph"]),
        inside.map(lambda g: (g.nodes, g.edges, g.edge_links)),  # a plain tuple
        # a bad node
        st.tuples(inside, outside_space(space.node_space)).map(
            lambda t: spaces.GraphInstance(np.asarray([t[1]], dtype=object), None, None)
        ),
    ]
    if space.edge_space is not None:
        edge = from_space(space.edge_space)

        @st.composite
        def dangling_link(draw: st.DrawFn) -> spaces.GraphInstance:
            g = draw(inside)
            n = len(g.nodes)
            edges = _stack(space.edge_space, [draw(edge)])
            links = np.array([[0, n + draw(st.integers(0, 3))]], dtype=np.int64)
            return spaces.GraphInstance(g.nodes, edges, links)

        options.append(dangling_link())
    return options


def _oneof_outside(space: spaces.OneOf) -> list[st.SearchStrategy]:
    n = len(space.spaces)
    options: list[st.SearchStrategy] = [
        st.sampled_from([None, 0, "not-a-choice"]),
        from_space(space).map(lambda t: (np.int64(n), t[1])),
        from_space(space).map(lambda t: (np.int64(-1), t[1])),
    ]
    if n:
        options.append(
            st.integers(0, n - 1).flatmap(
                lambda i: outside_space(space.spaces[i]).map(lambda v: (np.int64(i), v))
            )
        )
    return options


def outside_space(space: spaces.Space) -> st.SearchStrategy:
    """A Hypothesis strategy drawing values that ``space.contains`` rejects.

    Draws wrong types, wrong shapes, wrong (unsafely castable) dtypes, out-of-bounds elements,
    NaN, missing/extra keys, and values with a single bad component inside otherwise valid
    composite values. Every drawn value satisfies ``not space.contains(value)``.
    """
    try:
        return _outside_cached(space)
    except TypeError:
        return _build_outside(space)


@lru_cache(maxsize=256)
def _outside_cached(space: spaces.Space) -> st.SearchStrategy:
    return _build_outside(space)


def _build_outside(space: spaces.Space) -> st.SearchStrategy:
    if isinstance(space, spaces.Box):
        options = _box_outside(space)
    elif isinstance(space, spaces.Discrete):
        options = _discrete_outside(space)
    elif isinstance(space, spaces.MultiDiscrete):
        low = np.asarray(space.start)
        options = _multi_outside(space, low, low + np.asarray(space.nvec) - 1)
    elif isinstance(space, spaces.MultiBinary):
        options = _multi_outside(space, np.zeros(space.shape), np.ones(space.shape))
    elif isinstance(space, spaces.Text):
        options = _text_outside(space)
    elif isinstance(space, spaces.Dict):
        options = _dict_outside(space)
    elif isinstance(space, spaces.Tuple):
        options = _tuple_outside(space)
    elif isinstance(space, spaces.Sequence):
        options = _sequence_outside(space)
    elif isinstance(space, spaces.Graph):
        options = _graph_outside(space)
    elif isinstance(space, spaces.OneOf):
        options = _oneof_outside(space)
    else:
        raise InvalidArgument(f"envgen.testing has no strategy for space {space!r}")
    return st.one_of(*options).filter(lambda v: _rejects(space, v))


def _rejects(space: spaces.Space, value: Any) -> bool:
    """True when ``space.contains(value)`` returns False (an exception is not a rejection)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return not space.contains(value)
        except Exception:
            return False
