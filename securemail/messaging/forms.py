import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from securemail.accounts.models import User, normalize_email
from securemail.messaging.services.common import MessagingError
from securemail.messaging.services.sending import count_lookups, known_addresses
from securemail.onboarding.models import RecipientRole

ROLE_LABEL = "Select recipient's role"
ROLE_PREFIX = "role-"
MAX_SUBJECT = 200
MAX_BODY = 100_000
MAX_RECIPIENTS = 20
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


def expiry_choices(default: int) -> list[tuple[int, str]]:
    return [(d, f"{d} day{'s' if d != 1 else ''}") for d in range(1, 31)]


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
    # Set when the address look-up limit refused this post (the page answers 429).
    rate_limited = False

    def recipient_roles(self) -> dict[str, str]:
        return {
            key[len(ROLE_PREFIX) :]: value
            for key, value in self.data.items()
            if key.startswith(ROLE_PREFIX) and value in RecipientRole.values
        }

    def clean_recipients(self, cleaned: dict[str, Any]) -> None:
        to = cleaned.get("to") or []
        cc = [a for a in cleaned.get("cc") or [] if a not in to]
        cleaned["cc"] = cc
        everyone = to + cc
        if self.sender.email in everyone:
            self.add_error("to", "You can't send a secure message to yourself.")
            return
        if len(everyone) > MAX_RECIPIENTS:
            self.add_error("to", f"Send to at most {MAX_RECIPIENTS} people at once.")
            return
        known = known_addresses(everyone)
        roles = self.recipient_roles()
        new = [a for a in everyone if a not in known]
        if len(new) == 1 and new[0] not in roles and cleaned.get("role"):
            roles[new[0]] = cleaned["role"]
        missing = [a for a in new if a not in roles]
        if missing:
            try:
                # Saying which addresses are new is a look-up like the one as To loses
                # focus: it counts against the same limit, or posting here would be an
                # unlimited one. (A post that sends reveals nothing the sender didn't state.)
                count_lookups(sender=self.sender, count=len(everyone))
            except MessagingError as error:
                self.rate_limited = True
                self.add_error("to", str(error))
                return
        self.new_addresses = new
        self.roles = {a: roles[a] for a in new if a in roles}
        if missing:
            self.add_error(
                "role",
                "New to SecureMail: select the recipient's role for " + ", ".join(missing) + ".",
            )
        cleaned["roles"] = self.roles


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
    expiry_days = forms.TypedChoiceField(
        label="Delete for everyone after",
        coerce=int,
        required=False,
        empty_value=None,
        choices=expiry_choices(30),
        help_text="At most 30 days. You can change it after sending.",
        error_messages={
            "invalid_choice": "Choose from 1 to 30 days: a message can't be kept more than "
            "30 days after it was sent."
        },
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput)
    draft = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, sender: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sender = sender
        self.new_addresses: list[str] = []
        self.roles: dict[str, str] = {}
        if not self.is_bound:
            self.initial.setdefault("expiry_days", min(sender.default_expiry_days, 30))

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
            kwargs.setdefault("initial", {"expires_on": expires_at.astimezone(_zone(user)).date()})
        super().__init__(*args, **kwargs)
        self.user = user
        self.latest = sent_at + timedelta(days=settings.SECUREMAIL_MAX_EXPIRY_DAYS)
        zone = _zone(user)
        attrs = self.fields["expires_on"].widget.attrs
        attrs["max"] = self.latest.astimezone(zone).date().isoformat()
        attrs["min"] = timezone.now().astimezone(zone).date().isoformat()

    def clean_expires_on(self) -> datetime:
        day: date = self.cleaned_data["expires_on"]
        zone = _zone(self.user)
        # The end of that day where the user is, but never past 30 days after sending.
        moment = datetime.combine(day, time(23, 59), tzinfo=zone)
        if moment.date() > self.latest.astimezone(zone).date():
            raise ValidationError(
                "A message can't be kept more than 30 days after it was sent: choose "
                f"{self.latest.astimezone(zone):%B %-d} or earlier."
            )
        return min(moment, self.latest)


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
