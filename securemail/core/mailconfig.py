"""Turn `EMAIL_URL` into Django 6.1's `MAILERS` setting."""

import ipaddress
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def mailers_from_url(url: str) -> dict[str, dict[str, Any]]:
    """`smtp+tls://user:pass@host:587` (STARTTLS; `smtp://` on port 587 too), `smtps://…:465`
    (TLS), `smtp://host:25`, `console://`, `locmem://`.

    A password never crosses the network in the clear: credentials over plain `smtp://` on
    any port but 587 are refused unless the host is loopback."""
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
    # Port 587 is the submission port: STARTTLS there is the norm, whatever the scheme says.
    use_tls = scheme == "smtp+tls" or (scheme == "smtp" and parts.port == 587)
    if parts.username and not (use_ssl or use_tls or _is_loopback(parts.hostname)):
        raise ImproperlyConfigured(
            "EMAIL_URL would send the mail server's user name and password unencrypted: use "
            "smtp+tls:// (STARTTLS, port 587) or smtps:// (TLS, port 465)."
        )
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


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
