"""PostgreSQL keeps a statement prepared once a connection has run it five times (settings:
DB_PREPARED_STATEMENTS); core.rows.planned_each_time keeps the ones inside from it."""

import pytest
from django.db import connection

from securemail.core.rows import planned_each_time

pytestmark = pytest.mark.django_db

STATEMENT = "SELECT %s + 1 AS prepared_probe"


def _run(times: int) -> list[int]:
    found = []
    with connection.cursor() as cursor:
        for n in range(times):
            cursor.execute(STATEMENT, [n])
            found.append(cursor.fetchone()[0])
    return found


def _prepared() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%prepared_probe%"],
        )
        return bool(cursor.fetchone()[0])


def test_a_statement_planned_each_time_is_never_kept_prepared() -> None:
    with planned_each_time():
        assert _run(10) == list(range(1, 11))
    if connection.vendor != "postgresql":
        return  # SQLite prepares nothing on the server: the block is a no-op there.
    assert not _prepared()
    threshold = connection.connection.prepare_threshold
    assert threshold == 5  # restored
    # The same statement outside the block: prepared by its fifth run.
    assert _run(10) == list(range(1, 11))
    assert _prepared()
