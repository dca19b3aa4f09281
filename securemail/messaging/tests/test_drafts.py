"""Drafts (SPEC §4): saved while the author types, listed under Drafts, reopened in
Compose, gone once sent or discarded, sealed at rest, private to their owner, paid only."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging.models import Draft, Message
from securemail.messaging.services.drafts import open_draft
from securemail.messaging.tests.helpers import as_user, mailbox_rows, parse_form, text_of

pytestmark = pytest.mark.django_db

DRAFT_SUBJECT = "Draft: implant consult follow-up"
DRAFT_BODY = "Dear Pat, the CBCT shows enough bone height for a 4.1 mm implant."


def _save(client: Any, *, htmx: bool = True, **fields: str) -> Any:
    """POST the compose form to the draft endpoint, as htmx does while the author types."""
    headers = {"HX-Request": "true", "HX-Trigger": "id_subject"} if htmx else {}
    return client.post("/compose/draft/", fields, headers=headers)


def _draft_id_in(response: Any) -> str:
    """The draft id the status fragment hands back (swapped into the compose form)."""
    match = re.search(r'<input type="hidden" name="draft" value="([0-9a-f-]+)"', response.text)
    assert match, response.text
    return match.group(1)


def _value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]* name="{name}"[^>]* value="([^"]*)"', html)
    return match.group(1) if match else None


def _textarea(html: str, name: str) -> str | None:
    match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, flags=re.S)
    return match.group(1) if match else None


def _raw_values(table: str) -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
        rows = cursor.fetchall()
    values = []
    for row in rows:
        for value in row:
            if isinstance(value, memoryview | bytearray | bytes):
                values.append(bytes(value))
            else:
                values.append(str(value).encode())
    return values


# --- saving -----------------------------------------------------------------------------


def test_htmx_saves_a_draft_and_says_when_in_the_authors_time_zone(
    login: Any, doctor: User, patient: User
) -> None:
    doctor.time_zone = "Asia/Kolkata"
    doctor.save(update_fields=["time_zone"])
    moment = (timezone.now() - timedelta(days=1)).replace(
        hour=19, minute=5, second=0, microsecond=0
    )

    with time_machine.travel(moment, tick=False):
        response = _save(login(doctor), to=patient.email, subject=DRAFT_SUBJECT, body=DRAFT_BODY)

    assert response.status_code == 200
    draft = Draft.objects.get()
    assert draft.owner == doctor
    assert draft.updated_at == moment
    assert open_draft(draft) == {
        "to": patient.email,
        "cc": "",
        "subject": DRAFT_SUBJECT,
        "body": DRAFT_BODY,
        "expiry_days": "",
    }
    # The fragment replaces the form's hidden draft field, so the next save updates it.
    assert _draft_id_in(response) == str(draft.pk)
    assert 'hx-swap-oob="outerHTML"' in response.text
    # 19:05 UTC is 00:35 the next day in India.
    assert "Draft saved 12:35 AM" in text_of(response.text)


def test_a_plain_post_saves_a_draft_too(login: Any, doctor: User, patient: User) -> None:
    response = _save(login(doctor), htmx=False, to=patient.email, subject=DRAFT_SUBJECT)

    assert response.status_code == 200
    draft = Draft.objects.get(owner=doctor)
    assert open_draft(draft)["subject"] == DRAFT_SUBJECT
    assert _draft_id_in(response) == str(draft.pk)


def test_saving_again_with_the_draft_id_updates_the_same_draft(
    login: Any, doctor: User, patient: User
) -> None:
    client = login(doctor)
    first = _save(client, to=patient.email, subject="Draft: implant")
    draft_id = _draft_id_in(first)

    second = _save(client, draft=draft_id, to=patient.email, subject=DRAFT_SUBJECT, body="More")

    assert _draft_id_in(second) == draft_id
    draft = Draft.objects.get()
    assert str(draft.pk) == draft_id
    assert open_draft(draft)["subject"] == DRAFT_SUBJECT
    assert open_draft(draft)["body"] == "More"


def test_an_empty_form_saves_no_draft(login: Any, doctor: User) -> None:
    response = _save(login(doctor), to=" ", cc="", subject="", body="  \n")

    assert response.status_code == 200
    assert "Draft saved" not in response.text
    assert not Draft.objects.exists()


def test_the_draft_is_sealed_and_nothing_typed_is_in_the_database_in_plaintext(
    login: Any, doctor: User
) -> None:
    secrets = {
        "to": "kim.newpatient@mail.test",
        "cc": "lab.tech@crowns.test",
        "subject": DRAFT_SUBJECT,
        "body": DRAFT_BODY,
    }

    _save(login(doctor), **secrets)

    draft = Draft.objects.get()
    values = _raw_values(Draft._meta.db_table)
    everything = [v for table in connection.introspection.table_names() for v in _raw_values(table)]
    for secret in secrets.values():
        for form in (secret.encode(), secret.encode().hex().encode()):
            assert not any(form in v for v in values), secret
            assert not any(form in v for v in everything), secret
    # While its owner still gets it back.
    assert open_draft(draft)["subject"] == DRAFT_SUBJECT


def test_the_drafts_folder_lists_the_draft_with_its_to_and_subject(
    login: Any, doctor: User, patient: User
) -> None:
    client = login(doctor)
    draft_id = _draft_id_in(_save(client, to=patient.email, subject=DRAFT_SUBJECT))
    _save(client, body="Only a body so far")

    page = client.get("/drafts/")

    assert page.status_code == 200
    rows = [text_of(row) for row in mailbox_rows(page)]
    assert len(rows) == 2
    # Most recently saved first.
    assert rows[0].startswith("(no recipient yet) (no subject)")
    assert rows[1].startswith(f"{patient.email} {DRAFT_SUBJECT}")
    assert f'href="/compose/?draft={draft_id}"' in page.text
    assert f'action="/drafts/{draft_id}/discard/"' in page.text


# --- reopening and sending --------------------------------------------------------------


def test_opening_a_draft_refills_the_compose_form(
    login: Any, doctor: User, patient: User, staff: User
) -> None:
    client = login(doctor)
    draft_id = _draft_id_in(
        _save(
            client,
            to=patient.email,
            cc=staff.email,
            subject=DRAFT_SUBJECT,
            body=DRAFT_BODY,
            expiry_days="7",
        )
    )

    page = client.get(f"/compose/?draft={draft_id}")

    assert page.status_code == 200
    html = page.text
    assert _value(html, "to") == patient.email
    assert _value(html, "cc") == staff.email
    assert _value(html, "subject") == DRAFT_SUBJECT
    assert _textarea(html, "body") == DRAFT_BODY
    assert _value(html, "draft") == draft_id
    assert re.search(r'<option value="7" selected>', html)
    # A fresh client token: sending the draft twice can't be mistaken for a double submit.
    assert _value(html, "client_token")


def test_a_draft_with_markup_is_refilled_escaped(login: Any, doctor: User) -> None:
    client = login(doctor)
    draft_id = _draft_id_in(
        _save(client, subject='"><script>alert(1)</script>', body="</textarea><b>x</b>")
    )

    html = client.get(f"/compose/?draft={draft_id}").text

    assert "<script>alert(1)" not in html
    assert "</textarea><b>" not in html
    assert _value(html, "subject") == "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"


def test_sending_a_draft_deletes_it(login: Any, doctor: User, patient: User) -> None:
    client = login(doctor)
    draft_id = _draft_id_in(_save(client, to=patient.email, subject=DRAFT_SUBJECT))
    form = client.get(f"/compose/?draft={draft_id}").text

    response = client.post(
        "/compose/",
        {
            "to": _value(form, "to"),
            "subject": _value(form, "subject"),
            "body": DRAFT_BODY,
            "client_token": _value(form, "client_token"),
            "draft": _value(form, "draft"),
        },
    )

    assert response.status_code == 302, response.content[:800]
    message = Message.objects.get()
    assert response["Location"] == f"/m/{message.pk}/"
    assert not Draft.objects.exists()
    assert "No drafts." in client.get("/drafts/").text
    assert DRAFT_SUBJECT in as_user(client, patient).get(f"/m/{message.pk}/").text


def test_a_send_that_fails_keeps_the_draft(login: Any, doctor: User, patient: User) -> None:
    client = login(doctor)
    draft_id = _draft_id_in(_save(client, to=patient.email, subject=DRAFT_SUBJECT))

    response = client.post(
        "/compose/",
        {
            "to": patient.email,
            "subject": DRAFT_SUBJECT,
            "body": "",
            "client_token": str(uuid.uuid4()),
            "draft": draft_id,
        },
    )

    assert response.status_code == 400
    assert "Write a message." in response.text
    assert not Message.objects.exists()
    assert Draft.objects.filter(pk=draft_id).exists()
    # The returned form still carries the draft, so the next save updates it.
    assert _value(response.text, "draft") == draft_id


def test_discarding_a_draft_deletes_it(login: Any, doctor: User, patient: User) -> None:
    client = login(doctor)
    draft_id = _draft_id_in(_save(client, to=patient.email, subject=DRAFT_SUBJECT))
    kept_id = _draft_id_in(_save(client, subject="Keep this one"))

    response = client.post(f"/drafts/{draft_id}/discard/")

    assert response.status_code == 302
    assert response["Location"] == "/drafts/"
    assert list(Draft.objects.values_list("pk", flat=True)) == [uuid.UUID(kept_id)]
    page = client.get("/drafts/").text
    assert "Draft discarded." in page
    assert DRAFT_SUBJECT not in page
    assert "Keep this one" in page
    # Discarding needs a POST: a link or a prefetch can't do it.
    assert client.get(f"/drafts/{kept_id}/discard/").status_code == 405
    assert Draft.objects.filter(pk=kept_id).exists()


# --- someone else's draft ---------------------------------------------------------------


def test_someone_elses_draft_id_is_treated_as_unknown_everywhere(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    client = login(doctor)
    theirs = _draft_id_in(_save(client, to=patient.email, subject=DRAFT_SUBJECT))
    sealed_before = bytes(Draft.objects.get(pk=theirs).payload_sealed)
    as_user(client, staff)

    # Opening it shows an empty compose form, not the doctor's draft.
    page = client.get(f"/compose/?draft={theirs}")
    assert page.status_code == 200
    assert DRAFT_SUBJECT not in page.text
    assert patient.email not in page.text
    assert _value(page.text, "draft") == ""
    # Saving with its id makes a new draft of staff's own instead of overwriting it.
    mine = _draft_id_in(_save(client, draft=theirs, subject="Overwrite attempt"))
    assert mine != theirs
    assert Draft.objects.get(pk=mine).owner == staff
    # Discarding it discards nothing.
    assert client.post(f"/drafts/{theirs}/discard/").status_code == 302
    # Sending with its id leaves it alone.
    response = client.post(
        "/compose/",
        {
            "to": patient.email,
            "subject": "Hello",
            "body": "Hi",
            "client_token": str(uuid.uuid4()),
            "draft": theirs,
        },
    )
    assert response.status_code == 302
    # The staff member's folder never lists it.
    assert DRAFT_SUBJECT not in client.get("/drafts/").text

    draft = Draft.objects.get(pk=theirs)
    assert draft.owner == doctor
    assert bytes(draft.payload_sealed) == sealed_before
    assert open_draft(draft)["subject"] == DRAFT_SUBJECT


def test_a_malformed_or_unknown_draft_id_is_ignored(login: Any, doctor: User) -> None:
    client = login(doctor)

    for value in ("not-a-uuid", str(uuid.uuid4())):
        page = client.get(f"/compose/?draft={value}")
        assert page.status_code == 200
        assert _value(page.text, "draft") == ""
    # A discard URL names a draft by its id: not an id at all is no page; an unknown one
    # discards nothing.
    assert client.post("/drafts/not-a-uuid/discard/").status_code == 404
    assert client.post(f"/drafts/{uuid.uuid4()}/discard/").status_code == 302
    response = _save(client, draft="not-a-uuid", subject=DRAFT_SUBJECT)
    assert response.status_code == 200
    assert open_draft(Draft.objects.get())["subject"] == DRAFT_SUBJECT


# --- who may save drafts ----------------------------------------------------------------


@pytest.mark.parametrize("persona", ["free_staff", "patient"])
def test_a_free_user_cannot_save_drafts(
    persona: str, request: Any, login: Any, doctor: User
) -> None:
    client = login(request.getfixturevalue(persona))

    response = _save(client, to=doctor.email, subject=DRAFT_SUBJECT, body=DRAFT_BODY)

    assert response.status_code == 403
    assert "Draft saved" not in response.text
    assert not Draft.objects.exists()


def test_a_free_user_cannot_open_a_draft_in_compose(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    client = login(staff)
    draft_id = _draft_id_in(_save(client, to=patient.email, subject=DRAFT_SUBJECT))
    staff.plan = "free"
    staff.save(update_fields=["plan"])

    page = client.get(f"/compose/?draft={draft_id}")

    assert page.status_code == 403
    assert DRAFT_SUBJECT not in page.text
    # The draft is still theirs to see and discard.
    assert DRAFT_SUBJECT in client.get("/drafts/").text
    assert client.post(f"/drafts/{draft_id}/discard/").status_code == 302
    assert not Draft.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in_and_nothing_is_saved(
    client: Any, doctor: User
) -> None:
    response = _save(client, to=doctor.email, subject=DRAFT_SUBJECT)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/compose/draft/"
    assert not Draft.objects.exists()
    draft_id = uuid.uuid4()
    response = client.post(f"/drafts/{draft_id}/discard/")
    assert response["Location"] == f"/accounts/login/?next=/drafts/{draft_id}/discard/"


def test_the_draft_endpoint_takes_posts_only(login: Any, doctor: User) -> None:
    assert login(doctor).get("/compose/draft/").status_code == 405


def test_expired_drafts_are_neither_listed_nor_opened(
    login: Any, doctor: User, patient: User
) -> None:
    client = login(doctor)
    draft_id = _draft_id_in(_save(client, to=patient.email, subject=DRAFT_SUBJECT))
    Draft.objects.filter(pk=draft_id).update(expires_at=datetime.now(UTC) - timedelta(minutes=1))

    assert "No drafts." in client.get("/drafts/").text
    assert _value(client.get(f"/compose/?draft={draft_id}").text, "subject") == ""


def test_the_compose_form_posts_its_fields_to_the_draft_endpoint(login: Any, doctor: User) -> None:
    # The autosave wiring: the compose form tells htmx where drafts go, url-encoded (the
    # files are never part of a draft), and which inputs trigger it.
    html = login(doctor).get("/compose/").text

    form_tag = re.search(r'<form method="post"[^>]*class="compose"[^>]*>', html, flags=re.S)
    assert form_tag
    assert 'hx-post="/compose/draft/"' in form_tag.group(0)
    assert 'hx-encoding="application/x-www-form-urlencoded"' in form_tag.group(0)
    assert 'hx-target="#draft-status"' in form_tag.group(0)
    assert 'id="draft-status"' in html
    for name in ("to", "cc", "subject", "body"):
        assert re.search(rf'name="{name}"[^>]*class="draftable"', html) or re.search(
            rf'<textarea name="{name}"[^>]*class="draftable"', html
        ), name
    assert parse_form(html).selects["expiry_days"]
