import os

from django.core.wsgi import get_wsgi_application

from securemail.core.private_files import create_files_private

# Before Django opens anything: what the web workers create is the owner's alone.
create_files_private()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemail.settings")
application = get_wsgi_application()

# Refuse to serve (and so to start) without readable keys when DEBUG is off.
from securemail.core.checks import refuse_to_serve_without_keys  # noqa: E402

refuse_to_serve_without_keys()
