"""Stage 4 for multi-agent specs: a PettingZoo module per spec.

Simultaneous specs become a `ParallelEnv` (module-level `parallel_env`, and `env` /
`raw_env` through PettingZoo's own conversion to AEC); turn-based specs (`turns:`) become
an `AECEnv` (`env` with PettingZoo's order enforcing wrapper, `raw_env` bare). The code of
each block is printed by the single-env printer; only the layout of the class differs.
"""

from __future__ import annotations

import ast

from envgen.backends._printer import Translator, literal, tidy, tidy_block
from envgen.backends.python import (
    _TEMPLATES,
    INDENT,
    EmittedModule,
    _constant,
    _indent,
    _observation_code,
    _space_code,
    _state_value,
    _wrap,
    doc_text,
    format_source,
    param_lines,
)
from envgen.compiler._multiagent import MultiAgentModel, RoleModel


class MultiAgentTranslator(Translator):
    """The single-env printer, plus the multi-agent names."""

    def name(self, node: ast.Name) -> str:
        symbol = self.model.symbols.get(id(node))
        if symbol is not None and node.id == "num_agents" and symbol.kind == "let":
            return "self._count"
        if symbol is not None and node.id == "live" and symbol.kind == "special":
            return "self._live"
        return super().name(node)


def _roles_dispatch(
    model: MultiAgentModel, body: callable, indent: int = 0, index: str = "agent"
) -> list[str]:
    """`body(role)` lines, under `if self._role_of[agent] == r:` when there are roles."""
    if len(model.roles) == 1:
        return body(model.roles[0])
    lines: list[str] = []
    pad = INDENT * indent
    for r, role in enumerate(model.roles):
        keyword = "if" if r == 0 else "elif"
        test = f"self._role_of[{index}] == {r}" if r < len(model.roles) - 1 else None
        lines.append(f"{pad}{keyword} {test}:" if test else f"{pad}else:")
        lines.extend(INDENT + line for line in (body(role) or ["pass"]))
    return lines


def _agent_lines(model: MultiAgentModel, tr: Translator) -> list[str]:
    """`self.possible_agents`, role membership and the per-agent spaces."""
    parts, roles_of = [], []
    for r, role in enumerate(model.roles):
        if role.names is not None:
            parts.append(literal(role.names))
            roles_of.append(f"[{r}] * {len(role.names)}")
        else:
            assert role.count is not None
            count = tidy(tr.code(role.count))
            parts.append(f"_ma.agent_names(ID, {literal(role.prefix)}, {count})")
            roles_of.append(f"[{r}] * ({count})")
    lines = [f"self.possible_agents = {' + '.join(parts)}"]
    if len(model.roles) > 1:  # counts the params decide may make a name another role has
        params = "{" + ", ".join(f"{literal(n)}: self.{n}" for n in model.params) + "}"
        lines.append(f"_ma.check_distinct(ID, self.possible_agents, {params})")
    lines.append("self._count = len(self.possible_agents)")
    if not model.rejoins:
        lines.append("self._index = {_n: _i for _i, _n in enumerate(self.possible_agents)}")
    if len(model.roles) > 1:
        lines.append(f"self._role_of = {' + '.join(roles_of)}")
    if model.rejoins:
        # Each agent (slot) may come back under new names: `name_r1`, `name_r2`, ...
        times = [
            f"[{tidy(tr.code(role.rejoin_times)) if role.rejoin_times is not None else '0'}]"
            + count[count.index("]") + 1 :]
            for role, count in zip(model.roles, roles_of, strict=True)
        ]
        lines.append(
            f"self._names, self.possible_agents = _ma.rejoin_names(ID, self.possible_agents, "
            f"{' + '.join(times)})"
        )
        lines.append(
            "self._index = {_n: _i for _i, _names in enumerate(self._names) for _n in _names}"
        )
    if len(model.roles) > 1:
        names = literal([role.name for role in model.roles])
        lines.append(
            f"self.agent_roles = {{_n: {names}[self._role_of[self._index[_n]]] "
            "for _n in self.possible_agents}"
        )
    else:
        lines.append("self.agent_roles = dict.fromkeys(self.possible_agents, 'shared')")
    lines.append("self._current = self.possible_agents[: self._count]")
    return lines


def _space_lines(model: MultiAgentModel, tr: Translator) -> list[str]:
    lines = ["self.action_spaces = {}", "self.observation_spaces = {}"]
    single = len(model.roles) == 1
    for r, role in enumerate(model.roles):
        pad = "" if single else INDENT
        if not single:
            lines.append("for _name in self.possible_agents:")
            lines.append(f"{INDENT}if self._role_of[self._index[_name]] != {r}:")
            lines.append(f"{INDENT * 2}continue")
        else:
            lines.append("for _name in self.possible_agents:")
            pad = INDENT
        action = tidy(_space_code(role.action_space, tr))
        observation = tidy(_space_code(role.observation_space, tr))
        if role.action_mask is not None:
            n = tidy(tr.code(role.action_space.args["n"]))
            observation = (
                f'spaces.Dict({{"observation": {observation}, "action_mask": _ma.mask_space({n})}})'
            )
        lines.append(f"{pad}self.action_spaces[_name] = {action}")
        lines.append(f"{pad}self.observation_spaces[_name] = {observation}")
    return lines


def _agent_observation(role: RoleModel, tr: Translator, space: str) -> str:
    """One agent's observation; Discrete ones as NumPy ints, as PettingZoo checks dtypes."""
    code = tidy(_observation_code(role.observation, tr, space))
    if role.observation_space.kind == "Discrete":
        return f"np.int64({code})"
    return code


def _observe_method(model: MultiAgentModel, tr: Translator) -> list[str]:
    def body(role: RoleModel) -> list[str]:
        space = "self.observation_spaces[self._current[agent]]"
        if role.action_mask is not None:
            inner = _agent_observation(role, tr, f'{space}["observation"]')
            n = tidy(tr.code(role.action_space.args["n"]))
            mask = tidy(tr.code(role.action_mask))
            return [
                "return {",
                f'{INDENT}"observation": {inner},',
                f'{INDENT}"action_mask": _ma.mask_array({mask}, {n}, ID, self._current[agent]),',
                "}",
            ]
        return [f"return {_agent_observation(role, tr, space)}"]

    lines = ["def _observe(self, agent: int) -> Any:"]
    lines += [INDENT + line for line in _roles_dispatch(model, body)]
    return lines


def _mask_method(model: MultiAgentModel, tr: Translator) -> list[str]:
    """The current action mask of an agent (None for roles without one)."""

    def body(role: RoleModel) -> list[str]:
        if role.action_mask is None:
            return ["return None"]
        n = tidy(tr.code(role.action_space.args["n"]))
        mask = tidy(tr.code(role.action_mask))
        return [f"return _ma.mask_array({mask}, {n}, ID, self._current[agent])"]

    lines = ["def _action_mask(self, agent: int) -> Any:"]
    lines += [INDENT + line for line in _roles_dispatch(model, body)]
    return lines


def _state_init(model: MultiAgentModel, tr: Translator) -> list[str]:
    lines = []
    for name, state in model.state.items():
        element = state.type
        if name in model.per_agent:
            from envgen.compiler.types import T

            element = T(state.type.dtype, state.type.shape[1:] if state.type.shape else ())
            dims = ["self._count", *(tr.code(c) for c in state.shape)]
            shape = f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
            from envgen.backends._printer import np_dtype

            lines.append(f"{name} = np.zeros({shape}, dtype={np_dtype(state.type.dtype)})")
            lines.append("for agent in range(self._count):")
            lines.append(f"{INDENT}{name}[agent] = {tidy(tr.code(state.init))}")
            continue
        shape = None
        if state.shape:
            dims = [tr.code(c) for c in state.shape]
            shape = f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
        value = _state_value(element, tr.code(state.init), state.init.type, shape)
        lines.append(f"{name} = {tidy(value)}")
    return lines


def _rejoin_lines(model: MultiAgentModel, tr: Translator) -> list[str]:
    """After a step (not at the time limit): agents that have left and whose role's
    `rejoin.when` holds come back under their next name, with their per-agent state set
    from its `init` again, and get an observation, zero reward and unset flags."""

    def body(role: RoleModel) -> list[str]:
        if role.rejoin_when is None:
            return ["continue"]
        return [f"if not ({tidy(tr.code(role.rejoin_when))}):", f"{INDENT}continue"]

    lines = [
        "if not truncated:",
        f"{INDENT}for agent in range(self._count):",
        f"{INDENT * 2}if self._live[agent] or self._life[agent] + 1 >= len(self._names[agent]):",
        f"{INDENT * 3}continue",
    ]
    lines += [INDENT * 2 + line for line in _roles_dispatch(model, body)]
    lines += [
        f"{INDENT * 2}self._life[agent] += 1",
        f"{INDENT * 2}_name = self._names[agent][self._life[agent]]",
        f"{INDENT * 2}self._current[agent] = _name",
        f"{INDENT * 2}self._live[agent] = True",
    ]
    for name, state in model.state.items():
        if name in model.per_agent:
            lines.append(f"{INDENT * 2}{name}[agent] = {tidy(tr.code(state.init))}")

    def info(role: RoleModel) -> list[str]:
        return [f"info = {_info_code(role, tr, role.reset_info)}"]

    lines += [INDENT * 2 + line for line in _roles_dispatch(model, info)]
    lines += [
        f"{INDENT * 2}rewards[_name] = 0.0",
        f"{INDENT * 2}terminations[_name] = False",
        f"{INDENT * 2}truncations[_name] = False",
        f"{INDENT * 2}infos[_name] = info",
        f"{INDENT * 2}observations[_name] = self._observe(agent)",
    ]
    return lines


def _store_state(model: MultiAgentModel) -> list[str]:
    lines = [f"self.{name} = {name}" for name in model.state]
    if model.state:
        args = ", ".join(f"{n}={n}" for n in model.state)
        lines.append("if self.check_state:")
        lines.append(f"{INDENT}_rt.check_finite(ID, {args})")
    return lines


def _info_code(role: RoleModel, tr: Translator, keys: list[str]) -> str:
    items = ", ".join(f"{literal(k)}: {tr.info_value(role.info[k])}" for k in keys)
    return tidy("{" + items + "}")


def _outcome(model: MultiAgentModel, tr: Translator) -> list[str]:
    """Per agent (in a loop setting `agent`): terminated, reward and info."""

    def body(role: RoleModel) -> list[str]:
        terminated = tidy(tr.code(role.terminated))
        if not isinstance(role.terminated.expr, ast.Constant):
            terminated = f"bool({terminated})"
        reward = tidy(tr.code(role.reward))
        if not (
            isinstance(role.reward.expr, ast.Constant) and isinstance(role.reward.expr.value, float)
        ):
            reward = f"float({reward})"
        return [
            f"terminated = {terminated}",
            f"reward = {reward}",
            f"info = {_info_code(role, tr, list(role.info))}",
        ]

    return _roles_dispatch(model, body)


def _reset_infos(model: MultiAgentModel, tr: Translator) -> list[str]:
    def body(role: RoleModel) -> list[str]:
        return [f"info = {_info_code(role, tr, role.reset_info)}"]

    lines = ["infos = {}", "for agent in range(self._count):"]
    lines += [INDENT + line for line in _roles_dispatch(model, body)]
    lines.append(f"{INDENT}infos[self._current[agent]] = info")
    return lines


def _act(model: MultiAgentModel, tr: Translator) -> list[str]:
    def body(role: RoleModel) -> list[str]:
        return tidy_block(tr.block(role.act.stmts)) or ["pass"]

    return _roles_dispatch(model, body)


def _checked_action(model: MultiAgentModel, source: str) -> str:
    mask = (
        ", self._action_mask(agent)"
        if any(role.action_mask is not None for role in model.roles)
        else ""
    )
    return (
        f"action = _ma.checked_action(self.action_spaces[_name], {source}, "
        f"self.invalid_action, _name{mask})"
    )


def _render_lines(model: MultiAgentModel, uses: set[str]) -> list[str]:
    spec = model.spec
    lines = [
        "if self.render_mode is None:",
        f'{INDENT}gym.logger.warn("render() called without a render_mode")',
        f"{INDENT}return None",
    ]
    if model.ansi is not None:
        names = [n for n in model.params] + list(model.lets) + list(model.state)
        context = ", ".join(f"{literal(n)}: self.{n}" for n in names)
        context += (", " if context else "") + '"elapsed_steps": self._elapsed_steps'
        context += ', "num_agents": self._count'
        for name in list(model.labels) + list(model.constants):
            context += f", {literal(name)}: {name}"
        lines.append('if self.render_mode in ("ansi", "human"):')
        lines.append(f"{INDENT}_text = ANSI_TEMPLATE.render({{{context}}})")
        if spec.render is not None and spec.render.human:
            lines.append(f'{INDENT}if self.render_mode == "human":')
            lines.append(f"{INDENT * 2}print(_text)")
            lines.append(f"{INDENT * 2}return None")
        lines.append(f"{INDENT}return _text")
    if model.rgb_array is not None:
        tr = MultiAgentTranslator(model, state_on_self=True)  # type: ignore[arg-type]
        tr.uses = uses
        lines.append('if self.render_mode == "rgb_array":')
        code = model.rgb_array
        if code.expr is not None:
            lines.append(
                f"{INDENT}return np.ascontiguousarray({tidy(tr.code(code))}, dtype=np.uint8)"
            )
        else:
            lines.extend(INDENT + line for line in tidy_block(tr.block(code.stmts)))
            lines.append(f"{INDENT}return np.ascontiguousarray(frame, dtype=np.uint8)")
    lines.append("return None")
    return lines


def _render_modes(model: MultiAgentModel) -> list[str]:
    render = model.spec.render
    modes = []
    if render is not None:
        if render.human:
            modes.append("human")
        if render.ansi is not None:
            modes.append("ansi")
        if render.rgb_array is not None:
            modes.append("rgb_array")
    return modes


def _docstring(model: MultiAgentModel, source_name: str) -> str:
    spec = model.spec
    kind = "turn-based (AEC)" if model.turn_based else "simultaneous (Parallel)"
    lines = _wrap(spec.description or f"The {spec.id} environment.")
    lines += ["", *_wrap(f"A {kind} PettingZoo env generated by envgen from {source_name}.")]
    lines += ["", "## Agents", ""]
    for role in model.roles:
        who = ", ".join(role.names) if role.names is not None else f"{role.prefix}_0, ..."
        lines += _wrap(f"{role.name + ': ' if role.name else ''}{who}", indent="- ", hang="  ")
    if model.params:
        lines += ["", "## Parameters", ""]
        for name, param in model.params.items():
            text = f"{name} ({param.param_type}, default {param.default!r}): {param.doc}"
            lines += _wrap(text.rstrip(": "), indent="- ", hang="  ")
    body = "\n".join(INDENT + doc_text(line) if line else "" for line in lines)
    return f'{INDENT}"""{doc_text(spec.id)}\n\n{body}\n{INDENT}"""'


def emit_multiagent(
    model: MultiAgentModel, source_name: str | None = None, *, formatted: bool = True
) -> EmittedModule:
    """The PettingZoo module for one checked multi-agent spec."""
    spec = model.spec
    source_name = source_name or model.document.name
    tr = MultiAgentTranslator(model)  # type: ignore[arg-type]
    otr = MultiAgentTranslator(model, state_on_self=True)  # type: ignore[arg-type]
    has_mask = any(role.action_mask is not None for role in model.roles)

    # __init__: params, agents, let values, spaces.
    init = param_lines(model, tr)  # type: ignore[arg-type]
    at = next(i for i, line in enumerate(init) if line.startswith("self.check_state"))
    init[at + 1 : at + 1] = _agent_lines(model, tr)
    init = [line.replace("self.num_agents", "self._count") for line in init]
    # Code a role inherits is checked once per role: its shape checks would repeat.
    seen: set[str] = set()
    init = [
        line
        for line in init
        if not line.startswith("_rt.check_shape(") or not (line in seen or seen.add(line))
    ]
    init += _space_lines(model, tr)
    if "max_cycles" not in model.params:
        init.append("self.max_cycles = None")
    if model.global_space is not None:
        init.append(f"self.state_space = {tidy(_space_code(model.global_space, tr))}")
    init.append("_rt.check_render_mode(self.metadata, render_mode)")
    init.append("self.render_mode = render_mode")
    init.append("self.np_random, self.np_random_seed = seeding.np_random(None)")
    for name in model.state:
        init.append(f"self.{name} = None")
    init.append("self.agents = []")
    init.append("self._live = np.zeros(self._count, dtype=bool)")
    if model.rejoins:
        init.append("self._life = [0] * self._count")
    init.append("self._elapsed_steps = 0")

    # reset
    reset = [
        "if seed is not None:",
        f"{INDENT}self.np_random, self.np_random_seed = seeding.np_random(seed)",
        "self._current = self.possible_agents[: self._count]",
        "self.agents = list(self._current)",
        "self._live = np.ones(self._count, dtype=bool)",
        "self._elapsed_steps = 0",
    ]
    if model.rejoins:
        reset.append("self._life = [0] * self._count")
    reset += _state_init(model, tr)
    reset += tidy_block(tr.block(model.reset.stmts))
    reset += _store_state(model)
    reset += _reset_infos(model, tr)

    truncated = (
        "self._elapsed_steps >= self.max_cycles" if "max_cycles" in model.params else "False"
    )
    load = [f"{name} = self.{name}" for name in model.state]
    step: list[str] = []
    if not model.turn_based:
        reset.append("return {_n: self._observe(_i) for _i, _n in enumerate(self._current)}, infos")
        step += [
            "_acting = _ma.acting_agents(ID, self._current, self._live, actions)",
            "_checked = {}",
            "for agent in _acting:",
            f"{INDENT}_name = self._current[agent]",
            f"{INDENT}{_checked_action(model, 'actions[_name]')}",
            f"{INDENT}_checked[agent] = action",
            "self._elapsed_steps += 1",
            *load,
            "for agent in _acting:",
            f"{INDENT}action = _checked[agent]",
        ]
        step += [INDENT + line for line in _act(model, tr)]
        step += tidy_block(tr.block(model.step.stmts))
        step += _store_state(model)
        step += [
            "rewards, terminations, truncations, infos = {}, {}, {}, {}",
            f"truncated = {truncated}",
            "for agent in _acting:",
            f"{INDENT}_name = self._current[agent]",
        ]
        step += [INDENT + line for line in _outcome(model, tr)]
        step += [
            f"{INDENT}rewards[_name] = reward",
            f"{INDENT}terminations[_name] = terminated",
            f"{INDENT}truncations[_name] = truncated",
            f"{INDENT}infos[_name] = info",
            "observations = {self._current[_a]: self._observe(_a) for _a in _acting}",
            "for agent in _acting:",
            f"{INDENT}_name = self._current[agent]",
            f"{INDENT}if terminations[_name] or truncations[_name]:",
            f"{INDENT * 2}self._live[agent] = False",
        ]
        if model.rejoins:
            step += _rejoin_lines(model, tr)
        step += [
            "self.agents = [_n for _i, _n in enumerate(self._current) if self._live[_i]]",
        ]
        if spec.render is not None and spec.render.human:
            step += ['if self.render_mode == "human":', f"{INDENT}self.render()"]
        step.append("return observations, rewards, terminations, truncations, infos")
    else:
        assert model.turns_first is not None and model.turns_next is not None
        reset += [
            "self.rewards = dict.fromkeys(self.agents, 0.0)",
            "self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)",
            "self.terminations = dict.fromkeys(self.agents, False)",
            "self.truncations = dict.fromkeys(self.agents, False)",
            "self.infos = infos",
            f"_first = int({tidy(otr.code(model.turns_first))})",
            "self.agent_selection = self._current[_ma.next_live(self._live, _first)]",
        ]
        step += [
            "_name = self.agent_selection",
            "if self.terminations[_name] or self.truncations[_name]:",
            f"{INDENT}self._was_dead_step(action)",
            f"{INDENT}return",
            "agent = self._index[_name]",
            _checked_action(model, "action"),
            "self._cumulative_rewards[_name] = 0.0",
            "self._elapsed_steps += 1",
            *load,
        ]
        step += _act(model, tr)
        step += tidy_block(tr.block(model.step.stmts))
        step += _store_state(model)
        step += [
            f"_following = int({tidy(tr.code(model.turns_next))})",
            "self._clear_rewards()",
            f"truncated = {truncated}",
            "for agent in range(self._count):",
            f"{INDENT}if not self._live[agent]:",
            f"{INDENT * 2}continue",
            f"{INDENT}_name = self._current[agent]",
        ]
        step += [INDENT + line for line in _outcome(model, tr)]
        step += [
            f"{INDENT}self.rewards[_name] = reward",
            f"{INDENT}self.terminations[_name] = terminated",
            f"{INDENT}self.truncations[_name] = truncated",
            f"{INDENT}self.infos[_name] = info",
            "for agent in range(self._count):",
            # An agent that left earlier has no entry any more (its dead step removed it).
            f"{INDENT}if not self._live[agent]:",
            f"{INDENT * 2}continue",
            f"{INDENT}_name = self._current[agent]",
            f"{INDENT}if self.terminations[_name] or self.truncations[_name]:",
            f"{INDENT * 2}self._live[agent] = False",
            "self.agent_selection = self._current[_ma.next_live(self._live, _following)]",
            "self._accumulate_rewards()",
            "self._deads_step_first()",
        ]
        if spec.render is not None and spec.render.human:
            step += ['if self.render_mode == "human":', f"{INDENT}self.render()"]

    methods = [
        _indent(
            [
                "def observation_space(self, agent: str) -> spaces.Space:",
                f"{INDENT}return self.observation_spaces[agent]",
            ],
            1,
        ),
        _indent(
            [
                "def action_space(self, agent: str) -> spaces.Space:",
                f"{INDENT}return self.action_spaces[agent]",
            ],
            1,
        ),
        _indent(_observe_method(model, otr), 1),
    ]
    if has_mask:
        methods.append(_indent(_mask_method(model, otr), 1))
    if model.turn_based:
        methods.append(
            _indent(
                [
                    "def observe(self, agent: str) -> Any:",
                    f"{INDENT}return self._observe(self._index[agent])",
                ],
                1,
            )
        )
    if model.global_value is not None:
        value = tidy(_observation_code(model.global_value, otr, "self.state_space"))
        methods.append(_indent(["def state(self) -> Any:", f"{INDENT}return {value}"], 1))
    for name, fn in model.functions.items():
        body = tidy_block(tr.block(fn.body.stmts))
        lines = [f"def _{name}(self, {', '.join(fn.args)}) -> Any:".replace("(self, )", "(self)")]
        lines += [INDENT + line for line in body]
        lines.append(f"{INDENT}return {tidy(tr.code(fn.returns))}")
        methods.append(_indent(lines, 1))

    render = _render_lines(model, tr.uses)
    tr.uses |= otr.uses

    modes = _render_modes(model)
    fps = spec.render.fps if spec.render is not None else 30
    metadata = (
        f'{{"name": {literal(model.module_name)}, "render_modes": {literal(modes)}, '
        f'"render_fps": {fps}, "is_parallelizable": {not model.turn_based}}}'
    )

    module_lines = [f"ID = {literal(spec.id)}"]
    for label, value in model.labels.items():
        module_lines.append(f"{label} = {value}")
    for name, value in model.constants.items():
        module_lines.append(f"{name} = {_constant(value)}")
    module_lines.append("PARAMS = (")
    for name, param in model.params.items():
        fields = [literal(name), literal(param.param_type), literal(param.default)]
        extras = []
        for key in ("ge", "gt", "le", "lt"):
            if getattr(param, key) is not None:
                extras.append(f"{key}={literal(getattr(param, key))}")
        if param.choices is not None:
            extras.append(f"choices={literal(tuple(param.choices))}")
        if param.nullable:
            extras.append("nullable=True")
        module_lines.append(f"    _rt.Param({', '.join(fields + extras)}),")
    module_lines.append(")")
    if model.ansi is not None:
        module_lines.append(f"ANSI_TEMPLATE = _rt.ansi_template({literal(model.ansi)})")

    imports = []
    if "math" in tr.uses:
        imports.append("import math")
    imports += [
        "from collections.abc import Mapping",
        "from typing import Any",
        "",
        "import gymnasium as gym",
        "import numpy as np",
        "from gymnasium import spaces",
        "from gymnasium.utils import seeding",
        "from pettingzoo import AECEnv"
        if model.turn_based
        else "from pettingzoo import AECEnv, ParallelEnv",
        "from pettingzoo.utils import conversions, wrappers",
        "",
    ]
    if "draw" in tr.uses:
        imports.append("from envgen.runtime import draw as _draw")
    if "numeric" in tr.uses:
        imports.append("from envgen.runtime import numeric as _num")
    imports += ["from envgen import runtime as _rt", "from envgen.runtime import multiagent as _ma"]

    header = "\n".join(
        [
            f'"""{doc_text(spec.id)}: a PettingZoo env generated by envgen."""',
            "",
            f"# Source: {source_name!r}",
            f"# sha256: {model.source_hash}",
            "# Generated by envgen; do not edit. Regenerate with `envgen build`.",
        ]
    )
    template = "aec_env.py.jinja" if model.turn_based else "parallel_env.py.jinja"
    source = _TEMPLATES.get_template(template).render(
        header=header,
        imports=imports,
        module_lines=module_lines,
        class_name=model.class_name,
        docstring=_docstring(model, source_name),
        metadata=metadata,
        init=_indent(init),
        reset=_indent(reset),
        step=_indent(step),
        render=_indent(render),
        methods=methods,
    )
    if not formatted:
        return EmittedModule(model.module_name, source)
    return EmittedModule(model.module_name, format_source(source, model.module_name))
