"""Files that two runs can share: an exclusive lock, and writes that replace a file whole.

Two commands on the same profile (two ``synthesis`` runs, a notebook and a command) may read
and write the same files at once. Two rules keep every file readable and nothing lost:

- a write goes to a temporary file with a name of its own in the same folder, then
  ``os.replace`` puts it in place (readers see the old file or the new one, never half of
  one; two writers never share a temporary file);
- a read-change-write (merging teachers into the annotation table, appending to a cache) is
  done holding ``locked(path)``, an ``fcntl.flock`` on a lock file that is never replaced, so
  the second run waits, then reads what the first wrote.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> with locked(d / "table.lock"), atomic_path(d / "table.txt") as tmp:
...     _ = tmp.write_text("new")
>>> (d / "table.txt").read_text(), sorted(p.name for p in d.iterdir())
('new', ['table.lock', 'table.txt'])
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def locked(lock_file: str | Path, waiting: str | None = None,
           log: Callable[[str], None] = _stderr) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created if missing; never deleted, so every run
    locks the same file). When another process holds it, ``waiting`` (if given) is logged once
    and the call blocks until the lock is free. Released on exit, and by the OS if the process
    dies, so a killed run never leaves a lock behind."""
    lock_file = Path(lock_file)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                log(waiting)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path, unique to this call, in ``path``'s folder; on a clean exit it replaces
    ``path`` (``os.replace``: atomic on one file system), on an error it is removed and ``path``
    is left as it was. The temporary name keeps ``path``'s suffix (pandas and nbformat choose
    formats by suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    os.chmod(tmp, _mode(path))  # mkstemp makes it private; the file it replaces was not
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode(path: Path) -> int:
    """The permissions a file written at ``path`` gets: the existing file's, else the umask's."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through ``atomic_path``; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
