"""Appends from many processes at once form one chain (issue 9: with four sends at once on
PostgreSQL the chain used to fork), and `manage.py audit verify` says so, or names the
first bad entry."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 4
EACH = 25

WRITER = """
import django
django.setup()
from securemail.audit import services as audit
from securemail.audit.events import Event
import sys
for n in range({each}):
    audit.record(Event.LOGIN_SUCCEEDED, actor_id=None, target=f"writer:{{sys.argv[1]}}:{{n}}")
"""


def _database_url() -> str:
    """The test database this test runs against, for the writer processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_writers_in_parallel_processes_form_one_chain() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "securemail.settings_test",
        "DATABASE_URL": _database_url(),
    }
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER.format(each=EACH), str(n)], cwd=ROOT, env=env
        )
        for n in range(PROCESSES)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0] * PROCESSES

    entries = list(AuditEvent.objects.order_by("id"))
    assert len(entries) == PROCESSES * EACH
    # One chain: every entry has its own predecessor.
    assert len({e.prev_hash for e in entries}) == len(entries)
    assert audit.verify_chain() is None


@pytest.mark.django_db
def test_audit_verify_says_intact_or_names_the_first_bad_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = [
        audit.record(Event.LOGIN_SUCCEEDED, actor_id=None, target=f"t:{n}") for n in range(3)
    ]

    call_command("audit", "verify")
    assert "Audit log intact: 3 entries verified." in capsys.readouterr().out

    AuditEvent.objects.filter(pk=entries[1].pk).update(target="t:edited")
    with pytest.raises(CommandError, match=rf"broken at entry {entries[1].pk} .*changed after"):
        call_command("audit", "verify")
