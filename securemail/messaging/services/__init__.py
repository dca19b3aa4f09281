"""The only writers of messages and mailboxes (see the modules for each area)."""

from securemail.messaging.services.blobs import delete_unused_uploads, sweep_abandoned_uploads
from securemail.messaging.services.common import (
    MessagingError,
    NotARecipient,
    Recipient,
    RecipientSpec,
)
from securemail.messaging.services.drafts import delete_draft, expire_old_drafts, save_draft
from securemail.messaging.services.expiry_warnings import warn_of_expiry
from securemail.messaging.services.exports import TooManyExports, export_pdf
from securemail.messaging.services.mailbox import (
    change_expiry,
    delete_for_everyone,
    expire_due_messages,
    hide_for_me,
    mark_read,
    record_download,
    remind_invitees,
    set_archived,
)
from securemail.messaging.services.recipients import (
    LookupLimited,
    RoleCheck,
    check_roles,
    lookup_addresses,
)
from securemail.messaging.services.sending import forward, reply, send_message

__all__ = [
    "LookupLimited",
    "MessagingError",
    "NotARecipient",
    "Recipient",
    "RecipientSpec",
    "RoleCheck",
    "TooManyExports",
    "change_expiry",
    "check_roles",
    "delete_draft",
    "delete_for_everyone",
    "delete_unused_uploads",
    "expire_due_messages",
    "expire_old_drafts",
    "export_pdf",
    "forward",
    "hide_for_me",
    "lookup_addresses",
    "mark_read",
    "record_download",
    "remind_invitees",
    "reply",
    "save_draft",
    "send_message",
    "set_archived",
    "sweep_abandoned_uploads",
    "warn_of_expiry",
]
