"""Contacts pages: thin views over securemail.contacts.access and .services."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from securemail.accounts.models import User
from securemail.contacts import access, services
from securemail.contacts.forms import ContactForm, FindForm, SuggestForm, chosen_sort

PAGE_SIZE = 100
# Found contacts shown at once: typing more narrows it.
MAX_FOUND = 200


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def contact_list(request: HttpRequest) -> HttpResponse:
    """GET: every contact, sorted (?sort=email or last_name), a page at a time. POST: the
    contacts a name or address finds (posted, so the name stays out of the address)."""
    user = _user(request)
    context: dict[str, Any] = {
        "deleted_count": access.deleted_count(user),
        "find": "",
        "found": False,
        "more_found": False,
        "page": None,
    }
    if request.method == "POST":
        form = FindForm(request.POST)
        if not form.is_valid():
            context |= {"form": form, "cards": [], "sort": chosen_sort(request.POST.get("sort"))}
            return render(request, "contacts/list.html", context, status=400)
        sort, find = form.cleaned_data["sort"], form.cleaned_data["find"]
        cards = access.contact_cards(user, sort=sort, find=find)
        context |= {
            "form": form,
            "cards": cards[:MAX_FOUND],
            "more_found": len(cards) > MAX_FOUND,
            "sort": sort,
            "find": find,
            "found": True,
        }
        return render(request, "contacts/list.html", context)
    sort = chosen_sort(request.GET.get("sort"))
    page = Paginator(access.contact_cards(user, sort=sort), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context |= {
        "form": FindForm(initial={"sort": sort}),
        "cards": page.object_list,
        "page": page,
        "sort": sort,
    }
    return render(request, "contacts/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def add(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ContactForm(request.POST) if request.method == "POST" else ContactForm()
    if request.method == "POST" and form.is_valid():
        try:
            services.add_contact(
                owner=user, email=form.cleaned_data["email"], details=form.details()
            )
        except services.ContactError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Contact added.")
            return redirect("contacts:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "contacts/form.html", {"form": form, "adding": True}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, contact_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    contact = access.access_contact(user, contact_id)
    card = access.card_of(contact)
    fixed = contact.email if contact.person_id else None
    if request.method == "POST":
        form = ContactForm(request.POST, fixed_email=fixed)
        if form.is_valid():
            try:
                services.change_contact(
                    owner=user, contact=contact, details=form.details(), email=form.new_email()
                )
            except services.ContactError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Contact saved.")
                return redirect("contacts:list")
    else:
        details = card.details
        form = ContactForm(
            initial={
                "name": details.name,
                "email": contact.email,
                "practice": details.practice,
                "phone": card.phone,
                "note": details.note,
            },
            fixed_email=fixed,
        )
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "card": card, "contact": contact, "adding": False}
    return render(request, "contacts/form.html", context, status=status)


@login_required
@require_POST
def delete(request: HttpRequest, contact_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    contact = access.access_contact(user, contact_id)
    services.delete_contact(owner=user, contact=contact)
    messages.success(request, "Contact deleted. You can restore it from Deleted contacts.")
    return redirect("contacts:list")


@login_required
@require_GET
def deleted(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    cards = access.contact_cards(user, deleted=True)
    return render(request, "contacts/deleted.html", {"cards": cards})


@login_required
@require_POST
def restore(request: HttpRequest, contact_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    contact = access.access_contact(user, contact_id, deleted=True)
    try:
        services.restore_contact(owner=user, contact=contact)
    except services.ContactError as error:
        messages.error(request, str(error))
        return redirect("contacts:deleted")
    messages.success(request, "Contact restored.")
    return redirect("contacts:list")


@login_required
@require_POST
def suggest(request: HttpRequest) -> HttpResponse:
    """htmx, as To or Cc is typed in: the contacts that match the address being typed, as
    the options of the field's list box (securemail/static/contact-suggestions.js)."""
    user = _user(request)
    form = SuggestForm(request.POST)
    if not form.is_valid():
        return render(request, "contacts/_suggestions.html", {"cards": []}, status=400)
    field = form.cleaned_data["field"]
    cards = access.suggestions(user, form.fragment())
    return render(request, "contacts/_suggestions.html", {"cards": cards, "field": field})
