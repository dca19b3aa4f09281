"""Issue 11: the search index reveals nothing readable. Its tokens are keyed hashes of words
under a key of the person and of the message's expiry day, derived from the keyring and the
shredding ratchet (core.crypto.index_key), so:

- a database dump holds neither a word nor an unkeyed hash of it (nor of its starts, which
  are indexed too), and neither do the contacts' typed details;
- once the expiry day's key is shredded, the entries of that day in an old backup match
  nothing: nobody can compute that day's tokens any more;
- rotating the keyring rebuilds the entries under the new version (`keys rewrap`), and the
  old version can't be retired while entries still use it.
"""

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from securemail.accounts.models import User
from securemail.core import crypto
from securemail.messaging import index, services
from securemail.messaging.content import expiry_day
from securemail.messaging.models import Message, SearchEntry
from securemail.messaging.search import _candidates, query_tokens, search_mailbox
from securemail.ops import keys
from securemail.ops.worker import periodic
from tests.security.helpers import DatabaseCopy, file_keyring, new_marker
from tests.support import frozen_clock

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)


def _table_dump() -> str:
    """Every column of every row of every table, as text (bytes as hex): what a thief reads
    in a dump."""
    lines = []
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                cells = [
                    bytes(v).hex() if isinstance(v, bytes | memoryview) else str(v) for v in row
                ]
                lines.append(f"{table}: " + " | ".join(cells))
    return "\n".join(lines)


def _unkeyed_forms(word: str) -> set[str]:
    """How a word, or a term it is indexed under, would look stored in clear or hashed
    without a key: the text (as typed and folded), its common digests in hex, and the
    first 8 bytes of each as the signed and unsigned integers a BIGINT column would hold."""
    forms = {word, word.lower(), word.encode().hex()}
    for term in index.terms_of(index.words(word)[0]):
        if len(term) >= 8:
            # (Shorter starts, "phi", occur in any dump by chance: their hashes don't.)
            forms |= {term, term.encode().hex()}
        for name in ("md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"):
            digest = hashlib.new(name, term.encode()).digest()
            forms |= {digest.hex(), digest.hex().upper()}
            forms.add(str(int.from_bytes(digest[:8], "big", signed=True)))
            forms.add(str(int.from_bytes(digest[:8], "big", signed=False)))
    return forms


def test_a_database_dump_holds_neither_the_words_nor_unkeyed_hashes_of_them(
    login: Any, doctor: User, patient: User, other_doctor: User
) -> None:
    subject_word, body_word = new_marker("subject"), new_marker("body")
    contact_name, contact_note = new_marker("name"), new_marker("note")
    client = login(doctor)
    sent = client.post(
        "/compose/",
        {
            "to": patient.email,
            "cc": other_doctor.email,
            "subject": f"Biopsy {subject_word}",
            "body": f"Findings: {body_word} on the lateral border.",
            "client_token": str(uuid.uuid4()),
            "expiry_days": "30",
        },
    )
    assert sent.status_code == 302
    added = client.post(
        "/contacts/add/",
        {"name": contact_name, "email": "new.patient@mail.test", "note": contact_note},
    )
    assert added.status_code == 302

    dump = _table_dump()

    for word in (subject_word, body_word, contact_name, contact_note):
        found = [form for form in _unkeyed_forms(word) if form in dump]
        assert found == [], word
    # Control: the index is in the dump (keyed tokens of the words are there) and it works.
    message = Message.objects.get()
    for owner in (doctor, patient, other_doctor):
        _, key = index.owner_day_key(owner.pk, expiry_day(message))
        assert str(index.token(key, index.words(body_word)[0])) in dump
        assert str(index.token(key, index.words(subject_word)[0][:5])) in dump
    for word in (subject_word, body_word):
        assert [h.message.pk for h in search_mailbox(patient, index.words(word)).hits] == [
            message.pk
        ]
    # And the other side of the control: text stored in clear is found by this dump.
    assert patient.email in dump
    assert "new.patient@mail.test" in dump


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[Any]:
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


@pytest.fixture
def worker(django_capture_on_commit_callbacks: Any) -> Any:
    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            periodic()

    return run


def _matching_ids(user: User, word: str) -> list[Any]:
    """The messages the index lookup itself finds for `word` (before the visibility rule):
    what an attacker holding a restored backup and today's keys could learn."""
    words = index.words(word)
    return [pk for pk, _ in _candidates(user, query_tokens(user, words), len(words), None, 10)]


def test_after_the_expiry_days_key_is_shredded_old_index_rows_match_nothing(
    clock: Any, worker: Any, doctor: User, patient: User
) -> None:
    word = new_marker("word")
    message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject="Pathology",
        body=f"Result: {word}.",
    )
    day = expiry_day(message)
    backup = DatabaseCopy.take()
    assert backup.search_entries
    assert _matching_ids(patient, word) == [message.pk]

    # Expired, its UTC day not over: the worker deletes it and its entries.
    clock.move_to(message.expires_at + timedelta(minutes=1))
    worker()
    assert not SearchEntry.objects.exists()
    # Control: restored now, the backup's entries still match (the day's key exists).
    backup.restore()
    assert _matching_ids(patient, word) == [message.pk]
    # ... though the search itself shows nothing: the message has expired.
    assert search_mailbox(patient, index.words(word)).hits == []
    backup.drop()

    # The day ends; the worker moves the ratchet past it.
    clock.move_to(datetime.combine(day + timedelta(days=1), time(0, 0, 1), tzinfo=UTC))
    worker()
    backup.restore()

    assert SearchEntry.objects.filter(day=day).count() == len(backup.search_entries)
    assert _matching_ids(patient, word) == []
    assert _matching_ids(doctor, word) == []
    # Nobody can compute that day's tokens again, under any key version.
    for version in crypto.keyring().store.versions():
        for owner in (doctor, patient):
            with pytest.raises(crypto.DecryptionError):
                index.owner_day_key(owner.pk, day, version)


@pytest.fixture
def keyring_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "keyring"
    with file_keyring(path):
        yield path


def test_rotation_rebuilds_the_index_under_the_new_version_and_retire_waits_for_it(
    keyring_file: Path, doctor: User, patient: User, staff: User
) -> None:
    message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject="Recall",
        body="Prophylaxis appointment due.",
    )
    services.reply(sender=patient, parent=message, body="Prophylaxis next Tuesday works.")
    hidden = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=staff.email)],
        subject="Prophylaxis list",
        body="For the front desk.",
    )
    services.hide_for_me(user=staff, message=hidden)
    before = {(e.owner_id, e.message_id) for e in SearchEntry.objects.all()}
    call_command("keys", "add")
    # New messages are indexed under version 2 already; the old entries stay on 1.
    assert set(SearchEntry.objects.values_list("key_version", flat=True)) == {1}
    assert len(search_mailbox(patient, ["prophylaxis"]).hits) == 2
    with pytest.raises(ValueError, match="re-wrap first"):
        keys.retire(1)

    call_command("keys", "rewrap")

    assert set(SearchEntry.objects.values_list("key_version", flat=True)) == {2}
    assert {(e.owner_id, e.message_id) for e in SearchEntry.objects.all()} == before
    assert keys.indexed_by_version() == {2: 3}
    assert len(search_mailbox(patient, ["prophylaxis"]).hits) == 2
    assert len(search_mailbox(doctor, ["prophylaxis"]).hits) == 3
    assert search_mailbox(staff, ["prophylaxis"]).hits == []
    keys.retire(1)
    assert len(search_mailbox(doctor, ["prophylaxis"]).hits) == 3


def test_messages_sent_before_search_existed_are_indexed_by_the_command(
    doctor: User, patient: User, staff: User
) -> None:
    message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject="Old",
        body="Sent before the upgrade: gingivitis.",
    )
    hidden = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=staff.email)],
        subject="Old too",
        body="Gingivitis list.",
    )
    services.hide_for_me(user=staff, message=hidden)
    SearchEntry.objects.all().delete()
    assert search_mailbox(patient, ["gingivitis"]).hits == []

    call_command("search_index")

    assert [h.message.pk for h in search_mailbox(patient, ["gingivitis"]).hits] == [message.pk]
    assert len(search_mailbox(doctor, ["gingivitis"]).hits) == 2
    assert search_mailbox(staff, ["gingivitis"]).hits == []
    # Running it again changes nothing.
    count = SearchEntry.objects.count()
    call_command("search_index")
    assert SearchEntry.objects.count() == count


def test_the_index_is_the_only_new_table_with_a_key_version_of_its_kind() -> None:
    # Every table keyed from a keyring version is counted by `keys status` and `retire`:
    # the sealed ones (SealedRow) and the search index.
    keyed = {
        model._meta.label
        for model in apps.get_models()
        if any(f.name == "key_version" for f in model._meta.get_fields())
    }
    assert keyed == {m._meta.label for m in keys.sealed_tables()} | {"messaging.SearchEntry"}
