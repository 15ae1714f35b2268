"""Crash-safe file output.

Every file mesa-report writes goes through :func:`atomic_write`: the bytes land in a temporary
file in the same folder, are flushed to disk, and only then renamed over the final name. A crash,
a kill or a full disk therefore never leaves a truncated file under a final name.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from mesa_report.core.errors import MesaReportError

PART_SUFFIX = ".part"
"""Suffix of the temporary files :func:`atomic_write` renames into place."""

_STALE_AFTER_S = 3600.0


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    """Permissions of a new file under this process's umask (``mkstemp`` alone gives 0600).

    Read once, at the first write (never at import): from ``/proc/self/status`` where Linux
    shows it, otherwise by setting and restoring the umask.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
_PID_IN_NAME = re.compile(r"\.pid(\d+)\.[^.]*\.part$")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` only when the block ends without error.

    Parameters
    ----------
    path : path-like
        The final file name. Its folder is created if missing.
    mode : {"wb", "w"}
        Binary or text (UTF-8) output.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_write(target, "w") as fh:
    ...     _ = fh.write("hello")
    >>> target.read_text()
    'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', not {mode!r}")
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.pid{os.getpid()}.", suffix=PART_SUFFIX,
                                        dir=final.parent)
    except OSError as exc:
        raise MesaReportError(
            f"cannot write {final}: {exc.strerror or exc}; choose a folder you can write to"
        ) from exc
    tmp = Path(tmp_name)
    try:
        if os.name != "nt":
            os.fchmod(fd, _file_mode())  # shared outputs (reports) follow the umask like any new file
        kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise MesaReportError(
                f"writing {final} failed: {exc.strerror or exc}; nothing was written under that "
                "name — free some disk space or choose another folder"
            ) from exc
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # no cheap liveness check: rely on the age rule
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_partial_files(folder: str | os.PathLike) -> list[Path]:
    """Delete temporary files left in ``folder`` by writers that were killed mid-write.

    A temporary file is removed when the process that wrote it no longer runs, or when it is
    over an hour old; files of a live writer are left alone. Final names are never touched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / ".a.txt.pid999999999.x1.part").write_text("half")
    >>> [p.name for p in remove_partial_files(folder)]
    ['.a.txt.pid999999999.x1.part']
    """
    removed = []
    root = Path(folder)
    if not root.is_dir():
        return removed
    now = time.time()
    for path in root.glob(f".*{PART_SUFFIX}"):
        match = _PID_IN_NAME.search(path.name)
        pid = int(match.group(1)) if match else None
        try:
            stale = (pid is not None and not _pid_alive(pid)) or now - path.stat().st_mtime > _STALE_AFTER_S
            if stale:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed
