"""What the security pages ask. The flows (setup, signin, changes) decide."""

from django import forms

from securemail.accounts.models import TwoStepMethod
from securemail.accounts.validators import validate_new_password
from securemail.core.phones import normalize_code_phone

CODE_WIDGET = forms.TextInput(
    attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
)


class CodeForm(forms.Form):
    """A 6-digit code (the app's or a texted one), or a recovery code."""

    METHODS = [
        (TwoStepMethod.APP, "Authenticator app"),
        (TwoStepMethod.TEXT, "Text message"),
        ("recovery", "Recovery code"),
    ]
    method = forms.ChoiceField(choices=METHODS, widget=forms.HiddenInput)
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=CODE_WIDGET,
        error_messages={"required": "Enter the code."},
    )


class SetupCodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        widget=CODE_WIDGET,
        error_messages={"required": "Enter the 6 digits."},
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
        error_messages={"required": "Enter your password."},
    )


class NewPasswordForm(forms.Form):
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label="New password again",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: object, user: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user = user

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "The two passwords differ.")
        elif isinstance(first, str) and first:
            try:
                validate_new_password(first, self.user)  # type: ignore[arg-type]
            except forms.ValidationError as error:
                self.add_error("new_password1", error)
        return cleaned


class NewEmailForm(forms.Form):
    email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter the new address.",
            "invalid": "Enter a valid email address.",
        },
    )


class NewPhoneForm(forms.Form):
    phone = forms.CharField(
        label="New cell phone",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": "Enter the new number."},
    )

    def clean_phone(self) -> str:
        # ValidationError with the reason (not a number, or not one codes may go to).
        return normalize_code_phone(self.cleaned_data["phone"])


class PasskeyNameForm(forms.Form):
    name = forms.CharField(label="Name this passkey", max_length=60, required=False)


class MethodForm(forms.Form):
    method = forms.ChoiceField(choices=TwoStepMethod.choices)
