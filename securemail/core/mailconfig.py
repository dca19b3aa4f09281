"""Turn `EMAIL_URL` into Django 6.1's `MAILERS` setting."""

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def mailers_from_url(url: str) -> dict[str, dict[str, Any]]:
    """`smtp://user:pass@host:25`, `smtp+tls://…:587` (STARTTLS), `smtps://…:465` (TLS),
    `console://`, `locmem://`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    if scheme == "locmem":
        return {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    if scheme not in {"smtp", "smtp+tls", "smtps", "smtp+ssl"}:
        raise ImproperlyConfigured(f"EMAIL_URL has an unknown scheme: {scheme!r}")
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL needs a host name.")
    use_ssl = scheme in {"smtps", "smtp+ssl"}
    use_tls = scheme == "smtp+tls"
    default_port = 465 if use_ssl else 587 if use_tls else 25
    options: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or default_port,
        "use_tls": use_tls,
        "use_ssl": use_ssl,
        "timeout": int(parse_qs(parts.query).get("timeout", ["20"])[0]),
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return {"default": {"BACKEND": SMTP_BACKEND, "OPTIONS": options}}
