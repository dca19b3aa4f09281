"""Entries are written by statements of constant text (core.rows), not the ORM's insert:
what is stored must be what the ORM stored (the chain is recomputed from the read-back
row), the returned entries must be the stored ones, their keys ascending in chain order,
and the recipients' index written with them, on both databases."""

import pytest
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.models import AuditEvent, AuditRecipient
from securemail.core import rows

pytestmark = pytest.mark.django_db

DATA = {
    "recipients": [7, 3, 7],
    "note": "Zoë “quoted” \\ slash",
    "nested": {"b": [1.5, None, True], "a": "x"},
}
# Not in its shortest form: the field stores it normalized, as the ORM did, and the chain
# covers it as stored.
IPV6 = "2001:0db8:0000:0000:0000:0000:0000:0001"


def _fields(entry: AuditEvent) -> dict[str, object]:
    return {f.attname: getattr(entry, f.attname) for f in AuditEvent._meta.concrete_fields}


def test_an_entry_is_stored_as_the_orm_stores_it(doctor: User) -> None:
    written = audit.record(
        "messaging:message:send",
        actor_id=doctor.pk,
        practice_id=doctor.practice_id,
        target="message:1",
        data=DATA,
        client_ip=IPV6,
    )
    by_orm = AuditEvent.objects.create(
        created_at=written.created_at,
        event=written.event,
        actor_id=doctor.pk,
        practice_id=doctor.practice_id,
        target="message:1",
        data=DATA,
        client_ip=IPV6,
        prev_hash="x",
        entry_hash="y",
    )

    ours = AuditEvent.objects.get(pk=written.pk)
    theirs = AuditEvent.objects.get(pk=by_orm.pk)
    for name in ("created_at", "event", "actor_id", "practice_id", "target", "data", "client_ip"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.client_ip == "2001:db8::1"
    # The returned entry is the stored one, field for field.
    assert _fields(ours) == _fields(written)
    assert not written._state.adding


@pytest.mark.parametrize(
    "address", ["2001:db8::1", IPV6, "2001:DB8:0:0:0:0:0:1", "192.0.2.1", "::ffff:192.0.2.1"]
)
def test_an_entry_read_back_verifies_whatever_form_its_address_came_in(
    doctor: User, address: str
) -> None:
    audit.record("messaging:message:send", actor_id=doctor.pk, data=DATA, client_ip=address)
    audit.record("messaging:message:send", actor_id=None, data=DATA, client_ip=address)
    assert audit.verify_chain() is None


@pytest.mark.parametrize("count", [1, 2, 30])
def test_a_batch_is_stored_in_chain_order_with_its_recipients(
    doctor: User, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Several SQLite statements for one batch.
    monkeypatch.setattr(rows, "SQLITE_ROWS", 7)
    first = audit.record("accounts:login:succeeded", actor_id=doctor.pk, client_ip="10.0.0.1")
    entries = [(n if n % 2 else None, f"message:{n}") for n in range(count)]

    written = audit.record_each(
        "messaging:message:view", actor_id=doctor.pk, entries=entries, data=DATA
    )

    stored = list(AuditEvent.objects.filter(pk__gt=first.pk).order_by("pk"))
    assert [_fields(e) for e in stored] == [_fields(e) for e in written]
    assert [(e.practice_id, e.target) for e in stored] == entries
    assert [e.prev_hash for e in stored] == [first.entry_hash] + [e.entry_hash for e in stored[:-1]]
    assert {(r.entry_id, r.user_id) for r in AuditRecipient.objects.all()} == {
        (e.pk, user) for e in written for user in (7, 3)
    }
    assert audit.verify_chain() is None


def test_entries_are_built_in_the_models_field_order() -> None:
    # record_each builds the entries it returns positionally.
    assert tuple(f.name for f in AuditEvent._meta.concrete_fields) == audit._ORDER


def test_an_entry_without_recipients_indexes_none(doctor: User) -> None:
    audit.record("accounts:login:succeeded", actor_id=doctor.pk, data={"recipients": []})
    audit.record("accounts:login:succeeded", actor_id=None, data={"recipients": "x"})
    assert not AuditRecipient.objects.exists()
    assert audit.verify_chain() is None
    assert AuditEvent.objects.filter(created_at__lte=timezone.now()).count() == 2
