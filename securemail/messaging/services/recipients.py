"""Who a message goes to: looking addresses up, the role each new one needs, and turning
what was typed into mailboxes (inviting the new addresses).

Looking an address up tells whether it has an account, so every look-up is charged to the
sender's per-minute limit, here and only here.
"""

from dataclasses import dataclass, field

from django.db import connection

from securemail.accounts.models import Practice, User, normalize_email
from securemail.billing import entitlements
from securemail.billing.entitlements import Feature
from securemail.core import ratelimit
from securemail.core.limits import limits
from securemail.core.rows import Part, among, columns_of, fetch_together, kept_prepared
from securemail.messaging.services.common import (
    MessagingError,
    Recipient,
    RecipientSpec,
    day_label,
)
from securemail.notifications.access import bounced_from, bounced_part
from securemail.notifications.models import BouncedAddress
from securemail.onboarding import services as onboarding
from securemail.onboarding.models import RecipientRole


class LookupLimited(MessagingError):
    """The sender looked up too many addresses this minute (the page answers 429)."""


@dataclass(frozen=True)
class RoleCheck:
    """Which of the addresses are new to SecureMail, the roles chosen for them, and those
    still without one."""

    new: list[str]
    roles: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def _charge_lookups(*, sender: User, count: int) -> None:
    """Charge `count` address look-ups to the sender's per-minute limit (one cache round
    trip whatever the count); LookupLimited when over it."""
    try:
        if count:
            ratelimit.spend("lookup", f"user:{sender.pk}", amount=count)
    except ratelimit.RateLimited:
        raise LookupLimited("Too many address look-ups. Wait a minute and try again.") from None


def _known(emails: list[str]) -> set[str]:
    """Which of these (normalized) addresses have an account. Uncharged: for the callers
    below, which charge before they reveal the answer."""
    if not emails:
        return set()
    # Hand-written (core.rows): building the ORM's query cost more than running it.
    email = columns_of(User).column("email")
    where, params = among(email, emails)
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(f"SELECT {email} FROM {columns_of(User).table} WHERE {where}", params)  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


def _accounts_and_bounced(
    emails: list[str],
) -> tuple[dict[str, User], dict[str, BouncedAddress]]:
    """The accounts of these (normalized) addresses, each with its practice (the search
    index names it), by address, and which of them bounced: one round trip
    (core.rows.fetch_together)."""
    if not emails:
        return {}, {}
    users, practices = columns_of(User), columns_of(Practice)
    where, params = among(users.column("email"), emails)
    bounced = bounced_part(emails)
    accounts = Part(
        [users, practices],
        f"FROM {users.table} LEFT JOIN {practices.table}"
        f" ON {practices.column('id')} = {users.column('practice')} WHERE {where}",
        params,
        order=users.column("id"),
    )
    found = fetch_together([accounts] if bounced is None else [accounts, bounced])
    known: dict[str, User] = {}
    for user, practice in found[0]:
        if practice is not None:
            user.practice = practice
        known[user.email] = user
    return known, bounced_from(found[1]) if bounced is not None else {}


def lookup_addresses(*, sender: User, emails: list[str]) -> set[str]:
    """Which of `emails` SecureMail already knows (as To or Cc loses focus). For accounts
    that may start conversations; each address counts against the look-up limit."""
    entitlements.require(sender, Feature.START_CONVERSATION)
    normalized = list(dict.fromkeys(normalize_email(e) for e in emails))
    if len(normalized) > limits().max_recipients:
        raise MessagingError(f"Send to at most {limits().max_recipients} people at once.")
    _charge_lookups(sender=sender, count=len(normalized))
    return _known(normalized)


def check_roles(
    *, sender: User, emails: list[str], roles: dict[str, str], only_role: str = ""
) -> RoleCheck:
    """Which of `emails` (normalized) are new, and which new ones still need a role, for a
    compose or forward post. `only_role` is the single role select of a page without
    JavaScript: it applies when exactly one address is new.

    A post that names a role for every new address reveals nothing the sender didn't state,
    so it costs nothing; one that answers "these are new" is a look-up like the one as To
    loses focus and is charged the same (LookupLimited), or posting would be an unlimited
    address oracle."""
    known = _known(emails)
    new = [a for a in emails if a not in known]
    chosen = {a: r for a, r in roles.items() if a in new and r in RecipientRole.values}
    if len(new) == 1 and new[0] not in chosen and only_role in RecipientRole.values:
        chosen[new[0]] = only_role
    missing = [a for a in new if a not in chosen]
    if missing:
        _charge_lookups(sender=sender, count=len(emails))
    return RoleCheck(new=new, roles=chosen, missing=missing)


def resolve(sender: User, recipients: list[RecipientSpec]) -> list[Recipient]:
    """Existing users as they are; new addresses become invited accounts (a role is
    required, and inviting needs the plan). Call inside the sending transaction."""
    seen: set[str] = set()
    resolved: list[Recipient] = []
    emails = list(dict.fromkeys(normalize_email(spec.email) for spec in recipients))
    # Everyone already known and the addresses that bounced, at once (not one query per
    # recipient).
    known, bounced = _accounts_and_bounced(emails)
    for spec in recipients:
        email = normalize_email(spec.email)
        if email in seen:
            continue
        seen.add(email)
        if email == sender.email:
            raise MessagingError("You can't send a secure message to yourself.")
        if email in bounced:
            # The notification (or the invitation) could never arrive.
            raise MessagingError(
                f"Email to {email} bounced on {day_label(sender, bounced[email].bounced_at)}: the "
                "address doesn't accept mail. Check it for typos, or ask the person for "
                "another address."
            )
        user = known.get(email)
        if user is None:
            if spec.role is None:
                raise MessagingError(f"Select the recipient's role for {email}.")
            entitlements.require(sender, Feature.INVITE)
            invitation = onboarding.invite(inviter=sender, email=email, role=spec.role)
            resolved.append(Recipient(user=invitation.invitee, kind=spec.kind, invited=True))
        elif user.is_operator:
            # Operators' accounts reach only the console: a message there would never be read.
            raise MessagingError(f"{email} can't receive secure messages.")
        else:
            resolved.append(Recipient(user=user, kind=spec.kind))
    return resolved
