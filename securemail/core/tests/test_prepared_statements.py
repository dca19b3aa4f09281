"""PostgreSQL keeps the statements run inside core.rows.kept_prepared prepared (settings:
DB_PREPARED_STATEMENTS); every other statement, the ORM's included, is planned each time."""

import pytest
from django.db import connection
from django.test import override_settings

from securemail.core.rows import kept_prepared

pytestmark = pytest.mark.django_db


def _run(statement: str, times: int) -> list[int]:
    found = []
    with connection.cursor() as cursor:
        for n in range(times):
            cursor.execute(statement, [n])
            found.append(cursor.fetchone()[0])
    return found


def _prepared(marker: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{marker}%"],
        )
        return bool(cursor.fetchone()[0])


def test_only_the_statements_kept_prepared_are_prepared() -> None:
    assert _run("SELECT %s + 1 AS planned_probe", 10) == list(range(1, 11))
    with kept_prepared():
        assert _run("SELECT %s + 2 AS kept_probe", 3) == list(range(2, 5))
    if connection.vendor != "postgresql":
        return  # SQLite prepares nothing on a server: the block is a no-op there.
    assert not _prepared("planned_probe")
    assert _prepared("kept_probe")
    assert connection.connection.prepare_threshold is None  # restored after the block


@override_settings(SECUREMAIL_PREPARED_STATEMENTS=False)
def test_with_prepared_statements_off_nothing_is_kept() -> None:
    with kept_prepared():
        assert _run("SELECT %s + 3 AS off_probe", 3) == list(range(3, 6))
    if connection.vendor == "postgresql":
        assert not _prepared("off_probe")
