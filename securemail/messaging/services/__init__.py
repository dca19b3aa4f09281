"""The only writers of messages and mailboxes (see the modules for each area)."""

from securemail.messaging.services.common import (
    MessagingError,
    NotAllowed,
    RecipientSpec,
    can_compose,
    check_attachment_limits,
)
from securemail.messaging.services.drafts import delete_draft, expire_old_drafts, save_draft
from securemail.messaging.services.mailbox import (
    change_expiry,
    delete_for_everyone,
    expire_due_messages,
    hide_for_me,
    mark_read,
    record_download,
    set_archived,
)
from securemail.messaging.services.sending import (
    FORWARD_PREFIX,
    REPLY_PREFIX,
    forward,
    lookup_address,
    lookup_addresses,
    reply,
    reply_recipients,
    send_message,
)

__all__ = [
    "FORWARD_PREFIX",
    "REPLY_PREFIX",
    "MessagingError",
    "NotAllowed",
    "RecipientSpec",
    "can_compose",
    "change_expiry",
    "check_attachment_limits",
    "delete_draft",
    "delete_for_everyone",
    "expire_due_messages",
    "expire_old_drafts",
    "forward",
    "hide_for_me",
    "lookup_address",
    "lookup_addresses",
    "mark_read",
    "record_download",
    "reply",
    "reply_recipients",
    "save_draft",
    "send_message",
    "set_archived",
]
