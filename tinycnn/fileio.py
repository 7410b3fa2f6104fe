"""Safe file I/O shared by every command: checked input paths and atomic output writes.

Every writer (blob, run -o, eval --json, simulate --json/--plot, tradeoff outputs, export-c)
goes through :func:`atomic_open`: the data goes to an unpredictable temp name in the target's
folder, created exclusively (``tempfile.mkstemp``: O_CREAT|O_EXCL, never following a link),
is fsynced and then renamed over the target. The temp file is removed on every exit path
(exceptions, KeyboardInterrupt, and SIGTERM, which the CLI turns into SystemExit).

Output rules: an empty name, a directory, or an existing special file (FIFO, device, socket)
is refused; a missing parent folder is an error unless the caller asks for it to be created.
An existing symlink at the target is replaced by the new file (its target is never written).
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from tinycnn.errors import TinyCNNError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_path(path, what: str = "output", make_parents: bool = False) -> Path:
    """The output path as a Path, or a TinyCNNError saying why it cannot be written."""
    if path is None or str(path).strip() == "":
        raise TinyCNNError(f"empty {what} file name")
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise TinyCNNError(f"{path}: cannot write {what} ({exc.strerror})") from exc
    if st is not None and not stat.S_ISLNK(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise TinyCNNError(f"{path}: is a directory; give the {what} a file name "
                               f"(e.g. {path / ('out' + (path.suffix or ''))})")
        if not stat.S_ISREG(st.st_mode):
            raise TinyCNNError(f"{path}: is not a regular file (a device, FIFO or socket); "
                               f"refusing to write the {what} there")
    parent = path.parent
    if not parent.is_dir():
        if parent.exists():
            raise TinyCNNError(f"{path}: cannot write {what}: {parent} is not a directory")
        if not make_parents:
            raise TinyCNNError(f"{path}: cannot write {what}: folder {parent} does not exist")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TinyCNNError(f"{path}: cannot create folder {parent} ({exc.strerror})") from exc
    return path


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb", what: str = "output", make_parents: bool = False):
    """``with atomic_open(p, "w") as f: f.write(...)`` -- all or nothing at ``p``."""
    path = check_output_path(path, what, make_parents)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise TinyCNNError(f"{path}: cannot write {what} ({exc.strerror})") from exc
    try:
        kwargs = {} if "b" in mode else {"encoding": "utf-8"}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp, path)
    except OSError as exc:
        raise TinyCNNError(f"{path}: cannot write {what} ({exc.strerror or exc})") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write(path, data, what: str = "output", make_parents: bool = False) -> Path:
    """Write bytes or str to ``path`` atomically (see atomic_open)."""
    mode = "wb" if isinstance(data, (bytes, bytearray, memoryview)) else "w"
    with atomic_open(path, mode, what, make_parents) as f:
        f.write(data)
    return Path(path)


def save_figure(fig, path, what: str = "plot", **kwargs) -> Path:
    """matplotlib ``fig.savefig`` through atomic_open (format from the suffix, png by default)."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    with atomic_open(path, "wb", what) as f:
        fig.savefig(f, format=fmt, **kwargs)
    return Path(path)


def check_outputs(*pairs):
    """check_output_path for each (path or None, what) given on a command line, before the work."""
    for path, what in pairs:
        if path is not None:
            check_output_path(path, what)


def check_input_file(path, what: str = "input") -> Path:
    """An existing regular file (a FIFO or device would block or stream forever)."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise TinyCNNError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise TinyCNNError(f"{path}: cannot read {what} ({exc.strerror})") from exc
    if stat.S_ISDIR(st.st_mode):
        raise TinyCNNError(f"{path}: is a directory, not a{'n' if what[0] in 'aeiou' else ''} "
                           f"{what} file")
    if not stat.S_ISREG(st.st_mode):
        raise TinyCNNError(f"{path}: is not a regular file (a FIFO, device or socket); "
                           f"give the {what} as a file")
    return path


def install_signal_handlers():
    """SIGTERM/SIGHUP -> SystemExit so that finally-blocks (temp-file removal) run."""
    import signal

    def _terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                previous[sig] = signal.signal(sig, _terminate)
    return previous


def restore_signal_handlers(previous):
    import signal
    for sig, handler in previous.items():
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(sig, handler)
