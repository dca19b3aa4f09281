"""Run every benchmark and print its table: `make bench` (or `.venv/bin/python bench/run.py`)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["crypto.py", "mailbox.py", "login.py", "served.py"]

if __name__ == "__main__":
    status = 0
    for name in BENCHMARKS:
        print(f"== bench/{name} ==", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / name)], cwd=HERE.parent)  # noqa: S603
        print()
    sys.exit(status)
