"""pytest plugin for envgen conformance tests (registered via the ``pytest11`` entry point).

Loaded by every pytest run in an environment where envgen is installed, so it stays cheap: it
defines one fixture and imports ``envgen.testing`` (Hypothesis, Gymnasium) only when used.

- ``envgen_fuzz`` fixture: ``envgen_fuzz("MyEnv-v0", examples=20)`` runs the property suite and
  fails the test with runnable reproductions when a contract breaks; returns the report.
- For one test per property, see ``envgen.testing.conformance_tests``.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def envgen_fuzz() -> Any:
    """Fuzz an env target: ``report = envgen_fuzz(target, properties=None, **settings)``."""
    from envgen.testing import assert_conforms

    return assert_conforms
