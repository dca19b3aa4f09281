"""Accounts and practices in the console, and the Unlock action.

Never a password hash, a signature or a phone number (the detail page shows a masked one).
"""

from typing import Any, override

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from securemail.accounts import services
from securemail.accounts.models import Practice, User
from securemail.console.site import BOTH_PLACES, ConsolePage, console_site
from securemail.core.phones import masked_phone


class LockedFilter(admin.SimpleListFilter):
    title = "locked"
    parameter_name = "locked"

    @override
    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Locked"), ("no", "Not locked")]

    @override
    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(locked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(locked_at__isnull=True)
        return queryset


@admin.register(User, site=console_site)
class AccountPage(ConsolePage):
    list_display = (
        "email",
        "full_name",
        "kind",
        "practice",
        "status",
        "plan",
        "locked",
        "is_operator",
        "created_at",
    )
    list_filter = ("kind", "status", "plan", LockedFilter, "is_operator")
    search_fields = ("email", "full_name", "practice__name")
    # The practice page links to its members' list.
    console_lookups = ("practice__id",)
    list_select_related = ("practice",)
    ordering = ("-created_at",)
    fields = (
        "email",
        "full_name",
        "kind",
        "practice",
        "is_practice_manager",
        "plan",
        "status",
        "is_active",
        "is_operator",
        "locked",
        "locked_at",
        "failed_logins",
        "phone_on_file",
        "phone_verified_at",
        "specialty",
        "invited_by",
        "time_zone",
        "notify_by",
        "last_login",
        "created_at",
    )
    actions = ("unlock_accounts",)

    @admin.display(boolean=True, ordering="locked_at", description="locked")
    def locked(self, user: User) -> bool:
        return user.locked_at is not None

    @admin.display(description="cell phone")
    def phone_on_file(self, user: User) -> str:
        if not user.phone:
            return "none"
        verified = "verified" if user.phone_verified_at else "not verified"
        return f"{masked_phone(user.phone)} ({user.get_phone_type_display()}, {verified})"

    @admin.action(
        description="Unlock the account",
        description_plural="Unlock the selected accounts",
        permissions=["operate"],
        location=BOTH_PLACES,
    )
    def unlock_accounts(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> HttpResponse | None:
        operator = request.user
        assert isinstance(operator, User)
        outcome = {"unlocked": 0, "not locked": 0}

        def unlock(user: User) -> None:
            done = services.unlock_as_operator(operator=operator, user=user)
            outcome["unlocked" if done else "not locked"] += 1

        response = self.confirm_then(
            request,
            queryset,
            action="unlock_accounts",
            question="Unlock these accounts?",
            button="Yes, unlock",
            describe=_describe_lock,
            act=unlock,
        )
        unlocked, not_locked = outcome["unlocked"], outcome["not locked"]
        if unlocked + not_locked:
            summary = f"Unlocked {unlocked} account{'s' if unlocked != 1 else ''}"
            if not_locked:
                summary += f"; {not_locked} {'was' if not_locked == 1 else 'were'} not locked"
            self.message_user(
                request,
                f"{summary}. Each person logs in with their own password; the count of "
                "wrong passwords starts again.",
                messages.SUCCESS,
            )
        return response


def _describe_lock(user: User) -> str:
    if user.locked_at is None:
        return f"{user.email}: not locked (nothing to do)"
    return f"{user.email}: locked since {user.locked_at:%Y-%m-%d %H:%M} UTC"


@admin.register(Practice, site=console_site)
class PracticePage(ConsolePage):
    list_display = (
        "name",
        "city",
        "state",
        "member_count",
        "require_phone_verification",
        "created_at",
    )
    list_filter = ("require_phone_verification",)
    search_fields = ("name", "city")
    ordering = ("name",)
    fields = (
        "name",
        "website",
        "phone",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "require_phone_verification",
        "member_count",
        "created_at",
    )

    @override
    def get_queryset(self, request: HttpRequest) -> QuerySet[Practice]:
        return super().get_queryset(request).annotate(members_count=Count("members"))

    @admin.display(ordering="members_count", description="members")
    def member_count(self, practice: Any) -> str:
        url = reverse("console:accounts_user_changelist") + f"?practice__id__exact={practice.pk}"
        return format_html('<a href="{}">{}</a>', url, practice.members_count)
