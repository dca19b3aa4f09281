from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from securemail.accounts import services
from securemail.accounts.models import User, normalize_email


class EmailBackend(BaseBackend):
    """Log in with email and password; counts failures and refuses locked accounts."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        try:
            user = User.objects.get(email=normalize_email(username))
        except User.DoesNotExist:
            # Spend the same time as a real check, so timing does not reveal accounts.
            User().set_password(password)
            return None
        if not self.user_can_authenticate(user):
            return None
        if not user.check_password(password):
            services.record_failed_login(user=user)
            return None
        services.record_successful_login(user=user)
        return user

    def user_can_authenticate(self, user: User) -> bool:
        return user.is_active and user.status == User.Status.ACTIVE and user.locked_at is None

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("practice").filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        return user
