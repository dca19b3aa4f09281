"""The only writers of contacts: adding, changing, deleting and restoring one's own, the
contacts every message exchanged brings, and removing deleted ones past their restore time.

Order in every service: authorize → limits → write → audit (ids only: never a name, a
phone or a note), in one transaction.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from securemail.accounts.models import User, normalize_email
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.contacts.access import active_count, restorable_since
from securemail.contacts.details import Details, seal_details
from securemail.contacts.models import Contact
from securemail.core.limits import limits
from securemail.core.rows import insert


class ContactError(Exception):
    """Something the person can fix; `str(error)` says what."""


def _audit(event: Event, owner: User, contact: Contact) -> None:
    audit.record(
        event, actor_id=owner.pk, practice_id=owner.practice_id, target=f"contact:{contact.pk}"
    )


def _taken(owner: User, email: str, *, other_than: Contact | None = None) -> ContactError | None:
    existing = Contact.objects.filter(owner=owner, email=email)
    if other_than is not None:
        existing = existing.exclude(pk=other_than.pk)
    found = existing.first()
    if found is None:
        return None
    if found.deleted_at is not None:
        return ContactError(f"{email} is in your deleted contacts: restore it from there instead.")
    return ContactError(f"{email} is already in your contacts.")


def add_contact(*, owner: User, email: str, details: Details) -> Contact:
    """Add a contact by hand. Any practice user or patient, for their own contacts; at most
    limits().max_contacts of them (ContactError). Audited."""
    email = normalize_email(email)
    if email == owner.email:
        raise ContactError("That's your own address.")
    with transaction.atomic():
        if active_count(owner) >= limits().max_contacts:
            raise ContactError(
                f"You have {limits().max_contacts} contacts, the most one person can keep: "
                "delete some first."
            )
        taken = _taken(owner, email)
        if taken is not None:
            raise taken
        now = timezone.now()
        contact = Contact(owner=owner, email=email, added_at=now, created_at=now, updated_at=now)
        seal_details(contact, details)
        try:
            with transaction.atomic():
                contact.save(force_insert=True)
        except IntegrityError:
            # The same address added at the same moment (a double submit).
            raise ContactError(f"{email} is already in your contacts.") from None
        _audit(Event.CONTACT_ADDED, owner, contact)
    return contact


def change_contact(
    *, owner: User, contact: Contact, details: Details, email: str | None = None
) -> Contact:
    """Change what the owner typed about a contact, and its address when they added it by
    hand (`email`; the address of someone they exchanged messages with is that account's).
    Only the owner's own contact (the caller got it through access.access_contact)."""
    if contact.owner_id != owner.pk:
        raise ContactError("That isn't one of your contacts.")
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if email is not None and locked.person_id is None:
            email = normalize_email(email)
            if email == owner.email:
                raise ContactError("That's your own address.")
            taken = _taken(owner, email, other_than=locked)
            if taken is not None:
                raise taken
            locked.email = email
        seal_details(locked, details)
        locked.updated_at = timezone.now()
        locked.save()
        _audit(Event.CONTACT_CHANGED, owner, locked)
    return locked


def delete_contact(*, owner: User, contact: Contact) -> None:
    """Move a contact to the deleted ones (restorable for limits().contact_restore_days).
    Messages exchanged with them later don't bring it back: only Restore does."""
    if contact.owner_id != owner.pk:
        raise ContactError("That isn't one of your contacts.")
    with transaction.atomic():
        now = timezone.now()
        Contact.objects.filter(pk=contact.pk, deleted_at=None).update(
            deleted_at=now, updated_at=now
        )
        _audit(Event.CONTACT_DELETED, owner, contact)


def restore_contact(*, owner: User, contact: Contact) -> None:
    """Bring a deleted contact back, as it was."""
    if contact.owner_id != owner.pk:
        raise ContactError("That isn't one of your contacts.")
    with transaction.atomic():
        if active_count(owner) >= limits().max_contacts:
            raise ContactError(
                f"You have {limits().max_contacts} contacts, the most one person can keep: "
                "delete some first."
            )
        Contact.objects.filter(pk=contact.pk).update(deleted_at=None, updated_at=timezone.now())
        _audit(Event.CONTACT_RESTORED, owner, contact)


def record_exchange(*, sender: User, recipients: Iterable[User], at: datetime) -> None:
    """A message went from `sender` to `recipients`: each is now the other's contact (a new
    one, or one whose last exchange moves to `at`; a deleted one stays deleted). Called by
    messaging in the transaction that sends the message; not audited (the send is)."""
    people = [r for r in {r.pk: r for r in recipients}.values() if r.pk != sender.pk]
    if not people:
        return
    pairs = [(sender, r) for r in people] + [(r, sender) for r in people]
    # In the order of the unique key, whoever sends: two exchanges between the same people
    # at the same moment (each replying to the other) then insert or lock their rows in the
    # same order, and one waits for the other instead of each waiting for the other
    # (PostgreSQL's "deadlock detected").
    pairs.sort(key=lambda pair: (pair[0].pk, pair[1].email))
    # One statement whatever the number of people: new rows are inserted, existing ones
    # (also one added by hand, now known as this account's address) get the account and the
    # time; whether a contact is deleted is left as it is.
    # Not the ORM's bulk_create: building its insert cost more than running it (core.rows).
    # The other columns take their defaults, as a new Contact's do (no key, not deleted).
    insert(
        Contact,
        shared={"last_exchanged_at": at, "created_at": at, "updated_at": at},
        each=("owner_id", "email", "person_id"),
        rows=[(owner.pk, other.email, other.pk) for owner, other in pairs],
        conflict=("owner", "email"),
        update=("person", "last_exchanged_at"),
    )


def purge_deleted() -> int:
    """Remove the contacts deleted longer ago than they can be restored (the worker runs
    it). Returns how many."""
    with transaction.atomic():
        due = Contact.objects.filter(deleted_at__lte=restorable_since())
        count = due.count()
        if count:
            due.delete()
            audit.record(Event.CONTACTS_PURGED, actor_id=None, data={"count": count})
    return count
