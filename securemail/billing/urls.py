from django.urls import path

from securemail.billing import views

app_name = "billing"
urlpatterns = [
    path("", views.plan_page, name="plan"),
    path("buy/", views.buy, name="buy"),
    path("return/", views.checkout_return, name="checkout_return"),
    path("plans/<uuid:subscription_id>/cancel/", views.cancel, name="cancel"),
    path("plans/<uuid:subscription_id>/card/", views.change_card, name="change_card"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/email/", views.email_invoices, name="email_invoices"),
    path("webhook/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("test-processor/", views.controls_page, name="test_controls"),
    path("test-processor/checkout/<str:checkout_id>/", views.card_page, name="test_checkout"),
    path("test-processor/card/<str:customer_id>/", views.card_update_page, name="test_card"),
]
