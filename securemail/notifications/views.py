"""The local mail catcher's pages (DEBUG only): every email and text the product sent."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from securemail.notifications import catcher


def _require_catcher() -> None:
    if not settings.SECUREMAIL_CATCHER_ENABLED:
        raise Http404


def mail_list(request: HttpRequest) -> HttpResponse:
    _require_catcher()
    mails = catcher.list_caught(settings.SECUREMAIL_CATCHER_DIR)
    return render(request, "notifications/mail_list.html", {"mails": mails})


def mail_detail(request: HttpRequest, name: str) -> HttpResponse:
    _require_catcher()
    mail = catcher.get_caught(settings.SECUREMAIL_CATCHER_DIR, name)
    if mail is None:
        raise Http404
    return render(request, "notifications/mail_detail.html", {"mail": mail})
