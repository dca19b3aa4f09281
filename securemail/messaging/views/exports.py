"""Export as PDF: the print page's HTML, rendered to a string, made a PDF by the service."""

import uuid
from functools import lru_cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import dateformat, timezone
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from securemail.accounts.models import User
from securemail.core.pdf import PdfUnavailable
from securemail.messaging import access, services
from securemail.messaging.content import ContentUnavailable
from securemail.messaging.models import Message
from securemail.messaging.views.common import current_user, logger, thread_items, unavailable

# The page's margins hold the footer: the practice and the export date (a running element
# of the document, so no text of ours is written into CSS) and "Page N of M".
PAGE_CSS = """
@page {
  size: letter;
  margin: 18mm 16mm 20mm;
  @bottom-left { content: element(pdf-footer); vertical-align: top; }
  @bottom-right {
    content: "Page " counter(page) " of " counter(pages);
    font: 9pt Georgia, "Times New Roman", serif; color: #555; vertical-align: top;
  }
}
.pdf-footer { position: running(pdf-footer); font: 9pt Georgia, "Times New Roman", serif;
  color: #555; }
main { max-width: none; margin: 0; padding: 0; }
"""


@lru_cache(maxsize=1)
def pdf_css() -> str:
    """The print page's own stylesheet and the page's, as one string (nothing is fetched
    while rendering)."""
    found = finders.find("print.css")
    assert isinstance(found, str), "print.css is one of our static files"
    return Path(found).read_text(encoding="utf-8") + PAGE_CSS


def footer_practice(user: User, thread: list[Message]) -> str:
    """Whose records the PDF is for: the exporting person's practice; for a patient (who has
    none), the practice of the first sender in the conversation who has one; else the
    product's name."""
    if user.practice is not None:
        return user.practice.name
    for message in thread:
        if message.sender.practice is not None:
            return message.sender.practice.name
    return "SecureMail"


@login_required
@require_POST
def export_pdf(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    """The conversation as a PDF download (POST with the CSRF token: an export is audited)."""
    user = current_user(request)
    message, thread = access.access_thread(user, message_id)
    try:
        items = thread_items(thread)
    except ContentUnavailable:
        return unavailable(request, message)
    today = localtime(timezone.now(), user.zone)
    html = render_to_string(
        "messaging/print.html",
        {
            "items": items,
            "subject": items[0].content.subject,
            "message": message,
            "pdf": {
                "practice": footer_practice(user, thread),
                "date": dateformat.format(today, "F j, Y"),
            },
        },
        request=request,
    )
    try:
        document = services.export_pdf(user=user, thread=thread, html=html, css=pdf_css())
    except services.TooManyExports as error:
        return _refused(request, message, "Too many exports", str(error), status=429)
    except PdfUnavailable:
        logger.error("messaging: PDF export refused, WeasyPrint can't run on this server")
        return _refused(
            request,
            message,
            "PDF export is not available",
            "This server can't make PDF files at the moment. Use Print instead, or try again "
            "later; the people running SecureMail have been told.",
            status=503,
        )
    response = HttpResponse(document, content_type="application/pdf")
    # Nothing about the conversation in the name: it lands in download lists and logs.
    response["Content-Disposition"] = f'attachment; filename="conversation-{today:%Y-%m-%d}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def _refused(
    request: HttpRequest, message: Message, title: str, text: str, *, status: int
) -> HttpResponse:
    context = {"title": title, "text": text, "message": message}
    return render(request, "messaging/export_refused.html", context, status=status)
