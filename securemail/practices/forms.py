from django import forms


class PracticeSettingsForm(forms.Form):
    require_phone_verification = forms.BooleanField(
        label="People our practice invites must verify their phone", required=False
    )


class CorrectEmailForm(forms.Form):
    email = forms.EmailField(
        label="Correct email address",
        max_length=254,
        error_messages={
            "required": "Enter the address the invitation should go to.",
            "invalid": "Enter a valid email address.",
        },
    )
