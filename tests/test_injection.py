"""No spec text runs as code: not when the spec is built, not when the output is imported.

Every string field that reaches generated code or its docstrings carries payloads that would
create a marker file (or set an environment variable) if they were ever executed: triple
quotes, newlines, backslashes, Jinja2 `{{ }}`/`{% %}`, `__import__`. Where the payload is
harmless data the build must succeed, and the payload must appear in the output only inside
string literals, docstrings and comments.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from envgen.build import compile_specs
from envgen.cli import main


def _payloads(marker: Path) -> list[str]:
    """Strings that run `touch marker` / set ENVGEN_PWNED if any layer evaluates them."""
    m = str(marker)
    call = f"__import__('os').system('touch {m}')"
    return [
        call,
        f'"""\n{call}\n"""',
        f"'''\n{call}\n'''",
        f'\\"""; {call}; """',
        f"\\\\'; {call}; #",
        f"\n{call}\n",
        f"{{{{ {call} }}}}",
        f"{{% set x = {call} %}}",
        f"{{{{ cycler.__init__.__globals__.os.system('touch {m}') }}}}",
        "${__import__('os').environ.__setitem__('ENVGEN_PWNED', '1')}",
        f"\\x5f_import__('os').system('touch {m}')",
        f"\u2028{call}\u2029",
        f"\r{call}\r",
        f"\x00\x1b[2J{call}",
    ]


def _spec(marker: Path) -> dict:
    payloads = _payloads(marker)
    text = " ".join(payloads)
    return {
        "id": "test/Injection-v0",
        "description": text,
        "params": {
            "label": {"default": payloads[1], "doc": text, "choices": [payloads[1], payloads[2]]},
            "size": {"default": 4, "doc": payloads[0]},
        },
        "constants": {
            "table": {payloads[3]: 1, payloads[4]: 2},
            "words": [payloads[5], payloads[6]],
            "note": payloads[7],
        },
        "action_space": {"Discrete": 2, "labels": ["left", "right"]},
        "observation_space": {
            "Dict": {
                "pos": {"Box": {"low": 0, "high": "size", "shape": [1]}},
                "word": {"Text": {"max_length": 40, "charset": "abc'\"\\{}%#\n"}},
            }
        },
        "state": {
            "pos": {"dtype": "int64", "init": 0, "doc": text},
        },
        "step": "pos = clip(pos + (1 if action == RIGHT else -1), 0, size)\n",
        "observation": {"pos": "[pos]", "word": "'abc'"},
        "reward": "1.0 if pos == size else 0.0",
        "info": {"note": "note", "first": "words[0]"},
        "max_episode_steps": 10,
        "render": {
            "ansi": "pos={{ pos }} {{ label }} {{ '"
            + payloads[0].replace("'", "\\'")
            + "' }}\n"
            + payloads[9]
        },
        "wrappers": [{"TimeAwareObservation": {}}],
    }


def _strings_only(source: str, needle: str) -> None:
    """`needle` may appear in `source` only inside STRING or COMMENT tokens."""
    spans = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (
            tokenize.STRING,
            tokenize.COMMENT,
            tokenize.FSTRING_MIDDLE if hasattr(tokenize, "FSTRING_MIDDLE") else tokenize.STRING,
        ):
            spans.append((token.start, token.end))
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def absolute(position: tuple[int, int]) -> int:
        return offsets[position[0] - 1] + position[1]

    ranges = [(absolute(a), absolute(b)) for a, b in spans]
    start = source.find(needle)
    while start != -1:
        assert any(a <= start and start + len(needle) <= b for a, b in ranges), (
            f"{needle!r} appears outside a string literal at offset {start}:\n"
            f"{source[max(0, start - 200) : start + 200]}"
        )
        start = source.find(needle, start + 1)


def _no_dangerous_calls(source: str) -> None:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id not in ("__import__", "eval", "exec", "system", "compile"), node.id
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("system", "popen", "__globals__", "__subclasses__"), node.attr


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PWNED"


def test_payloads_in_every_string_field_stay_data(
    tmp_path: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVGEN_PWNED", raising=False)
    spec_path = tmp_path / "injection.yaml"
    spec_path.write_text(yaml.safe_dump(_spec(marker), allow_unicode=False, sort_keys=False))
    out = tmp_path / "envs"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "injection.yaml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert not marker.exists(), "a payload ran at build time"
    assert "ENVGEN_PWNED" not in os.environ

    module = (out / "test_injection_v0.py").read_text()
    registry = (out / "__init__.py").read_text()
    for source in (module, registry):
        ast.parse(source)
        _no_dangerous_calls(source)
        for payload in ("__import__", "touch", "ENVGEN_PWNED", "cycler"):
            _strings_only(source, payload)
    assert "__import__" in module  # the payloads are there, as data

    # Import the package, make the env, and use every feature in a fresh interpreter.
    script = f"""
import json, os, sys
sys.path.insert(0, {str(tmp_path)!r})
import gymnasium as gym
import envs
env = gym.make("test/Injection-v0", render_mode="ansi")
obs, info = env.reset(seed=0)
for _ in range(3):
    obs, reward, terminated, truncated, info = env.step(1)
text = env.render()
base = env.unwrapped
print(json.dumps({{"doc": type(base).__doc__, "text": text, "info_note": info["note"],
                  "label": base.label, "words": list(envs.test_injection_v0.words),
                  "pwned": os.environ.get("ENVGEN_PWNED")}}))
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert not marker.exists(), "a payload ran when the generated module was imported or used"
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["pwned"] is None
    payloads = _payloads(marker)
    # The data arrives intact: strings are repr() literals, not re-interpreted text.
    assert report["label"] == payloads[1]
    assert report["info_note"] == payloads[7]
    assert report["words"] == [payloads[5], payloads[6]]
    # The template printed the payload as text; the sandbox evaluated nothing.
    assert payloads[0] in report["text"]
    assert payloads[9] in report["text"]
    assert "__import__" in report["doc"]


def test_payload_in_the_spec_file_name(
    tmp_path: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spec's path is written into the header comment and docstring of the output."""
    from tests.test_bad_specs import CORPUS

    # Relative to the working directory: a file name cannot hold '/'.
    name = "x'''\"\"\"\\n{{ __import__('os').system('touch PWNED') }}.yaml"
    spec = (CORPUS / "duplicate_ids" / "a.yaml").read_text().replace("test/Bad-v0", "test/Name-v0")
    (tmp_path / name).write_text(spec)
    monkeypatch.chdir(tmp_path)
    compiled = compile_specs([Path(name)], tmp_path / "generated")
    assert not compiled.diagnostics, compiled.diagnostics
    source = compiled.files["test_name_v0.py"]
    ast.parse(source)
    _no_dangerous_calls(source)
    _strings_only(source, "__import__")
    namespace: dict = {}
    exec(compile(source, "test_name_v0.py", "exec"), namespace)  # noqa: S102 - the point
    assert not marker.exists()


def test_hooks_are_the_only_code_a_spec_can_name(tmp_path: Path) -> None:
    """A hook must look like `package.module:function`; anything else is refused."""
    spec = yaml.safe_load(
        (Path(__file__).parent / "bad_specs" / "duplicate_ids" / "a.yaml").read_text()
    )
    for target in (
        "os.system('id')",
        "os:system; rm -rf /",
        "__import__('os'):system",
        "os:system\n",
        "a:b:c",
    ):
        spec["hooks"] = {"after_step": target}
        path = tmp_path / "hook.yaml"
        path.write_text(yaml.safe_dump(spec))
        compiled = compile_specs([path])
        assert [d.code for d in compiled.diagnostics] == ["schema"], target
        assert "package.module:function" in compiled.diagnostics[0].message
