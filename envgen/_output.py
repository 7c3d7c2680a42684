"""Replacing the output folder: whole, at once, and without losing what envgen does not own.

The protocol (SECURITY.md, "The output folder"), for an output folder OUT whose real path
(symlinks followed) is T, with parent P:

1. lock: an exclusive `flock` on P, so two builds never interleave (nothing is created);
2. recover: remove what an interrupted build left in P: `.T.envgen-new.*` (a staging
   folder never swapped in) and `.T.envgen-old.*` (a previous output already swapped out);
   if T is missing while an `-old` folder exists (only the two-rename fallback below can
   leave that), rename it back first;
3. stage: create `.T.envgen-new.<token>` in P, with T's mode and owner. Into it go the new
   and changed generated files (written and fsynced), and *hard links* to everything else
   in T: unchanged generated files (mtimes kept) and every entry envgen does not own
   (hand-written files, FIFOs, symlinks, sockets, `__pycache__`, sub-folders as trees of
   links). Links keep identity: a FIFO stays a FIFO, a symlink stays the same symlink.
   Nothing in T is touched while staging;
4. swap: exchange the staging folder and T in one atomic step (`renameat2(RENAME_EXCHANGE)`
   on Linux, `renamex_np(RENAME_SWAP)` on macOS). Before it, T is the old build; after
   it, T is the new build. There is no moment without T;
5. clean up: delete the old folder (now at the staging name). Deleting links to kept
   entries does not delete the entries.

A `kill -9` at any instant leaves T as the old or the new build; the next build removes
what is left over (step 2). Where the file system cannot exchange two folders, step 4 is
two renames (T -> `.T.envgen-old.<token>`, staging -> T); a kill between them leaves T
missing until the next build renames the old one back (step 2).

`STEP_HOOK`, when set, is called with the name of each step as it completes; the
fault-injection tests kill the process there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Called with each completed step's name ("locked", "recovered", "staging", "linked",
#: "written", "staged", "swapped", "moved-aside", "cleaned"). For fault injection.
STEP_HOOK: Callable[[str], None] | None = None

NEW = ".envgen-new."
OLD = ".envgen-old."


def _step(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


# --- single files: the one safe read and the one atomic write ----------------------------


class NotRegularFile(OSError):
    """`read_regular` found something other than a regular file (`mode` says what)."""

    def __init__(self, path: Path | str, mode: int) -> None:
        super().__init__(errno.EINVAL, "not a regular file", str(path))
        self.mode = mode


class FileTooLarge(OSError):
    """`read_regular` found a file larger than its limit (`size`: as much as was seen)."""

    def __init__(self, path: Path | str, size: int) -> None:
        super().__init__(errno.EFBIG, "file too large", str(path))
        self.size = size


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of `path`, read the one safe way: only a regular file (opened non-blocking,
    so a FIFO cannot hang the reader; a device is refused before anything is read), with
    O_NOFOLLOW (the last component is never a symlink), and at most `limit` bytes (checked
    with `fstat` first, and while reading, so `/dev/zero` or a growing file cannot exhaust
    memory). Raises `NotRegularFile`, `FileTooLarge`, or the `OSError` of open or read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path, info.st_mode)
        if info.st_size > limit:
            raise FileTooLarge(path, info.st_size)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:  # it grew while being read
        raise FileTooLarge(path, len(data))
    return data


def atomic_write(
    path: Path, data: str | bytes, *, mode: int | None = None, durable: bool = False
) -> None:
    """Replace the file `path` with `data` (str is written as UTF-8) in one step: a new file
    beside it, then `os.replace`, so a reader (or an interrupted write) sees the old file or
    the new one, never a part. `mode`: the new file's exact mode (default: the existing
    file's, else 0o666 less the umask; the temporary file is never more open than that).
    `durable`: fsync the file before the rename. Raises `OSError`; nothing is left behind."""
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = _default_mode(0o666)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags, mode & 0o777)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # exactly this mode, whatever the umask
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# --- atomic exchange of two paths -----------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 0x2  # macOS stdio.h


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


def exchange(a: Path, b: Path) -> bool:
    """Swap the two existing paths `a` and `b` atomically; False where the system or the
    file system cannot (the caller falls back to two renames)."""
    libc = _libc()
    if libc is None:
        return False
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        result = libc.renameat2(
            _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE
        )
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(os.fsencode(a), os.fsencode(b), _RENAME_SWAP)
    else:
        return False
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), str(a))


# --- the lock and recovery ------------------------------------------------------------


@contextmanager
def locked(parent: Path) -> Iterator[None]:
    """An exclusive lock on the output's parent folder (best effort: no lock where the
    file system has none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        _step("locked")
        yield
    finally:
        os.close(fd)  # releases the lock


def leftovers(target: Path) -> tuple[list[Path], list[Path]]:
    """(staging folders, old folders) an interrupted build left beside `target`."""
    new, old = [], []
    prefix = f".{target.name}"
    try:
        entries = sorted(target.parent.iterdir())
    except OSError:
        return [], []
    for entry in entries:
        if entry.name.startswith(prefix + NEW) and entry.is_dir() and not entry.is_symlink():
            new.append(entry)
        elif entry.name.startswith(prefix + OLD) and entry.is_dir() and not entry.is_symlink():
            old.append(entry)
    return new, old


def recover(target: Path) -> list[str]:
    """Finish or undo an interrupted swap of `target` (call with the lock held)."""
    done = []
    new, old = leftovers(target)
    if not os.path.lexists(target) and old:
        # The two-rename fallback was interrupted between its renames: put the old back.
        os.replace(old[-1], target)
        done.append(f"restored {target.name} from {old[-1].name}")
        old = old[:-1]
    for folder in new + old:
        _remove_tree(folder)
        done.append(f"removed {folder.name}")
    _step("recovered")
    return done


def tidy(out_dir: Path) -> list[str]:
    """Recover from an interrupted build of `out_dir`, if one left anything (with the lock)."""
    target = Path(os.path.realpath(out_dir))
    if not any(leftovers(target)):
        return []
    with locked(target.parent):
        return recover(target)


def _remove_tree(folder: Path) -> None:
    def retry(function, path, _exc):  # type: ignore[no-untyped-def]
        # A read-only sub-folder (kept as it was) must become writable to be emptied.
        parent = os.path.dirname(path)
        os.chmod(parent, stat.S_IRWXU | os.stat(parent).st_mode)
        function(path)

    shutil.rmtree(folder, onerror=retry)


# --- staging ------------------------------------------------------------------------------


def _keep(source: Path, destination: Path) -> None:
    """Put `source` (any kind of entry) at `destination` without changing it: a hard link,
    or for a folder a new folder of links; a copy only where links are refused."""
    info = os.lstat(source)
    if stat.S_ISDIR(info.st_mode):
        os.mkdir(destination, 0o700)
        for child in sorted(os.listdir(source)):
            _keep(source / child, destination / child)
        os.chmod(destination, stat.S_IMODE(info.st_mode))
        _owner(destination, info)
        return
    try:
        os.link(source, destination, follow_symlinks=False)
        return
    except OSError:
        pass  # e.g. fs.protected_hardlinks, or a file system without hard links
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), destination)
    elif stat.S_ISFIFO(info.st_mode):
        os.mkfifo(destination, stat.S_IMODE(info.st_mode))
    elif stat.S_ISREG(info.st_mode):
        shutil.copy2(source, destination, follow_symlinks=False)
    else:
        raise OSError(errno.EPERM, "cannot keep this entry of the output folder", str(source))


def _owner(path: Path, info: os.stat_result) -> None:
    try:
        os.chown(path, info.st_uid, info.st_gid, follow_symlinks=False)
    except OSError:
        pass  # not ours to give away: the mode is kept all the same


def _write(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)  # exactly this mode, whatever the umask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_mode(kind: int) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return kind & ~umask


def replace_folder(out_dir: Path, files: dict[str, str], unchanged: set[str], dropped: set[str]):
    """Make the folder `out_dir` hold `files` (name -> text), keeping every other entry.

    `unchanged` names files whose current text is already right (linked, not rewritten);
    `dropped` names entries to leave out (stale generated modules). Follows the protocol
    in this module's docstring. Returns the real path of the folder written.
    """
    target = Path(os.path.realpath(out_dir))
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    staging = parent / f".{target.name}{NEW}{token}"
    with locked(parent):
        recover(target)
        old = None
        if os.path.lexists(target):
            old = os.stat(target)
            if not stat.S_ISDIR(old.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "the output is not a folder", str(target))
        os.mkdir(staging, 0o700)
        try:
            _step("staging")
            if old is not None:
                for name in sorted(os.listdir(target)):
                    if name in dropped or (name in files and name not in unchanged):
                        continue
                    _keep(target / name, staging / name)
                _step("linked")
            file_mode = _default_mode(0o666)
            for name in sorted(files):
                if name in unchanged and old is not None:
                    continue
                mode = file_mode
                if old is not None and os.path.isfile(target / name):
                    mode = stat.S_IMODE(os.stat(target / name).st_mode)
                _write(staging / name, files[name], mode)
                _step("written")
            os.chmod(staging, stat.S_IMODE(old.st_mode) if old else _default_mode(0o777))
            if old is not None:
                _owner(staging, old)
            _fsync_folder(staging)
            _step("staged")
            if old is None:
                os.rename(staging, target)
                _step("swapped")
            elif exchange(staging, target):
                _step("swapped")
            else:
                aside = parent / f".{target.name}{OLD}{token}"
                os.rename(target, aside)
                _step("moved-aside")
                try:
                    os.rename(staging, target)
                except BaseException:
                    os.rename(aside, target)
                    raise
                staging = aside
                _step("swapped")
            _fsync_folder(parent)
        except BaseException:
            if os.path.lexists(staging):
                # Before the swap: an unfinished staging folder. After: the old output.
                _remove_tree(staging)
            raise
        if os.path.lexists(staging):
            _remove_tree(staging)  # the previous output, now under the staging name
        _step("cleaned")
    return target
