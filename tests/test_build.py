"""The build command: freshness check, all-or-nothing writes, lint-clean output, exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SPECS, run_envgen


def test_committed_generated_package_is_fresh() -> None:
    result = run_envgen("build", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_build_into_a_new_folder_then_check_then_noop(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    first = run_envgen("build", str(SPECS), "-o", str(out), check=True)
    assert "written" in first.stdout
    names = sorted(p.name for p in out.glob("*.py"))
    assert "__init__.py" in names and len(names) >= 10
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*.py")}
    again = run_envgen("build", str(SPECS), "-o", str(out), check=True)
    assert "0 written, 0 removed" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.py")} == mtimes
    assert run_envgen("build", str(SPECS), "-o", str(out), "--check").returncode == 0


def test_check_reports_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    run_envgen("build", str(SPECS), "-o", str(out), check=True)
    target = out / "envgen_go_left_v0.py"
    target.write_text(target.read_text() + "\n# edited by hand\n")
    result = run_envgen("build", str(SPECS), "-o", str(out), "--check")
    assert result.returncode == 1
    assert "stale:" in result.stderr and "envgen_go_left_v0.py" in result.stderr


def test_generated_code_passes_ruff_check_and_format() -> None:
    ruff = [sys.executable, "-m", "ruff"]
    generated = str(ROOT / "generated")
    check = subprocess.run([*ruff, "check", generated], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([*ruff, "format", "--check", generated], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_a_broken_spec_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    out = tmp_path / "pkg"
    run_envgen("build", str(specs), "-o", str(out), check=True)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    broken = specs / "go_left.yaml"
    broken.write_text(broken.read_text().replace("pos = clip(pos", "pos = clip(positon"))
    result = run_envgen("build", str(specs), "-o", str(out))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "go_left.yaml:11:" in result.stderr and "unknown name 'positon'" in result.stderr
    assert "hint:" in result.stderr
    assert "nothing was written" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_validate_lists_each_spec() -> None:
    result = run_envgen("validate", str(SPECS / "go_left.yaml"), check=True)
    assert "ok  envgen/GoLeft-v0" in result.stdout


def test_usage_errors_exit_2() -> None:
    result = run_envgen("biuld")
    assert result.returncode == 2
    assert "Did you mean 'build'?" in result.stderr
    missing = run_envgen("build", "no/such/folder")
    assert missing.returncode == 1
    assert "no such file or folder" in missing.stderr


def test_project_code_is_lint_clean() -> None:
    """The compiler, its tests and benchmarks pass the same ruff checks as generated code."""
    paths = [str(ROOT / name) for name in ("envgen", "tests", "benchmarks")]
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", *paths], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([*ruff, "format", "--check", *paths], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


# --- the content-hash build cache (envgen/_build_cache.py) ---------------------------------


def _specs_copy(tmp_path: Path) -> Path:
    """A few specs (single-agent, with and without a vector env, and a multi-agent one)."""
    specs = tmp_path / "specs"
    for name in ("go_left.yaml", "classic/cartpole.yaml", "multiagent/tic_tac_toe.yaml"):
        target = specs / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SPECS / name, target)
    return specs


def _compile(specs: Path, tmp_path: Path, cache):
    from envgen.build import compile_specs

    compiled = compile_specs([specs], tmp_path / "pkg", cache=cache)
    assert not compiled.diagnostics, compiled.diagnostics
    return compiled


def test_unchanged_specs_cost_no_emit_and_no_formatting(tmp_path: Path, monkeypatch) -> None:
    from envgen import build
    from envgen._build_cache import BuildCache

    specs = _specs_copy(tmp_path)
    store = BuildCache.open(tmp_path / "cache")
    assert store is not None
    fresh = _compile(specs, tmp_path, None)
    cold = _compile(specs, tmp_path, store)
    assert cold.files == fresh.files and cold.notes == fresh.notes
    assert (store.hits, store.misses) == (0, 4)  # 3 specs and the registry

    def refuse(*args, **kwargs):
        raise AssertionError("an unchanged spec was emitted or formatted again")

    for name in ("emit_env", "emit_multiagent", "_emit_vector", "_emit_jax", "format_sources"):
        monkeypatch.setattr(build, name, refuse)
    warm = _compile(specs, tmp_path, store)
    assert warm.files == fresh.files and warm.notes == fresh.notes
    assert [m.vector_notes for m in warm.models] == [m.vector_notes for m in fresh.models]
    assert (store.hits, store.misses) == (4, 4)
    monkeypatch.undo()

    # one spec edited: only it (and the registry, whose text changed) is emitted again
    edited = specs / "go_left.yaml"
    edited.write_text(edited.read_text().replace("GoLeft-v0", "GoLeftEdited-v0"))
    emitted = []
    real_emit = build.emit_env
    monkeypatch.setattr(
        build,
        "emit_env",
        lambda model, *a, **k: emitted.append(model.spec.id) or real_emit(model, *a, **k),
    )
    again = _compile(specs, tmp_path, store)
    assert emitted == ["envgen/GoLeftEdited-v0"]
    assert again.files == _compile(specs, tmp_path, None).files


def test_corrupt_or_tampered_cache_entries_are_ignored(tmp_path: Path) -> None:
    import hashlib
    import json

    from envgen._build_cache import BuildCache

    specs = _specs_copy(tmp_path)
    fresh = _compile(specs, tmp_path, None)
    _compile(specs, tmp_path, BuildCache.open(tmp_path / "cache"))
    entries = sorted((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == 4
    # truncated, not JSON, the wrong shape, and edited code (its plain hash recomputed)
    entries[0].write_bytes(entries[0].read_bytes()[:100])
    entries[1].write_text("not json {", encoding="utf-8")
    entries[2].write_text(json.dumps([1, 2, 3]), encoding="utf-8")
    data = json.loads(entries[3].read_text(encoding="utf-8"))
    value = data["value"]
    name = next(iter(value["files"]))
    value["files"][name] += "\nimport os\nos.system('echo pwned')\n"
    data["mac"] = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    entries[3].write_text(json.dumps(data), encoding="utf-8")
    store = BuildCache.open(tmp_path / "cache")
    again = _compile(specs, tmp_path, store)
    assert (store.hits, store.misses) == (0, 4)
    assert again.files == fresh.files
    assert not any("pwned" in text for text in again.files.values())
    # the damaged entries were replaced by good ones
    store = BuildCache.open(tmp_path / "cache")
    assert _compile(specs, tmp_path, store).files == fresh.files
    assert (store.hits, store.misses) == (4, 0)


def test_cache_entries_are_keyed_by_the_compiler_and_never_shared_across_versions(
    tmp_path: Path, monkeypatch
) -> None:
    import envgen
    from envgen import _build_cache
    from envgen._build_cache import BuildCache

    specs = _specs_copy(tmp_path)
    store = BuildCache.open(tmp_path / "cache")
    _compile(specs, tmp_path, store)
    key = store.key("x")
    monkeypatch.setattr(envgen, "__version__", envgen.__version__ + ".post1")
    _build_cache.compiler_fingerprint.cache_clear()
    try:
        assert store.key("x") != key
        _compile(specs, tmp_path, store)
        assert store.hits == 0 and store.misses == 8
    finally:
        monkeypatch.undo()
        _build_cache.compiler_fingerprint.cache_clear()
    assert store.key("x") == key  # the fingerprint hashes envgen's own source files too


def test_cache_folder_that_others_can_write_is_not_used(tmp_path: Path, monkeypatch) -> None:
    from envgen._build_cache import BuildCache, cache_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert BuildCache.open(shared) is None
    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    store = BuildCache.open()
    assert store is not None
    assert (tmp_path / "mine" / "key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("ENVGEN_BUILD_CACHE", "0")
    assert BuildCache.open() is None


def test_cli_build_uses_the_cache_says_so_and_no_cache_rebuilds(tmp_path: Path) -> None:
    import json
    import os

    specs = _specs_copy(tmp_path)
    env = {**os.environ, "ENVGEN_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "pkg"
    said = []

    def build(*extra: str) -> dict[str, bytes]:
        result = run_envgen("build", str(specs), "-o", str(out), *extra, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "warning" not in result.stderr, result.stderr
        said.append(result.stdout.splitlines()[-1])
        return {p.name: p.read_bytes() for p in out.glob("*.py")}

    first = build()
    assert "from the build cache" not in said[-1]
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == 4
    # every entry (the registry too) has one layout: the module texts under "files"
    assert all("files" in json.loads(e.read_text())["value"] for e in entries)
    for entry in entries:  # a hit refreshes an entry's time (the LRU trim reads it)
        os.utime(entry, (0, 0))
    shutil.rmtree(out)
    assert build() == first  # from the cache into a new folder
    assert all(entry.stat().st_mtime > 0 for entry in entries), "the cache was not read"
    assert "built 3 envs into" in said[-1] and "(3 from the build cache)" in said[-1]
    shutil.rmtree(out)
    shutil.rmtree(tmp_path / "cache")
    assert build("--no-cache") == first
    assert "from the build cache" not in said[-1]
    assert not (tmp_path / "cache").exists()


def test_an_unusable_cache_folder_is_said_once_and_the_build_goes_on(tmp_path: Path) -> None:
    import os

    specs = _specs_copy(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    out = tmp_path / "pkg"
    result = run_envgen(
        "build", str(specs), "-o", str(out), env={**os.environ, "ENVGEN_CACHE_DIR": str(shared)}
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning") == 1, result.stderr
    assert "building without the cache" in result.stderr and str(shared) in result.stderr
    assert "only you can write" in result.stderr
    assert (out / "__init__.py").is_file() and list(shared.iterdir()) == []


def test_a_cache_folder_inside_the_output_or_the_specs_is_refused(tmp_path: Path) -> None:
    import os

    specs = _specs_copy(tmp_path)
    out = tmp_path / "pkg"
    inside = out / "cache"  # the package would ship the signing key
    env = {**os.environ, "ENVGEN_CACHE_DIR": str(inside)}
    for _ in range(2):  # a new output folder, then an existing one
        result = run_envgen("build", str(specs), "-o", str(out), env=env)
        assert result.returncode == 0, result.stderr
        assert "lies inside the output package" in result.stderr
        assert "ENVGEN_CACHE_DIR" in result.stderr
        assert not inside.exists()
        assert (out / "__init__.py").is_file()
    in_specs = specs / "cache"  # it would be committed with the specs
    env = {**os.environ, "ENVGEN_CACHE_DIR": str(in_specs)}
    result = run_envgen("build", str(specs), "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert "lies inside the spec folder" in result.stderr and not in_specs.exists()


def test_cache_keeps_the_most_recently_used_entries(tmp_path: Path) -> None:
    import os

    from envgen._build_cache import BuildCache

    store = BuildCache.open(tmp_path / "cache")
    keys = [store.key(str(i)) for i in range(5)]
    for age, key in enumerate(keys):
        store.put(key, {"text": key})
        path = store._path(key)
        os.utime(path, ns=(age * 10**9, age * 10**9))
    assert store.get(keys[0]) == {"text": keys[0]}  # used now: the newest
    assert store.trim(keep=3) == 2
    assert [store.get(k) is not None for k in keys] == [True, False, False, True, True]


def test_hostile_cache_entries_neither_crash_nor_hang_the_build(tmp_path: Path) -> None:
    import os

    from envgen._build_cache import BuildCache

    specs = _specs_copy(tmp_path)
    fresh = _compile(specs, tmp_path, None)
    _compile(specs, tmp_path, BuildCache.open(tmp_path / "cache"))
    entries = sorted((tmp_path / "cache").rglob("*.json"))
    entries[0].write_text("[" * 100_000 + "]" * 100_000)  # RecursionError in json.loads
    entries[1].unlink()
    os.mkfifo(entries[1])  # opening it for reading would block
    entries[2].unlink()
    entries[2].symlink_to("/dev/zero")  # endless
    with entries[3].open("wb") as handle:  # larger than any entry may be
        handle.truncate(64 * 1024 * 1024)
    store = BuildCache.open(tmp_path / "cache")
    assert _compile(specs, tmp_path, store).files == fresh.files
    assert (store.hits, store.misses) == (0, 4)
    assert _compile(specs, tmp_path, BuildCache.open(tmp_path / "cache")).files == fresh.files
    key = tmp_path / "other" / "key"
    key.parent.mkdir(mode=0o700)
    os.mkfifo(key, 0o600)
    assert BuildCache.open(key.parent) is None  # not a regular file: no cache, no hang


def test_an_internal_error_names_the_spec_line_the_bad_code_came_from(
    tmp_path: Path, monkeypatch
) -> None:
    """A compiler bug caught by the pyflakes guard is located at the spec statement whose
    emitted line failed, not at the spec's id (newcomer trial 2, F6: `1:5`, i.e. nowhere).
    The bug is planted: the guard reports the vector module's line for `board[h] = 1` with
    a compiler-made name, as F6's did."""
    from envgen import build
    from envgen.backends.python import EmittedCodeError, Finding

    spec = tmp_path / "specs" / "board.yaml"
    spec.parent.mkdir()
    spec.write_text(
        "id: test/Board-v0\n"
        "params:\n"
        "  n: {default: 4, ge: 2}\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: 0, high: 9, shape: [n], dtype: int64}}\n"
        "state:\n"
        "  h: {dtype: int64, init: n // 2}\n"
        "  board: {dtype: int64, shape: [n], init: 0}\n"
        "reset: |\n"
        "  board[0] = 2\n"
        "  board[h] = 1\n"
        "step: |\n"
        "  board[action] = 2\n"
        "observation: board\n"
        "max_episode_steps: 5\n",
        encoding="utf-8",
    )

    def buggy(pending: dict[str, str]) -> dict[str, str]:
        name = next(n for n in pending if n.endswith("_vector.py"))
        lines = pending[name].splitlines()
        row = next(i for i, t in enumerate(lines) if "board[" in t and "h" in t and "= 1" in t)
        message = "Undefined name `_n`"
        raise EmittedCodeError([Finding(name, row + 1, "F821", message, lines[row].strip())])

    monkeypatch.setattr(build, "format_sources", buggy)
    compiled = build.compile_specs([spec.parent], tmp_path / "pkg")
    [diagnostic] = compiled.diagnostics
    assert diagnostic.code == "internal" and "_n" in diagnostic.message
    assert (diagnostic.location.line, diagnostic.location.column) == (11, 3), diagnostic.format()
    assert compiled.files == {}


@pytest.mark.parametrize(
    ("variants", "id_", "words", "line"),
    [
        # one id to Gymnasium: the second replaced the first's params (hostile trial 4 H10);
        # `line`: the spec's line, or ("variant", k) for the k-th variant line
        ("  t/V-v0: {size: 4}\n  t/V-v00: {size: 5}\n", "t/G-v0", "are one id", ("variant", 2)),
        ("", "CartPole-v1", "is Gymnasium's own env", 2),  # trial 2 B30
        ("  MountainCar-v0: {size: 4}\n", "t/G-v0", "is Gymnasium's own env", ("variant", 1)),
    ],
)
def test_ids_that_gymnasium_would_confuse_are_build_errors(
    tmp_path: Path, variants: str, id_: str, words: str, line
) -> None:
    from envgen.build import compile_specs

    text = (SPECS / "go_left.yaml").read_text().replace("envgen/GoLeft-v0", id_).rstrip("\n")
    spec = tmp_path / "g.yaml"
    spec.write_text(text + "\n" + (f"variants:\n{variants}" if variants else ""))
    if isinstance(line, tuple):  # after the spec's lines and `variants:`
        line = text.count("\n") + 2 + line[1]
    compiled = compile_specs([spec])
    [diagnostic] = compiled.diagnostics
    assert diagnostic.code == "duplicate-id" and words in diagnostic.message, diagnostic.format()
    assert diagnostic.location.line == line, diagnostic.format()
