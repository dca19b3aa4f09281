from django.urls import path

from securemail.contacts import views

app_name = "contacts"
urlpatterns = [
    path("", views.contact_list, name="list"),
    path("add/", views.add, name="add"),
    path("deleted/", views.deleted, name="deleted"),
    path("suggest/", views.suggest, name="suggest"),
    path("<uuid:contact_id>/", views.edit, name="edit"),
    path("<uuid:contact_id>/delete/", views.delete, name="delete"),
    path("<uuid:contact_id>/restore/", views.restore, name="restore"),
]
