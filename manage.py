#!/usr/bin/env python
"""Django's command-line utility for SecureMail."""

import os
import sys


def main() -> None:
    # Before anything is opened: what this process creates (the SQLite database, keys,
    # files) is the owner's alone.
    from securemail.core.private_files import create_files_private

    create_files_private()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemail.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
