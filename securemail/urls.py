from django.urls import include, path

urlpatterns = [
    path("", include("securemail.messaging.urls")),
    path("accounts/", include("securemail.accounts.urls")),
    path("", include("securemail.onboarding.urls")),
    # The local mail catcher answers 404 unless DEBUG is on.
    path("dev/mail/", include("securemail.notifications.urls")),
]
