"""The virtualenv that bench/postman_side.py runs in: django-postman on a Django it supports.

SecureMail runs on Django 6.1, which django-postman 4.6 does not claim; so the postman side gets
its own virtualenv under var/bench/postman-venv, built from pinned PyPI releases with the same
Python as the main venv. Stdlib only: `ensure_postman_python()` is imported by bench/mailbox.py
under the main venv's python; `python bench/postman_venv.py` prints the interpreter's path.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "bench" / "postman-venv"
REQUIREMENTS = [
    "django-postman==4.6",
    "Django==5.2.19",  # the current LTS (postman 4.6 names no Django range; 6.x is untried)
    "django-pagination-py3==2.3.0",  # the `pagination_tags` postman's folder templates load
    "psycopg[binary]==3.3.9",  # the same driver release as the main venv
]
STAMP = VENV / ".installed"


def _stamp_text() -> str:
    return "\n".join([sys.version.split()[0], *REQUIREMENTS]) + "\n"


def ensure_postman_python() -> Path:
    """Create (once) and return the python of the django-postman virtualenv."""
    python = VENV / "bin" / "python"
    wanted = _stamp_text()
    if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python
    print(f"creating {VENV.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    # `-m venv` from inside the main venv builds on the same base interpreter (same version).
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)  # noqa: S603
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)  # noqa: S603
    subprocess.run([*pip, *REQUIREMENTS], check=True)  # noqa: S603
    STAMP.write_text(wanted)
    return python


if __name__ == "__main__":
    print(ensure_postman_python())
