"""Flow-sensitive state types: `step` typed once per set of state types at its entry.

The single env holds scalar state as whatever was stored last: a reset may store a NumPy
float64 and a step a float32 (MountainCarContinuous, as Gymnasium does). The types the
step computes in then depend on where the state came from. The step is checked again with
each state variable and local typed by what it holds at each point, from the state's types
after a reset and, where it ends with others, once more from its types after that first
step: at most two entries, each a `StepVariant` with its own node types. Where the second
does not end with the types it entered with, the types do not settle within two steps
(`step_types_settle` is False), even if they would settle later (`b = a; a = float32(...)`
settles after the third step); no further entry is typed, as the backends print at most
two variants (the first step after a reset, and every later one).
"""

from __future__ import annotations

from envgen.compiler._checker import Checker, Scope
from envgen.compiler.ir import Code, StateModel, StepVariant, Symbol
from envgen.compiler.types import BOOL, T


def step_variants(
    checker: Checker,
    states: dict[str, StateModel],
    reset: Code,
    reset_scope: Scope,
    step: Code,
    step_parents: Scope,
    after: list[tuple[Code, bool]],
) -> tuple[list[StepVariant], bool]:
    """The step's variants (none when the declared types hold throughout) and whether
    the last one's end types are its entry types.

    `reset_scope` and `step_parents` are the scopes the reset block and the step block
    were checked in (their locals' parents); `after` is terminated, reward and the step's
    info, in that order, each with whether the `terminated` symbol is bound after it (it
    is after terminated): they are checked with the step's locals and the types it ends
    with, as the analysis checked them."""
    # Scalar float state is the only state whose run-time type may differ from its
    # declared one: without any, the declared types hold throughout.
    floats = [n for n, s in states.items() if s.type.is_scalar and s.type.kind == "float"]
    if not floats:
        return [], True
    declared = {name: state.type for name, state in states.items()}

    def key(types: dict[str, T]) -> tuple:
        """The run-time (dtype, weak) of each scalar float state variable, comparable."""
        return tuple((types[name].dtype, types[name].weak) for name in floats)

    def entering(held: dict[str, T]) -> dict[str, T]:
        """The declared types, with each scalar float's taken from `held`."""
        return {**declared, **{name: held.get(name, declared[name]) for name in floats}}

    with checker.flowing(declared):
        checker._path = reset.path
        checker._allow_options = True
        checker.block(reset.stmts, Scope({}, reset_scope), set(declared), declared, {})
        reset_end = entering(dict(checker._flow or {}))

    def typed(entry: dict[str, T]) -> StepVariant:
        with checker.flowing(entry) as tables:
            checker._path = step.path
            scope = Scope({}, step_parents)
            defined = checker.block(step.stmts, scope, set(declared), declared, {})
            names = Scope(dict(scope.symbols), step_parents)
            for code, binds_terminated in after:
                assert code.expr is not None
                checker._path = code.path
                checker.expr(code.expr, names, defined)
                if binds_terminated:
                    names.symbols["terminated"] = Symbol("terminated", "special", BOOL)
            held = checker._flow or {}
            end = {name: held.get(name, entry[name]) for name in states}
        return StepVariant(dict(entry), end, tables.types, tables.operands, tables.held)

    fresh = typed(reset_end)
    if key(fresh.end) == key(reset_end) == key(declared):
        return [], True
    if key(fresh.end) == key(reset_end):
        return [fresh], True
    later_entry = entering(fresh.end)
    later = typed(later_entry)
    return [fresh, later], key(later.end) == key(later_entry)
