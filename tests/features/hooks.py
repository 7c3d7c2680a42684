"""Trusted hooks used by tests/test_spec_features.py (imported as `features.hooks`)."""

CALLS: list[str] = []


def blow(env) -> None:
    CALLS.append("after_step")
    env.x = env.x + env.wind


def start(env) -> None:
    CALLS.append("after_reset")
