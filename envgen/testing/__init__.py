"""Property-based conformance testing for any Gymnasium env (``envgen fuzz``).

>>> from envgen.testing import fuzz
>>> report = fuzz("CartPole-v1")
>>> report.ok
True

Public API:

- :func:`fuzz` runs the property suite on targets and returns a :class:`Report`;
  :func:`assert_conforms` raises ``AssertionError`` with reproductions instead.
- :data:`PROPERTIES` / :func:`properties`: the property names and their one-line contracts.
- :func:`from_space` / :func:`outside_space`: Hypothesis strategies for values inside/outside
  any Gymnasium space.
- :func:`make_state_machine`: a Hypothesis ``RuleBasedStateMachine`` over reset/step/render/close.
- :func:`conformance_tests`: one pytest test per property, in one line of a test module.
- :func:`resolve_target`: what a target string/class/factory resolves to.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names resolve lazily (PEP 562), so that ``import envgen.testing.pytest_plugin`` -- loaded by
# every pytest run -- does not import Gymnasium and Hypothesis.
_LAZY = {
    "ERROR": "_properties",
    "FAIL": "_properties",
    "PASS": "_properties",
    "PROPERTIES": "_properties",
    "SKIP": "_properties",
    "WARN": "_properties",
    "Settings": "_properties",
    "Violation": "_repro",
    "PropertyResult": "_runner",
    "Report": "_runner",
    "UnknownPropertyError": "_runner",
    "fuzz": "_runner",
    "make_state_machine": "_stateful",
    "from_space": "_strategies",
    "outside_space": "_strategies",
    "Target": "_targets",
    "TargetError": "_targets",
    "resolve_target": "_targets",
    "resolve_targets": "_targets",
    "ConformanceWarning": "_api",
    "assert_conforms": "_api",
    "conformance_tests": "_api",
    "format_result": "_api",
    "properties": "_api",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'envgen.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
