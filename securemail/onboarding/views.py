"""Registration: the emailed link, the role's wizard, phone verification and finishing.

The link's page only shows; its POST binds this browser session to the invitation. The
wizard reads the invitation from the session and re-checks it on every request.
"""

from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from securemail.accounts.models import Specialty
from securemail.core.http import client_ip
from securemail.core.phones import display_phone, masked_phone
from securemail.onboarding import access, services
from securemail.onboarding.errors import (
    AlreadyRegistered,
    CodeRefused,
    LinkInvalid,
    OnboardingError,
    TooManyRequests,
)
from securemail.onboarding.forms import (
    CodeForm,
    FreshLinkForm,
    PracticeForm,
    SendCodeForm,
    SpecialtyForm,
    TermsForm,
    YouForm,
)
from securemail.onboarding.models import (
    Invitation,
    PracticeDetails,
    RecipientRole,
    Step,
    WizardState,
)

SESSION_KEY = "onboarding.invitation"

WizardView = Callable[[HttpRequest, Invitation], HttpResponse]


def _link_invalid(
    request: HttpRequest, token: str | None = None, *, error: str = "", status: int = 404
) -> HttpResponse:
    """The one "no longer valid" page. For a link we sent (used or expired) it offers a
    one-button fresh link to the invited address; otherwise the form to type the address."""
    context: dict[str, Any] = {"resend_error": error}
    if token is not None and access.invited_address_for_link(token) is not None:
        context["resend_url"] = reverse("onboarding:resend_link")
        context["resend_fields"] = {"token": token}
    return render(request, "onboarding/link_invalid.html", context, status=status)


def _already_registered(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return render(request, "onboarding/already_registered.html", status=409)


def wizard_view(step: Step | None) -> Callable[[WizardView], Callable[..., HttpResponse]]:
    """Load the session's invitation; send the person to the first unfinished step (no
    skipping ahead: access.reachable_step)."""

    def decorator(view: WizardView) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            invitation_id = request.session.get(SESSION_KEY)
            if invitation_id is None:
                return _link_invalid(request)
            try:
                invitation = access.invitation_in_progress(invitation_id)
            except AlreadyRegistered:
                return _already_registered(request)
            except LinkInvalid:
                request.session.pop(SESSION_KEY, None)
                return _link_invalid(request)
            if step is not None:
                reachable = access.reachable_step(invitation, step)
                if reachable != step:
                    return redirect("onboarding:step", step=reachable)
            return view(request, invitation)

        return wrapper

    return decorator


def _wizard_context(invitation: Invitation, step: Step) -> dict[str, Any]:
    steps = access.steps_for(invitation)
    state = WizardState.load(invitation)
    return {
        "invitation": invitation,
        "inviter": invitation.invited_by,
        "step": step,
        "step_title": step.label,
        "step_number": steps.index(step) + 1,
        "step_count": len(steps),
        "steps": [
            {"key": s, "title": s.label, "done": state.is_done(s), "current": s == step}
            for s in steps
        ],
    }


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The registration link. GET shows who is waiting; only the POST starts anything."""
    try:
        invitation = access.open_invitation(token)
    except LinkInvalid:
        return _link_invalid(request, token)
    if request.method == "POST":
        if request.user.is_authenticated and request.user.pk != invitation.invitee_id:
            # Someone else is logged in here (a colleague's computer, or the demo's doctor
            # clicking through the mail catcher): the newcomer must not act as them.
            logout(request)
        services.start_registration(invitation=invitation)
        request.session.cycle_key()
        request.session[SESSION_KEY] = invitation.pk
        return redirect("onboarding:step", step=access.next_step(invitation))
    return render(
        request,
        "onboarding/join.html",
        {"invitation": invitation, "inviter": invitation.invited_by},
    )


@require_GET
@wizard_view(None)
def resume(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    return redirect("onboarding:step", step=access.next_step(invitation))


def step(request: HttpRequest, step: str) -> HttpResponse:
    views: dict[Step, Callable[..., HttpResponse]] = {
        Step.PRACTICE: practice_step,
        Step.YOU: you_step,
        Step.SPECIALTY: specialty_step,
        Step.VERIFY: verify_step,
        Step.TERMS: terms_step,
    }
    try:
        wanted = Step(step)
    except ValueError:
        raise Http404 from None
    return views[wanted](request)


def _after(invitation: Invitation) -> HttpResponse:
    return redirect("onboarding:step", step=access.next_step(invitation))


@require_http_methods(["GET", "POST"])
@wizard_view(Step.PRACTICE)
def practice_step(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    saved = WizardState.load(invitation).practice
    form = PracticeForm(request.POST or None, initial=asdict(saved) if saved else None)
    if request.method == "POST" and form.is_valid():
        services.save_practice_step(
            invitation=invitation, practice=PracticeDetails(**form.cleaned_data)
        )
        return _after(invitation)
    context = _wizard_context(invitation, Step.PRACTICE) | {"form": form}
    return render(request, "onboarding/step_practice.html", context, status=_status(form))


@require_http_methods(["GET", "POST"])
@wizard_view(Step.YOU)
def you_step(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    state = WizardState.load(invitation)
    # What is not saved yet keeps the form's own initial value ("Cell phone" selected).
    initial = {"full_name": state.full_name, "phone_type": state.phone_type}
    if state.phone:
        initial["phone"] = display_phone(state.phone)
    form = YouForm(
        request.POST or None,
        initial={name: value for name, value in initial.items() if value is not None},
        allow_landline=invitation.role == RecipientRole.PATIENT,
    )
    if request.method == "POST" and form.is_valid():
        services.save_you_step(
            invitation=invitation,
            full_name=form.cleaned_data["full_name"],
            phone=form.cleaned_data["phone"],
            phone_type=form.cleaned_data["phone_type"],
        )
        return _after(invitation)
    context = _wizard_context(invitation, Step.YOU) | {"form": form}
    return render(request, "onboarding/step_you.html", context, status=_status(form))


@require_http_methods(["GET", "POST"])
@wizard_view(Step.SPECIALTY)
def specialty_step(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    if request.method == "POST":
        form = SpecialtyForm(request.POST)
        if form.is_valid():
            services.save_specialty_step(
                invitation=invitation,
                specialty=form.cleaned_data["specialty"],
                procedures=list(form.cleaned_data["procedures"]),
                npi=form.cleaned_data["npi"],
            )
            return _after(invitation)
    else:
        state = WizardState.load(invitation)
        form = SpecialtyForm(
            initial={
                "specialty": state.specialty,
                "procedures": state.procedures or [],
                "npi": state.npi or "",
            }
        )
    return _specialty_page(request, invitation, form)


@require_GET
@wizard_view(Step.SPECIALTY)
def procedures(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    """The procedure checkboxes with the chosen specialty's usual ones ticked; saves nothing.
    For htmx (the specialty select's change) the fragment; for the "Show procedures" button
    (no JavaScript) the whole step, with the NPI typed so far."""
    form = _specialty_form_for(request.GET.get("specialty", ""), npi=request.GET.get("npi"))
    if request.headers.get("HX-Request") == "true":
        response = render(request, "onboarding/_procedures.html", {"form": form})
    else:
        response = _specialty_page(request, invitation, form)
    # One URL, two answers: a cache must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _specialty_form_for(slug: str, npi: str | None) -> SpecialtyForm:
    specialty = Specialty.objects.filter(slug=slug).first()
    usual = list(specialty.usual_procedures.values_list("slug", flat=True)) if specialty else []
    return SpecialtyForm(
        initial={"specialty": slug if specialty else None, "procedures": usual, "npi": npi or ""}
    )


def _specialty_page(
    request: HttpRequest, invitation: Invitation, form: SpecialtyForm
) -> HttpResponse:
    context = _wizard_context(invitation, Step.SPECIALTY) | {"form": form}
    return render(request, "onboarding/step_specialty.html", context, status=_status(form))


@require_http_methods(["GET", "POST"])
@wizard_view(Step.VERIFY)
def verify_step(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    """The verify step; its POST checks a typed code (send_code, at its own URL, sends one)."""
    code_form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and code_form.is_valid():
        try:
            services.check_code(invitation=invitation, code=code_form.cleaned_data["code"])
        except CodeRefused as error:
            code_form.add_error("code", str(error))
        else:
            messages.success(request, "Your phone is verified.")
            return _after(invitation)
    return _verify_page(request, invitation, code_form, status=_status(code_form))


@require_POST
@wizard_view(Step.VERIFY)
def send_code(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    """The verify step's "send me a code" buttons: a new code by the chosen channel, then
    back to the step; the step with the reason (400) when no code could be sent."""
    form = SendCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how to receive your code.")
        return _verify_page(request, invitation, CodeForm(), status=400)
    try:
        sent = services.send_code(invitation=invitation, channel=form.cleaned_data["channel"])
    except OnboardingError as error:
        messages.error(request, str(error))
        return _verify_page(request, invitation, CodeForm(), status=400)
    messages.success(
        request, f"We sent a new code to {sent.shown_destination}. Earlier codes no longer work."
    )
    return redirect("onboarding:step", step=Step.VERIFY)


def _verify_page(
    request: HttpRequest, invitation: Invitation, code_form: CodeForm, *, status: int
) -> HttpResponse:
    state = WizardState.load(invitation)
    context = _wizard_context(invitation, Step.VERIFY) | {
        "code_form": code_form,
        "code_sent": access.waiting_code(invitation),
        "is_landline": state.is_landline,
        "masked_phone": masked_phone(state.phone or ""),
    }
    return render(request, "onboarding/step_verify.html", context, status=status)


@require_http_methods(["GET", "POST"])
@wizard_view(Step.TERMS)
def terms_step(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    form = TermsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.complete_registration(
                invitation_id=invitation.pk, accepted_terms=form.cleaned_data["accept"]
            )
        except AlreadyRegistered:
            return _already_registered(request)
        except LinkInvalid:
            return _link_invalid(request)
        except OnboardingError as error:
            messages.error(request, str(error))
            return _after(invitation)
        # The session stays bound to the (now used) invitation so that another tab of this
        # browser gets "already complete" rather than "link no longer valid"; that page
        # unbinds it.
        return redirect("onboarding:done")
    context = _wizard_context(invitation, Step.TERMS) | {"form": form}
    return render(request, "onboarding/step_terms.html", context, status=_status(form))


@require_GET
def done(request: HttpRequest) -> HttpResponse:
    return render(request, "onboarding/done.html")


@require_http_methods(["GET", "POST"])
def fresh_link(request: HttpRequest) -> HttpResponse:
    """Ask for a fresh registration link; the same answer whether or not we know the address."""
    form = FreshLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_fresh_link(
                email=form.cleaned_data["email"], client_ip=client_ip(request)
            )
        except TooManyRequests as error:
            form.add_error(None, str(error))
            return render(request, "onboarding/fresh_link.html", {"form": form}, status=429)
        return render(request, "onboarding/fresh_link_sent.html")
    return render(request, "onboarding/fresh_link.html", {"form": form}, status=_status(form))


@require_POST
def resend_link(request: HttpRequest) -> HttpResponse:
    """The "no longer valid" page's button: a fresh link to the address the old link was
    sent to, never shown. The same answer whether or not anything was sent."""
    token = request.POST.get("token", "")
    try:
        services.request_fresh_link_for(token=token, client_ip=client_ip(request))
    except TooManyRequests as error:
        return _link_invalid(request, token, error=str(error), status=429)
    return render(request, "onboarding/fresh_link_resent.html")


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    return render(request, "onboarding/terms.html")


def _status(form: Any) -> int:
    return 400 if form.is_bound and form.errors else 200
