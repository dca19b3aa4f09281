"""Export as PDF: a conversation, as its reader sees it, for the practice's records."""

from math import ceil

from django.db import transaction

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import pdf, ratelimit
from securemail.messaging.models import Message
from securemail.messaging.services.common import MessagingError


class TooManyExports(MessagingError):
    """The account's `pdf_export` limit is used up; `str(error)` says when to try again."""


def export_pdf(*, user: User, thread: list[Message], html: str, css: str) -> bytes:
    """The PDF of a conversation `user` got through access.access_thread (`thread`: the
    messages they see), from its print page's HTML and `css`, made in memory and fetching
    nothing (core.pdf). Rate limited per account (TooManyExports); pdf.PdfUnavailable, with
    nothing charged, when WeasyPrint can't run here.

    Side effects: one audit entry (the conversation, the messages exported: ids only)."""
    pdf.ensure_available()
    try:
        ratelimit.spend("pdf_export", f"user:{user.pk}")
    except ratelimit.RateLimited as limited:
        minutes = max(1, ceil(limited.retry_after / 60))
        raise TooManyExports(
            "You have exported many conversations as PDF in a short time. Try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}."
        ) from None
    document = pdf.html_to_pdf(html, css=css)
    with transaction.atomic():
        audit.record(
            Event.CONVERSATION_EXPORTED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"message:{thread[0].root_id}",
            data={"messages": [str(m.pk) for m in thread]},
        )
    return document
