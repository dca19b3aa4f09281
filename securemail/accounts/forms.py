from typing import Any, override
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth.forms import SetPasswordForm

from securemail.accounts import services
from securemail.accounts.models import User
from securemail.accounts.notify import text_choice_refusal
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


def _quiet_hours_field(label: str, help_text: str) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Enter a time like 21:00 (or leave it empty)."},
    )


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=_time_zone_choices,
        label="Time zone",
        help_text="Every date you see, and your quiet hours, are in this time zone.",
        error_messages={"invalid_choice": "Choose your time zone from the list."},
    )
    quiet_hours_start = _quiet_hours_field(
        "Quiet hours for text messages: from",
        "Leave both times empty to get texts at any hour.",
    )
    quiet_hours_end = _quiet_hours_field(
        "Quiet hours for text messages: until",
        "A text due in your quiet hours waits until they end (e.g. from 21:00 until 07:00). "
        "Emails are never held.",
    )
    # Choices and help come from the limit (see __init__).
    default_expiry_days = forms.TypedChoiceField(
        label="Delete my messages for everyone after", coerce=int
    )

    class Meta:
        model = User
        fields = list(services.PROFILE_FIELDS)
        labels = {"notify_by": "Tell me about new messages by", "office_phone": "Office phone"}
        widgets = {"signature": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "signature": "Added at the end of your new messages and replies.",
            "notify_by": (
                "Texts go to your verified cell phone and say only that a message is waiting, "
                "with a link. Invitations, password links and security notices always come "
                "by email."
            ),
        }

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

    def clean_notify_by(self) -> str:
        choice = str(self.cleaned_data["notify_by"])
        refusal = text_choice_refusal(self.instance, choice)
        if refusal:
            raise forms.ValidationError(refusal)
        return choice

    @override
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("quiet_hours_start"), cleaned.get("quiet_hours_end")
        if "quiet_hours_start" in self.errors or "quiet_hours_end" in self.errors:
            return cleaned
        if (start is None) != (end is None):
            missing = "quiet_hours_end" if end is None else "quiet_hours_start"
            self.add_error(
                missing, "Set both times of your quiet hours, or leave both empty for none."
            )
        elif start is not None and start == end:
            self.add_error(
                "quiet_hours_end",
                "Quiet hours can't start and end at the same time. Choose another end, "
                "or leave both empty for none.",
            )
        return cleaned
