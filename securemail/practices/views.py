"""The practice's pages, for its user manager (thin: access → service → render)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from securemail.accounts.models import User
from securemail.practices import access, services
from securemail.practices.forms import PracticeSettingsForm


@login_required
@require_http_methods(["GET", "POST"])
def practice_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
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
