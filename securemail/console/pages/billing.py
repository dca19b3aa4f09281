"""Billing in the console: plans, invoices and webhook events.

The billing app has no models yet, so nothing is registered here and the console shows a
placeholder page in their place (ConsoleSite.billing_placeholder). Once it has them, each
is registered here like the other domains' pages, and the placeholder steps aside by itself:

    @admin.register(Invoice, site=console_site)
    class InvoicePage(ConsolePage):
        list_display = ("number", "account", "amount", "created_at")
        fields = ("number", "account", "amount", "description", "created_at")
        search_fields = ("number",)

Never a card number (Stripe keeps them; we hold brand and last four at most), nor a webhook
event's payload: its id, type and when it was handled are enough.
"""
