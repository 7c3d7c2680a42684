"""Stage 2 for multi-agent specs: the Pydantic models of a spec with `agents:` or `roles:`.

A multi-agent spec reuses the single-agent pieces (params, constants, let, functions,
spaces, state variables, render) and adds the agents, their roles, the per-agent `act`
block, the turn order of turn-based games, action masks and a global state.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from envgen.compiler.spec import (
    ENV_ID,
    Expr,
    FunctionSpec,
    ParamSpec,
    RenderSpec,
    SpaceSpec,
    StateVarSpec,
    StrictModel,
    _check_name,
)

#: Agent names: PettingZoo uses any string; envgen keeps them plain names so that they read
#: the same in code, logs and RLlib policy ids.
AGENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AgentCount(StrictModel):
    """`{count: n_agents}`: agents named `agent_0`, `agent_1`, ... (or `prefix_0`, ...)."""

    count: Expr = Field(
        description="How many agents: an integer or an expression of params.",
        examples=[3, "n_agents"],
    )
    prefix: str | None = Field(
        None,
        description="Names are `prefix_0`, `prefix_1`, ...; `agent` (or the role's name).",
        examples=["predator"],
    )

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        return value if value is None else _check_name(value, "prefix")


Agents = list[str] | AgentCount


def _check_agents(value: Any) -> Any:
    if isinstance(value, list):
        for name in value:
            if not AGENT_NAME.fullmatch(name):
                raise ValueError(f"agent name '{name}' is not a plain name (letters, digits, _)")
        if len(set(value)) != len(value):
            raise ValueError("agent names must be distinct")
        if not value:
            raise ValueError("give at least one agent")
    return value


class RejoinSpec(StrictModel):
    """Agents that come back after leaving: when `when` holds for an agent that has left
    (terminated; not at the time limit), it comes back as a new agent, named after it
    with `_r1`, `_r2`, ... (PettingZoo's agents never come back under the same name), with
    its per-agent state set again from each variable's `init`. Simultaneous games only."""

    when: Expr = Field(
        description="Whether agent `agent`, which has left, comes back now (an expression "
        "over state, `agent` and `elapsed_steps`; evaluated after every step).",
        examples=["elapsed_steps - left_at[agent] >= 3", True],
    )
    times: Expr = Field(
        1,
        description="How many times each agent may come back (an integer or an expression "
        "of params); every name it may take is in `possible_agents`.",
        examples=[2, "shifts"],
    )


class RoleSpec(StrictModel):
    """A group of agents that share spaces and code (e.g. predators and prey). Every key
    but `agents` defaults to the spec's top-level one."""

    agents: Agents = Field(
        description="The role's agents: a list of names or `{count: ...}`.",
        examples=[["predator_0", "predator_1"], {"count": "n_prey"}],
    )
    action_space: SpaceSpec | None = Field(
        None, description="The role's action space.", examples=[{"Discrete": 5}]
    )
    observation_space: SpaceSpec | None = Field(
        None,
        description="The role's observation space.",
        examples=[{"Box": {"low": 0, "high": 1, "shape": [4], "dtype": "float32"}}],
    )
    act: str | None = Field(
        None,
        description="The role's per-agent block (sees `agent` and `action`).",
        examples=["x[agent] = clip(x[agent] + action - 1, 0, size - 1)"],
    )
    observation: Any = Field(
        None, description="What one agent of the role sees.", examples=["[x[agent], y[agent]]"]
    )
    reward: Expr | None = Field(
        None, description="One agent's reward after a step.", examples=["catches - 0.01"]
    )
    terminated: Expr | None = Field(
        None, description="Whether one agent is done (it leaves).", examples=["caught[agent]"]
    )
    action_mask: Any = Field(
        None, description="Which actions one agent may take now.", examples=["board == 0"]
    )
    info: dict[str, Expr] | None = Field(
        None, description="One agent's info entries.", examples=[{"steps": "steps[agent]"}]
    )
    rejoin: RejoinSpec | None = Field(
        None,
        description="Whether the role's agents come back after leaving, and how often.",
        examples=[{"when": "elapsed_steps - left_at[agent] >= 3", "times": 2}],
    )

    @field_validator("agents")
    @classmethod
    def _agents(cls, value: Any) -> Any:
        return _check_agents(value)

    @field_validator("info")
    @classmethod
    def _names(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in value or {}:
            _check_name(key, "name")
        return value


class TurnsSpec(StrictModel):
    """Turn-based play (PettingZoo AEC): one agent acts per step."""

    first: Expr = Field(
        0,
        description="Index of the agent who moves first (an expression over state).",
        examples=[0, "integers(0, 2)"],
    )
    next: Expr = Field(
        description="Index of the agent who moves after `agent` (an expression over "
        "state and `agent`); an agent that has left is skipped.",
        examples=["1 - agent", "(agent + 1) % num_agents"],
    )


class GlobalStateSpec(StrictModel):
    """The global state `env.state()` that centralised critics read."""

    space: SpaceSpec = Field(
        description="The space of the global state.",
        examples=[{"Box": {"low": 0, "high": 10, "shape": [2, 3], "dtype": "float32"}}],
    )
    value: Any = Field(
        description="An expression (or list / mapping) over state.", examples=["[x, y]"]
    )


class AgentStateVarSpec(StateVarSpec):
    """A state variable; `per_agent: true` gives every agent its own value (an array whose
    first axis is the agent index: `pos[agent]`)."""

    per_agent: bool = Field(
        False,
        description="One value per agent: shape [num_agents, *shape]; `init` is evaluated "
        "once per agent, in agent order, with `agent` set.",
        examples=[True],
    )


class MultiAgentSpec(StrictModel):
    """A multi-agent environment (PettingZoo Parallel or AEC)."""

    id: str = Field(description="Id `namespace/Name-vN`.", examples=["envgen/Pursuit-v0"])
    description: str = Field(
        "", description="What the game is about.", examples=["Two players take turns."]
    )
    params: dict[str, ParamSpec] = Field(
        default_factory=dict,
        description="Constructor arguments with defaults (as in single-agent specs).",
        examples=[{"n_agents": {"default": 3, "ge": 1}}],
    )
    constants: dict[str, Any] = Field(
        default_factory=dict, description="Data tables.", examples=[{"LINES": [[0, 1, 2]]}]
    )
    let: dict[str, Expr] = Field(
        default_factory=dict,
        description="Values computed once from params.",
        examples=[{"cells": "size * size"}],
    )
    functions: dict[str, FunctionSpec] = Field(
        default_factory=dict,
        description="Pure helper functions.",
        examples=[{"index": {"args": ["x", "y"], "return": "y * size + x"}}],
    )
    agents: Agents | None = Field(
        None,
        description="The agents: a list of names, or `{count: ...}`; or give `roles`.",
        examples=[["player_0", "player_1"], {"count": "n_agents"}],
    )
    roles: dict[str, RoleSpec] = Field(
        default_factory=dict,
        description="Groups of agents with their own spaces and code.",
        examples=[{"predator": {"agents": {"count": "n_predators"}, "reward": "catches"}}],
    )
    action_space: SpaceSpec | None = Field(
        None, description="Every agent's action space.", examples=[{"Discrete": 3}]
    )
    observation_space: SpaceSpec | None = Field(
        None, description="Every agent's observation space.", examples=[{"Discrete": 4}]
    )
    state: dict[str, AgentStateVarSpec] = Field(
        default_factory=dict,
        description="Shared and per-agent state variables.",
        examples=[{"move": {"dtype": "int64", "init": 3, "per_agent": True}}],
    )
    reset: str = Field(
        "",
        description="A block run at reset after the state's `init`.",
        examples=["board[4] = 0"],
    )
    act: str = Field(
        "",
        description="A block run once per acting agent, in agent order, with `agent` (its "
        "index) and `action` (its action).",
        examples=["choice[agent] = action"],
    )
    step: str = Field(
        "",
        description="A block run once per step, after every `act`.",
        examples=["round += 1"],
    )
    turns: TurnsSpec | None = Field(
        None,
        description="Turn-based play: who moves first and who moves next.",
        examples=[{"first": 0, "next": "1 - agent"}],
    )
    observation: Any = Field(
        None, description="What agent `agent` sees.", examples=["move[1 - agent]"]
    )
    reward: Expr = Field(
        0.0, description="Agent `agent`'s reward after a step.", examples=["1.0 if won else 0.0"]
    )
    terminated: Expr = Field(
        False,
        description="Whether agent `agent` is done (it leaves).",
        examples=["x[agent] == goal_x[agent]"],
    )
    action_mask: Any = Field(
        None,
        description="The actions agent `agent` may take now (Discrete actions): an array of "
        "n 0/1 values; the observation becomes {observation, action_mask}.",
        examples=["board == 0"],
    )
    info: dict[str, Expr] = Field(
        default_factory=dict,
        description="Agent `agent`'s info entries.",
        examples=[{"distance": "abs(goal_x[agent] - x[agent])"}],
    )
    rejoin: RejoinSpec | None = Field(
        None,
        description="Agents that have left come back (as new agents) when `when` holds, "
        "at most `times` times each; a role may give its own.",
        examples=[{"when": "elapsed_steps - left_at[agent] >= 3", "times": 2}],
    )
    max_cycles: int | None = Field(
        None,
        ge=1,
        description="Default of the `max_cycles` param: every agent is truncated after this "
        "many steps (turns, in a turn-based game).",
        examples=[100],
    )
    global_state: GlobalStateSpec | None = Field(
        None,
        description="`env.state()` and `env.state_space`, for centralised critics.",
        examples=[{"space": {"Box": {"low": 0, "high": 9, "shape": [2]}}, "value": "[x[0], x[1]]"}],
    )
    render: RenderSpec | None = Field(
        None,
        description="How the whole scene renders.",
        examples=[{"human": True, "ansi": "{{ move[0] }} vs {{ move[1] }}"}],
    )
    invalid_action: Literal["raise", "clip", "ignore"] = Field(
        "raise",
        description="Default for actions outside an agent's space (or its mask).",
        examples=["raise"],
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ENV_ID.fullmatch(value):
            raise ValueError(f"'{value}' is not an env id; use the form namespace/Name-v0")
        return value

    @field_validator("params", "state", "let", "functions", "constants", "info", "roles")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            _check_name(key, "name")
        return value

    @field_validator("agents")
    @classmethod
    def _agents(cls, value: Any) -> Any:
        return _check_agents(value)

    @model_validator(mode="after")
    def _who(self) -> MultiAgentSpec:
        if self.agents is None and not self.roles:
            raise ValueError("give `agents` (a list of names or {count: ...}) or `roles`")
        if self.agents is not None and self.roles:
            raise ValueError("give either `agents` or `roles` (each role lists its agents)")
        return self


def is_multiagent(data: object) -> bool:
    """Whether a loaded YAML document is a multi-agent spec."""
    return isinstance(data, dict) and ("agents" in data or "roles" in data)


MultiAgentSpec.model_rebuild()
