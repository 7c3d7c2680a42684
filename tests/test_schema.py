"""The JSON Schema and the reference docs: generated from the models, committed, up to date,
and in agreement with the specs and with envgen's own validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import run_envgen

from envgen.compiler import schema as _schema
from envgen.compiler import spec as s
from envgen.compiler._multiagent_spec import MultiAgentSpec, is_multiagent
from envgen.compiler.load import load_document

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
MULTIAGENT_SPECS = sorted((ROOT / "specs" / "multiagent").glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict:
    return _schema.build_schema()


@pytest.fixture(scope="module")
def validator(schema: dict) -> jsonschema.protocols.Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_what_envgen_schema_writes(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = run_envgen("schema", "-o", str(out))
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "envgen.schema.json").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, (
        "envgen.schema.json is stale: run `envgen schema -o envgen.schema.json "
        "--markdown docs/reference.md`"
    )
    # Without -o the schema goes to stdout.
    printed = run_envgen("schema")
    assert json.loads(printed.stdout) == json.loads(committed)


def test_the_committed_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == _schema.reference_markdown(), (
        "docs/reference.md is stale: run `envgen schema --markdown docs/reference.md`"
    )


def test_schema_check_flag_reports_stale_files(tmp_path: Path) -> None:
    stale = tmp_path / "schema.json"
    stale.write_text("{}", encoding="utf-8")
    result = run_envgen("schema", "-o", str(stale), "--check")
    assert result.returncode == 1
    assert "out of date" in result.stderr and "Traceback" not in result.stderr
    assert stale.read_text(encoding="utf-8") == "{}"  # --check writes nothing


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_validates_against_the_schema(path: Path, validator) -> None:
    # envgen reads YAML 1.2 (so `off` is a string), as the YAML language server does.
    data = load_document(path).data
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:200]}" for e in errors)


def test_specs_point_their_editor_at_the_schema() -> None:
    """Specs that name a schema name the right file (relative to themselves)."""
    for path in SPECS:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        if first.startswith("# yaml-language-server:"):
            ref = first.split("$schema=", 1)[1].strip()
            assert (path.parent / ref).resolve() == ROOT / "envgen.schema.json", path


def _properties(schema: dict):
    yield from schema["$defs"].items()


def test_every_field_has_a_description_and_examples(schema: dict) -> None:
    missing = []
    for model, definition in _properties(schema):
        for field, prop in definition.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{model}.{field}: description")
            if not prop.get("examples"):
                missing.append(f"{model}.{field}: examples")
    assert not missing, (
        "add description= and examples= to the Field in envgen/compiler/spec.py: "
        + (", ".join(missing))
    )


def _models() -> list[type]:
    return [
        m
        for m in vars(s).values()
        if isinstance(m, type) and issubclass(m, s.StrictModel) and m is not s.StrictModel
    ]


def test_the_docs_live_in_the_models() -> None:
    """Descriptions and examples come from `Field(...)` in envgen/spec.py, not from the
    schema generator; every model that becomes a schema definition has a docstring."""
    generic = s.Expr.__metadata__[0].description
    missing = []
    for model in _models():
        if not model.__doc__:
            missing.append(f"{model.__name__}: docstring")
        for name, field in model.model_fields.items():
            if not field.description or field.description == generic:
                missing.append(f"{model.__name__}.{field.alias or name}: description")
            if not field.examples:
                missing.append(f"{model.__name__}.{field.alias or name}: examples")
    assert not missing, ", ".join(missing)


def test_python_m_cli_dx_reference_writes_both_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "envgen.cli._commands", "reference", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for name in ("envgen.schema.json", "docs/reference.md"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (ROOT / name).read_text(
            encoding="utf-8"
        ), name


def test_field_examples_are_valid_values(schema: dict, validator) -> None:
    """Every example of a top-level key is accepted by the schema in a minimal spec."""
    base = {
        "id": "envgen/Example-v0",
        "action_space": {"Discrete": 2},
        "observation_space": {"Discrete": 2},
        "step": "x = 1",
        "observation": 0,
    }
    for field, prop in schema["$defs"]["EnvSpec"]["properties"].items():
        for example in prop["examples"]:
            errors = list(validator.iter_errors({**base, field: example}))
            assert not errors, (field, example, errors[0].message)


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"stepp": "x = 1"}, "stepp"),  # an unknown key
        ({"id": "GoLeft"}, "id"),  # not a Gymnasium id
        ({"action_space": {"Discrete": 2, "Box": {"low": 0, "high": 1}}}, "action_space"),
        ({"action_space": {"Discrte": 2}}, "action_space"),  # a misspelt space kind
        ({"params": {"_size": {"default": 1}}}, "params"),  # a reserved name
        ({"wrappers": ["ClipActions"]}, "wrappers"),
        ({"hooks": {"after_step": "not a target"}}, "hooks"),
        ({"state": {"x": {"dtype": "float128"}}}, "state"),
        ({"render": {"fps": 0}}, "render"),
    ],
)
def test_the_schema_refuses_what_envgen_refuses(bad: dict, where: str, validator) -> None:
    spec = {
        "id": "envgen/Example-v0",
        "action_space": {"Discrete": 2},
        "observation_space": {"Discrete": 2},
        "step": "x = 1",
        "observation": 0,
        **bad,
    }
    assert list(validator.iter_errors(spec)), f"the schema accepts {bad}"
    with pytest.raises(Exception):  # noqa: B017 - pydantic agrees it is invalid
        s.EnvSpec.model_validate(spec)


def test_the_schema_documents_what_editors_show(schema: dict) -> None:
    assert schema["$schema"] == _schema.SCHEMA_URI
    step = schema["$defs"]["EnvSpec"]["properties"]["step"]
    assert "every step" in step["description"] and step["examples"]
    assert schema["$defs"]["Expr"]["anyOf"]
    # Expressions are shared through one definition, not pasted everywhere.
    assert json.dumps(schema).count('"type": "boolean"') < 12


def test_reference_documents_every_key_space_and_function() -> None:
    from envgen.compiler.functions import BUILTINS

    text = _schema.reference_markdown()
    for name in s.EnvSpec.model_fields:
        alias = s.EnvSpec.model_fields[name].alias or name
        assert f"| `{alias}` |" in text, alias
    for kind in s.SPACE_KINDS:
        assert f"### {kind}" in text
    for name, builtin in BUILTINS.items():
        assert f"| `{name}(" in text, name
        assert builtin.doc.split()[0] in text


def test_multiagent_specs_are_checked_as_multiagent_specs(schema: dict, validator) -> None:
    """`agents:` or `roles:` makes a spec multi-agent, for the schema as for envgen: the
    specs in specs/multiagent/ are valid, and the schema refuses what envgen refuses."""
    assert len(MULTIAGENT_SPECS) >= 4
    for path in MULTIAGENT_SPECS:
        data = load_document(path).data
        assert is_multiagent(data), path
        assert not list(validator.iter_errors(data)), path
        MultiAgentSpec.model_validate(data)
    base = {
        "id": "envgen/Example-v0",
        "agents": ["a", "b"],
        "action_space": {"Discrete": 2},
        "observation_space": {"Discrete": 2},
        "observation": 0,
    }
    assert not list(validator.iter_errors(base))
    for field, prop in schema["$defs"]["MultiAgentSpec"]["properties"].items():
        for example in prop["examples"]:
            spec = {**base, field: example}
            if field == "roles":
                del spec["agents"]
            errors = list(validator.iter_errors(spec))
            assert not errors, (field, example, errors[0].message)
    bad_specs = [
        {"agents": ["a", "a"]},  # names must be distinct
        {"agents": []},
        {"agents": ["player 1"]},  # not a plain name
        {"roles": {"cop": {"agents": ["c"]}}},  # both agents and roles
        {"turns": {"first": 0}},  # `next` is required
        {"act": "x = 1", "step": "y = 1", "stepp": "z"},  # an unknown key
        {"state": {"x": {"dtype": "int64", "per_agent": "maybe"}}},
        {"roles": {"cop": {"agents": {"count": 2}, "spaces": 1}}},
        {"max_cycles": 0},
        {"max_episode_steps": 10},  # a single-agent key
    ]
    for bad in bad_specs:
        spec = {**base, **bad}
        assert list(validator.iter_errors(spec)), f"the schema accepts {bad}"
        with pytest.raises(Exception):  # noqa: B017 - pydantic agrees it is invalid
            MultiAgentSpec.model_validate(spec)
    # A single-agent key in a single-agent spec is fine; `act` (a multi-agent key) is not.
    single = {k: v for k, v in base.items() if k != "agents"}
    assert not list(validator.iter_errors({**single, "step": "x = 1"}))
    assert list(validator.iter_errors({**single, "act": "x = 1"}))


def test_schema_output_needs_an_existing_folder_and_a_regular_file(tmp_path: Path) -> None:
    # a hostile trial: `-o /nonexistent/dir/x.json` created /nonexistent/dir, and a link
    # as -o wrote through to its target; a FIFO would block the comparing read
    victim = tmp_path / "victim.txt"
    victim.write_text("victim\n")
    (tmp_path / "link.json").symlink_to(victim)
    os.mkfifo(tmp_path / "fifo.json")
    for name in ("missing/dir/x.json", "link.json", "fifo.json"):
        result = run_envgen("schema", "-o", str(tmp_path / name))
        assert result.returncode == 1, name
        assert "cannot write" in result.stderr and "Traceback" not in result.stderr, name
    assert victim.read_text() == "victim\n"
    assert not (tmp_path / "missing").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.json", "link.json", "victim.txt"]


def test_floats_with_an_exponent_are_numbers_as_in_yaml_1_2(tmp_path: Path) -> None:
    # newcomer trial 6 P11: YAML 1.1 (PyYAML) reads 1.0e19 as a string, and a param default
    # written so failed later as "cannot apply '*' to float scalar and str"
    from envgen.build import check_spec

    spec = tmp_path / "big.yaml"
    spec.write_text(
        "id: t/Big-v0\n"
        "params:\n"
        "  scale: {default: 1.0e19}\n"
        "  tiny: {default: 1e-3}\n"
        "  count: {default: 10}\n"
        "action_space: {Discrete: 2}\n"
        "observation_space: {Box: {low: -inf, high: inf, shape: [1], dtype: float64}}\n"
        "state: {x: {init: 0.0}}\n"
        "step: x = x * scale + tiny * count\n"
        "observation: [x]\n"
    )
    model, problems = check_spec(spec)
    assert model is not None and not problems, problems
    defaults = {name: p.default for name, p in model.spec.params.items()}
    assert defaults == {"scale": 1e19, "tiny": 0.001, "count": 10}
    assert type(defaults["count"]) is int and type(defaults["scale"]) is float
