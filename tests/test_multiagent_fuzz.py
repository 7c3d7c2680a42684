"""The multi-agent fuzzer: planted bugs are caught with short reproductions that fail when
run, and correct envs (PettingZoo's own classic games, the generated ones) pass."""

from __future__ import annotations

import multiagent_planted as planted
import pytest

from envgen.testing._multiagent import fuzz_multiagent

FAST = {"examples": 25, "max_steps": 30}


def _failure(target, prop: str):
    report = fuzz_multiagent(target, properties=[prop], **FAST)
    (result,) = report.results
    return result


@pytest.mark.parametrize(
    ("env", "prop", "words"),
    [
        (planted.RaceKeepsDoneAgents, "ma_parallel_rollout", "stays in env.agents"),
        (planted.RaceObservesTheDead, "ma_parallel_rollout", "still gets an observation"),
        (planted.RaceObservationOutOfSpace, "ma_parallel_rollout", "not in its observation"),
        (planted.RaceRevivesTheFinished, "ma_parallel_rollout", "under the same name"),
        (planted.ClaimMaskAllowsTakenCells, "ma_masks_respected", "allows action"),
        (planted.ClaimDoneAgentsKeepPlaying, "ma_aec_rollout", "still in env.agents"),
    ],
)
def test_planted_bugs_are_caught_with_runnable_shrunk_reproductions(env, prop, words) -> None:
    result = _failure(env, prop)
    assert result.status == "fail", result
    assert words in result.message
    script = result.reproduction
    steps = script.count("env.step(")
    assert steps <= 8, script  # shrunk: a handful of steps, not a whole random episode
    with pytest.raises((AssertionError, ValueError)):
        exec(compile(script, "<reproduction>", "exec"), {})


@pytest.mark.parametrize("env", [planted.Race, planted.RaceRelay, planted.Claim])
def test_the_correct_versions_pass(env) -> None:
    report = fuzz_multiagent(env, **FAST)
    assert report.ok, [(r.property, r.message) for r in report.failures]


@pytest.mark.parametrize(
    "module",
    [
        "pettingzoo.classic.tictactoe_v3",
        "pettingzoo.classic.connect_four_v3",
        "pettingzoo.classic.rps_v2",
    ],
)
def test_pettingzoo_classic_games_pass_without_false_positives(module: str) -> None:
    report = fuzz_multiagent(module, **FAST)
    assert report.ok, [(r.property, r.message) for r in report.failures]
    # They pickle through EzPickle (a fresh env): a warning, as for Gymnasium's EzPickle envs.
    assert report.status("ma_aec_pickle") == "warn"


@pytest.mark.parametrize(
    "env_id",
    [
        "envgen/TicTacToe-v0",
        "envgen/RockPaperScissors-v0",
        "envgen/Landmarks-v0",
        "envgen/Pursuit-v0",
    ],
)
def test_generated_multiagent_envs_pass(env_id: str) -> None:
    report = fuzz_multiagent(env_id, **FAST)
    assert report.ok, [(r.property, r.message) for r in report.failures]
    assert report.status("ma_aec_pickle") == "pass"


def test_envgen_fuzz_runs_the_multiagent_suite_and_prints_reproductions() -> None:
    from pathlib import Path

    from conftest import run_envgen

    here = Path(__file__).parent
    cli = ["fuzz", "--examples", "15", "--max-steps", "20"]
    bad = run_envgen(*cli, "multiagent_planted:RaceObservesTheDead", cwd=here)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "still gets an observation" in bad.stdout
    assert "from multiagent_planted import RaceObservesTheDead" in bad.stdout
    good = run_envgen(*cli, "envgen/RockPaperScissors-v0", "--property", "ma_parallel_rollout")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "OK" in good.stdout


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("n_agents=0", "must be >= 1"),
        ("n_agents=99", "must be <= 16"),
        ("bogus=1", "unknown param 'bogus'"),
    ],
)
def test_envgen_fuzz_refuses_params_a_multiagent_env_does_not_take(pair: str, words: str) -> None:
    # a hostile trial saw every property pass on the defaults, the -p silently ignored
    from conftest import run_envgen

    result = run_envgen("fuzz", "envgen/Landmarks-v0", "-p", pair)
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_fuzz_params_make_the_env_and_its_reproductions() -> None:
    from envgen.testing._multiagent import resolve_multiagent_target, with_params

    target = with_params(resolve_multiagent_target("envgen/Landmarks-v0"), {"n_agents": 2})
    env = target.make_parallel()
    assert env.possible_agents == ["agent_0", "agent_1"]
    env.close()
    assert target.parallel_source.endswith(".parallel_env(n_agents=2)")
    assert target.aec_source.endswith(".env(n_agents=2)")
