"""Stage 1: read YAML into plain Python data, remembering where every value came from.

PyYAML's composer gives us a node graph with source marks; we convert it ourselves so
that we can (a) record a position for every path, (b) refuse duplicate keys, and
(c) bound the work an alias bomb or a deeply nested document can cause.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from envgen._output import FileTooLarge, NotRegularFile, read_regular
from envgen.compiler._language import fits_int64
from envgen.compiler.diagnostics import Diagnostic, DiagnosticError, Location, display_path

#: Most nodes one document may expand to; aliases count each time they are used.
MAX_NODES = 200_000
#: Most characters of scalar text one document may expand to (aliases count each time
#: they are used): a 200 kB string aliased 2000 times is 400 MB of text for later stages.
MAX_EXPANDED_CHARS = 4_000_000
#: Deepest nesting accepted; real specs nest a handful of levels.
MAX_DEPTH = 64
#: Largest spec file accepted, in bytes.
MAX_BYTES = 2_000_000

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so `on`, `off`, `yes` and `no`
    stay strings (they are common names for state variables and labels)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
# YAML 1.2 floats with an exponent: YAML 1.1 (PyYAML) reads `1.0e19`, `1e-3` and `2E5` as
# strings (its exponent needs a sign and a dot), and a param default `1.0e19` then failed far
# from where it was written (newcomer trial 6 P11). Plain ints stay ints: this needs an `e`.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser
    from yaml.composer import Composer

    class _FastLoader(CParser, SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc]
        """`_Loader` with libyaml's scanner and parser (about 40x faster), composing with
        PyYAML's own Python composer: the node tree, tags and marks are the same. Any
        problem (an error, a libyaml limit) is read again with `_Loader`, so errors and
        the depth and alias checks are exactly `_Loader`'s."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self.anchors: dict = {}

        # libyaml's own composer is C code that recurses: PyYAML's is used instead.
        get_single_node = Composer.get_single_node
        compose_document = Composer.compose_document
        compose_node = Composer.compose_node
        compose_sequence_node = Composer.compose_sequence_node
        compose_mapping_node = Composer.compose_mapping_node

        def compose_scalar_node(self, anchor: str | None) -> yaml.ScalarNode:
            node = Composer.compose_scalar_node(self, anchor)
            node.style = node.style or None  # libyaml's plain style is '', PyYAML's None
            return node

    _FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = None


@dataclass(frozen=True)
class Span:
    """Where a YAML value sits: its node's start, and where a code block's text begins."""

    line: int  # 1-based line of the node
    column: int  # 1-based column of the node
    content_line: int  # 1-based line where the scalar's text starts
    content_column: int  # 1-based column where the scalar's text starts
    #: Whether line N of the text is line content_line + N - 1 of the file (a `|` block).
    literal_lines: bool = False


@dataclass
class Document:
    """A loaded spec file: its data and the span of every path inside it."""

    path: Path
    data: Any
    spans: dict[Path_, Span] = field(default_factory=dict)
    #: Where each mapping key itself is written (for "unknown key" diagnostics).
    key_locations: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    #: The sha256 of the file's bytes (the build cache's key, envgen/_build_cache.py).
    sha256: str = ""

    @property
    def name(self) -> str:
        return display_path(self.path)

    def location(self, path: Path_) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path and path not in self.spans:
            path = path[:-1]
        span = self.spans.get(path)
        if span is None:
            return Location(self.name, 1, 1)
        return Location(self.name, span.line, span.column)

    def code_location(self, path: Path_, line: int, column: int) -> Location:
        """The file location of (1-based line, 0-based column) inside the scalar at `path`."""
        span = self.spans.get(tuple(path))
        if span is None:
            return self.location(path)
        if line > 1 and not span.literal_lines:
            # A quoted or folded scalar: escapes and folding break the line correspondence.
            return Location(self.name, span.line, span.column)
        if line <= 1:
            return Location(self.name, span.content_line, span.content_column + column)
        return Location(self.name, span.content_line + line - 1, span.content_column + column)


class _Converter:
    def __init__(self, document: Document, text: str) -> None:
        self.document = document
        self.lines = text.splitlines()
        self.constructor = SafeConstructor()
        self.count = 0
        self.chars = 0
        self.diagnostics: list[Diagnostic] = []

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.document.name, node.start_mark.line + 1, node.start_mark.column + 1)

    def _span(self, node: yaml.Node) -> Span:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        style = getattr(node, "style", None)
        if style in ("|", ">"):
            content_line = line + 1
            text = self.lines[content_line - 1] if content_line - 1 < len(self.lines) else ""
            content_column = len(text) - len(text.lstrip(" ")) + 1
        elif style in ('"', "'"):
            content_line, content_column = line, column + 1
        else:
            content_line, content_column = line, column
        return Span(line, column, content_line, content_column, literal_lines=style == "|")

    def convert(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise DiagnosticError(
                [
                    Diagnostic(
                        self._loc(node),
                        f"the document expands to more than {MAX_NODES} values",
                        "specs are small: move large data out of the spec, and remove "
                        "repeated YAML aliases (&anchor / *alias) if it has any",
                        "yaml-too-large",
                    )
                ]
            )
        if depth > MAX_DEPTH:
            raise DiagnosticError(
                [
                    Diagnostic(
                        self._loc(node),
                        f"the document nests deeper than {MAX_DEPTH} levels",
                        "flatten the structure; specs need only a few levels",
                        "yaml-too-deep",
                    )
                ]
            )
        if isinstance(node, yaml.ScalarNode):
            self.chars += len(node.value)
            if self.chars > MAX_EXPANDED_CHARS:
                raise DiagnosticError(
                    [
                        Diagnostic(
                            self._loc(node),
                            f"the document expands to more than {MAX_EXPANDED_CHARS} "
                            "characters of text",
                            "remove repeated YAML aliases (&anchor / *alias) of long strings",
                            "yaml-too-large",
                        )
                    ]
                )
        self.document.spans.setdefault(path, self._span(node))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in (
            "tag:yaml.org,2002:map",
            "tag:yaml.org,2002:seq",
        ):
            # A tag such as !!python/object/apply:os.system on a collection: never constructed,
            # but silently reading it as plain data would hide what the author meant.
            self.diagnostics.append(
                Diagnostic(
                    self._loc(node),
                    f"unsupported YAML tag '{node.tag}'",
                    "remove the tag; specs hold plain mappings, lists, strings and numbers",
                    "yaml-tag",
                )
            )
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.diagnostics.append(
                        Diagnostic(
                            self._loc(key_node),
                            "mapping keys must be plain names",
                            "write the key as a word, e.g. `size:`",
                            "yaml-key",
                        )
                    )
                    continue
                key = key_node.value
                problem = _unrepresentable(key)
                if problem:
                    self.diagnostics.append(
                        Diagnostic(self._loc(key_node), problem[0], problem[1], "yaml-value")
                    )
                    continue
                if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                    self.diagnostics.append(
                        Diagnostic(
                            self._loc(key_node),
                            "YAML merge keys (<<) are not supported",
                            "write the keys out",
                            "yaml-merge",
                        )
                    )
                    continue
                if key in result:
                    self.diagnostics.append(
                        Diagnostic(
                            self._loc(key_node),
                            f"duplicate key '{key}'",
                            "each key may appear once in a mapping; remove one of them",
                            "yaml-duplicate-key",
                        )
                    )
                    continue
                self.document.spans.setdefault(path + (key,), self._span(value_node))
                self.document.key_locations.setdefault(
                    path + (key,), (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                )
                result[key] = self.convert(value_node, path + (key,), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            # ValueError: a date such as 2001-02-30, or an int beyond Python's digit limit.
            problem = getattr(exc, "problem", None) or str(exc)
            hint = "quote the value to make it a string, or write a plain number"
            if "Exceeds the limit" in problem:
                problem = "an integer outside the 64-bit range"
                hint = "integers are int64; write a float (1e30) for larger magnitudes"
            if "could not determine a constructor" in problem:
                self.diagnostics.append(
                    Diagnostic(
                        self._loc(node),
                        f"unsupported YAML tag '{node.tag}'",
                        "remove the tag; specs hold plain mappings, lists, strings and numbers",
                        "yaml-tag",
                    )
                )
                return None
            self.diagnostics.append(
                Diagnostic(
                    self._loc(node),
                    f"invalid YAML value: {problem}",
                    hint,
                    "yaml-value",
                )
            )
            return None
        problem = _unrepresentable(value)
        if problem:
            self.diagnostics.append(
                Diagnostic(self._loc(node), problem[0], problem[1], "yaml-value")
            )
            return None
        return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unrepresentable(value: object) -> tuple[str, str] | None:
    """(message, hint) for a scalar no later stage can hold: a lone surrogate (a YAML
    escape such as "\\ud800" that is not a character, and cannot be written as UTF-8), or
    an integer beyond 64 bits (NumPy, floats and Gymnasium all fail on them)."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            return (
                f"the text holds a lone surrogate (U+{ord(found.group()):04X}), which is not "
                "a character",
                "write the character itself (or an escape such as \\U0001F600)",
            )
    elif isinstance(value, int) and not isinstance(value, bool) and not fits_int64(value):
        return (
            f"an integer of {value.bit_length()} bits, outside the 64-bit range",
            "integers are int64; write a float (1e30) for larger magnitudes",
        )
    return None


def _yaml_error(name: str, exc: yaml.YAMLError, text: str = "") -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if "end of stream" in problem and getattr(exc, "context_mark", None) is not None:
        mark = exc.context_mark  # where the unterminated string or collection starts
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if isinstance(exc, yaml.reader.ReaderError):
        # A control character: the reader knows only its offset in the text.
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        return Diagnostic(
            Location(name, line, column),
            f"the file contains the control character U+{ord(str(exc.character)[:1] or ' '):04X}"
            if not isinstance(exc.character, int)
            else f"the file contains the control character U+{exc.character:04X}",
            'remove it; write special characters as escapes inside double quotes, e.g. "\\t"',
            "file-encoding",
        )
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if "expected a single document" in str(exc):
        return Diagnostic(
            Location(name, line, column),
            "the file holds more than one YAML document",
            "put one environment spec in each file (remove the '---' separators)",
            "yaml-multiple-documents",
        )
    hint = "check indentation and quoting near this position"
    plain = _plain_yaml_problem(problem, getattr(exc, "context_mark", None), text, line)
    tabs = "\\t" in problem or "\t" in problem or re.search(r"\btabs?\b", problem)
    if plain is not None and not tabs:
        return Diagnostic(Location(name, line, column), plain[0], plain[1], "yaml-syntax")
    if "'\\t'" in problem or "\t" in problem or re.search(r"\btabs?\b", problem):
        hint = "YAML does not allow tabs for indentation; use spaces"
    elif "end of stream" in problem:
        hint = "close the quote or bracket that starts here"
    elif "undefined alias" in problem:
        hint = "define the anchor (&name) before using the alias (*name), or write the value out"
    return Diagnostic(Location(name, line, column), message, hint, "yaml-syntax")


def _plain_yaml_problem(
    problem: str, context_mark: object, text: str, line: int
) -> tuple[str, str] | None:
    """PyYAML's parser terms (`<block end>`, `simple key`) said in a spec writer's terms."""
    if (
        problem.startswith("expected <block end>")
        or "did not find expected key" in problem
        or "did not find expected '-'" in problem
    ):
        lines = text.splitlines()
        here = lines[line - 1] if 0 < line <= len(lines) else ""
        above = [(i, s) for i, s in enumerate(lines[: max(line - 1, 0)], 1) if s.strip()]
        detail = ""
        if here.strip() and above:
            number, previous = above[-1]
            indent = len(here) - len(here.lstrip(" "))
            before = len(previous) - len(previous.lstrip(" "))
            detail = (
                f" (by {indent} spaces, where line {number} has {before}: it lines up with "
                "no key above it)"
            )
        return (
            f"this line is indented differently from the lines of its block{detail}",
            "YAML nests by indentation: indent the keys of one mapping (or the `-` items of "
            "one list) by the same number of spaces; a code block goes under `key: |`, every "
            "line indented more than the key",
        )
    if problem == "mapping values are not allowed here":
        lines = text.splitlines()
        here = lines[line - 1] if 0 < line <= len(lines) else ""
        above = next((s for s in reversed(lines[: max(line - 1, 0)]) if s.strip()), "")
        indent = len(here) - len(here.lstrip(" "))
        if here.strip() and indent > len(above) - len(above.lstrip(" ")):
            return (
                "this line is indented more than the line above, so YAML reads it as part "
                "of that line's value",
                "indent it like the keys of its mapping (spaces only); a code block goes "
                "under `key: |`",
            )
        return (
            "a ': ' here would start a mapping inside a value",
            'quote a value that contains ": " (e.g. "a: b"), put code in a block under '
            "`key: |`, or check this line's indentation",
        )
    if problem == "could not find expected ':'":
        return (
            "a line in a mapping has no `key: value`",
            "write `key: value`; the lines of a code block go under `key: |`, indented more "
            "than the key",
        )
    match = re.fullmatch(r"found character '(.+)' that cannot start any token", problem)
    if match is not None:
        char = match.group(1)
        return (f"a YAML value cannot start with '{char}'", f'quote the value: "{char}..."')
    return None


# --- reading spec files ------------------------------------------------------------

#: The text of spec files read by `read_spec`, by display name, for diagnostics that show
#: a source line: they never reopen a path (it may have changed, or lead outside the root).
_SOURCES: OrderedDict[str, list[str]] = OrderedDict()
_SOURCES_KEPT = 64


def source_line(file: str, line: int) -> str | None:
    """Line `line` of a spec file that `read_spec` read, or None."""
    lines = _SOURCES.get(file)
    if lines is None or not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    return text if len(text) < 300 else text[:300] + "…"


def source_excerpt(file: str, line: int, column: int, width: int = 100) -> tuple[str, int] | None:
    """(At most `width` characters of line `line` around `column`, the 1-based column of
    the same character in it), or None: a caret under a 1 MB line stays short."""
    lines = _SOURCES.get(file)
    if lines is None or not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    column = max(column, 1)
    if len(text) <= width:
        return text, column
    start = max(0, min(column - 1 - width // 2, len(text) - width))
    excerpt = text[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return prefix + excerpt + suffix, column - start + len(prefix)


def _remember(name: str, raw: bytes) -> None:
    _SOURCES[name] = raw.decode("utf-8", errors="replace").splitlines()
    _SOURCES.move_to_end(name)
    while len(_SOURCES) > _SOURCES_KEPT:
        _SOURCES.popitem(last=False)


def spec_root(path: Path) -> Path:
    """The folder a spec file named on its own is confined to: the one it is listed in."""
    return Path(os.path.realpath(os.path.dirname(os.path.abspath(path))))


def is_inside(path: str | Path, root: Path) -> bool:
    """Whether the real `path` lies inside the real folder `root`."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse(name: str, message: str, hint: str, code: str) -> DiagnosticError:
    return DiagnosticError([Diagnostic(Location(name), message, hint, code)])


def read_spec(path: Path, root: Path | None = None, *, follow_symlinks: bool = False) -> bytes:
    """The bytes of one spec file, read the one safe way.

    - only a regular file is read: a FIFO, device or socket is refused without opening it
      for long (opened non-blocking, so a FIFO cannot hang the build);
    - the size is checked (`fstat`) before anything is read, and reading stops after
      `MAX_BYTES`, so `/dev/zero` or a growing file cannot exhaust memory;
    - the file must lie inside `root` (default: the folder it is listed in) once symlinks
      are resolved, unless `follow_symlinks`: a link that leads out is refused, not read;
    - the final path component is opened with O_NOFOLLOW, so a link swapped in after the
      check is not followed either.
    """
    name = display_path(path)
    root = Path(root) if root is not None else spec_root(path)
    try:
        real = os.path.realpath(path, strict=True)
    except (OSError, RuntimeError) as exc:
        reason = getattr(exc, "strerror", None) or "a symlink loop"
        raise _refuse(
            name,
            f"cannot read file: {reason}",
            "check that the file exists and is readable (a symlink may point nowhere)",
            "file-unreadable",
        ) from None
    if not follow_symlinks and not is_inside(real, root):
        raise _refuse(
            name,
            f"the file is a symlink that leads outside the specs folder '{display_path(root)}'; "
            "it was not read",
            "copy the spec into the folder, or pass --follow-symlinks if you trust "
            "where the link points",
            "file-outside-root",
        )
    try:
        raw = read_regular(real, MAX_BYTES)
    except NotRegularFile as exc:
        kind = next((k for test, k in _KINDS if test(exc.mode)), "not a regular file")
        raise _refuse(
            name,
            f"the spec is {kind}, not a regular file; it was not read",
            "a spec is a regular .yaml file; remove or rename this one",
            "file-not-regular",
        ) from None
    except FileTooLarge as exc:
        raise _too_large(name, exc.size) from None
    except OSError as exc:
        raise _refuse(
            name,
            f"cannot read file: {exc.strerror}",
            "check that the file exists and is readable",
            "file-unreadable",
        ) from None
    _remember(name, raw)
    return raw


def _too_large(name: str, size: int) -> DiagnosticError:
    return _refuse(
        name,
        f"the file is {size} bytes, more than the {MAX_BYTES} accepted",
        "specs are small; move large data out of the spec",
        "file-too-large",
    )


def load_document(
    path: Path, root: Path | None = None, *, follow_symlinks: bool = False
) -> Document:
    """Read one spec file; raise `DiagnosticError` with located problems if it is not usable.

    `root` is the folder the file must lie in (see `read_spec`)."""
    name = display_path(path)
    raw = read_spec(path, root, follow_symlinks=follow_symlinks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise DiagnosticError(
            [
                Diagnostic(
                    Location(name, line, column),
                    f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    "save the file as UTF-8",
                    "file-encoding",
                )
            ]
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    node = _compose(text, name)
    if node is None:
        raise DiagnosticError(
            [
                Diagnostic(
                    Location(name),
                    "the file is empty",
                    "a spec needs at least `id`, `action_space`, `observation_space` and `step`",
                    "spec-empty",
                )
            ]
        )
    document = Document(path=path, data=None, sha256=hashlib.sha256(raw).hexdigest())
    if not isinstance(node, yaml.MappingNode):
        raise DiagnosticError(
            [
                Diagnostic(
                    Location(name, node.start_mark.line + 1, node.start_mark.column + 1),
                    "a spec must be a mapping of keys to values",
                    "start the file with `id: namespace/Name-v0`",
                    "spec-not-mapping",
                )
            ]
        )
    converter = _Converter(document, text)
    document.data = converter.convert(node, (), 0)
    if converter.diagnostics:
        raise DiagnosticError(converter.diagnostics)
    return document


def _compose(text: str, name: str) -> yaml.Node | None:
    """The YAML node tree of `text` (safe tags only); `DiagnosticError` if it is not YAML or
    nests too deeply for the parser itself (before `_Converter`'s depth limit applies)."""
    if _FastLoader is not None:
        try:
            return _FastLoader(text).get_single_node()
        except Exception:  # noqa: BLE001 - read again below, for `_Loader`'s own answer
            pass
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise DiagnosticError([_yaml_error(name, exc, text)]) from None
    except RecursionError:
        raise DiagnosticError(
            [
                Diagnostic(
                    Location(name),
                    "the document nests too deeply to read",
                    "flatten the structure",
                    "yaml-too-deep",
                )
            ]
        ) from None


def load_value(text: str, name: str) -> Any:
    """One YAML value given outside a file (`-p NAME=VALUE`), read with the same safe loader
    and the same limits (depth, aliases, size) as a spec file; `DiagnosticError` if not."""
    node = _compose(text, name)
    if node is None:
        return None
    converter = _Converter(Document(path=Path(name), data=None), text)
    value = converter.convert(node, (), 0)
    if converter.diagnostics:  # e.g. an integer outside int64, a repeated key
        raise DiagnosticError(converter.diagnostics)
    return value
