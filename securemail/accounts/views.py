from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from securemail.accounts import access, services
from securemail.accounts.forms import ChoosePasswordForm, LoginForm, PasswordLinkForm, ProfileForm
from securemail.accounts.models import User
from securemail.accounts.security import session
from securemail.core.headers import no_referrer
from securemail.core.http import client_ip


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """The login page. A refused login shows why on the page (200, as Django's own login
    view answers); a rate-limited one answers 429."""
    next_url = _next_url(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        device = session.device_cookie(request)
        try:
            user = services.log_in(
                email=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                client_ip=client_ip(request),
                device=device,
            )
        except services.TooManyRequests as error:
            form.add_error(None, str(error))
            status = 429
        except services.LoginRefused as error:
            form.add_error(None, str(error))
        else:
            if access.second_step_needed(user):
                session.begin_second_step(
                    request,
                    user=user,
                    next_url=next_url,
                    known_browser=services.is_known_browser(user=user, device=device),
                )
                return redirect("accounts:second_step")
            auth_login(request, user, backend="securemail.accounts.backends.EmailBackend")
            response = redirect(next_url)
            session.keep_browser_known(request, response, user)
            return response
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "accounts/login.html", context, status=status)


def _next_url(request: HttpRequest) -> str:
    """Where to go after logging in: `next` when it stays on this site, else the inbox."""
    wanted = request.POST.get("next") or request.GET.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


class LogoutView(auth_views.LogoutView):
    pass


@no_referrer
@require_http_methods(["GET", "POST"])
def password_link(request: HttpRequest) -> HttpResponse:
    """Ask for a fresh set-password link. Same answer whether or not the address exists."""
    form = PasswordLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_password_link(
                email=form.cleaned_data["email"], client_ip=client_ip(request)
            )
        except services.TooManyRequests as error:
            form.add_error(None, str(error))
            return render(request, "accounts/password_link.html", {"form": form}, status=429)
        return redirect("accounts:password_link_sent")
    return render(request, "accounts/password_link.html", {"form": form})


def password_link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_link_sent.html")


@no_referrer
@require_POST
def password_link_again(request: HttpRequest) -> HttpResponse:
    """A fresh set-password link to the address an expired one was sent to, never shown.
    The same answer whether or not anything was sent."""
    uidb64, token = request.POST.get("uidb64", ""), request.POST.get("token", "")
    try:
        services.request_password_link_again(
            uidb64=uidb64, token=token, client_ip=client_ip(request)
        )
    except services.TooManyRequests as error:
        return _link_invalid(request, uidb64, token, error=str(error), status=429)
    return render(request, "accounts/password_link_sent.html", {"to_link_address": True})


# The session keeps the id of the link a browser opened; its form's URL says this instead of
# the token, so the token leaves the address bar (and history) before anything is typed.
SESSION_KEY = "accounts.password_link"
FORM_SLUG = "set-password"


@sensitive_post_parameters("new_password1", "new_password2")
@no_referrer
@require_http_methods(["GET", "POST"])
def set_password(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The emailed set-password link. Opening it keeps the link in this browser's session
    and shows the form at a URL without the token; only the POST that sets the password
    spends the link (mail scanners only GET). A bad link is a 404, a refused password a
    400, too many opened from one address a 429."""
    try:
        services.spend_set_password_link_opening(client_ip=client_ip(request))
    except services.TooManyRequests as error:
        return render(request, "too_many_requests.html", {"message": str(error)}, status=429)
    if token != FORM_SLUG:
        link = access.password_link(uidb64=uidb64, token=token)
        if link is None or not access.is_usable(link):
            return _link_invalid(
                request, uidb64, token, used=link is not None and link.used_at is not None
            )
        request.session[SESSION_KEY] = link.pk
        return redirect("accounts:set_password", uidb64=uidb64, token=FORM_SLUG)
    link = access.password_link_by_id(link_id=request.session.get(SESSION_KEY), uidb64=uidb64)
    if link is None or not access.is_usable(link):
        return _link_invalid(request, used=link is not None and link.used_at is not None)
    form = ChoosePasswordForm(link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.set_password_with_link(
                link=link, password=form.cleaned_data["new_password1"]
            )
        except services.PasswordLinkInvalid as error:
            return _link_invalid(request, used=isinstance(error, services.PasswordLinkUsed))
        request.session.pop(SESSION_KEY, None)
        if request.user.is_authenticated and request.user.pk != user.pk:
            # Someone else is logged in in this browser: the login page would send the
            # newcomer to their inbox. Log them out, so the newcomer can log in.
            logout(request)
        done = (
            "Log in to open the console." if user.is_operator else "Log in to read your messages."
        )
        messages.success(request, f"Your password is set. {done}")
        return redirect("accounts:login")
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request, "accounts/set_password.html", {"form": form, "validlink": True}, status=status
    )


def _link_invalid(
    request: HttpRequest,
    uidb64: str = "",
    token: str = "",
    *,
    used: bool = False,
    error: str = "",
    status: int = 404,
) -> HttpResponse:
    """The "no longer valid" page (404, like a bad registration link). For a genuine link
    that expired it offers a one-button fresh link to the address it was sent to; for any
    other, the form to type the address; for a used one it says so."""
    context: dict[str, Any] = {"validlink": False, "already_used": used}
    if error:
        context["resend_error"] = error
    if access.user_of_expired_set_password_link(uidb64=uidb64, token=token) is not None:
        context["resend_url"] = reverse("accounts:password_link_again")
        context["resend_fields"] = {"uidb64": uidb64, "token": token}
    return render(request, "accounts/set_password.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(
                user=user,
                changes={name: form.cleaned_data[name] for name in services.PROFILE_FIELDS},
            )
        except services.AccountError as error:
            # The phone changed since the form checked it (another tab).
            user.refresh_from_db()
            form.add_error("notify_by", str(error))
        else:
            messages.success(request, "Your profile was saved.")
            return redirect("accounts:profile")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/profile.html", {"form": form}, status=status)
