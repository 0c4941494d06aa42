"""Output folders: checked before any work, and written only inside.

:func:`check_out_dir` is what every command with ``--out`` calls before it computes anything, so
that a folder it cannot write costs one clear error at once rather than a traceback at the end of
a long run. :func:`safe_name` and :func:`output_path` keep the files a report writes inside its
folder whatever the records it renders say (a record's ``experiment`` of ``../x`` or ``/etc/x``).
Standard library only: importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["check_out_dir", "output_path", "safe_name"]

#: Longest file-name stem :func:`safe_name` returns (file systems allow 255 bytes for a whole name).
MAX_STEM = 100


def _fail(flag: str, path: Path, problem: str, fix: str) -> ValueError:
    return ValueError(f"{flag} {str(path)!r}: {problem}; {fix}.")


def _existing_ancestor(path: Path, flag: str) -> Path:
    """The nearest ancestor of ``path`` (itself included) that exists; every one of them must be a folder."""
    for candidate in (path, *path.parents):
        try:
            exists = candidate.exists()
        except OSError as err:  # permission denied on a parent, a name too long, ...
            raise _fail(flag, path, f"cannot look at {str(candidate)!r} ({err.strerror or err})",
                        "pass a folder you can read") from None
        if candidate.is_symlink() and not exists:
            raise _fail(flag, path, f"{str(candidate)!r} is a symbolic link to a missing target",
                        "create its target or pass another folder")
        if not exists:
            continue
        if not candidate.is_dir():
            where = "is a file" if candidate == path else f"has a parent {str(candidate)!r} that is a file"
            raise _fail(flag, path, f"the path {where}, not a folder", "pass a folder path (or move the file away)")
        return candidate
    raise _fail(flag, path, "no part of the path exists", "pass a folder inside one that exists")  # pragma: no cover


def check_out_dir(path: str | os.PathLike[str], *, must_be_empty: bool = False, flag: str = "--out") -> Path:
    """Check that an output folder can be written, before any work; create it; return it as a Path.

    Parameters
    ----------
    path : str or path-like
        The folder a command will write into (``~`` is expanded).
    must_be_empty : bool
        Refuse a folder that already holds files (for commands that must not mix their output
        with an earlier run's).
    flag : str
        The command-line flag the path came from, named in the error (default ``--out``).

    Returns
    -------
    Path
        ``path`` (user-expanded), now an existing folder in which a file was just created and
        removed (which also proves it writable where permission bits do not tell, e.g. on a
        read-only file system or for root).

    Raises
    ------
    ValueError
        At once, naming ``flag``, the path and the fix, when the path is a file, has a parent
        that is a file (``file/sub``), goes through a symbolic link to a missing target or a
        link loop, cannot be created or written (read-only), or is not empty with ``must_be_empty``.
    """
    out = Path(path).expanduser()
    try:
        out.resolve()
    except (OSError, RuntimeError) as err:  # a symlink loop (RuntimeError before Python 3.13)
        raise _fail(flag, out, f"cannot be resolved ({err})", "pass a path without a symbolic-link loop") from None
    base = _existing_ancestor(out, flag)
    if not os.access(base, os.W_OK | os.X_OK):
        what = "is" if base == out else f"would be created in {str(base)!r}, which is"
        raise _fail(flag, out, f"the folder {what} not writable (read-only)",
                    "pass a folder you can write, or change its permissions")
    if must_be_empty and base == out and any(out.iterdir()):
        raise _fail(flag, out, "the folder is not empty", "pass a new or empty folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".agora-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise _fail(flag, out, f"cannot create the folder or write a file in it ({err.strerror or err})",
                    "pass a folder you can write (not on a read-only file system)") from None
    return out


def safe_name(text: str) -> str:
    """A file-name stem from any text: runs of characters other than ``A-Z a-z 0-9 _ . -`` become ``-``.

    Leading dots and dashes are dropped (no hidden files, nothing read as an option, never ``.``
    or ``..``), the stem is cut at :data:`MAX_STEM` characters, and an empty result is ``"untitled"``:
    ``"../x"`` → ``"x"``, ``"/etc/passwd"`` → ``"etc-passwd"``, ``"chain/0"`` → ``"chain-0"``.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).lstrip(".-")[:MAX_STEM]
    return stem or "untitled"


def unique_stems(texts: Iterable[str]) -> dict[str, str]:
    """:func:`safe_name` of each text, made distinct: texts whose stems would coincide (``"a/b"`` and
    ``"a-b"``) each get ``-`` and the first 8 hex digits of their text's sha256 appended, so one
    section's files never overwrite another's. A text whose stem is its own keeps it unchanged.
    """
    texts = list(dict.fromkeys(str(t) for t in texts))
    stems = {t: safe_name(t) for t in texts}
    counts = Counter(stems.values())
    return {
        t: stem if counts[stem] == 1 else f"{stem[: MAX_STEM - 9]}-{hashlib.sha256(t.encode()).hexdigest()[:8]}"
        for t, stem in stems.items()
    }


def output_path(directory: str | os.PathLike[str], name: str) -> Path:
    """``directory/name`` (as given) for a file a report writes, refused unless it lies inside ``directory``.

    ``name`` must be a plain file name (no separator, not ``.`` or ``..``); the folder is resolved
    and the joined path normalised and checked to lie inside it. The last component is not
    followed: when ``name`` is a symbolic link, the atomic writer (:func:`verify.records.atomic_write`)
    replaces the link itself and never writes through it into its target.

    Raises
    ------
    ValueError
        When ``name`` is not a plain file name, the path leaves ``directory``, or ``name`` is an
        existing folder.
    """
    seps = {os.sep, "/", *([os.altsep] if os.altsep else [])}
    if not name or name in (".", "..") or any(s in name for s in seps) or "\0" in name:
        raise ValueError(f"output file name {name!r} is not a plain file name; pass a name made by safe_name().")
    root = Path(directory).resolve()
    target = Path(os.path.normpath(root / name))
    if target.parent != root or not target.is_relative_to(root):
        raise ValueError(f"output file {name!r} would be written outside {str(root)!r}; refused.")
    if target.is_dir() and not target.is_symlink():
        raise ValueError(f"output file {str(target)!r} is a folder; move it away and render again.")
    return Path(directory) / name
