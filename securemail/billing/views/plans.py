"""The person's plan: buy one (monthly or annual), come back from the card page, cancel,
change the card, invoices. Thin: access → service → render or redirect."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from securemail.accounts.models import User
from securemail.accounts.security.reauth import recent_login_required
from securemail.billing import access, entitlements, services
from securemail.billing.errors import (
    PROCESSOR_UNAVAILABLE_MESSAGE,
    AlreadyPaid,
    NotTheBuyer,
    ProcessorUnavailable,
    TooManyPurchases,
)
from securemail.billing.forms import BuyForm
from securemail.billing.models import Subscription
from securemail.billing.plans import plans, price

UNAVAILABLE = PROCESSOR_UNAVAILABLE_MESSAGE


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _plan_context(user: User) -> dict[str, Any]:
    live = access.live_plan(user)
    return {
        "can_have_plan": entitlements.may_have_plan(user),
        "live": live,
        "is_buyer": live is not None and live.buyer_id == user.pk,
        "problem": access.payment_problem(user),
        "plans": [{"plan": p, "price": price(p.cents)} for p in plans()],
        "paid_for_others": Subscription.objects.filter(buyer=user, status__in=access.LIVE)
        .exclude(member=user)
        .select_related("member"),
    }


def _plan_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    context = _plan_context(_user(request)) | {"error": error}
    return render(request, "billing/plan.html", context, status=status)


@login_required
@require_GET
def plan_page(request: HttpRequest) -> HttpResponse:
    return _plan_page(request)


@login_required
@recent_login_required(return_to="billing:plan")
@require_POST
def buy(request: HttpRequest) -> HttpResponse:
    """Buy a plan for oneself: off to the processor's card page. Patients and accounts
    outside a practice are refused by the service (403)."""
    form = BuyForm(request.POST)
    if not form.is_valid():
        return _plan_page(request, error="Choose a plan.", status=400)
    try:
        started = services.start_own_purchase(
            member=_user(request), plan_code=form.cleaned_data["plan"]
        )
    except AlreadyPaid as error:
        return _plan_page(request, error=str(error), status=409)
    except TooManyPurchases as error:
        return _plan_page(request, error=str(error), status=429)
    except ProcessorUnavailable:
        return _plan_page(request, error=UNAVAILABLE, status=503)
    return HttpResponseRedirect(started.url)


@login_required
@require_GET
def checkout_return(request: HttpRequest) -> HttpResponse:
    """Back from the card page. The webhook may have done the work already; either way the
    state is read from the processor now."""
    checkout_id = request.GET.get("checkout", "")[:255]
    try:
        sub = services.confirm_checkout(actor=_user(request), checkout_id=checkout_id)
    except ProcessorUnavailable:
        return _plan_page(request, error=UNAVAILABLE, status=503)
    if sub is None:
        return _plan_page(request, error="That purchase isn't one of yours.", status=404)
    if sub.status == Subscription.Status.ACTIVE:
        if sub.member_id == sub.buyer_id:
            messages.success(request, "Thank you: your paid plan is active.")
        else:
            messages.success(
                request, f"Thank you: {sub.member.display_name}'s paid plan is active."
            )
    else:
        messages.info(request, "The payment isn't confirmed yet. This page shows it once it is.")
    return redirect("billing:plan")


@login_required
@recent_login_required(return_to="billing:plan")
@require_POST
def cancel(request: HttpRequest, subscription_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    sub = access.bought_plan(user, subscription_id)
    try:
        services.cancel_own(actor=user, subscription=sub)
    except NotTheBuyer:
        raise
    except ProcessorUnavailable:
        return _plan_page(request, error=UNAVAILABLE, status=503)
    if sub.current_period_end:
        messages.success(
            request, f"The plan ends on {sub.current_period_end.astimezone(user.zone):%B %-d, %Y}."
        )
    return redirect("billing:plan")


@login_required
@require_POST
def change_card(request: HttpRequest, subscription_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    sub = access.bought_plan(user, subscription_id)
    try:
        url = services.card_update_url(actor=user, subscription=sub)
    except ProcessorUnavailable:
        return _plan_page(request, error=UNAVAILABLE, status=503)
    return HttpResponseRedirect(url)


@login_required
@require_GET
def invoices(request: HttpRequest) -> HttpResponse:
    rows = [
        {"invoice": invoice, "amount": price(invoice.amount_cents)}
        for invoice in access.invoices(_user(request))[:200]
    ]
    return render(request, "billing/invoices.html", {"rows": rows})


@login_required
@require_POST
def email_invoices(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        services.email_invoice_list(actor=user, invoices=list(access.invoices(user)[:200]))
    except TooManyPurchases as error:
        messages.error(request, str(error))
        rows = [
            {"invoice": i, "amount": price(i.amount_cents)} for i in access.invoices(user)[:200]
        ]
        return render(request, "billing/invoices.html", {"rows": rows}, status=429)
    messages.success(request, f"The list is on its way to {user.email}.")
    return redirect("billing:invoices")
