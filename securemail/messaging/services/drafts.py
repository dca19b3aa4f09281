"""Drafts: saved while the author types, sealed like messages.

A draft lives as long as the message it would become: it is wrapped under the shredding key
of "last save + the expiry chosen in the form" (else the author's default), so a database
backup taken while a message was being written can't outlive the message itself.
"""

import json
import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from securemail.accounts.models import User
from securemail.billing import entitlements
from securemail.billing.entitlements import Feature
from securemail.core import crypto
from securemail.core.limits import limits
from securemail.messaging.models import Draft

DRAFT_FIELDS = ("to", "cc", "subject", "body", "expiry_days")


def _seal(draft: Draft, fields: dict[str, Any]) -> None:
    data_key = crypto.new_data_key()
    draft.wrapped_key = crypto.wrap_data_key(
        data_key, context=draft.key_context(), expires_on=draft.expires_at.date()
    )
    draft.key_version = crypto.wrapped_key_version(draft.wrapped_key)
    payload = json.dumps({k: str(fields.get(k, "") or "") for k in DRAFT_FIELDS})
    draft.payload_sealed = crypto.seal(data_key, payload, context=draft.sealed_context("payload"))


def open_draft(draft: Draft) -> dict[str, str]:
    """The draft's fields (raises crypto.DecryptionError if its key is gone)."""
    data_key = crypto.unwrap_data_key(bytes(draft.wrapped_key), context=draft.key_context())
    return dict(
        json.loads(
            crypto.open_sealed(
                data_key, bytes(draft.payload_sealed), context=draft.sealed_context("payload")
            )
        )
    )


def _lifetime_days(owner: User, fields: dict[str, Any]) -> int:
    """The expiry the message would get if sent now: the form's choice, else the default."""
    longest = limits().max_expiry_days
    try:
        days = int(str(fields.get("expiry_days") or "").strip())
    except ValueError:
        days = owner.default_expiry_days
    return max(1, min(days, longest))


def save_draft(*, owner: User, draft_id: uuid.UUID | None, fields: dict[str, Any]) -> Draft:
    """Create or update the owner's draft (drafts are for accounts that may start
    conversations: PlanRequired otherwise). Another person's draft id is treated as unknown
    (a new draft is made), so ids can't be used to overwrite someone else's."""
    entitlements.require(owner, Feature.START_CONVERSATION)
    now = timezone.now()
    with transaction.atomic():
        draft = None
        if draft_id is not None:
            draft = Draft.objects.select_for_update().filter(pk=draft_id, owner=owner).first()
        if draft is None:
            draft = Draft(owner=owner)
        draft.updated_at = now
        draft.expires_at = now + timedelta(days=_lifetime_days(owner, fields))
        _seal(draft, fields)
        draft.save()
    return draft


def delete_draft(*, owner: User, draft_id: uuid.UUID | None) -> None:
    if draft_id is not None:
        Draft.objects.filter(pk=draft_id, owner=owner).delete()


def expire_old_drafts() -> int:
    deleted, _ = Draft.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
