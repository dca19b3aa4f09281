from typing import Any, override

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from securemail.accounts import access, services
from securemail.accounts.models import User


class EmailBackend(BaseBackend):
    """Sessions of open accounts (active, registered to the end). Logging in itself is
    accounts.services.log_in (rate limited, counts failures, refuses locked accounts to
    unknown browsers); `authenticate` runs the same check for anything that calls Django's
    authenticate(). Sessions opened before a lock end with it (User.get_session_auth_hash);
    one that a known browser opened past the lock stays open."""

    @override
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        user = services.authenticate_password(email=username or "", password=password or "")
        # A password alone never opens an account with two-step login on.
        if user is not None and access.second_step_needed(user):
            return None
        return user

    def user_can_authenticate(self, user: User) -> bool:
        return services.may_log_in(user)

    @override
    def get_user(self, user_id: int) -> User | None:
        user = access.session_user(user_id)
        if user is None or not services.has_open_account(user):
            return None
        return user
