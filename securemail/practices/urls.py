from django.urls import path

from securemail.practices import views

app_name = "practices"
urlpatterns = [
    path("settings/", views.practice_settings, name="settings"),
    path("people/", views.people, name="people"),
    path("people/two-step/", views.two_step_policy, name="two_step_policy"),
    path("people/<int:user_id>/resend/", views.resend_invitation, name="resend"),
    path("people/<int:user_id>/email/", views.correct_email, name="correct_email"),
    path("people/<int:user_id>/unlock/", views.unlock, name="unlock"),
    path("people/<int:user_id>/manager/", views.hand_over, name="hand_over"),
    path("people/<int:user_id>/plan/buy/", views.buy_plan, name="buy_plan"),
    path("people/<int:user_id>/plan/cancel/", views.cancel_plan, name="cancel_plan"),
    # Whoever sent an open invitation: correct its address, send it again, stop its reminders.
    path("invitations/<int:user_id>/", views.invitee, name="invitee_email"),
    path("invitations/<int:user_id>/resend/", views.invitee_resend, name="invitee_resend"),
    path(
        "invitations/<int:user_id>/reminders/stop/",
        views.invitee_stop_reminders,
        name="invitee_stop_reminders",
    ),
    path("audit/", views.audit_page, name="audit"),
    path("audit/log.csv", views.audit_log_csv, name="audit_csv"),
    path("audit/patients/<int:patient_id>/", views.disclosures, name="disclosures"),
    path("audit/patients/<int:patient_id>/csv/", views.disclosures_csv, name="disclosures_csv"),
]
