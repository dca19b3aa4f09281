from django.urls import path

from securemail.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("profile/", views.profile, name="profile"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_link, name="password_link"),
    path("password/sent/", views.password_link_sent, name="password_link_sent"),
    path("password/again/", views.password_link_again, name="password_link_again"),
    path("password/<uidb64>/<token>/", views.set_password, name="set_password"),
]
