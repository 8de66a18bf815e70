"""Guards shared by the loaders and the command line.

* how much memory this process can still get (the machine's available memory, lowered by any resource limit),
  so that sizes read from a file or an argument are refused *before* anything that big is allocated;
* files written atomically: a temporary file beside the target (named after it and this process), flushed to
  disk, then renamed over the target, with the mode a plain ``open()`` would give (the umask), stale
  temporaries of killed writers removed, and a one-line error naming the file when the disk is full;
* an exclusive lock beside a file that one process at a time should write.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from .errors import TinygradMLPError, WriteError

# ---------------------------------------------------------------------- memory


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    if n >= 1 << 60:  # beyond PiB: an absurd size, maybe too big for a float
        exponent = math.floor(math.log10(n))
        return f"{n / 10**exponent:.2f}e+{exponent} bytes" if exponent < 300 else f"about 1e+{exponent} bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _mapped_bytes() -> int:
    """This process's virtual size (what RLIMIT_AS counts), 0 when unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def memory_budget() -> int:
    """Bytes this process can still allocate: the machine's available memory (Linux ``MemAvailable``, else its
    physical memory), lowered by the ``RLIMIT_AS`` / ``RLIMIT_DATA`` soft limits minus what is already mapped."""
    budget = _meminfo_available()
    if budget is None:
        try:
            budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            budget = 1 << 62
    try:
        import resource
    except ImportError:  # Windows
        return budget
    used = _mapped_bytes()
    for limit_name in ("RLIMIT_AS", "RLIMIT_DATA"):
        limit = getattr(resource, limit_name, None)
        if limit is None:
            continue
        soft, _ = resource.getrlimit(limit)
        if soft != resource.RLIM_INFINITY and soft >= 0:
            budget = min(budget, max(soft - used, 0))
    return budget


def check_memory(nbytes: int, what: str, error: type[TinygradMLPError] = TinygradMLPError) -> None:
    """Raise ``error`` ("<what> needs about N of memory, more than ...") when ``nbytes`` exceeds
    :func:`memory_budget`."""
    budget = memory_budget()
    if nbytes > budget:
        raise error(f"{what} needs about {human_bytes(nbytes)} of memory, more than this machine can give it "
                    f"({human_bytes(budget)} available)")


# ---------------------------------------------------------------------- atomic writes


_NAME_ROOM = 200  # bytes of a file's name kept in its temporaries' and lock's names (a name may have 255)


def _short_name(path: Path) -> str:
    """``path``'s name, shortened (with a hash of the whole) when a temporary or lock named after it would pass
    the file system's 255-byte limit on a name."""
    name = path.name
    if len(os.fsencode(name)) <= _NAME_ROOM:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    return os.fsdecode(os.fsencode(name)[:_NAME_ROOM - 13]).rstrip("\ufffd") + "~" + digest


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: Path) -> int:
    """The mode ``open(path, "w")`` would leave: the existing file's, else 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


_STALE_AGE = 3600.0  # seconds after which a temporary without a writer's pid (older versions') counts as stale


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporaries of ``path`` left by writers that died mid-write (``kill -9``, power loss); returns them.

    A temporary is ``.<name>.<pid>-<random>.tmp``: it is stale when that process no longer exists. Temporaries
    of older versions (``.<name>.<random>.tmp``, no pid) count as stale after an hour.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    prefix = f".{_short_name(path)}."
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")]
        m = re.fullmatch(r"(\d+)-[A-Za-z0-9_]+", middle)
        try:
            if m:
                pid = int(m.group(1))
                if pid == os.getpid() or _pid_alive(pid):
                    continue
            elif not re.fullmatch(r"[A-Za-z0-9_]{6,}", middle) or time.time() - entry.stat().st_mtime < _STALE_AGE:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _reason(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object], what: str = "the file") -> Path:
    """Write ``path`` through ``write(binary file)`` atomically; returns ``path``.

    A crash or a full disk leaves the previous file (or none) in place, never a partial one. Raises
    :class:`WriteError` naming the file, the reason, and whether a previous version was kept.
    """
    path = Path(path)
    existed = path.exists()
    kept = f"the previous {path} was kept" if existed else "nothing was written"
    if path.is_dir():
        raise WriteError(f"{path}: is a folder; cannot write {what} there")
    if path.exists() and not path.is_file():  # a device, a pipe, a socket: never replaced by a regular file
        raise WriteError(f"{path}: exists and is not a regular file; refusing to replace it with {what}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"{path}: cannot create its folder {path.parent} ({_reason(e)})") from None
    mode = new_file_mode(path)
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{_short_name(path)}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise WriteError(f"{path}: cannot write {what} ({_reason(e)}); {kept}") from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, TinygradMLPError):
            raise WriteError(f"{path}: could not write {what} ({_reason(e)}); {kept}") from None
        raise
    return path


def check_writable(path: str | os.PathLike, what: str) -> Path:
    """Check, before any long work, that ``path`` can be written: not a folder, and the nearest folder that
    exists on its way is writable (a probe file is created and removed there; no folder is created). Raises
    :class:`WriteError` naming ``what`` (e.g. ``--out``)."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"{what} {path} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise WriteError(f"{what} {path} exists and is not a regular file")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise WriteError(f"{what} {path} cannot be written: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{_short_name(path)}.{os.getpid()}-", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise WriteError(f"{what} {path} cannot be written: {folder}: {_reason(e)}") from None
    return path


# ---------------------------------------------------------------------- locks


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside ``path`` for the block, or raise :class:`WriteError` at once when another
    process holds it. No-op where ``fcntl`` is missing (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = Path(path)
    lock_path = path.parent / f".{_short_name(path)}.lock"
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # the file's folder: made when the work starts
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise WriteError(f"{lock_path}: cannot create the lock file of {path} ({_reason(e)})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
            except OSError:
                holder = ""
            os.close(fd)
            by = f" (process {holder})" if holder.isdigit() else ""
            raise WriteError(f"{path}: another process{by} is already writing {what} there; wait for it to finish "
                             f"or choose another --out") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except OSError:
            same = False
        if same:  # else the holder removed the file between our open and lock: lock the new one
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        os.close(fd)
