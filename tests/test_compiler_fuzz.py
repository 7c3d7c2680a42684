"""Compiler fuzzing with Hypothesis.

1. Random *valid* specs (random spaces, params and well-typed dynamics programs) must build,
   import, keep observations in the declared space over a random rollout, give the same
   trajectory for the same seed, and, when a native vector env is emitted, step exactly like
   N single envs.
2. Random *mutations* of the specs in specs/ (deleted or misspelt keys, values of the wrong
   type, random tokens spliced into code, random characters in the YAML text) must give
   either a valid build or clean, located diagnostics: never an exception, never a hang.

CI runs a bounded number of examples (ENVGEN_FUZZ_EXAMPLES scales them); the long run is
`python benchmarks/compiler_fuzz.py --examples N`.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import build_package
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from envgen.build import compile_specs

ROOT = Path(__file__).resolve().parent.parent
SCALE = float(os.environ.get("ENVGEN_FUZZ_EXAMPLES", "1"))
VALID_EXAMPLES = max(1, int(20 * SCALE))
MUTANT_EXAMPLES = max(1, int(300 * SCALE))
TIME_LIMIT_S = 20  # per example; a hang is a failure


@contextmanager
def time_limit(seconds: float):  # type: ignore[no-untyped-def]
    """Raise TimeoutError if the body runs longer than `seconds` (main thread, Unix)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum, frame):  # type: ignore[no-untyped-def]
        raise TimeoutError(f"compiler took longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def time_limit_paused():  # type: ignore[no-untyped-def]
    """Stop `time_limit`'s clock in the body (Numba's compilation), then restart it with
    the time that was left. A TimeoutError there would not be silent (the vector env
    re-raises it), but would fail the example for the machine's load, not the compiler."""
    if not hasattr(signal, "setitimer"):
        yield
        return
    left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if left:
            signal.setitimer(signal.ITIMER_REAL, left)


# --- valid specs ----------------------------------------------------------------------

UNARY = ["sin", "cos", "tanh", "abs", "square"]
BINARY_OPS = ["+", "-", "*"]


@st.composite
def expressions(draw: st.DrawFn, leaves: list[str], depth: int = 3) -> str:
    """A float-valued expression over `leaves` that stays finite (no division, no exp)."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.booleans()):
            return draw(st.sampled_from(leaves))
        return repr(draw(st.floats(-2, 2, allow_nan=False, width=32)).__round__(3))
    kind = draw(st.sampled_from(["op", "unary", "minmax", "ifexp", "clip"]))
    a = draw(expressions(leaves, depth - 1))
    if kind == "unary":
        return f"{draw(st.sampled_from(UNARY))}({a})"
    b = draw(expressions(leaves, depth - 1))
    if kind == "op":
        return f"({a} {draw(st.sampled_from(BINARY_OPS))} {b})"
    if kind == "minmax":
        return f"{draw(st.sampled_from(['min', 'max']))}({a}, {b})"
    if kind == "ifexp":
        c = draw(expressions(leaves, depth - 1))
        return f"({a} if {c} > 0 else {b})"
    return f"clip({a}, -3.0, 3.0)"


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Discrete", "Box", "MultiDiscrete", "MultiBinary"]))
    k = draw(st.integers(1, 3))
    if kind == "Discrete":
        action_space: dict[str, Any] = {"Discrete": draw(st.integers(2, 5))}
        action_leaves = ["float(action)"]
    elif kind == "Box":
        action_space = {"Box": {"low": -1.0, "high": 1.0, "shape": [k]}}
        action_leaves = [f"float(action[{i}])" for i in range(k)]
    elif kind == "MultiDiscrete":
        action_space = {"MultiDiscrete": [draw(st.integers(2, 4)) for _ in range(k)]}
        action_leaves = [f"float(action[{i}])" for i in range(k)]
    else:
        action_space = {"MultiBinary": k}
        action_leaves = [f"float(action[{i}])" for i in range(k)]

    params: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            params[f"p{i}"] = {"default": draw(st.integers(0, 5)), "ge": 0}
        else:
            params[f"p{i}"] = {"default": round(draw(st.floats(-1, 1, width=32)), 3)}
    m = draw(st.integers(1, 4))
    names = [f"s{i}" for i in range(m)]
    state = {}
    for name in names:
        init = draw(st.sampled_from(["0.0", "uniform(-1.0, 1.0)", "normal(0.0, 0.5)", "0.5"]))
        state[name] = {"dtype": "float64", "init": init}
    leaves = names + list(params) + action_leaves
    lines = []
    if draw(st.booleans()):
        lines.append(f"t = {draw(expressions(leaves))}")
        leaves = leaves + ["t"]
    if draw(st.booleans()):
        leaves = leaves + ["normal(0.0, 1.0)", "uniform(-1.0, 1.0)"]
    for name in draw(st.permutations(names)):
        if draw(st.integers(0, 4)) == 0:
            cond = draw(expressions(leaves, 1))
            lines.append(f"if {cond} > 0:")
            lines.append(f"    {name} = clip({draw(expressions(leaves))}, -10.0, 10.0)")
            lines.append("else:")
            lines.append(f"    {name} = clip({draw(expressions(leaves))}, -10.0, 10.0)")
        else:
            lines.append(f"{name} = clip({draw(expressions(leaves))}, -10.0, 10.0)")
    dtype = draw(st.sampled_from(["float32", "float64"]))
    reward = draw(expressions(names + list(params), 2))
    if "t" in leaves:
        reward = f"({reward}) + 0.001 * t"  # every local is used (an unused one is refused)
    spec: dict[str, Any] = {
        "id": "fuzz/Random-v0",
        "description": "A random spec from the compiler fuzzer.",
        "params": params,
        "action_space": action_space,
        "observation_space": {"Box": {"low": -10.0, "high": 10.0, "shape": [m], "dtype": dtype}},
        "state": state,
        "step": "\n".join(lines) + "\n",
        "observation": names,
        "reward": reward,
        "terminated": draw(
            st.sampled_from(["False", f"{names[0]} > 9.0", f"abs({names[-1]}) > 5"])
        ),
        "max_episode_steps": draw(st.integers(5, 40)),
    }
    return spec


_counter = itertools.count()


def build_and_import(spec: dict[str, Any], tmp: Path) -> tuple[type, type | None]:
    """Compile `spec`, write it as a fresh package, import it; the env and vector classes."""
    built = build_package(tmp, yaml.safe_dump(spec, sort_keys=False))
    return built.single, built.vector


def rollout(env: Any, seed: int, actions: list[Any]) -> list[tuple[Any, ...]]:
    obs, info = env.reset(seed=seed)
    assert env.observation_space.contains(obs), (obs, env.observation_space)
    trajectory: list[tuple[Any, ...]] = [(obs,)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs), (obs, env.observation_space)
        assert isinstance(reward, float) and math.isfinite(reward)
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        assert isinstance(info, dict)
        trajectory.append((obs, reward, terminated, truncated))
        if terminated or truncated:
            break
    return trajectory


def check_valid_spec(spec: dict[str, Any], tmp: Path, seed: int, vector: bool = True) -> None:
    env_class, vector_class = build_and_import(spec, tmp)
    env = env_class()
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(12)]
    first = rollout(env, seed, actions)
    second = rollout(env_class(), seed, actions)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    if vector and vector_class is not None:
        check_vector(env_class, vector_class, seed)


def check_vector(env_class: type, vector_class: type, seed: int, n: int = 3) -> None:
    """The native vector env steps like n single envs seeded seed + i, with either backend."""
    check_vector_backend(env_class, vector_class, seed, n, "numpy")
    with time_limit_paused():  # Numba compiles the kernel here: slow on a busy machine
        has_kernel = vector_class(num_envs=1).backend == "numba"
    if has_kernel:  # the spec has a compiled kernel (compiled now: the check is timed)
        check_vector_backend(env_class, vector_class, seed, n, "numba")


def check_vector_backend(
    env_class: type, vector_class: type, seed: int, n: int, backend: str
) -> None:
    vector = vector_class(num_envs=n, backend=backend)
    singles = [env_class() for _ in range(n)]
    obs = vector.reset(seed=seed)[0]
    for i, single in enumerate(singles):
        np.testing.assert_allclose(obs[i], single.reset(seed=seed + i)[0], rtol=1e-6)
    vector.single_action_space.seed(seed)
    for _ in range(8):
        actions = [vector.single_action_space.sample() for _ in range(n)]
        batch = np.stack([np.asarray(a) for a in actions])
        obs, reward, terminated, truncated, _ = vector.step(batch)
        done = False
        for i, single in enumerate(singles):
            s_obs, s_reward, s_term, s_trunc, _ = single.step(actions[i])
            np.testing.assert_allclose(obs[i], s_obs, rtol=1e-6)
            assert math.isclose(reward[i], s_reward, rel_tol=1e-9, abs_tol=1e-12)
            assert bool(terminated[i]) == s_term and bool(truncated[i]) == s_trunc
            done = done or s_term or s_trunc
        if done:  # after this the autoreset semantics take over; stop comparing
            break
    vector.close()


#: In CI, no shrinking: a failing example is printed as generated (the long run shrinks).
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
if os.environ.get("ENVGEN_FUZZ_SHRINK") == "1":
    PHASES = (*PHASES, Phase.shrink)
SETTINGS = dict(
    deadline=None,
    derandomize=os.environ.get("ENVGEN_FUZZ_RANDOM") != "1",
    phases=PHASES,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


@settings(max_examples=VALID_EXAMPLES, **SETTINGS)
@given(spec=valid_specs(), seed=st.integers(0, 2**16))
def test_random_valid_specs_build_import_and_conform(
    spec: dict[str, Any], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    with time_limit(TIME_LIMIT_S):
        check_valid_spec(spec, tmp, seed, vector=False)


@settings(max_examples=VALID_EXAMPLES, **SETTINGS)
@given(spec=valid_specs(), seed=st.integers(0, 2**16))
def test_random_valid_specs_vectorize_equivalently(
    spec: dict[str, Any], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    with time_limit(TIME_LIMIT_S):
        check_valid_spec(spec, tmp, seed, vector=True)


# --- specs as users write them (issue 13) -------------------------------------------------
#
# What newcomers wrote and the compiler once got wrong: params and `let` names in
# assignment targets and slices, shapes that depend on params (right, and wrong: those
# must be refused at build time), spec functions over `let` tables used in conditions and
# called on per-env values, `let` values computed by functions, every dtype in creation
# functions and casts, and info of arrays. A right spec must build, pass Gymnasium's
# checker, keep each info value's type, never hand out state through info, and give a
# native vector env that steps bit for bit like the single envs.

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@st.composite
def user_specs(
    draw: st.DrawFn,
    basics: bool = True,
    functions_: bool = True,
    dtypes: list[str] = DTYPES,
    trial: bool = True,
) -> tuple[dict[str, Any], bool]:
    """A spec in the style of tests/programs, and whether its observation fits its space.
    `basics=False` leaves out the array functions issue 13 added, `functions_=False` the spec
    functions, `trial=False` what the newcomer trial wrote (matrix products, a slice with
    per-env bounds as a target, float32 state with draws in step), to fuzz older code past
    its first refusal."""
    lead = draw(st.integers(1, 4))
    params: dict[str, Any] = {"n": {"default": lead + 1, "ge": 2, "le": 8}}
    table = [[draw(st.integers(0, 1)) for _ in range(3)] for _ in range(3)]
    let: dict[str, Any] = {"table": str(table)}
    functions: dict[str, Any] = {
        "cell": {"args": ["r", "c"], "return": "table[r % 3, c % 3]"},
        "shifted": {
            "args": ["xs", "k"],
            "body": "out = xs * 1.0\nout[0:k - 1] = xs[1:k]\n",
            "return": "out",
        },
    }
    if basics and draw(st.booleans()):  # a let value computed by a spec function
        functions["ramp"] = {
            "args": [],
            "body": "t = zeros(n)\nfor i in range(n):\n    t[i] = 0.5 * i\n",
            "return": "t",
        }
        let["weights"] = "ramp()"
    else:
        let["weights"] = "ones(n) * 0.5"
    dtype = draw(st.sampled_from(dtypes))
    cast = "bool" if dtype == "bool" else dtype
    state: dict[str, Any] = {
        "level": {"dtype": "float64", "init": draw(st.sampled_from(["0.0", "uniform(0.0, 1.0)"]))},
        "pipe": {"dtype": "float64", "shape": ["n"]},
        "small": {"dtype": dtype, "shape": [3], "init": f"zeros(3, dtype='{dtype}')"},
        "slot": {"dtype": "int64", "init": "0"},
    }
    lines = ["arrived = float(pipe[0])", "slot = (slot + action) % n"]
    lines.append(
        draw(
            st.sampled_from(
                ["pipe[0:n - 1] = pipe[1:n]"]  # a param in a slice of a target
                + (["pipe = shifted(pipe, n)"] if functions_ else [])  # a function, per env
                + (["pipe = roll(pipe, -1)"] if basics else [])
            )
        )
    )
    lines.append("pipe[n - 1] = 1.0 * action")  # a param in a target's index
    lines.append("pipe[slot] = pipe[slot] + weights[slot]")  # per-env index, let table
    m = "m"
    lines.append(f"{m} = n - 1")  # a loop bound computed from params
    lines.append("acc = 0.0")
    lines.append(f"for i in range({m}):")
    lines.append("    acc = acc + pipe[i]")
    # a function over a let table, as a condition
    lines.append("if cell(slot, action) == 1:" if functions_ else "if table[slot % 3, 0] == 1:")
    lines.append("    level = level + 0.5")
    value = "1" if dtype != "bool" else "True"
    lines.append(f"small[slot % 3] = {cast}({value})")
    lines.append("level = min(level + arrived - 0.25 * acc / n, 50.0)")
    if trial:
        state["drift"] = {"dtype": "float32", "init": "0.0"}
        lines += draw(
            st.permutations(
                [
                    "proj = pipe @ ones((n, 2))",  # (n,) @ (n, 2) is (2,): proj[...] a scalar
                    "pipe[0:slot] = 0.5 * pipe[0]",  # per-env slice bounds in a target
                    "drift = drift * float32(0.5) + float32(random())",  # float32 + a draw
                ]
            )
        )
        lines.append("level = level + 0.0 * proj[action] + 0.0 * float(drift)")
    fits = draw(st.booleans())
    if basics:
        size = "n + 1" if fits else draw(st.sampled_from(["n", "n + 2", "2 * n"]))
        observation = draw(
            st.sampled_from(
                ["concatenate([[level], pipe])", "concatenate([pipe, [level]])"]
                + (["[level, pipe]"] if not fits else [])
            )
        )
    else:
        size = "n" if fits else draw(st.sampled_from(["n + 1", "2 * n"]))
        observation = draw(st.sampled_from(["pipe", "pipe + level"]))
    info_value = draw(st.sampled_from(["pipe", "pipe[0:2]", "small", "[1, 2]", "weights"]))
    spec: dict[str, Any] = {
        "id": "fuzz/User-v0",
        "params": params,
        "let": let,
        "functions": functions if functions_ else {},
        "action_space": {"Discrete": 2},
        "observation_space": {
            "Box": {"low": -1000.0, "high": 1000.0, "shape": [size], "dtype": "float64"}
        },
        "state": state,
        "step": "\n".join(lines) + "\n",
        "observation": observation,
        "reward": "level - float(sum(small)) * 0.0",
        "terminated": "level > 40.0",
        "info": {"held": info_value, "slot": "slot"},
        "max_episode_steps": 20,
    }
    return spec, fits


def check_user_spec(spec: dict[str, Any], fits: bool, tmp: Path, seed: int) -> None:
    from gymnasium.utils.env_checker import check_env

    if not fits:
        number = next(_counter)
        path = tmp / f"wrong{number}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        compiled = compile_specs([path], tmp / f"wrong{number}")
        if compiled.diagnostics:
            assert {d.code for d in compiled.diagnostics} <= {"observation", "shape"}, [
                d.format() for d in compiled.diagnostics
            ]
            return
        # Lengths the polynomials cannot tell apart (2 * n against n + 1) are checked once,
        # when the env is made, naming the spec line and the param values.
        from envgen.runtime import InvalidParam

        env_class, _ = build_and_import(spec, tmp)
        with pytest.raises(InvalidParam, match="with these params the observation"):
            env_class()
        return
    env_class, vector_class = build_and_import(spec, tmp)
    check_env(env_class(), skip_render_check=True)
    env = env_class()
    env.action_space.seed(seed)
    _, info = env.reset(seed=seed)
    types = {k: (type(v), getattr(v, "dtype", None)) for k, v in info.items()}
    for _ in range(12):
        held = {k: np.array(v, copy=True) for k, v in info.items()}
        kept = info
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        for key, value in kept.items():  # what step t returned is not changed by step t + 1
            np.testing.assert_array_equal(value, held[key], err_msg=f"info {key!r} aliases state")
        assert {k: (type(v), getattr(v, "dtype", None)) for k, v in info.items()} == types
        if terminated or truncated:
            break
    assert vector_class is not None, "no native vector env for a spec the language allows"
    check_vector(env_class, vector_class, seed)


@settings(max_examples=VALID_EXAMPLES, **SETTINGS)
@given(case=user_specs(), seed=st.integers(0, 2**16))
def test_specs_as_users_write_them_build_run_and_vectorize(
    case: tuple[dict[str, Any], bool], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    spec, fits = case
    tmp = tmp_path_factory.mktemp("fuzz")
    with time_limit(TIME_LIMIT_S):
        check_user_spec(spec, fits, tmp, seed)


# --- mutated specs ------------------------------------------------------------------------

SEEDS = sorted((ROOT / "specs").rglob("*.yaml"))
TOKENS = [
    "(",
    ")",
    "[",
    "]",
    ":",
    ".",
    ",",
    "=",
    "==",
    "**",
    "//",
    "+",
    "-",
    "*",
    "/",
    "%",
    "if",
    "else",
    "for",
    "in",
    "range(",
    "not",
    "lambda",
    "__import__",
    "__class__",
    "action",
    "pos",
    "_x",
    "'",
    '"',
    "\\",
    "\n",
    "\n    ",
    "\t",
    "{{",
    "}}",
    "{%",
    "%}",
    "1e308",
    "9" * 40,
    "-0",
    "nan",
    "inf",
    "None",
    "True",
    "zeros((99999, 99999))",
    "uniform(",
    "clip(",
    "yield",
    "import os",
    ";",
    "#",
    "\x00",
    "é",
    "\u202e",
]
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**30,
    float("nan"),
    float("inf"),
    "",
    "x",
    "__import__('os')",
    [],
    [1, "a"],
    {},
    {"a": 1},
    {"Box": 1},
    [[[]]],
]


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, prefix + (i,))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """The text of a spec from specs/, mutated one to three times."""
    source = draw(st.sampled_from(SEEDS)).read_text(encoding="utf-8")
    if draw(st.integers(0, 4)) == 0:  # text-level: splice characters anywhere
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(source)))
            token = draw(st.sampled_from(TOKENS) | st.text(max_size=4))
            source = source[:at] + token + source[at:]
        return source
    data = yaml.safe_load(source)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(data, path), path[-1]
        action = draw(st.sampled_from(["delete", "rename", "retype", "splice", "splice"]))
        value = parent[key]
        if action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            name = str(key)
            i = draw(st.integers(0, max(len(name) - 1, 0)))
            new = draw(
                st.sampled_from(
                    [
                        name[:i] + name[i + 1 :],
                        name[:i] + "x" + name[i:],
                        name.upper(),
                        name + "_",
                        "_" + name,
                        name[::-1],
                    ]
                )
            )
            parent[new] = parent.pop(key)
        elif action == "splice" and isinstance(value, str):
            at = draw(st.integers(0, len(value)))
            parent[key] = value[:at] + draw(st.sampled_from(TOKENS)) + value[at:]
        else:
            parent[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))  # never shared
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def check_mutant(text: str, tmp: Path) -> None:
    path = tmp / "mutant.yaml"
    path.write_text(text, encoding="utf-8")
    with time_limit(TIME_LIMIT_S):
        compiled = compile_specs([path], tmp / "generated")
    if not compiled.diagnostics:
        assert compiled.files, "a valid build produced no files"
        return
    assert not compiled.files
    lines = text.count("\n") + 1
    for d in compiled.diagnostics:
        assert Path(d.location.file).name == "mutant.yaml", d
        assert 1 <= d.location.line <= lines + 1, d
        assert d.location.column >= 1, d
        assert d.message.strip(), d
        assert d.code and d.code != "error", d


@settings(max_examples=MUTANT_EXAMPLES, **SETTINGS)
@given(text=mutated_specs())
def test_mutated_specs_build_or_give_clean_diagnostics(text: str, tmp_path: Path) -> None:
    check_mutant(text, tmp_path)
