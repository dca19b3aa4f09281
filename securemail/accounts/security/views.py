"""The security pages: the second step of a login, passkey sign-in, re-authentication,
and the person's own settings (two-step methods, passkeys, recovery codes, password,
email address, cell phone). Thin: parse → flow → session → render or redirect.

Passkey ceremonies are JSON (the browser's WebAuthn API needs a script: static
passkeys.js); everything else is plain forms.
"""

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from securemail.accounts import access
from securemail.accounts.models import TwoStepMethod, User
from securemail.accounts.security import changes, session, setup, signin
from securemail.accounts.security.forms import (
    CodeForm,
    MethodForm,
    NewEmailForm,
    NewPasswordForm,
    NewPhoneForm,
    PasskeyNameForm,
    PasswordForm,
    SetupCodeForm,
)
from securemail.accounts.security.reauth import recent_login_required, safe_next
from securemail.accounts.services import TooManyRequests
from securemail.core.http import client_ip
from securemail.core.limits import limits
from securemail.core.phones import masked_phone

# The recovery codes made while adding a first passkey (a JSON exchange), shown once by
# the next page and gone from the session then.
NEW_CODES_KEY = "_securemail_new_recovery_codes"
# The new cell phone waiting for its code.
NEW_PHONE_KEY = "_securemail_new_phone"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _method_labels(methods: list[str]) -> list[tuple[str, str]]:
    return [(method, TwoStepMethod(method).label) for method in methods]


def _second_step_context(
    user: User, *, method: str, form: CodeForm | None, purpose: str, text_url: str, action: str
) -> dict[str, Any]:
    methods = access.second_step_methods(user)
    if method not in [*methods, signin.RECOVERY]:
        method = methods[0] if methods else signin.RECOVERY
    return {
        "methods": _method_labels(methods),
        "method": method,
        "form": form or CodeForm(initial={"method": method}),
        "purpose": purpose,
        "text_url": text_url,
        "action": action,
        "phone": masked_phone(user.phone) if user.phone else "",
    }


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
                return redirect(pending.next_url)
    method = request.POST.get("method") or request.GET.get("method", "")
    context = _second_step_context(
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


def _json_error(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


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
            return _json_error("Log in first: enter your email address and password.")
        user = pending.user
    elif purpose == session.Purpose.REAUTHENTICATE and request.user.is_authenticated:
        user = _user(request)
    else:
        return _json_error("Reload the page and try again.")
    options, challenge = signin.passkey_options_for(user)
    session.remember_challenge(
        request, challenge=challenge, purpose=purpose, user_id=user.pk if user else None
    )
    return JsonResponse(options)


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


@require_POST
def passkey_verify(request: HttpRequest) -> JsonResponse:
    """The browser's answer to the challenge: logs in, finishes the second step, or
    confirms it's you. {"redirect": url} on success, {"error": message} otherwise."""
    body = _json_body(request)
    if body is None:
        return _json_error("That passkey answer could not be read. Try again.")
    purpose = str(body.get("purpose", ""))
    credential = body.get("credential")
    ip = client_ip(request)
    try:
        if purpose == session.Purpose.SIGN_IN:
            challenge = session.take_challenge(request, purpose=purpose, user_id=None)
            if challenge is None:
                return _json_error("That took too long. Try again.")
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
                return _json_error("Log in first: enter your email address and password.")
            challenge = session.take_challenge(request, purpose=purpose, user_id=pending.user.pk)
            if challenge is None:
                return _json_error("That took too long. Try again.")
            signin.second_step_with_passkey(
                user=pending.user, response=credential, challenge=challenge, client_ip=ip
            )
            session.finish_login(request, pending.user)
            return JsonResponse({"redirect": pending.next_url})
        if purpose == session.Purpose.REAUTHENTICATE and request.user.is_authenticated:
            user = _user(request)
            challenge = session.take_challenge(request, purpose=purpose, user_id=user.pk)
            if challenge is None:
                return _json_error("That took too long. Try again.")
            signin.reauthenticate_with_passkey(
                user=user, response=credential, challenge=challenge, client_ip=ip
            )
            session.mark_proved(request)
            return JsonResponse(
                {"redirect": safe_next(str(body.get("next", "")), reverse("accounts:security"))}
            )
    except TooManyRequests as error:
        return _json_error(str(error), status=429)
    except signin.PasskeyRefused as error:
        if error.locked:
            session.end_second_step(request)
            if request.user.is_authenticated:
                logout(request)
            return _json_error(str(error), redirect=reverse("accounts:login"))
        return _json_error(str(error))
    return _json_error("Reload the page and try again.")


# --- re-authentication ----------------------------------------------------------------------


@login_required
@sensitive_post_parameters("password", "code")
@require_http_methods(["GET", "POST"])
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """Confirm it's you (the password, or the second step when two-step login is on),
    then back to `next`."""
    user = _user(request)
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
        context |= _second_step_context(
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
        shown = signin.send_sign_in_code(user=_user(request))
    except (TooManyRequests, signin.SecondStepRefused) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"We sent a code to {shown}.")
    query = f"?next={next_url}&method={TwoStepMethod.TEXT}"
    return redirect(f"{reverse('accounts:reauthenticate')}{query}")


# --- the person's security settings -----------------------------------------------------


def _security_context(user: User) -> dict[str, Any]:
    two_step = access.two_step_of(user)
    methods = access.second_step_methods(user)
    return {
        "two_step_on": bool(two_step and two_step.is_on),
        "chosen": two_step.method if two_step else "",
        "methods": _method_labels(methods),
        "app": access.confirmed_app(user),
        "text_on": bool(two_step and two_step.text_enabled),
        "passkeys": access.passkeys_of(user),
        "recovery_left": access.recovery_codes_left(user),
        "required": access.two_step_required(user),
        "must_set_up": access.must_set_up_two_step(user),
        "phone": masked_phone(user.phone) if user.phone and user.phone_verified_at else "",
        "phone_is_cell": user.phone_type == User.PhoneType.CELL,
        "name_form": PasskeyNameForm(),
    }


@login_required
@require_http_methods(["GET"])
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/security/overview.html", _security_context(_user(request)))


def _show_codes(request: HttpRequest, codes: list[str], *, turned_on: bool) -> HttpResponse:
    return render(
        request,
        "accounts/security/recovery_codes.html",
        {"codes": codes, "turned_on": turned_on},
    )


def _refused(request: HttpRequest, error: Exception) -> HttpResponse:
    context = _security_context(_user(request)) | {"error": str(error)}
    return render(request, "accounts/security/overview.html", context, status=400)


@login_required
@recent_login_required()
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def app_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the key), type a first code."""
    user = _user(request)
    try:
        started = setup.start_app(user=user)
    except setup.SetupError as error:
        return _refused(request, error)
    form = SetupCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                codes = setup.confirm_app(user=user, code=form.cleaned_data["code"])
            except setup.SetupError as error:
                form.add_error("code", str(error))
            else:
                if codes:
                    return _show_codes(request, codes, turned_on=True)
                messages.success(request, "Your authenticator app is set up.")
                return redirect("accounts:security")
    return render(
        request, "accounts/security/app.html", {"setup": started, "form": form}, status=status
    )


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def app_remove(request: HttpRequest) -> HttpResponse:
    try:
        setup.remove_app(user=_user(request))
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "The authenticator app was removed.")
    return redirect("accounts:security")


@login_required
@recent_login_required()
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def text_setup(request: HttpRequest) -> HttpResponse:
    """Turn on codes by text message: a first code to the verified cell phone."""
    user = _user(request)
    form = SetupCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                codes = setup.confirm_text(user=user, code=form.cleaned_data["code"])
            except setup.SetupError as error:
                form.add_error("code", str(error))
            else:
                if codes:
                    return _show_codes(request, codes, turned_on=True)
                messages.success(request, "Codes by text message are on.")
                return redirect("accounts:security")
    context = {"form": form, "phone": masked_phone(user.phone) if user.phone else ""}
    return render(request, "accounts/security/text.html", context, status=status)


@login_required
@recent_login_required(return_to="accounts:text_setup")
@require_POST
def text_send(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        setup.send_text_setup_code(user=user)
    except setup.SetupError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"We sent a code to {masked_phone(user.phone)}.")
    return redirect("accounts:text_setup")


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def text_remove(request: HttpRequest) -> HttpResponse:
    try:
        setup.turn_off_text(user=_user(request))
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "Codes by text message are off.")
    return redirect("accounts:security")


def _needs_reauthentication() -> JsonResponse:
    return _json_error(
        "Confirm it's you first.",
        status=403,
        redirect=f"{reverse('accounts:reauthenticate')}?next={reverse('accounts:security')}",
    )


@login_required
@require_POST
def passkey_add_options(request: HttpRequest) -> JsonResponse:
    """The challenge for navigator.credentials.create() (after a recent login only)."""
    if not session.recently_proved(request):
        return _needs_reauthentication()
    user = _user(request)
    options, challenge = setup.passkey_registration(user=user)
    session.remember_challenge(
        request, challenge=challenge, purpose=session.Purpose.REGISTER, user_id=user.pk
    )
    return JsonResponse(options)


@login_required
@require_POST
def passkey_add(request: HttpRequest) -> JsonResponse:
    if not session.recently_proved(request):
        return _needs_reauthentication()
    user = _user(request)
    body = _json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return _json_error("That passkey could not be read. Try again.")
    challenge = session.take_challenge(request, purpose=session.Purpose.REGISTER, user_id=user.pk)
    if challenge is None:
        return _json_error("That took too long. Try again.")
    name = PasskeyNameForm({"name": str(body.get("name", ""))[:200]})
    try:
        passkey, codes = setup.add_passkey(
            user=user,
            response=body["credential"],
            challenge=challenge,
            name=name.cleaned_data["name"] if name.is_valid() else "",
        )
    except setup.SetupError as error:
        return _json_error(str(error))
    if codes:
        request.session[NEW_CODES_KEY] = codes
        return JsonResponse({"redirect": reverse("accounts:new_recovery_codes")})
    messages.success(request, f"The passkey “{passkey.name}” was added.")
    return JsonResponse({"redirect": reverse("accounts:security")})


@login_required
@require_http_methods(["GET"])
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes made when a first passkey turned two-step login on, once."""
    codes = request.session.pop(NEW_CODES_KEY, None)
    if not isinstance(codes, list):
        return redirect("accounts:security")
    return _show_codes(request, [str(c) for c in codes], turned_on=True)


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    try:
        setup.remove_passkey(user=_user(request), passkey_id=passkey_id)
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "The passkey was removed.")
    return redirect("accounts:security")


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def method_choose(request: HttpRequest) -> HttpResponse:
    form = MethodForm(request.POST)
    if not form.is_valid():
        return _refused(request, setup.SetupError("Choose one of your methods."))
    try:
        setup.choose_method(user=_user(request), method=form.cleaned_data["method"])
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "Your second step's method was changed.")
    return redirect("accounts:security")


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    try:
        codes = setup.regenerate_recovery_codes(user=_user(request))
    except setup.SetupError as error:
        return _refused(request, error)
    return _show_codes(request, codes, turned_on=False)


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def turn_off(request: HttpRequest) -> HttpResponse:
    try:
        setup.turn_off(user=_user(request))
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "Two-step login is off.")
    return redirect("accounts:security")


# --- password, email address, cell phone ---------------------------------------------------


@login_required
@recent_login_required()
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = NewPasswordForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            changes.change_password(user=user, password=form.cleaned_data["new_password1"])
        except ValidationError as error:
            form.add_error("new_password1", error)
        else:
            # This browser stays logged in; every other one is logged out.
            update_session_auth_hash(request, user)
            messages.success(request, "Your password was changed.")
            return redirect("accounts:security")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/security/password.html", {"form": form}, status=status)


@login_required
@recent_login_required()
@require_http_methods(["GET", "POST"])
def change_email(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = NewEmailForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            new_email = form.cleaned_data["email"]
            try:
                changes.request_email_change(user=user, new_email=new_email)
            except TooManyRequests as error:
                form.add_error("email", str(error))
                status = 429
            except changes.ChangeRefused as error:
                form.add_error("email", str(error))
            else:
                messages.success(
                    request,
                    f"We sent a link to {new_email.lower()}. Your address changes when you "
                    "open it and confirm.",
                )
                return redirect("accounts:security")
    return render(request, "accounts/security/email.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a page with a button (mail scanners open links; only the POST
    changes the address)."""
    change = changes.pending_email_change(token)
    if change is None:
        return render(request, "accounts/security/email_link_invalid.html", status=404)
    if request.method == "POST":
        try:
            user = changes.confirm_email_change(token=token)
        except changes.ChangeRefused as error:
            return render(
                request,
                "accounts/security/email_link_invalid.html",
                {"error": str(error)},
                status=404,
            )
        if request.user.is_authenticated and request.user.pk == user.pk:
            messages.success(request, f"Your login address is now {user.email}.")
            return redirect("accounts:security")
        messages.success(request, f"Your login address is now {user.email}. Log in with it.")
        return redirect("accounts:login")
    return render(request, "accounts/security/email_confirm.html", {"new_email": change.new_email})


@login_required
@recent_login_required()
@require_http_methods(["GET", "POST"])
def change_phone(request: HttpRequest) -> HttpResponse:
    """A new cell phone: its number, then (confirm_phone) the code texted to it."""
    user = _user(request)
    form = NewPhoneForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            phone = form.cleaned_data["phone"]
            try:
                shown = changes.send_new_phone_code(user=user, phone=phone)
            except TooManyRequests as error:
                form.add_error("phone", str(error))
                status = 429
            except changes.ChangeRefused as error:
                form.add_error("phone", str(error))
            else:
                request.session[NEW_PHONE_KEY] = phone
                messages.success(request, f"We sent a code to {shown}.")
                return redirect("accounts:confirm_phone")
    return render(request, "accounts/security/phone.html", {"form": form}, status=status)


@login_required
@recent_login_required()
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def confirm_phone(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    phone = request.session.get(NEW_PHONE_KEY)
    if not isinstance(phone, str) or not phone:
        return redirect("accounts:change_phone")
    form = SetupCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                changes.confirm_new_phone(user=user, phone=phone, code=form.cleaned_data["code"])
            except changes.ChangeRefused as error:
                form.add_error("code", str(error))
            else:
                request.session.pop(NEW_PHONE_KEY, None)
                messages.success(request, "Your cell phone was changed.")
                return redirect("accounts:security")
    context = {"form": form, "phone": masked_phone(phone), "minutes": limits().code_minutes}
    return render(request, "accounts/security/phone_confirm.html", context, status=status)
