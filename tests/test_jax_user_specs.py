"""The JAX backend on a user's own specs: built with `-o`, fuzzed from the spec file, shown.

From a newcomer's trial: a `let` table computed by a spec function lost the JAX module;
`envgen.jax.make` reached only `generated`; `envgen fuzz` skipped `jax_agreement` on the
user's specs with a wrong reason; `envgen show` said `"jax": null`; `envgen build` said
nothing when a spec got no JAX module.
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

jax = pytest.importorskip("jax")  # the JAX extra; every other test runs without it

import envgen.jax  # noqa: E402
from envgen.cli import main  # noqa: E402
from envgen.testing import fuzz  # noqa: E402

#: A transition table computed once, in Python, by a spec function (the Taxi pattern).
LET_TABLE = """\
id: user/LetTable-v0
params:
  n: {default: 5, ge: 2}
functions:
  build:
    args: [k]
    body: |
      t = zeros((k, 2), dtype="int64")
      for i in range(k):
          t[i, 0] = min(i + 1, k - 1)
          t[i, 1] = max(i - 1, 0)
    return: t
let:
  table: build(n)
action_space: {Discrete: 2}
observation_space: {Discrete: n}
state:
  s: {dtype: int64, init: "integers(0, n - 1)"}
step: |
  s = table[s, 1 - action]
observation: s
reward: float(s == n - 1)
terminated: s == n - 1
max_episode_steps: 30
"""

#: A spec JAX cannot express (a slice of traced length): no module, and the build says why.
NO_JAX = """\
id: user/NoJax-v0
action_space: {Discrete: 3}
observation_space: {Box: {low: 0, high: 10, shape: [1]}}
state:
  pos: {dtype: int64, init: 0}
  hist: {dtype: float64, shape: [4], init: 0.0}
step: |
  pos = action
  total = sum(hist[0:pos])
  hist[0] = total + 1
observation: "[hist[0]]"
reward: 0.0
max_episode_steps: 5
"""


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("userspecs")
    (folder / "let_table.yaml").write_text(LET_TABLE)
    (folder / "no_jax.yaml").write_text(NO_JAX)
    return folder


@pytest.fixture(scope="module")
def built(specs: Path) -> tuple[Path, str]:
    """The specs built with `-o usergen` (the CLI, as a user runs it), and its output."""
    result = CliRunner().invoke(main, ["build", str(specs), "-o", str(specs / "usergen")])
    assert result.exit_code == 0, result.output
    return specs / "usergen", result.output


def test_build_notes_a_spec_without_a_jax_module_with_its_line(built) -> None:
    out, output = built
    text = " ".join(output.split())  # rich wraps long notes
    assert "note: user/NoJax-v0: no JAX module (" in text
    assert "no_jax.yaml:9:" in text and "a slice whose bounds are traced values" in text
    assert "user/LetTable-v0: no JAX module" not in text
    assert (out / "user_let_table_v0_jax.py").exists()
    assert not (out / "user_no_jax_v0_jax.py").exists()


def test_make_imports_the_jax_module_from_the_package_named(built, tmp_path, monkeypatch) -> None:
    # a hostile trial: the registry's module paths carry the build-time name `usergen`, so
    # `make("pkgs.usergen:...")` imported a top-level `usergen` found first on sys.path
    out, _ = built
    (tmp_path / "pkgs").mkdir()
    shutil.copytree(out, tmp_path / "pkgs" / "usergen")
    decoy = tmp_path / "decoy" / "usergen"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("")
    (decoy / "user_let_table_v0_jax.py").write_text("raise SystemExit('the decoy ran')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path / "decoy"))
    for name in [n for n in sys.modules if n == "usergen" or n.startswith("usergen.")]:
        monkeypatch.delitem(sys.modules, name)  # other tests import the real one
    env, params = envgen.jax.make("pkgs.usergen:user/LetTable-v0")
    env.reset(jax.random.key(0), params)
    assert env.name == "user/LetTable-v0"
    assert "pkgs.usergen.user_let_table_v0_jax" in sys.modules
    assert "usergen.user_let_table_v0_jax" not in sys.modules


def test_a_let_table_built_by_a_function_is_static(built) -> None:
    """The function runs once in Python (the reference env); the JAX step indexes it."""
    out, _ = built
    source = (out / "user_let_table_v0_jax.py").read_text()
    assert "_static.table" in source and "_fn_build" not in source


def test_make_reaches_a_package_built_with_o(built, monkeypatch) -> None:
    out, _ = built
    monkeypatch.syspath_prepend(str(out.parent))
    for env, params in (
        envgen.jax.make("usergen:user/LetTable-v0", n=6),
        envgen.jax.make("user/LetTable-v0", package="usergen", n=6),
    ):
        assert env.name == "user/LetTable-v0" and env.num_actions == 2
        obs, state = env.reset(jax.random.key(0), params)
        step = jax.jit(env.step)
        seen = [int(obs)]
        for t in range(8):
            obs, state, reward, terminated, truncated, _ = step(jax.random.key(t), state, 1, params)
            seen.append(int(obs))
        # action 1 moves up the table (i -> i + 1); reaching the last cell (5) ends the episode
        assert all(b == a + 1 or a == 4 for a, b in zip(seen, seen[1:], strict=False)), seen
    import usergen  # the package's ids, registered: the id alone finds it

    env, params = envgen.jax.make("user/LetTable-v0")
    assert np.asarray(env.static.table).shape == (5, 2)
    with pytest.raises(ValueError, match="no JAX version: a slice whose bounds"):
        envgen.jax.make("usergen:user/NoJax-v0")
    with pytest.raises(ValueError, match="cannot import the package 'nosuchgen'"):
        envgen.jax.make("nosuchgen:user/LetTable-v0")
    assert "user/LetTable-v0" in usergen.JAX_MODULES


def test_fuzz_runs_jax_agreement_on_a_spec_file_and_says_why_it_skips(
    specs: Path, monkeypatch
) -> None:
    from envgen.testing import _jax

    report = fuzz(str(specs / "let_table.yaml"), properties=["jax_agreement"], budget=60)
    (result,) = report.results
    assert result.status == "pass", result.message

    def must_not_run(*args, **kwargs):
        raise AssertionError("deciding to skip must not replay anything")

    monkeypatch.setattr(_jax, "replay_problem", must_not_run)
    report = fuzz(str(specs / "no_jax.yaml"), properties=["jax_agreement"], budget=60)
    (result,) = report.results
    assert result.status == "skip", result.message
    assert "no JAX module: a slice whose bounds are traced values" in result.message


def test_a_failing_jax_agreement_prints_a_runnable_reproduction(specs: Path, monkeypatch) -> None:
    """A planted JAX bug (the reward off by one): the failure carries a script that replays
    the failing seed and fails with the same disagreement (it printed none before)."""
    from envgen.testing import _jax

    real = _jax.jax_module

    def planted(env_id: str):
        module, kwargs = real(env_id)
        broken = types.SimpleNamespace(**vars(module))

        def step(*args):
            state, reward, terminated, info = module.step(*args)
            return state, reward + 1.0, terminated, info

        broken.step = step
        return broken, kwargs

    monkeypatch.setattr(_jax, "jax_module", planted)
    report = fuzz(str(specs / "let_table.yaml"), properties=["jax_agreement"], budget=60)
    (result,) = report.results
    assert result.status == "fail" and "reward" in result.message, result.message
    script = result.reproduction
    assert script and "replay_problem(module" in script and "seed=0" in script, script
    with pytest.raises(AssertionError) as raised:
        exec(compile(script, "reproduction.py", "exec"), {"__name__": "__main__"})
    assert str(raised.value) == result.message


def test_fuzz_text_output_gives_the_skip_reason(specs: Path) -> None:
    result = CliRunner().invoke(
        main, ["fuzz", str(specs / "no_jax.yaml"), "--property", "jax_agreement"]
    )
    text = " ".join(result.output.split())
    assert "user/NoJax-v0: jax_agreement skipped: the spec has no JAX module" in text, text


def test_show_says_whether_there_is_a_jax_module(specs: Path) -> None:
    """... and, for a spec without a native vector env, why not (a spec file, like a built id)."""
    shown = {}
    for name in ("let_table.yaml", "no_jax.yaml"):
        result = CliRunner().invoke(main, ["show", str(specs / name), "--json"])
        assert result.exit_code == 0, result.output
        shown[name] = json.loads(result.output)
    assert shown["let_table.yaml"]["jax"].startswith("yes: envgen.jax.make('user/LetTable-v0')")
    assert shown["let_table.yaml"]["vector_fallback"] is None
    no_jax = shown["no_jax.yaml"]
    assert no_jax["jax"].startswith("none: a slice whose bounds are traced values")
    assert "line 9" in no_jax["jax"]
    assert no_jax["vector_entry_point"] is None
    assert (
        "no_jax.yaml:9:3: the vector backend does not support reading `hist[0:pos]`, a slice"
        in no_jax["vector_fallback"]
    )
    result = CliRunner().invoke(main, ["show", str(specs / "no_jax.yaml")])
    text = "".join(result.output.replace("│", " ").split())  # rich wraps anywhere
    assert "SyncVectorEnv(nonativeone:" in text, text
    # (a long path is cut)
    assert "thevectorbackenddoesnotsupportreading`hist[0:pos]`,aslice" in text, text


def test_unused_functions_and_param_shaped_lets_keep_the_jax_module(tmp_path: Path) -> None:
    """From a second newcomer trial: an uncalled spec function (`arange(k)` of its argument)
    cost the JAX module; `arange(n)` in a let, n a param deciding state shapes, is static."""
    from envgen.build import compile_specs

    (tmp_path / "a.yaml").write_text(
        "id: user/Ramp-v0\nparams: {n: {default: 3, ge: 1}}\n"
        "functions: {ramp: {args: [k], return: arange(k) * 1.0}}\n"
        "let: {w: arange(n) * 1.0}\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: 0, high: 100, shape: [n], dtype: float32}}\n"
        "state: {d: {shape: [n], init: 0.0}}\nstep: d = d + w\nobservation: d\n"
        "max_episode_steps: 10\n"
    )
    compiled = compile_specs([tmp_path / "a.yaml"])
    assert not compiled.diagnostics and compiled.jax_fallbacks == {}, compiled.jax_fallbacks
    source = compiled.files["user_ramp_v0_jax.py"]
    assert "_fn_ramp" not in source and "_static.w" in source


def _spec_with_step(tmp_path: Path, line: str) -> Path:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "id: user/Big-v0\naction_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: -1.0e19, high: 1.0e19, shape: [1]}}\n"
        "state: {pos: {dtype: int64, init: 0}}\n"
        f"step: |\n  {line}\nobservation: [pos]\nmax_episode_steps: 5\n"
    )
    return spec


def test_an_int64_overflowing_constant_is_refused_at_build(tmp_path: Path) -> None:
    """From a hostile trial: `9223372036854775807 + 1` built, and the JAX env raised
    OverflowError (NumPy would wrap): integers are int64 in every backend, so the language
    has no such constant."""
    from envgen.build import check_spec

    for line in (
        "pos = 9223372036854775807 + 1",
        "pos = pos + 2 ** 64",
        "pos = -9223372036854775807 - 2",
    ):
        model, diagnostics = check_spec(_spec_with_step(tmp_path, line))
        assert model is None, line
        (problem,) = diagnostics
        assert problem.code == "refused" and "outside the int64 range" in problem.message
        assert problem.location.line == 6, line
    model, diagnostics = check_spec(_spec_with_step(tmp_path, "pos = 9223372036854775806 + 1"))
    assert model is not None and not diagnostics


def test_an_integer_beyond_int32_needs_x64_and_says_so(tmp_path: Path, monkeypatch) -> None:
    """JAX's integers are int32 unless x64 is on: make says so (not an OverflowError inside
    jit); with x64 on, the JAX env agrees with the single env."""
    from envgen.testing._jax import replay_problem

    spec = _spec_with_step(tmp_path, "pos = pos + 3000000000 * action")
    out = tmp_path / "biggen"
    result = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert result.exit_code == 0, result.output
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"64-bit mode: the integer 3000000000 \(step, line 6\)"):
        envgen.jax.make("biggen:user/Big-v0")
    with jax.enable_x64(True):
        env, params = envgen.jax.make("biggen:user/Big-v0")
        _, state = env.reset(jax.random.key(0), params)
        obs, *_ = env.step(jax.random.key(1), state, 1, params)
        assert float(obs[0]) == 3e9
    import biggen.user_big_v0_jax as module

    assert replay_problem(module, {}, seed=0, steps=5) is None


#: Loops: one long enough to roll with a draw and a masked element write (its int
#: accumulator becomes a float), loops that carry one value, and a short one with a slice.
LOOPS = """\
id: user/Loops-v0
params: {n: {default: 40, ge: 10}}
action_space: {Discrete: 3}
observation_space: {Box: {low: -1.0e9, high: 1.0e9, shape: [3]}}
state:
  total: {dtype: float64, init: 0.0}
  hist: {dtype: float64, shape: [n], init: 0.0}
  count: {dtype: int64, init: 0}
step: |
  acc = 0
  for i in range(n):
      acc = acc + hist[i] * 0.5 + random()
      if action == 1:
          hist[i] = hist[i] + i
  last = 0.0
  for j in range(n):
      last = hist[j] + last * 0.1
  w = 1.0
  for k in range(12):
      seen = k * 2.0
      w = w + seen
  for m in range(3):
      count = count + int(sum(hist[0:m + 1]) > 0)
  total = acc + last + w
observation: "[total, hist[n - 1], count]"
reward: total
terminated: "False"
max_episode_steps: 20
"""


def test_long_loops_are_fori_loops_that_agree_with_the_reference(tmp_path, monkeypatch) -> None:
    """`for i in range(n)` with n large compiles to one `lax.fori_loop` (compile time stays
    bounded), and gives what the unrolled loop gives; the unrolled loop replays the single
    env's draws exactly."""
    from envgen.build import compile_specs
    from envgen.jax import _runtime
    from envgen.testing._jax import replay_problem

    (tmp_path / "loops.yaml").write_text(LOOPS)
    out = tmp_path / "loopgen"
    compiled = compile_specs([tmp_path / "loops.yaml"], out)
    assert not compiled.diagnostics and compiled.jax_fallbacks == {}, compiled.jax_fallbacks
    out.mkdir()
    for name, text in compiled.files.items():
        (out / name).write_text(text)
    source = compiled.files["user_loops_v0_jax.py"]
    assert source.count("_jx.loop(range(") == 3  # the slice's loop is unrolled as Python
    assert "for m in range(3):" in source
    monkeypatch.syspath_prepend(str(tmp_path))
    import loopgen.user_loops_v0_jax as module

    assert replay_problem(module, {"n": 12}, seed=1, steps=8) is None
    with jax.enable_x64(True):
        env, params = envgen.jax.make("loopgen:user/Loops-v0")
        _, state = env.reset(jax.random.key(0), params)

        def make_rollout():  # a new function each time: jit traces it afresh
            def rollout(state):
                for t, action in enumerate([1, 1, 0, 1, 2, 1]):
                    key = jax.random.key(t)
                    obs, state, reward, *_ = env.step_env(key, state, action, params)
                return obs, reward, state

            return rollout

        jaxpr = str(jax.make_jaxpr(lambda s: env.step_env(jax.random.key(0), s, 1, params))(state))
        assert "while" in jaxpr or "scan" in jaxpr
        rolled = jax.jit(make_rollout())(state)
        monkeypatch.setattr(_runtime, "UNROLL", 10**9)
        unrolled = jax.jit(make_rollout())(state)
        assert "while" not in str(
            jax.make_jaxpr(lambda s: env.step_env(jax.random.key(0), s, 1, params))(state)
        )
        for a, b in zip(jax.tree.leaves(rolled), jax.tree.leaves(unrolled), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)
        assert float(rolled[1]) > 0


def test_integer_division_by_zero_gives_zero_and_elements_keep_their_dtype(tmp_path) -> None:
    """The shared numeric rule: integer `//` and `%` by zero give 0 (XLA's `//` gives -1);
    an int64 value stored into an int32 array keeps int32 (no scatter FutureWarning)."""
    import warnings

    from envgen.build import compile_specs

    (tmp_path / "d.yaml").write_text(
        "id: user/Div-v0\naction_space: {Discrete: 3}\n"
        "observation_space: {Box: {low: -100, high: 100, shape: [3], dtype: int64}}\n"
        "state:\n  q: {dtype: int64, init: 7}\n  r: {dtype: int64, init: 7}\n"
        "  riding: {dtype: int32, shape: [3], init: 0}\n"
        "step: |\n  q = 7 // action\n  r = -7 % action\n"
        "  riding[action] = riding[action] + 1\n"
        "observation: '[q, r, riding[0]]'\nmax_episode_steps: 5\n"
    )
    compiled = compile_specs([tmp_path / "d.yaml"], tmp_path / "divgen")
    assert not compiled.diagnostics and compiled.jax_fallbacks == {}
    (tmp_path / "divgen").mkdir()
    for name, text in compiled.files.items():
        (tmp_path / "divgen" / name).write_text(text)
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        import divgen.user_div_v0_jax as module
    finally:
        sys.path.remove(str(tmp_path))
    with jax.enable_x64(True), warnings.catch_warnings():
        warnings.simplefilter("error")  # the scatter dtype FutureWarning fails the test
        static = module.SingleEnv()
        params = module.default_params(static)
        state = module.reset(jax.random.key(0), params, static)
        step = jax.jit(lambda s, a: module.step(jax.random.key(1), s, a, params, static)[0])
        zero, two = step(state, 0), step(state, 2)
    assert (int(zero.q), int(zero.r)) == (0, 0)
    assert (int(two.q), int(two.r)) == (3, 1)  # Python's floor semantics otherwise
    assert zero.riding.dtype == np.int32 and zero.riding.tolist() == [1, 0, 0]


def test_the_gymnax_env_survives_a_deep_copy() -> None:
    """rejax deep-copies its config, env included (the env held a module: TypeError)."""
    import copy

    env, params = envgen.jax.make("envgen/CartPole-v1")
    config = copy.deepcopy({"env": env, "env_params": params})
    obs, state = config["env"].reset(jax.random.key(0), config["env_params"])
    assert obs.shape == (4,) and config["env"].num_actions == 2
