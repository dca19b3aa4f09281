from django import forms

from securemail.billing.models import PlanCode


class BuyForm(forms.Form):
    plan = forms.ChoiceField(
        choices=PlanCode.choices, error_messages={"invalid_choice": "Choose a plan."}
    )


class TestCardForm(forms.Form):
    """The test processor's card page (no card number ever reaches it in production)."""

    number = forms.CharField(
        label="Card number",
        max_length=23,
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiry = forms.RegexField(
        label="Expiry (MM/YY)",
        regex=r"^\s*(0?[1-9]|1[0-2])\s*/\s*(\d{2}|\d{4})\s*$",
        error_messages={"invalid": "Enter the expiry date as MM/YY, e.g. 12/34."},
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY"}),
    )
    cvc = forms.CharField(
        label="Security code (CVC)",
        max_length=4,
        widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    def expiry_parts(self) -> tuple[int, int]:
        month, year = self.cleaned_data["expiry"].replace(" ", "").split("/")
        return int(month), int(year) + (2000 if len(year) == 2 else 0)


class TestControlForm(forms.Form):
    plan = forms.UUIDField()
    action = forms.ChoiceField(
        choices=[("renew", "Renew now"), ("fail", "Make the next renewal fail")]
    )
