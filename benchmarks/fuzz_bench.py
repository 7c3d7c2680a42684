"""How long the default `envgen fuzz` suite takes per env, and whether each stays in its budget.

    python benchmarks/fuzz_bench.py [--examples N] [--budget S] [--repeat R] [--quick] [ENV ...]

The default suite: Gymnasium's bundled classic-control and toy-text envs, a few MiniGrid envs
(their time limit is `max_steps`), one EzPickle env (Box2D's CarRacing, 10 ms a step), a
deliberately slow env (tests/testing/broken_envs.py:SlowWalker, 20 ms a step) and a vector env
(`gym.make_vec("CartPole-v1", 2, "sync")`). `--quick` keeps the bundled envs only.

A benchmark, not a test: it prints wall-clock seconds per env (best of --repeat runs) against
the budget, what the budget cut, and the slowest properties, and exits 0 whatever the timings.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders rgb_array without a display

import gymnasium as gym  # noqa: E402

from envgen.testing import fuzz, resolve_target  # noqa: E402

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
MINIGRID = ["MiniGrid-Empty-5x5-v0", "MiniGrid-DoorKey-5x5-v0", "MiniGrid-FourRooms-v0"]
EZPICKLE = ["CarRacing-v3"]
SLOW = f"{ROOT / 'tests' / 'testing' / 'broken_envs.py'}:SlowWalker"
VECTOR = "CartPole-v1@sync"


def registered(name: str) -> str | None:
    for candidate in name.split("|"):
        if candidate in gym.registry:
            return candidate
    return None


def target_of(name: str):
    """An env id, `path.py:Class`, or `id@mode` for gym.make_vec(id, 2, mode)."""
    if "@" in name:
        env_id, mode = name.split("@")
        return resolve_target(env_id, vector=mode)
    return registered(name) or name


def default_suite(quick: bool) -> list[str]:
    suite = list(CLASSIC)
    if quick:
        return suite
    for module, names in (("minigrid", MINIGRID), ("Box2D", EZPICKLE)):
        try:
            importlib.import_module(module)
        except ImportError:
            print(f"({module} not installed: skipping {', '.join(names)})")
            continue
        suite += names
    return [*suite, SLOW, VECTOR]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="env ids, path.py:Class, or id@sync (vector)")
    parser.add_argument("--examples", type=int, default=None, help="examples per property")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per env (0: none)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per env (best is shown)")
    parser.add_argument("--quick", action="store_true", help="the bundled envs only")
    args = parser.parse_args()
    with_minigrid = importlib.util.find_spec("minigrid") is not None
    if with_minigrid:
        import minigrid  # noqa: F401  (registers the MiniGrid ids)
    names = args.envs or default_suite(args.quick)
    settings = {"budget": args.budget or None}
    if args.examples is not None:
        settings["examples"] = args.examples

    budget = f"budget {args.budget:g}s per env" if args.budget else "no budget"
    print(f"gymnasium {gym.__version__}; default suite, {budget}")
    print(f"{'env':32s} {'seconds':>8s} {'in budget':>9s}  {'ok':3s} slowest properties")
    total, cuts = 0.0, []
    for name in names:
        target = target_of(name)
        best, report = float("inf"), None
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = fuzz(target, **settings)
            best = min(best, time.perf_counter() - start)
        total += best
        label = report.targets[0] if report.targets else name
        label = label.rsplit("/", 1)[-1] if ".py:" in label else label
        inside = "yes" if not args.budget or best <= args.budget else "NO"
        slowest = sorted(report.results, key=lambda r: -r.seconds)[:3]
        slow = ", ".join(f"{r.property} {r.seconds:.2f}s" for r in slowest)
        ok = "yes" if report.ok else "NO"
        print(f"{label:32s} {best:8.2f} {inside:>9s}  {ok:3s} {slow}")
        for notes in report.notes.values():
            cuts.extend(f"{label}: {note}" for note in notes)
        if not report.ok:
            cuts.extend(f"{label}: FAILED {r.property}: {r.message[:150]}" for r in report.failures)
    print(f"{'total':32s} {total:8.2f}")
    for line in cuts:
        print(line)


if __name__ == "__main__":
    main()
