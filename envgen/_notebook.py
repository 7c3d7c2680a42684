"""envgen in a notebook: a spec in a cell becomes an env, without files; episodes show inline.

- :func:`make` (``envgen.make``): YAML text, a spec file or a registered id -> a Gymnasium env
  (the spec is compiled in memory and its id registered, so ``gym.make(id)`` works too);
- :func:`check` (``envgen.check``): compile without making; a :class:`Report` that a notebook
  shows as a table of located problems;
- :func:`show_episode` (``envgen.show_episode``): play an episode and show it inline, an
  animated GIF for ``rgb_array`` and the frames as text for ``ansi``;
- ``%load_ext envgen`` adds the ``%%envgen`` cell magic and shows a :class:`SpecError` as its
  diagnostics alone, without a traceback.

Nothing is written to the working folder: a spec given as text is compiled from a private
temporary folder (removed at once), and the compiled modules are imported from another one,
as ``envgen.build.env_ids_from_specs`` does for ``envgen fuzz``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import os
import shlex
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envgen.compiler.diagnostics import Diagnostic, DiagnosticError, Location

__all__ = ["Episode", "Report", "SpecError", "check", "make", "show_episode"]

#: The file name diagnostics give a spec passed as text (a notebook cell).
TEXT_NAME = "<spec>"

#: Spec text (sha256) -> the ids it registered in this process: a cell run again, or an
#: RLlib env creator called once per env, compiles only once.
_COMPILED: dict[str, list[str]] = {}


class SpecError(DiagnosticError):
    """A spec that does not build. ``str()`` lists every problem with its place, the line
    and a caret; a notebook shows it as HTML (with ``%load_ext envgen``, without the
    traceback)."""

    def __init__(self, diagnostics: list[Diagnostic], sources: Mapping[str, str]) -> None:
        super().__init__(list(diagnostics))
        self.sources = dict(sources)

    def __str__(self) -> str:
        return _format_text(self.diagnostics, self.sources)

    def _repr_html_(self) -> str:
        return _format_html(self.diagnostics, self.sources)


@dataclass
class Report:
    """What :func:`check` found: the ids a spec defines, or every problem in it."""

    env_ids: list[str]
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    def __repr__(self) -> str:
        if self.ok:
            return "ok: " + ", ".join(self.env_ids)
        return _format_text(self.diagnostics, self.sources)

    def _repr_html_(self) -> str:
        if self.ok:
            ids = ", ".join(f"<code>{html.escape(i)}</code>" for i in self.env_ids)
            return f"<div><b style='color:#080'>ok</b>: {ids}</div>"
        return _format_html(self.diagnostics, self.sources)


# --- compiling ------------------------------------------------------------------------


def _is_text(spec: str) -> bool:
    return "\n" in spec or spec.lstrip().startswith(("id:", "{", "#"))


def _compile(spec: str | os.PathLike[str]) -> list[str]:
    """Compile a spec (text or a file) in memory and register its envs; their ids.

    Raises :class:`SpecError` with located diagnostics."""
    __tracebackhide__ = True  # IPython hides this frame
    from envgen.build import env_ids_from_specs

    if isinstance(spec, str) and _is_text(spec):
        key = hashlib.sha256(spec.encode("utf-8")).hexdigest()
        ids = _COMPILED.get(key)
        if ids is not None and _all_registered(ids):
            return ids
        with tempfile.TemporaryDirectory(prefix="envgen-spec-") as folder:
            path = Path(folder) / "spec.yaml"
            path.write_text(spec, encoding="utf-8")
            try:
                ids = env_ids_from_specs([path])
            except DiagnosticError as exc:
                raise SpecError(_renamed(exc.diagnostics, path), {TEXT_NAME: spec}) from None
        _COMPILED[key] = ids
        return ids
    path = Path(spec)
    try:
        return env_ids_from_specs([path])
    except DiagnosticError as exc:
        sources = {}
        try:
            sources[str(exc.diagnostics[0].location.file)] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, IndexError):
            pass
        raise SpecError(exc.diagnostics, sources) from None


def _all_registered(ids: list[str]) -> bool:
    import gymnasium as gym

    return all(i in gym.registry for i in ids)


def _renamed(diagnostics: list[Diagnostic], path: Path) -> list[Diagnostic]:
    """Diagnostics about the temporary file of a text spec, named `<spec>` instead."""
    from envgen.compiler.diagnostics import display_path

    names = {str(path), display_path(path), str(path.resolve())}
    return [
        Diagnostic(
            Location(TEXT_NAME, d.location.line, d.location.column),
            d.message.replace(str(path), TEXT_NAME),
            d.hint,
            d.code,
        )
        if d.location.file in names
        else d
        for d in diagnostics
    ]


def check(spec: str | os.PathLike[str]) -> Report:
    """Compile a spec (YAML text or a file) and register its envs; a :class:`Report` of the
    ids, or of every problem (shown as a table in a notebook). Never raises for a bad spec."""
    try:
        ids = _compile(spec)
    except SpecError as exc:
        return Report([], exc.diagnostics, exc.sources)
    return Report(ids, [])


def make(spec: str | os.PathLike[str], **kwargs: Any) -> Any:
    """A Gymnasium env from a spec: YAML text (a notebook cell), a spec file, or an id.

    ``kwargs`` are the env's params and ``gym.make``'s own (``render_mode``,
    ``max_episode_steps``, ...): ``envgen.make(SPEC, size=7, render_mode="ansi")``. The
    spec's id is registered, so ``gym.make(id)`` and ``gym.make_vec(id, n)`` work afterwards.
    Nothing is written to the working folder.

    Raises :class:`SpecError` (every problem, with line and column in the text) for a spec
    that does not build, and ``envgen.runtime.InvalidParam`` (the param and its constraint)
    for a param the env refuses.
    """
    __tracebackhide__ = True
    import gymnasium as gym

    from envgen.runtime import InvalidParam

    if isinstance(spec, str) and not _is_text(spec) and not Path(spec).exists():
        env_id = spec  # a registered id (envgen's generated package is imported for it)
        if ":" not in env_id and env_id not in gym.registry:
            try:
                import generated  # noqa: F401 - registers envgen's bundled envs
            except ImportError:
                pass
    else:
        ids = _compile(spec)
        if len(ids) != 1:
            raise ValueError(f"{spec} defines {len(ids)} envs; make one of {ids} by id")
        env_id = ids[0]
    try:
        return gym.make(env_id, **kwargs)
    except InvalidParam as exc:
        raise InvalidParam(str(exc)) from None  # the message alone, not Gymnasium's frames
    except gym.error.Error as exc:
        raise type(exc)(str(exc)) from None


# --- showing problems -------------------------------------------------------------------


def _source_line(sources: Mapping[str, str], location: Location) -> str | None:
    text = sources.get(location.file)
    if text is None:
        try:
            text = Path(location.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    lines = text.splitlines()
    if 1 <= location.line <= len(lines):
        return lines[location.line - 1]
    return None


def _format_text(diagnostics: list[Diagnostic], sources: Mapping[str, str]) -> str:
    out = []
    for d in sorted(diagnostics, key=lambda d: d.location):
        out.append(f"{d.location}: error[{d.code}]: {d.message}")
        line = _source_line(sources, d.location)
        if line is not None:
            out.append(f"    {line.rstrip()}")
            out.append("    " + " " * max(d.location.column - 1, 0) + "^")
        if d.hint:
            out.append(f"  hint: {d.hint}")
    count = len(diagnostics)
    out.append(f"{count} error{'s' if count != 1 else ''}")
    return "\n".join(out)


def _format_html(diagnostics: list[Diagnostic], sources: Mapping[str, str]) -> str:
    rows = []
    for d in sorted(diagnostics, key=lambda d: d.location):
        line = _source_line(sources, d.location)
        code = ""
        if line is not None:
            caret = " " * max(d.location.column - 1, 0) + "^"
            code = (
                "<pre style='margin:2px 0 2px 1em'>"
                f"{html.escape(line.rstrip())}\n<span style='color:#c00'>{caret}</span></pre>"
            )
        hint = f"<div style='margin-left:1em'><i>hint</i>: {html.escape(d.hint)}</div>"
        rows.append(
            "<div style='margin-bottom:6px'>"
            f"<code>{html.escape(str(d.location))}</code>: "
            f"<b style='color:#c00'>error[{html.escape(d.code)}]</b>: {html.escape(d.message)}"
            f"{code}{hint if d.hint else ''}</div>"
        )
    count = len(diagnostics)
    rows.append(f"<div><b style='color:#c00'>{count} error{'s' if count != 1 else ''}</b></div>")
    return "<div class='envgen-diagnostics'>" + "".join(rows) + "</div>"


# --- episodes ---------------------------------------------------------------------------


@dataclass
class Episode:
    """A played episode, shown inline by a notebook: an animated GIF of ``rgb_array``
    frames, or the ``ansi`` frames as text. ``frames``, ``rewards``, ``total`` and ``end``
    hold what happened; :meth:`save` writes the GIF."""

    env_id: str
    render_mode: str
    frames: list[Any]
    rewards: list[float]
    end: str  # "terminated", "truncated" or "stopped after N steps"
    fps: float = 30.0
    max_text_frames: int = 200

    @property
    def steps(self) -> int:
        return len(self.rewards)

    @property
    def total(self) -> float:
        return float(sum(self.rewards))

    def summary(self) -> str:
        return f"{self.env_id}: {self.steps} steps, return {self.total:.4g}, {self.end}"

    def gif(self) -> bytes:
        """The rgb_array frames as an animated GIF (Pillow)."""
        import numpy as np
        from PIL import Image

        if self.render_mode != "rgb_array":
            raise ValueError(f"an {self.render_mode} episode has no pictures")
        images = [
            Image.fromarray(np.ascontiguousarray(f[..., :3], dtype=np.uint8)).quantize(
                256, dither=0
            )
            for f in self.frames
        ]
        buffer = io.BytesIO()
        images[0].save(
            buffer,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=max(20, round(1000 / max(self.fps, 1))),
            loop=0,
        )
        return buffer.getvalue()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the episode: a GIF for rgb_array, the text frames for ansi."""
        path = Path(path)
        if self.render_mode == "rgb_array":
            path.write_bytes(self.gif())
        else:
            path.write_text(self.text(), encoding="utf-8")
        return path

    def text(self) -> str:
        shown = self.frames[: self.max_text_frames]
        parts = [f"step {i}\n{str(frame).rstrip()}" for i, frame in enumerate(shown)]
        if len(self.frames) > len(shown):
            parts.append(f"... {len(self.frames) - len(shown)} more frames")
        return "\n".join(parts)

    def __repr__(self) -> str:
        if self.render_mode == "ansi":
            return self.text() + "\n" + self.summary()
        return f"<Episode {self.summary()}, {len(self.frames)} frames>"

    def _repr_html_(self) -> str:
        caption = f"<div><small>{html.escape(self.summary())}</small></div>"
        if self.render_mode == "rgb_array":
            data = base64.b64encode(self.gif()).decode("ascii")
            return f"<div><img src='data:image/gif;base64,{data}'/>{caption}</div>"
        text = html.escape(_strip_ansi(self.text()))
        return (
            "<div><pre style='max-height:24em;overflow:auto;line-height:1.2'>"
            f"{text}</pre>{caption}</div>"
        )


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _render_ready(env: Any) -> Any:
    """`env`, or the same env made again with a render mode it offers (rgb_array first)."""
    import gymnasium as gym

    if getattr(env, "render_mode", None) in ("rgb_array", "ansi"):
        return env
    modes = list(env.unwrapped.metadata.get("render_modes", []))
    mode = next((m for m in ("rgb_array", "ansi") if m in modes), None)
    if mode is None or env.spec is None:
        raise ValueError(
            f"{env} has render_mode={env.render_mode!r} and offers {modes or 'no'} render modes; "
            "show_episode needs an env made with render_mode='rgb_array' or 'ansi'"
        )
    return gym.make(env.spec, render_mode=mode)


def show_episode(
    env: Any,
    policy: Callable[[Any], Any] | None = None,
    *,
    seed: int | None = 0,
    max_steps: int = 1000,
    fps: float | None = None,
    **kwargs: Any,
) -> Episode:
    """Play one episode and return it for inline display (the last value of a cell).

    ``env`` is an env (made with ``render_mode="rgb_array"`` or ``"ansi"``; one made without
    is made again from its spec with a mode it offers), or a spec / id for :func:`make`
    (``kwargs`` are then its params). ``policy(observation) -> action``; default: random
    actions, seeded with ``seed``. Stops at the end of the episode or after ``max_steps``.
    """
    __tracebackhide__ = True
    if isinstance(env, (str, os.PathLike)):
        probe = make(env, **kwargs)
        env = _render_ready(probe)
        if env is not probe:
            probe.close()
    else:
        env = _render_ready(env)
    if policy is None:
        env.action_space.seed(seed)

        def policy(_obs: Any) -> Any:
            return env.action_space.sample()

    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    rewards: list[float] = []
    end = f"stopped after {max_steps} steps"
    for _ in range(max_steps):
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        rewards.append(float(reward))
        frames.append(env.render())
        if terminated or truncated:
            end = "terminated" if terminated else "truncated"
            break
    spec_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    rate = fps or env.unwrapped.metadata.get("render_fps") or 30
    return Episode(spec_id, env.render_mode, frames, rewards, end, float(rate))


# --- IPython ----------------------------------------------------------------------------


def _envgen_cell(line: str, cell: str) -> Any:
    """``%%envgen [NAME] [-p PARAM=VALUE ...]``: compile and register the spec in the cell;
    with NAME, also bind ``NAME = gym.make(id, **params)`` in the notebook."""
    __tracebackhide__ = True
    from IPython import get_ipython

    from envgen.cli._failure import Failure
    from envgen.cli._params import read_params

    words = shlex.split(line)
    name, pairs = None, []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-p", "--param") and i + 1 < len(words):
            pairs.append(words[i + 1])
            i += 2
            continue
        if word.startswith("-p") and len(word) > 2:
            pairs.append(word[2:])
        elif word.isidentifier() and name is None:
            name = word
        else:
            raise ValueError(f"%%envgen: cannot read {word!r}; usage: %%envgen [NAME] [-p K=V]")
        i += 1
    try:
        params = read_params(pairs).values
    except Failure as failure:
        raise ValueError(f"%%envgen: {failure.message}") from None
    ids = _compile(cell)
    if name is not None:
        get_ipython().user_ns[name] = make(cell, **params)
    return Report(ids, [])


def _show_spec_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset=None):
    """IPython's handler for :class:`SpecError`: the located diagnostics (each with its
    line and a caret) as the cell's error, instead of a traceback."""
    # IPython leaves showing the error to a custom handler (it drops what one returns when
    # the error comes from a cell); `_showtraceback` is how it shows any error, and in a
    # kernel it sends the error message that front ends (and nbclient) display.
    shell._showtraceback(etype, value, [f"SpecError: the spec does not build\n{value}"])


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext envgen``: the ``%%envgen`` cell magic, and spec errors without tracebacks."""
    ipython.register_magic_function(_envgen_cell, magic_kind="cell", magic_name="envgen")
    ipython.set_custom_exc((SpecError,), _show_spec_error)
