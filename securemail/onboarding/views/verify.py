"""The verify step: one URL sends a code (by the chosen channel), the step's own URL
checks the code typed."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from securemail.core.phones import masked_phone
from securemail.onboarding import access, services
from securemail.onboarding.errors import CodeRefused, OnboardingError, TooManyRequests
from securemail.onboarding.forms import CodeForm, SendCodeForm
from securemail.onboarding.models import Invitation, Step, WizardState
from securemail.onboarding.views.common import (
    form_status,
    to_next_step,
    wizard_context,
    wizard_view,
)


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
            if isinstance(error, TooManyRequests):
                return _verify_page(request, invitation, code_form, status=429)
        else:
            messages.success(request, "Your phone is verified.")
            return to_next_step(invitation)
    return _verify_page(request, invitation, code_form, status=form_status(code_form))


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
        status = 429 if isinstance(error, TooManyRequests) else 400
        return _verify_page(request, invitation, CodeForm(), status=status)
    messages.success(
        request, f"We sent a new code to {sent.shown_destination}. Earlier codes no longer work."
    )
    return redirect("onboarding:step", step=Step.VERIFY)


def _verify_page(
    request: HttpRequest, invitation: Invitation, code_form: CodeForm, *, status: int
) -> HttpResponse:
    state = WizardState.load(invitation)
    context = wizard_context(invitation, Step.VERIFY) | {
        "code_form": code_form,
        "code_sent": access.waiting_code(invitation),
        "is_landline": state.is_landline,
        "masked_phone": masked_phone(state.phone or ""),
    }
    return render(request, "onboarding/step_verify.html", context, status=status)
