"""Compose suggests one's contacts as To and Cc are typed (htmx posts the field to
/contacts/suggest/), and shows a known contact's name and practice next to the address once
the field is left (the To/Cc look-up). Only one's own contacts: neither says whether an
address has an account."""

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.contacts import services
from securemail.contacts.details import Details
from securemail.contacts.models import Contact
from securemail.messaging.tests.helpers import send, text_of

pytestmark = pytest.mark.django_db


def plain(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def suggested(client: Client, text: str, field: str = "to") -> list[str]:
    """The addresses of the options the list box gets."""
    response = client.post("/contacts/suggest/", {field: text, "field": field})
    assert response.status_code == 200
    html = response.content.decode()
    options = re.findall(
        r'<li role="option" id="(\w+)-suggestion-(\d+)"[^>]*data-email="([^"]+)"', html
    )
    assert [(f, int(n)) for f, n, _ in options] == [(field, n) for n in range(len(options))]
    return [email for _, _, email in options]


@pytest.fixture
def book(doctor: User, patient: User, other_doctor: User, staff: User) -> None:
    """The doctor wrote with a patient, a colleague of another practice and her staff member,
    and added two people by hand (one later deleted)."""
    send(doctor, patient)
    send(doctor, other_doctor)
    send(doctor, staff)
    services.add_contact(
        owner=doctor,
        email="patricia.hale@mail.test",
        details=Details(name="Patricia Hale", practice="Hale Orthodontics"),
    )
    gone = services.add_contact(
        owner=doctor, email="pat.gone@mail.test", details=Details(name="Pat Gone")
    )
    services.delete_contact(owner=doctor, contact=gone)


def test_the_address_being_typed_suggests_matching_contacts(
    login: Any, doctor: User, book: None
) -> None:
    client = login(doctor)

    # By the start of the address, of the name or of a word of the name or practice; those
    # last written with first; never a deleted contact.
    assert suggested(client, "pat") == ["pat.smith@mail.test", "patricia.hale@mail.test"]
    assert suggested(client, "smit") == ["pat.smith@mail.test"]
    # "Bright Smiles Dental": the staff member's practice.
    assert suggested(client, "smi") == ["sam.front@brightsmiles.test", "pat.smith@mail.test"]
    assert suggested(client, "ortho") == ["patricia.hale@mail.test"]
    assert suggested(client, "lakes") == ["omar.lee@lakeside.test"]
    assert suggested(client, "OMAR.L") == ["omar.lee@lakeside.test"]
    # Only the address after the last comma or semicolon counts.
    assert suggested(client, "omar.lee@lakeside.test, sam") == ["sam.front@brightsmiles.test"]
    assert suggested(client, "a@b.test; Hale") == ["patricia.hale@mail.test"]
    assert suggested(client, "sam", field="cc") == ["sam.front@brightsmiles.test"]
    assert suggested(client, "") == []
    assert suggested(client, "omar.lee@lakeside.test, ") == []
    assert suggested(client, "zzz") == []


def test_an_option_shows_the_name_address_and_practice_escaped(
    login: Any, doctor: User, book: None
) -> None:
    services.add_contact(
        owner=doctor, email="x@mail.test", details=Details(name="<b>Bold</b> Xavier")
    )
    html = login(doctor).post("/contacts/suggest/", {"to": "xav", "field": "to"}).content.decode()

    assert "&lt;b&gt;Bold&lt;/b&gt; Xavier" in html
    assert "<b>" not in html
    assert text_of(html) == "<b>Bold</b> Xavier <x@mail.test>"
    listed = login(doctor).post("/contacts/suggest/", {"to": "hale", "field": "to"})
    assert text_of(listed.content.decode()) == (
        "Patricia Hale <patricia.hale@mail.test> Hale Orthodontics"
    )


def test_suggestions_are_only_ones_own_contacts(
    login: Any, doctor: User, staff: User, outsider: User, book: None
) -> None:
    # The outsider has an account; typing its address suggests nothing to someone who never
    # wrote with them, and another person's contacts are never suggested.
    assert suggested(login(doctor), "olivia") == []
    assert suggested(login(staff), "pat") == []
    assert suggested(login(staff), "jane") == ["jane.roe@brightsmiles.test"]
    assert Client().post("/contacts/suggest/", {"to": "pat", "field": "to"}).status_code == 302


def test_a_bad_suggestion_request_is_a_400(login: Any, doctor: User, book: None) -> None:
    client = login(doctor)
    assert client.post("/contacts/suggest/", {"to": "pat"}).status_code == 400
    assert client.post("/contacts/suggest/", {"to": "pat", "field": "subject"}).status_code == 400
    assert client.post("/contacts/suggest/", {"to": "x" * 6000, "field": "to"}).status_code == 400
    assert client.get("/contacts/suggest/").status_code == 405


def test_leaving_to_shows_a_known_contacts_name_and_practice(
    login: Any, doctor: User, patient: User, other_doctor: User, outsider: User, book: None
) -> None:
    response = login(doctor).post(
        "/compose/lookup/",
        {"to": f"{other_doctor.email}, patricia.hale@mail.test", "cc": outsider.email},
    )

    assert response.status_code == 200
    shown = re.findall(r'<p class="known-contact">(.*?)</p>', response.content.decode())
    assert [plain(s) for s in shown] == [
        "omar.lee@lakeside.test: Dr. Omar Lee, Lakeside Oral Surgery",
        "patricia.hale@mail.test: Patricia Hale, Hale Orthodontics",
    ]
    # The outsider has an account but is no contact: no name is shown for that address.
    assert "Olivia" not in response.content.decode()


def test_what_the_owner_typed_wins_over_the_accounts_name(
    login: Any, doctor: User, other_doctor: User, book: None
) -> None:
    contact = Contact.objects.get(owner=doctor, email=other_doctor.email)
    services.change_contact(
        owner=doctor, contact=contact, details=Details(name="Omar (oral surgeon)")
    )
    response = login(doctor).post("/compose/lookup/", {"to": other_doctor.email})

    shown = re.findall(r'<p class="known-contact">(.*?)</p>', response.content.decode())
    assert [plain(s) for s in shown] == [
        "omar.lee@lakeside.test: Omar (oral surgeon), Lakeside Oral Surgery"
    ]


def test_the_compose_fields_are_comboboxes_with_their_list_boxes(login: Any, doctor: User) -> None:
    html = login(doctor).get("/compose/").content.decode()
    for field in ("to", "cc"):
        combobox = re.search(rf'<input type="text" name="{field}"[^>]*>', html, flags=re.S)
        assert combobox is not None
        tag = combobox.group(0)
        assert 'role="combobox"' in tag
        assert 'aria-expanded="false"' in tag
        assert f'aria-controls="{field}-suggestions"' in tag
        assert f'<ul id="{field}-suggestions" class="suggestions" role="listbox"' in html
    assert '<script src="/static/contact-suggestions.js" defer></script>' in html
