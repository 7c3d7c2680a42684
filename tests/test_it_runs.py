"""If it builds, it runs: programs users wrote build, pass Gymnasium's checker, and their
native vector envs (both backends) step exactly like the single env.

Each spec in tests/programs/ is a program that once built and then failed at run time, or
was refused though it is fine (see issue 13). The guard tests show that a compiler bug that
would emit a wrong name is reported at build time, located, and nothing is written.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import build_package
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from envgen.backends import _printer
from envgen.backends.python import EmittedCodeError, format_sources
from envgen.build import compile_specs, write

PROGRAMS = Path(__file__).parent / "programs"
SPECS = sorted(PROGRAMS.glob("*.yaml"))


def same(a, b, path=""):
    """Equal values, types included (dicts, tuples, arrays with their dtype, scalars)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(a), sorted(b))
        for key in a:
            same(a[key], b[key], f"{path}/{key}")
        return
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}/{i}")
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (path, a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype != object:
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (path, a, b)


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    out = tmp_path_factory.mktemp("programs") / "user_programs"
    compiled = compile_specs(SPECS, out)
    assert not compiled.diagnostics, "\n".join(d.format() for d in compiled.diagnostics)
    write(compiled, out)
    sys.path.insert(0, str(out.parent))
    envs = {}
    for model in compiled.models:
        single = importlib.import_module(f"user_programs.{model.module_name}")
        vector = None
        if f"{model.module_name}_vector.py" in compiled.files:
            module = importlib.import_module(f"user_programs.{model.module_name}_vector")
            vector = getattr(module, f"{model.class_name.removesuffix('Env')}VectorEnv")
        envs[model.spec.id] = (model, getattr(single, model.class_name), vector)
    yield envs
    sys.path.remove(str(out.parent))


def ids():
    import yaml

    return [yaml.safe_load(p.read_text())["id"] for p in SPECS]


@pytest.mark.parametrize("env_id", ids())
def test_program_runs_and_passes_gymnasiums_checker(programs, env_id):
    _, single, _ = programs[env_id]
    env = single()
    check_env(env, skip_render_check=True)
    env.action_space.seed(1)
    obs, info = env.reset(seed=1)
    first_info_types = {k: type(v) for k, v in info.items()}
    for _ in range(60):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs), obs
        assert {k: type(v) for k, v in info.items() if k in first_info_types} == {
            k: t for k, t in first_info_types.items() if k in info
        }, "info values keep one type for the whole episode"
        if terminated or truncated:
            obs, info = env.reset()


@pytest.mark.parametrize("backend", ["numpy", "auto"])  # auto: the kernel where there is one
@pytest.mark.parametrize("env_id", ids())
def test_program_vector_env_steps_like_the_single_env(programs, env_id, backend):
    model, single, vector = programs[env_id]
    assert vector is not None, f"{env_id}: no native vector env: {model.vector_notes}"
    probe = vector(num_envs=1)
    assert probe.backend == "numba" or probe.backend_note, "a NumPy-code env says why"
    for mode in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        vec = vector(num_envs=3, autoreset_mode=mode, backend=backend)
        sync = SyncVectorEnv([single for _ in range(3)], autoreset_mode=mode)
        same(vec.reset(seed=5), sync.reset(seed=5), f"{env_id} reset")
        vec.action_space.seed(5)
        for t in range(80):
            actions = vec.action_space.sample()
            same(vec.step(actions), sync.step(actions), f"{env_id} {mode} step {t}")


def test_the_guard_refuses_emitted_code_with_undefined_or_unused_names():
    with pytest.raises(EmittedCodeError) as caught:
        format_sources({"m.py": "def f():\n    unused = 1\n    return n\n"})
    codes = sorted(f.code for f in caught.value.findings)
    assert codes == ["F821", "F841"]
    assert {f.text for f in caught.value.findings} == {"unused = 1", "return n"}


def test_an_unresolved_name_is_an_internal_error_located_in_the_spec(tmp_path, monkeypatch):
    """Plant the old bug (names in assignment targets left unresolved): the build fails
    with a located internal error and writes nothing, instead of a NameError at step()."""
    original = _printer.Translator.target

    def forget(self, node):
        import ast

        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub is not node and sub.id == "window":
                self.model.symbols.pop(id(sub), None)
        return original(self, node)

    monkeypatch.setattr(_printer.Translator, "target", forget)
    out = tmp_path / "pkg"
    compiled = compile_specs([PROGRAMS / "target_names.yaml"], out)
    assert compiled.files == {}
    (diagnostic,) = compiled.diagnostics
    assert diagnostic.code == "internal"
    assert "'window' was not resolved" in diagnostic.message
    text = (PROGRAMS / "target_names.yaml").read_text().splitlines()
    assert text[diagnostic.location.line - 1].strip().startswith("returns[0:window - 1]")
    assert not out.exists()


def test_an_unused_local_is_a_located_error(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        (PROGRAMS / "target_names.yaml")
        .read_text()
        .replace("step: |\n", "step: |\n  junk = cells[0] * 2\n")
    )
    compiled = compile_specs([spec], tmp_path / "pkg")
    (diagnostic,) = compiled.diagnostics
    assert "'junk' is assigned but never used" in diagnostic.message
    assert (diagnostic.location.line, diagnostic.location.column) == (14, 3)


def test_shapes_only_params_decide_are_checked_when_the_env_is_made(programs):
    from envgen.runtime import InvalidParam

    model, single, vector = programs["programs/InventoryPipeline-v0"]
    (check,) = [c for c in model.shape_checks if hasattr(c, "want")]  # not the SizeChecks
    assert (str(check.got[0]), str(check.want[0])) == ("lead_time", "horizon")
    single(lead_time=5, horizon=5).reset(seed=0)
    with pytest.raises(InvalidParam, match=r"inventory_pipeline.yaml:\d+:\d+: .*\(4,\).*\(5,\)"):
        single(lead_time=4, horizon=5)
    with pytest.raises(InvalidParam, match="the observation"):
        vector(num_envs=2, lead_time=4, horizon=5)


def test_list_params_are_checked_row_by_row_when_the_env_is_made(programs):
    from envgen.runtime import InvalidParam

    _, single, _ = programs["programs/Obstacles-v0"]
    with pytest.raises(InvalidParam, match=r"'obstacles' must hold rows of shape \(3,\)"):
        single(obstacles=[[0.0, 0.0]])
    with pytest.raises(InvalidParam, match="rectangular"):
        single(obstacles=[[0.0, 0.0, 1.0], [1.0]])
    env = single(obstacles=[])  # no obstacles is a setting, not an error
    env.reset(seed=0)
    for _ in range(5):
        env.step(env.action_space.sample())


def test_an_implicit_float32_into_float64_state_is_refused_with_both_fixes(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "id: t/Drift-v0\n"
        "action_space: {Box: {low: -1, high: 1, shape: [1], dtype: float32}}\n"
        "observation_space: {Box: {low: -inf, high: inf, shape: [1], dtype: float64}}\n"
        "state:\n  x: {init: 0.0}\n"
        "step: |\n  x = clip(x + action[0] * 0.1, -1.0, 1.0)\n"
        "observation: [0.3 - x]\nmax_episode_steps: 5\n"
    )
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "makes float64 state 'x' a float32 scalar" in diagnostic.message
    assert "x = float(...)" in diagnostic.hint and "x = float32(...)" in diagnostic.hint
    assert (diagnostic.location.line, diagnostic.location.column) == (7, 3)


def test_choice_of_a_2d_probability_table_is_refused_at_build_time(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "id: t/Choice-v0\naction_space: {Discrete: 2}\n"
        "observation_space: {Discrete: 4}\n"
        "state:\n  cell: {dtype: int64, init: 'choice(4, p=ones((2, 2)) / 4.0)'}\n"
        "step: |\n  cell = cell\nobservation: cell\nmax_episode_steps: 5\n"
    )
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "p must be 1-D" in diagnostic.message


_ARRAYS = """id: t/Arrays-v0
params:
  lead_time: {{default: 3, ge: 1}}
action_space: {{Discrete: 2}}
observation_space: {{Box: {{low: -100, high: 100, shape: [{shape}], dtype: float64}}}}
state:
  inventory: {{dtype: float64, init: 5.0}}
  pipeline: {{dtype: float64, shape: [lead_time]}}
  grid: {{dtype: int64, shape: [2, 3]}}
step: |
  {step}
observation: "{observation}"
max_episode_steps: 5
"""


@pytest.mark.parametrize(
    ("shape", "step", "observation", "message", "hint"),
    [
        (
            "lead_time + 1",
            "inventory = inventory + 1.0",
            "[inventory, pipeline]",
            "different shapes (a scalar and (lead_time,))",
            "concatenate([[x], values])",
        ),
        (
            "lead_time + 1",
            "inventory = inventory + 1.0",
            "concatenate([inventory, pipeline])",
            "concatenate(): joins arrays, got a float scalar",
            "",
        ),
        (
            "lead_time",
            "inventory = inventory + 1.0",
            "concatenate([[inventory], pipeline])",
            "the observation is a float64 array of shape (lead_time + 1,) but the space has "
            "shape (lead_time,)",
            "",
        ),
        (
            "lead_time",
            "grid = grid + sum(grid, axis=2)",
            "pipeline",
            "sum(): axis 2 is out of range for an array of 2 dimension(s)",
            "",
        ),
        (
            "lead_time",
            "k = 1\n  grid = grid + max(grid, axis=k)",
            "pipeline",
            "max(): axis must be a whole-number literal",
            "",
        ),
        (
            "lead_time",
            "grid = reshape(grid, (4,))",
            "pipeline",
            "reshape(): cannot reshape 6 elements into (4,)",
            "",
        ),
        (
            "lead_time",
            "grid = grid + 1",
            "ravel(stack([grid[0], [1.0, 2.0]]))",
            "stack() needs arrays of one shape",
            "",
        ),
    ],
)
def test_array_functions_refuse_ill_shaped_calls_at_build_time(
    tmp_path, shape, step, observation, message, hint
):
    spec = tmp_path / "spec.yaml"
    spec.write_text(_ARRAYS.format(shape=shape, step=step, observation=observation))
    compiled = compile_specs([spec], tmp_path / "pkg")
    assert compiled.diagnostics, f"accepted: {observation}"
    (diagnostic,) = [d for d in compiled.diagnostics if message in d.message] or [None]
    assert diagnostic is not None, [d.format() for d in compiled.diagnostics]
    assert hint in diagnostic.hint
    assert diagnostic.location.line > 1
    assert compiled.files == {}


def test_array_functions_compute_what_numpy_computes(programs):
    """One step of ArrayBasics by hand with NumPy, from the state the env holds."""
    _, single, _ = programs["programs/ArrayBasics-v0"]
    env = single()
    env.reset(seed=3)
    before = {k: np.array(getattr(env, k)) for k in ("pipeline", "pos", "grid", "seen")}
    obs, *_ = env.step(2)
    pipeline = np.roll(before["pipeline"], -1)
    pipeline[-1] = 2.0
    seen = np.roll(before["seen"].ravel(), 1).reshape(2, 3) + np.float32(0.5)
    assert np.array_equal(env.pipeline, pipeline)
    assert np.array_equal(env.seen, seen) and env.seen.dtype == np.float32
    grid = env.grid
    pos = env.pos
    expected = np.concatenate(
        [
            [env.inventory],
            pipeline,
            pos,
            np.stack([pos[0], env.inventory]),
            np.ravel(np.eye(2) * pos[1]),
            np.mean(seen, axis=0),
            np.sum(seen, axis=1) / 10.0,
            [np.argmax(grid, axis=1)[0], np.prod(grid + 1, axis=0)[1] / 100.0],
        ]
    ).astype(np.float32)
    assert np.array_equal(obs, expected)


def test_every_function_of_the_language_is_documented():
    from envgen.compiler.functions import BUILTINS

    docs = Path(__file__).parent.parent / "docs"
    reference = (docs / "reference.md").read_text()
    spec = (docs / "spec.md").read_text()
    for name in BUILTINS:
        assert f"`{name}(" in reference, f"{name} is missing from docs/reference.md"
        words = {
            w
            for line in spec.splitlines()
            if line.startswith("| `")
            for w in line.split("`")[1].split()
        }
        assert name in words, f"{name} is missing from the function table of docs/spec.md"


def _spec(tmp_path, text):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    return spec


_SMALL = """id: t/Small-v0
params:
  n: {{type: int, default: 4, ge: 1}}
{functions}action_space: {{Discrete: 2}}
observation_space: {{Box: {{low: -1000, high: 1000, shape: [n], dtype: float64}}}}
state:
  xs: {{dtype: float64, shape: [n]}}
  k: {{dtype: int64, init: 0}}
step: |
{step}
observation: {observation}
max_episode_steps: 5
"""


def test_spec_functions_are_typed_per_call(tmp_path):
    """One function, called on a scalar and on an array, gets a method per signature; a
    function indexing a 2-D `let` table is a scalar in an if condition (issue 13)."""
    functions = (
        "let:\n  walls: '[[0, 1], [1, 0]]'\nfunctions:\n"
        "  twice: {args: [x], return: 2 * x}\n"
        "  wall: {args: [r, c], return: 'walls[r, c]'}\n"
    )
    step = (
        "  k = (k + action) % n\n  xs = xs + twice(xs)\n  if wall(k % 2, 0) == 1:\n"
        "      xs[k] = twice(1.5)"
    )
    spec = _spec(tmp_path, _SMALL.format(functions=functions, step=step, observation="xs"))
    compiled = compile_specs([spec], tmp_path / "pkg")
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    (model,) = compiled.models
    variants = {v.method: v.returns.type for v in model.functions["twice"].variants}
    assert sorted(variants) == ["_twice", "_twice__2"]
    assert {t.describe() for t in variants.values()} == {
        "float64 array of shape (?,)",
        "float scalar",
    }
    assert model.functions["wall"].variants[0].returns.type.is_scalar
    assert not model.vector_notes, model.vector_notes


def test_a_recursive_spec_function_is_a_located_error(tmp_path):
    functions = "functions:\n  f: {args: [x], return: 'f(x - 1) + 1'}\n"
    spec = _spec(tmp_path, _SMALL.format(functions=functions, step="  k = f(k)", observation="xs"))
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "the function 'f' calls itself (f -> f)" in diagnostic.message
    assert diagnostic.location.line == 5


def test_a_random_function_in_let_is_refused(tmp_path):
    functions = "functions:\n  noise: {args: [], return: 'uniform(0.0, 1.0)'}\nlet:\n  z: noise()\n"
    spec = _spec(
        tmp_path, _SMALL.format(functions=functions, step="  k = k + int(z)", observation="xs")
    )
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "'noise' draws random numbers, which is not allowed here" in diagnostic.message


def test_a_vector_fallback_note_names_the_spec_line(tmp_path):
    step = "  k = (k + action) % n\n  xs[0] = sum(xs[0:k])"
    spec = _spec(tmp_path, _SMALL.format(functions="", step=step, observation="xs"))
    compiled = compile_specs([spec], tmp_path / "pkg")
    (model,) = compiled.models
    (note,) = model.vector_notes
    assert note.startswith(
        f"{spec}:11:3: the vector backend does not support reading `xs[0:k]`, a slice whose "
        "bounds differ per env"
    ), note


def test_a_loop_bound_computed_from_params_keeps_the_vector_env(tmp_path):
    step = "  m = n - 1\n  for i in range(m):\n      xs[i] = xs[i] + 1.0"
    spec = _spec(tmp_path, _SMALL.format(functions="", step=step, observation="xs"))
    (model,) = compile_specs([spec], tmp_path / "pkg").models
    assert not model.vector_notes
    step = "  m = k + 1\n  for i in range(m):\n      xs[i] = xs[i] + 1.0\n  k = (k + 1) % n"
    spec = _spec(tmp_path, _SMALL.format(functions="", step=step, observation="xs"))
    (model,) = compile_specs([spec], tmp_path / "pkg").models
    (note,) = model.vector_notes
    assert f"{spec}:11:12: the loop bound `range(m)` differs from env to env" in note


def test_int_param_bounds_are_printed_as_ints(tmp_path, programs):
    from envgen.runtime import InvalidParam

    spec = _spec(
        tmp_path,
        _SMALL.format(functions="", step="  k = k", observation="xs").replace(
            "default: 4, ge: 1", "default: 0, ge: 1"
        ),
    )
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert diagnostic.message == "the default 0 is not >= 1"
    _, single, _ = programs["programs/PerEnvIndex-v0"]
    with pytest.raises(InvalidParam, match=r"must be >= 1, got 0$"):
        single(lead_time=0)


def test_an_unknown_keyword_is_reported_alone(tmp_path):
    step = "  k = k + 1"
    spec = _spec(
        tmp_path, _SMALL.format(functions="", step=step, observation="'sum(xs, axes=0) + xs'")
    )
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert diagnostic.message == "sum() has no argument 'axes'"
    assert diagnostic.hint == "did you mean 'axis'?"


def test_a_constant_table_of_numbers_and_bools_is_an_array(tmp_path):
    """marl's report: constants: {T: [[1, 2], [3, true]]} was typed as an int array but
    emitted as a list, so T[action, 1] built and then failed at every step."""
    spec = _spec(
        tmp_path,
        _SMALL.format(
            functions="constants:\n  table: [[1, 2], [3, true]]\n",
            step="  k = (k + table[action, 1]) % n",
            observation="xs",
        ),
    )
    out = tmp_path / "pkg_consts"
    compiled = compile_specs([spec], out)
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    write(compiled, out)
    sys.path.insert(0, str(tmp_path))
    try:
        (model,) = compiled.models
        module = importlib.import_module(f"pkg_consts.{model.module_name}")
        assert module.table.dtype == np.int64 and not module.table.flags.writeable
        env = getattr(module, model.class_name)()
        env.reset(seed=0)
        env.step(1)
        assert env.k == 1
    finally:
        sys.path.remove(str(tmp_path))


def test_a_note_on_state_types_names_the_variable_types_and_line(tmp_path):
    """A float64 state stored as float32 in step (NumPy float32 after a step, a Python
    float after reset), with a draw in step: the note says which variable, both types and
    the line that stores it (newcomer trial B3: the note named no variable and no line)."""
    step = "  k = k + 1\n  ys = float32(ys * 0.5 + random())"
    text = _SMALL.format(functions="", step=step, observation="xs").replace(
        "  k: {dtype: int64, init: 0}", "  k: {dtype: int64, init: 0}\n  ys: {init: 0.0}"
    )
    spec = _spec(tmp_path, text)
    (model,) = compile_specs([spec], tmp_path / "pkg").models
    (note,) = model.vector_notes
    assert note.startswith(f"{spec}:12:3: the vector backend does not support state 'ys' "), note
    assert "a Python float after reset and a NumPy float32 after a step" in note
    assert "`ys = float64(...)`" in note


#: What a backend may take from `compiler/types.py`: the type class and the mapping of a
#: type to the dtype of the array that holds it; no rule that computes a type or a dtype
#: from operand types (promote, binary_result, join, operand_dtype, broadcast, ...).
_PRINTING_NAMES = {"T", "ANY", "NUMERIC", "Sym", "array_dtype", "list_literal_dtype"}


_TYPES = "envgen.compiler.types"


def _type_rules() -> set[str]:
    """The functions of `compiler/types.py` that a backend may not call, under any name or
    module they are imported from (another compiler module may re-export them)."""
    tree = ast.parse(Path(_printer.__file__).parents[1].joinpath("compiler/types.py").read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} - _PRINTING_NAMES


def _offenders(source: str, name: str, package: str = "envgen.backends") -> list[str]:
    """What in one backend module (`name`, in `package`) decides types: an import of NumPy
    or of a type rule (relative imports resolved), or a `Scope` class keeping types."""
    rules = _type_rules()
    offenders = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("numpy"):
                    offenders.append(f"{name}:{node.lineno}: imports numpy")
                if alias.name == _TYPES:
                    offenders.append(f"{name}:{node.lineno}: imports compiler.types")
        if isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            module = node.module or ""
            if node.level:  # relative to `package`: `..` from envgen.backends is envgen
                parts = package.split(".")[: len(package.split(".")) + 1 - node.level]
                module = ".".join(parts + ([node.module] if node.module else []))
            if "numpy" in names or module.startswith("numpy"):
                offenders.append(f"{name}:{node.lineno}: imports numpy")
            if module == _TYPES:
                offenders += [
                    f"{name}:{node.lineno}: imports the type rule {n}"
                    for n in names
                    if n not in _PRINTING_NAMES
                ]
            elif module.startswith("envgen.compiler"):
                if module == "envgen.compiler" and "types" in names:
                    offenders.append(f"{name}:{node.lineno}: imports compiler.types")
                offenders += [
                    f"{name}:{node.lineno}: imports the type rule {n} from {module}"
                    for n in names
                    if n in rules or n == "*"
                ]
        if isinstance(node, ast.ClassDef) and node.name == "Scope":
            for field in node.body:
                if isinstance(field, ast.AnnAssign) and "T" in {
                    n.id for n in ast.walk(field.annotation) if isinstance(n, ast.Name)
                }:
                    offenders.append(f"{name}:{field.lineno}: a Scope keeps types")
    return offenders


def test_backends_only_print_the_ir():
    """No backend module decides types (issue 13): none imports NumPy to work a dtype out,
    none imports a type rule from `compiler/types.py`, and the vector printer's scope keeps
    no type per name (the run-time types of state across steps, which values are per env
    and the dtype each operation converts to are the analysis's: `EnvModel.step_variants`,
    `per_env`, `operand_dtypes`)."""
    backends = Path(_printer.__file__).parent
    offenders = []
    for path in sorted(backends.glob("*.py")):
        offenders += _offenders(path.read_text(), path.name)
    assert not offenders, offenders


def test_the_check_that_backends_only_print_sees_what_it_looks_for():
    """The check above flags each way a backend could take a type rule: absolute, relative
    and aliased imports, a rule re-exported by another compiler module, NumPy, a typed
    Scope; and passes the printing names."""
    planted = (
        "from envgen.compiler.types import promote\n"  # 1
        "from ..compiler.types import join\n"  # 2
        "from ..compiler import types\n"  # 3
        "import envgen.compiler.types as t\n"  # 4
        "from envgen.compiler._expressions import binary_result as rule\n"  # 5
        "from .._compiler_alias import x\n"  # 6: not the compiler: fine
        "import numpy as np\n"  # 7
        "from numpy import float32\n"  # 8
        "from envgen.compiler.types import T, ANY, array_dtype\n"  # 9: printing names
        "from . import _printer\n"  # 10
        "class Scope:\n"  # 11
        "    names: dict[str, T]\n"  # 12
    )
    assert _offenders(planted, "planted.py") == [
        "planted.py:1: imports the type rule promote",
        "planted.py:2: imports the type rule join",
        "planted.py:3: imports compiler.types",
        "planted.py:4: imports compiler.types",
        "planted.py:5: imports the type rule binary_result from envgen.compiler._expressions",
        "planted.py:7: imports numpy",
        "planted.py:8: imports numpy",
        "planted.py:12: a Scope keeps types",
    ]
    assert {"promote", "join", "binary_result", "operand_dtype"} <= _type_rules()


def test_the_ir_types_the_step_once_per_entry_state_types(tmp_path):
    """MountainCarContinuous stores float64 state in reset and float32 in step: the IR has
    two step variants (after reset, after a step), each typing `velocity + ...` in its own
    dtype, and the second a fixed point; the vector env prints one method per variant."""
    spec = Path(__file__).parents[1] / "specs" / "classic" / "mountain_car_continuous.yaml"
    compiled = compile_specs([spec], tmp_path / "pkg")
    (model,) = compiled.models
    fresh, later = model.step_variants
    assert model.step_types_settle
    held = {name: (t.dtype, t.weak) for name, t in fresh.entry.items()}
    assert held == {"position": ("float64", False), "velocity": ("float64", False)}
    assert fresh.end == later.entry == later.end
    assert {t.dtype for t in later.entry.values()} == {"float32"}
    # `v = velocity + (...)`: float64 on the first step, float32 on later ones
    first = model.step.stmts[1]
    assert isinstance(first, ast.Assign) and isinstance(first.value, ast.BinOp)
    assert fresh.operand_dtypes[id(first.value)] == "float64"
    assert later.operand_dtypes[id(first.value)] == "float32"
    assert fresh.types[id(first.value)].dtype == "float64"
    assert later.types[id(first.value)].dtype == "float32"
    vector = compiled.files[f"{model.module_name}_vector.py"]
    assert "def _dynamics_fresh(" in vector and "def _dynamics(" in vector
    # a spec whose state keeps its declared types has no variants
    cartpole = spec.parent / "cartpole.yaml"
    (model,) = compile_specs([cartpole], tmp_path / "pkg2").models
    assert model.step_variants == [] and model.step_types_settle


def test_the_ir_says_where_a_local_starts_to_differ_per_env(tmp_path):
    """`x` is uniform where it is assigned 0.5 and per env after an `if` on state assigns
    it: the analysis marks each name node (a target: before it is assigned)."""
    step = (
        "  x = 0.5\n  y = x * 2.0\n  if xs[0] > 0:\n      x = 1.0\n  k = k + 1\n  xs = xs + x + y"
    )
    spec = _spec(tmp_path, _SMALL.format(functions="", step=step, observation="xs"))
    (model,) = compile_specs([spec], tmp_path / "pkg").models
    assert not model.vector_notes
    names = [
        node
        for stmt in model.step.stmts
        for node in ast.walk(stmt)
        if isinstance(node, ast.Name) and node.id in ("x", "y")
    ]
    per_env = [(n.id, type(n.ctx).__name__, id(n) in model.per_env) for n in names]
    assert per_env == [
        ("x", "Store", False),  # x = 0.5
        ("y", "Store", False),  # y = x * 2.0
        ("x", "Load", False),
        ("x", "Store", False),  # x = 1.0 under the per-env if: uniform before it
        ("y", "Load", False),  # (xs + x) + y, after the if (ast.walk is breadth first)
        ("x", "Load", True),
    ]


def test_matrix_products_have_numpys_shapes_and_misaligned_ones_are_located(tmp_path):
    """(n,) @ (n, k) is (k,), so `m[action]` is a scalar (newcomer trial B2: it stayed an
    array of unknown rank and the error pointed at `reward`); lengths that differ are an
    error at the `@` itself."""
    step = "  m = xs @ ones((n, 3))\n  r = m[action]\n  k = k + 1"
    text = _SMALL.format(functions="", step=step, observation="xs") + "reward: r\n"
    (model,) = compile_specs([_spec(tmp_path, text)], tmp_path / "pkg").models
    assert model.reward.type.is_scalar
    step = "  m = xs @ ones((n + 1, 3))\n  r = m[action]\n  k = k + 1"
    spec = _spec(tmp_path, _SMALL.format(functions="", step=step, observation="xs"))
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert str(diagnostic.location) == f"{spec}:10:7", diagnostic.format()
    assert "do not align for a matrix product (n != n + 1)" in diagnostic.message


def test_a_non_scalar_reward_points_at_the_step_line_that_made_it(tmp_path):
    step = "  m = xs * 2.0\n  r = m\n  k = k + 1"
    text = _SMALL.format(functions="", step=step, observation="xs") + "reward: r\n"
    spec = _spec(tmp_path, text)
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "reward must be a scalar number" in diagnostic.message
    assert f"its value comes from {spec}:10:3: `m = xs * 2.0`" in diagnostic.hint


def test_a_refused_construct_in_step_gives_no_follow_on_errors(tmp_path):
    """Newcomer trial C2: `.copy()` in step was refused (right) and `reward: ... ate ...`
    far below was 'unknown name' (wrong: step assigns it)."""
    step = "  ate = xs[0] > 0.5\n  xs = xs.copy()\n  k = k + 1"
    text = _SMALL.format(functions="", step=step, observation="xs")
    spec = _spec(tmp_path, text + "reward: '1.0 if ate else 0.0'\n")
    diagnostics = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert [d.code for d in diagnostics] == ["refused"], [d.format() for d in diagnostics]


def test_len_of_a_string_row_says_to_encode_the_rows(tmp_path):
    """Newcomer trial C4: `len(layout[0])` of a list-of-strings param; the hint was the
    generic `len(desc)`. And an index already in error gives no follow-on errors."""
    text = _SMALL.format(functions="", step="  k = (k + action) % ncol", observation="xs")
    text = text.replace(
        "  n: {type: int, default: 4, ge: 1}\n",
        '  n: {type: int, default: 4, ge: 1}\n  layout: {default: ["S..", ".#."], type: list}\n'
        "let:\n  ncol: len(layout[0])\n",
    ).replace("reward", "")
    spec = _spec(tmp_path, text + "terminated: k < ncol - 1 and xs[min(k, ncol - 1)] > 0\n")
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "len(): expects an array, got a string" in diagnostic.message
    assert "encode(layout" in diagnostic.hint and "len(grid[0])" in diagnostic.hint


def test_state_types_that_change_no_operation_keep_the_vector_env(tmp_path):
    """A float64 state that holds a Python float after reset and a NumPy float64 after a
    step (`ys + xs[0]`) computes the same either way: with a draw in step it keeps the
    native vector env (found by the compiler fuzzer; it fell back, as for B3)."""
    step = "  k = k + 1\n  ys = ys + xs[0] + random()"
    text = _SMALL.format(functions="", step=step, observation="xs").replace(
        "  k: {dtype: int64, init: 0}", "  k: {dtype: int64, init: 0}\n  ys: {init: 0.0}"
    )
    (model,) = compile_specs([_spec(tmp_path, text)], tmp_path / "pkg").models
    assert not model.vector_notes


def test_dtype_must_be_a_quoted_name_and_array_dtype_vectorizes(tmp_path):
    """Hostile trial 2 B18: `zeros(3, dtype=n)` silently used float64; newcomer trial 2:
    `array(action, dtype="float64")` turned the native vector env off."""
    step = "  k = k + 1\n  xs = xs + zeros(n, dtype=n)"
    spec = _spec(tmp_path, _SMALL.format(functions="", step=step, observation="xs"))
    (diagnostic,) = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert "dtype must be a quoted name" in diagnostic.message, diagnostic.format()
    step = '  k = k + 1\n  xs = xs + array(action, dtype="float64")'
    spec = _spec(tmp_path, _SMALL.format(functions="", step=step, observation="xs"))
    (model,) = compile_specs([spec], tmp_path / "pkg").models
    assert not model.vector_notes


@pytest.mark.parametrize("key", ["final_obs", "final_info", "episode"])
def test_gymnasiums_info_keys_are_refused(tmp_path, key):
    """Hostile trial 2 B27: info entries named like Gymnasium's vector/wrapper keys."""
    text = _SMALL.format(functions="", step="  k = k + 1", observation="xs")
    spec = _spec(tmp_path, text + f"info:\n  {key}: k\n")
    diagnostics = compile_specs([spec], tmp_path / "pkg").diagnostics
    assert any(f"the info key '{key}' is Gymnasium's" in d.message for d in diagnostics), [
        d.format() for d in diagnostics
    ]


_LIST_OF_STATE = """id: t/ListOfState-v0
action_space: {{Discrete: 2}}
observation_space: {{Box: {{low: -inf, high: inf, shape: [2], dtype: float64}}}}
state:
  c: {{dtype: {wide}, init: {init}}}
  d: {{dtype: {narrow}, init: 1}}
step: |
  c = c + {step}
observation: [c, d]
reward: 0.0
terminated: false
max_episode_steps: 50
"""


@pytest.mark.parametrize(
    ("wide", "narrow", "init", "step", "dtype"),
    [("int64", "int32", 0, 1000000000, np.int64), ("float64", "float32", 0.1, 1e-9, np.float64)],
)
def test_a_list_of_wide_and_narrow_state_is_what_np_array_makes(
    tmp_path, wide, narrow, init, step, dtype
):
    """Hostile trial 4 H4: `[c, d]` of int64 and int32 scalar state was typed int32 (NEP 50
    takes the int64 state as a weak Python int), so the single env overflowed at step 3,
    JAX wrapped, and the vector env gave int64. `np.array([...])` takes a Python number as
    int64/float64: that is the list's type, and every backend holds c's value."""
    text = _LIST_OF_STATE.format(wide=wide, narrow=narrow, init=init, step=step)
    spec = _spec(tmp_path, text)
    built = build_package(tmp_path, spec)
    assert built.model.observation.code.type.dtype == np.dtype(dtype).name
    env, vector = built.single(), built.vector(num_envs=2)
    env.reset(seed=0)
    vector.reset(seed=0)
    expected = init
    for _ in range(4):
        obs = env.step(0)[0]
        batch = vector.step(np.zeros(2, dtype=np.int64))[0]
        expected += step
        assert obs[0] == dtype(expected), obs  # c's own value, not rounded or wrapped
        same(batch[0], obs)


def test_a_long_chain_of_operations_is_folded_once_per_operation(monkeypatch):
    """Every `+` of `x + x + ... + 1` is checked for an out-of-range constant; each was
    folded from scratch (time quadratic in the chain's length). Each is folded once, and an
    inner overflow is still found under an outer value that fits."""
    from envgen.compiler import _checker

    calls = []
    original = _checker.fold
    monkeypatch.setattr(_checker, "fold", lambda *a, **k: calls.append(1) or original(*a, **k))

    def check(text):
        folded: dict = {}
        tree = ast.parse(text, mode="eval").body
        return [
            _checker._unsupported_operator(sub, folded)
            for sub in ast.walk(tree)
            if isinstance(sub, ast.BinOp)
        ]

    for n in (100, 400):
        calls.clear()
        assert not any(check(" + ".join(["x"] * n) + " + 1"))
        assert len(calls) <= n + 1  # the leaves, once each (it was about n * n / 2)
    found = [f for f in check("(2**62 + 2**62) - 2**62") if f]
    assert len(found) == 1 and "9223372036854775808, outside the int64 range" in found[0][0]
