import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from securemail.accounts.models import User, normalize_email
from securemail.core.limits import days, limits
from securemail.messaging import index
from securemail.messaging.services.recipients import RoleCheck
from securemail.onboarding.models import RecipientRole

ROLE_LABEL = "Select recipient's role"
ROLE_PREFIX = "role-"
MAX_SUBJECT = 200
MAX_BODY = 100_000
# Commas and semicolons separate addresses (not inside a quoted name); so does white space
# between bare addresses.
_PIECES = re.compile(r'(?:"[^"]*"|[^,;"])+')
# `Alice Smith <alice@x.test>` or `"Smith, Alice" <alice@x.test>`, as mail clients copy them.
_NAMED = re.compile(r'^(?:"[^"]*"|[^<>"@])*<([^<>]+)>$')


def _candidates(text: str) -> list[str]:
    candidates: list[str] = []
    for piece in _PIECES.findall(text or ""):
        piece = piece.strip()
        named = _NAMED.match(piece)
        if named:
            candidates.append(named.group(1).strip())
        else:
            candidates.extend(word.strip("<>") for word in piece.split())
    return [c for c in candidates if c]


def parse_addresses(text: str) -> tuple[list[str], list[str]]:
    """Split what was typed into (valid normalized addresses, invalid pieces)."""
    valid: list[str] = []
    invalid: list[str] = []
    for piece in _candidates(text):
        try:
            validate_email(piece)
        except ValidationError:
            invalid.append(piece)
            continue
        email = normalize_email(piece)
        if email not in valid:
            valid.append(email)
    return valid, invalid


class AddressesField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 5000)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "inputmode": "email"}
        )

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        valid, invalid = parse_addresses(text)
        if invalid:
            listed = ", ".join(invalid[:3])
            raise ValidationError(
                f"Enter a valid email address, like name@example.com. Not valid: {listed}."
            )
        return valid


def expiry_choices() -> list[tuple[int, str]]:
    """1 day up to the longest a message may be kept."""
    return [(d, days(d)) for d in range(1, limits().max_expiry_days + 1)]


class RecipientsMixin(forms.Form):
    """To and Cc, each unknown address with its own "Select recipient's role"."""

    to = AddressesField(
        label="To",
        help_text="One or more addresses, separated by commas.",
        error_messages={"required": "Enter the recipient's email address."},
    )
    cc = AddressesField(label="Cc", required=False)
    # Kept for a single new address posted without JavaScript's per-address selects.
    role = forms.ChoiceField(
        label=ROLE_LABEL, choices=[("", ROLE_LABEL), *RecipientRole.choices], required=False
    )
    sender: User
    # To and Cc once they parse (clean_recipients); None while they don't.
    addresses: list[str] | None = None

    def recipient_roles(self) -> dict[str, str]:
        return {
            key[len(ROLE_PREFIX) :]: value
            for key, value in self.data.items()
            if key.startswith(ROLE_PREFIX) and value in RecipientRole.values
        }

    def clean_recipients(self, cleaned: dict[str, Any]) -> None:
        """To and Cc as one list (Cc without those already in To), or None when they
        can't be used. Which addresses are new is the service's to say (check_roles)."""
        to = cleaned.get("to") or []
        cc = [a for a in cleaned.get("cc") or [] if a not in to]
        cleaned["cc"] = cc
        everyone = to + cc
        if self.sender.email in everyone:
            self.add_error("to", "You can't send a secure message to yourself.")
            return
        if len(everyone) > limits().max_recipients:
            self.add_error("to", f"Send to at most {limits().max_recipients} people at once.")
            return
        if "to" in cleaned:
            self.addresses = everyone

    def apply_roles(self, check: RoleCheck) -> None:
        """What messaging.services.check_roles found: keep the roles chosen for the new
        addresses, and ask for the missing ones."""
        self.new_addresses = check.new
        self.roles = dict(check.roles)
        if check.missing:
            self.add_error(
                "role",
                "New to SecureMail: select the recipient's role for "
                + ", ".join(check.missing)
                + ".",
            )
        if hasattr(self, "cleaned_data"):
            self.cleaned_data["roles"] = self.roles


class ComposeForm(RecipientsMixin):
    subject = forms.CharField(
        max_length=MAX_SUBJECT, error_messages={"required": "Enter a subject."}
    )
    body = forms.CharField(
        label="Message",
        required=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    # Choices, help and error text come from the limit (see __init__).
    expiry_days = forms.TypedChoiceField(
        label="Delete for everyone after", coerce=int, required=False, empty_value=None
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput)
    draft = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, sender: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sender = sender
        self.new_addresses: list[str] = []
        self.roles: dict[str, str] = {}
        longest = limits().max_expiry_days
        field = self.fields["expiry_days"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = expiry_choices()
        field.help_text = f"At most {days(longest)}. You can change it after sending."
        field.error_messages["invalid_choice"] = (
            f"Choose from 1 to {days(longest)}: a message can't be kept more than "
            f"{days(longest)} after it was sent."
        )
        if not self.is_bound:
            self.initial.setdefault("expiry_days", min(sender.default_expiry_days, longest))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_recipients(cleaned)
        if not (cleaned.get("body") or "").strip() and not self.sender.signature.strip():
            self.add_error("body", "Write a message.")
        return cleaned


class ForwardForm(RecipientsMixin):
    body = forms.CharField(
        label="Add a note",
        required=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, sender: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sender = sender
        self.new_addresses = []
        self.roles = {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_recipients(cleaned)
        return cleaned


class LookupForm(forms.Form):
    to = forms.CharField(max_length=5000, required=False)
    cc = forms.CharField(max_length=5000, required=False)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Write your reply."},
    )
    reply_all = forms.BooleanField(required=False)
    client_token = forms.UUIDField(widget=forms.HiddenInput)


class ExpiryForm(forms.Form):
    expires_on = forms.DateField(
        label="Delete for everyone on",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date like 2026-12-24."},
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        sent_at: datetime,
        expires_at: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        if expires_at is not None:
            kwargs.setdefault("initial", {"expires_on": expires_at.astimezone(user.zone).date()})
        super().__init__(*args, **kwargs)
        self.user = user
        self.latest = sent_at + timedelta(days=limits().max_expiry_days)
        zone = user.zone
        attrs = self.fields["expires_on"].widget.attrs
        attrs["max"] = self.latest.astimezone(zone).date().isoformat()
        attrs["min"] = timezone.now().astimezone(zone).date().isoformat()

    def clean_expires_on(self) -> datetime:
        """The end of the chosen day where the user is; whether that day is allowed is the
        service's rule (messaging.services.change_expiry)."""
        day: date = self.cleaned_data["expires_on"]
        return datetime.combine(day, time(23, 59), tzinfo=self.user.zone)


MAX_QUERY = 200
MAX_QUERY_WORDS = 10


class SearchForm(forms.Form):
    """What to look for in one's mailbox: words (their starts find longer words)."""

    q = forms.CharField(
        label="Search your mailbox",
        max_length=MAX_QUERY,
        error_messages={
            "required": "Type a word to search for.",
            "max_length": f"A search can be at most {MAX_QUERY} characters long: "
            "shorten it to the words that matter.",
        },
    )
    # The "Older" button's cursor (see securemail.messaging.paging).
    before = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def clean_q(self) -> str:
        text: str = self.cleaned_data["q"]
        found = list(dict.fromkeys(index.words(text)))
        if not found:
            raise ValidationError(
                "Type a word or a number to search for: punctuation and symbols alone find nothing."
            )
        if len(found) > MAX_QUERY_WORDS:
            raise ValidationError(f"Search for at most {MAX_QUERY_WORDS} words at once.")
        self.words = found
        return text

    def shown_text(self) -> str:
        """What goes back into the search box: at most MAX_QUERY characters."""
        return str(self.data.get("q", ""))[:MAX_QUERY]
