# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Opening files a host holds (a trace log, an SDK's manifest, an archive). Private to the collection.

A FIFO would block its reader for ever and a character device (``/dev/zero``) never ends, so anything but a
regular file is refused before a byte is read: :func:`open_regular`.
"""

from __future__ import annotations

import io
import os
import stat


class NotRegularFile(OSError):
    """A host file to be read is a FIFO, a device, a socket or a directory."""


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def open_regular(path: str) -> io.BufferedReader:
    """``path`` opened for reading in binary, if it is a regular file (after symbolic links); else
    :class:`NotRegularFile` naming what it is. ``O_NONBLOCK`` makes the open of a FIFO without a writer return at
    once, and the kind is read from the open descriptor (``fstat``), so the file cannot be swapped after the check."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise error from None
        _refuse_if_not_regular(mode)  # a socket cannot be opened at all: name it
        raise
    try:
        _refuse_if_not_regular(os.fstat(descriptor).st_mode)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _refuse_if_not_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        raise NotRegularFile(f"not a regular file but {kind}")
