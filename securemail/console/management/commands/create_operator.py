"""`manage.py create_operator EMAIL`: an account for someone running the service.

Prints a one-time link (24 hours) where the operator sets their password, or, with
`--ask-password`, asks for it here. Either way the password must pass Django's validators
and be at least SECUREMAIL_OPERATOR_PASSWORD_LENGTH characters long.
"""

import getpass
import sys
from typing import Any, override

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from securemail.accounts import services
from securemail.accounts.models import PasswordLink, User, normalize_email
from securemail.accounts.validators import validate_new_password
from securemail.core.limits import limits


class Command(BaseCommand):
    help = "Create an operator account (the operators' console) and print its set-password link."

    @override
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the operator's own address (not a practice user's)")
        parser.add_argument("--name", default="", help="the operator's full name")
        parser.add_argument(
            "--ask-password",
            action="store_true",
            help="ask for the password here instead of printing a set-password link",
        )

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        email = normalize_email(options["email"])
        password = self._ask_password(email, options["name"]) if options["ask_password"] else None
        try:
            operator = services.create_operator(email=email, full_name=options["name"])
        except services.AccountError as error:
            raise CommandError(str(error)) from None
        base = settings.SECUREMAIL_BASE_URL
        console = f"{base}{reverse('console:index')}"
        if password is None:
            link = services.issue_password_link(user=operator, purpose=PasswordLink.Purpose.SET)
            self.stdout.write(
                f"Operator account created for {operator.email}.\n"
                f"Set its password (at least {limits().operator_password_length} characters) "
                f"within {limits().password_link_hours} hours, once, at:\n\n"
                f"  {link}\n\n"
                f"then log in at {base}{reverse('accounts:login')}: the console is at {console}"
            )
            return
        services.set_password(user=operator, password=password)
        self.stdout.write(
            f"Operator account created for {operator.email}, password set. Log in at "
            f"{base}{reverse('accounts:login')}: the console is at {console}"
        )

    def _ask_password(self, email: str, full_name: str) -> str:
        """The password, typed twice and checked before anything is created."""
        if not sys.stdin.isatty():
            raise CommandError("--ask-password needs a terminal; leave it out to get a link.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ. Nothing was created.")
        candidate = User(email=email, full_name=full_name, is_operator=True)
        try:
            validate_new_password(password, candidate)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages) + " Nothing was created.") from None
        return password
