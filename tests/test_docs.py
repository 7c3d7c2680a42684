"""Every code block in README.md and docs/*.md runs, so the docs cannot rot.

Conventions for fenced code blocks (the first word after the fence is the language; the
rest of the line is read as flags):

- ```` ```python ````: run. The Python blocks of one file run in order in one namespace
  (like a notebook), in a fresh temporary working folder, with the repository root on
  `sys.path` (so `import generated` works).
- ```` ```yaml ```` holding a full spec (a mapping with `id` and `step`): compiled and
  registered with `envgen.build.env_ids_from_specs`, so the Python blocks after it can
  `gym.make` it. Other YAML blocks (pieces of a spec) must at least parse, unless marked
  ```` ```yaml fragment ```` (illustrations that need not be valid YAML on their own, e.g.
  several alternatives for one key).
- ```` ```yaml file=NAME ```` / ```` ```python file=NAME ````: also written to NAME in the
  working folder before it is used (so later blocks can refer to the file).
- ```` ```python skip ```` / ```` ```yaml skip ```` (or `no-run`): shown, not run — for
  code that needs things a test cannot have (a GPU, a display, network).
- ```` ```python requires=PACKAGE ````: needs an optional stack (Ray, Stable-Baselines3);
  run by tests/integration/test_training_doc.py in the RL venv, not here.
- Other languages (bash, console, text, ...) are not run; the commands they show are
  tested end to end in tests/test_cli_dx.py.

A failing block fails the test with the file, the block's line, and the error.
"""

from __future__ import annotations

import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)(?P<info>[^\n`]*)$")
SKIP_FLAGS = {"skip", "no-run", "norun"}
#: YAML blocks that are pieces of a spec for illustration (they may repeat keys, say).
FRAGMENT_FLAGS = {"fragment", "snippet"}


@dataclass
class Block:
    file: Path
    line: int  # 1-based line of the first line of code
    language: str
    flags: dict[str, str]
    code: str

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def extract_blocks(path: Path) -> list[Block]:
    """Fenced code blocks of a Markdown file, with their language and flags."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        words = info.split()
        language = words[0].lower() if words else ""
        flags = {}
        for word in words[1:]:
            key, _, value = word.partition("=")
            flags[key.lower()] = value
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence[0] * len(fence)):
            j += 1
        indent = len(match["indent"])
        code = "\n".join(
            line[indent:] if line[:indent].isspace() else line for line in lines[start:j]
        )
        blocks.append(Block(path, start + 1, language, flags, code + "\n"))
        i = j + 1
    return blocks


def doc_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    return [f for f in files if f.is_file()]


def _is_full_spec(data: object) -> bool:
    return isinstance(data, dict) and "id" in data and "step" in data


def run_blocks(blocks: list[Block], workdir: Path) -> int:
    """Run a file's blocks in order; return how many ran. Raises AssertionError on failure."""
    from envgen.build import env_ids_from_specs
    from envgen.compiler.diagnostics import DiagnosticError
    from envgen.compiler.load import load_document

    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    ran = 0
    for index, block in enumerate(blocks):
        if block.language not in ("python", "py", "yaml", "yml"):
            continue
        if SKIP_FLAGS & set(block.flags):
            continue
        if "requires" in block.flags:
            continue  # needs the RL stack: tests/integration/test_training_doc.py runs it
        target = block.flags.get("file")
        if target:
            (workdir / target).parent.mkdir(parents=True, exist_ok=True)
            (workdir / target).write_text(block.code, encoding="utf-8")
        if block.language in ("yaml", "yml"):
            if FRAGMENT_FLAGS & set(block.flags):
                continue
            spec_file = workdir / (target or f"_block_{index}.yaml")
            if not target:
                spec_file.write_text(block.code, encoding="utf-8")
            try:
                data = load_document(spec_file).data
            except DiagnosticError as exc:
                raise AssertionError(
                    f"{block.where}: YAML block does not parse: {exc.diagnostics[0].message}"
                ) from None
            if _is_full_spec(data):
                try:
                    env_ids_from_specs([spec_file])
                except DiagnosticError as exc:
                    problems = "\n".join(
                        f"  line {d.location.line}: {d.message}" for d in exc.diagnostics
                    )
                    raise AssertionError(
                        f"{block.where}: spec does not build:\n{problems}"
                    ) from None
                ran += 1
            continue
        try:
            code = compile(block.code, f"{block.where}", "exec")
            exec(code, namespace)  # noqa: S102 - the docs' own examples
        except Exception:  # noqa: BLE001
            raise AssertionError(
                f"{block.where}: Python block failed:\n{traceback.format_exc(limit=-3)}"
            ) from None
        ran += 1
    return ran


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = extract_blocks(doc)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.syspath_prepend(str(tmp_path))  # modules the docs write (file=...) import
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import gymnasium as gym

    try:  # register the generated envs first, so that restoring the registry keeps them
        import generated  # noqa: F401
    except ImportError:
        pass
    modules = set(sys.modules)
    registry = dict(gym.registry)  # specs in the docs may re-register ids; put them back
    try:
        run_blocks(blocks, tmp_path)
    finally:
        gym.registry.clear()
        gym.registry.update(registry)
        for name in set(sys.modules) - modules:  # modules the docs wrote to tmp_path
            if getattr(sys.modules[name], "__file__", None) and str(tmp_path) in str(
                sys.modules[name].__file__
            ):
                del sys.modules[name]


def test_extract_blocks_understands_the_conventions(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "intro\n\n```python\nx = 1\n```\n\n```python skip\nraise SystemExit\n```\n"
        "\n```yaml file=a.yaml\nid: a/B-v0\n```\n\n```bash\nrm -rf /\n```\n"
        "\n- item\n\n  ```python\n  y = x + 1\n  ```\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(doc)
    assert [(b.language, b.flags) for b in blocks] == [
        ("python", {}),
        ("python", {"skip": ""}),
        ("yaml", {"file": "a.yaml"}),
        ("bash", {}),
        ("python", {}),
    ]
    assert blocks[0].line == 4 and blocks[-1].code == "y = x + 1\n"


def test_a_failing_block_fails_with_its_location(tmp_path: Path) -> None:
    doc = ROOT / "docs" / "_probe.md"  # never written: blocks are built in memory
    good = Block(doc, 3, "python", {}, "value = 41\n")
    bad = Block(doc, 9, "python", {}, "assert value == 42, 'off by one'\n")
    skipped = Block(doc, 12, "python", {"skip": ""}, "raise RuntimeError\n")
    assert run_blocks([good, skipped], tmp_path) == 1
    with pytest.raises(AssertionError, match=r"docs/_probe.md:9: Python block failed"):
        run_blocks([good, bad], tmp_path)
    broken_spec = Block(doc, 20, "yaml", {}, "id: x/Broken-v0\nstep: pos = \nobservation: 0\n")
    with pytest.raises(AssertionError, match=r"docs/_probe.md:20: spec does not build"):
        run_blocks([broken_spec], tmp_path)


def test_the_tutorial_is_covered() -> None:
    """The tutorial's Python blocks and its spec are run (not accidentally skipped)."""
    blocks = extract_blocks(ROOT / "docs" / "tutorial.md")
    runnable = [
        b for b in blocks if b.language in ("python", "yaml") and not SKIP_FLAGS & set(b.flags)
    ]
    assert sum(b.language == "python" for b in runnable) >= 4
    assert any(b.flags.get("file") == "pit_maze.yaml" for b in runnable)


@pytest.mark.slow
def test_the_tutorials_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `envgen ...` line of the tutorial's shell blocks runs (after its Python blocks
    wrote the spec, the table and the policy), with exit status 0 and no traceback."""
    import shlex
    import subprocess

    blocks = extract_blocks(ROOT / "docs" / "tutorial.md")
    test_code_blocks_run(ROOT / "docs" / "tutorial.md", tmp_path, monkeypatch)
    commands = [
        line.split("#", 1)[0].strip()
        for block in blocks
        if block.language in ("bash", "sh", "shell")
        for line in block.code.splitlines()
        if line.strip().startswith("envgen ")
    ]
    assert any("--plot" in c for c in commands) and any(" -p " in c for c in commands)
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", "envgen.cli", *shlex.split(command)[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr}"
        assert "Traceback" not in result.stderr, command
