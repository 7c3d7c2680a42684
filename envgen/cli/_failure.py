"""The one exception the developer tools raise: a problem to report in one line."""

from __future__ import annotations


class Failure(Exception):
    """A problem to report in one line (plus an optional hint) and exit with `code`.

    Exit code 2 is a usage error (a missing file, an unknown env id, a bad option), 1 a
    failure of the command itself. `envgen.cli._commands` prints it instead of a traceback.
    """

    def __init__(self, message: str, hint: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
