"""Startup checks: with DEBUG off, refuse to serve without readable keys; say what is
missing for PDF export."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def keys_are_readable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001 (Django passes these by name)
    if settings.DEBUG:
        return []
    from securemail.core import crypto, shred

    errors: list[CheckMessage] = []
    for name, load in (("keyring", crypto.keyring), ("shredding ratchet", shred.ratchet)):
        try:
            load()
            if name == "keyring":
                crypto.keyring().active_version  # noqa: B018 - reads the store
            else:
                shred.ratchet().load()
        except (ImproperlyConfigured, OSError, ValueError) as error:
            errors.append(
                Error(
                    f"The {name} can't be read: {error}",
                    hint="Create it once with `manage.py keys init` (see README, Encryption).",
                    id="securemail.E001",
                )
            )
    return errors


def refuse_to_serve_without_keys() -> None:
    """Called as the web application loads (system checks don't run under gunicorn): with
    DEBUG off, a process that can't read its keys must not start serving."""
    errors = keys_are_readable()
    if errors:
        raise ImproperlyConfigured(
            "SecureMail can't start: " + "; ".join(f"{e.msg} ({e.hint})" for e in errors)
        )


@register()
def var_dir_is_private(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001 (Django passes these by name)
    """What startup could not make owner-only under the var directory (someone else's
    files, a read-only file system)."""
    from securemail.core.private_files import open_to_others

    return [
        Warning(
            f"{path} can be read by other accounts of this machine.",
            hint=f"`chmod go-rwx {path}`: the database, keys and files kept there are the "
            "service's alone.",
            id="securemail.W001",
        )
        for path in open_to_others(settings.VAR_DIR)
    ]


@register()
def pdf_libraries_are_there(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001 (Django passes these by name)
    """PDF export needs WeasyPrint's system libraries: without them it answers 503."""
    from securemail.core.pdf import PANGO_PACKAGES, missing_libraries

    missing = missing_libraries()
    if not missing:
        return []
    return [
        Warning(
            f"PDF export is off: WeasyPrint can't load {', '.join(missing)}.",
            hint=f"Install Debian's pango: `apt-get install {PANGO_PACKAGES}` (README, "
            "PDF export).",
            id="securemail.W002",
        )
    ]
