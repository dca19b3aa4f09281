"""Search in one's own mailbox (issue 11, SPEC §4): subject, body and correspondent across
Inbox, Archive and Sent, results in the mailbox layout with the matches marked; through the
keyed index only (securemail.messaging.index), and only what the visibility rule lets the
person see. Bad input gets a clear message and a 400, never a 500."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.models import Message, SearchEntry
from securemail.messaging.services import expire_due_messages
from securemail.messaging.tests.helpers import as_user, mailbox_rows, send, text_of
from tests.support import frozen_clock

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2031, 5, 6, 15, 0, tzinfo=UTC)


def search(client: Client, q: str, **extra: str) -> Any:
    return client.post("/search/", {"q": q, **extra})


def found_subjects(page: Any) -> list[str]:
    """The subjects of the result rows, as shown (marks removed)."""
    subjects = []
    for row in mailbox_rows(page):
        link = re.search(r'<a href="/m/[^"]+/">(.*?)</a>', row, flags=re.S)
        assert link is not None
        subjects.append(text_of(link.group(1)).removeprefix("Unread: "))
    return subjects


def marks(page: Any) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", page.content.decode())


def test_a_word_of_the_body_finds_the_message_with_the_word_marked(
    login: Any, doctor: User, patient: User
) -> None:
    send(doctor, patient, subject="Your visit", body="The panoramic film shows a cyst.")
    send(doctor, patient, subject="Billing", body="Your statement is attached.")

    page = search(login(patient), "panoramic")

    assert page.status_code == 200
    assert found_subjects(page) == ["Your visit"]
    assert "<mark>panoramic</mark>" in page.content.decode()
    row = text_of(mailbox_rows(page)[0])
    assert "From Dr. Jane Roe" in row
    assert "Inbox" in row
    assert "The panoramic film shows a cyst." in row


def test_subject_body_and_correspondent_are_searched_across_inbox_archive_and_sent(
    login: Any, doctor: User, patient: User, other_doctor: User
) -> None:
    send(other_doctor, doctor, subject="Consult: molar 19", body="See attached.")
    question = send(doctor, patient, subject="Question", body="Is it still loose?")
    services.reply(sender=patient, parent=question, body="Yes, the molar moves")
    services.set_archived(
        user=doctor, message=Message.objects.get(thread_root=question), archived=True
    )
    send(doctor, other_doctor, subject="Thanks", body="About the molar: agreed.")
    client = login(doctor)

    page = search(client, "molar")

    assert set(found_subjects(page)) == {"Consult: molar 19", "Re: Question", "Thanks"}
    rows = {m: text_of(r) for m, r in zip(found_subjects(page), mailbox_rows(page), strict=True)}
    assert "From Dr. Omar Lee Lakeside Oral Surgery" in rows["Consult: molar 19"]
    assert "Inbox" in rows["Consult: molar 19"]
    assert "Archive" in rows["Re: Question"]
    assert "Sent" in rows["Thanks"]
    assert "To Dr. Omar Lee" in rows["Thanks"]
    # The correspondent: by name, by address, by practice.
    assert set(found_subjects(search(client, "omar"))) == {"Consult: molar 19", "Thanks"}
    assert set(found_subjects(search(client, "pat.smith@mail.test"))) == {
        "Question",
        "Re: Question",
    }
    assert set(found_subjects(search(client, "lakeside"))) == {"Consult: molar 19", "Thanks"}


def test_the_start_of_a_name_or_a_subject_word_finds_it_and_body_words_match_whole(
    login: Any, doctor: User, patient: User, other_doctor: User
) -> None:
    send(doctor, patient, subject="Periodontitis recall", body="Chlorhexidine rinse, daily.")
    send(other_doctor, patient, subject="Hello", body="Nothing more.")
    client = login(patient)

    assert found_subjects(search(client, "perio")) == ["Periodontitis recall"]
    assert found_subjects(search(client, "periodonti")) == ["Periodontitis recall"]
    assert found_subjects(search(client, "periodontitis")) == ["Periodontitis recall"]
    # Past 10 letters a word is matched whole: this is no word of the message.
    assert found_subjects(search(client, "periodontit")) == []
    # Two letters start nothing (they would match half the mailbox): whole words only.
    assert found_subjects(search(client, "pe")) == []
    # Not the middle of a word.
    assert found_subjects(search(client, "dontitis")) == []
    # A correspondent by the start of their name, address or practice.
    assert found_subjects(search(client, "oma")) == ["Hello"]
    assert found_subjects(search(client, "lakes")) == ["Hello"]
    # The body's words are found whole.
    assert found_subjects(search(client, "chlorhexidine")) == ["Periodontitis recall"]
    assert found_subjects(search(client, "chlor")) == []
    assert marks(search(client, "rinse")) == ["rinse"]
    assert marks(search(client, "perio")) == ["Periodontitis"]


def test_several_words_find_only_the_messages_holding_all_of_them(
    login: Any, doctor: User, patient: User
) -> None:
    send(doctor, patient, subject="Implant", body="Bone graft healed well.")
    send(doctor, patient, subject="Graft", body="The gum graft needs a check.")
    client = login(patient)

    assert set(found_subjects(search(client, "graft"))) == {"Implant", "Graft"}
    assert found_subjects(search(client, "graft bone")) == ["Implant"]
    assert found_subjects(search(client, "bone, GUM!")) == []
    # A repeated word counts once.
    assert found_subjects(search(client, "graft graft bone")) == ["Implant"]


def test_case_accents_and_punctuation_dont_matter(login: Any, doctor: User, patient: User) -> None:
    send(doctor, patient, subject="Café hours", body="Post-op: NO hot drinks (coffee) today.")
    client = login(patient)

    assert found_subjects(search(client, "CAFE")) == ["Café hours"]
    assert found_subjects(search(client, "post op")) == ["Café hours"]
    assert found_subjects(search(client, "post-op")) == ["Café hours"]
    assert marks(search(client, "cafe")) == ["Café"]
    assert marks(search(client, "coffee")) == ["coffee"]


def test_nobody_finds_anyone_elses_messages(
    login: Any, doctor: User, patient: User, staff: User, outsider: User, other_doctor: User
) -> None:
    send(doctor, patient, subject="Biopsy", body="Leukoplakia on the left tongue.")
    send(staff, other_doctor, subject="Schedule", body="Leukoplakia clinic moved.")

    assert found_subjects(search(login(outsider), "leukoplakia")) == []
    assert found_subjects(search(as_user(login(outsider), staff), "leukoplakia")) == ["Schedule"]
    assert found_subjects(search(as_user(login(outsider), patient), "leukoplakia")) == ["Biopsy"]
    # Each person's tokens are their own: the same word is another token in each index.
    mine = set(SearchEntry.objects.filter(owner=patient).values_list("token", flat=True))
    theirs = set(SearchEntry.objects.filter(owner=doctor).values_list("token", flat=True))
    assert mine
    assert theirs
    assert not mine & theirs


def test_a_message_deleted_from_ones_mailbox_is_no_longer_found_there_only(
    login: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send(doctor, patient, staff, subject="Referral", body="Oral surgeon next week.")
    services.hide_for_me(user=patient, message=message)

    assert found_subjects(search(login(patient), "surgeon")) == []
    assert not SearchEntry.objects.filter(owner=patient).exists()
    assert found_subjects(search(as_user(login(patient), staff), "surgeon")) == ["Referral"]
    assert found_subjects(search(as_user(login(patient), doctor), "surgeon")) == ["Referral"]


def test_deleted_and_expired_messages_leave_no_entries(
    tmp_path: Path, login: Any, doctor: User, patient: User
) -> None:
    with frozen_clock(SENT_AT, tmp_path) as clock:
        deleted = send(doctor, patient, subject="Oops", body="Wrong patient, sorry.")
        services.reply(sender=patient, parent=deleted, body="No problem, wrong patient indeed")
        expiring = send(doctor, patient, subject="Soon gone", body="Wrong tooth numbering.")
        assert SearchEntry.objects.filter(message=deleted).exists()

        services.delete_for_everyone(actor=doctor, message=deleted)
        assert found_subjects(search(login(patient), "wrong")) == ["Soon gone"]

        clock.move_to(expiring.expires_at + timedelta(seconds=1))
        # Expired: refused at once, before the job deletes it.
        assert found_subjects(search(login(patient), "wrong")) == []
        expire_due_messages()
    assert not SearchEntry.objects.exists()
    assert not Message.objects.exists()


def test_drafts_are_not_searched(login: Any, doctor: User) -> None:
    services.save_draft(
        owner=doctor, draft_id=None, fields={"subject": "Unsent", "body": "Periodontitis notes"}
    )
    page = search(login(doctor), "periodontitis")
    assert page.status_code == 200
    assert found_subjects(page) == []
    assert "No message in your Inbox, Archive or Sent matches" in page.content.decode()


def test_a_message_whose_expiry_moved_is_still_found(
    tmp_path: Path, login: Any, doctor: User, patient: User, staff: User
) -> None:
    with frozen_clock(SENT_AT, tmp_path):
        message = send(doctor, patient, staff, subject="Moved", body="Orthodontic retainer.")
        services.hide_for_me(user=staff, message=message)
        old_day = SearchEntry.objects.filter(message=message).values_list("day", flat=True)[0]

        services.change_expiry(
            actor=doctor, message=message, expires_at=SENT_AT + timedelta(days=3)
        )

        days = set(SearchEntry.objects.filter(message=message).values_list("day", flat=True))
        assert days == {(SENT_AT + timedelta(days=3)).date()} != {old_day}
        assert found_subjects(search(login(patient), "retainer")) == ["Moved"]
        assert found_subjects(search(as_user(login(patient), doctor), "retainer")) == ["Moved"]
        # Moving the expiry doesn't bring a hidden copy back into the staff's searches.
        assert not SearchEntry.objects.filter(owner=staff).exists()


def test_markup_is_shown_as_text_and_the_match_still_marked(
    login: Any, doctor: User, patient: User
) -> None:
    send(
        doctor,
        patient,
        subject="<script>alert('x')</script> crown",
        body="<b>Porcelain</b> & gold <img src=x onerror=alert(1)>",
    )
    client = login(patient)

    page = search(client, "<b>porcelain</b>")
    html = page.content.decode()

    assert page.status_code == 200
    assert found_subjects(page) == ["<script>alert('x')</script> crown"]
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>Porcelain" not in html
    # Escaped first, then marked: the query's "b" is a word, and so is the body's.
    assert (
        "&lt;<mark>b</mark>&gt;<mark>Porcelain</mark>&lt;/<mark>b</mark>&gt; &amp; gold "
        "&lt;img src=x onerror=alert(1)&gt;"
    ) in html
    # The query goes back into the box escaped.
    assert 'value="&lt;b&gt;porcelain&lt;/b&gt;"' in html
    assert marks(search(client, "script")) == ["script", "script"]


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("", "Type a word to search for."),
        ("   ", "Type a word to search for."),
        ("?!… — ***", "punctuation and symbols alone find nothing"),
        ("x" * 1000, "A search can be at most 200 characters long"),
        (" ".join(f"w{n}" for n in range(11)), "Search for at most 10 words at once."),
        ("tooth\x00", "Null characters are not allowed."),
    ],
)
def test_bad_searches_get_a_clear_message_and_a_400(
    login: Any, doctor: User, patient: User, q: str, says: str
) -> None:
    send(doctor, patient, subject="Tooth", body="x" * 50)
    page = search(login(patient), q)

    assert page.status_code == 400
    html = page.content.decode()
    assert says in text_of(html)
    assert mailbox_rows(page) == []
    # The box gets back at most 200 characters of what was typed.
    box = re.search(r'<input type="search" name="q" id="id_q"[^>]*value="([^"]*)"', html)
    assert box is not None
    assert len(box.group(1)) <= 200


def test_a_search_opened_by_its_address_shows_only_the_form(
    login: Any, doctor: User, patient: User
) -> None:
    send(doctor, patient, subject="Crown", body="Zirconia crown fitted.")
    # The words are never in the address: a link with them searches nothing.
    page = login(patient).get("/search/?q=zirconia")
    assert page.status_code == 200
    assert mailbox_rows(page) == []
    assert 'method="post" action="/search/"' in page.content.decode()


def test_results_come_newest_first_a_page_at_a_time(
    tmp_path: Path, login: Any, doctor: User, patient: User
) -> None:
    with frozen_clock(SENT_AT, tmp_path) as clock:
        for n in range(53):
            clock.shift(timedelta(minutes=1))
            send(doctor, patient, subject=f"Recall {n}", body="Hygiene recall due.")
        send(doctor, patient, subject="Other", body="Nothing to see.")
        client = login(patient)

        first = search(client, "hygiene")
        assert found_subjects(first) == [f"Recall {n}" for n in range(52, 2, -1)]
        older = re.search(r'name="before" value="([^"]+)"', first.content.decode())
        assert older is not None

        second = search(client, "hygiene", before=older.group(1))
        assert found_subjects(second) == ["Recall 2", "Recall 1", "Recall 0"]
        assert 'name="before"' not in second.content.decode()
        assert "← Newest" in second.content.decode()
        # Several words page the same way.
        assert len(found_subjects(search(client, "hygiene recall"))) == 50
        # A cursor that isn't one starts over.
        again = search(client, "hygiene", before=f"1~{uuid.uuid4()}x")
        assert found_subjects(again)[0] == "Recall 52"


def test_a_search_costs_a_fixed_number_of_queries(
    login: Any, doctor: User, patient: User, staff: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(doctor)
    for n in range(3):
        first = send(doctor, patient, staff, subject=f"Crown {n}", body="Crown prep.")
        services.reply(sender=patient, parent=first, body="About the crown.")

    def queries(q: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert search(client, q).status_code == 200
        return len(captured)

    few = queries("crown")
    for n in range(20):
        send(staff, doctor, subject=f"More crown {n}", body="Crown again.")
    assert queries("crown") == few
    assert queries("crown prep") == few
