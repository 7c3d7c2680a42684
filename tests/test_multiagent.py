"""Multi-agent specs: PettingZoo's own conformance tests on every generated module, the
games' rules, `envgen.multiagent.make`, and located diagnostics."""

from __future__ import annotations

import importlib
import pickle
import textwrap
import warnings
from pathlib import Path
from types import SimpleNamespace

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
        if _rejoins(mod):
            _max_cycles_test_without_the_median(mod)
        else:
            max_cycles_test(_resetting_with_seed_0(mod))
    if hasattr(mod.raw_env().unwrapped, "state_space"):
        state_test(mod.env(), mod.parallel_env())


def _resetting_with_seed_0(mod) -> SimpleNamespace:
    """`mod` whose envs reset with seed 0 when given no seed. PettingZoo's `max_cycles_test`
    resets unseeded and asks the median agent to act in all 4 cycles; in Landmarks an agent
    that starts near its landmark may reach it and leave sooner (3 of 300 unseeded runs
    failed). Seeding is `seed_test`'s subject; this keeps the cycle count check exact."""

    def seeded(make):
        def made(**params):
            env = make(**params)
            reset = env.reset

            def reset_with_seed_0(seed=None, options=None):
                return reset(seed=0 if seed is None else seed, options=options)

            env.reset = reset_with_seed_0
            return env

        return made

    return SimpleNamespace(env=seeded(mod.env), parallel_env=seeded(mod.parallel_env))


def _rejoins(mod) -> bool:
    """Whether agents of the module come back (under new names) after leaving."""
    return hasattr(mod.parallel_env(), "_names")


def _max_cycles_test_without_the_median(mod, max_cycles: int = 4) -> None:
    """PettingZoo's `max_cycles_test`, less its last line: that asks the *median* agent of
    `possible_agents` to act `max_cycles` times, which cannot hold when most names in
    `possible_agents` are those of agents that come back later (they never act in 4
    steps). Its other checks, in the same words: the parallel game lasts `max_cycles`
    steps and in the AEC game the busiest agent acts `max_cycles` times (+1 dead step)."""
    env = mod.parallel_env(max_cycles=max_cycles)
    env.reset(seed=0)
    steps = 0
    for _ in range(max_cycles + 10):
        actions = {a: env.action_space(a).sample() for a in env.agents}
        _, _, terms, truncs, _ = env.step(actions)
        steps += 1
        if all(terms[a] or truncs[a] for a in terms):
            break
    assert steps == max_cycles
    aec = mod.env(max_cycles=max_cycles)
    aec.reset(seed=0)
    counts = dict.fromkeys(aec.possible_agents, 0)
    for agent in aec.agent_iter():
        counts[agent] += 1
        done = aec.terminations[agent] or aec.truncations[agent]
        aec.step(None if done else aec.action_space(agent).sample())
    assert max(counts.values()) - 1 == max_cycles


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


def test_the_limits_of_single_agent_specs_hold_for_multiagent_ones(tmp_path: Path) -> None:
    """The checks after the analysis (array sizes, Box bounds Gymnasium refuses) run on
    multi-agent specs too: both built before, and failed when the env ran or was made."""
    compiled = _build(
        tmp_path,
        """\
        id: test/Big-v0
        roles:
          a:
            agents: [a]
            observation_space: {Box: {low: .nan, high: 1, shape: [1]}}
          b:
            agents: [b]
        action_space: {Discrete: 2}
        observation_space: {Box: {low: 0, high: 1, shape: [1]}}
        state:
          t: {dtype: float64, per_agent: true, init: 0}
        step: |
          big = zeros(10**12)
          t[0] = big[0]
        observation: "[0.5]"
        """,
    )
    found = sorted((d.location.line, d.code) for d in compiled.diagnostics)
    assert found == [(5, "range"), (13, "too-large")], [d.format() for d in compiled.diagnostics]
    assert not compiled.files


def test_pursuit_catches_on_landing_and_on_swapping() -> None:
    """A predator catches the prey by ending on its cell, or by swapping cells with it
    (they passed each other); the caught prey leaves and every predator gets +1."""
    env = envgen.multiagent.make("envgen/Pursuit-v0", parallel=True, size=5)
    mod = _module("envgen/Pursuit-v0")
    env.reset(seed=0)
    game = env.unwrapped
    game.x[:], game.y[:] = [0, 4, 1], [0, 4, 0]  # predator_0 left of the prey
    obs, rewards, terms, _, _ = env.step(
        {"predator_0": mod.RIGHT, "predator_1": mod.STAY, "prey_0": mod.LEFT}
    )
    assert rewards == {"predator_0": 0.99, "predator_1": 0.99, "prey_0": -1.0}
    assert terms == {"predator_0": True, "predator_1": True, "prey_0": True}
    assert env.agents == []
    env.reset(seed=0)
    game.x[:], game.y[:] = [0, 4, 2], [0, 4, 0]
    obs, rewards, terms, _, _ = env.step(
        {"predator_0": mod.RIGHT, "predator_1": mod.UP, "prey_0": mod.DOWN}
    )
    assert rewards == {"predator_0": -0.01, "predator_1": -0.01, "prey_0": 0.01}
    # Each agent sees its own cell and everyone's offset from it.
    assert obs["prey_0"].tolist() == [2, 1, -1, 2, 0, -1, 2, 0]
    obs, rewards, *_ = env.step({"predator_0": mod.RIGHT, "predator_1": mod.UP, "prey_0": mod.STAY})
    assert rewards["prey_0"] == 0.01  # (2, 0) and (2, 1): not caught
    _, rewards, *_ = env.step({"predator_0": mod.DOWN, "predator_1": mod.UP, "prey_0": mod.STAY})
    assert rewards["prey_0"] == -1.0 and env.agents == []


def test_couriers_come_back_under_new_names_with_fresh_state() -> None:
    """`rejoin`: a courier that delivers leaves, and `rest` steps later comes back as a new
    agent (`courier_0_r1`) with its per-agent state drawn again from `init`, an observation,
    zero reward and unset flags; at most `shifts` times; the AEC form sees the same."""
    env = envgen.multiagent.make("envgen/Couriers-v0", parallel=True, rest=1, shifts=1)
    assert env.possible_agents == ["courier_0", "courier_1", "courier_0_r1", "courier_1_r1"]
    assert env.unwrapped.agent_roles["courier_1_r1"] == "shared"
    observations, _ = env.reset(seed=0)
    game = env.unwrapped
    game.x[:], game.y[:], game.to_x[:], game.to_y[:] = [0, 4], [0, 4], [1, 0], [0, 0]
    obs, rewards, terms, _, _ = env.step({"courier_0": 4, "courier_1": 0})  # 0 delivers
    assert rewards == {"courier_0": 1.0, "courier_1": -0.05} and terms["courier_0"]
    assert env.agents == ["courier_1"]
    obs, rewards, terms, truncs, infos = env.step({"courier_1": 0})  # it rests one step
    assert env.agents == ["courier_0_r1", "courier_1"]
    assert rewards == {"courier_1": -0.05, "courier_0_r1": 0.0}
    assert terms == truncs == {"courier_1": False, "courier_0_r1": False}
    assert game.delivered_at[0] == -1 and infos["courier_0_r1"] == {"deliveries": 1}
    x, y, to_x, to_y = game.x[0], game.y[0], game.to_x[0], game.to_y[0]
    assert obs["courier_0_r1"].tolist() == [x, y, to_x - x, to_y - y]
    with pytest.raises(InvalidAgentAction, match="not in the game"):
        env.step({"courier_0": 0, "courier_0_r1": 0, "courier_1": 0})
    game.x[0], game.y[0], game.to_x[0], game.to_y[0] = 2, 2, 2, 3
    env.step({"courier_0_r1": 2, "courier_1": 0})  # courier_0_r1 delivers: no more shifts
    for _ in range(3):
        env.step({"courier_1": 0})
    assert env.agents == ["courier_1"]
    # The AEC form (PettingZoo's conversion) agrees.
    aec = envgen.multiagent.make("envgen/Couriers-v0", rest=0, shifts=2, max_cycles=200)
    aec.reset(seed=3)
    seen = []
    for agent in aec.agent_iter():
        seen.append(agent)
        done = aec.terminations[agent] or aec.truncations[agent]
        aec.step(None if done else int(np.random.default_rng(len(seen)).integers(5)))
    assert {"courier_0_r2", "courier_1_r2"} & set(seen)


def test_rejoin_is_checked_and_located(tmp_path: Path) -> None:
    compiled = _build(
        tmp_path,
        """\
        id: test/Back-v0
        agents: [a, b]
        turns: {next: 1 - agent}
        action_space: {Discrete: 2}
        observation_space: {Discrete: 2}
        observation: 0
        rejoin:
          when: "[1, 2]"
          times: 1.5
        """,
    )
    found = [(d.location.line, d.message) for d in compiled.diagnostics]
    assert sorted(line for line, _ in found) == [8, 8, 9], found
    messages = " / ".join(m for _, m in found)
    assert "simultaneous games only" in messages
    assert "needs a condition" in messages and "needs an integer" in messages


def test_turn_based_agents_leave_one_at_a_time_and_the_others_play_on() -> None:
    """runner_0 leaves after 1 move, runner_1 after 2, runner_2 after 3: each takes its
    last None step and is skipped from then on (a KeyError in the generated step once)."""
    (env_id,) = envgen.multiagent.from_specs([EDGE_DIR / "turns_leave_one_by_one.yaml"])
    env = envgen.multiagent.make(env_id)
    env.reset(seed=0)
    played = []
    for agent in env.agent_iter():
        _, reward, term, trunc, _ = env.last()
        played.append((agent, "done" if term or trunc else "move", reward))
        env.step(None if term or trunc else 1)
    assert played == [  # a done agent takes its None step at once (PettingZoo's order)
        ("runner_0", "move", 0.0),
        ("runner_0", "done", 1.0),
        ("runner_1", "move", 0.0),
        ("runner_2", "move", 0.0),
        ("runner_1", "move", 0.0),
        ("runner_1", "done", 1.0),
        ("runner_2", "move", 0.0),
        ("runner_2", "move", 0.0),
        ("runner_2", "done", 1.0),
    ]


_MASKED = """\
id: test/Masked-v0
params:
  k: {default: 3, ge: 1}
  m: {default: 3, ge: 1}
agents: [a, b]
action_space: {Discrete: k}
observation_space: {Discrete: 2}
state:
  pos: {dtype: int64, per_agent: true, init: 0}
observation: 0
action_mask: MASK
"""


@pytest.mark.parametrize(
    ("mask", "words"),
    [
        ("[0.5, 2.0, -1.0]", "not 0.5"),  # once truncated to int8 [0, 2, -1]
        ("[2, 0, 1]", "not 2"),
        ("arange(k + 1) >= 0", "has k + 1 entries but there are k actions"),
    ],
)
def test_masks_that_are_not_one_0_or_1_per_action_are_refused(
    tmp_path: Path, mask: str, words: str
) -> None:
    """From the hostile trial (B4, B5): literal mask values other than 0/1, and lengths the
    params decide to differ, are located errors."""
    compiled = _build(tmp_path, _MASKED.replace("MASK", f'"{mask}"'))
    assert [d.code for d in compiled.diagnostics] == ["type"], compiled.diagnostics
    assert words in compiled.diagnostics[0].message
    assert compiled.diagnostics[0].location.line == 11


def test_a_mask_length_only_the_params_decide_is_checked_when_the_env_is_made(
    tmp_path: Path,
) -> None:
    """`zeros(m) == 0` against `Discrete: k`: right when m == k, refused at construction
    (not at reset) otherwise; a computed mask that is not 0/1 allows where it is nonzero."""
    compiled = _build(tmp_path, _MASKED.replace("MASK", '"(zeros(m) + pos[agent] + 2) * 0.25"'))
    assert not compiled.diagnostics, [d.format() for d in compiled.diagnostics]
    out = tmp_path / "mod"
    out.mkdir()
    (out / "masked.py").write_text(compiled.files["test_masked_v0.py"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("masked", out / "masked.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    observations, _ = mod.parallel_env(k=3, m=3).reset(seed=0)
    assert observations["a"]["action_mask"].tolist() == [1, 1, 1]  # 0.5: allowed, not int8 0
    with pytest.raises(ValueError, match="action mask would have shape"):
        mod.parallel_env(k=3, m=2)


def test_two_roles_may_not_name_the_same_agent(tmp_path: Path) -> None:
    """Hostile trial B1: a fixed name that a counted role also makes lost an agent; refused
    at build when the count is known, when the env is made otherwise."""
    base = """\
        id: test/Dup-v0
        params:
          n: {default: 2, ge: 1}
        roles:
          a: {agents: [b_3]}
          b: {agents: {count: COUNT}}
        action_space: {Discrete: 2}
        observation_space: {Discrete: 2}
        observation: 0
        """
    compiled = _build(tmp_path, base.replace("COUNT", "4"))
    (problem,) = compiled.diagnostics
    assert "names an agent 'b_3', as role 'a' does" in problem.message
    assert problem.location.line == 6
    compiled = _build(tmp_path, base.replace("COUNT", "n"))
    assert not compiled.diagnostics
    out = tmp_path / "mod"
    out.mkdir()
    (out / "dup.py").write_text(compiled.files["test_dup_v0.py"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("dup", out / "dup.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.parallel_env().possible_agents == ["b_3", "b_0", "b_1"]
    with pytest.raises(ValueError, match="with n=5.*two agents are named b_3"):
        mod.parallel_env(n=5)


def test_make_keywords_are_not_param_names(tmp_path: Path) -> None:
    """Hostile trial B2: a param `parallel` was swallowed by multiagent.make(parallel=...)."""
    compiled = _build(
        tmp_path,
        """\
        id: test/Kw-v0
        params:
          parallel: {default: 1}
        agents: [a]
        action_space: {Discrete: 2}
        observation_space: {Discrete: 2}
        observation: 0
        """,
    )
    assert [(d.code, d.location.line) for d in compiled.diagnostics] == [("name", 3)]


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


EDGE_DIR = Path(__file__).parent / "multiagent_specs"
EDGE_SPECS = sorted(EDGE_DIR.glob("*.yaml"))


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


@pytest.mark.parametrize("command", ["show", "play"])
def test_single_agent_commands_refuse_a_multiagent_spec_in_words(command: str) -> None:
    """Hostile trial B28: `envgen show`/`play` on a multi-agent spec was an IndexError."""
    from conftest import run_envgen

    result = run_envgen(command, str(MULTIAGENT_SPECS[0]))
    assert result.returncode == 1
    assert "is a multi-agent spec" in result.stderr and "Traceback" not in result.stderr


def test_the_agent_count_limit_is_one_number_and_holds_when_made() -> None:
    from envgen.compiler._multiagent import MAX_AGENTS
    from envgen.runtime import InvalidParam
    from envgen.runtime import multiagent as runtime

    assert runtime.MAX_AGENTS == MAX_AGENTS
    assert len(runtime.agent_names("t/A-v0", "agent", MAX_AGENTS)) == MAX_AGENTS
    with pytest.raises(InvalidParam, match="at most"):
        runtime.agent_names("t/A-v0", "agent", MAX_AGENTS + 1)
    # agents that come back take one more name per return: the same limit bounds them all
    with pytest.raises(InvalidParam, match="agents that come back"):
        runtime.rejoin_names("t/A-v0", ["a", "b"], [MAX_AGENTS // 2, MAX_AGENTS // 2])
    _, possible = runtime.rejoin_names("t/A-v0", ["a", "b"], [MAX_AGENTS // 2 - 1] * 2)
    assert len(possible) == MAX_AGENTS


_REJOIN_GAME = """\
    id: test/Back-v0
    params:
      n: {{default: 2, ge: 1, le: 16}}
    roles:
      w:
        agents: {{count: n}}
        rejoin:
          when: "True"
          times: {times}
{more}    max_cycles: 10
    action_space: {{Discrete: 2}}
    observation_space: {{Discrete: 2}}
    state:
      done: {{dtype: bool, per_agent: true, init: "False"}}
    act: |
      done[agent] = action == 1
    observation: 0
    reward: 0.0
    terminated: done[agent]
    """


@pytest.mark.parametrize(
    ("times", "more", "words"),
    [
        # an expression of params: -1 with the defaults (hostile trial 3: built, then
        # InvalidParam when made)
        ("n - 3", "", "with the default params `times` is -1"),
        ("5000 * n", "", "with the default params `times` is 10000"),
        ("n * 3000", "", "the agents that come back make 12002 agent names"),
        # a return's name is a fixed agent's name (hostile trial 3: refused only when made)
        ("2", "      x:\n        agents: [w_0_r1]\n", "comes back as 'w_0_r1', a name role 'x'"),
    ],
)
def test_rejoin_problems_known_with_the_defaults_are_build_errors(
    tmp_path: Path, times: str, more: str, words: str
) -> None:
    text = _REJOIN_GAME.format(times=times, more=more)
    compiled = _build(tmp_path, text)
    assert [d.location.line for d in compiled.diagnostics] == [9], compiled.diagnostics
    assert words in compiled.diagnostics[0].message, compiled.diagnostics[0].format()
    assert compiled.files == {}


def test_the_rejoin_game_with_a_times_that_fits_builds_and_is_made(tmp_path: Path) -> None:
    """The game the build errors above start from, with `times: n - 1` (1 with the defaults):
    it builds, and its env is made with each agent coming back once."""
    text = _REJOIN_GAME.format(times="n - 1", more="").replace("Back-v0", "BackFits-v0")
    path = tmp_path / "game.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    (env_id,) = envgen.multiagent.from_specs([path])
    env = _module(env_id).parallel_env()
    assert env.possible_agents == ["w_0", "w_1", "w_0_r1", "w_1_r1"]
    env.reset(seed=0)
    assert env.agents == ["w_0", "w_1"]
    env.step({"w_0": 1, "w_1": 1})
    assert env.agents == ["w_0_r1", "w_1_r1"]
