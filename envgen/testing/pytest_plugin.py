"""pytest plugin entry point for envgen conformance tests."""
