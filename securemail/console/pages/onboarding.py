"""Invitations in the console, and the Re-send action.

Never the link's token hash or the sealed link, nor what the registration wizard has
collected (wizard_data), nor a verification code (codes have no page at all).
"""

from typing import Any, override

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from securemail.accounts.models import User
from securemail.console.site import BOTH_PLACES, ConsolePage, console_site
from securemail.onboarding import services
from securemail.onboarding.errors import InvitationClosed
from securemail.onboarding.models import Invitation

SENT_WORDS = {
    "registration_link": "a fresh registration link (the old one no longer works)",
    "set_password_link": "a fresh set-password link (their registration is done)",
}


class InvitationStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    @override
    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("expired", "Expired"), ("used", "Used")]

    @override
    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "open":
            return queryset.filter(used_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(used_at__isnull=True, expires_at__lte=now)
        if self.value() == "used":
            return queryset.filter(used_at__isnull=False)
        return queryset


@admin.register(Invitation, site=console_site)
class InvitationPage(ConsolePage):
    list_display = (
        "invitee_email",
        "role",
        "invited_by",
        "state",
        "created_at",
        "link_sent_at",
        "expires_at",
        "opened_at",
        "used_at",
    )
    list_filter = ("role", InvitationStateFilter)
    search_fields = ("invitee__email", "invited_by__email")
    list_select_related = ("invitee", "invited_by")
    ordering = ("-created_at",)
    fields = (
        "invitee",
        "invitee_status",
        "role",
        "invited_by",
        "state",
        "created_at",
        "link_sent_at",
        "expires_at",
        "opened_at",
        "used_at",
    )
    actions = ("resend_invitations",)

    @override
    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        # What the page never shows is never even read.
        return (
            super()
            .get_queryset(request)
            .defer("token_hash", "wizard_data", "wrapped_key", "link_sealed")
        )

    @admin.display(ordering="invitee__email", description="invitee")
    def invitee_email(self, invitation: Invitation) -> str:
        return invitation.invitee.email

    @admin.display(description="state")
    def state(self, invitation: Invitation) -> str:
        if invitation.used_at:
            return "used"
        return "expired" if invitation.expires_at <= timezone.now() else "open"

    @admin.display(description="invitee's account")
    def invitee_status(self, invitation: Invitation) -> str:
        return invitation.invitee.get_status_display()

    @admin.action(
        description="Re-send the invitation",
        description_plural="Re-send the selected invitations",
        permissions=["operate"],
        location=BOTH_PLACES,
    )
    def resend_invitations(
        self, request: HttpRequest, queryset: QuerySet[Invitation]
    ) -> HttpResponse | None:
        operator = request.user
        assert isinstance(operator, User)
        sent: list[str] = []
        refused: list[str] = []

        def resend(invitation: Invitation) -> None:
            try:
                what = services.resend_as_operator(operator=operator, invitation_id=invitation.pk)
            except InvitationClosed as error:
                refused.append(str(error))
            else:
                sent.append(f"{invitation.invitee.email}: {SENT_WORDS[what]}")

        response = self.confirm_then(
            request,
            queryset.select_related("invitee"),
            action="resend_invitations",
            question="Re-send these invitations?",
            button="Yes, re-send",
            describe=_describe_invitation,
            act=resend,
        )
        for line in sent:
            self.message_user(request, f"Sent to {line}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)
        return response


def _describe_invitation(invitation: Invitation) -> str:
    status = invitation.invitee.get_status_display().lower()
    return f"{invitation.invitee.email} ({invitation.get_role_display()}, {status})"
