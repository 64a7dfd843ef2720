"""Bounded reads of the files a user names (cluster.yml, --facts, --state, key and certificate
files, addon paths): a regular file only, never more than a size cap, UTF-8 or a clear error.

An edge module: the pure core never opens files. A FIFO, a device or a directory is refused
from its ``stat`` before it is opened (so a FIFO never blocks, /dev/zero is never read), and
again from ``fstat`` after a non-blocking open (the path may have changed in between). No
error carries the file's content.
"""

from __future__ import annotations

import os
import stat

from pulumi_pyrke.errors import ConfigError, Problem

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_KEY_BYTES = 1024 * 1024


def read_bytes(path: str, *, field: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (``~`` expanded); ConfigError naming ``field``."""
    full = os.path.expanduser(path)
    try:
        _check_kind(os.stat(full), path, field, max_bytes)
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _unreadable(field, path, exc) from None
    try:
        _check_kind(os.fstat(fd), path, field, max_bytes)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1024 * 1024, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _unreadable(field, path, exc) from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise _refused(field, path, f"grew past the {_size(max_bytes)} limit while being read")
    return b"".join(chunks)


def read_text(path: str, *, field: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``; bad bytes are refused with their line."""
    data = read_bytes(path, field=field, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _refused(
            field,
            path,
            f"is not UTF-8 text (byte {exc.start + 1}, line {line}); save it as UTF-8",
        ) from None


def _check_kind(st: os.stat_result, path: str, field: str, max_bytes: int) -> None:
    mode = st.st_mode
    if not stat.S_ISREG(mode):
        kind = (
            "a directory"
            if stat.S_ISDIR(mode)
            else "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
        )
        raise _refused(field, path, f"is {kind}, not a regular file")
    if st.st_size > max_bytes:
        raise _refused(field, path, f"is {_size(st.st_size)}, over the {_size(max_bytes)} limit")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    return f"{n / 1024:.1f} kB".replace(".0 kB", " kB")


def _unreadable(field: str, path: str, exc: OSError) -> ConfigError:
    return ConfigError([Problem(path=field, message=f"cannot read {path}: {exc.strerror or exc}")])


def _refused(field: str, path: str, why: str) -> ConfigError:
    return ConfigError([Problem(path=field, message=f"{path} {why}")])
