"""The practice's pages, for its user manager (thin: access → service → render).

Anyone else gets the 403 page that says the page is the manager's (NotPracticeManager);
a person out of the practice's reach is a 404, as for nobody at all.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from securemail.accounts.models import User
from securemail.billing.errors import (
    PROCESSOR_UNAVAILABLE_MESSAGE,
    AlreadyPaid,
    ProcessorUnavailable,
    TooManyPurchases,
)
from securemail.billing.forms import BuyForm
from securemail.practices import access, services
from securemail.practices.forms import CorrectEmailForm, PracticeSettingsForm


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
    return render(
        request,
        "practices/people.html",
        {"people": access.people_of(_user(request)), "error": error},
        status=status,
    )


@login_required
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    """The user manager's page: the practice's people, their state and what can be done."""
    return _people_page(request)


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
@require_POST
def buy_plan(request: HttpRequest, user_id: int) -> HttpResponse:
    """Buy a plan for one of the practice's people: off to the card page."""
    form = BuyForm(request.POST)
    if not form.is_valid():
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
