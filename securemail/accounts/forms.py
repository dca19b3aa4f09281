from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm

from securemail.accounts import services
from securemail.accounts.models import User
from securemail.core import ratelimit


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": (
            "That email address and password don't match an active account. After 5 wrong "
            "passwords an account is locked: use “Forgot your password?” to unlock it."
        ),
        "inactive": "This account is not active.",
    }

    def clean(self) -> dict[str, Any]:
        ip = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        email = (self.data.get("username") or "").strip().lower()
        try:
            ratelimit.consume("login", f"ip:{ip}")
            ratelimit.consume("login", f"email:{email}")
        except ratelimit.RateLimited:
            raise forms.ValidationError(
                "Too many login attempts. Wait a few minutes and try again.", code="rate_limited"
            ) from None
        return super().clean()


class PasswordLinkForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class ChoosePasswordForm(SetPasswordForm):
    def save(self, commit: bool = True) -> User:
        services.set_password(user=self.user, password=self.cleaned_data["new_password1"])
        return self.user
