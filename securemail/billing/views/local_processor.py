"""The built-in test processor's own pages (PAYMENT_PROCESSOR=test only, else 404): the
card page of a checkout, the card update page, and controls to make a renewal happen now
or fail. Stripe's hosted pages stand here in production."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from securemail.accounts.models import User
from securemail.billing import services
from securemail.billing.forms import TestCardForm, TestControlForm
from securemail.billing.models import LocalSubscription, Subscription
from securemail.billing.plans import plan, price
from securemail.billing.processors import processor
from securemail.billing.processors.local import CardRefused, LocalProcessor, TestCard


def _local() -> LocalProcessor:
    local = processor()
    if not isinstance(local, LocalProcessor):
        raise Http404
    return local


def only_with_test_processor(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.PAYMENT_PROCESSOR != "test":
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _card(form: TestCardForm) -> TestCard:
    month, year = form.expiry_parts()
    return TestCard(
        number=form.cleaned_data["number"],
        exp_month=month,
        exp_year=year,
        cvc=form.cleaned_data["cvc"].strip(),
    )


@only_with_test_processor
@require_http_methods(["GET", "POST"])
def card_page(request: HttpRequest, checkout_id: str) -> HttpResponse:
    """The card page of one checkout (its unguessable id is the capability, as Stripe's)."""
    local = _local()
    checkout = local.checkout_page(checkout_id)
    if checkout is None:
        raise Http404
    the_plan = plan(checkout.plan)
    form = TestCardForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            return HttpResponseRedirect(local.pay(checkout_id, _card(form)))
        except CardRefused as refusal:
            form.add_error(None, str(refusal))
    if form.is_bound and form.errors:
        status = 402 if form.non_field_errors() else 400
    context = {
        "form": form,
        "checkout": checkout,
        "plan": the_plan,
        "price": price(the_plan.cents),
    }
    return render(request, "billing/test_processor/checkout.html", context, status=status)


@only_with_test_processor
@require_http_methods(["GET", "POST"])
def card_update_page(request: HttpRequest, customer_id: str) -> HttpResponse:
    """Replace the card of a customer's subscriptions (Stripe's Billing Portal stands here)."""
    local = _local()
    if not LocalSubscription.objects.filter(customer_id=customer_id).exists():
        raise Http404
    back = request.GET.get("return", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={settings.SECUREMAIL_BASE_URL.split("://", 1)[-1].split("/")[0]}
    ):
        back = settings.SECUREMAIL_BASE_URL + "/billing/"
    form = TestCardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            local.update_card(customer_id, _card(form))
        except CardRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return HttpResponseRedirect(back)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request, "billing/test_processor/card.html", {"form": form, "back": back}, status=status
    )


@only_with_test_processor
@login_required
@require_http_methods(["GET", "POST"])
def controls_page(request: HttpRequest) -> HttpResponse:
    """For trying renewals out: the plans this person pays for, each with "renew now" and
    "make the next renewal fail"."""
    user = request.user
    assert isinstance(user, User)
    local = _local()
    mine = Subscription.objects.filter(
        buyer=user, status=Subscription.Status.ACTIVE
    ).select_related("member")
    form = TestControlForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            context = {"plans": mine, "form": form}
            return render(request, "billing/test_processor/controls.html", context, status=400)
        sub = mine.filter(pk=form.cleaned_data["plan"]).first()
        if sub is None:
            raise Http404
        if form.cleaned_data["action"] == "fail":
            local.fail_next_renewal(sub.processor_subscription_id)
            messages.success(request, "The next renewal of that plan will be declined.")
        else:
            local.end_period_now(sub.processor_subscription_id)
            Subscription.objects.filter(pk=sub.pk).update(current_period_end=timezone.now())
            services.renew_due_plans()
            messages.success(request, "The renewal ran.")
        return redirect("billing:test_controls")
    return render(request, "billing/test_processor/controls.html", {"plans": mine})
