"""How long `envgen build` takes for 50 specs: fresh, unchanged, and with one spec edited.

    python benchmarks/build_bench.py

Makes 50 specs in a temporary folder (copies of specs/, each copy with its own ids), then
times the real CLI (`python -m envgen.cli build`, a new process each time, imports
included; wall time, and CPU time of the build and its ruff runs, which a loaded machine
does not inflate) with an empty build cache, again with nothing changed, and after editing one
spec. The cache lives in the temporary folder (ENVGEN_CACHE_DIR), so runs do not share it.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
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


def timed_build(specs: Path, out: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the build and the ruff processes it ran), its summary."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "envgen.cli", "build", str(specs), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=specs.parent,
        check=False,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    return seconds, cpu, result.stdout.strip().splitlines()[-1]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="envgen-build-bench-"))
    try:
        specs = folder / "specs"
        made = make_specs(specs, COUNT)
        env = {**os.environ, "ENVGEN_CACHE_DIR": str(folder / "cache")}
        out = folder / "pkg"
        rows = []
        seconds, cpu, summary = timed_build(specs, out, env)
        rows.append(("fresh (empty cache)", seconds, cpu, summary))
        seconds, cpu, summary = timed_build(specs, out, env)
        rows.append(("unchanged", seconds, cpu, summary))
        edited = next(specs.rglob("cartpole.yaml"))
        edited.write_text(edited.read_text() + "\n# edited\n", encoding="utf-8")
        seconds, cpu, summary = timed_build(specs, out, env)
        rows.append(("one spec edited", seconds, cpu, summary))
        shutil.rmtree(out)
        seconds, cpu, summary = timed_build(specs, out, env)
        rows.append(("new output folder, warm cache", seconds, cpu, summary))
        nocache = {**env, "ENVGEN_BUILD_CACHE": "0"}
        shutil.rmtree(out)
        seconds, cpu, summary = timed_build(specs, out, nocache)
        rows.append(("cache off (ENVGEN_BUILD_CACHE=0)", seconds, cpu, summary))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{made} specs, {os.cpu_count()} CPUs, load average {load:.1f}")
        print("| build | wall seconds | CPU seconds | envgen's summary |")
        print("|---|---|---|---|")
        for name, secs, cpu, text in rows:
            print(f"| {name} | {secs:.2f} | {cpu:.2f} | {text.split(': ', 1)[-1]} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
