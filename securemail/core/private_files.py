"""What SecureMail keeps on disk is its owner's alone: the SQLite database, key files, the
file store, the demo password and the mail catcher's files under `var/` (or
SECUREMAIL_VAR_DIR), none readable by another account of the machine."""

import os
import stat
from pathlib import Path

# New files 0600, new directories 0700.
PRIVATE_UMASK = 0o077
OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def create_files_private() -> None:
    """Called first by the processes SecureMail starts: manage.py (so `runlocal`, the
    worker and every command) and wsgi.py (gunicorn's workers). Whatever they create from
    then on, the SQLite database and its journal included, is the owner's alone."""
    os.umask(PRIVATE_UMASK)


def make_private(var_dir: Path) -> None:
    """Take group and other permissions off `var_dir` and off what lies directly in it
    (an older version, or a copy, may have left them readable): once `var_dir` is 0700
    nothing under it is reachable by others. What this account may not change stays as it
    is (`open_to_others` finds it, for the system check). Called at startup."""
    for path in _var_dir_and_entries(var_dir):
        try:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & OPEN_TO_OTHERS:
                path.chmod(stat.S_IMODE(mode) & ~OPEN_TO_OTHERS)
        except OSError:
            # Gone meanwhile, someone else's, or a read-only file system.
            continue


def open_to_others(var_dir: Path) -> list[Path]:
    """`var_dir` and what lies directly in it that another account may open."""
    found = []
    for path in _var_dir_and_entries(var_dir):
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if not stat.S_ISLNK(mode) and mode & OPEN_TO_OTHERS:
            found.append(path)
    return found


def _var_dir_and_entries(var_dir: Path) -> list[Path]:
    try:
        return [var_dir, *var_dir.iterdir()]
    except OSError:
        # Not there (production may keep nothing in it), or not ours to list.
        return []
