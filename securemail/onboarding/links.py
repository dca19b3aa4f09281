"""The registration link behind an invitation, kept sealed so that a reminder can send the
same link again (only its hash is looked up: access.open_invitation).

The link is sealed under a data key of the row's own, wrapped by the keyring (outside the
database): a dump alone yields no link. It is kept while the invitation is open and wiped
when the registration ends; a fresh link replaces it.
"""

from securemail.core import crypto
from securemail.onboarding.models import Invitation

# The fields seal_link and forget_link set, for the caller's save(update_fields=...).
SEALED_FIELDS = ["wrapped_key", "key_version", "link_sealed"]


def seal_link(invitation: Invitation, token: str) -> None:
    """Keep `token` sealed on the (saved) invitation; the caller saves SEALED_FIELDS."""
    data_key = crypto.new_data_key()
    invitation.wrapped_key = crypto.wrap_data_key(data_key, context=invitation.key_context())
    invitation.key_version = crypto.wrapped_key_version(invitation.wrapped_key)
    invitation.link_sealed = crypto.seal(data_key, token, context=invitation.sealed_context("link"))


def forget_link(invitation: Invitation) -> None:
    """Wipe the sealed link (the registration is over); the caller saves SEALED_FIELDS."""
    invitation.wrapped_key = None
    invitation.key_version = None
    invitation.link_sealed = None


def open_link(invitation: Invitation) -> str | None:
    """The token of the invitation's link, or None when none is kept (an invitation from
    before reminders, a finished one) or it can't be opened (its key retired or damaged)."""
    if invitation.link_sealed is None or invitation.wrapped_key is None:
        return None
    try:
        data_key = crypto.unwrap_data_key(
            bytes(invitation.wrapped_key), context=invitation.key_context()
        )
        return crypto.open_sealed(
            data_key, bytes(invitation.link_sealed), context=invitation.sealed_context("link")
        )
    except crypto.DecryptionError:
        return None
