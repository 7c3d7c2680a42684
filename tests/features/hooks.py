"""Trusted hooks (importable as `features.hooks`) used by tests/test_spec_features.py: wind pushes the walker right."""

CALLS: list[str] = []


def blow(env) -> None:
    CALLS.append("after_step")
    env.x = env.x + env.wind


def start(env) -> None:
    CALLS.append("after_reset")
