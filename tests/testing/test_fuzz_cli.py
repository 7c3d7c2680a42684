"""The real `fuzz` command, in a subprocess: exit codes 0/1/2, the table and --json."""

from __future__ import annotations

import json
import subprocess
import sys

from fuzz_helpers import BROKEN, HERE


def fuzz_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "envgen.testing._cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HERE.parent.parent,
    )


def test_passing_env_exits_0_with_a_table():
    run = fuzz_cli("CartPole-v1", "--property", "reset", "--property", "time_limit")
    assert run.returncode == 0, run.stderr
    assert "CartPole-v1" in run.stdout and "reset" in run.stdout and "pass" in run.stdout
    assert "OK" in run.stdout
    assert "[1/2]" in run.stderr  # progress goes to stderr


def test_contract_failure_exits_1_and_prints_the_reproduction():
    run = fuzz_cli(f"{BROKEN}:NaNReward", "--property", "step", "--property", "reset")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "fail" in run.stdout and "non-finite reward" in run.stdout
    assert "env = NaNReward()" in run.stdout and "env.step(np.int64(0))" in run.stdout
    assert "Traceback" not in run.stderr


def test_warnings_do_not_fail_but_strict_does():
    target = f"{BROKEN}:AcceptsInvalid"
    lenient = fuzz_cli(target, "--property", "invalid_action")
    assert lenient.returncode == 0, lenient.stdout
    assert "warn" in lenient.stdout
    strict = fuzz_cli(target, "--property", "invalid_action", "--strict", "--examples", "3")
    assert strict.returncode == 1, strict.stdout


def test_unknown_target_is_a_usage_error_with_a_suggestion():
    run = fuzz_cli("CartPol-v1")
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        == "envgen fuzz: error: unknown env 'CartPol-v1'; did you mean CartPole-v1?"
    )
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_unknown_property_is_a_usage_error_with_a_suggestion():
    run = fuzz_cli("CartPole-v1", "--property", "determinsm")
    assert run.returncode == 2
    assert "unknown property 'determinsm'; did you mean determinism?" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_class_in_file_is_a_usage_error():
    run = fuzz_cli(f"{BROKEN}:Walkr")
    assert run.returncode == 2
    assert "did you mean" in run.stderr and "Walker" in run.stderr
    assert "Traceback" not in run.stderr


def test_json_report_for_ci():
    run = fuzz_cli(
        "CartPole-v1",
        f"{BROKEN}:LateTruncation",
        "--property",
        "time_limit",
        "--property",
        "vector",
        "--json",
        "--examples",
        "5",
    )
    assert run.returncode == 1
    report = json.loads(run.stdout)  # stdout is pure JSON
    assert report["ok"] is False
    assert report["settings"]["examples"] == 5
    by_key = {(r["target"], r["property"]): r for r in report["results"]}
    assert by_key["CartPole-v1", "time_limit"]["status"] == "pass"
    late = by_key[f"{BROKEN}:LateTruncation", "time_limit"]
    assert late["status"] == "fail" and "step 30" in late["message"]
    assert "env = LateTruncation()" in late["reproduction"]
    assert by_key[f"{BROKEN}:LateTruncation", "vector"]["status"] == "skip"
    assert report["summary"]["fail"] == 1


def test_list_properties():
    run = fuzz_cli("CartPole-v1", "--list")
    assert run.returncode == 0
    assert "determinism:" in run.stdout and "time_limit:" in run.stdout


def test_budget_cut_is_said_with_progress_per_property():
    run = fuzz_cli(
        f"{BROKEN}:SlowWalker", "--budget", "6", "--property", "step", "--property", "reset"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # what the budget cut, on stderr as it starts and in the summary on stdout
    assert "SlowWalker: budget 6s at " in run.stderr and "examples 10 -> " in run.stderr
    assert "SlowWalker: budget 6s at " in run.stdout
    assert "[1/2]" in run.stderr and "[2/2]" in run.stderr
    assert "Traceback" not in run.stderr


def test_vector_targets_from_the_command_line():
    run = fuzz_cli(
        "CartPole-v1",
        "--vector",
        "sync",
        "--num-envs",
        "3",
        "--autoreset",
        "SameStep",
        "--property",
        "autoreset",
        "--budget",
        "0",  # the message checked below, not a budget note on a loaded machine
        "--json",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["targets"] == ["CartPole-v1[sync x3, SameStep]"]
    assert report["results"][0]["message"] == "autoreset mode SameStep"


def test_vector_of_a_class_is_a_usage_error():
    run = fuzz_cli(f"{BROKEN}:Walker", "--vector", "sync")
    assert run.returncode == 2
    assert "--vector applies to registered env ids" in run.stderr
    assert "Traceback" not in run.stderr


def test_autoreset_needs_vector():
    run = fuzz_cli("CartPole-v1", "--autoreset", "SameStep")
    assert run.returncode == 2 and "--autoreset needs --vector" in run.stderr


def test_the_fuzz_command_is_there_whichever_module_is_imported_first():
    # envgen.testing._cli imports envgen.cli, which imported it back half-initialised and
    # left `fuzz` out: "no such command 'fuzz'" (seen when tests imported the fuzzer first)
    import subprocess
    import sys

    code = (
        "import envgen.testing._cli\n"
        "from envgen.cli import main\n"
        "assert 'fuzz' in main.commands, sorted(main.commands)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
