from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "securemail.onboarding"
    label = "onboarding"
    verbose_name = "Invitations and registration"
