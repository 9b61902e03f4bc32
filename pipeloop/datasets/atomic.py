"""Atomic file writes: a file is replaced all at once, or not at all.

One function for every writer in pipeloop (file datasets, the CLI's run record and
``--trace`` file): :func:`write_atomically` for content in memory, and
:func:`begin_write` for writers that stream or want a path (pandas), which fill
``AtomicWrite.path`` and then ``commit()`` or ``abort()``.

What a write does to what it finds at ``path``:

- **nothing there**: a new file, with the usual permissions (``0o666`` less the umask);
- **a regular file**: the data goes to a temporary file next to it, is fsynced, and is
  renamed over it. The new file keeps the old one's permission bits (and owner, when
  running as root). A file without any write permission bit (``chmod a-w``) is refused
  with ``PermissionError`` even for root, who could otherwise overwrite it;
- **a symlink**: the file it points to is replaced, and the link stays a link;
- **a device, FIFO or socket, or a ``/proc`` file descriptor** (``/dev/null``,
  ``/dev/stdout``): written in place, since renaming over it would replace the device
  with a regular file. Such writes are not atomic;
- **a folder**: ``IsADirectoryError``.

With ``exclusive=True`` the write publishes with ``os.link``, which fails if the file
exists: two writers racing for one name cannot both win, and the loser gets
``FileExistsError``. Versioned datasets claim a version this way.

Temporary files are named ``.<name>.<host>-<pid>-<token>.pipeloop-tmp``: hidden, never
ending in the target's extension (so ``*.csv`` globs and version lookups never see them),
and recognisable. A process killed mid-write leaves one behind; the next write of the same
file on the same host removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "TEMPORARY_SUFFIX",
    "AtomicWrite",
    "begin_write",
    "is_temporary",
    "remove_stale_temporaries",
    "write_atomically",
]

TEMPORARY_SUFFIX = ".pipeloop-tmp"
"""How every temporary file pipeloop writes ends."""

# A short, filename-safe tag of this host: a pid only identifies a process on its own host
# (a shared folder on NFS may hold temporaries of live processes elsewhere).
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMPORARY = re.compile(
    r"\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}"
    + re.escape(TEMPORARY_SUFFIX)
)
# Hard links are unsupported on some filesystems (FAT, some network and FUSE mounts).
_NO_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EMLINK}
)
_MAX_SYMLINK_HOPS = 40


@dataclass
class AtomicWrite:
    """One write in progress, made by :func:`begin_write`. Its methods block (an async
    caller runs them in a worker thread).

    Attributes:
        target: the file that ``commit()`` replaces (a symlink's target, resolved).
        path: where the writer puts the data: a fresh temporary file, or ``target`` itself
            when ``in_place``.
        in_place: the target is a device, FIFO, socket or ``/proc`` descriptor, written
            directly; ``commit()`` and ``abort()`` then do nothing.
        open_mode: the mode to ``open(path, ...)`` with: ``"wb"``, or ``"ab"`` for a
            regular file reached through ``/proc`` (``/dev/stdout`` redirected to a file
            is appended to, not truncated).
        exclusive: ``commit()`` fails with ``FileExistsError`` if ``target`` exists.
    """

    target: Path
    path: Path
    in_place: bool = False
    open_mode: Literal["wb", "ab"] = "wb"
    exclusive: bool = False
    _mode: int | None = None
    _created_folder: Path | None = None
    _staging: Path | None = None

    def commit(self) -> None:
        """Make the written data durable (fsync) and visible at ``target``.

        Raises:
            FileExistsError: ``exclusive`` and ``target`` exists.
            OSError: the rename or link failed; call ``abort()``.
        """
        if self.in_place:
            return
        _fsync(self.path)
        if self._mode is not None and stat.S_IMODE(os.stat(self.path).st_mode) != self._mode:
            os.chmod(self.path, self._mode)  # a writer that recreated the file lost it
        if not self.exclusive:
            os.replace(self.path, self.target)
            self._note_folder_seen()
            return
        try:
            os.link(self.path, self.target)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            # No hard links here: claim the name with O_EXCL, then rename over the claim.
            # A reader may see the empty claim for an instant; a second writer cannot win.
            os.close(os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.replace(self.path, self.target)
            self._note_folder_seen()
            return
        os.unlink(self.path)
        self._note_folder_seen()

    def _note_folder_seen(self) -> None:
        if self._staging is not None:
            _note_folder(self._staging, self.target.name)

    def abort(self) -> None:
        """Remove the temporary file (and a version folder this write created, if empty)."""
        if self.in_place:
            return
        _discard(self.path)
        if self._created_folder is not None:
            with contextlib.suppress(OSError):  # not empty: another writer is using it
                os.rmdir(self._created_folder)


def begin_write(
    path: str | os.PathLike[str], *, exclusive: bool = False, staging: Path | None = None
) -> AtomicWrite:
    """Start writing ``path``: create its parent folders and an empty temporary file, and
    remove temporaries that killed processes left for it. Blocking.

    Args:
        path: the file to write.
        exclusive: refuse to replace an existing file (see ``AtomicWrite.commit``).
        staging: a folder on the same filesystem for the temporary file, instead of
            ``path``'s own folder (a versioned dataset stages in its folder of versions, so
            the next save finds what a killed one left).

    Returns:
        The write, to be filled at ``.path`` and then committed or aborted.

    Raises:
        FileExistsError: ``exclusive`` and ``path`` exists already.
        PermissionError: ``path`` is a file without write permission.
        IsADirectoryError: ``path`` is a folder.
    """
    path = Path(path)
    if staging is not None:
        # Before a new version folder changes the staging folder's mtime (see below).
        _remove_stale_if_changed(staging, path.name)
    created = _make_parent(path) if exclusive else None
    if not exclusive:
        os.makedirs(path.parent, exist_ok=True)
    if exclusive and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "File exists", str(path))
    try:
        found: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        found = None
    target = path
    if (found is not None and stat.S_ISLNK(found.st_mode)) or os.path.abspath(path).startswith(
        ("/proc/", "/dev/fd/")
    ):
        target, through_proc = _follow_symlinks(path)
        if through_proc:  # a descriptor's magic link (a pipe's is not even a real path)
            regular = stat.S_ISREG(os.stat(path).st_mode)
            return AtomicWrite(path, path, in_place=True, open_mode="ab" if regular else "wb")
        try:
            found = os.stat(target)
        except FileNotFoundError:
            found = None
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, not a file", str(path))
    if found is not None and not stat.S_ISREG(found.st_mode):
        return AtomicWrite(path, path, in_place=True)
    mode = None
    if found is not None:
        _check_writable(target, found)
        mode = stat.S_IMODE(found.st_mode)
    folder = staging if staging is not None else target.parent
    if staging is None:
        _remove_stale_if_changed(folder, target.name)
    temporary = folder / _temporary_name(target.name)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    # Whatever fails from here (the close too: another thread may have closed a number it
    # no longer owned), the caller gets no write to abort, so the temporary goes now; a
    # live process's temporary would otherwise stay until it ends.
    try:
        if found is not None:
            os.fchmod(fd, stat.S_IMODE(found.st_mode))
            if os.geteuid() == 0 and (found.st_uid, found.st_gid) != (0, os.getegid()):
                os.fchown(fd, found.st_uid, found.st_gid)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        _discard(temporary)
        raise
    try:
        os.close(fd)
    except BaseException:
        _discard(temporary)
        raise
    return AtomicWrite(target, temporary, exclusive=exclusive, _mode=mode,
                       _created_folder=created, _staging=folder)


def write_atomically(
    path: str | os.PathLike[str],
    content: bytes | str,
    *,
    encoding: str = "utf-8",
    exclusive: bool = False,
) -> None:
    """Replace ``path`` with ``content`` all at once, or not at all (see the module's
    docstring for symlinks, permissions and special files). Blocking.

    Args:
        path: the file to write.
        content: the bytes, or text to encode with ``encoding``.
        encoding: the encoding of text ``content``.
        exclusive: refuse to replace an existing file.

    Raises:
        FileExistsError: ``exclusive`` and ``path`` exists already.
        PermissionError: ``path`` is a file without write permission.
        OSError: the write failed; ``path`` is as it was.
    """
    data = content.encode(encoding) if isinstance(content, str) else content
    write = begin_write(path, exclusive=exclusive)
    try:
        with open(write.path, write.open_mode) as file:
            file.write(data)
        write.commit()
    except BaseException:
        write.abort()
        raise


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file pipeloop writes."""
    return name.endswith(TEMPORARY_SUFFIX) and _TEMPORARY.fullmatch(name) is not None


def remove_stale_temporaries(folder: Path, name: str) -> list[Path]:
    """Remove the temporary files for ``name`` in ``folder`` whose writing process, on this
    host, no longer runs. Blocking.

    Returns:
        The files removed.
    """
    prefix = f".{name}."
    removed: list[Path] = []
    try:
        names = os.listdir(folder)  # names only: this runs on every save, keep it cheap
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for candidate in [entry for entry in names if entry.startswith(prefix)]:
        match = _TEMPORARY.fullmatch(candidate)
        if (
            match is None
            or match["name"] != name
            or match["host"] != _HOST
            or _is_running(int(match["pid"]))
        ):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / candidate)
            removed.append(folder / candidate)
    return removed


# (folder, name) -> the folder's mtime just after this process last wrote or cleaned there.
# Listing a big data folder on every save would cost more than the save; a folder whose
# mtime has not moved since has gained no temporary file from anyone else.
_SEEN_FOLDERS: dict[tuple[Path, str], int] = {}
_SEEN_FOLDERS_LIMIT = 10_000


def _remove_stale_if_changed(folder: Path, name: str) -> None:
    try:
        mtime = os.stat(folder).st_mtime_ns
    except FileNotFoundError:
        return
    if _SEEN_FOLDERS.get((folder, name)) != mtime:
        remove_stale_temporaries(folder, name)
        _note_folder(folder, name)


def _note_folder(folder: Path, name: str) -> None:
    if len(_SEEN_FOLDERS) >= _SEEN_FOLDERS_LIMIT:
        _SEEN_FOLDERS.clear()
    with contextlib.suppress(OSError):
        _SEEN_FOLDERS[(folder, name)] = os.stat(folder).st_mtime_ns


def _discard(temporary: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)


def _temporary_name(name: str) -> str:
    return f".{name}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}{TEMPORARY_SUFFIX}"


def _is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: maybe a concurrent save of the same file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def _make_parent(path: Path) -> Path | None:
    """Create ``path``'s folder; return it if this call created it."""
    try:
        os.mkdir(path.parent)
    except FileExistsError:
        return None
    except FileNotFoundError:
        os.makedirs(path.parent, exist_ok=True)
    return path.parent


def _follow_symlinks(path: Path) -> tuple[Path, bool]:
    """The file ``path`` names once symlinks are followed, and whether the way there went
    through ``/proc`` (``/dev/stdout`` -> ``/proc/self/fd/1`` -> wherever fd 1 points;
    such a target must be written through the descriptor, not renamed over)."""
    current = Path(os.path.abspath(path))
    through_proc = _in_proc(current)
    for _ in range(_MAX_SYMLINK_HOPS):
        if not current.is_symlink():
            break
        current = Path(os.path.abspath(current.parent / os.readlink(current)))
        through_proc = through_proc or _in_proc(current)
    if through_proc:
        return current, True
    return Path(os.path.realpath(current)), False


def _in_proc(path: Path) -> bool:
    return os.path.realpath(path.parent).startswith("/proc/")


def _check_writable(path: Path, found: os.stat_result) -> None:
    # Root passes os.access for any file, so the mode bits are checked too: a file nobody
    # may write was made read-only on purpose.
    if not found.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise PermissionError(
            errno.EACCES,
            f"Refusing to replace read-only file (mode {stat.filemode(found.st_mode)}); "
            f"make it writable first if it is meant to be replaced",
            str(path),
        )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
