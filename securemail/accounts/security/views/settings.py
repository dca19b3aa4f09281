"""The security page and its actions: two-step methods, passkeys, recovery codes, off."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from securemail.accounts import access
from securemail.accounts.models import User
from securemail.accounts.security import session, setup
from securemail.accounts.security.forms import (
    MethodForm,
    PasskeyNameForm,
    SetupCodeForm,
)
from securemail.accounts.security.reauth import recent_login_required
from securemail.accounts.security.views.common import (
    NEW_CODES_KEY,
    acting_user,
    json_body,
    json_error,
    method_labels,
)
from securemail.core.phones import masked_phone

# --- the person's security settings -----------------------------------------------------


def _security_context(user: User) -> dict[str, Any]:
    two_step = access.two_step_of(user)
    methods = access.second_step_methods(user)
    return {
        "two_step_on": bool(two_step and two_step.is_on),
        "chosen": two_step.method if two_step else "",
        "methods": method_labels(methods),
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
    return render(
        request, "accounts/security/overview.html", _security_context(acting_user(request))
    )


def _show_codes(request: HttpRequest, codes: list[str], *, turned_on: bool) -> HttpResponse:
    return render(
        request,
        "accounts/security/recovery_codes.html",
        {"codes": codes, "turned_on": turned_on},
    )


def _refused(request: HttpRequest, error: Exception) -> HttpResponse:
    context = _security_context(acting_user(request)) | {"error": str(error)}
    return render(request, "accounts/security/overview.html", context, status=400)


@login_required
@recent_login_required()
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def app_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the key), type a first code."""
    user = acting_user(request)
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
        setup.remove_app(user=acting_user(request))
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
    user = acting_user(request)
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
    user = acting_user(request)
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
        setup.turn_off_text(user=acting_user(request))
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "Codes by text message are off.")
    return redirect("accounts:security")


def _needs_reauthentication() -> JsonResponse:
    return json_error(
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
    user = acting_user(request)
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
    user = acting_user(request)
    body = json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return json_error("That passkey could not be read. Try again.")
    challenge = session.take_challenge(request, purpose=session.Purpose.REGISTER, user_id=user.pk)
    if challenge is None:
        return json_error("That took too long. Try again.")
    name = PasskeyNameForm({"name": str(body.get("name", ""))[:200]})
    try:
        passkey, codes = setup.add_passkey(
            user=user,
            response=body["credential"],
            challenge=challenge,
            name=name.cleaned_data["name"] if name.is_valid() else "",
        )
    except setup.SetupError as error:
        return json_error(str(error))
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
        setup.remove_passkey(user=acting_user(request), passkey_id=passkey_id)
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
        setup.choose_method(user=acting_user(request), method=form.cleaned_data["method"])
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "Your second step's method was changed.")
    return redirect("accounts:security")


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    try:
        codes = setup.regenerate_recovery_codes(user=acting_user(request))
    except setup.SetupError as error:
        return _refused(request, error)
    return _show_codes(request, codes, turned_on=False)


@login_required
@recent_login_required(return_to="accounts:security")
@require_POST
def turn_off(request: HttpRequest) -> HttpResponse:
    try:
        setup.turn_off(user=acting_user(request))
    except setup.SetupError as error:
        return _refused(request, error)
    messages.success(request, "Two-step login is off.")
    return redirect("accounts:security")
