"""The generated-names discipline: no spec name can collide with a name envgen binds itself.

Generated modules hold two kinds of names: the spec's own (params, state, let values,
constants, labels, function arguments, locals) and the generator's (imports, helpers,
method parameters, bookkeeping locals). The rule (`envgen.compiler.names`):

- every name the generator binds starts with `_`, or is in the reserved vocabulary
  (`RESERVED`: `np`, `gym`, `action`, `reward`, the template's imports, ...);
- a spec name never starts with `_` and is never reserved.

The first test proves the rule on the generated code itself: it extracts every name that
any scope of every module binds (over every spec in the repository), removes the spec's
own names, and checks that what is left is `_`-prefixed or refused as a spec name. The
others build specs that use the generator's former locals and imports as names, and check
that the native vector env still equals the single env.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from envgen.build import check_spec, compile_specs, write
from envgen.compiler.analysis import EnvModel
from envgen.compiler.names import (
    TEMPLATE_NAMES,
    is_reserved,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    [*ROOT.glob("specs/**/*.yaml"), *ROOT.glob("tests/programs/*.yaml")],
)


def bound_names(source: str) -> set[str]:
    """Every name some scope of `source` binds: imports, defs, parameters, targets."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


def spec_names(model: EnvModel) -> set[str]:
    """Every name the spec itself declares or writes in its code."""
    names = {*model.params, *model.state, *model.lets, *model.constants, *model.labels}
    for fn in model.functions.values():
        names.update(fn.args)
        names.add(f"_{fn.name}")
    for code in model.codes():
        for tree in [*code.stmts, *([code.expr] if code.expr is not None else [])]:
            for node in ast.walk(tree):
                if isinstance(node, ast.Name):
                    names.add(node.id)
    return names


def _vector_class(model: EnvModel) -> str:
    return model.class_name.removesuffix("Env") + "VectorEnv"


@pytest.fixture(scope="module")
def corpus() -> tuple[list[EnvModel], dict[str, str]]:
    compiled = compile_specs(CORPUS)
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    return compiled.models, compiled.files


def test_every_generator_name_is_prefixed_or_refused(corpus) -> None:
    models, files = corpus
    assert len(models) >= 15
    offenders: dict[str, set[str]] = {}
    for model in models:
        # Class names are module-level: a constant or label may not take them (tested below).
        own = spec_names(model) | {model.class_name, _vector_class(model)}
        for name in (
            f"{model.module_name}.py",
            f"{model.module_name}_vector.py",
            f"{model.module_name}_jax.py",
        ):
            if name not in files:
                continue
            for bound in bound_names(files[name]) - own:
                if not bound.startswith("_") and not is_reserved(bound):
                    offenders.setdefault(bound, set()).add(name)
    assert offenders == {}, (
        "names the generated code binds that a spec may also bind: prefix them with '_' "
        f"or add them to envgen.compiler.names.RESERVED: {offenders}"
    )


@pytest.fixture(scope="module")
def multiagent_corpus():
    """Every multi-agent spec of the repository (and the tests' edge cases), compiled."""
    paths = [*ROOT.glob("specs/**/*.yaml"), *ROOT.glob("tests/multiagent_specs/*.yaml")]
    compiled = compile_specs(sorted(paths))
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    assert len(compiled.multiagent) >= 6
    return compiled.multiagent, compiled.files


def _multiagent_generator_names(multiagent_corpus) -> dict[str, set[str]]:
    """Name -> modules: what the PettingZoo modules bind that is not the spec's own."""
    models, files = multiagent_corpus
    out: dict[str, set[str]] = {}
    for model in models:
        own = spec_names(model) | {model.class_name}
        name = f"{model.module_name}.py"
        for bound in bound_names(files[name]) - own:
            out.setdefault(bound, set()).add(name)
    return out


def test_every_multiagent_generator_name_is_prefixed_or_refused(multiagent_corpus) -> None:
    """The same rule for PettingZoo modules, whose class binds more (`rewards`,
    `observations`, `agent_selection`, ...): `MULTIAGENT_RESERVED`."""
    from envgen.compiler._multiagent import MULTIAGENT_RESERVED

    offenders = {
        name: modules
        for name, modules in _multiagent_generator_names(multiagent_corpus).items()
        if not name.startswith("_") and not is_reserved(name) and name not in MULTIAGENT_RESERVED
    }
    assert offenders == {}, (
        "names a PettingZoo module binds that a spec may also bind: prefix them with '_' "
        f"or add them to MULTIAGENT_RESERVED: {offenders}"
    )


def test_a_multiagent_spec_may_not_bind_what_its_module_binds(
    multiagent_corpus, tmp_path: Path
) -> None:
    """Each plain name a PettingZoo module binds is refused, with its location, as a local
    of `step` (whose locals `reward` and `terminated` read after the module's own
    bookkeeping ran: a local `rewards` was once accepted and then read the module's dict)."""
    names = sorted(
        n
        for n in _multiagent_generator_names(multiagent_corpus)
        if not n.startswith("_") and n.isidentifier() and n not in ("self", "annotations")
    )
    assert {"rewards", "observations", "infos", "terminations", "truncated"} <= set(names)
    spec = tmp_path / "clash.yaml"
    for name in names:
        spec.write_text(
            "id: test/Clash-v0\nagents: [a, b]\naction_space: {Discrete: 2}\n"
            "observation_space: {Discrete: 2}\nstate: {s: {dtype: int64, init: 0}}\n"
            f"step: |\n  {name} = s + 1\n  s = {name}\nobservation: 0\n"
        )
        model, diagnostics = check_spec(spec)
        assert model is None and diagnostics, name
        assert diagnostics[0].location.line == 7, (name, diagnostics[0].format())


def test_template_imports_are_reserved() -> None:
    """Every name a template imports is read from the templates and reserved."""
    assert {"AutoresetMode", "NativeVectorEnv", "np", "gym", "spaces", "Mapping"} <= TEMPLATE_NAMES
    for name in TEMPLATE_NAMES:
        assert name.startswith("_") or is_reserved(name), name


#: Names the generated code used to bind as plain locals and imports; a spec may use them.
FORMER_LOCALS = [
    "ids",
    "resetting",
    "any_reset",
    "next_step",
    "done",
    "live",
    "key",
    "value",
    "infos",
    "step_info",
    "elapsed",
    "n",
    "p",
    "mask",
    "size",
    "merge",
    "exact",
    "per_env",
    "c_pow",
    "mask_info",
]


def _names_spec(env_id: str) -> str:
    state = "\n".join(
        f"  {name}: {{dtype: int64, init: {i % 3}}}" for i, name in enumerate(FORMER_LOCALS)
    )
    step = "\n".join(
        f"  {name} = ({name} + action + {i}) % 7" for i, name in enumerate(FORMER_LOCALS)
    )
    total = " + ".join(FORMER_LOCALS)
    return f"""\
id: {env_id}
action_space: {{Discrete: 3}}
observation_space: {{Box: {{low: 0, high: 10, shape: [3], dtype: int64}}}}
state:
{state}
step: |
{step}
  tmp = ids + done
observation: [ids, resetting, any_reset]
reward: float({total}) + tmp
terminated: next_step == 6 and live > 3
max_episode_steps: 9
"""


def test_a_spec_may_name_state_like_the_generators_former_locals(tmp_path: Path) -> None:
    """State named `ids`, `resetting`, `any_reset`, ...: the vector env equals N single envs."""
    (tmp_path / "names.yaml").write_text(_names_spec("test/Names-v0"))
    (tmp_path / "consts.yaml").write_text(
        "id: test/Consts-v0\n"
        "constants: {AutoresetMode_: 1, merge: 2, exact: 3, size: 4, c_pow: 2, Streams: 1}\n"
        "params: {per_env: {default: 2}, mask_info: {default: 1}}\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: 0, high: 100, shape: [1], dtype: int64}}\n"
        "state: {pos: {dtype: int64, init: 0}}\n"
        "step: |\n"
        "  pos = (pos + merge * exact + size * c_pow + Streams + per_env * mask_info\n"
        "         + action) % 50\n"
        "observation: [pos]\n"
        "reward: float(pos)\n"
        "max_episode_steps: 20\n"
    )
    out = tmp_path / "gen"
    compiled = compile_specs(sorted(tmp_path.glob("*.yaml")), out)
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    assert "test_names_v0_vector.py" in compiled.files
    assert "test_consts_v0_vector.py" in compiled.files
    out.mkdir()
    for name, text in compiled.files.items():
        (out / name).write_text(text)
    script = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
import numpy as np, gymnasium as gym
import gen
for env_id in ("test/Names-v0", "test/Consts-v0"):
    for backend in ("numpy", "auto"):
        vec = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point",
                           backend=backend)
        ref = gym.make_vec(env_id, num_envs=3, vectorization_mode="sync")
        a, b = vec.reset(seed=1), ref.reset(seed=1)
        assert np.array_equal(a[0], b[0])
        rng = np.random.default_rng(0)
        for t in range(40):
            actions = rng.integers(0, 2, 3)
            a, b = vec.step(actions), ref.step(actions)
            for x, y in zip(a[:4], b[:4]):
                assert np.array_equal(x, y), (env_id, backend, t, a, b)
print("same")
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "same" in run.stdout


def test_a_constant_named_like_a_generated_name_is_refused_with_a_location(
    tmp_path: Path,
) -> None:
    """Template imports (`AutoresetMode`, ...) and the env classes' names: located errors."""
    names = sorted(n for n in TEMPLATE_NAMES if not n.startswith("_") and n != "annotations")
    names += ["CV0Env", "CV0VectorEnv"]  # the classes generated for the id test/C-v0
    assert "AutoresetMode" in names
    for name in names:
        spec = tmp_path / "c.yaml"
        spec.write_text(
            f"id: test/C-v0\nconstants: {{{name}: 3}}\naction_space: {{Discrete: 2}}\n"
            "observation_space: {Box: {low: 0, high: 10, shape: [1]}}\n"
            "state: {pos: {dtype: int64, init: 0}}\nstep: pos = pos + 1\nobservation: [pos]\n"
        )
        model, diagnostics = check_spec(spec)
        assert model is None and [d.code for d in diagnostics] == ["name"], (name, diagnostics)
        assert "reserved" in diagnostics[0].message, name
        assert diagnostics[0].location.line == 2, name


#: Names the JAX module's functions once bound as plain parameters and locals (a spec that
#: used one silently lost its JAX module); they are `_`-prefixed now, so a spec may use them.
JAX_FORMER_LOCALS = ["key", "keys", "static", "state", "next_state", "limit", "u"]


def test_a_spec_may_name_state_like_the_jax_modules_former_locals(tmp_path: Path) -> None:
    """State and locals named `key`, `static`, `state`, ...: the spec gets a JAX module,
    and it replays the single env's trajectory (random draws included)."""
    pytest.importorskip("jax")
    from envgen.testing._jax import replay_problem

    state = "\n".join(
        f"  {name}: {{dtype: float64, init: 'uniform(0, {i + 1})'}}"
        for i, name in enumerate(JAX_FORMER_LOCALS)
    )
    step = "\n".join(f"  {name} = {name} + action + random()" for name in JAX_FORMER_LOCALS)
    (tmp_path / "jaxnames.yaml").write_text(
        "id: test/JaxNames-v0\n"
        "action_space: {Discrete: 3}\n"
        "observation_space: {Box: {low: -1000, high: 1000, shape: [3]}}\n"
        f"state:\n{state}\n"
        f"step: |\n{step}\n"
        "  keys = keys - static\n"
        "observation: [key, state, next_state]\n"
        "reward: float(limit + u)\n"
        "terminated: key > 20\n"
        "max_episode_steps: 12\n"
    )
    compiled = compile_specs([tmp_path / "jaxnames.yaml"], tmp_path / "jaxgen")
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    assert compiled.jax_fallbacks == {}
    assert "test_jax_names_v0_jax.py" in compiled.files
    write(compiled, tmp_path / "jaxgen")
    sys.path.insert(0, str(tmp_path))
    try:
        import jaxgen.test_jax_names_v0_jax as module

        assert replay_problem(module, {}, seed=2, steps=30) is None
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize(
    "name",
    [
        "jax",
        "jnp",
        "State",
        "Params",
        "observe",
        "default_params",
        "max_steps_in_episode",  # a field of Params (hostile trial 2: an internal error)
        "replace",  # a method of State and Params (hostile trial 2: TypeError at import)
        "at",
        "package",  # a keyword of envgen.jax.make (hostile trial 2: could not be passed)
        "env_id",
    ],
)
def test_names_the_jax_module_binds_are_reserved(tmp_path: Path, name: str) -> None:
    """A spec name that would shadow the JAX module's imports or public names: a located
    error (in every backend alike), not a silently dropped JAX module."""
    spec = tmp_path / "j.yaml"
    spec.write_text(
        "id: test/J-v0\naction_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: 0, high: 10, shape: [1]}}\n"
        f"state: {{{name}: {{dtype: int64, init: 0}}}}\nstep: {name} = {name} + 1\n"
        f"observation: [{name}]\n"
    )
    model, diagnostics = check_spec(spec)
    assert model is None and diagnostics, name
    assert diagnostics[0].code == "name" and "reserved" in diagnostics[0].message, diagnostics
    assert diagnostics[0].location.line == 4, name
