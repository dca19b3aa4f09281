"""The console's pages, one module per domain; importing a module registers its pages on
`console_site`. A new domain's pages are one more module here and its name below."""

from securemail.console.pages import accounts, audit, billing, notifications, onboarding

__all__ = ["accounts", "audit", "billing", "notifications", "onboarding"]
