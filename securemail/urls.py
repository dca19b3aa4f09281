from django.urls import include, path

urlpatterns = [
    path("", include("securemail.messaging.urls")),
    path("accounts/", include("securemail.accounts.urls")),
    path("", include("securemail.onboarding.urls")),
    path("practice/", include("securemail.practices.urls")),
    path("billing/", include("securemail.billing.urls")),
    # The local mail catcher answers 404 unless DEBUG is on.
    path("dev/mail/", include("securemail.notifications.urls")),
]

# A refused action (a plan the account lacks, a page for the practice's manager) says why.
handler403 = "securemail.errors.forbidden"
