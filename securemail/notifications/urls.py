from django.urls import path

from securemail.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.mail_list, name="mail_list"),
    path("<str:name>/", views.mail_detail, name="mail_detail"),
]
