"""Model files on disk: atomic writes, and the refusal of a file on load (last below).

Atomic file writes: a complete new file, or the old one untouched.

:func:`atomic_path` gives a temporary path in the destination's folder (a short name,
so that any legal destination name works), and renames it over the destination when
the block succeeds (``os.replace``: atomic on one file system). On any failure, a full
disk included, the temporary file is removed and the previous file is left as it was.
Anything but a regular file at the destination (``/dev/null``, a device, a FIFO) is
refused, never replaced. The new file gets the permissions a plain ``open`` would give
it (``0o666`` less the umask), or keeps those of the file it replaces.
"""

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask():
    """The process's umask, read without changing it where Linux says it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)  # elsewhere: read by setting (briefly) and restoring
    os.umask(umask)
    return umask


def _check_replaceable(path):
    """Refuse to replace anything but a regular file (a link to one included): renaming
    over ``/dev/null``, a device, a FIFO or a socket would replace the node itself."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ValueError(f"Cannot write to {str(path)!r}: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(mode):
        raise ValueError(
            f"Cannot write to {str(path)!r}: it is not a regular file (a device, FIFO or "
            "socket), which saving would replace. Give the path of a new or regular file."
        )


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; move it over ``path`` when the block succeeds."""
    path = Path(os.fspath(path))
    if not path.name or path.is_dir():
        raise IsADirectoryError(f"Cannot write to {str(path)!r}: give a file name, not a folder.")
    _check_replaceable(path)
    folder = path.parent
    handle, temporary = tempfile.mkstemp(prefix=".sks", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, _mode(path))
        _check_replaceable(path)  # again: it may have appeared meanwhile
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- A model file refused on load: the exception the readers raise (``load`` turns it into
# one ``ValueError``) and the small readers that refuse, shared by ``_persistence`` and
# ``_persistence_columns`` so that neither imports the other for them.


class Refused(Exception):
    pass


def refuse(why):
    raise Refused(why)


def take(arrays, key, used):
    """``arrays[key]``, marked as used; a missing array refuses the file."""
    if key not in arrays:
        refuse(f"array {key!r} is missing.")
    used.add(key)
    return arrays[key]


def set_output(estimator, output, where):
    """Apply a stored ``set_output`` container, refusing unknown ones."""
    if output not in (None, "pandas", "polars"):
        refuse(f"{where} has an unknown output container {output!r}.")
    if output is not None:  # set_output(transform=...) as saved
        try:
            estimator.set_output(transform=output)
        except Exception as exc:  # the container's library is not installed here
            refuse(f"{where} outputs {output}, which cannot be used here ({exc}).")
