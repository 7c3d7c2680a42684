"""Conformance testing for any Gymnasium env (placeholder, see issue 3)."""
