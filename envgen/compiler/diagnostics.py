"""Errors as values: every problem the compiler finds is a `Diagnostic` with a location.

Stages collect diagnostics instead of raising at the first problem, so that a user sees
everything that is wrong with a spec in one run (as Pydantic and sqlglot do).
"""

from __future__ import annotations

import difflib
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file; `line` and `column` are 1-based."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where it is, what it is, and what to do about it."""

    location: Location
    message: str
    hint: str = ""
    code: str = "error"

    def format(self) -> str:
        text = f"{self.location}: error[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


@dataclass
class DiagnosticError(Exception):
    """Raised by a stage that cannot hand a usable result to the next one."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or an empty string when none is close."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else ""


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when possible."""
    try:  # as given, without following symlinks (a dangling link keeps its own name)
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        pass
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return str(path)


#: Unicode categories that are not visible text: controls (ESC...), format characters
#: (bidi overrides such as U+202E and U+2066, zero-width characters), lone surrogates
#: (from undecodable file names or "\ud800" escapes), line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printable(text: str, keep: str = "\n\t") -> str:
    """`text` with every invisible or terminal-controlling character spelled as an escape
    (`\\x1b`, `\\u202e`, `\\udcff`), except those in `keep`.

    Whatever a spec or a file name holds, printing the result cannot move the cursor,
    change the terminal title, reorder the line (trojan source), or fail to encode.
    """
    out = []
    for ch in text:
        if ch in keep or unicodedata.category(ch) not in _INVISIBLE:
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "".join(out)


def markup_safe(text: object, keep: str = "\n\t") -> str:
    """Text for a Rich console: `printable`, and no Rich markup either."""
    from rich.markup import escape

    return escape(printable(str(text), keep))
