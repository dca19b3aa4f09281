"""What a failed login costs, path by path, with the production password hasher (issue 9:
a wrong password for an invited or locked account answered in 50 ms, for an unknown or
active one in 300 ms, so timing told who was invited).

Posts the login form through Django's test client (server time, in-process, SQLite in a
temporary directory) with Django's Argon2 at its default cost, for an unknown address, an
invited account, one whose registration started, one registered without a password yet, a
locked one, an inactive one and an active one with a wrong password (and, for scale, a
login that succeeds). Runs the paths in turn, RUNS rounds after a warm-up, and prints the
median and p95 of each and how far each median is from the slowest.

    .venv/bin/python bench/login.py [--runs N]
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemail.settings_test")
os.environ.pop("DATABASE_URL", None)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

PASSWORD = "correct horse battery staple 42"  # noqa: S105 (the bench accounts' password)
WRONG = "not the password 123"
PRODUCTION_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def build() -> dict[str, tuple[str, str, Callable[[], None]]]:
    """path → (email, password, reset before each run)."""
    from securemail.accounts.models import User

    def user(email: str, *, password: bool = True, **fields: object) -> User:
        made = User.objects.create_user(
            email, PASSWORD if password else None, kind="staff", full_name="Bench", **fields
        )
        return made

    user("invited@bench.test", password=False, status=User.Status.INVITED)
    user("started@bench.test", password=False, status=User.Status.STARTED)
    user("registered@bench.test", password=False, status=User.Status.REGISTERED)
    user("locked@bench.test", status=User.Status.ACTIVE, locked_at=timezone.now(), failed_logins=5)
    user("inactive@bench.test", status=User.Status.ACTIVE, is_active=False)
    active = user("active@bench.test", status=User.Status.ACTIVE)

    def nothing() -> None:
        pass

    def unlock_active() -> None:
        User.objects.filter(pk=active.pk).update(failed_logins=0, locked_at=None)

    return {
        "unknown address": ("nobody@bench.test", WRONG, nothing),
        "invited (no password yet)": ("invited@bench.test", WRONG, nothing),
        "registration started": ("started@bench.test", WRONG, nothing),
        "registered, password not set": ("registered@bench.test", WRONG, nothing),
        "locked": ("locked@bench.test", WRONG, nothing),
        "inactive": ("inactive@bench.test", WRONG, nothing),
        "active, wrong password": ("active@bench.test", WRONG, unlock_active),
        "(success, for scale)": ("active@bench.test", PASSWORD, unlock_active),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=25)
    runs = parser.parse_args().runs

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    with override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS):
        paths = build()
        times: dict[str, list[float]] = {name: [] for name in paths}
        for round_ in range(runs + 1):
            for name, (email, password, reset) in paths.items():
                reset()
                # Every run starts with fresh limits: this measures the path, not the 429.
                cache.clear()
                client = Client()
                started = time.perf_counter()
                response = client.post(
                    "/accounts/login/", {"username": email, "password": password}
                )
                took = time.perf_counter() - started
                expected = 302 if password == PASSWORD else 200
                assert response.status_code == expected, (name, response.status_code)
                if round_:
                    times[name].append(took * 1000)

    from django.contrib.auth.hashers import Argon2PasswordHasher

    hasher = Argon2PasswordHasher()
    print(
        f"Argon2 (Django's default cost: time {hasher.time_cost}, memory "
        f"{hasher.memory_cost} KiB, {hasher.parallelism} lanes), {runs} runs per path, "
        f"Python {sys.version.split()[0]}, Django {django.get_version()}"
    )
    failed = [name for name in paths if not name.startswith("(")]
    slowest = max(statistics.median(times[name]) for name in failed)
    print(f"| {'failed login path':<32} | median ms | p95 ms | vs slowest |")
    print(f"|{'-' * 34}|----------:|-------:|-----------:|")
    for name in paths:
        median = statistics.median(times[name])
        p95 = statistics.quantiles(times[name], n=20)[-1]
        gap = f"{(median - slowest) / slowest:+.1%}" if name in failed else ""
        print(f"| {name:<32} | {median:9.1f} | {p95:6.1f} | {gap:>10} |")
    spread = slowest - min(statistics.median(times[name]) for name in failed)
    print(f"Spread of the failed paths' medians: {spread:.1f} ms ({spread / slowest:.1%}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
