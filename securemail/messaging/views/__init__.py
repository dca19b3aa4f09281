"""Mailbox pages: thin views over securemail.messaging.access and .services."""

from securemail.messaging.views.compose import (
    compose,
    discard_draft,
    forward,
    lookup,
    reply,
    save_draft,
)
from securemail.messaging.views.exports import export_pdf
from securemail.messaging.views.files import attachment_download
from securemail.messaging.views.mailbox import (
    archive,
    change_expiry,
    delete,
    drafts,
    hide,
    inbox,
    message_detail,
    print_view,
    sent,
    set_archived,
)
from securemail.messaging.views.search import search

__all__ = [
    "archive",
    "attachment_download",
    "change_expiry",
    "compose",
    "delete",
    "discard_draft",
    "drafts",
    "export_pdf",
    "forward",
    "hide",
    "inbox",
    "lookup",
    "message_detail",
    "print_view",
    "reply",
    "save_draft",
    "search",
    "sent",
    "set_archived",
]
