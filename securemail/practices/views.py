"""The practice's pages, for its user manager (thin: access → service → render); and the
page where whoever sent an invitation corrects its address or sends it again.

Anyone else gets the 403 page that says the page is the manager's (NotPracticeManager);
a person out of the practice's reach (or not the inviter's open invitee) is a 404, as for
nobody at all.
"""

import csv
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import dateformat, timezone
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from securemail.accounts.models import User
from securemail.accounts.security.reauth import recent_login_required
from securemail.billing.errors import (
    PROCESSOR_UNAVAILABLE_MESSAGE,
    AlreadyPaid,
    ProcessorUnavailable,
    TooManyPurchases,
)
from securemail.billing.forms import BuyForm
from securemail.onboarding.models import REMINDER_DAYS
from securemail.practices import access, audit_export, services
from securemail.practices import disclosures as disclosures_of
from securemail.practices.forms import (
    AuditRangeForm,
    CorrectEmailForm,
    PracticeSettingsForm,
    TwoStepPolicyForm,
)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _error_status(error: services.PeopleError) -> int:
    return 429 if isinstance(error, services.TooManyRequests) else 400


@login_required
@require_http_methods(["GET", "POST"])
def practice_settings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    practice = access.managed_practice(user)
    form = PracticeSettingsForm(
        request.POST or None,
        initial={"require_phone_verification": practice.require_phone_verification},
    )
    if request.method == "POST" and form.is_valid():
        services.set_phone_verification_policy(
            manager=user, required=form.cleaned_data["require_phone_verification"]
        )
        messages.success(request, "Practice settings saved.")
        return redirect("practices:settings")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "practices/settings.html", {"form": form}, status=status)


def _people_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    people = access.people_of(_user(request))
    policy = TwoStepPolicyForm(initial={"require_two_step": people.practice.require_two_step})
    return render(
        request,
        "practices/people.html",
        {"people": people, "error": error, "two_step_form": policy},
        status=status,
    )


@login_required
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    """The user manager's page: the practice's people, their state and what can be done."""
    return _people_page(request)


@login_required
@recent_login_required(return_to="practices:people")
@require_POST
def two_step_policy(request: HttpRequest) -> HttpResponse:
    """The switch on the people page: must the practice's doctors and staff use two-step
    login?"""
    user = _user(request)
    access.managed_practice(user)
    form = TwoStepPolicyForm(request.POST)
    required = form.is_valid() and form.cleaned_data["require_two_step"]
    try:
        services.set_two_step_policy(manager=user, required=required)
    except services.PeopleError as error:
        return _people_page(request, error=str(error), status=400)
    if required:
        messages.success(
            request,
            "Two-step login is now required: doctors and staff without it set it up before "
            "they can go on.",
        )
    else:
        messages.success(request, "Two-step login is no longer required.")
    return redirect("practices:people")


@login_required
@require_POST
def resend_invitation(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = services.resend_invitation(manager=_user(request), user_id=user_id)
    except services.PeopleError as error:
        return _people_page(request, error=str(error), status=_error_status(error))
    if person.is_invitee:
        sent = f"A fresh invitation link was sent to {person.user.email}; the old link no "
        sent += "longer works."
    else:
        sent = f"A new link to set a password was sent to {person.user.email}."
    messages.success(request, sent)
    return redirect("practices:people")


@login_required
@require_http_methods(["GET", "POST"])
def correct_email(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user(request)
    person = access.person_for_manager(user, user_id)
    form = CorrectEmailForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                corrected = services.correct_invitee_email(
                    manager=user, user_id=user_id, email=form.cleaned_data["email"]
                )
            except services.PeopleError as error:
                form.add_error("email", str(error))
                status = _error_status(error)
            else:
                messages.success(
                    request,
                    f"The invitation now goes to {corrected.user.email}, with a new link; "
                    "the link sent to the old address no longer works.",
                )
                return redirect("practices:people")
    return render(
        request, "practices/correct_email.html", {"person": person, "form": form}, status=status
    )


def _invitee_page(
    request: HttpRequest,
    person: access.Person,
    form: CorrectEmailForm,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    zone = _user(request).zone
    moments, may_stop_reminders = access.onboarding_of(person)
    onboarding = [
        {
            "label": m.label,
            "when": dateformat.format(localtime(m.at, zone), "M j g:i A") if m.at else "not yet",
        }
        for m in moments
    ]
    context = {
        "person": person,
        "form": form,
        "error": error,
        "onboarding": onboarding,
        "may_stop_reminders": may_stop_reminders,
        "reminder_days": ", ".join(str(d) for d in REMINDER_DAYS[:-1])
        + f" and {REMINDER_DAYS[-1]}",
    }
    return render(request, "practices/invitee.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def invitee(request: HttpRequest, user_id: int) -> HttpResponse:
    """Someone the user invited, while the invitation is open: how its email went, with
    the address to correct (POST) and the invitation to send again."""
    user = _user(request)
    person = access.person_for_inviter(user, user_id)
    form = CorrectEmailForm(request.POST or None)
    if request.method == "GET":
        return _invitee_page(request, person, form)
    if not form.is_valid():
        return _invitee_page(request, person, form, status=400)
    try:
        corrected = services.correct_invitee_email_as_inviter(
            inviter=user, user_id=user_id, email=form.cleaned_data["email"]
        )
    except services.PeopleError as error:
        form.add_error("email", str(error))
        return _invitee_page(request, person, form, status=_error_status(error))
    messages.success(
        request,
        f"The invitation now goes to {corrected.user.email}, with a new link; the link sent "
        "to the old address no longer works.",
    )
    return redirect("messaging:inbox")


@login_required
@require_POST
def invitee_resend(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user(request)
    try:
        person = services.resend_invitation_as_inviter(inviter=user, user_id=user_id)
    except services.PeopleError as error:
        person = access.person_for_inviter(user, user_id)
        return _invitee_page(
            request, person, CorrectEmailForm(), error=str(error), status=_error_status(error)
        )
    messages.success(
        request,
        f"A fresh invitation link was sent to {person.user.email}; the old link no longer works.",
    )
    return redirect("messaging:inbox")


@login_required
@require_POST
def invitee_stop_reminders(request: HttpRequest, user_id: int) -> HttpResponse:
    """The delivery slip's "Stop reminders" (the invitation's page has it too): back to
    the message it was clicked on (a posted `message` id), else to the invitation's page."""
    user = _user(request)
    try:
        person = services.stop_reminders_as_inviter(inviter=user, user_id=user_id)
    except services.PeopleError as error:
        person = access.person_for_inviter(user, user_id)
        return _invitee_page(request, person, CorrectEmailForm(), error=str(error), status=400)
    messages.success(request, f"No more reminders will be sent to {person.user.email}.")
    try:
        message_id = uuid.UUID(request.POST.get("message", ""))
    except ValueError:
        return redirect("practices:invitee_email", user_id)
    return redirect("messaging:message", message_id)


@login_required
@require_POST
def unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = services.unlock_account(manager=_user(request), user_id=user_id)
    except services.PeopleError as error:
        return _people_page(request, error=str(error), status=400)
    messages.success(request, f"{person.user.display_name}'s account is unlocked.")
    return redirect("practices:people")


@login_required
@require_http_methods(["GET", "POST"])
def hand_over(request: HttpRequest, user_id: int) -> HttpResponse:
    """Confirm, then hand the user manager's role to someone else (the giver loses it)."""
    user = _user(request)
    person = access.person_for_manager(user, user_id)
    error = ""
    if request.method == "POST":
        try:
            new_manager = services.hand_over_manager_role(manager=user, user_id=user_id)
        except services.PeopleError as refused:
            error = str(refused)
        else:
            messages.success(
                request, f"{new_manager.display_name} is now the practice's user manager."
            )
            return redirect("messaging:inbox")
    return render(
        request,
        "practices/hand_over.html",
        {"person": person, "error": error, "candidates": access.MANAGER_CANDIDATES},
        status=400 if error else 200,
    )


@login_required
@recent_login_required(return_to="practices:people")
@require_POST
def buy_plan(request: HttpRequest, user_id: int) -> HttpResponse:
    """Buy a plan for one of the practice's people: off to the card page."""
    form = BuyForm(request.POST)
    if not form.is_valid():
        # Someone out of the manager's reach is a 404 whatever was posted.
        access.person_for_manager(_user(request), user_id)
        return _people_page(request, error="Choose a plan.", status=400)
    try:
        started = services.buy_plan_for(
            manager=_user(request), user_id=user_id, plan_code=form.cleaned_data["plan"]
        )
    except services.PeopleError as error:
        return _people_page(request, error=str(error), status=_error_status(error))
    except AlreadyPaid as error:
        return _people_page(request, error=str(error), status=409)
    except TooManyPurchases as error:
        return _people_page(request, error=str(error), status=429)
    except ProcessorUnavailable:
        return _people_page(request, error=PROCESSOR_UNAVAILABLE_MESSAGE, status=503)
    return HttpResponseRedirect(started.url)


@login_required
@recent_login_required(return_to="practices:people")
@require_POST
def cancel_plan(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        services.cancel_plan_for(manager=_user(request), user_id=user_id)
    except services.PeopleError as error:
        return _people_page(request, error=str(error), status=_error_status(error))
    except ProcessorUnavailable:
        return _people_page(request, error=PROCESSOR_UNAVAILABLE_MESSAGE, status=503)
    messages.success(request, "The plan ends at the end of its paid period.")
    return redirect("practices:people")


# --- the practice's records: its audit log, a patient's accounting of disclosures ------------


class _Echo:
    """A file-like object whose `write` hands back what it is given (csv.writer → stream)."""

    def write(self, value: str) -> str:
        return value


def _csv_download(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream `rows` as a CSV attachment, a row at a time (a year of log costs no memory)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _audit_page(request: HttpRequest, form: AuditRangeForm, status: int = 200) -> HttpResponse:
    user = _user(request)
    context = {
        "form": form,
        "practice": access.managed_practice(user),
        "patients": disclosures_of.patients_of(manager=user),
    }
    return render(request, "practices/audit.html", context, status=status)


@login_required
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    """The user manager's records page: export the log for some days; choose a patient for
    their accounting of disclosures."""
    access.managed_practice(_user(request))
    today = timezone.now().date()
    form = AuditRangeForm(initial={"first_day": today - timedelta(days=30), "last_day": today})
    return _audit_page(request, form)


@login_required
@recent_login_required(return_to="practices:audit")
@require_GET
def audit_log_csv(request: HttpRequest) -> HttpResponseBase:
    """The practice's audit log for the chosen days, as CSV (audited). Bad dates: 400."""
    user = _user(request)
    access.managed_practice(user)
    form = AuditRangeForm(request.GET)
    if not form.is_valid():
        return _audit_page(request, form, status=400)
    first_day, last_day = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
    services.record_log_export(manager=user, first_day=first_day, last_day=last_day)
    rows = audit_export.practice_log_rows(manager=user, first_day=first_day, last_day=last_day)
    return _csv_download(rows, f"audit-log-{first_day}-to-{last_day}.csv")


@login_required
@require_GET
def disclosures(request: HttpRequest, patient_id: int) -> HttpResponse:
    """One patient's accounting of disclosures (audited). A patient the practice never
    exchanged messages with: 404."""
    user = _user(request)
    accounting = disclosures_of.accounting_for(manager=user, patient_id=patient_id)
    services.record_disclosures_produced(manager=user, patient_id=patient_id, as_csv=False)
    return render(request, "practices/disclosures.html", {"accounting": accounting})


@login_required
@require_GET
def disclosures_csv(request: HttpRequest, patient_id: int) -> HttpResponseBase:
    user = _user(request)
    accounting = disclosures_of.accounting_for(manager=user, patient_id=patient_id)
    services.record_disclosures_produced(manager=user, patient_id=patient_id, as_csv=True)
    return _csv_download(
        disclosures_of.csv_rows(accounting), f"disclosures-patient-{patient_id}.csv"
    )
