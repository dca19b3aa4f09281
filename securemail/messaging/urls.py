from django.urls import path

from securemail.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("sent/", views.sent, name="sent"),
    path("compose/", views.compose, name="compose"),
    path("compose/lookup/", views.lookup, name="lookup"),
    path("m/<str:message_id>/", views.message_detail, name="message"),
    path("m/<str:message_id>/reply/", views.reply, name="reply"),
    path(
        "m/<str:message_id>/a/<str:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
]
