"""An account's security: two-step login (authenticator app, text message, passkeys and
recovery codes), passkey sign-in, re-authentication before sensitive actions, and the
changes that need it (email address, cell phone, password).

Inside, by layer: `views/` (signin, settings, changes) → `forms` → the flows that write
(`setup`, `signin`, `changes`) → their helpers (`totp`, `passkeys`, `codes`, `session`) →
accounts' access and models. Login itself stays accounts.services.log_in: once the password
is right, the login page hands over to `session.begin_second_step` when the account has
two-step login on.
"""
