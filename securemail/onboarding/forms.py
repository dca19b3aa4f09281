from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from securemail.accounts.models import Procedure, Specialty, User
from securemail.accounts.validators import validate_npi
from securemail.core.phones import normalize_code_phone, normalize_phone
from securemail.onboarding.models import PhoneVerification


class PhoneField(forms.CharField):
    """A valid phone number, stored in E.164. `for_codes`: verification codes will be sent
    to it, so it must also be a person's phone in a country codes go to (core.phones)."""

    def __init__(self, *, for_codes: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)
        self.for_codes = for_codes
        self.widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        return normalize_code_phone(value) if self.for_codes else normalize_phone(value)


class PracticeForm(forms.Form):
    name = forms.CharField(label="Practice name", max_length=200)
    website = forms.URLField(label="Website", required=False, assume_scheme="https")
    phone = PhoneField(label="Practice phone")
    address_line1 = forms.CharField(label="Street address", max_length=200)
    address_line2 = forms.CharField(label="Suite, unit", max_length=200, required=False)
    city = forms.CharField(max_length=100)
    state = forms.CharField(label="State", max_length=100)
    postal_code = forms.CharField(label="ZIP code", max_length=20)


class YouForm(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    phone = PhoneField(
        label="Cell phone", help_text="We text a code to it. It stays private.", for_codes=True
    )
    phone_type = forms.ChoiceField(
        label="This number is a",
        choices=User.PhoneType.choices,
        initial=User.PhoneType.CELL,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, allow_landline: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_landline = allow_landline
        if allow_landline:
            self.fields["phone"].label = "Cell phone or landline"
            self.fields[
                "phone"
            ].help_text = (
                "We send a code to it: by text to a cell phone, by a voice call to a landline."
            )
        else:
            del self.fields["phone_type"]

    def clean_full_name(self) -> str:
        name = " ".join(self.cleaned_data["full_name"].split())
        if len(name) < 2:
            raise ValidationError("Enter your full name.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.allow_landline:
            cleaned["phone_type"] = User.PhoneType.CELL
        return cleaned


class SpecialtyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Specialty) -> str:
        return f"{obj.name} ({obj.get_field_display()})"


class SpecialtyForm(forms.Form):
    specialty = SpecialtyChoiceField(
        queryset=Specialty.objects.all(), to_field_name="slug", empty_label="Choose a specialty"
    )
    procedures = forms.ModelMultipleChoiceField(
        queryset=Procedure.objects.all(),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Your specialty's usual procedures are selected for you; change any.",
    )
    npi = forms.CharField(
        label="NPI (National Provider Identifier)",
        required=False,
        # Room for the spaces people type between groups of digits; clean_npi drops them.
        max_length=14,
        help_text="10 digits. Helps colleagues tell you apart.",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    def procedure_choices(self) -> dict[str, Any]:
        """The chosen specialty's usual procedures first, every other one after them."""
        slug = self["specialty"].value()
        specialty = Specialty.objects.filter(slug=slug).first() if slug else None
        selected = {str(v) for v in (self["procedures"].value() or [])}
        usual = list(specialty.usual_procedures.all()) if specialty else []
        usual_ids = {p.pk for p in usual}
        others = [p for p in Procedure.objects.all() if p.pk not in usual_ids]
        return {"specialty": specialty, "usual": usual, "others": others, "selected": selected}

    def clean_npi(self) -> str:
        npi = "".join(self.cleaned_data["npi"].split())
        if npi:
            validate_npi(npi)
        return npi

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("specialty") and not cleaned.get("procedures"):
            self.add_error("procedures", "Select at least one procedure you perform.")
        return cleaned


class SendCodeForm(forms.Form):
    channel = forms.ChoiceField(choices=PhoneVerification.Channel.choices)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class TermsForm(forms.Form):
    accept = forms.BooleanField(
        label="I accept the terms of use",
        error_messages={"required": "Accept the terms of use to finish."},
    )


class FreshLinkForm(forms.Form):
    email = forms.EmailField(
        label="The email address you were invited at",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
