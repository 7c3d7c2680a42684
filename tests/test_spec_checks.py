"""`require`, `variants`, `deterministic` and `action_mask`: the spec features users asked
for, end to end (build, gym.make, the native vector env) and their build-time errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import generated
from envgen.build import compile_specs, env_ids_from_specs
from envgen.compiler.diagnostics import DiagnosticError
from envgen.runtime import RequirementFailed

MAZE = "envgen/WallMaze-v0"

COUNTER = """\
id: t/Counter-v0
params:
  size: {default: 5, ge: 1}
  goal: {default: 3}
let:
  half: size // 2
action_space: {Discrete: 2}
observation_space: {Discrete: size + 1}
state:
  count: {dtype: int64, init: 0}
step: |
  count = min(count + action, size)
observation: count
terminated: count == goal
"""


def _spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _errors(tmp_path: Path, text: str) -> str:
    compiled = compile_specs([_spec(tmp_path, text)])
    assert compiled.diagnostics, "the spec was accepted"
    assert not compiled.files
    return "\n".join(d.format() for d in compiled.diagnostics)


# --- require ------------------------------------------------------------------------


def test_a_maze_without_a_goal_is_refused_naming_the_param_and_the_spec_line() -> None:
    with pytest.raises(RequirementFailed) as caught:
        gym.make(MAZE, layout=["S..", ".#."])
    message = str(caught.value)
    assert "the layout needs exactly one goal (G)" in message
    assert "layout=['S..', '.#.']" in message
    assert "specs/masked/wall_maze.yaml:24:" in message  # the condition's line in the spec
    # A layout that meets every requirement is accepted.
    env = gym.make(MAZE, layout=["S.", ".G"])
    assert env.reset(seed=0)[0] == 0


def test_requirements_over_params_and_let_are_checked_at_construction(tmp_path: Path) -> None:
    text = COUNTER + (
        "require:\n"
        "  - {check: goal <= size, message: the goal must be reachable}\n"
        "  - {check: half >= 1, message: the corridor is too short}\n"
    )
    (env_id,) = env_ids_from_specs([_spec(tmp_path, text)])
    gym.make(env_id)
    with pytest.raises(
        RequirementFailed, match=r"the goal must be reachable \(with size=2, goal=3\)"
    ):
        gym.make(env_id, size=2)
    # the second check reads a let value: the params it comes from are named
    with pytest.raises(RequirementFailed, match=r"the corridor is too short \(with size=1\)"):
        gym.make(env_id, size=1, goal=1)
    # RLlib's path (a config mapping, no gym.make) checks too
    cls = type(gym.make(env_id).unwrapped)
    with pytest.raises(RequirementFailed):
        cls({"size": 2})


def test_a_requirement_is_type_checked_at_build_time(tmp_path: Path) -> None:
    text = COUNTER + "require:\n  - {check: 'zeros(3) > 1', message: m}\n"
    errors = _errors(tmp_path, text)
    assert "spec.yaml:16:" in errors and "a requirement must be a true/false condition" in errors
    errors = _errors(tmp_path, COUNTER + "require:\n  - {check: count > 0, message: m}\n")
    assert "unknown name 'count'" in errors  # state does not exist at construction
    errors = _errors(tmp_path, COUNTER + "require:\n  - {check: random() < 2, message: m}\n")
    assert "random draw 'random' is not allowed here" in errors


# --- variants -------------------------------------------------------------------------


def test_every_variant_is_registered_with_its_own_defaults() -> None:
    assert generated.VARIANTS  # the bundled specs have some
    for variant, base in generated.VARIANTS.items():
        assert variant in generated.ENVS and base in generated.ENVS
        overrides = generated.ENVS[variant]["kwargs"]
        assert overrides
        env = gym.make(variant).unwrapped
        for name, value in overrides.items():
            assert getattr(env, name) == value, (variant, name)
        assert type(env) is type(gym.make(base).unwrapped)
        env.reset(seed=0)
        # its own native vector env, made with the same defaults
        vec = gym.make_vec(variant, num_envs=2, vectorization_mode="vector_entry_point")
        assert type(vec).__name__.endswith("VectorEnv") and "Sync" not in type(vec).__name__
        obs, _ = vec.reset(seed=0)
        assert vec.single_observation_space == env.observation_space
        vec.close()


def test_frozen_lake_8x8_is_gymnasiums() -> None:
    ours = gym.make("envgen/FrozenLake8x8-v1")
    theirs = gym.make("FrozenLake8x8-v1")
    assert ours.unwrapped.map_name == "8x8"
    assert ours.unwrapped.max_episode_steps == theirs.spec.max_episode_steps == 200
    assert ours.observation_space == theirs.observation_space
    obs_ours, _ = ours.reset(seed=3)
    obs_theirs, _ = theirs.reset(seed=3)
    for action in np.random.default_rng(0).integers(0, 4, size=200):
        a = ours.step(int(action))
        b = theirs.step(int(action))
        assert a[:4] == b[:4]
        if a[2] or a[3]:
            break


def test_variants_are_checked_at_build_time(tmp_path: Path) -> None:
    errors = _errors(tmp_path, COUNTER + "variants:\n  t/Counter10-v0: {sise: 10}\n")
    assert "the variant sets 'sise', which is not a param" in errors
    assert "did you mean 'size'" in errors
    errors = _errors(tmp_path, COUNTER + "variants:\n  t/Counter0-v0: {size: 0}\n")
    assert "spec.yaml:16:" in errors and "must be >= 1" in errors
    (tmp_path / "other.yaml").write_text(COUNTER.replace("t/Counter-v0", "t/Other-v0"))
    both = compile_specs(
        [_spec(tmp_path, COUNTER + "variants:\n  t/Other-v0: {size: 2}\n"), tmp_path / "other.yaml"]
    )
    assert any("'t/Other-v0' is also used by" in d.message for d in both.diagnostics)


def test_in_memory_specs_register_their_variants(tmp_path: Path) -> None:
    text = COUNTER + "variants:\n  t/Counter9-v0: {size: 9, goal: 9}\n"
    ids = env_ids_from_specs([_spec(tmp_path, text)])
    assert ids == ["t/Counter-v0", "t/Counter9-v0"]
    assert gym.make("t/Counter9-v0").unwrapped.size == 9


# --- deterministic ----------------------------------------------------------------------


def test_a_deterministic_env_says_so_and_ignores_its_seed() -> None:
    env = gym.make(MAZE)
    assert env.unwrapped.metadata["deterministic"] is True
    assert "deterministic" not in gym.make("envgen/FrozenLake-v1").unwrapped.metadata
    vec = gym.make_vec(MAZE, num_envs=2, vectorization_mode="vector_entry_point")
    assert vec.metadata["deterministic"] is True
    runs = []
    for seed in (0, 1, 12345):
        obs, info = env.reset(seed=seed)
        trajectory = [obs]
        for action in [1, 1, 2, 2, 3, 3, 2, 2]:
            trajectory.append(env.step(action)[:3])
        runs.append(trajectory)
    assert runs[0] == runs[1] == runs[2]


def test_deterministic_is_refused_for_a_spec_that_draws(tmp_path: Path) -> None:
    text = COUNTER.replace("init: 0}", "init: 'integers(0, 2)'}") + "deterministic: true\n"
    errors = _errors(tmp_path, text)
    assert "spec.yaml:10:" in errors
    assert "`deterministic: true` but integers() draws a random number" in errors
    text = COUNTER + "deterministic: true\nfunctions:\n  coin: {return: random() < 0.5}\n"
    text = text.replace("count = min(count + action, size)", "count = min(count + coin(), size)")
    errors = _errors(tmp_path, text)  # the draw inside the function is pointed at
    assert "spec.yaml:17:" in errors and "but random() draws a random number" in errors


# --- action masks ---------------------------------------------------------------------


def test_masks_in_info_at_reset_and_every_step_and_from_action_masks() -> None:
    env = gym.make(MAZE)
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    env.action_space.seed(0)
    for _ in range(60):
        mask = info["action_mask"]
        assert mask.dtype == np.int8 and mask.shape == (4,)
        assert np.array_equal(env.unwrapped.action_masks(), mask.astype(bool))
        action = env.action_space.sample(mask=mask)
        assert mask[action] == 1
        before = obs
        obs, _, terminated, truncated, info = env.step(action)
        assert obs != before  # a masked agent never walks into a wall
        if terminated or truncated:
            obs, info = env.reset(seed=int(rng.integers(100)))
    # and a move into a wall, unmasked, leaves the agent where it is
    env.reset(seed=0)
    assert env.step(0)[0] == 0


def test_action_masks_before_reset_raise() -> None:
    with pytest.raises(gym.error.ResetNeeded):
        gym.make(MAZE).unwrapped.action_masks()


def test_the_native_vector_env_batches_the_masks() -> None:
    vec = gym.make_vec(MAZE, num_envs=3, vectorization_mode="vector_entry_point")
    single = [gym.make(MAZE) for _ in range(3)]
    _, info = vec.reset(seed=0)
    infos = [env.reset(seed=i)[1] for i, env in enumerate(single)]
    actions = np.array([1, 1, 1])
    for _ in range(4):
        assert info["action_mask"].dtype == np.int8 and info["action_mask"].shape == (3, 4)
        assert info["_action_mask"].all()
        for i in range(3):
            assert np.array_equal(info["action_mask"][i], infos[i]["action_mask"])
        actions = np.array(
            [single[i].action_space.sample(mask=infos[i]["action_mask"]) for i in range(3)]
        )
        _, _, _, _, info = vec.step(actions)
        infos = [env.step(int(a))[4] for env, a in zip(single, actions, strict=True)]
    vec.close()


MULTI = """\
id: t/Dials-v0
action_space: {MultiDiscrete: [3, 2]}
observation_space: {MultiDiscrete: [5, 5]}
state:
  a: {dtype: int64, init: 0}
  b: {dtype: int64, init: 4}
step: |
  a = clip(a + action[0] - 1, 0, 4)
  b = clip(b - action[1], 0, 4)
observation: "[a, b]"
action_mask: ["[a > 0, True, a < 4]", "[True, b > 0]"]
"""


def test_multi_discrete_masks_are_a_tuple_per_dimension(tmp_path: Path) -> None:
    (env_id,) = env_ids_from_specs([_spec(tmp_path, MULTI)])
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    first, second = info["action_mask"]
    assert first.tolist() == [0, 1, 1] and second.tolist() == [1, 1]
    assert first.dtype == second.dtype == np.int8
    assert env.unwrapped.action_masks().tolist() == [False, True, True, True, True]
    env.action_space.seed(0)
    for _ in range(20):
        action = env.action_space.sample(mask=info["action_mask"])
        assert info["action_mask"][0][action[0]] and info["action_mask"][1][action[1]]
        _, _, _, _, info = env.step(action)


def test_bad_masks_are_located_build_errors(tmp_path: Path) -> None:
    errors = _errors(tmp_path, COUNTER + "action_mask: '[count > 0, True, True]'\n")
    assert "spec.yaml:15:" in errors and "the action mask has 3 entries but there are 2" in errors
    errors = _errors(tmp_path, COUNTER + "action_mask: count > 0\n")
    assert "an action mask must be a 1-D array of bools" in errors
    errors = _errors(tmp_path, COUNTER + "action_mask: '[action > 0, True]'\n")
    assert "unknown name 'action'" in errors  # the mask is read from the state, like obs
    errors = _errors(
        tmp_path, MULTI.replace('["[a > 0, True, a < 4]", "[True, b > 0]"]', "'[a > 0]'")
    )
    assert "a MultiDiscrete action mask is a list of 2 expressions" in errors
    box = COUNTER.replace("{Discrete: 2}", "{Box: {low: 0, high: 1, shape: [1]}}")
    box = box.replace("count + action", "count + int(action[0])")
    errors = _errors(tmp_path, box + "action_mask: '[True]'\n")
    assert "action masks need a Discrete or MultiDiscrete action space, not Box" in errors


def test_a_mask_length_the_compiler_cannot_follow_is_checked_by_the_env(tmp_path: Path) -> None:
    text = (
        COUNTER.replace("{Discrete: 2}", "{Discrete: size}").replace(
            "count + action", "count + min(action, 1)"
        )
        + "action_mask: arange(goal + 2) <= count + 1\n"
    )
    (env_id,) = env_ids_from_specs([_spec(tmp_path, text)])
    _, info = gym.make(env_id, size=5, goal=3).reset(seed=0)  # 3 + 2 == 5 actions
    assert info["action_mask"].tolist() == [1, 1, 0, 0, 0]
    # arange(goal + 2) has goal + 2 elements: checked when the env is made, not at reset.
    with pytest.raises(
        ValueError, match=r"spec.yaml:15:14: with these params the action mask would have shape"
    ):
        gym.make(env_id, size=6, goal=3)


def test_errors_of_a_mask_spec_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(DiagnosticError) as caught:
        env_ids_from_specs(
            [_spec(tmp_path, COUNTER + "action_mask: '[count > 0]'\nreward: 'missing + 1'\n")]
        )
    messages = [d.message for d in caught.value.diagnostics]
    assert len(messages) == 2, messages  # the mask's length and the unknown name, together
    assert any("action mask" in m for m in messages), messages
    assert any("missing" in m for m in messages), messages


def test_a_variant_and_a_deterministic_masked_env_pass_the_fuzzer() -> None:
    from envgen.testing import PASS, format_result, fuzz

    report = fuzz("envgen/WallMazeSmall-v0")
    assert report.ok, "\n\n".join(format_result(r) for r in report.failures)
    # the declared determinism and the masks were checked, not skipped
    for prop in ("seeding", "determinism", "action_mask"):
        assert report.result(prop).status == PASS, (prop, report.result(prop).message)
