from django import forms


class PracticeSettingsForm(forms.Form):
    require_phone_verification = forms.BooleanField(
        label="People our practice invites must verify their phone", required=False
    )
