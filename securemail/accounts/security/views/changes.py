"""The password, the login address and the cell phone (each after a recent login)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from securemail.accounts.security import changes
from securemail.accounts.security.forms import (
    NewEmailForm,
    NewPasswordForm,
    NewPhoneForm,
    SetupCodeForm,
)
from securemail.accounts.security.reauth import recent_login_required
from securemail.accounts.security.views.common import (
    NEW_PHONE_KEY,
    acting_user,
)
from securemail.accounts.services import TooManyRequests
from securemail.core.limits import limits
from securemail.core.phones import masked_phone

# --- password, email address, cell phone ---------------------------------------------------


@login_required
@recent_login_required()
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
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
    user = acting_user(request)
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
    user = acting_user(request)
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
    user = acting_user(request)
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
