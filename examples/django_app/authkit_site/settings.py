"""Settings of the example project; the providers come from the environment.

- ``AUTHKIT_PUBLIC_URL``: where the site is served (default ``http://127.0.0.1:8000``).
- ``AUTHKIT_OIDC_ISSUER``, ``AUTHKIT_OIDC_CLIENT_ID``, ``AUTHKIT_OIDC_CLIENT_SECRET``: an OpenID
  provider, shown as "Test OP" (its redirect URI: ``<public URL>/auth/oauth/authorized/op/``).
- ``AUTHKIT_SAML_METADATA_URL``: a SAML IdP's metadata, shown as "Test IdP" (the SP's entity ID
  is ``<public URL>/auth/saml/metadata/idp/``, its ACS ``<public URL>/auth/saml/acs/idp/``).
- ``AUTHKIT_REDIS_URL``: share sign-in state between processes (default: in memory).
- ``AUTHKIT_DATA_DIR``: where the databases and the generated secrets are kept.
"""

import os
import secrets
from pathlib import Path
from tempfile import gettempdir

from cryptography.fernet import Fernet

DATA = Path(os.environ.get("AUTHKIT_DATA_DIR") or Path(gettempdir()) / "authkit-django-example")
DATA.mkdir(parents=True, exist_ok=True)
PUBLIC_URL = os.environ.get("AUTHKIT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")


def _secret(name: str, make: str) -> str:
    """A secret generated on first use and kept in the data folder (never in the code)."""
    path = DATA / name
    if not path.exists():
        path.write_text(make)
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _secret("secret_key", secrets.token_urlsafe(48))
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "authkit_site.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "authkit.adapters.django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# People sign in only through authkit: no password sign-in.
AUTHENTICATION_BACKENDS = ["authkit.adapters.django.backends.AuthkitBackend"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA / "django.db"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
SESSION_COOKIE_AGE = 8 * 3600

PROVIDERS = []
if os.environ.get("AUTHKIT_OIDC_ISSUER"):
    PROVIDERS.append(
        {
            "name": "op",
            "title": "Test OP",
            "protocol": "oidc",
            "issuer": os.environ["AUTHKIT_OIDC_ISSUER"],
            "client_id": os.environ.get("AUTHKIT_OIDC_CLIENT_ID", "authkit-demo"),
            "client_secret": os.environ.get("AUTHKIT_OIDC_CLIENT_SECRET", ""),
            "scope": "openid email profile groups",
            "groups_claim": "groups",
        }
    )

SAML_IDPS = {}
if os.environ.get("AUTHKIT_SAML_METADATA_URL"):
    SAML_IDPS["idp"] = {  # the SP's entity ID and endpoints default to authkit's routes
        "title": "Test IdP",
        "settings_url": os.environ["AUTHKIT_SAML_METADATA_URL"],
        "mappings": {
            "email": "urn:oid:0.9.2342.19200300.100.1.3",
            "name": "urn:oid:2.5.4.42",
            "surname": "urn:oid:2.5.4.4",
            "external_id": "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        },
        "auto_confirm": True,
    }

AUTHKIT = {
    "PUBLIC_URL": PUBLIC_URL,
    "PROVIDERS": PROVIDERS,
    "SAML_IDPS": SAML_IDPS,
    "TOKEN_KEYS": [
        os.environ.get("AUTHKIT_TOKEN_KEY") or _secret("token_key", Fernet.generate_key().decode())
    ],
    "ACCOUNTS_STORE": str(DATA / "accounts.db"),
    "STATE_STORE": os.environ.get("AUTHKIT_REDIS_URL"),
    "AFTER_LOGIN": "/account/",
}
