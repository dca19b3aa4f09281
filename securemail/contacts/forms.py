from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from securemail.contacts.access import SORTS
from securemail.contacts.details import Details
from securemail.core.phones import normalize_phone

MAX_NAME = 150
MAX_NOTE = 2000
MAX_FIND = 100


class ContactForm(forms.Form):
    """A contact's details. The address can't change for someone the owner exchanged
    messages with (`fixed_email`): it is their account's."""

    name = forms.CharField(label="Name", max_length=MAX_NAME, required=False)
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={
            "required": "Enter the contact's email address.",
            "invalid": "Enter a valid email address, like name@example.com.",
        },
    )
    practice = forms.CharField(label="Practice", max_length=MAX_NAME, required=False)
    phone = forms.CharField(label="Phone", max_length=30, required=False)
    note = forms.CharField(
        label="Note",
        max_length=MAX_NOTE,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Only you see your contacts; what you type here is stored encrypted.",
    )

    def __init__(self, *args: Any, fixed_email: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_email = fixed_email
        if fixed_email is not None:
            field = self.fields["email"]
            field.disabled = True
            field.initial = fixed_email
            field.help_text = "The address of their SecureMail account."
        for name in ("name", "practice", "email"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def clean_phone(self) -> str:
        raw = (self.cleaned_data.get("phone") or "").strip()
        return normalize_phone(raw) if raw else ""

    def details(self) -> Details:
        data = self.cleaned_data
        return Details(
            name=data["name"].strip(),
            practice=data["practice"].strip(),
            phone=data["phone"],
            note=data["note"].strip(),
        )

    def new_email(self) -> str | None:
        return None if self.fixed_email is not None else self.cleaned_data["email"]


class FindForm(forms.Form):
    """Finding contacts by name or address (posted: a name must not go into the address)."""

    find = forms.CharField(
        label="Find a contact",
        max_length=MAX_FIND,
        required=False,
        error_messages={"max_length": f"Type at most {MAX_FIND} characters to find a contact."},
    )
    sort = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def clean_sort(self) -> str:
        return chosen_sort(self.cleaned_data.get("sort"))


def chosen_sort(value: str | None) -> str:
    """The sort a list link asks for (?sort=email), the default for anything else."""
    return value if value in SORTS else SORTS[0]


class SuggestForm(forms.Form):
    """What is being typed in To or Cc: the last address of the field is the fragment."""

    to = forms.CharField(max_length=5000, required=False)
    cc = forms.CharField(max_length=5000, required=False)
    field = forms.ChoiceField(choices=[("to", "to"), ("cc", "cc")])

    def fragment(self) -> str:
        text = self.cleaned_data[self.cleaned_data["field"]] or ""
        last = text.replace(";", ",").split(",")[-1]
        return last.strip()[:MAX_NAME]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "field" not in cleaned:
            raise ValidationError("Suggestions are for To or Cc.")
        return cleaned
