"""Files on disk, handled safely: the private data directory, user-facing writes, bounded reads, locks.

Everything rxdesk keeps (the database, the SOP index, evidence copies, keys) is PHI or guards PHI,
so the data directory is private to the account that runs rxdesk: the directory is 0700 and every
file in it 0600, whatever the umask (:func:`secure_data_dir`). Chroma and SQLite create their own
files (``-wal``/``-shm`` journals, HNSW segments), so the process umask is tightened to 077 when a
data directory is opened; SQLite gives its journals the database file's mode.

Files written for a user (an exported draft, an ICS calendar) go through :func:`safe_write`: never
into the data directory or a system directory (whatever ``..`` or symlinks the path takes), never
through a symlink, never over an existing file unless the caller says so, and atomically (a temp file
in the same directory, then a rename), so a crash leaves the old file or the new one, not half of one.

Messages name fields (``force``), never CLI flags; adapters word them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.errors import Conflict, InvalidInput

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# System trees nothing of ours is ever written to, or read from as evidence.
SYSTEM_ROOTS = (
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/etc",
    "/boot",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/var/lib",
    "/var/run",
    "/var/log",
)

_secured: set[str] = set()


# ---- the private data directory ------------------------------------------------------------------


def tighten_umask() -> None:
    """Make files this process creates private (0600 files, 0700 directories) from now on."""
    os.umask(0o077)


def _tighten(path: Path, mode: int) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        return  # never chmod through a symlink
    if stat.S_IMODE(st.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(st.st_mode) & mode)


def secure_tree(root: Path) -> None:
    """Clear group/other permission bits on ``root`` and everything under it (not following links)."""
    _tighten(root, PRIVATE_DIR)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            _tighten(Path(dirpath) / d, PRIVATE_DIR)
        for f in filenames:
            _tighten(Path(dirpath) / f, PRIVATE_FILE | 0o100)  # keep an owner-execute bit if any


def secure_data_dir(data_dir: Path) -> None:
    """Create the data directory 0700 (or tighten an existing one and its files), once per process."""
    tighten_umask()
    data_dir = Path(data_dir)
    if not data_dir.exists():
        data_dir.parent.mkdir(parents=True, exist_ok=True)  # folders above it are the user's business
        private_mkdir(data_dir)
    key = str(data_dir.resolve())
    if key in _secured:
        _tighten(data_dir, PRIVATE_DIR)
        return
    secure_tree(data_dir)
    _secured.add(key)


def private_mkdir(path: Path) -> Path:
    """``mkdir -p`` where every folder created is 0700 (``Path.mkdir`` gives parents the umask's mode)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR)
        _tighten(folder, PRIVATE_DIR)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a small private file (keys, manifests) atomically with mode 0600."""
    private_mkdir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, PRIVATE_FILE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def create_secret(path: Path, size: int = 32) -> bytes:
    """Read the secret at ``path``, creating it (random, 0600) on first use; first writer wins."""
    path = Path(path)
    if not path.is_file():
        import secrets

        private_mkdir(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(size))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, PRIVATE_FILE)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # atomic: a concurrent creator keeps the winner's secret
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    _tighten(path, PRIVATE_FILE)
    return path.read_bytes()


# ---- where a path really goes --------------------------------------------------------------------


def is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def real_target(path: Path) -> Path:
    """Where writing ``path`` would really land: the nearest existing ancestor with every symlink and
    ``..`` resolved, plus the components that do not exist yet (which may not contain ``..``)."""
    path = Path(path).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path  # not normalized: ``..`` must be resolved by the file system
    missing: list[str] = []
    probe = path
    while not os.path.lexists(probe):
        missing.append(probe.name)
        if probe.parent == probe:
            break
        probe = probe.parent
    if any(part in ("..", ".") for part in missing):
        raise InvalidInput(f"{path}: goes through '..' in a folder that does not exist", field="path")
    base = Path(os.path.realpath(probe)) if missing else Path(os.path.realpath(probe.parent)) / probe.name
    for part in reversed(missing):
        base = base / part
    return base


def protected_reason(target: Path, protected: list[Path]) -> str | None:
    """Why ``target`` (already resolved) may not be written, or None."""
    for root in protected:
        real_root = Path(os.path.realpath(root))
        if target == real_root or is_within(target, real_root):
            return "it is inside rxdesk's data directory (the database, index and keys live there)"
    for root in SYSTEM_ROOTS:
        if target == Path(root) or is_within(target, Path(root)):
            return f"it is inside the system folder {root}"
    return None


def protected_paths(settings: Any) -> list[Path]:
    """What a user-facing write must never touch: the data directory, the chain key (which may live
    elsewhere) and a SQLite database kept outside the data directory."""
    paths = [Path(settings.data_dir), Path(settings.chain_key_path)]
    url = str(settings.db_url)
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return paths


def safe_write(path: Path, data: bytes, *, protected: list[Path], force: bool = False) -> Path:
    """Write ``data`` to ``path`` for a user; returns the real path written.

    Refuses (one-line :class:`InvalidInput`/:class:`Conflict`, nothing written): a target inside
    ``protected`` (the data directory, key files) or a system folder, however the path reaches it;
    a symlink as the final component; an existing file unless ``force``; an existing non-regular or
    read-only file even with ``force``. The write is atomic: temp file in the same folder, fsync,
    then a no-clobber link (or a rename when ``force``).
    """
    given = Path(path)
    if given.name in ("", ".", ".."):
        raise InvalidInput(f"{given}: name a file, not a folder", field="path")
    target = real_target(given)
    why = protected_reason(target, protected)
    if why:
        raise InvalidInput(f"will not write {given}: {why}", code="protected_path", field="path")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise InvalidInput(f"will not write {given}: it is a symbolic link", code="symlink", field="path")
        if stat.S_ISDIR(st.st_mode):
            raise InvalidInput(f"will not write {given}: it is a folder", field="path")
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"will not write {given}: it is not a regular file", field="path")
        if not st.st_mode & 0o222:
            raise InvalidInput(
                f"will not replace {given}: the file is read-only", code="read_only", field="path"
            )
        if not force:
            raise _exists(given)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise InvalidInput(f"cannot write {given}: {exc.strerror}", field="path") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, target)
        else:
            _link_no_clobber(Path(tmp), target, given)
        _fsync_dir(folder)
    except OSError as exc:
        raise InvalidInput(f"cannot write {given}: {exc.strerror}", field="path") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def _exists(given: Path) -> Conflict:
    return Conflict(
        f"{given} already exists; choose another name or replace it explicitly", code="exists", field="force"
    )


def _link_no_clobber(tmp: Path, target: Path, given: Path) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _exists(given) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # no hard links here (some network/FAT mounts): reserve the name, then rename over it
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        except FileExistsError:
            raise _exists(given) from None
        os.replace(tmp, target)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- bounded reads of user-supplied files --------------------------------------------------------


def read_input_bytes(path: Path, *, what: str, max_bytes: int) -> bytes:
    """The bytes of a user-supplied input file: a regular file, under ``max_bytes``."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InvalidInput(f"{what} not found: {path}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"{what} {path} is not a regular file")
    if st.st_size > max_bytes:
        raise InvalidInput(
            f"{path.name}: {human_size(st.st_size)} is too large for a {what} (limit {human_size(max_bytes)})"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise InvalidInput(f"{path.name}: too large for a {what} (limit {human_size(max_bytes)})")
    return data


def read_input_text(path: Path, *, what: str, max_bytes: int) -> str:
    """A user-supplied UTF-8 text file (BOM tolerated), under ``max_bytes``; one-line errors."""
    data = read_input_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{Path(path).name}: not UTF-8 text (byte {exc.start}); save it as UTF-8 and try again"
        ) from None


def human_size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} bytes"


# ---- an exclusive lock across processes ----------------------------------------------------------


class LockBusy(Exception):
    """The lock is held by someone else; ``holder`` is what they wrote into the lock file."""

    def __init__(self, holder: dict[str, Any]) -> None:
        super().__init__("lock busy")
        self.holder = holder


@contextlib.contextmanager
def file_lock(
    path: Path, *, holder: dict[str, Any] | None = None, wait: float = 0.0, poll: float = 0.1
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600) for the ``with`` block.

    ``flock`` locks belong to the open file, so they exclude other processes and other threads alike,
    vanish when the holder dies (kill -9 included), and on Linux NFS clients are mapped to POSIX
    locks the server honours. ``holder`` (who, since when) is written into the file so a refused
    caller can say who holds it. Waits up to ``wait`` seconds, then raises :class:`LockBusy`.
    """
    private_mkdir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(_wait_for_holder(path)) from None
                time.sleep(poll)
        if holder is not None:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            if holder is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait_for_holder(path: Path, patience: float = 1.0) -> dict[str, Any]:
    """Who holds the lock: the holder writes it just after locking, so give it a moment."""
    until = time.monotonic() + patience
    holder = _read_holder(path)
    while not holder and time.monotonic() < until:
        time.sleep(0.02)
        holder = _read_holder(path)
    return holder


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
