"""The long compiler-fuzzing run: `python benchmarks/compiler_fuzz.py --examples N`.

Runs tests/test_compiler_fuzz.py with N valid specs and 15*N mutants per test, and
tests/test_hostile_fuzz.py with 6*N/20 hostile mutants (huge and deeply nested literals,
invisible or unrepresentable unicode, names that shadow the generated code, absurd sizes,
non-finite values: each refused cleanly or built, imported and run), with random (not
derandomized) generation and shrinking, so that a failure ends with a minimal spec.
Exit status is pytest's. CI runs the same tests with a bounded, reproducible budget.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=200,
        help="valid specs per test (mutants: 15x as many); default 200",
    )
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default random)")
    parser.add_argument("--no-shrink", action="store_true", help="report failures unshrunk")
    parser.add_argument(
        "-k", default=None, help="only tests matching this pytest expression (e.g. hostile)"
    )
    args = parser.parse_args()

    import pytest

    os.environ["ENVGEN_FUZZ_EXAMPLES"] = str(args.examples / 20)
    os.environ["ENVGEN_FUZZ_RANDOM"] = "1"
    os.environ["ENVGEN_FUZZ_SHRINK"] = "0" if args.no_shrink else "1"
    pytest_args = [
        str(ROOT / "tests" / "test_compiler_fuzz.py"),
        str(ROOT / "tests" / "test_hostile_fuzz.py"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--runxfail",
        "--hypothesis-show-statistics",
    ]
    if args.seed is not None:
        pytest_args.append(f"--hypothesis-seed={args.seed}")
    if args.k:
        pytest_args += ["-k", args.k]
    start = time.perf_counter()
    status = pytest.main(pytest_args)
    print(
        f"compiler fuzz: {args.examples} valid specs and {15 * args.examples} mutants per "
        f"test in {time.perf_counter() - start:.0f}s; exit {int(status)}",
        file=sys.stderr,
    )
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
