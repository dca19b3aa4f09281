from typing import Any

from django import forms


class PracticeSettingsForm(forms.Form):
    require_phone_verification = forms.BooleanField(
        label="People our practice invites must verify their phone", required=False
    )


class TwoStepPolicyForm(forms.Form):
    require_two_step = forms.BooleanField(
        label="Doctors and staff must use two-step login", required=False
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


class AuditRangeForm(forms.Form):
    """The days of the practice's audit log to export (UTC, both included)."""

    first_day = forms.DateField(
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Enter the first day to export.",
            "invalid": "Enter the first day as a date like 2026-11-01.",
        },
    )
    last_day = forms.DateField(
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Enter the last day to export.",
            "invalid": "Enter the last day as a date like 2026-11-30.",
        },
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            raise forms.ValidationError("The last day comes before the first: swap them.")
        return cleaned
