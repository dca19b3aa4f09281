from django.conf import settings
from django.urls import include, path

from securemail.console.site import console_site

urlpatterns = [
    # The operators' console, at a path of the deployment's choosing.
    path(settings.SECUREMAIL_CONSOLE_PATH, console_site.urls),
    path("", include("securemail.messaging.urls")),
    path("accounts/", include("securemail.accounts.urls")),
    path("", include("securemail.onboarding.urls")),
    path("practice/", include("securemail.practices.urls")),
    path("contacts/", include("securemail.contacts.urls")),
    path("billing/", include("securemail.billing.urls")),
    # The local mail catcher answers 404 unless DEBUG is on.
    path("dev/mail/", include("securemail.notifications.urls")),
]

# A refused action (a plan the account lacks, a page for the practice's manager) says why.
handler403 = "securemail.errors.forbidden"
