"""How long `envgen build` takes for 50 specs: fresh, unchanged, and with one spec edited.

    python benchmarks/build_bench.py

Makes 50 specs in a temporary folder (copies of specs/, each copy with its own ids), then
times the real CLI (`python -m envgen.cli build`, a new process each time, imports
included; wall time, and CPU time of the build and its ruff runs, which a loaded machine
does not inflate) with an empty build cache, again with nothing changed, and after editing one
spec. The cache lives in the temporary folder (ENVGEN_CACHE_DIR), so runs do not share it.
Each row is the median of `--repeat` runs (default 3; the fresh row empties the cache first).

Where the wall time goes on a loaded machine: the "waiting" column is the time the build's
main thread was ready to run but had no CPU (Linux's /proc/self/schedstat, read at exit),
so wall ~= CPU + waiting + start-up; the last row is `python -c "import envgen.build"`.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNT = 50


def make_specs(folder: Path, count: int) -> int:
    """`count` specs under `folder`: copies of specs/, each copy with its own ids."""
    originals = sorted((ROOT / "specs").rglob("*.y*ml"))
    made = 0
    copy = 0
    while made < count:
        for spec in originals:
            text = spec.read_text(encoding="utf-8")
            # every id (and variant id) gets the copy's number: `acme/Env-v0` -> `acme/EnvC3-v0`
            text = re.sub(
                r"(^|\n)(\s*)(id:\s*)([\w./-]+?)(-v\d+)",
                lambda m, c=copy: f"{m[1]}{m[2]}{m[3]}{m[4]}C{c}{m[5]}",
                text,
            )
            text = re.sub(
                r"(\n\s+)([\w./]+?)(-v\d+)(:\s*\{)",
                lambda m, c=copy: f"{m[1]}{m[2]}C{c}{m[3]}{m[4]}",
                text,
            )
            target = folder / f"c{copy}" / spec.relative_to(ROOT / "specs")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            made += 1
            if made == count:
                break
        copy += 1
    return made


#: Runs the CLI like `python -m envgen.cli`, then writes the main thread's schedstat (CPU
#: ns, ns waiting for a CPU) to the file $BUILD_BENCH_SCHEDSTAT names.
CHILD = """
import atexit, os, sys
def _report():
    try:
        with open("/proc/self/schedstat") as f, open(os.environ["BUILD_BENCH_SCHEDSTAT"], "w") as o:
            o.write(f.read())
    except OSError:
        pass
atexit.register(_report)
sys.argv[0] = "envgen"
from envgen.cli import main
main()
"""


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (the process and the ruff processes it ran), seconds its
    main thread waited for a CPU (nan where unknown), and the last line it printed."""
    stat_file = cwd / "schedstat"
    stat_file.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**env, "BUILD_BENCH_SCHEDSTAT": str(stat_file)},
        cwd=cwd,
        check=False,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    try:
        waited = int(stat_file.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        waited = float("nan")
    lines = result.stdout.strip().splitlines()
    return seconds, cpu, waited, lines[-1] if lines else ""


def timed_build(specs: Path, out: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    command = [sys.executable, "-c", CHILD, "build", str(specs), "-o", str(out)]
    return timed(command, env, specs.parent)


def median_row(name: str, runs: list[tuple[float, float, float, str]]) -> tuple:
    return (
        name,
        statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
        runs[-1][3],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (the median)")
    repeat = parser.parse_args().repeat
    folder = Path(tempfile.mkdtemp(prefix="envgen-build-bench-"))
    try:
        specs = folder / "specs"
        made = make_specs(specs, COUNT)
        env = {**os.environ, "ENVGEN_CACHE_DIR": str(folder / "cache")}
        out = folder / "pkg"
        rows = []
        runs = []
        for _ in range(repeat):
            shutil.rmtree(folder / "cache", ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            runs.append(timed_build(specs, out, env))
        rows.append(median_row("fresh (empty cache)", runs))
        rows.append(median_row("unchanged", [timed_build(specs, out, env) for _ in range(repeat)]))
        edited = next(specs.rglob("cartpole.yaml"))
        edited.write_text(edited.read_text() + "\n# edited\n", encoding="utf-8")
        rows.append(median_row("one spec edited", [timed_build(specs, out, env)]))
        runs = []
        for _ in range(repeat):
            shutil.rmtree(out)
            runs.append(timed_build(specs, out, env))
        rows.append(median_row("new output folder, warm cache", runs))
        nocache = {**env, "ENVGEN_BUILD_CACHE": "0"}
        shutil.rmtree(out)
        rows.append(
            median_row("cache off (ENVGEN_BUILD_CACHE=0)", [timed_build(specs, out, nocache)])
        )
        imports = [sys.executable, "-c", "import envgen.build"]
        rows.append(
            median_row(
                "(python -c 'import envgen.build')",
                [timed(imports, env, folder) for _ in range(repeat)],
            )
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{made} specs, {os.cpu_count()} CPUs, load average {load:.1f}, median of {repeat}")
        print("| build | wall seconds | CPU seconds | waiting for a CPU | envgen's summary |")
        print("|---|---|---|---|---|")
        for name, secs, cpu, waited, text in rows:
            print(f"| {name} | {secs:.2f} | {cpu:.2f} | {waited:.2f} | {text.split(': ', 1)[-1]} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
