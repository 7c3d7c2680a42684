"""Turns per second of the generated PettingZoo envs beside PettingZoo's own classic games,
measured with PettingZoo's `performance_benchmark` (random agents through the AEC API) in
one run, so the rows compare with each other on any machine.

    python benchmarks/multiagent_bench.py
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import warnings

from pettingzoo.test import performance_benchmark

import envgen.multiagent

TARGETS = [
    "envgen/RockPaperScissors-v0",
    "pettingzoo.classic.rps_v2",
    "envgen/TicTacToe-v0",
    "pettingzoo.classic.tictactoe_v3",
    "envgen/Landmarks-v0",
    "envgen/Pursuit-v0",
]


def measure(target: str) -> tuple[float, float]:
    """(turns per second, cycles per second) of `performance_benchmark` on the AEC env."""
    if target.startswith("pettingzoo."):
        env = importlib.import_module(target).env()
    else:
        env = envgen.multiagent.make(target)
    printed = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
        warnings.simplefilter("ignore")
        performance_benchmark(env)
    turns, cycles = re.findall(r"([\d.]+) (?:turns|cycles) per second", printed.getvalue())
    return float(turns), float(cycles)


def main() -> None:
    print(f"| {'env':<34} | {'turns/s':>9} | {'cycles/s':>9} |")
    print(f"|{'-' * 36}|{'-' * 10}:|{'-' * 10}:|")
    for target in TARGETS:
        turns, cycles = measure(target)
        print(f"| {target:<34} | {turns:>9,.0f} | {cycles:>9,.0f} |")


if __name__ == "__main__":
    main()
