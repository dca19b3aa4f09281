from django.urls import path

from securemail.accounts import views
from securemail.accounts.security.views import changes, settings, signin

app_name = "accounts"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/second-step/", signin.second_step, name="second_step"),
    path("login/second-step/text/", signin.second_step_text, name="second_step_text"),
    path("passkey/options/", signin.passkey_options, name="passkey_options"),
    path("passkey/verify/", signin.passkey_verify, name="passkey_verify"),
    path("reauthenticate/", signin.reauthenticate, name="reauthenticate"),
    path("reauthenticate/text/", signin.reauthenticate_text, name="reauthenticate_text"),
    path("profile/", views.profile, name="profile"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_link, name="password_link"),
    path("password/sent/", views.password_link_sent, name="password_link_sent"),
    path("password/again/", views.password_link_again, name="password_link_again"),
    path("password/<uidb64>/<token>/", views.set_password, name="set_password"),
    # The person's own security settings (and, while two-step login is required and not
    # set up yet, the only pages they reach: settings.middleware).
    path("security/", settings.security, name="security"),
    path("security/app/", settings.app_setup, name="app_setup"),
    path("security/app/remove/", settings.app_remove, name="app_remove"),
    path("security/text/", settings.text_setup, name="text_setup"),
    path("security/text/send/", settings.text_send, name="text_send"),
    path("security/text/remove/", settings.text_remove, name="text_remove"),
    path("security/passkeys/options/", settings.passkey_add_options, name="passkey_add_options"),
    path("security/passkeys/add/", settings.passkey_add, name="passkey_add"),
    path(
        "security/passkeys/<int:passkey_id>/remove/",
        settings.passkey_remove,
        name="passkey_remove",
    ),
    path("security/method/", settings.method_choose, name="method_choose"),
    path("security/recovery-codes/", settings.recovery_codes, name="recovery_codes"),
    path("security/recovery-codes/new/", settings.new_recovery_codes, name="new_recovery_codes"),
    path("security/off/", settings.turn_off, name="two_step_off"),
    path("security/password/", changes.change_password, name="change_password"),
    path("security/email/", changes.change_email, name="change_email"),
    path("security/email/<str:token>/", changes.confirm_email, name="confirm_email"),
    path("security/phone/", changes.change_phone, name="change_phone"),
    path("security/phone/confirm/", changes.confirm_phone, name="confirm_phone"),
]
