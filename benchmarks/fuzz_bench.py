"""How long the default `envgen fuzz` suite takes per env, for Gymnasium's bundled envs.

    python benchmarks/fuzz_bench.py [--examples N] [--repeat R] [ENV_ID ...]

A benchmark, not a test: it prints wall-clock seconds per env (best of --repeat runs) and the
slowest properties, and exits 0 whatever the timings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gymnasium as gym  # noqa: E402

from envgen.testing import fuzz  # noqa: E402

CLASSIC = [
    "CartPole-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
    "Acrobot-v1",
    "FrozenLake-v1",
    "Taxi-v4|Taxi-v3",
    "CliffWalking-v1|CliffWalking-v0",
    "Blackjack-v1",
]


def registered(name: str) -> str | None:
    for candidate in name.split("|"):
        if candidate in gym.registry:
            return candidate
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="env ids (default: the bundled classic envs)")
    parser.add_argument("--examples", type=int, default=None, help="examples per property")
    parser.add_argument("--repeat", type=int, default=1, help="runs per env (best is shown)")
    args = parser.parse_args()
    envs = [e for e in (registered(n) for n in (args.envs or CLASSIC)) if e]
    settings = {} if args.examples is None else {"examples": args.examples}

    print(f"gymnasium {gym.__version__}; default suite{'' if not settings else f' {settings}'}")
    print(f"{'env':28s} {'seconds':>8s}  {'ok':4s} slowest properties")
    total = 0.0
    for env_id in envs:
        best, report = float("inf"), None
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = fuzz(env_id, **settings)
            best = min(best, time.perf_counter() - start)
        total += best
        slowest = sorted(report.results, key=lambda r: -r.seconds)[:3]
        slow = ", ".join(f"{r.property} {r.seconds:.2f}s" for r in slowest)
        print(f"{env_id:28s} {best:8.2f}  {'yes' if report.ok else 'NO':4s} {slow}")
    print(f"{'total':28s} {total:8.2f}")


if __name__ == "__main__":
    main()
