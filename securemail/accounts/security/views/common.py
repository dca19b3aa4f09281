"""What the security pages share."""

import json
from typing import Any

from django.http import HttpRequest, JsonResponse

from securemail.accounts import access
from securemail.accounts.models import TwoStepMethod, User
from securemail.accounts.security import signin
from securemail.accounts.security.forms import CodeForm
from securemail.core.phones import masked_phone

# The recovery codes made while adding a first passkey (a JSON exchange), shown once by
# the next page and gone from the session then.
NEW_CODES_KEY = "_securemail_new_recovery_codes"
# The new cell phone waiting for its code.
NEW_PHONE_KEY = "_securemail_new_phone"


def acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def method_labels(methods: list[str]) -> list[tuple[str, str]]:
    return [(method, TwoStepMethod(method).label) for method in methods]


def second_step_context(
    user: User, *, method: str, form: CodeForm | None, purpose: str, text_url: str, action: str
) -> dict[str, Any]:
    methods = access.second_step_methods(user)
    if method not in [*methods, signin.RECOVERY]:
        method = methods[0] if methods else signin.RECOVERY
    return {
        "methods": method_labels(methods),
        "method": method,
        "form": form or CodeForm(initial={"method": method}),
        "purpose": purpose,
        "text_url": text_url,
        "action": action,
        "phone": masked_phone(user.phone) if user.phone else "",
    }


def json_error(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None
