"""Mail configuration from one environment variable (SPEC §7): `EMAIL_URL` becomes Django's
`MAILERS` setting."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from securemail.core.mailconfig import SMTP_BACKEND, mailers_from_url


def _options(url: str) -> dict[str, object]:
    mailers = mailers_from_url(url)
    assert list(mailers) == ["default"]
    assert mailers["default"]["BACKEND"] == SMTP_BACKEND
    return mailers["default"]["OPTIONS"]


def test_plain_smtp_url_talks_to_port_25_without_tls() -> None:
    assert _options("smtp://mail.example.test") == {
        "host": "mail.example.test",
        "port": 25,
        "use_tls": False,
        "use_ssl": False,
        "timeout": 20,
    }


def test_smtp_tls_url_uses_starttls_with_credentials() -> None:
    options = _options("smtp+tls://mailer:s3cret@relay.example.test:587")

    assert options["host"] == "relay.example.test"
    assert options["port"] == 587
    assert options["use_tls"] is True
    assert options["use_ssl"] is False
    assert options["username"] == "mailer"
    assert options["password"] == "s3cret"


def test_smtp_tls_url_defaults_to_port_587() -> None:
    assert _options("smtp+tls://relay.example.test")["port"] == 587


def test_smtps_url_uses_implicit_tls_on_port_465() -> None:
    options = _options("smtps://relay.example.test")

    assert options["port"] == 465
    assert options["use_ssl"] is True
    assert options["use_tls"] is False


def test_credentials_are_percent_decoded() -> None:
    options = _options("smtp+tls://apikey%40example.test:p%40ss%3Aword%2F1@relay.example.test")

    assert options["username"] == "apikey@example.test"
    assert options["password"] == "p@ss:word/1"


def test_timeout_comes_from_the_query_string() -> None:
    assert _options("smtp://relay.example.test:2525?timeout=5") == {
        "host": "relay.example.test",
        "port": 2525,
        "use_tls": False,
        "use_ssl": False,
        "timeout": 5,
    }


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("console://", "django.core.mail.backends.console.EmailBackend"),
        ("locmem://", "django.core.mail.backends.locmem.EmailBackend"),
    ],
)
def test_development_backends(url: str, backend: str) -> None:
    assert mailers_from_url(url) == {"default": {"BACKEND": backend}}


@pytest.mark.parametrize(
    "url",
    ["http://relay.example.test", "smtpx://relay.example.test", "relay.example.test:25", ""],
)
def test_unknown_scheme_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="unknown scheme"):
        mailers_from_url(url)


def test_smtp_url_without_a_host_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="host"):
        mailers_from_url("smtp://:25")


def test_plain_smtp_url_on_port_587_uses_starttls() -> None:
    options = _options("smtp://user:pass@relay.example.test:587")

    assert options["use_tls"] is True
    assert options["use_ssl"] is False
    assert (options["port"], options["username"], options["password"]) == (587, "user", "pass")


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:pass@relay.example.test",
        "smtp://user:pass@relay.example.test:25",
        "smtp://user:pass@relay.example.test:2525",
        "smtp://user@192.0.2.10:25",
    ],
)
def test_credentials_over_plain_smtp_are_a_configuration_error(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="user name and password unencrypted"):
        mailers_from_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:pass@127.0.0.1:1025",
        "smtp://user:pass@localhost:25",
        "smtp://user:pass@[::1]:25",
    ],
)
def test_credentials_over_plain_smtp_to_loopback_are_allowed(url: str) -> None:
    options = _options(url)

    assert options["use_tls"] is False
    assert options["username"] == "user"
