from django.urls import path

from securemail.practices import views

app_name = "practices"
urlpatterns = [
    path("settings/", views.practice_settings, name="settings"),
]
