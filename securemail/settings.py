"""SecureMail settings: everything comes from environment variables (see `.env.example`).

With DEBUG off the product refuses to start while a secret, the keys or the base URL is
missing, so a half-configured production instance never serves a page.
"""

import base64
from pathlib import Path

import dj_database_url
import phonenumbers
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from securemail.core.env import env_bool, env_int, env_list, env_secret, env_str
from securemail.core.mailconfig import mailers_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SECUREMAIL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105

SECUREMAIL_BASE_URL = env_str("SECUREMAIL_BASE_URL").rstrip("/")
if not SECUREMAIL_BASE_URL:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECUREMAIL_BASE_URL must be set when DEBUG is off: every emailed link is built "
            "from it."
        )
    # localhost, not 127.0.0.1: passkeys need a domain name (a browser refuses an IP address
    # as the relying party).
    SECUREMAIL_BASE_URL = f"http://localhost:{env_int('PORT', 8000)}"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "securemail.core",
    "securemail.audit",
    "securemail.notifications",
    "securemail.accounts",
    "securemail.billing",
    "securemail.onboarding",
    "securemail.practices",
    "securemail.contacts",
    "securemail.messaging",
    "securemail.ops",
    "securemail.console",
    # Django's admin, for the operators' console only (securemail.console registers on a
    # site of its own; nothing is discovered). After the console, whose templates override
    # the admin's.
    "django.contrib.admin.apps.SimpleAdminConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "securemail.core.http.ClientAddressMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "securemail.accounts.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check: the forms of no-referrer pages post with `Origin: null`.
    "securemail.core.headers.NullOriginOfOwnPagesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "securemail.accounts.security.middleware.TwoStepRequiredMiddleware",
    "securemail.console.middleware.OperatorsStayInTheConsole",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "securemail.core.middleware.NoStoreMiddleware",
]

if not DEBUG:
    # Static files: runserver serves them in development, WhiteNoise in production.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "securemail.urls"
WSGI_APPLICATION = "securemail.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "securemail" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # `{% url %}` with argument-less routes worked out once (core/templatetags/urls.py).
            "builtins": ["securemail.core.templatetags.urls"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "securemail.core.context_processors.limits",
                "securemail.messaging.context_processors.mailbox",
                "securemail.practices.context_processors.practice",
                "securemail.billing.context_processors.billing",
            ],
        },
    },
]

# Django's form renderer, with the commonest widgets' markup written in Python (core).
FORM_RENDERER = "securemail.core.forms_renderer.QuickRenderer"

# A web process keeps its database connection for DB_CONN_MAX_AGE seconds (production
# default 60) rather than opening one per request: connecting cost an authenticated page
# more than building it (bench/served.py). Health checks replace a connection the server
# dropped before the next request uses it.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'securemail.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0 if DEBUG else 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        # WAL with synchronous=NORMAL: the database can't be corrupted by a crash; a power
        # cut may lose the last commits (the embedded default; production is PostgreSQL).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
    }
# PostgreSQL: parameters bound by the server, and this project's statements of constant text
# kept prepared (core.rows.kept_prepared): planned once per connection, not on every request
# (their planning was most of the database's CPU for a page: the inbox 4.6 -> 1.2 ms,
# bench/served.py). The ORM's queries are planned each time (prepare_threshold None, as
# Django's default). Off for a pooler in transaction mode that can't keep them.
SECUREMAIL_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=SECUREMAIL_PREPARED_STATEMENTS, prepare_threshold=None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["securemail.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "messaging:inbox"
LOGOUT_REDIRECT_URL = "accounts:login"

# Where the operators' console answers (securemail.console), relative to the site's root.
# Choose a path of your own in production: only operators get anything but a 404 there.
SECUREMAIL_CONSOLE_PATH = env_str("SECUREMAIL_CONSOLE_PATH", "console/").strip("/") + "/"
if SECUREMAIL_CONSOLE_PATH == "/":
    raise ImproperlyConfigured("SECUREMAIL_CONSOLE_PATH can't be the site's root.")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["email", "full_name"]},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A set-password link (the second registration email, "Forgot your password?") works once
# and for this many hours (accounts.models.PasswordLink).
SECUREMAIL_PASSWORD_LINK_HOURS = 24

# Django's database sessions, read by one statement of constant text (core/sessions.py).
SESSION_ENGINE = "securemail.core.sessions"
# Sessions end after 30 minutes without a request. IdleSessionMiddleware restarts the 30
# minutes at most once a minute (a database write per request otherwise): a session ends
# between 29 and 30 idle minutes, never later.
SESSION_COOKIE_AGE = 30 * 60
SECUREMAIL_SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    # The `__Host-` prefix: a browser keeps these cookies only when they come over HTTPS with
    # Secure, Path=/ and no Domain (Django's defaults for both), so neither another host of
    # the domain nor a plain-http page can set or overwrite them. With DEBUG on (development
    # and tests over plain http) the plain names, without Secure.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "securemail_cache",
    }
}
if env_str("CACHE_URL").startswith("redis"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("CACHE_URL"),
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The project-wide CSS, JS and vendored htmx live outside any app.
STATICFILES_DIRS = [BASE_DIR / "securemail" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("SECUREMAIL_FILES_DIR", str(VAR_DIR / "files")))
# Only the encrypting handler runs for the forms that take attachments; everywhere else
# uploads are refused outright rather than written to a temporary file in plaintext.
FILE_UPLOAD_HANDLERS: list[str] = []

# Mail: every outgoing email goes through the outbox (securemail.notifications) and then
# through this mailer. Under `make run` the default is the built-in local mail catcher.
SECUREMAIL_CATCHER_PORT = env_int("SECUREMAIL_CATCHER_PORT", 1025)
EMAIL_URL = env_str("EMAIL_URL")
if not EMAIL_URL:
    if not DEBUG:
        raise ImproperlyConfigured("EMAIL_URL must be set when DEBUG is off.")
    EMAIL_URL = f"smtp://127.0.0.1:{SECUREMAIL_CATCHER_PORT}"
MAILERS = mailers_from_url(EMAIL_URL)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SecureMail <no-reply@securemail.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SECUREMAIL_CATCHER_DIR = VAR_DIR / "mailcatcher"
# The outbox worker (securemail.notifications): how long a worker's claim on the row it is
# sending lasts (another worker retakes it after that, e.g. when the first was killed; it
# must outlast one delivery, see README "Notifications"), and how often a relay that could
# not be reached is tried again while emails wait for it.
SECUREMAIL_OUTBOX_LEASE_SECONDS = env_int("SECUREMAIL_OUTBOX_LEASE_SECONDS", 45)
SECUREMAIL_RELAY_PROBE_SECONDS = env_int("SECUREMAIL_RELAY_PROBE_SECONDS", 30)
if SECUREMAIL_OUTBOX_LEASE_SECONDS < 1 or SECUREMAIL_RELAY_PROBE_SECONDS < 1:
    raise ImproperlyConfigured(
        "SECUREMAIL_OUTBOX_LEASE_SECONDS and SECUREMAIL_RELAY_PROBE_SECONDS must be at least 1."
    )
# The catcher's web page exists only with DEBUG on.
SECUREMAIL_CATCHER_ENABLED = DEBUG and env_bool("SECUREMAIL_CATCHER", True)

# SMS and voice codes: "local" hands each text to the mailer as an email to
# <E.164 digits>@sms.invalid; "twilio" talks to Twilio's REST API.
SMS_PROVIDER = env_str("SMS_PROVIDER", "local" if DEBUG else "")
if SMS_PROVIDER not in {"local", "twilio"}:
    raise ImproperlyConfigured("SMS_PROVIDER must be 'local' or 'twilio'.")
# Passkeys (WebAuthn): the relying party id, a domain name that the site's host is or ends
# with. Default: the host of SECUREMAIL_BASE_URL ("localhost" for a bare IP address, which
# browsers refuse). Passkeys registered under one id only work under that id.
SECUREMAIL_WEBAUTHN_RP_ID = env_str("SECUREMAIL_WEBAUTHN_RP_ID")
SECUREMAIL_WEBAUTHN_RP_NAME = env_str("SECUREMAIL_WEBAUTHN_RP_NAME", "SecureMail")

# Verification codes go only to phones in these countries (ISO 3166 codes, e.g. "US,CA");
# empty: every country. Numbers that are no person's phone never get one (core.phones).
SECUREMAIL_CODE_COUNTRIES = [code.upper() for code in env_list("SECUREMAIL_CODE_COUNTRIES")]
if unknown := set(SECUREMAIL_CODE_COUNTRIES) - phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured(
        f"SECUREMAIL_CODE_COUNTRIES: not country codes: {', '.join(sorted(unknown))}."
    )
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_secret("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com")
if SMS_PROVIDER == "twilio" and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER
):
    raise ImproperlyConfigured(
        "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER."
    )

# Plans and payment (securemail.billing). "test" is the built-in test processor (its own card
# page, Stripe's test card numbers; development and tests only); "stripe" uses Stripe's
# hosted Checkout and Billing Portal (README "Billing").
PAYMENT_PROCESSOR = env_str("PAYMENT_PROCESSOR", "test" if DEBUG else "")
if PAYMENT_PROCESSOR not in {"test", "stripe"}:
    raise ImproperlyConfigured("PAYMENT_PROCESSOR must be 'test' or 'stripe'.")
if PAYMENT_PROCESSOR == "test" and not DEBUG:
    raise ImproperlyConfigured(
        "PAYMENT_PROCESSOR=test takes any test card: it is for development only (DEBUG on)."
    )
STRIPE_SECRET_KEY = env_secret("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_secret("STRIPE_WEBHOOK_SECRET")
STRIPE_PORTAL_CONFIGURATION = env_str("STRIPE_PORTAL_CONFIGURATION")
# Only for contract tests against a local Stripe-compatible server.
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
SECUREMAIL_CURRENCY = env_str("SECUREMAIL_CURRENCY", "usd")
# The attachments an account may keep (README "Storage quota"): each paid plan's, and a free
# account's (the smaller one), read by billing.entitlements.storage_quota.
_MB = 1024 * 1024
_PLAN_STORAGE_BYTES = {
    "monthly": env_int("SECUREMAIL_PLAN_MONTHLY_STORAGE_MB", 10240) * _MB,
    "annual": env_int("SECUREMAIL_PLAN_ANNUAL_STORAGE_MB", 10240) * _MB,
}
SECUREMAIL_FREE_STORAGE_BYTES = env_int("SECUREMAIL_FREE_STORAGE_MB", 250) * _MB
if min(SECUREMAIL_FREE_STORAGE_BYTES, *_PLAN_STORAGE_BYTES.values()) < 0:
    raise ImproperlyConfigured("Storage quotas (SECUREMAIL_*_STORAGE_MB) can't be negative.")
SECUREMAIL_PLANS = {
    "monthly": {
        "name": env_str("SECUREMAIL_PLAN_MONTHLY_NAME", "SecureMail Pro, monthly"),
        "cents": env_int("SECUREMAIL_PLAN_MONTHLY_CENTS", 2900),
        "interval": "month",
        "stripe_price": env_str("STRIPE_PRICE_MONTHLY"),
        "storage_bytes": _PLAN_STORAGE_BYTES["monthly"],
    },
    "annual": {
        "name": env_str("SECUREMAIL_PLAN_ANNUAL_NAME", "SecureMail Pro, annual"),
        "cents": env_int("SECUREMAIL_PLAN_ANNUAL_CENTS", 29000),
        "interval": "year",
        "stripe_price": env_str("STRIPE_PRICE_ANNUAL"),
        "storage_bytes": _PLAN_STORAGE_BYTES["annual"],
    },
}
if PAYMENT_PROCESSOR == "stripe" and not (
    STRIPE_SECRET_KEY
    and STRIPE_WEBHOOK_SECRET
    and all(plan["stripe_price"] for plan in SECUREMAIL_PLANS.values())
):
    raise ImproperlyConfigured(
        "PAYMENT_PROCESSOR=stripe needs STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, "
        "STRIPE_PRICE_MONTHLY and STRIPE_PRICE_ANNUAL."
    )

# Key-encryption keys for messages live outside the database (see README "Encryption").
SECUREMAIL_KEYS = env_secret("SECUREMAIL_KEYS")
SECUREMAIL_KEYRING_FILE = Path(env_str("SECUREMAIL_KEYRING_FILE", str(VAR_DIR / "keyring")))
# Optional: pin the version that wraps new keys (staged rollout of a new SECUREMAIL_KEYS).
SECUREMAIL_ACTIVE_KEY_VERSION = env_int("SECUREMAIL_ACTIVE_KEY_VERSION", 0) or None
# Development creates missing key files on first use; production must be given them.
SECUREMAIL_CREATE_MISSING_KEYS = DEBUG
# The crypto-shredding ratchet (securemail.core.shred): one file, rewritten daily by the worker.
SECUREMAIL_RATCHET_FILE = Path(env_str("SECUREMAIL_RATCHET_FILE", str(VAR_DIR / "shred-ratchet")))
if not DEBUG and not env_str("SECUREMAIL_RATCHET_FILE"):
    raise ImproperlyConfigured("SECUREMAIL_RATCHET_FILE must be set when DEBUG is off.")
if not DEBUG and not SECUREMAIL_KEYS and not env_str("SECUREMAIL_KEYRING_FILE"):
    raise ImproperlyConfigured(
        "SECUREMAIL_KEYS (or SECUREMAIL_KEYS_FILE, or SECUREMAIL_KEYRING_FILE) must be set "
        "when DEBUG is off."
    )

# The audit chain's HMAC key (securemail.audit.chain): outside the database, like the keys.
SECUREMAIL_AUDIT_KEY = env_secret("SECUREMAIL_AUDIT_KEY")
SECUREMAIL_AUDIT_KEY_PATH = VAR_DIR / "audit-key"
if not DEBUG and not SECUREMAIL_AUDIT_KEY:
    raise ImproperlyConfigured(
        "SECUREMAIL_AUDIT_KEY (or SECUREMAIL_AUDIT_KEY_FILE) must be set when DEBUG is off."
    )
if SECUREMAIL_AUDIT_KEY and len(base64.b64decode(SECUREMAIL_AUDIT_KEY, validate=False)) != 32:
    raise ImproperlyConfigured("SECUREMAIL_AUDIT_KEY must be the base64 of 32 bytes.")

# Product limits (read through securemail.core.limits, which every form, service and text
# that states one uses).
SECUREMAIL_INVITATION_DAYS = 30
SECUREMAIL_MAX_ATTACHMENT_BYTES = env_int("SECUREMAIL_MAX_ATTACHMENT_MB", 25) * 1024 * 1024
SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES = (
    env_int("SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_MB", 50) * 1024 * 1024
)
SECUREMAIL_MAX_ATTACHMENTS = 10
SECUREMAIL_MAX_CONTACTS = 5000
SECUREMAIL_CONTACT_RESTORE_DAYS = 30
SECUREMAIL_MAX_EXPIRY_DAYS = 30
# Both sides of a conversation are emailed this many days before it is deleted (README
# "Expiry warnings and PDF export"); shorter than the longest expiry.
SECUREMAIL_EXPIRY_WARNING_DAYS = env_int("SECUREMAIL_EXPIRY_WARNING_DAYS", 3)
if not 1 <= SECUREMAIL_EXPIRY_WARNING_DAYS < SECUREMAIL_MAX_EXPIRY_DAYS:
    raise ImproperlyConfigured(
        f"SECUREMAIL_EXPIRY_WARNING_DAYS must be 1 to {SECUREMAIL_MAX_EXPIRY_DAYS - 1}."
    )
SECUREMAIL_MAX_RECIPIENTS = 20
SECUREMAIL_CODE_MINUTES = 10
SECUREMAIL_CODE_MAX_TRIES = 5
SECUREMAIL_MAX_FAILED_LOGINS = 5
# A browser that logged in to an account is known to it for this long (accounts.devices):
# the lock those wrong passwords set doesn't apply to it.
SECUREMAIL_KNOWN_BROWSER_DAYS = 365
# Two-step login: the second step must follow the password within this many minutes; a
# sensitive action (email, phone, password, two-step settings, plans, audit exports) needs
# a login or a re-authentication within this many minutes.
SECUREMAIL_SECOND_STEP_MINUTES = 10
SECUREMAIL_FRESH_LOGIN_MINUTES = 10
SECUREMAIL_RECOVERY_CODES = 10
# Operators see every account in the console: their passwords are longer (NIST SP 800-63B's
# 15 for a single factor, rounded up).
SECUREMAIL_OPERATOR_PASSWORD_LENGTH = 16
# All rate limits in one table: "count/period" with period in s, m, h or d.
SECUREMAIL_RATE_LIMITS = {
    # Failed logins only: a right password is never charged. Per client address and per
    # account from browsers that never logged in to that account, and per browser from one
    # that did (its own small allowance; the account's lock doesn't apply to it).
    "login_failed_address": "30/15m",
    "login_failed_account": "10/15m",
    "login_failed_browser": "5/h",
    "lookup": "60/m",
    "code_send_invitation": "5/h",
    "code_send_number": "5/h",
    "code_check": "20/10m",
    # "Forgot your password?" and the "no longer valid" page's one-button set-password link:
    # per client address (an office shares one), and per account asked for (no flooding).
    "password_link": "30/h",
    "password_link_account": "5/h",
    # A fresh registration link (typed address or the one button), likewise.
    "fresh_link": "30/h",
    "fresh_link_account": "5/h",
    # Opening or using an emailed link (registration link, set-password link and its form),
    # per client address: nobody tries tokens by the thousand.
    "join_link": "120/10m",
    "set_password_link": "120/10m",
    # The invoices page emailed on request (per person).
    "invoice_email": "5/h",
    # Starting a purchase (each one calls the card processor).
    "purchase": "10/h",
    # Links sent again or to a corrected address, by the user manager or the inviter (per sender).
    "manager_link": "30/h",
    # Two-step login: every second-step try (per account and per client address), the
    # text-message codes sent (per account and per number), passkey sign-ins without a
    # password (per client address), re-authentication tries (per account), email changes.
    "second_step": "10/5m",
    "text_code_send": "5/h",
    "passkey_sign_in": "20/5m",
    "reauthenticate": "10/5m",
    "email_change": "5/h",
    # Conversations exported as PDF (per account): each one is up to a second of rendering.
    "pdf_export": "30/h",
}

# Security headers (HTTPS, HSTS, CSP and friends).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
CSRF_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# How many reverse proxies stand in front of the product (the TLS proxy, a load balancer):
# the client's address is then the one that many entries from the right of X-Forwarded-For
# (core.http.client_ip). 0: REMOTE_ADDR is the client's address.
try:
    SECUREMAIL_TRUSTED_PROXIES = env_int("SECUREMAIL_TRUSTED_PROXIES", 0)
except ValueError:
    SECUREMAIL_TRUSTED_PROXIES = -1
if SECUREMAIL_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(
        "SECUREMAIL_TRUSTED_PROXIES must be the number of reverse proxies in front of "
        "SecureMail (0 or more)."
    )

# Logs go to stdout; no handler ever mails a traceback (it could carry request data).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "mail.log": {"level": "WARNING"},
        # WeasyPrint's steps of every PDF export (its errors still show).
        "weasyprint.progress": {"level": "WARNING"},
    },
}
