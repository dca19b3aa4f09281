"""The only way to read a person's contacts: their own, nobody else's (out of reach is a 404).

Names, practices, phones and notes are sealed, so sorting and searching happen here, on
the opened cards, not in SQL: a person's contacts are a few hundred or thousand rows.
"""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from securemail.accounts.models import User, normalize_email
from securemail.contacts.details import Details, DetailsUnavailable, open_details
from securemail.contacts.models import Contact
from securemail.core.limits import limits
from securemail.core.phones import display_phone
from securemail.core.text import fold

logger = logging.getLogger("securemail.contacts")

SORTS = ("last_name", "email")
# Letters after a name that aren't the last name ("Jane Roe DDS", "John Smith Jr.").
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "md", "dds", "dmd", "do", "phd", "rn", "np", "pa"}


@dataclass(frozen=True)
class ContactCard:
    """A contact as its owner sees it: what they typed, else what the account says."""

    contact: Contact
    details: Details
    name: str
    practice: str
    # False when the sealed details failed their check (shown as such, never guessed).
    readable: bool = True

    @property
    def email(self) -> str:
        return self.contact.email

    @property
    def phone(self) -> str:
        return display_phone(self.details.phone) if self.details.phone else ""

    @property
    def exchanged(self) -> bool:
        return self.contact.last_exchanged_at is not None

    @property
    def last_name(self) -> str:
        """The name's last word that is a name (before a comma: "Roe, Jane" → "Roe")."""
        name = self.name.strip()
        if "," in name:
            return name.split(",", 1)[0].strip()
        parts = [p for p in name.split() if fold(p).strip(".") not in _SUFFIXES]
        return parts[-1] if parts else name

    def sort_key(self, by: str) -> tuple[object, ...]:
        if by == "email":
            return (fold(self.email),)
        # Named contacts first, by last name, then the rest of the name; then addresses.
        if not self.name:
            return (1, "", "", fold(self.email))
        return (0, fold(self.last_name), fold(self.name), fold(self.email))

    def found_by(self, text: str) -> bool:
        """Whether `text` (folded) is in the name, the address or the practice."""
        return any(text in fold(value) for value in (self.name, self.email, self.practice))

    def suggested_for(self, fragment: str) -> bool:
        """Whether a fragment typed in To or Cc (folded) begins the address, the name or one
        of the name's or practice's words."""
        if fold(self.email).startswith(fragment) or fold(self.name).startswith(fragment):
            return True
        words = fold(f"{self.name} {self.practice}").split()
        return any(word.startswith(fragment) for word in words)


def _card(contact: Contact) -> ContactCard:
    try:
        details = open_details(contact)
        readable = True
    except DetailsUnavailable:
        logger.error("contacts: details of %s failed their integrity check", contact)
        details, readable = Details(), False
    person = contact.person
    account_name = person.display_name if person and person.full_name else ""
    account_practice = person.practice.name if person and person.practice else ""
    return ContactCard(
        contact=contact,
        details=details,
        name=details.name or account_name,
        practice=details.practice or account_practice,
        readable=readable,
    )


def _book(owner: User) -> QuerySet[Contact]:
    return Contact.objects.filter(owner=owner).select_related("person__practice")


def restorable_since(now: datetime | None = None) -> datetime:
    """Contacts deleted before this moment can't be restored any more (the worker removes
    them)."""
    return (now or timezone.now()) - timedelta(days=limits().contact_restore_days)


def contact_cards(
    owner: User, *, deleted: bool = False, sort: str = "last_name", find: str = ""
) -> list[ContactCard]:
    """`owner`'s contacts (or those they deleted and can still restore), opened, sorted by
    `sort` (one of SORTS), only those whose name, address or practice holds `find`."""
    contacts = _book(owner)
    if deleted:
        contacts = contacts.filter(deleted_at__gt=restorable_since())
    else:
        contacts = contacts.filter(deleted_at=None)
    cards = [_card(c) for c in contacts]
    text = fold(find.strip())
    if text:
        cards = [c for c in cards if c.found_by(text)]
    by = sort if sort in SORTS else SORTS[0]
    return sorted(cards, key=lambda c: c.sort_key(by))


def access_contact(owner: User, contact_id: uuid.UUID, *, deleted: bool = False) -> Contact:
    """One of `owner`'s contacts (a deleted one still restorable, with `deleted`); Http404
    for anyone else's, an unknown one, or one in the other state."""
    contacts = _book(owner).filter(pk=contact_id)
    if deleted:
        contacts = contacts.filter(deleted_at__gt=restorable_since())
    else:
        contacts = contacts.filter(deleted_at=None)
    contact = contacts.first()
    if contact is None:
        raise Http404
    return contact


def card_of(contact: Contact) -> ContactCard:
    """The card of a contact access_contact gave."""
    return _card(contact)


def suggestions(owner: User, fragment: str, *, limit: int = 8) -> list[ContactCard]:
    """Contacts for what is being typed in To or Cc: those whose address, name, or a word of
    their name or practice begins with `fragment`; the people last written with first."""
    text = fold(fragment.strip())
    if not text:
        return []
    cards = [c for c in contact_cards(owner) if c.readable and c.suggested_for(text)]

    def recent_first(card: ContactCard) -> tuple[object, ...]:
        last = card.contact.last_exchanged_at
        return (last is None, -last.timestamp() if last else 0, *card.sort_key("last_name"))

    return sorted(cards, key=recent_first)[:limit]


def known_among(owner: User, emails: Iterable[str]) -> dict[str, ContactCard]:
    """Which of these addresses are `owner`'s contacts (not deleted), with their cards: the
    name and practice compose shows next to an address. Only the owner's own contacts, so
    it tells nothing about who has an account."""
    wanted = {normalize_email(e) for e in emails}
    if not wanted:
        return {}
    contacts = _book(owner).filter(deleted_at=None, email__in=wanted)
    return {c.email: _card(c) for c in contacts}


def active_count(owner: User) -> int:
    return Contact.objects.filter(owner=owner, deleted_at=None).count()


def deleted_count(owner: User) -> int:
    """Deleted contacts `owner` can still restore."""
    return Contact.objects.filter(owner=owner, deleted_at__gt=restorable_since()).count()
