"""Django's database sessions, read by one statement of constant text.

Every request loads its session; building that query with the ORM took 0.5 ms, four times
running it (bench/served.py). Everything else (the table, saving, expiry, the
`clearsessions` command, cycling the key at login) is Django's own `db` engine.
"""

from functools import cache
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from securemail.core.rows import columns_of, kept_prepared


class SessionStore(db.SessionStore):
    # (Django's engine's own reader, not in the type stubs.)
    def _get_session_from_db(self) -> Any:
        if not self.session_key:
            self._session_key = None
            return None
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor, kept_prepared():
            cursor.execute(_load_sql(connection.vendor), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            # Unknown or expired: a new session, as Django's engine does.
            self._session_key = None
            return None
        return Session(session_key=self.session_key, session_data=row[0])


@cache
def _load_sql(_vendor: str) -> str:
    sessions = columns_of(Session)
    key, data, expires = (sessions.bare(n) for n in ("session_key", "session_data", "expire_date"))
    return f"SELECT {data} FROM {sessions.table} WHERE {key} = %s AND {expires} > %s"  # noqa: S608
