"""Contacts (issue 11, SPEC §4): everyone a person has exchanged messages with, plus the ones
they add (name, email, practice, phone, note); edit, delete and restore deleted ones; sort
by email or last name; find by name or address. Only one's own; what is typed is sealed."""

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.contacts import services
from securemail.contacts.details import Details, open_details
from securemail.contacts.models import Contact
from securemail.messaging import services as messaging
from securemail.messaging.tests.helpers import send, text_of
from securemail.ops.worker import periodic
from tests.support import frozen_clock

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Nora Quinn",
    "email": "Nora.Quinn@Mail.test",
    "practice": "",
    "phone": "(202) 555-0147",
    "note": "Prefers morning appointments; allergic to latex.",
}


def rows(page: Any) -> list[str]:
    """The contacts table's rows as text (name first)."""
    content = page.content.decode()
    if "<tbody>" not in content:
        return []
    body = content.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [text_of(r) for r in re.findall(r"<tr.*?</tr>", body, flags=re.S)]


def names(page: Any) -> list[str]:
    return [r.split(" ", 2)[0] + " " + r.split(" ", 2)[1] for r in rows(page)]


def add(client: Client, **fields: str) -> Any:
    return client.post("/contacts/add/", {**NEW, **fields})


def test_everyone_exchanged_with_is_a_contact_on_both_sides(
    login: Any, doctor: User, patient: User, other_doctor: User, staff: User
) -> None:
    message = send(doctor, patient, other_doctor)
    messaging.reply(sender=patient, parent=message, body="Thank you")

    mine = login(doctor).get("/contacts/")
    assert mine.status_code == 200
    listed = rows(mine)
    assert len(listed) == 2
    assert any("Dr. Omar Lee omar.lee@lakeside.test Lakeside Oral Surgery" in r for r in listed)
    assert any("Pat Smith pat.smith@mail.test" in r for r in listed)
    # The patient's: the doctor (the reply went to her only; Cc's aren't each other's).
    theirs = rows(login(patient).get("/contacts/"))
    assert len(theirs) == 1
    assert "Dr. Jane Roe jane.roe@brightsmiles.test Bright Smiles Dental" in theirs[0]
    assert Contact.objects.filter(owner=other_doctor).count() == 1
    assert not Contact.objects.filter(owner=staff).exists()


def test_adding_a_contact_keeps_what_was_typed_sealed(
    login: Any, doctor: User, all_logs: Any
) -> None:
    client = login(doctor)
    response = add(client)

    assert response.status_code == 302
    contact = Contact.objects.get(owner=doctor)
    assert contact.email == "nora.quinn@mail.test"
    assert contact.person is None
    listed = rows(client.get("/contacts/"))
    assert listed == [
        "Nora Quinn nora.quinn@mail.test (202) 555-0147 Prefers morning appointments; "
        "allergic to latex. added by you Edit Delete"
    ]
    # The row holds the address and ciphertext only.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM contacts_contact")
        stored = repr(cursor.fetchall())
    for secret in ("Nora", "Quinn", "latex", "5550147"):
        assert secret not in stored
    assert open_details(contact).note == NEW["note"]
    entry = AuditEvent.objects.get(event=Event.CONTACT_ADDED.value)
    assert (entry.actor_id, entry.target, entry.data) == (doctor.pk, f"contact:{contact.pk}", {})
    assert "Nora" not in all_logs.text
    assert "latex" not in all_logs.text


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"email": ""}, "Enter the contact's email address."),
        ({"email": "not an address"}, "Enter a valid email address, like name@example.com."),
        ({"email": "jane.roe@brightsmiles.test"}, "That's your own address."),
        ({"phone": "12"}, "phone number"),
        ({"name": "x" * 151}, "Ensure this value has at most 150 characters"),
        ({"note": "x" * 2001}, "Ensure this value has at most 2000 characters"),
        ({"name": "Nul\x00l"}, "Null characters are not allowed."),
    ],
)
def test_a_bad_contact_is_refused_with_a_clear_message(
    login: Any, doctor: User, fields: dict[str, str], says: str
) -> None:
    response = add(login(doctor), **fields)

    assert response.status_code == 400
    assert says in text_of(response.content.decode())
    assert not Contact.objects.exists()


def test_an_empty_post_says_what_is_missing(login: Any, doctor: User) -> None:
    response = login(doctor).post("/contacts/add/", {})
    assert response.status_code == 400
    assert "Enter the contact's email address." in text_of(response.content.decode())


def test_an_address_already_in_the_contacts_is_refused(
    login: Any, doctor: User, patient: User
) -> None:
    send(doctor, patient)
    client = login(doctor)

    again = add(client, email="PAT.SMITH@mail.test")
    assert again.status_code == 400
    assert "pat.smith@mail.test is already in your contacts." in text_of(again.content.decode())
    contact = Contact.objects.get(owner=doctor)
    services.delete_contact(owner=doctor, contact=contact)
    deleted = add(client, email="pat.smith@mail.test")
    assert "is in your deleted contacts: restore it from there instead." in text_of(
        deleted.content.decode()
    )
    assert Contact.objects.filter(owner=doctor).count() == 1


def test_editing_changes_the_details_and_only_a_hand_added_address(
    login: Any, doctor: User, patient: User
) -> None:
    send(doctor, patient)
    client = login(doctor)
    add(client)
    typed = Contact.objects.get(owner=doctor, person=None)
    exchanged = Contact.objects.get(owner=doctor, person=patient)

    form = client.get(f"/contacts/{typed.pk}/")
    assert form.status_code == 200
    assert 'value="Nora Quinn"' in form.content.decode()
    saved = client.post(
        f"/contacts/{typed.pk}/",
        {"name": "Nora Quinn-Baker", "email": "nora@new.test", "note": "", "phone": ""},
    )
    assert saved.status_code == 302
    typed.refresh_from_db()
    assert typed.email == "nora@new.test"
    assert open_details(typed) == Details(name="Nora Quinn-Baker")

    # The address of someone exchanged with is their account's: a posted one is ignored.
    client.post(
        f"/contacts/{exchanged.pk}/",
        {"name": "Patricia Smith", "practice": "", "email": "other@mail.test", "note": "Sister"},
    )
    exchanged.refresh_from_db()
    assert exchanged.email == patient.email
    listed = rows(client.get("/contacts/?sort=email"))
    assert listed[1].startswith("Patricia Smith pat.smith@mail.test")
    assert "Sister" in listed[1]
    # Nothing typed any more: no key, no ciphertext.
    client.post(f"/contacts/{exchanged.pk}/", {"name": "", "note": ""})
    exchanged.refresh_from_db()
    assert (exchanged.wrapped_key, exchanged.details_sealed) == (None, None)
    assert rows(client.get("/contacts/?sort=email"))[1].startswith("Pat Smith")
    assert AuditEvent.objects.filter(event=Event.CONTACT_CHANGED.value).count() == 3


def test_changing_to_an_address_already_there_is_refused(login: Any, doctor: User) -> None:
    client = login(doctor)
    add(client)
    add(client, email="second@mail.test", name="Second")
    second = Contact.objects.get(email="second@mail.test")

    response = client.post(f"/contacts/{second.pk}/", {**NEW, "name": "Second"})

    assert response.status_code == 400
    assert "nora.quinn@mail.test is already in your contacts." in text_of(response.content.decode())
    second.refresh_from_db()
    assert second.email == "second@mail.test"


def test_a_deleted_contact_is_restored_as_it_was(
    login: Any, doctor: User, patient: User, tmp_path: Path
) -> None:
    client = login(doctor)
    add(client)
    contact = Contact.objects.get()

    assert client.post(f"/contacts/{contact.pk}/delete/").status_code == 302
    assert rows(client.get("/contacts/")) == []
    assert "Deleted contacts (1)" in client.get("/contacts/").content.decode()
    assert client.get(f"/contacts/{contact.pk}/").status_code == 404
    deleted = rows(client.get("/contacts/deleted/"))
    assert len(deleted) == 1
    assert deleted[0].startswith("Nora Quinn nora.quinn@mail.test")

    assert client.post(f"/contacts/{contact.pk}/restore/").status_code == 302
    assert rows(client.get("/contacts/"))[0].startswith("Nora Quinn nora.quinn@mail.test")
    assert rows(client.get("/contacts/deleted/")) == []
    assert open_details(Contact.objects.get()).note == NEW["note"]
    # Restoring one that isn't deleted is out of reach.
    assert client.post(f"/contacts/{contact.pk}/restore/").status_code == 404
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {Event.CONTACT_DELETED.value, Event.CONTACT_RESTORED.value} <= events


def test_a_deleted_contact_stays_deleted_when_messages_go_on(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    contact = Contact.objects.get(owner=doctor)
    services.delete_contact(owner=doctor, contact=contact)

    messaging.reply(sender=patient, parent=message, body="Thanks")
    send(doctor, patient)

    assert rows(login(doctor).get("/contacts/")) == []
    contact.refresh_from_db()
    assert contact.deleted_at is not None
    assert contact.last_exchanged_at is not None


def test_a_hand_added_contact_becomes_the_account_once_messages_are_exchanged(
    login: Any, doctor: User, patient: User
) -> None:
    client = login(doctor)
    add(client, email=patient.email, name="Pat (front desk says: Patty)")
    send(doctor, patient)

    contact = Contact.objects.get(owner=doctor)
    assert contact.person == patient
    assert contact.last_exchanged_at is not None
    assert rows(client.get("/contacts/"))[0].startswith("Pat (front desk says: Patty)")


def test_deleted_contacts_go_for_good_after_their_restore_time(
    login: Any, doctor: User, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now().replace(microsecond=0)
    with frozen_clock(now, tmp_path) as clock:
        client = login(doctor)
        add(client)
        add(client, email="kept@mail.test")
        gone, kept = (
            Contact.objects.get(email=NEW["email"].lower()),
            Contact.objects.get(email="kept@mail.test"),
        )
        services.delete_contact(owner=doctor, contact=gone)
        clock.shift(timedelta(days=29, hours=23))
        with django_capture_on_commit_callbacks(execute=True):
            periodic()
        assert Contact.objects.filter(pk=gone.pk).exists()
        services.delete_contact(owner=doctor, contact=kept)

        clock.shift(timedelta(hours=2))
        with django_capture_on_commit_callbacks(execute=True):
            periodic()

        assert not Contact.objects.filter(pk=gone.pk).exists()
        assert Contact.objects.filter(pk=kept.pk).exists()
        assert AuditEvent.objects.get(event=Event.CONTACTS_PURGED.value).data == {"count": 1}
        assert login(doctor).post(f"/contacts/{gone.pk}/restore/").status_code == 404


def test_contacts_sort_by_last_name_or_email(login: Any, doctor: User) -> None:
    client = login(doctor)
    for name, email in [
        ("Zoe Adams", "zz@mail.test"),
        ("Bob Young DDS", "aa@mail.test"),
        ("Álvaro Baker", "mm@mail.test"),
        ("Carter, Ann", "bb@mail.test"),
        ("", "cc@mail.test"),
    ]:
        assert add(client, name=name, email=email, phone="", note="").status_code == 302

    by_name = [r.split(" ")[0:3] for r in rows(client.get("/contacts/"))]
    assert [r[0] for r in by_name] == ["Zoe", "Álvaro", "Carter,", "Bob", "—"]
    emails = [e for r in rows(client.get("/contacts/?sort=email")) for e in r.split() if "@" in e]
    assert emails == [
        "aa@mail.test",
        "bb@mail.test",
        "cc@mail.test",
        "mm@mail.test",
        "zz@mail.test",
    ]
    # An unknown sort is the default one.
    assert rows(client.get("/contacts/?sort=password")) == rows(client.get("/contacts/"))


def test_contacts_are_found_by_name_address_or_practice(
    login: Any, doctor: User, other_doctor: User
) -> None:
    send(doctor, other_doctor)
    client = login(doctor)
    add(client, name="Renée Dubois", email="renee@mail.test")
    add(client, name="Ray Smith", email="ray@dubois.test")

    def found(text: str) -> list[str]:
        page = client.post("/contacts/", {"find": text})
        assert page.status_code == 200
        return sorted(r.split("@")[0].split()[-1] for r in rows(page))

    assert found("dubois") == ["ray", "renee"]
    assert found("RENEE") == ["renee"]
    assert found("lakeside") == ["omar.lee"]
    assert found("omar") == ["omar.lee"]
    assert found("") == ["omar.lee", "ray", "renee"]
    nothing = client.post("/contacts/", {"find": "<b>nobody</b>"})
    assert "No contact matches “&lt;b&gt;nobody&lt;/b&gt;”." in nothing.content.decode()
    too_long = client.post("/contacts/", {"find": "x" * 1000})
    assert too_long.status_code == 400
    assert "Type at most 100 characters to find a contact." in text_of(too_long.content.decode())


def test_nobody_reaches_anyone_elses_contacts(
    login: Any, doctor: User, patient: User, staff: User, outsider: User
) -> None:
    send(doctor, patient)
    add(login(doctor))
    theirs = Contact.objects.get(owner=doctor, person=None)
    client = login(staff)

    assert rows(client.get("/contacts/")) == []
    assert client.post("/contacts/", {"find": "nora"}).status_code == 200
    assert rows(client.post("/contacts/", {"find": "nora"})) == []
    assert client.get(f"/contacts/{theirs.pk}/").status_code == 404
    assert client.post(f"/contacts/{theirs.pk}/", NEW).status_code == 404
    assert client.post(f"/contacts/{theirs.pk}/delete/").status_code == 404
    assert client.get(f"/contacts/{uuid.uuid4()}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.deleted_at is None
    assert Client().get("/contacts/").status_code == 302


def test_a_person_keeps_at_most_the_limit_of_contacts(
    settings: Any, login: Any, doctor: User
) -> None:
    settings.SECUREMAIL_MAX_CONTACTS = 2
    client = login(doctor)
    add(client, email="one@mail.test")
    add(client, email="two@mail.test")

    third = add(client, email="three@mail.test")

    assert third.status_code == 400
    assert "You have 2 contacts, the most one person can keep: delete some first." in text_of(
        third.content.decode()
    )
    assert Contact.objects.count() == 2


def test_contacts_exchanged_before_contacts_existed_are_added_by_the_migration(
    doctor: User, patient: User, other_doctor: User
) -> None:
    import importlib

    message = send(doctor, patient, other_doctor)
    messaging.reply(sender=patient, parent=message, body="Thanks")
    Contact.objects.all().delete()
    migration = importlib.import_module("securemail.contacts.migrations.0002_exchanged_contacts")

    migration.add_exchanged(apps, None)

    pairs = set(Contact.objects.values_list("owner__email", "email"))
    assert pairs == {
        (doctor.email, patient.email),
        (patient.email, doctor.email),
        (doctor.email, other_doctor.email),
        (other_doctor.email, doctor.email),
    }
    assert all(c.person is not None and c.last_exchanged_at for c in Contact.objects.all())
