"""Issue 11, "Export as PDF": a conversation as its reader sees it, with its attachments
listed, as a PDF for the practice's records: page numbers, the practice's name and the export
date in the footer, made in memory from the print page, nothing fetched from outside; audited,
rate limited, out of reach is a 404. README "PDF export".

The PDFs are read back with pypdf: what is checked is the text a person sees in them."""

import io
import logging
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.test import Client
from pypdf import PdfReader

from securemail.accounts.models import User
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.core import pdf
from securemail.messaging.models import Message
from securemail.messaging.services import reply
from securemail.messaging.tests.helpers import (
    BODY,
    SUBJECT,
    as_user,
    send,
    send_with_files,
    text_of,
)
from tests.support import frozen_clock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_files")]

# 11 AM in New York, the personas' time zone: the export date is May 6, 2031 there.
NOW = datetime(2031, 5, 6, 15, 0, tzinfo=UTC)
REPLY = "The swelling went down after two days, thank you."
FILE_NAME = "post-op-care.pdf"
EXPORTED = Event.CONVERSATION_EXPORTED.value


@pytest.fixture(autouse=True)
def weasyprint_runs_here() -> None:
    """Every test here needs WeasyPrint's system libraries: say which, and how to get them."""
    missing = pdf.missing_libraries()
    if missing:
        pytest.fail(
            f"WeasyPrint can't load {', '.join(missing)}: "
            f"apt-get install {pdf.PANGO_PACKAGES} (README, PDF export)"
        )


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[Any]:
    with frozen_clock(NOW, tmp_path) as traveller:
        yield traveller


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL WeasyPrint asks the fetcher for while rendering (each one still refused)."""
    asked: list[str] = []
    refuse = pdf.refuse

    def spy(url: str) -> Any:
        asked.append(url)
        refuse(url)

    monkeypatch.setattr(pdf, "refuse", spy)
    return asked


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that answers anything (a 1-pixel PNG) and records every
    path asked for: the address, and what was asked."""
    asked: list[str] = []
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6"
        "1d2c0000000049454e44ae426082"
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def pdf_text(content: bytes) -> tuple[int, list[str]]:
    """The number of pages and each page's text, whitespace collapsed."""
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), [" ".join(page.extract_text().split()) for page in reader.pages]


def export(client: Client, message: Message) -> Any:
    return client.post(f"/m/{message.pk}/export/")


def _thread(doctor: User, patient: User, clock: Any) -> tuple[Message, Message]:
    root = send_with_files(doctor, patient, files={FILE_NAME: b"%PDF-1.7\n" * 200})
    clock.move_to(NOW + timedelta(hours=2))
    answer = reply(sender=patient, parent=root, body=REPLY, client_token=uuid.uuid4())
    clock.move_to(NOW + timedelta(hours=3))
    return root, answer


# --- what the PDF holds -----------------------------------------------------------------------


def test_a_doctor_exports_the_conversation_as_a_pdf_with_its_files_and_footer(
    clock: Any, login: Any, doctor: User, patient: User
) -> None:
    _, answer = _thread(doctor, patient, clock)

    response = export(login(doctor), answer)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    # A download, named after the day only: nothing about the conversation in it.
    assert response["Content-Disposition"] == 'attachment; filename="conversation-2031-05-06.pdf"'
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"%PDF-")
    pages, [page] = pdf_text(response.content)
    assert pages == 1
    assert SUBJECT in page
    # The whole conversation, oldest first, from the reply it was exported from too.
    assert page.index(BODY) < page.index(REPLY)
    assert "From: Dr. Jane Roe, Bright Smiles Dental" in page
    assert f"To: Pat Smith <{patient.email}>" in page
    assert f"Attachments: {FILE_NAME} (1.8 KB)" in page
    assert "Date: May 6, 2031 11:00 AM EDT" in page
    # The footer: the practice, the export date (the exporter's day), the page number.
    assert "Bright Smiles Dental · Exported May 6, 2031" in page
    assert "Page 1 of 1" in page
    assert "Exported from SecureMail by Dr. Jane Roe on May 6, 2031 2:00 PM EDT." in page
    # The print page's button is not in the document.
    assert "Export as PDF" not in page


def test_a_patient_without_a_practice_gets_the_senders_practice_in_the_footer(
    clock: Any, login: Any, doctor: User, patient: User
) -> None:
    patient.time_zone = "Asia/Tokyo"
    patient.save(update_fields=["time_zone"])
    root, _ = _thread(doctor, patient, clock)

    response = export(login(patient), root)

    assert response.status_code == 200
    # 18:00 UTC is 3 AM the next day in Tokyo: the export date and the file's are that day.
    assert response["Content-Disposition"] == 'attachment; filename="conversation-2031-05-07.pdf"'
    _, [page] = pdf_text(response.content)
    assert "Bright Smiles Dental · Exported May 7, 2031" in page
    assert "Exported from SecureMail by Pat Smith on May 7, 2031 3:00 AM JST." in page
    assert REPLY in page


def test_with_no_practice_on_either_side_the_footer_names_securemail(
    clock: Any, login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    # The doctor has left the practice since.
    doctor.practice = None
    doctor.is_practice_manager = False
    doctor.save(update_fields=["practice", "is_practice_manager"])

    _, [page] = pdf_text(export(login(patient), message).content)

    assert "SecureMail · Exported May 6, 2031" in page


def test_each_reader_exports_only_what_they_can_see(
    clock: Any, login: Any, client: Any, doctor: User, staff: User, patient: User
) -> None:
    root = send(doctor, patient, staff)
    # The patient's reply goes to the doctor only.
    reply(sender=patient, parent=root, body=REPLY, client_token=uuid.uuid4())

    _, staff_pages = pdf_text(export(login(staff), root).content)
    _, doctor_pages = pdf_text(export(as_user(client, doctor), root).content)

    assert BODY in " ".join(staff_pages)
    assert REPLY not in " ".join(staff_pages)
    assert REPLY in " ".join(doctor_pages)


def test_a_long_conversation_runs_over_several_numbered_pages(
    clock: Any, login: Any, doctor: User, patient: User
) -> None:
    long_body = " ".join(["Rinse twice daily and keep the site clean."] * 40)
    root = send(doctor, patient, body=long_body)
    parent = root
    for n in range(5):
        clock.move_to(NOW + timedelta(hours=n + 1))
        sender = patient if n % 2 == 0 else doctor
        parent = reply(
            sender=sender, parent=parent, body=f"Reply {n}. {long_body}", client_token=uuid.uuid4()
        )

    pages, texts = pdf_text(export(login(doctor), root).content)

    assert pages >= 3
    for number, page in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in page
        assert "Bright Smiles Dental · Exported May 6, 2031" in page
    assert "Reply 4." in texts[-1]


# --- nothing fetched, nothing run ---------------------------------------------------------------


def test_markup_in_a_message_is_text_in_the_pdf_and_nothing_is_fetched(
    clock: Any,
    login: Any,
    doctor: User,
    patient: User,
    fetches: list[str],
    loopback_server: tuple[str, list[str]],
) -> None:
    address, asked = loopback_server
    body = (
        f'See <img src="{address}/tracker.png"> and '
        f'<link rel="stylesheet" href="{address}/style.css"> '
        f'<iframe src="file:///etc/passwd"></iframe>'
    )
    message = send(doctor, patient, subject=f"<b>Scan</b> <img src={address}/s.png>", body=body)

    response = export(login(patient), message)

    assert response.status_code == 200
    _, [page] = pdf_text(response.content)
    assert f'See <img src="{address}/tracker.png"> and' in page
    assert f"<b>Scan</b> <img src={address}/s.png>" in page
    assert "root:" not in page
    assert fetches == []
    assert asked == []


def test_the_renderer_refuses_every_url_a_document_asks_for(
    fetches: list[str], loopback_server: tuple[str, list[str]]
) -> None:
    address, asked = loopback_server
    html = (
        "<!doctype html><html><head>"
        f'<link rel="stylesheet" href="{address}/linked.css"></head><body>'
        f'<img src="{address}/image.png"><img src="file:///etc/hostname">'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        "<p>Still rendered</p></body></html>"
    )
    css = (
        f'@import url("{address}/imported.css");'
        f'@font-face {{ font-family: Remote; src: url("{address}/font.woff2"); }}'
        f'body {{ font-family: Remote; background: url("{address}/background.png"); }}'
    )

    document = pdf.html_to_pdf(html, css=css)

    _, [page] = pdf_text(document)
    assert "Still rendered" in page
    # Each was asked for, refused, and never reached the server (nor did the font: without
    # a font configuration of ours, WeasyPrint ignores @font-face).
    assert {
        f"{address}/linked.css",
        f"{address}/image.png",
        "file:///etc/hostname",
        f"{address}/imported.css",
        f"{address}/background.png",
    } <= set(fetches)
    assert any(url.startswith("data:") for url in fetches)
    assert asked == []
    with pytest.raises(pdf.FetchRefused):
        pdf.refuse(f"{address}/direct")


# --- who may export, and how --------------------------------------------------------------------


def test_the_export_is_audited_with_ids_only(
    clock: Any, login: Any, doctor: User, patient: User
) -> None:
    root, answer = _thread(doctor, patient, clock)

    export(login(doctor), answer)

    [entry] = AuditEvent.objects.filter(event=EXPORTED)
    assert entry.actor_id == doctor.pk
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"message:{root.pk}"
    assert entry.data == {"messages": [str(root.pk), str(answer.pk)]}
    assert SUBJECT not in str(entry.data)
    assert FILE_NAME not in str(entry.data)


@pytest.mark.parametrize("persona", ["outsider", "other_doctor", "free_staff"])
def test_anyone_outside_the_conversation_gets_a_404_and_nothing_is_audited(
    persona: str, request: Any, login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(request.getfixturevalue(persona))

    theirs = client.post(f"/m/{message.pk}/export/")
    missing = client.post(f"/m/{uuid.uuid4()}/export/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert SUBJECT.encode() not in theirs.content
    assert client.post("/m/not-a-uuid/export/").status_code == 404
    assert not AuditEvent.objects.filter(event=EXPORTED).exists()


def test_an_expired_conversation_is_a_404(
    clock: Any, login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    clock.move_to(message.expires_at)

    response = export(login(doctor), message)

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(event=EXPORTED).exists()


def test_a_message_deleted_from_ones_mailbox_is_a_404_for_that_reader(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(patient)
    client.post(f"/m/{message.pk}/hide/")

    assert export(client, message).status_code == 404


def test_the_export_takes_a_post_only(login: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)

    response = login(doctor).get(f"/m/{message.pk}/export/")

    assert response.status_code == 405
    assert not AuditEvent.objects.filter(event=EXPORTED).exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)

    response = export(client, message)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/m/{message.pk}/export/"


def test_a_post_without_the_forms_security_token_is_refused(doctor: User, patient: User) -> None:
    message = send(doctor, patient)
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")

    response = export(client, message)

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(event=EXPORTED).exists()
    # The conversation page's own form carries it, and works.
    page = client.get(f"/m/{message.pk}/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    done = client.post(f"/m/{message.pk}/export/", {"csrfmiddlewaretoken": token})
    assert done.status_code == 200


def test_too_many_exports_get_a_429_saying_when_to_try_again(
    settings: Any, login: Any, doctor: User, patient: User
) -> None:
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "pdf_export": "2/h"}
    message = send(doctor, patient)
    client = login(doctor)
    assert [export(client, message).status_code for _ in range(2)] == [200, 200]

    refused = export(client, message)

    assert refused.status_code == 429
    text = text_of(refused.content.decode())
    assert "Too many exports" in text
    assert "You have exported many conversations as PDF in a short time. Try again in" in text
    assert "minute" in text
    assert refused["Content-Type"].startswith("text/html")
    assert f'href="/m/{message.pk}/"' in refused.content.decode()
    assert AuditEvent.objects.filter(event=EXPORTED).count() == 2
    # Someone else's allowance is their own.
    assert export(as_user(client, patient), message).status_code == 200


def test_without_weasyprints_libraries_the_export_says_so_with_a_503(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    settings: Any,
    login: Any,
    doctor: User,
    patient: User,
) -> None:
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "pdf_export": "1/h"}
    # A process that has not loaded WeasyPrint yet, on a machine where it can't load.
    monkeypatch.setattr(pdf, "_weasyprint", None)
    monkeypatch.setattr(pdf, "_unavailable", "")
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    message = send(doctor, patient)
    client = login(doctor)

    with caplog.at_level(logging.ERROR):
        response = export(client, message)
        again = export(client, message)

    assert response.status_code == again.status_code == 503
    # Said once to the operators, with the reason (not tried again at every export).
    assert caplog.text.count("pdf: WeasyPrint can't load (ModuleNotFoundError") == 1
    text = text_of(response.content.decode())
    assert "PDF export is not available" in text
    assert "This server can't make PDF files at the moment. Use Print instead" in text
    assert not AuditEvent.objects.filter(event=EXPORTED).exists()
    # Nothing was charged: once it works again, the one export allowed goes through.
    monkeypatch.undo()
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "pdf_export": "1/h"}
    assert export(client, message).status_code == 200


def test_the_system_check_names_the_missing_libraries_and_the_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [m for m in checks.run_checks() if m.id == "securemail.W002"] == []
    monkeypatch.setitem(pdf._LIBRARIES, "pango", ("libno-such-pango.so.0",))

    [warning] = [m for m in checks.run_checks() if m.id == "securemail.W002"]

    assert warning.msg == "PDF export is off: WeasyPrint can't load pango."
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in warning.hint


# --- the buttons --------------------------------------------------------------------------------


def test_the_conversation_and_print_pages_have_an_export_as_pdf_button(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(patient)
    form = f'<form method="post" action="/m/{message.pk}/export/"'

    for path in (f"/m/{message.pk}/", f"/m/{message.pk}/print/"):
        html = client.get(path).content.decode()
        assert form in html, path
        after = html.split(form, 1)[1].split("</form>", 1)[0]
        assert 'name="csrfmiddlewaretoken"' in after
        assert "Export as PDF</button>" in after
