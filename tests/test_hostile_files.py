"""Spec files an attacker or an unlucky user brings: links out, FIFOs, devices, huge and
badly named files. Every one is refused with a located message (or built correctly), in
bounded time, without reading what lies outside the specs folder.

All go through `envgen.compiler.load.read_spec`, the one way spec files are read.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from envgen.build import compile_specs
from envgen.cli import main
from envgen.compiler import load

GOOD = (Path(__file__).parent / "bad_specs" / "duplicate_ids" / "a.yaml").read_text()
SECRET = "TOP-SECRET-LINE"

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs POSIX files")


def _good(env_id: str = "test/Good-v0") -> str:
    return GOOD.replace("test/Bad-v0", env_id)


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the test run) if the block takes longer than `seconds`."""

    def expired(signum, frame):  # type: ignore[no-untyped-def]
        raise AssertionError(f"took more than {seconds}s: a hang")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _cli(*args: str, cwd: Path) -> tuple[int, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)
    assert "Traceback" not in result.output, result.output
    assert isinstance(result.exception, (SystemExit, type(None))), repr(result.exception)
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """specs/ with one good spec, and a secret file beside (outside) it."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "good.yaml").write_text(_good())
    (tmp_path / "private").mkdir()
    # Not YAML a spec could be: were it ever read, a diagnostic would quote this line.
    (tmp_path / "private" / "secret.yaml").write_text(f"id: a: {SECRET}\n")
    return tmp_path


def test_a_symlink_leading_out_of_the_specs_folder_is_refused_not_read(project: Path) -> None:
    os.symlink("../private/secret.yaml", project / "specs" / "leak.yaml")
    code, text = _cli("validate", "specs", cwd=project)
    assert code == 1
    assert "specs/leak.yaml:1:1: error[file-outside-root]" in text
    assert "leads outside the specs folder 'specs'" in text and "--follow-symlinks" in text
    assert SECRET not in text
    # Named on its own, the link is confined to its own folder all the same.
    code, text = _cli("build", "specs/leak.yaml", cwd=project)
    assert code == 1 and "error[file-outside-root]" in text and SECRET not in text
    # Trusted on request: then it is read (and its problem shown, with its line).
    code, text = _cli("validate", "specs", "--follow-symlinks", cwd=project)
    assert code == 1 and "error[yaml-syntax]" in text and SECRET in text


def test_a_link_to_the_root_of_the_file_system_is_not_walked(project: Path) -> None:
    os.symlink("/", project / "specs" / "root")
    start = time.monotonic()
    with _deadline(60):
        code, text = _cli("validate", "specs", cwd=project)
    assert time.monotonic() - start < 30
    assert code == 1
    assert "specs/root:1:1: error[file-outside-root]" in text and "not searched" in text
    os.unlink(project / "specs" / "root")
    os.symlink("..", project / "specs" / "up")  # the project folder, above specs/
    code, text = _cli("validate", "specs", cwd=project)
    assert code == 1 and "specs/up:1:1: error[file-outside-root]" in text
    assert SECRET not in text


def test_a_link_to_dev_zero_is_refused_before_reading(project: Path) -> None:
    os.symlink("/dev/zero", project / "specs" / "zero.yaml")
    with _deadline(30):
        code, text = _cli("validate", "specs", cwd=project)
        assert code == 1 and "specs/zero.yaml:1:1: error[file-outside-root]" in text
        code, text = _cli("validate", "specs", "--follow-symlinks", cwd=project)
    assert code == 1
    assert "specs/zero.yaml:1:1: error[file-not-regular]" in text
    assert "a character device, not a regular file" in text


def test_a_fifo_in_the_specs_folder_does_not_hang_the_build(project: Path) -> None:
    os.mkfifo(project / "specs" / "pipe.yaml")
    with _deadline(30):
        code, text = _cli("build", "specs", "-o", "out", cwd=project)
    assert code == 1
    assert "specs/pipe.yaml:1:1: error[file-not-regular]" in text
    assert "a FIFO (named pipe)" in text and "nothing was written" in text
    assert not (project / "out").exists()


def test_a_huge_file_is_refused_from_its_size_without_reading_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = project / "specs" / "huge.yaml"
    with open(huge, "wb") as handle:  # sparse: 4 GB that take no disk and must not be read
        handle.truncate(4 << 30)
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", counting_read)
    with _deadline(30):
        diagnostics = compile_specs([huge]).diagnostics
    assert [d.code for d in diagnostics] == ["file-too-large"]
    assert f"{4 << 30} bytes" in diagnostics[0].message
    assert reads == [], "the file was read before its size was checked"


def test_a_growing_file_is_read_no_further_than_the_limit(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose size says small but that yields more (it grows while being read)."""
    from envgen.compiler import load
    from envgen.compiler.diagnostics import DiagnosticError

    monkeypatch.setattr(load, "MAX_BYTES", 100)
    spec = project / "specs" / "good.yaml"
    assert spec.stat().st_size > 101
    real_fstat, real_read = os.fstat, os.read
    read = []

    def small_fstat(fd: int) -> os.stat_result:
        info = list(real_fstat(fd))
        info[6] = 10  # st_size
        return os.stat_result(info)

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "fstat", small_fstat)
    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(DiagnosticError) as caught:
        load.read_spec(spec)
    assert [d.code for d in caught.value.diagnostics] == ["file-too-large"]
    assert sum(read) == 101


def test_non_utf8_file_names_are_built_or_reported_escaped(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    good = os.path.join(os.fsencode(specs), b"caf\xe9.yaml")
    bad = os.path.join(os.fsencode(specs), b"\xff\x1b[2Jbad.yaml")
    with open(good, "w") as handle:
        handle.write(_good("test/Cafe-v0"))
    with open(bad, "w") as handle:
        handle.write("id: test/Bad-v0\nstep: 1\n")
    code, text = _cli("build", "specs", "-o", "out", cwd=tmp_path)
    assert code == 1
    assert "specs/\\udcff\\x1b[2Jbad.yaml:1:1: error[schema]" in text
    assert "\x1b" not in text
    os.unlink(bad)
    code, text = _cli("build", "specs", "-o", "out", cwd=tmp_path)
    assert code == 0, text
    module = (tmp_path / "out" / "test_cafe_v0.py").read_text(encoding="utf-8")
    assert "caf\\udce9.yaml" in module  # escaped in the header comment and the docstring
    code, text = _cli("validate", "specs", cwd=tmp_path)
    assert code == 0 and "ok  test/Cafe-v0  (specs/caf\\udce9.yaml)" in text


def test_the_fast_yaml_reader_gives_the_same_nodes_and_the_same_errors(monkeypatch) -> None:
    """Specs are scanned by libyaml (about 40x faster) but composed by PyYAML's composer;
    anything libyaml objects to is read again by the pure-Python loader, so every node,
    tag, style and mark, and every error, is what the pure-Python loader gives."""
    import yaml

    from envgen.compiler.diagnostics import DiagnosticError

    def tree(node: yaml.Node, out: list) -> list:
        style = getattr(node, "style", None)
        marks = (node.start_mark.line, node.start_mark.column, node.end_mark.line)
        out.append((type(node).__name__, node.tag, marks, style, getattr(node, "flow_style", 0)))
        if isinstance(node, yaml.ScalarNode):
            out.append(node.value)
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                tree(child, out)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                tree(key, tree(value, out))
        return out

    assert load._FastLoader is not None, "PyYAML without libyaml: nothing to compare"
    root = Path(__file__).resolve().parent.parent
    specs = sorted(root.glob("specs/**/*.yaml")) + sorted(
        root.glob("tests/multiagent_specs/*.yaml")
    )
    texts = [p.read_bytes().decode("utf-8", "replace") for p in specs]
    texts += [
        "a: {é: 1, b: [x,  ü, y]}\nc: 'ö'\nd: \"x\"\ne: >\n  folded\n",
        "a: &x [1, 2]\nb: *x\nk: |\n  ü line\n  x = 1\n",
        "- !!str 2\n- !!python/name:os.system\n- on\n- yes\n- True\n",
    ]
    checked = 0
    for text in texts:
        expected = tree(yaml.compose(text, Loader=load._Loader), [])
        assert tree(load._compose(text, "x.yaml"), []) == expected, text[:80]
        assert tree(load._FastLoader(text).get_single_node(), []) == expected  # it ran
        checked += 1
    assert checked > 20

    def answer(text: str) -> tuple:
        try:
            return ("node", tree(load._compose(text, "x.yaml"), []))
        except DiagnosticError as exc:
            return ("error", [d.format() for d in exc.diagnostics])

    bad = ("a: 1\n\tb: 2\n", 'x: "\\ud800"\n', "[" * 5000 + "]" * 5000, "a: [1, 2\n", "a: b: c\n")
    fast = [answer(text) for text in bad]
    monkeypatch.setattr(load, "_FastLoader", None)
    assert fast == [answer(text) for text in bad]
    assert [kind for kind, _ in fast].count("error") >= 4
