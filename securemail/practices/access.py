"""The practice manager's rule, in one place, and reads about a practice for its people.

The first account of a practice is its user manager (SPEC §1): the one who decides the
practice's settings and, with billing, its plans. `Practice` itself lives in accounts (a
user row points at it); the rules about it live here.

The user manager's page reads the practice's people through `people_of` and one person
through `person_for_manager` (Http404 for anyone out of reach, as for nobody at all); what
may be done to a person is stated once, on `Person`, for the page to show and the services
to enforce. Whoever sent an invitation may also re-send it or correct its address while it
is open (`person_for_inviter`; the notice of `undelivered_invitations` sends them there).
"""

from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Exists, Field, Model, OuterRef, Q, QuerySet
from django.http import Http404

from securemail.accounts.models import Practice, TwoStep, User
from securemail.billing.access import live_plans_of
from securemail.billing.entitlements import Feature, allows, may_have_plan
from securemail.billing.models import Subscription
from securemail.core.rows import kept_prepared
from securemail.notifications.access import GIVEN_UP, Notice, NoticeState, notice_of
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.access import Moment, reminders_of, reminders_pending, timeline
from securemail.onboarding.access import with_progress as with_onboarding_progress
from securemail.onboarding.models import ANOTHER_PRACTICE, Invitation, RecipientRole


class NotPracticeManager(PermissionDenied):
    """Only the practice's user manager may do this (a 403 that says so)."""


def is_manager(user: User) -> bool:
    """Whether `user` manages a practice (for showing the practice's controls)."""
    return bool(user.is_practice_manager and user.practice_id is not None)


def managed_practice(user: User) -> Practice:
    """The practice `user` manages; NotPracticeManager for anyone else. Views call it to
    show the practice's pages; the services that change the practice call it to authorize."""
    if not is_manager(user) or user.practice is None:
        raise NotPracticeManager("Only the practice's user manager can do this.")
    return user.practice


def practice_manager(user: User) -> User | None:
    """The user manager of `user`'s practice: the person who decides its plans. None for
    patients and for a practice without one. Anyone may call it for themselves."""
    if user.practice_id is None:
        return None
    return (
        User.objects.filter(practice_id=user.practice_id, is_practice_manager=True, is_active=True)
        .order_by("pk")
        .first()
    )


# Invited, and the registration wizard not finished yet.
NOT_REGISTERED = (User.Status.INVITED, User.Status.STARTED)
# The roles whose invitees never join the inviting practice: they are its people only
# until they register (into a practice of their own, or as a patient).
OUTSIDE_ROLES = [*ANOTHER_PRACTICE, RecipientRole.PATIENT]


# Who may become the practice's user manager (Person.may_become_manager), in words.
MANAGER_CANDIDATES = (
    "Only an active doctor or staff member of the practice (registered, password set, not "
    "locked) can become its user manager."
)


@dataclass(frozen=True)
class Person:
    """One row of the user manager's page: a member of the practice (its doctors and staff,
    invited or registered) or someone it invited to another practice or as a patient, not
    registered yet. `invitation` is their open invitation, if they have one."""

    user: User
    invitation: Invitation | None
    is_member: bool
    # Their plan being bought or in force (billing), if any.
    subscription: Subscription | None = None
    # Whether they have two-step login on.
    two_step_on: bool = False

    @property
    def role(self) -> str:
        if not self.is_member and self.invitation is not None:
            return self.invitation.get_role_display()
        return self.user.get_kind_display()

    @property
    def is_locked(self) -> bool:
        return self.user.locked_at is not None

    @property
    def is_phone_verified(self) -> bool:
        return self.user.phone_verified_at is not None

    @property
    def has_paid_plan(self) -> bool:
        # The plan rule's answer (billing.entitlements), not the plan column.
        return allows(self.user, Feature.START_CONVERSATION)

    @property
    def may_have_plan(self) -> bool:
        """A plan can be bought for them (a registered doctor or staff member), and none is
        in force."""
        sub = self.subscription
        active = sub is not None and sub.status == Subscription.Status.ACTIVE
        return self.is_member and may_have_plan(self.user) and not active and not self.has_paid_plan

    @property
    def may_cancel_plan(self) -> bool:
        sub = self.subscription
        return (
            sub is not None
            and sub.status == Subscription.Status.ACTIVE
            and not sub.cancel_at_period_end
        )

    @property
    def invitation_notice(self) -> Notice | None:
        """How the welcome email of their open invitation went (None: no invitation, or an
        email from before its state was kept)."""
        if self.invitation is None or self.invitation.welcome_email is None:
            return None
        return notice_of(self.invitation.welcome_email)

    @property
    def invitation_undelivered(self) -> bool:
        """Their invitation's email did not arrive (bounced or given up): someone must
        correct the address or send it again."""
        notice = self.invitation_notice
        return self.is_invitee and notice is not None and notice.undelivered

    @property
    def is_invitee(self) -> bool:
        """Invited and not registered yet, with a link to send again or to send elsewhere."""
        return self.user.status in NOT_REGISTERED and self.invitation is not None

    @property
    def awaits_password(self) -> bool:
        """A member who finished the wizard but never set a password."""
        return self.is_member and self.user.status == User.Status.REGISTERED

    @property
    def may_resend(self) -> bool:
        """The invitation again (a fresh link), or for a member who finished the wizard,
        the set-password link again."""
        return self.is_invitee or self.awaits_password

    @property
    def may_correct_email(self) -> bool:
        """Only while the invitation is open: after that the address is the person's login."""
        return self.is_invitee

    @property
    def may_unlock(self) -> bool:
        return self.is_member and self.is_locked

    @property
    def may_become_manager(self) -> bool:
        """An active doctor or staff member of the practice, other than its manager
        (MANAGER_CANDIDATES says it in words)."""
        user = self.user
        return (
            self.is_member
            and user.kind in {User.Kind.DOCTOR, User.Kind.STAFF}
            and user.status == User.Status.ACTIVE
            and user.is_active
            and not self.is_locked
            and not user.is_practice_manager
        )


@dataclass(frozen=True)
class PracticePeople:
    practice: Practice
    # Doctors and staff of the practice, in every state; the manager among them.
    members: list[Person]
    # Invited to another practice or as patients, until they register.
    invitees: list[Person]


def _open_invitation_from(practice_id: int) -> Exists:
    return Exists(
        Invitation.objects.filter(
            invitee=OuterRef("pk"),
            used_at__isnull=True,
            invited_by__practice_id=practice_id,
            role__in=OUTSIDE_ROLES,
        )
    )


def _reachable(practice_id: int) -> QuerySet[User]:
    """Everyone the practice's user manager may see and act on: its members, and the
    people it invited elsewhere while their invitation is open."""
    invited_elsewhere = Q(practice__isnull=True, status__in=NOT_REGISTERED) & Q(
        _open_invitation_from(practice_id)
    )
    return User.objects.filter(Q(practice_id=practice_id) | invited_elsewhere)


def _with_welcome_email(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    """Invitations with their welcome email's state (one join; never its sealed content)."""
    return invitations.select_related("welcome_email").defer(
        "welcome_email__sealed_payload", "welcome_email__wrapped_key"
    )


def _people(practice_id: int, users: list[User]) -> list[Person]:
    invitations = {
        invitation.invitee_id: invitation
        for invitation in _with_welcome_email(
            Invitation.objects.filter(invitee__in=[user.pk for user in users], used_at__isnull=True)
        )
    }
    plans = live_plans_of(users)
    two_step_on = set(
        TwoStep.objects.filter(user__in=[user.pk for user in users])
        .exclude(method="")
        .values_list("user_id", flat=True)
    )
    people = [
        Person(
            user=user,
            invitation=invitations.get(user.pk),
            is_member=user.practice_id == practice_id,
            subscription=plans.get(user.pk),
            two_step_on=user.pk in two_step_on,
        )
        for user in users
    ]
    return sorted(people, key=lambda p: ((p.user.full_name or p.user.email).lower(), p.user.pk))


def people_of(manager: User) -> PracticePeople:
    """The user manager's page: the practice's members and its invitees elsewhere, in four
    queries whatever their number. NotPracticeManager for anyone but the manager."""
    practice = managed_practice(manager)
    people = _people(practice.pk, list(_reachable(practice.pk)))
    return PracticePeople(
        practice=practice,
        members=[p for p in people if p.is_member],
        invitees=[p for p in people if not p.is_member],
    )


def person_for_manager(manager: User, user_id: int, *, for_update: bool = False) -> Person:
    """One of the practice's people, for its user manager: NotPracticeManager for anyone
    else, Http404 for a person out of the practice's reach (another practice's, someone it
    never invited, or nobody). `for_update` locks the person's row (for the services)."""
    practice = managed_practice(manager)
    found = _reachable(practice.pk).filter(pk=user_id)
    if for_update:
        found = found.select_for_update()
    user = found.first()
    if user is None:
        raise Http404
    return _people(practice.pk, [user])[0]


# --- whoever sent an invitation ---------------------------------------------------------------


def _invited_by(inviter: User) -> QuerySet[User]:
    """The people `inviter` invited whose invitation is still open (not registered yet)."""
    open_from_inviter = Invitation.objects.filter(
        invitee=OuterRef("pk"), used_at__isnull=True, invited_by=inviter
    )
    return User.objects.filter(Exists(open_from_inviter), status__in=NOT_REGISTERED)


def person_for_inviter(inviter: User, user_id: int, *, for_update: bool = False) -> Person:
    """Someone `inviter` invited, while their invitation is open: its sender may send it
    again or to a corrected address (the practice's user manager may too, through
    person_for_manager). Http404 for anyone else, as for nobody. `for_update` locks the
    person's row (for the services)."""
    found = _invited_by(inviter).filter(pk=user_id)
    if for_update:
        found = found.select_for_update()
    user = found.first()
    if user is None:
        raise Http404
    invitation = (
        _with_welcome_email(Invitation.objects.filter(invitee=user, used_at__isnull=True))
    ).first()
    return Person(
        user=user,
        invitation=invitation,
        is_member=inviter.practice_id is not None and user.practice_id == inviter.practice_id,
    )


def undelivered_invitations(inviter: User) -> list[Person]:
    """The people `inviter` invited whose welcome email did not arrive (bounced or given
    up), their invitation still open: the notice on the inviter's inbox. Every inbox asks,
    and almost always the answer is none: the rule is one statement of constant text
    (0.2 ms; the ORM's form of it took 1.8 ms to build, as much as the rest of the inbox's
    queries together), and only invitations it finds are loaded."""
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(_undelivered_sql(), [inviter.pk, *GIVEN_UP, *NOT_REGISTERED])
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    invitations = _with_welcome_email(
        Invitation.objects.filter(pk__in=ids).select_related("invitee")
    ).order_by("-link_sent_at", "pk")
    return [
        Person(
            user=invitation.invitee,
            invitation=invitation,
            is_member=inviter.practice_id is not None
            and invitation.invitee.practice_id == inviter.practice_id,
        )
        for invitation in invitations
    ]


@lru_cache(maxsize=1)
def _undelivered_sql() -> str:
    quote = connection.ops.quote_name

    def column(model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, Field)
        return f"{quote(model._meta.db_table)}.{quote(str(field.column))}"

    def table(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    return (
        f"SELECT {column(Invitation, 'id')} FROM {table(Invitation)}"  # noqa: S608
        f" JOIN {table(OutboxEmail)} ON {column(OutboxEmail, 'id')}"
        f" = {column(Invitation, 'welcome_email')}"
        f" JOIN {table(User)} ON {column(User, 'id')} = {column(Invitation, 'invitee')}"
        f" WHERE {column(Invitation, 'invited_by')} = %s"
        f" AND {column(Invitation, 'used_at')} IS NULL"
        f" AND {column(OutboxEmail, 'status')} IN ({', '.join(['%s'] * len(GIVEN_UP))})"
        f" AND {column(User, 'status')} IN ({', '.join(['%s'] * len(NOT_REGISTERED))})"
    )


def onboarding_of(person: Person) -> tuple[list[Moment], bool]:
    """The onboarding timeline of someone the caller reached through person_for_inviter
    (the inviter's page; the message's first read is the delivery slip's to show), and
    whether its reminders may still be stopped. Two queries."""
    if person.invitation is None:
        return [], False
    invitation = with_onboarding_progress(
        Invitation.objects.filter(pk=person.invitation.pk).select_related("invited_by__practice")
    ).get()
    notice = person.invitation_notice
    moments = timeline(
        invitation,
        notified_at=notice.at if notice and notice.state == NoticeState.DELIVERED else None,
        reminders=reminders_of([invitation]).get(invitation.pk, []),
        show_first_read=False,
    )
    return moments, reminders_pending(invitation)
