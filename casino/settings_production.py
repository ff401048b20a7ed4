"""Production settings: the base settings, hardened for HTTPS behind a proxy.

Use with ``DJANGO_SETTINGS_MODULE=casino.settings_production``. Required in the
environment: ``SECRET_KEY`` (at least 50 characters) and ``ALLOWED_HOSTS``.
``manage.py check --deploy`` reports no issues with it (tests/accounts/test_security.py).
"""

import os

from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from casino.env import env_bool, env_int, env_list
from casino.settings import *  # noqa: F403
from casino.settings import CONTENT_SECURITY_POLICY

DEBUG = False

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 50 characters in production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS (comma-separated host names) in production.")

# HTTPS: the TLS-terminating proxy sets X-Forwarded-Proto; only trust it behind such a proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12  # a gambling session should not stay logged in for weeks
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), never from the cookie
LANGUAGE_COOKIE_SECURE = True

X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False  # collectstatic (make run) serves from STATIC_ROOT

# django-csp 4 wants its NONCE sentinel (the string "'nonce'" would be sent literally).
CONTENT_SECURITY_POLICY = {
    **CONTENT_SECURITY_POLICY,
    "DIRECTIVES": {
        name: [NONCE if source == "'nonce'" else source for source in sources]
        for name, sources in CONTENT_SECURITY_POLICY["DIRECTIVES"].items()
    },
}
