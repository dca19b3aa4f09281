"""The audit log (SPEC §6): append-only entries whose hashes chain, so any edit or removal
in the database shows up in verify_chain() at the entry where it happened."""

import itertools
from typing import Any

import pytest
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.models import AuditEvent, AuditHead
from securemail.messaging import services as messaging

pytestmark = pytest.mark.django_db


def _five_entries(user: User) -> list[AuditEvent]:
    return [
        audit.record("accounts:login:succeeded", actor_id=user.pk, practice_id=user.practice_id),
        audit.record(
            "messaging:message:send",
            actor_id=user.pk,
            practice_id=user.practice_id,
            target="message:00000000-0000-0000-0000-000000000001",
            data={"recipients": [2, 3]},
        ),
        audit.record("messaging:message:view", actor_id=user.pk, target="message:x"),
        audit.record("accounts:user:locked", actor_id=None, target=f"user:{user.pk}"),
        audit.record("messaging:message:expire", actor_id=None, data={"count": 4}),
    ]


def test_chain_of_recorded_entries_verifies(doctor: User) -> None:
    entries = _five_entries(doctor)

    assert audit.verify_chain() is None
    assert entries[0].prev_hash == audit.GENESIS
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.entry_hash
    assert len({e.entry_hash for e in entries}) == 5


def test_empty_log_verifies() -> None:
    assert audit.verify_chain() is None


def test_chain_written_by_real_actions_verifies(doctor: User, staff: User, patient: User) -> None:
    message = messaging.send_message(
        sender=doctor,
        recipients=[messaging.RecipientSpec(email=patient.email)],
        subject="Results",
        body="All clear.",
    )
    messaging.mark_read(reader=patient, messages=[message])
    messaging.reply(sender=patient, parent=message, body="Thank you")

    assert AuditEvent.objects.count() == 3
    assert audit.verify_chain() is None


EDITS: list[tuple[str, Any]] = [
    ("data", {"recipients": [99]}),
    ("event", "messaging:message:delete"),
    ("target", "message:someone-else"),
    ("actor_id", "another user"),
    ("practice_id", 424242),
    ("created_at", timezone.now().replace(year=2020)),
]


@pytest.mark.parametrize("index", [0, 2, 4])
@pytest.mark.parametrize(("field", "value"), EDITS, ids=[f for f, _ in EDITS])
def test_editing_an_entry_breaks_the_chain_at_that_entry(
    index: int, field: str, value: Any, doctor: User, staff: User
) -> None:
    entries = _five_entries(doctor)
    target = entries[index]
    if value == "another user":
        value = staff.pk

    AuditEvent.objects.filter(pk=target.pk).update(**{field: value})

    assert audit.verify_chain() == target.pk


@pytest.mark.parametrize("index", [0, 2, 4])
def test_editing_data_and_recomputing_its_hash_breaks_the_chain_at_the_next_entry(
    index: int, doctor: User
) -> None:
    entries = _five_entries(doctor)
    target = entries[index]
    target.data = {"recipients": [99]}
    forged = audit._digest(target.prev_hash, audit._fields(target))

    AuditEvent.objects.filter(pk=target.pk).update(data=target.data, entry_hash=forged)

    # The forged entry checks out on its own; the one after it no longer links to it, and
    # for the newest entry the head no longer matches (0: the end of the log).
    expected = entries[index + 1].pk if index + 1 < len(entries) else 0
    assert audit.verify_chain() == expected


def test_removing_an_entry_breaks_the_chain_at_the_following_entry(doctor: User) -> None:
    entries = _five_entries(doctor)

    AuditEvent.objects.filter(pk=entries[2].pk).delete()

    assert audit.verify_chain() == entries[3].pk


def test_new_entries_after_a_break_do_not_repair_it(doctor: User) -> None:
    entries = _five_entries(doctor)
    AuditEvent.objects.filter(pk=entries[1].pk).update(data={"recipients": []})

    audit.record("accounts:login:succeeded", actor_id=doctor.pk)

    assert audit.verify_chain() == entries[1].pk


def test_many_events_recorded_at_once_chain_in_order_with_the_rest(doctor: User) -> None:
    before = audit.record("accounts:login:succeeded", actor_id=doctor.pk)
    targets = [f"message:{n}" for n in range(20)]

    views = audit.record_many("messaging:message:view", actor_id=doctor.pk, targets=targets)
    after = audit.record("accounts:login:succeeded", actor_id=doctor.pk)

    stored = list(AuditEvent.objects.filter(event="messaging:message:view"))
    assert [e.target for e in stored] == targets
    assert [e.pk for e in stored] == [e.pk for e in views]
    assert views[0].prev_hash == before.entry_hash
    assert after.prev_hash == views[-1].entry_hash
    assert audit.verify_chain() is None
    # Removing one of the batch is caught right after it.
    AuditEvent.objects.filter(pk=stored[7].pk).delete()
    assert audit.verify_chain() == stored[8].pk


def test_removing_the_newest_entries_is_noticed_at_the_end(doctor: User) -> None:
    entries = _five_entries(doctor)

    AuditEvent.objects.filter(pk__in=[entries[3].pk, entries[4].pk]).delete()

    found = audit.find_break()
    assert found is not None
    assert (found.entry_id, found.reason) == (None, "entries were removed from the end of the log")


def test_a_chain_rebuilt_without_the_key_fails_at_its_first_entry(doctor: User) -> None:
    # Someone with write access to the database but not the key edits an entry and
    # recomputes every hash the way an unkeyed chain would be computed.
    import hashlib
    import json

    _five_entries(doctor)
    AuditEvent.objects.filter(event="messaging:message:send").update(data={"recipients": [1]})
    prev = audit.GENESIS
    for entry in AuditEvent.objects.order_by("id"):
        payload = json.dumps(
            audit._fields(entry), sort_keys=True, separators=(",", ":"), default=str
        )
        forged = hashlib.sha256(f"{prev}|{payload}".encode()).hexdigest()
        AuditEvent.objects.filter(pk=entry.pk).update(prev_hash=prev, entry_hash=forged)
        prev = forged
    AuditHead.objects.filter(pk=1).update(last_hash=prev)

    first = AuditEvent.objects.order_by("id").first()
    assert first is not None
    assert audit.verify_chain() == first.pk


def test_entries_written_while_handling_a_request_carry_its_client_address(
    login: Any, doctor: User, patient: User
) -> None:
    message = messaging.send_message(
        sender=doctor,
        recipients=[messaging.RecipientSpec(email=patient.email)],
        subject="Results",
        body="All clear.",
    )
    login(patient).get(f"/m/{message.pk}/", REMOTE_ADDR="203.0.113.77")

    viewed = AuditEvent.objects.get(event="messaging:message:view")
    sent = AuditEvent.objects.get(event="messaging:message:send")
    assert viewed.client_ip == "203.0.113.77"
    # Outside a request (here: the service called directly) there is no address.
    assert sent.client_ip is None
    assert audit.verify_chain() is None


def test_an_append_costs_two_round_trips_on_postgresql_once_the_log_has_a_head(
    doctor: User, patient: User
) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from securemail.audit.models import AuditEvent, AuditHead, AuditRecipient

    audit.record("accounts:login:succeeded", actor_id=doctor.pk)  # creates the head

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        written = audit.record_many(
            "messaging:message:view",
            actor_id=doctor.pk,
            targets=["a", "b", "c"],
            data={"recipients": [patient.pk, patient.pk, doctor.pk]},
        )

    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        # Lock the head; then the entries, their recipients and the head's move in one.
        assert statements == ["SELECT", "WITH"], statements
    else:
        # Lock the head, insert the entries at once, their recipients at once, move it.
        assert statements == ["SELECT", "INSERT", "INSERT", "UPDATE"], statements
    assert audit.verify_chain() is None
    ids = [entry.pk for entry in written]
    assert ids == sorted(ids)
    assert [e.target for e in AuditEvent.objects.filter(pk__in=ids).order_by("pk")] == [
        "a",
        "b",
        "c",
    ]
    # Each entry names each recipient once; the head is on the last entry.
    named = sorted(AuditRecipient.objects.filter(entry__in=ids).values_list("entry", "user_id"))
    assert named == sorted((i, u) for i in ids for u in (patient.pk, doctor.pk))
    head = AuditHead.objects.get()
    assert (head.last_entry_id, head.last_hash) == (ids[-1], written[-1].entry_hash)


def test_an_append_without_recipients_names_nobody(doctor: User) -> None:
    from securemail.audit.models import AuditRecipient

    entry = audit.record("accounts:login:succeeded", actor_id=doctor.pk, data={"recipients": []})
    assert not AuditRecipient.objects.filter(entry=entry.pk).exists()
    assert audit.verify_chain() is None
