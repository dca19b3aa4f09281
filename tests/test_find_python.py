"""scripts/find-python (used by make): Python 3.13 first (pyenv's, through .python-version,
or python3.13 on PATH), before any other python3 >= 3.12."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "find-python"


def _fake_python(path: Path, version: tuple[int, int]) -> Path:
    """An executable that answers find-python's version check as Python `version` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f'exec {sys.executable} -c "import sys; sys.version_info = {(*version, 0)!r}; '
        'exec(sys.argv[1])" "$2"\n'
    )
    path.chmod(0o755)
    return path


def _find(bin_dir: Path, tmp_path: Path) -> str:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [str(SCRIPT)], env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    # Only the fakes: hide the machine's own pythons and pyenv behind them.
    path = tmp_path / "bin"
    path.mkdir()
    for name in ("python3", "python3.12", "python3.13", "python3.14", "pyenv"):
        if not (path / name).exists() and shutil.which(name, path="/usr/bin:/bin"):
            _fake_python(path / name, (3, 11))
    return path


def test_python3_13_is_preferred_to_a_newer_default_python3(bin_dir: Path, tmp_path: Path) -> None:
    _fake_python(bin_dir / "python3", (3, 14))
    chosen = _fake_python(bin_dir / "python3.13", (3, 13))

    assert _find(bin_dir, tmp_path) == str(chosen)


def test_pyenvs_3_13_through_python_version_comes_first(bin_dir: Path, tmp_path: Path) -> None:
    _fake_python(bin_dir / "python3", (3, 12))
    _fake_python(bin_dir / "python3.13", (3, 13))
    root = tmp_path / "pyenv"
    chosen = _fake_python(root / "versions" / "3.13.1" / "bin" / "python3", (3, 13))
    pyenv = bin_dir / "pyenv"
    pyenv.write_text(f'#!/bin/sh\ncase "$1" in root) echo {root};; which) echo {chosen};; esac\n')
    pyenv.chmod(0o755)

    assert _find(bin_dir, tmp_path) == str(chosen)


def test_without_3_13_any_python3_from_3_12_is_taken(bin_dir: Path, tmp_path: Path) -> None:
    chosen = _fake_python(bin_dir / "python3", (3, 12))

    assert _find(bin_dir, tmp_path) == str(chosen)


def test_nothing_older_than_3_12_is_taken(bin_dir: Path, tmp_path: Path) -> None:
    _fake_python(bin_dir / "python3", (3, 11))

    assert _find(bin_dir, tmp_path) == ""
