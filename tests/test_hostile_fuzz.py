"""The compiler fuzzer, aimed at the hostile classes of issue 14.

Mutants of the bundled specs with huge and deeply nested literals, unrepresentable or
invisible unicode, names that shadow the generated code, absurd sizes and non-finite
values. Every mutant must either be refused with clean located diagnostics (printed
without a traceback or a raw control character), or build into modules that import and
run: made, reset and stepped in this process.

CI runs a few examples (ENVGEN_FUZZ_EXAMPLES scales them, as for test_compiler_fuzz.py);
`python benchmarks/compiler_fuzz.py --examples N` runs many, with random seeds.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import os
import re
import sys
import types
import unicodedata
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from envgen.build import compile_specs
from envgen.compiler.names import GENERATED

ROOT = Path(__file__).resolve().parent.parent
SCALE = float(os.environ.get("ENVGEN_FUZZ_EXAMPLES", "1"))
EXAMPLES = max(1, int(6 * SCALE))
SEEDS = sorted(p for p in (ROOT / "specs").rglob("*.yaml") if "multiagent" not in p.parts)

#: Names the generated code binds (reserved or formerly plain locals and helper imports).
SHADOWS = sorted(GENERATED) + [
    "ids",
    "resetting",
    "any_reset",
    "next_step",
    "done",
    "infos",
    "step_info",
    "elapsed",
    "live",
    "key",
    "value",
    "n",
    "p",
    "mask",
    "size",
    "merge",
    "exact",
    "per_env",
    "c_pow",
    "mask_info",
    "text",
]


def _deep(draw: st.DrawFn) -> str:
    n = draw(st.sampled_from([60, 99, 101, 150, 201, 1000, 7000]))
    kind = draw(st.sampled_from(["plus", "unary", "ifelse", "parens", "not"]))
    if kind == "plus":
        return " + ".join(["1"] * n)
    if kind == "unary":
        return "-" * n + "1"
    if kind == "ifelse":
        return "1 if 1 else " * min(n, 2000) + "0"
    if kind == "parens":
        return "(" * n + "1" + ")" * n
    return "not " * n + "True"


def _huge(draw: st.DrawFn) -> str:
    digits = draw(st.sampled_from([19, 20, 40, 400, 4301, 5000]))
    return draw(
        st.sampled_from(
            [
                "9" * digits,
                "0x" + "f" * digits,
                "-" + "9" * digits,
                "1e400",
                "-1e400",
                f"10**{digits}",
                "2**63",
                "-2**63",
            ]
        )
    )


UNICODE = [
    "\u202e",
    "\u2066",
    "\u2069",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\ud800",
    "\udfff",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\x85",
    "é",
    "١",
    "ᅟ",
]
SIZES = [10**12, -1, 0, "int(1e12)", "10**12", "-(2)", "2**40"]
NON_FINITE = [float("inf"), float("-inf"), float("nan")]


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, prefix + (i,))
    return out


def _rename_everywhere(data: Any, old: str, new: str) -> Any:
    """`old` renamed to `new` in keys and as a word in every string (code included)."""
    word = re.compile(rf"\b{re.escape(old)}\b")
    if isinstance(data, dict):
        return {(new if k == old else k): _rename_everywhere(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [_rename_everywhere(v, old, new) for v in data]
    if isinstance(data, str):
        return word.sub(new, data)
    return data


@st.composite
def hostile_specs(draw: st.DrawFn) -> str:
    """The text of a bundled spec with one to three hostile mutations."""
    data = yaml.safe_load(draw(st.sampled_from(SEEDS)).read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["deep", "huge", "unicode", "shadow", "size", "nonfinite"]))
        strings = [p for p in _paths(data) if p and isinstance(_get(data, p), str)]
        if kind == "shadow":
            names = [
                str(k)
                for section in ("state", "params", "constants", "let")
                for k in (data.get(section) or {})
            ]
            if names:
                data = _rename_everywhere(
                    data, draw(st.sampled_from(names)), draw(st.sampled_from(SHADOWS))
                )
        elif kind in ("deep", "huge") and strings:
            path = draw(st.sampled_from(strings))
            value = _get(data, path)
            literal = _deep(draw) if kind == "deep" else _huge(draw)
            _set(data, path, f"{value} + ({literal})" if draw(st.booleans()) else literal)
        elif kind == "unicode" and strings:
            path = draw(st.sampled_from(strings))
            value = _get(data, path)
            at = draw(st.integers(0, len(value)))
            _set(data, path, value[:at] + draw(st.sampled_from(UNICODE)) + value[at:])
        elif kind == "size":
            state = data.get("state") or {}
            if state:
                name = draw(st.sampled_from(sorted(state)))
                state[name]["shape"] = [draw(st.sampled_from(SIZES))]
        elif kind == "nonfinite":
            numbers = [
                p
                for p in _paths(data)
                if p
                and isinstance(_get(data, p), (int, float))
                and not isinstance(_get(data, p), bool)
            ]
            if numbers:
                _set(data, draw(st.sampled_from(numbers)), draw(st.sampled_from(NON_FINITE)))
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=False)
    except yaml.YAMLError:  # PyYAML cannot write some of these; keep the mutant as data
        return yaml.safe_dump(copy.deepcopy(data), sort_keys=False, allow_unicode=True)


def _get(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(data: Any, path: tuple, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _import_package(folder: Path, files: dict[str, str], package: str) -> types.ModuleType:
    (folder / package).mkdir()
    for name, text in files.items():
        (folder / package / name).write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(package, folder / package / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(package, None)
        raise
    return module


def check_hostile(text: str, tmp: Path, counter: list[int]) -> str:
    """Refused cleanly, or built, imported and run; returns which."""
    from envgen.cli import print_diagnostics

    path = tmp / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    counter[0] += 1
    package = f"hostile_fuzz_{os.getpid()}_{counter[0]}"
    compiled = compile_specs([path], tmp / package)
    if compiled.diagnostics:
        assert not compiled.files
        lines = text.count("\n") + 1
        for d in compiled.diagnostics:
            assert Path(d.location.file).name == "hostile.yaml", d
            assert 1 <= d.location.line <= lines + 1 and d.location.column >= 1, d
            assert d.message.strip() and d.code not in ("internal", "error"), d.format()
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):  # the console writes to sys.stderr
            print_diagnostics(compiled.diagnostics)
        printed = buffer.getvalue()
        assert not [c for c in printed if c not in "\n" and unicodedata.category(c) == "Cc"]
        return "refused"
    module = _import_package(tmp, compiled.files, package)
    try:
        for env_id in module.ENVS:
            env = gym.make(env_id)
            env.reset(seed=0)
            for _ in range(3):
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated:
                    env.reset()
            env.close()
            gym.registry.pop(env_id, None)
    finally:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
    return "built"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("ENVGEN_FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate)
    + ((Phase.shrink,) if os.environ.get("ENVGEN_FUZZ_SHRINK") == "1" else ()),
)
@given(text=hostile_specs())
def test_hostile_mutants_are_refused_cleanly_or_build_and_run(
    text: str, tmp_path_factory: Any
) -> None:
    tmp = tmp_path_factory.mktemp("hostile")
    check_hostile(text, tmp, _COUNTER)


_COUNTER = [0]


def test_the_hostile_strategy_reaches_every_class() -> None:
    """The mutations do what they claim (so a green fuzz run means something)."""
    texts: list[str] = []

    @settings(
        max_examples=60,
        derandomize=True,  # the same 60 mutants every run
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(text=hostile_specs())
    def collect(text: str) -> None:
        texts.append(text)

    collect()
    joined = "\n".join(texts)
    assert re.search(r"(\+ 1){60}|-{60}|(if 1 else ){60}|\({60}|(not ){60}", joined)
    assert re.search(r"9{40}|0xf{19}|1e400|10\*\*\d{2}", joined)
    assert re.search(r"\\u202E|\\u2066|\\e|\\x1B|\\uD800|\\uDFFF|\\u200B", joined, re.I)
    declared = set()
    for text in texts:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        for section in ("state", "params", "constants", "let"):
            declared |= set((data or {}).get(section) or {})
    assert declared & set(SHADOWS), "no mutant named a spec value like generated code"
    assert ".inf" in joined or ".nan" in joined
