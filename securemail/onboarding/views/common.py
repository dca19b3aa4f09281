"""What the registration views share: the session's binding to an invitation, the wizard
decorator (no skipping ahead), the step's header, and the two dead-end pages."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from securemail.onboarding import access
from securemail.onboarding.errors import AlreadyRegistered, LinkInvalid
from securemail.onboarding.models import Invitation, Step, WizardState

SESSION_KEY = "onboarding.invitation"

WizardView = Callable[[HttpRequest, Invitation], HttpResponse]


def link_invalid(
    request: HttpRequest, token: str | None = None, *, error: str = "", status: int = 404
) -> HttpResponse:
    """The one "no longer valid" page. For a link we sent (used or expired) it offers a
    one-button fresh link to the invited address; otherwise the form to type the address."""
    context: dict[str, Any] = {"resend_error": error}
    if token is not None and access.invited_address_for_link(token) is not None:
        context["resend_url"] = reverse("onboarding:resend_link")
        context["resend_fields"] = {"token": token}
    return render(request, "onboarding/link_invalid.html", context, status=status)


def already_registered(request: HttpRequest) -> HttpResponse:
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
                return link_invalid(request)
            try:
                invitation = access.invitation_in_progress(invitation_id)
            except AlreadyRegistered:
                return already_registered(request)
            except LinkInvalid:
                request.session.pop(SESSION_KEY, None)
                return link_invalid(request)
            if step is not None:
                reachable = access.reachable_step(invitation, step)
                if reachable != step:
                    return redirect("onboarding:step", step=reachable)
            return view(request, invitation)

        return wrapper

    return decorator


def wizard_context(invitation: Invitation, step: Step) -> dict[str, Any]:
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


def to_next_step(invitation: Invitation) -> HttpResponse:
    return redirect("onboarding:step", step=access.next_step(invitation))


def form_status(form: Any) -> int:
    return 400 if form.is_bound and form.errors else 200
