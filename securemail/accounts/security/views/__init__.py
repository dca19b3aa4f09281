"""The security pages, by flow: `signin` (the second step of a login, passkey sign-in,
re-authentication), `settings` (the security page: two-step methods, passkeys, recovery
codes), `changes` (password, email address, cell phone). Thin: parse → flow → session →
render or redirect. Passkey ceremonies are JSON (the browser's WebAuthn API needs a
script: static passkeys.js); everything else is plain forms.
"""
