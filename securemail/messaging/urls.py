from django.urls import path

from securemail.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("archive/", views.archive, name="archive"),
    path("sent/", views.sent, name="sent"),
    path("drafts/", views.drafts, name="drafts"),
    path("search/", views.search, name="search"),
    path("drafts/<uuid:draft_id>/discard/", views.discard_draft, name="discard_draft"),
    path("compose/", views.compose, name="compose"),
    path("compose/lookup/", views.lookup, name="lookup"),
    path("compose/draft/", views.save_draft, name="save_draft"),
    path("m/<uuid:message_id>/", views.message_detail, name="message"),
    path("m/<uuid:message_id>/print/", views.print_view, name="print"),
    path("m/<uuid:message_id>/export/", views.export_pdf, name="export_pdf"),
    path("m/<uuid:message_id>/reply/", views.reply, name="reply"),
    path("m/<uuid:message_id>/forward/", views.forward, name="forward"),
    path("m/<uuid:message_id>/archive/", views.set_archived, name="archive_toggle"),
    path("m/<uuid:message_id>/hide/", views.hide, name="hide"),
    path("m/<uuid:message_id>/delete/", views.delete, name="delete"),
    path("m/<uuid:message_id>/expiry/", views.change_expiry, name="expiry"),
    path(
        "m/<uuid:message_id>/a/<uuid:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
]
