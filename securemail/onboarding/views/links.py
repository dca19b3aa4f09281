"""The emailed registration link and fresh links. The link's page only shows; its POST
binds this browser session to the invitation (mail scanners only GET)."""

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from securemail.core.headers import no_referrer
from securemail.core.http import client_ip
from securemail.onboarding import access, services
from securemail.onboarding.errors import LinkInvalid, TooManyRequests
from securemail.onboarding.forms import FreshLinkForm
from securemail.onboarding.views.common import (
    SESSION_KEY,
    form_status,
    link_invalid,
    to_next_step,
)


@no_referrer
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The registration link. GET shows who is waiting; only the POST starts anything.
    Too many opened from one address: a 429 page."""
    try:
        services.spend_join_link(client_ip=client_ip(request))
    except TooManyRequests as error:
        return render(request, "too_many_requests.html", {"message": str(error)}, status=429)
    try:
        invitation = access.open_invitation(token)
    except LinkInvalid:
        return link_invalid(request, token)
    if request.method == "POST":
        if request.user.is_authenticated and request.user.pk != invitation.invitee_id:
            # Someone else is logged in here (a colleague's computer, or the demo's doctor
            # clicking through the mail catcher): the newcomer must not act as them.
            logout(request)
        services.start_registration(invitation=invitation)
        request.session.cycle_key()
        request.session[SESSION_KEY] = invitation.pk
        return to_next_step(invitation)
    services.record_link_shown(invitation=invitation)
    return render(
        request,
        "onboarding/join.html",
        {"invitation": invitation, "inviter": invitation.invited_by},
    )


@no_referrer
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
    return render(request, "onboarding/fresh_link.html", {"form": form}, status=form_status(form))


@no_referrer
@require_POST
def resend_link(request: HttpRequest) -> HttpResponse:
    """The "no longer valid" page's button: a fresh link to the address the old link was
    sent to, never shown. The same answer whether or not anything was sent."""
    token = request.POST.get("token", "")
    try:
        services.request_fresh_link_for(token=token, client_ip=client_ip(request))
    except TooManyRequests as error:
        return link_invalid(request, token, error=str(error), status=429)
    return render(request, "onboarding/fresh_link_resent.html")


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    return render(request, "onboarding/terms.html")
