"""The second step of a login, passkey ceremonies at login, and re-authentication."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from securemail.accounts import access
from securemail.accounts.models import TwoStepMethod, User
from securemail.accounts.security import session, signin
from securemail.accounts.security.forms import (
    CodeForm,
    PasswordForm,
)
from securemail.accounts.security.reauth import safe_next
from securemail.accounts.security.views.common import (
    acting_user,
    json_body,
    json_error,
    second_step_context,
)
from securemail.accounts.services import TooManyRequests
from securemail.core.http import client_ip

# --- the second step of a login ---------------------------------------------------------


def _no_pending(request: HttpRequest) -> HttpResponse:
    messages.error(request, "Log in first: enter your email address and password.")
    return redirect("accounts:login")


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def second_step(request: HttpRequest) -> HttpResponse:
    """The second step of a login: only for this session's login that got the password
    right (anything else goes back to the login page)."""
    pending = session.pending_second_step(request)
    if pending is None:
        return _no_pending(request)
    user = pending.user
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                signin.check_second_step(
                    user=user,
                    method=form.cleaned_data["method"],
                    code=form.cleaned_data["code"],
                    client_ip=client_ip(request),
                    known_browser=pending.known_browser,
                )
            except TooManyRequests as error:
                form.add_error(None, str(error))
                status = 429
            except signin.SecondStepRefused as error:
                if error.locked:
                    session.end_second_step(request)
                    messages.error(request, str(error))
                    return redirect("accounts:login")
                form.add_error("code", str(error))
            else:
                session.finish_login(request, user)
                response = redirect(pending.next_url)
                session.keep_browser_known(request, response, user)
                return response
    method = request.POST.get("method") or request.GET.get("method", "")
    context = second_step_context(
        user,
        method=method,
        form=form if form.is_bound else None,
        purpose=session.Purpose.SECOND_STEP,
        text_url=reverse("accounts:second_step_text"),
        action=reverse("accounts:second_step"),
    )
    return render(request, "accounts/second_step.html", context, status=status)


@require_POST
def second_step_text(request: HttpRequest) -> HttpResponse:
    """Text the second step's code to the verified cell phone."""
    pending = session.pending_second_step(request)
    if pending is None:
        return _no_pending(request)
    try:
        shown = signin.send_sign_in_code(user=pending.user)
    except (TooManyRequests, signin.SecondStepRefused) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"We sent a code to {shown}.")
    return redirect(f"{reverse('accounts:second_step')}?method={TwoStepMethod.TEXT}")


# --- passkeys at login and re-authentication (JSON) ---------------------------------------


@require_POST
def passkey_options(request: HttpRequest) -> JsonResponse:
    """The challenge for navigator.credentials.get(): for a sign-in without a password, the
    pending login's second step, or a re-authentication (`purpose`)."""
    purpose = request.POST.get("purpose", "")
    user: User | None
    if purpose == session.Purpose.SIGN_IN:
        user = None
    elif purpose == session.Purpose.SECOND_STEP:
        pending = session.pending_second_step(request)
        if pending is None:
            return json_error("Log in first: enter your email address and password.")
        user = pending.user
    elif purpose == session.Purpose.REAUTHENTICATE and request.user.is_authenticated:
        user = acting_user(request)
    else:
        return json_error("Reload the page and try again.")
    options, challenge = signin.passkey_options_for(user)
    session.remember_challenge(
        request, challenge=challenge, purpose=purpose, user_id=user.pk if user else None
    )
    return JsonResponse(options)


@require_POST
def passkey_verify(request: HttpRequest) -> JsonResponse:
    """The browser's answer to the challenge: logs in, finishes the second step, or
    confirms it's you. {"redirect": url} on success, {"error": message} otherwise."""
    body = json_body(request)
    if body is None:
        return json_error("That passkey answer could not be read. Try again.")
    purpose = str(body.get("purpose", ""))
    credential = body.get("credential")
    ip = client_ip(request)
    try:
        if purpose == session.Purpose.SIGN_IN:
            challenge = session.take_challenge(request, purpose=purpose, user_id=None)
            if challenge is None:
                return json_error("That took too long. Try again.")
            user = signin.sign_in_with_passkey(
                response=credential, challenge=challenge, client_ip=ip
            )
            session.finish_login(request, user)
            return JsonResponse(
                {"redirect": safe_next(str(body.get("next", "")), reverse("messaging:inbox"))}
            )
        if purpose == session.Purpose.SECOND_STEP:
            pending = session.pending_second_step(request)
            if pending is None:
                return json_error("Log in first: enter your email address and password.")
            challenge = session.take_challenge(request, purpose=purpose, user_id=pending.user.pk)
            if challenge is None:
                return json_error("That took too long. Try again.")
            signin.second_step_with_passkey(
                user=pending.user, response=credential, challenge=challenge, client_ip=ip
            )
            session.finish_login(request, pending.user)
            done = JsonResponse({"redirect": pending.next_url})
            session.keep_browser_known(request, done, pending.user)
            return done
        if purpose == session.Purpose.REAUTHENTICATE and request.user.is_authenticated:
            user = acting_user(request)
            challenge = session.take_challenge(request, purpose=purpose, user_id=user.pk)
            if challenge is None:
                return json_error("That took too long. Try again.")
            signin.reauthenticate_with_passkey(
                user=user, response=credential, challenge=challenge, client_ip=ip
            )
            session.mark_proved(request)
            return JsonResponse(
                {"redirect": safe_next(str(body.get("next", "")), reverse("accounts:security"))}
            )
    except TooManyRequests as error:
        return json_error(str(error), status=429)
    except signin.PasskeyRefused as error:
        if error.locked:
            session.end_second_step(request)
            if request.user.is_authenticated:
                logout(request)
            return json_error(str(error), redirect=reverse("accounts:login"))
        return json_error(str(error))
    return json_error("Reload the page and try again.")


# --- re-authentication ----------------------------------------------------------------------


@login_required
@sensitive_post_parameters("password", "code")
@require_http_methods(["GET", "POST"])
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """Confirm it's you (the password, or the second step when two-step login is on),
    then back to `next`."""
    user = acting_user(request)
    next_url = safe_next(
        request.POST.get("next") or request.GET.get("next", ""), reverse("accounts:security")
    )
    again = (request.POST.get("again") or request.GET.get("again")) == "1"
    two_step = access.second_step_needed(user)
    form: CodeForm | PasswordForm = (CodeForm if two_step else PasswordForm)(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                signin.reauthenticate(
                    user=user,
                    client_ip=client_ip(request),
                    password=form.cleaned_data.get("password", ""),
                    method=form.cleaned_data.get("method", ""),
                    code=form.cleaned_data.get("code", ""),
                )
            except TooManyRequests as error:
                form.add_error(None, str(error))
                status = 429
            except signin.SecondStepRefused as error:
                if error.locked:
                    logout(request)
                    messages.error(request, str(error))
                    return redirect("accounts:login")
                form.add_error("code" if two_step else "password", str(error))
            else:
                session.mark_proved(request)
                if again:
                    messages.info(request, "Thank you. Now do what you started once more.")
                return redirect(next_url)
    context: dict[str, Any] = {"next": next_url, "again": again, "two_step": two_step}
    if two_step:
        assert isinstance(form, CodeForm)
        method = request.POST.get("method") or request.GET.get("method", "")
        context |= second_step_context(
            user,
            method=method,
            form=form if form.is_bound else None,
            purpose=session.Purpose.REAUTHENTICATE,
            text_url=reverse("accounts:reauthenticate_text"),
            action=reverse("accounts:reauthenticate"),
        )
    else:
        context["form"] = form
    return render(request, "accounts/reauthenticate.html", context, status=status)


@login_required
@require_POST
def reauthenticate_text(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.POST.get("next", ""), reverse("accounts:security"))
    try:
        shown = signin.send_sign_in_code(user=acting_user(request))
    except (TooManyRequests, signin.SecondStepRefused) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"We sent a code to {shown}.")
    query = f"?next={next_url}&method={TwoStepMethod.TEXT}"
    return redirect(f"{reverse('accounts:reauthenticate')}{query}")
