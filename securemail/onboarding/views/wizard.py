"""The role's wizard: its steps (practice, about you, specialty and procedures, terms; the
verify step is in verify.py), each read from the session's invitation, and its end."""

from collections.abc import Callable
from dataclasses import asdict

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from securemail.accounts.models import Specialty
from securemail.core.phones import display_phone
from securemail.onboarding import services
from securemail.onboarding.errors import AlreadyRegistered, LinkInvalid, OnboardingError
from securemail.onboarding.forms import PracticeForm, SpecialtyForm, TermsForm, YouForm
from securemail.onboarding.models import (
    Invitation,
    PracticeDetails,
    RecipientRole,
    Step,
    WizardState,
)
from securemail.onboarding.views.common import (
    already_registered,
    form_status,
    link_invalid,
    to_next_step,
    wizard_context,
    wizard_view,
)
from securemail.onboarding.views.verify import verify_step


@require_GET
@wizard_view(None)
def resume(_request: HttpRequest, invitation: Invitation) -> HttpResponse:
    return to_next_step(invitation)


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


@require_http_methods(["GET", "POST"])
@wizard_view(Step.PRACTICE)
def practice_step(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    saved = WizardState.load(invitation).practice
    form = PracticeForm(request.POST or None, initial=asdict(saved) if saved else None)
    if request.method == "POST" and form.is_valid():
        services.save_practice_step(
            invitation=invitation, practice=PracticeDetails(**form.cleaned_data)
        )
        return to_next_step(invitation)
    context = wizard_context(invitation, Step.PRACTICE) | {"form": form}
    return render(request, "onboarding/step_practice.html", context, status=form_status(form))


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
        return to_next_step(invitation)
    context = wizard_context(invitation, Step.YOU) | {"form": form}
    return render(request, "onboarding/step_you.html", context, status=form_status(form))


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
            return to_next_step(invitation)
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
        if "csrfmiddlewaretoken" in request.GET:
            # The button submits the step's whole form as a GET, CSRF token included: a
            # token that has been in a URL (logs, history) must never work again.
            rotate_token(request)
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
    context = wizard_context(invitation, Step.SPECIALTY) | {"form": form}
    return render(request, "onboarding/step_specialty.html", context, status=form_status(form))


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
            return already_registered(request)
        except LinkInvalid:
            return link_invalid(request)
        except OnboardingError as error:
            messages.error(request, str(error))
            return to_next_step(invitation)
        # The session stays bound to the (now used) invitation so that another tab of this
        # browser gets "already complete" rather than "link no longer valid"; that page
        # unbinds it.
        return redirect("onboarding:done")
    context = wizard_context(invitation, Step.TERMS) | {"form": form}
    return render(request, "onboarding/step_terms.html", context, status=form_status(form))


@require_GET
def done(request: HttpRequest) -> HttpResponse:
    return render(request, "onboarding/done.html")
