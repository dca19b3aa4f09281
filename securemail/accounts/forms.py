from typing import Any, override
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth.forms import SetPasswordForm

from securemail.accounts import services
from securemail.accounts.models import User
from securemail.accounts.validators import validate_new_password
from securemail.core.limits import days, limits


class LoginForm(forms.Form):
    """What the login page asks; accounts.services.log_in decides."""

    username = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordLinkForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class ChoosePasswordForm(SetPasswordForm):
    # Django's signature (the default names a field, not a password).
    @override
    def validate_password_for_user(
        self,
        user: User,
        password_field_name: str = "password2",  # noqa: S107
    ) -> None:
        password = self.cleaned_data.get(password_field_name)
        if password:
            try:
                validate_new_password(password, user)
            except forms.ValidationError as error:
                self.add_error(password_field_name, error)

    @override
    def save(self, commit: bool = True) -> User:
        # Only accounts.services.set_password_with_link sets it: it spends the link too.
        raise NotImplementedError("Use accounts.services.set_password_with_link.")


def _time_zone_choices() -> list[tuple[str, str]]:
    common = [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "Pacific/Honolulu",
    ]
    others = sorted(z for z in available_timezones() if "/" in z and z not in common)
    return [(z, z.replace("_", " ")) for z in [*common, "UTC", *others]]


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=_time_zone_choices, label="Time zone")
    # Choices and help come from the limit (see __init__).
    default_expiry_days = forms.TypedChoiceField(
        label="Delete my messages for everyone after", coerce=int
    )

    class Meta:
        model = User
        fields = list(services.PROFILE_FIELDS)
        labels = {"notify_by": "Tell me about new messages by", "office_phone": "Office phone"}
        widgets = {"signature": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"signature": "Added at the end of your new messages and replies."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        longest = limits().max_expiry_days
        field = self.fields["default_expiry_days"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(d, days(d)) for d in range(1, longest + 1)]
        field.help_text = f"The default for new messages; at most {days(longest)}."

    def clean_full_name(self) -> str:
        name = " ".join(self.cleaned_data["full_name"].split())
        if len(name) < 2:
            raise forms.ValidationError("Enter your full name.")
        return name

    def clean_office_phone(self) -> str:
        from securemail.core.phones import normalize_phone

        raw = self.cleaned_data["office_phone"].strip()
        return normalize_phone(raw) if raw else ""

    def clean_signature(self) -> str:
        signature = self.cleaned_data["signature"].strip()
        if len(signature) > 1000:
            raise forms.ValidationError("Keep the signature under 1,000 characters.")
        return signature
