"""Sealing and opening what a person typed about a contact (name, practice, phone, note)."""

import json
from dataclasses import asdict, dataclass

from securemail.contacts.models import Contact
from securemail.core import crypto


@dataclass(frozen=True)
class Details:
    name: str = ""
    practice: str = ""
    phone: str = ""
    note: str = ""

    def __bool__(self) -> bool:
        return any(asdict(self).values())


class DetailsUnavailable(Exception):
    """The sealed details failed their integrity check or their key is gone."""


def seal_details(contact: Contact, details: Details) -> None:
    """Seal `details` under a new data key wrapped by the keyring (nothing at all when
    nothing was typed). The row needs its id and owner set: they are in the contexts."""
    if not details:
        contact.wrapped_key = None
        contact.key_version = None
        contact.details_sealed = None
        return
    data_key = crypto.new_data_key()
    contact.wrapped_key = crypto.wrap_data_key(data_key, context=contact.key_context())
    contact.key_version = crypto.wrapped_key_version(contact.wrapped_key)
    contact.details_sealed = crypto.seal(
        data_key, json.dumps(asdict(details)), context=contact.sealed_context("details")
    )


def open_details(contact: Contact) -> Details:
    if contact.details_sealed is None or contact.wrapped_key is None:
        return Details()
    try:
        data_key = crypto.unwrap_data_key(bytes(contact.wrapped_key), context=contact.key_context())
        text = crypto.open_sealed(
            data_key, bytes(contact.details_sealed), context=contact.sealed_context("details")
        )
    except crypto.DecryptionError as error:
        raise DetailsUnavailable(str(contact.pk)) from error
    fields = json.loads(text)
    return Details(**{k: str(fields.get(k, "")) for k in ("name", "practice", "phone", "note")})
