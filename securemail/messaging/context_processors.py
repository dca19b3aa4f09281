from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from securemail.accounts.models import User
from securemail.messaging import access
from securemail.messaging.quota import storage_and_unread


def mailbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    context: dict[str, Any] = {
        "attachment_max_bytes": settings.SECUREMAIL_MAX_ATTACHMENT_BYTES,
    }
    if isinstance(user, User) and not user.is_operator:
        # The unread badge and the storage quota (the menu; the profile page): one statement
        # for both, made only when a template draws either (not for htmx fragments), once
        # per request.
        figures = SimpleLazyObject(lambda: storage_and_unread(user))
        context["mailbox_unread"] = SimpleLazyObject(lambda: figures[1])
        context["storage"] = SimpleLazyObject(lambda: figures[0])
    else:
        context["mailbox_unread"] = SimpleLazyObject(lambda: access.unread_count(user))
    return context
