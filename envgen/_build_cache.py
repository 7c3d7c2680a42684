"""The build's content-hash cache: an unchanged spec costs no emit and no formatting.

A build still reads, validates and analyses every spec (diagnostics, duplicate ids and the
registry need the models), but the formatted modules of a spec whose inputs are unchanged
come from the cache instead of the emitters and two `ruff` runs.

What a cached entry is keyed by (`BuildCache.key`): the spec file's bytes, the path it is
recorded under, the output package, and the compiler's fingerprint: envgen's version and
the hash of every source file of the installed `envgen` package (so a changed compiler,
runtime or template never reuses an entry), the Python version, the ruff version, and the
working folder (ruff's import sorting reads it). Nothing is trusted across envgen versions.

Where: `$ENVGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/envgen/build`, else
`~/.cache/envgen/build`; `ENVGEN_BUILD_CACHE=0` turns the cache off. Entries are JSON
(read with `json.loads`, never executed or unpickled) holding the module texts, signed
with HMAC-SHA256 under a random key kept in the cache folder (mode 0600). An entry that
does not parse, has the wrong shape, was made for another key, or whose signature does not
match (corrupted, truncated, edited) is ignored and rebuilt. The folder must belong to the
user and not be writable by others, and must not lie inside the output package (it holds
the signing key); otherwise the build runs without a cache and warns once. Entries are
written atomically (a temporary file, then `os.replace`), so concurrent builds are safe.
A build that stored entries trims the folder to the `MAX_ENTRIES` most recently used.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from envgen._output import atomic_write, read_regular
from envgen.compiler.load import is_inside

_FORMAT = 2  # the entry layout; part of every key (2: the registry as {"files": ...})
#: Entries kept (least recently used ones go first): about 80 builds of 25 specs, a few
#: hundred MB at most.
MAX_ENTRIES = 2000
#: An entry larger than this is not read (a spec's modules are a few hundred KB at most).
MAX_ENTRY_BYTES = 32 * 1024 * 1024


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    if os.environ.get("ENVGEN_BUILD_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    explicit = os.environ.get("ENVGEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "envgen" / "build"


@functools.cache
def compiler_fingerprint() -> str:
    """A hash of everything besides the spec that decides what a build emits."""
    import envgen

    digest = hashlib.sha256()
    digest.update(f"envgen {envgen.__version__}\0format {_FORMAT}\0".encode())
    digest.update(f"python {sys.version_info[0]}.{sys.version_info[1]}\0".encode())
    try:
        from importlib.metadata import version

        digest.update(f"ruff {version('ruff')}\0".encode())
    except Exception:  # no ruff metadata: the binary's identity instead  # noqa: BLE001
        from envgen.backends.python import _ruff

        try:
            info = os.stat(_ruff())
            digest.update(f"ruff-bin {info.st_size} {info.st_mtime_ns}\0".encode())
        except OSError:
            digest.update(b"ruff unknown\0")
    package = Path(envgen.__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.suffix not in (".py", ".jinja") or "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class CacheUnusable(Exception):
    """Why the cache folder cannot be used: the build runs without a cache, and says so."""


class BuildCache:
    """Formatted modules by key, in a user-private folder (see the module docstring)."""

    def __init__(self, folder: Path, secret: bytes) -> None:
        self.folder = folder
        self._secret = secret
        self.hits = 0
        self.misses = 0

    @classmethod
    def open(cls, folder: Path | None = None) -> BuildCache | None:
        """The cache at `folder` (default: `cache_dir()`), or None where it is off or unusable."""
        try:
            return cls.open_checked(folder)
        except CacheUnusable:
            return None

    @classmethod
    def open_checked(
        cls, folder: Path | None = None, *, not_inside: tuple[tuple[Path, str], ...] = ()
    ) -> BuildCache | None:
        """The cache at `folder` (default: `cache_dir()`); None where it is turned off.

        Raises `CacheUnusable` (saying why, for a warning) where the folder cannot be used:
        not creatable, not private to this user, a damaged key, or inside one of the folders
        `not_inside` ((folder, what it is): the build's output package and spec folders,
        where the signing key would be published or committed). Nothing is created then."""
        folder = folder if folder is not None else cache_dir()
        if folder is None:
            return None
        shown = str(folder)
        for outside, what in not_inside:
            if is_inside(folder, outside):
                raise CacheUnusable(
                    f"the cache folder {shown} lies inside {what} {outside}, which would "
                    "publish the cache's signing key; set ENVGEN_CACHE_DIR to a folder "
                    "outside it"
                )
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(folder):
                raise CacheUnusable(
                    f"the cache folder {shown} is not a folder of yours that only you can "
                    "write; remove it, or set ENVGEN_CACHE_DIR to a private folder"
                )
            return cls(folder, _secret(folder))
        except OSError as exc:  # a read-only home, a full disk, a damaged key...
            reason = exc.strerror or str(exc)
            raise CacheUnusable(
                f"the cache folder {shown} cannot be used ({reason}); set ENVGEN_CACHE_DIR "
                "to a writable folder, or ENVGEN_BUILD_CACHE=0 to build without a cache"
            ) from None

    def key(self, *parts: str | bytes) -> str:
        digest = hashlib.sha256(compiler_fingerprint().encode() + b"\0")
        digest.update(os.getcwd().encode("utf-8", "surrogateescape") + b"\0")
        for part in parts:
            data = part if isinstance(part, bytes) else part.encode("utf-8", "surrogateescape")
            digest.update(len(data).to_bytes(8, "little") + data)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry stored under `key`, or None (missing, corrupt, or not signed by us)."""
        try:
            entry = json.loads(read_regular(self._path(key), MAX_ENTRY_BYTES))
        except (OSError, ValueError, RecursionError):  # RecursionError: deeply nested JSON
            entry = None
        if entry is None:
            self.misses += 1
            return None
        try:
            good = (
                isinstance(entry, dict)
                and entry.get("key") == key
                and isinstance(entry.get("mac"), str)
                and isinstance(entry.get("value"), dict)
                and hmac.compare_digest(entry["mac"], self._mac(key, entry["value"]))
            )
        except (ValueError, TypeError, RecursionError):  # e.g. a non-ASCII "mac"
            good = False
        if not good:
            self.misses += 1
            return None
        self.hits += 1
        try:  # recently used: kept by `trim`
            os.utime(self._path(key))
        except OSError:
            pass
        return entry["value"]

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store `value` (JSON data) under `key`; a failure to write is not an error."""
        entry = {"key": key, "mac": self._mac(key, value), "value": value}
        path = self._path(key)
        data = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            atomic_write(path, data, mode=0o600)
        except OSError:
            pass

    def trim(self, keep: int = MAX_ENTRIES) -> int:
        """Delete the least recently used entries beyond `keep`; how many were deleted."""
        entries = []
        for path in self.folder.glob("??/*.json"):
            try:
                entries.append((path.stat().st_mtime_ns, path))
            except OSError:
                continue
        if len(entries) <= keep:
            return 0
        entries.sort()
        removed = 0
        for _, path in entries[: len(entries) - keep]:
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return removed

    def _mac(self, key: str, value: dict[str, Any]) -> str:
        payload = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hmac.new(self._secret, key.encode() + b"\0" + payload, hashlib.sha256).hexdigest()


def _private(folder: Path) -> bool:
    """Whether `folder` is a real folder owned by this user that others cannot write."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _secret(folder: Path) -> bytes:
    """The folder's signing key, created (mode 0600) on first use."""
    path = folder / "key"
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        secret = os.urandom(32)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".key-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret)
        try:
            os.link(temporary, path)  # never replaces a key another build just made
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
        fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError("the cache key is not a regular file")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise OSError("the cache key belongs to another user")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise OSError("the cache key is readable by others")
        secret = handle.read(64)
    if len(secret) != 32:
        raise OSError("the cache key is damaged")
    return secret
