from django.urls import path

from securemail.onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("join/<str:token>/", views.join, name="join"),
    path("register/", views.resume, name="resume"),
    path("register/specialty/procedures/", views.procedures, name="procedures"),
    path("register/verify/send/", views.send_code, name="send_code"),
    path("register/done/", views.done, name="done"),
    path("register/link/", views.fresh_link, name="fresh_link"),
    path("register/link/again/", views.resend_link, name="resend_link"),
    path("register/<slug:step>/", views.step, name="step"),
    path("terms/", views.terms, name="terms"),
]
