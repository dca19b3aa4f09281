from typing import Any

from django.conf import settings
from django.http import HttpRequest

from securemail.messaging import access


def mailbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "mailbox_unread": access.unread_count(user),
        "attachment_max_bytes": settings.SECUREMAIL_MAX_ATTACHMENT_BYTES,
    }
