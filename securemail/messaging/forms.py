from typing import Any

from django import forms

from securemail.accounts.models import User, normalize_email
from securemail.onboarding.models import RecipientRole

ROLE_LABEL = "Select recipient's role"
MAX_SUBJECT = 200
MAX_BODY = 100_000


class ComposeForm(forms.Form):
    to = forms.EmailField(
        label="To",
        max_length=254,
        error_messages={
            "required": "Enter the recipient's email address.",
            "invalid": "Enter a valid email address, like name@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label=ROLE_LABEL,
        choices=[("", ROLE_LABEL), *RecipientRole.choices],
        required=False,
    )
    subject = forms.CharField(
        max_length=MAX_SUBJECT, error_messages={"required": "Enter a subject."}
    )
    body = forms.CharField(
        label="Message",
        required=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, sender: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sender = sender
        self.recipient_is_new = False

    def clean_to(self) -> str:
        email = normalize_email(self.cleaned_data["to"])
        if email == self.sender.email:
            raise forms.ValidationError("You can't send a secure message to yourself.")
        self.recipient_is_new = not User.objects.filter(email=email).exists()
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.recipient_is_new and not cleaned.get("role"):
            self.add_error(
                "role",
                "This address is new to SecureMail: select the recipient's role.",
            )
        if not self.recipient_is_new:
            cleaned["role"] = ""
        if not (cleaned.get("body") or "").strip() and not self.sender.signature.strip():
            self.add_error("body", "Write a message.")
        return cleaned


class LookupForm(forms.Form):
    to = forms.EmailField(max_length=254)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Write your reply."},
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput)
