"""Helpers for the console's tests: its URLs, and logging a client in."""

from typing import Any

from django.test import Client
from django.urls import reverse


def console_url(name: str = "index", *args: Any) -> str:
    return reverse(f"console:{name}", args=args)


def page_url(model: type, view: str = "changelist", *args: Any) -> str:
    """A model's console page: its list, or with an id its detail ("change") page."""
    opts = model._meta  # type: ignore[attr-defined]
    return reverse(f"console:{opts.app_label}_{opts.model_name}_{view}", args=args)


def logged_in(user: Any, **client_options: Any) -> Client:
    client = Client(**client_options)
    client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
    return client
