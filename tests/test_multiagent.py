"""Multi-agent specs: PettingZoo's own conformance tests on every generated module, the
games' rules, `envgen.multiagent.make`, and located diagnostics."""

from __future__ import annotations

import importlib
import pickle
import textwrap
import warnings
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
    state_test,
)

import envgen.multiagent
from envgen.build import compile_specs
from envgen.compiler._multiagent_spec import MultiAgentSpec, is_multiagent
from envgen.compiler.load import load_document
from envgen.runtime.multiagent import InvalidAgentAction

ROOT = Path(__file__).resolve().parent.parent
MULTIAGENT_SPECS = sorted((ROOT / "specs" / "multiagent").glob("*.yaml"))
IDS = envgen.multiagent.registered()


def _module(env_id: str):
    return envgen.multiagent.module(env_id)


def test_every_multiagent_spec_is_built() -> None:
    ids = {load_document(p).data["id"] for p in MULTIAGENT_SPECS}
    assert len(ids) >= 3
    assert ids <= set(IDS)


@pytest.fixture(autouse=True)
def _quiet():
    # PettingZoo's tests warn about style (non-array observations, ...) and human renders
    # print; neither is a failure.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("env_id", IDS)
def test_pettingzoo_api_and_seed_tests_pass(env_id: str, capsys) -> None:
    mod = _module(env_id)
    api_test(mod.env(), num_cycles=200)
    seed_test(mod.env, num_cycles=200)
    render_test(mod.env)
    if hasattr(mod, "parallel_env"):
        parallel_api_test(mod.parallel_env(), num_cycles=200)
        parallel_seed_test(mod.parallel_env, num_cycles=200)
        max_cycles_test(mod)
    if hasattr(mod.raw_env().unwrapped, "state_space"):
        state_test(mod.env(), mod.parallel_env())


def test_make_reaches_modules_by_id() -> None:
    aec = envgen.multiagent.make("envgen/TicTacToe-v0")
    aec.reset(seed=0)
    assert aec.agent_selection == "player_1"
    par = envgen.multiagent.make("envgen/Landmarks-v0", parallel=True, n_agents=5, size=7)
    observations, _ = par.reset(seed=3)
    assert sorted(observations) == [f"agent_{i}" for i in range(5)]
    assert par.observation_space("agent_4").high[0] == 6
    with pytest.raises(ValueError, match="turn-based"):
        envgen.multiagent.make("envgen/TicTacToe-v0", parallel=True)
    with pytest.raises(KeyError, match="no multi-agent env"):
        envgen.multiagent.make("envgen/NoSuchGame-v0")
    with pytest.raises(ValueError):
        envgen.multiagent.make("envgen/Landmarks-v0", n_agents=0)


def test_rock_paper_scissors_scores_each_round() -> None:
    env = envgen.multiagent.make("envgen/RockPaperScissors-v0", parallel=True, max_cycles=3)
    observations, _ = env.reset(seed=0)
    assert observations == {"player_0": 3, "player_1": 3}
    mod = _module("envgen/RockPaperScissors-v0")
    obs, rewards, terms, truncs, _ = env.step({"player_0": mod.PAPER, "player_1": mod.ROCK})
    assert rewards == {"player_0": 1.0, "player_1": -1.0}
    assert obs == {"player_0": mod.ROCK, "player_1": mod.PAPER}
    _, rewards, _, _, _ = env.step({"player_0": mod.ROCK, "player_1": mod.PAPER})
    assert rewards == {"player_0": -1.0, "player_1": 1.0}
    _, rewards, _, truncs, _ = env.step({"player_0": mod.ROCK, "player_1": mod.ROCK})
    assert rewards == {"player_0": 0.0, "player_1": 0.0}
    assert truncs == {"player_0": True, "player_1": True} and env.agents == []
    with pytest.raises(InvalidAgentAction, match="not in the game"):
        env.step({"player_0": 0})


def test_tic_tac_toe_masks_illegal_moves_and_ends_with_a_winner() -> None:
    env = envgen.multiagent.make("envgen/TicTacToe-v0")
    env.reset(seed=0)
    for cell in (0, 3, 1, 4):
        env.step(cell)
    obs, *_ = env.last()
    assert env.agent_selection == "player_1"
    assert obs["action_mask"].tolist() == [0, 0, 1, 0, 0, 1, 1, 1, 1]
    assert obs["observation"].tolist() == [1, 1, 0, -1, -1, 0, 0, 0, 0]
    with pytest.raises(InvalidAgentAction, match="not allowed"):
        env.unwrapped.step(3)  # taken by player_2
    env.step(2)  # the top row: player_1 wins
    assert env.terminations == {"player_1": True, "player_2": True}
    assert env.rewards == {"player_1": 1.0, "player_2": -1.0}
    for _agent in env.agent_iter():
        assert env.last()[2]  # everyone is done: only None steps remain
        env.step(None)
    assert env.agents == []


def test_landmark_agents_leave_when_they_arrive() -> None:
    env = envgen.multiagent.make("envgen/Landmarks-v0", parallel=True, n_agents=2, size=3)
    env.reset(seed=1)
    raw = env.unwrapped
    # Put agent_0 next to its landmark and agent_1 far away from its own.
    raw.x[:], raw.y[:] = [0, 0], [0, 0]
    raw.goal_x[:], raw.goal_y[:] = [1, 2], [0, 2]
    mod = _module("envgen/Landmarks-v0")
    obs, rewards, terms, _, infos = env.step({"agent_0": mod.RIGHT, "agent_1": mod.STAY})
    assert terms == {"agent_0": True, "agent_1": False}
    assert rewards == {"agent_0": 1.0, "agent_1": pytest.approx(-0.1)}
    assert infos["agent_1"]["distance"] == 4
    assert env.agents == ["agent_1"]
    obs, rewards, *_ = env.step({"agent_1": mod.DOWN})
    assert list(obs) == ["agent_1"] and list(rewards) == ["agent_1"]
    assert env.state().shape == (4, 2)


@pytest.mark.parametrize("env_id", IDS)
def test_a_pickled_env_continues_identically(env_id: str) -> None:
    env = envgen.multiagent.make(env_id)
    env.reset(seed=7)
    for _ in range(3):
        agent = env.agent_selection
        obs, _, term, trunc, _ = env.last()
        mask = obs.get("action_mask") if isinstance(obs, dict) else None
        env.step(None if term or trunc else env.action_space(agent).sample(mask))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(6):
        if not env.agents:
            break
        obs, _, term, trunc, _ = env.last()
        mask = obs.get("action_mask") if isinstance(obs, dict) else None
        action = None if term or trunc else env.action_space(env.agent_selection).sample(mask)
        env.step(action)
        clone.step(action)
        assert env.agent_selection == clone.agent_selection
        assert env.rewards == clone.rewards


def test_every_multiagent_spec_validates_against_its_schema() -> None:
    schema = MultiAgentSpec.model_json_schema(by_alias=True)
    for path in MULTIAGENT_SPECS:
        data = load_document(path).data
        assert is_multiagent(data)
        jsonschema.validate(data, schema)


def _build(tmp_path: Path, text: str):
    path = tmp_path / "game.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return compile_specs([path], tmp_path / "out")


def test_problems_are_located_and_reported_together(tmp_path: Path) -> None:
    compiled = _build(
        tmp_path,
        """\
        id: test/Bad-v0
        agents: [a, b]
        action_space: {Box: {low: 0, high: 1, shape: [2]}}
        observation_space: {Discrete: 3}
        state:
          pos: {dtype: int64, per_agent: true, init: 0}
        act: |
          agent = 1
          pos[agent] = postion
        observation: pos[agent]
        action_mask: "[1, 1]"
        reward: pos
        """,
    )
    messages = [(d.location.line, d.message) for d in compiled.diagnostics]
    assert any(line == 8 and "cannot assign to built-in name 'agent'" in m for line, m in messages)
    assert any(line == 9 and "unknown name 'postion'" in m for line, m in messages)
    assert any(line == 11 and "Discrete action spaces" in m for line, m in messages)
    assert any(line == 12 and "reward must be a scalar" in m for line, m in messages)
    assert not compiled.files


def test_a_count_from_a_param_names_agents_and_sizes_state(tmp_path: Path) -> None:
    compiled = _build(
        tmp_path,
        """\
        id: test/Crowd-v0
        params:
          n: {default: 3, ge: 1}
        roles:
          scout:
            agents: {count: n}
            action_space: {Discrete: 2}
            observation_space: {Box: {low: 0, high: 100, shape: [1], dtype: float32}}
            observation: "[steps[agent]]"
          boss:
            agents: [boss]
            action_space: {Discrete: 3}
            observation_space: {Discrete: 101}
            observation: sum(steps) % 101
            reward: 1.0
        state:
          steps: {dtype: int64, per_agent: true, init: 0}
        act: |
          steps[agent] = min(steps[agent] + action, 100)
        max_cycles: 5
        """,
    )
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    out = tmp_path / "mod"
    out.mkdir()
    (out / "crowd.py").write_text(compiled.files["test_crowd_v0.py"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("crowd", out / "crowd.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    env = mod.parallel_env(n=2)
    assert env.possible_agents == ["scout_0", "scout_1", "boss"]
    env.reset(seed=0)
    obs, rewards, *_ = env.step({"scout_0": 1, "scout_1": 0, "boss": 2})
    assert obs["scout_0"].tolist() == [1.0] and obs["boss"] == 3
    assert rewards == {"scout_0": 0.0, "scout_1": 0.0, "boss": 1.0}
    parallel_api_test(mod.parallel_env(n=4), num_cycles=50)
    assert np.array_equal(env.unwrapped.steps, [1, 0, 2])


EDGE_SPECS = sorted((Path(__file__).parent / "multiagent_specs").glob("*.yaml"))


@pytest.mark.parametrize("path", EDGE_SPECS, ids=lambda p: p.stem)
def test_edge_specs_pass_pettingzoo_tests_and_the_fuzzer(path: Path, capsys) -> None:
    from envgen.testing._multiagent import fuzz_multiagent

    (env_id,) = envgen.multiagent.from_specs([path])
    mod = envgen.multiagent.module(env_id)
    api_test(mod.env(), num_cycles=150)
    seed_test(mod.env, num_cycles=150)
    if hasattr(mod, "parallel_env"):
        parallel_api_test(mod.parallel_env(), num_cycles=150)
        parallel_seed_test(mod.parallel_env, num_cycles=150)
        max_cycles_test(mod)
        render_test(mod.env)
        state_test(mod.env(), mod.parallel_env())
    report = fuzz_multiagent(env_id, examples=15, max_steps=30)
    assert report.ok, [(r.property, r.message) for r in report.failures]


def test_every_name_the_generator_binds_is_prefixed_or_reserved() -> None:
    """As tests/test_generated_names.py does for single-agent modules: a spec name can
    never be clobbered by a local or method of the PettingZoo module."""
    from test_generated_names import bound_names, spec_names

    from envgen.compiler._multiagent import MULTIAGENT_RESERVED
    from envgen.compiler.names import is_reserved

    compiled = compile_specs([*MULTIAGENT_SPECS, *EDGE_SPECS])
    assert not compiled.diagnostics and len(compiled.multiagent) >= 6
    offenders = {}
    for model in compiled.multiagent:
        own = spec_names(model) | {model.class_name}
        bound = bound_names(compiled.files[f"{model.module_name}.py"]) - own
        bad = {
            b
            for b in bound
            if not b.startswith("_") and not is_reserved(b) and b not in MULTIAGENT_RESERVED
        }
        if bad:
            offenders[model.spec.id] = bad
    assert offenders == {}


@pytest.mark.parametrize("name", ["state", "agent", "live", "agents", "rewards", "observe"])
def test_names_the_pettingzoo_class_uses_are_refused(tmp_path: Path, name: str) -> None:
    compiled = _build(
        tmp_path,
        f"""\
        id: test/Clash-v0
        agents: [a, b]
        action_space: {{Discrete: 2}}
        observation_space: {{Discrete: 2}}
        state:
          {name}: {{dtype: int64, init: 0}}
        observation: 0
        """,
    )
    assert [d.code for d in compiled.diagnostics] == ["name"], compiled.diagnostics
    assert compiled.diagnostics[0].location.line == 6
