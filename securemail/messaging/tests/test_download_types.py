"""Downloads of files a browser could run or render (HTML, SVG, XML, JavaScript and the
like) go out as application/octet-stream, on top of being attachments with nosniff and a
sandbox (issue 9); the types a browser only shows keep their sniffed type."""

import uuid
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.messaging.models import Attachment
from securemail.messaging.tests.helpers import send_with_files
from securemail.messaging.uploads import UPLOAD_FIELD
from tests.support import attachment_url, downloaded, file_upload

pytestmark = pytest.mark.django_db

BYTES = "application/octet-stream"
SCRIPT = b"<script>alert(document.cookie)</script>"
ACTIVE = {
    "page.html": b"<!DOCTYPE html><html><body>" + SCRIPT + b"</body></html>",
    "shout.htm": b"<HTML><BODY>" + SCRIPT.upper() + b"</BODY></HTML>",
    "bom.html": b"\xef\xbb\xbf<html>" + SCRIPT + b"</html>",
    "page.xhtml": b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">'
    + SCRIPT
    + b"</html>",
    "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg">' + SCRIPT + b"</svg>",
    "prolog.svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    "data.xml": b'<?xml version="1.0"?><note><to>Front desk</to></note>',
    "style.xsl": b'<?xml version="1.0"?><xsl:stylesheet version="1.0" '
    b'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>',
    "app.js": b"function f() { fetch('/m/').then(r => r.text()) }\n",
    "module.mjs": b"export const steal = () => document.cookie;\n",
    "theme.css": b"body { background: url(https://attacker.example/x) }\n",
    "movie.swf": b"FWS\x09" + b"\x00" * 40,
    "message.eml": b"From: a@example.test\r\nSubject: x\r\n\r\nhello",
    "print.ps": b"%!PS-Adobe-3.0\n",
}
# What the first bytes say: the type these downloads had before (for the ones it knows).
SNIFFED_BEFORE = {
    "page.html": "text/html",
    "drawing.svg": "image/svg+xml",
    "data.xml": "application/xml",
}


def _send(login: Any, sender: User, to: User, files: dict[str, bytes]) -> list[Attachment]:
    """Send `files` through the compose page, as a browser posts them."""
    response = login(sender).post(
        "/compose/",
        {
            "to": to.email,
            "subject": "Files",
            "body": "Attached.",
            "client_token": str(uuid.uuid4()),
            UPLOAD_FIELD: [file_upload(name, data) for name, data in files.items()],
        },
    )
    assert response.status_code == 302, response.content[:800]
    return list(Attachment.objects.order_by("position"))


@pytest.mark.parametrize("name", list(ACTIVE))
def test_a_file_a_browser_could_run_or_render_downloads_as_plain_bytes(
    name: str, login: Any, doctor: User, patient: User
) -> None:
    [attachment] = _send(login, doctor, patient, {name: ACTIVE[name]})

    response = login(patient).get(attachment_url(attachment))

    assert response.status_code == 200
    assert response["Content-Type"] == BYTES
    assert downloaded(response) == ACTIVE[name]
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


@pytest.mark.parametrize("name", list(SNIFFED_BEFORE))
def test_a_file_stored_with_its_active_type_before_still_downloads_as_plain_bytes(
    name: str, login: Any, doctor: User, patient: User
) -> None:
    message = send_with_files(doctor, patient, files={name: ACTIVE[name]})
    attachment = Attachment.objects.get(message=message)
    # As rows stored before this rule hold it.
    Attachment.objects.filter(pk=attachment.pk).update(content_type=SNIFFED_BEFORE[name])

    response = login(patient).get(attachment_url(attachment))

    assert response["Content-Type"] == BYTES
    assert downloaded(response) == ACTIVE[name]


def test_files_a_browser_only_shows_keep_their_sniffed_type(
    login: Any, doctor: User, patient: User
) -> None:
    files = {
        "panorex.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40,
        "photo.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40,
        "referral.pdf": b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        # Markup in a text file stays text: with nosniff no browser renders it.
        "notes.txt": b"Ice 20 minutes on. " + SCRIPT,
    }
    attachments = _send(login, doctor, patient, files)
    reader = login(patient)

    types = [reader.get(attachment_url(a))["Content-Type"] for a in attachments]

    assert types == ["image/png", "image/jpeg", "application/pdf", "text/plain"]
