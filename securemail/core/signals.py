"""Signals between apps that may not import each other (pyproject's layers): what one tells
and another records, with ids and states only.

- `delivery_given_up`: the outbox (notifications) gave up on an email or text, for good:
  the audit log records it. Sent inside the transaction that marks the row, with
  `outbox_id` (str), `channel` ("email" or "text"), `kind` (a NotificationKind value),
  `outcome` ("failed": retries used up, or its content unreadable; "bounced": the
  receiving server refused the address), `attempts` and `recipient_user_id` (int or None).
  Never an address, a number or content.
"""

from django.dispatch import Signal

delivery_given_up = Signal()
