from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from securemail.accounts.models import User
from securemail.messaging import access
from securemail.messaging.quota import storage_use


def mailbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    context: dict[str, Any] = {
        "mailbox_unread": access.unread_count(user),
        "attachment_max_bytes": settings.SECUREMAIL_MAX_ATTACHMENT_BYTES,
    }
    if isinstance(user, User) and not user.is_operator:
        # The storage quota in the menu and on the profile page: one query, made only when
        # a template draws it (not for htmx fragments), once per request.
        context["storage"] = SimpleLazyObject(lambda: storage_use(user))
    return context
