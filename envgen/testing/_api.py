"""The helpers of ``envgen.testing`` that combine the pieces (imported lazily by __init__)."""

from __future__ import annotations

from typing import Any

from ._properties import ERROR, PROPERTIES, SKIP
from ._runner import PropertyResult, Report, fuzz
from ._targets import Target, resolve_targets

__all__ = [
    "ConformanceWarning",
    "assert_conforms",
    "conformance_tests",
    "format_result",
    "properties",
]


class ConformanceWarning(UserWarning):
    """A property that passed with a caveat (e.g. an invalid action accepted, in lenient mode)."""


def properties() -> dict[str, str]:
    """Property names mapped to their one-line contracts, in the order they run."""
    return {name: prop.contract for name, prop in PROPERTIES.items()}


def format_result(result: PropertyResult) -> str:
    """A failure or warning as text: the message, then the reproduction."""
    text = f"[{result.status}] {result.target} / {result.property}: {result.message}"
    if result.reproduction:
        text += "\n\nReproduction:\n\n" + result.reproduction
    if result.status == ERROR and result.detail:
        text += "\n" + result.detail
    return text


def assert_conforms(target: Any, *, properties: Any = None, **settings: Any) -> Report:
    """Fuzz ``target``; raise ``AssertionError`` (with reproductions) when a contract fails.

    Warnings are re-issued as :class:`ConformanceWarning`. Returns the report otherwise.
    """
    import warnings

    report = fuzz(target, properties=properties, **settings)
    for result in report.warnings:
        warnings.warn(format_result(result), ConformanceWarning, stacklevel=2)
    if not report.ok:
        raise AssertionError("\n\n".join(format_result(r) for r in report.failures))
    return report


def conformance_tests(target: Any, *, properties: Any = None, **settings: Any) -> Any:
    """A pytest test function, parametrized with one test per property, for ``target``.

    In a test module::

        from envgen.testing import conformance_tests

        test_my_env = conformance_tests("MyEnv-v0", examples=20)

    Failures show the contract that broke and a runnable reproduction; skipped properties are
    skipped; warnings become :class:`ConformanceWarning`.
    """
    import warnings

    import pytest

    from ._runner import check_property_names

    names = check_property_names(properties)
    cache: dict[str, list[Target]] = {}

    def targets() -> list[Target]:
        if "targets" not in cache:
            cache["targets"] = resolve_targets(target)
        return cache["targets"]

    @pytest.mark.parametrize("envgen_property", names)
    def test_conformance(envgen_property: str) -> None:
        report = fuzz(targets(), properties=[envgen_property], **settings)
        failures = report.failures
        if failures:
            pytest.fail("\n\n".join(format_result(r) for r in failures), pytrace=False)
        for result in report.warnings:
            warnings.warn(format_result(result), ConformanceWarning, stacklevel=1)
        if all(r.status == SKIP for r in report.results):
            pytest.skip("; ".join(r.message for r in report.results))

    test_conformance.__doc__ = f"envgen conformance properties for {target!r}"
    return test_conformance
