"""Issue 10 under concurrency: a recovery code and an authenticator app's code are each
good once, also when the same code is posted many times at the same moment (threads with
their own database connections; on PostgreSQL, real parallel transactions)."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from securemail.accounts.models import TwoStepMethod, User
from securemail.accounts.security import setup, signin
from securemail.accounts.tests.twostep import fresh_code, turn_on_app

pytestmark = pytest.mark.django_db(transaction=True)

TRIES = 8


def _at_once(attempt: Callable[[int], None]) -> list[bool]:
    """Run `attempt(n)` in TRIES threads released together; which of them passed."""
    start = threading.Barrier(TRIES)
    passed = [False] * TRIES

    def run(n: int) -> None:
        try:
            start.wait()
            attempt(n)
            passed[n] = True
        except (signin.SecondStepRefused, signin.TooManyRequests):
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(TRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return passed


def test_one_recovery_code_posted_eight_times_at_once_works_once(doctor: User) -> None:
    turn_on_app(doctor)
    [code, *_] = setup.regenerate_recovery_codes(user=doctor)

    passed = _at_once(
        lambda n: signin.check_second_step(
            user=User.objects.get(pk=doctor.pk),
            method=signin.RECOVERY,
            code=code,
            client_ip=f"192.0.2.{n + 1}",
        )
    )

    assert passed.count(True) == 1


def test_one_app_code_posted_eight_times_at_once_works_once(doctor: User) -> None:
    code = fresh_code(turn_on_app(doctor))

    passed = _at_once(
        lambda n: signin.check_second_step(
            user=User.objects.get(pk=doctor.pk),
            method=TwoStepMethod.APP,
            code=code,
            client_ip=f"192.0.2.{n + 1}",
        )
    )

    assert passed.count(True) == 1
