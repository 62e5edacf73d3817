"""Replace files' texts atomically, as `release-train bump` writes them.

Each file is replaced by writing its new text to a temporary file beside it (same directory,
same permission bits) and renaming that over it: a reader, or a crash of this process at any
point, sees the old text or the new one, never a mix. After the renames, each directory
that holds a replaced file is fsync'd once, so the renames are on disk when the command
returns. The files' data are not fsync'd one by one (see docs/benchmarks.md for what that
would cost). ext4 with its defaults (data=ordered, auto_da_alloc) writes a file renamed over
another before the rename commits, so there a power loss leaves each file old or new, and
the new texts are on disk when the command returns. On a filesystem that does not (XFS, for
one), a power loss or kernel crash shortly after the command may leave a replaced file empty;
a crash of the process alone never does.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable

# O_BINARY: on Windows, os.open's default text mode would turn "\n" into "\r\n".
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_FLAGS |= getattr(os, "O_BINARY", 0)

_FCHMOD = hasattr(os, "fchmod")  # not on Windows before Python 3.13


def _temporary(path: str) -> tuple[int, str]:
    """An exclusive new file beside `path`: a name of this process's, else a random one."""
    head, name = os.path.split(path)
    temp = os.path.join(head, f".{name}.{os.getpid()}.release-train")
    try:
        return os.open(temp, _FLAGS, 0o600), temp
    except FileExistsError:  # left by an earlier run with the same process id
        return tempfile.mkstemp(prefix=f".{name}.", dir=head or ".")


def replace_text(path: str, text: str) -> None:
    """Replace the text of the existing file `path` (UTF-8, line endings as they are)."""
    mode = os.stat(path).st_mode & 0o7777
    fd, temp = _temporary(path)
    try:
        try:
            view = memoryview(text.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
            if _FCHMOD:
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        if not _FCHMOD:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def sync_directories(paths: Iterable[str]) -> None:
    """fsync each directory that holds one of `paths`, once (where the platform allows)."""
    for directory in dict.fromkeys(os.path.dirname(p) or os.curdir for p in paths):
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:  # e.g. Windows, where a directory cannot be opened
            continue
        try:
            os.fsync(fd)
        except OSError:  # a filesystem that cannot sync a directory
            pass
        finally:
            os.close(fd)
