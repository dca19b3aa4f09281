from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from securemail.accounts import services
from securemail.accounts.forms import ChoosePasswordForm, LoginForm, PasswordLinkForm, ProfileForm
from securemail.accounts.models import User
from securemail.core import ratelimit


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@require_http_methods(["GET", "POST"])
def password_link(request: HttpRequest) -> HttpResponse:
    """Ask for a fresh set-password link. Same answer whether or not the address exists."""
    form = PasswordLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip = request.META.get("REMOTE_ADDR", "")
        try:
            ratelimit.consume("fresh_link", f"ip:{ip}")
            ratelimit.consume("fresh_link", f"email:{form.cleaned_data['email'].lower()}")
        except ratelimit.RateLimited:
            form.add_error(None, "Too many requests. Wait an hour and try again.")
            return render(request, "accounts/password_link.html", {"form": form}, status=429)
        services.request_password_link(email=form.cleaned_data["email"])
        return redirect("accounts:password_link_sent")
    return render(request, "accounts/password_link.html", {"form": form})


def password_link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_link_sent.html")


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Django's confirm view: the token leaves the URL at once (kept in the session) and only
    the POST that sets the password spends it."""

    form_class = ChoosePasswordForm
    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        if self.request.user.is_authenticated and self.request.user.pk != self.user.pk:
            # Someone else is logged in in this browser: the login page would send the
            # newcomer to their inbox. Log them out, so the newcomer can log in.
            logout(self.request)
        messages.success(self.request, "Your password is set. Log in to read your messages.")
        return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        services.update_profile(user=user, form=form)
        messages.success(request, "Your profile was saved.")
        return redirect("accounts:profile")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/profile.html", {"form": form}, status=status)
