"""Django settings of the api-server, reading the files secrets-agent renders instead of calling get_secret().

Before (the seed), every secret was a call into the secrets library at import time:

    SECRET_KEY = get_secret("app/secret_key")
    DATABASES = {"default": {..., "PASSWORD": get_secret("database/password", default="dev_password")}}
    BINANCE_API_KEY = get_secret("exchange/binance/api_key")

After, the agent writes /secrets/app.env and /secrets/config.json (templates/ beside this file) and Django only
reads files: no Vault token, AWS credentials or client library in the application. When a secret changes, the
agent rewrites the file and sends SIGHUP to the gunicorn master, whose new workers import these settings again.

Needs python-dotenv (Debian: python3-dotenv), which reads the dotenv format the agent writes byte for byte.
"""
import json
import os
from pathlib import Path

from dotenv import dotenv_values

BASE_DIR = Path(__file__).resolve().parent

# Where the agent writes; a shared tmpfs volume mounted read-only in this container (never one file or subPath).
SECRETS_DIR = Path(os.environ.get("SECRETS_DIR", "/secrets"))


def _read_env(name):
    """Every KEY=value of a rendered dotenv file; a missing file is an error, never an empty secret."""
    path = SECRETS_DIR / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: is secrets-agent running, and is {SECRETS_DIR} mounted?")
    return dotenv_values(path)


def _read_json(name):
    with open(SECRETS_DIR / name, encoding="utf-8") as file:
        return json.load(file)


_ENV = _read_env("app.env")
_CONFIG = _read_json("config.json")

SECRET_KEY = _ENV["SECRET_KEY"]
# The previous key (version="previous" in the template; empty until the key was rotated once): signatures made
# with it still verify, so rotating SECRET_KEY logs nobody out (docs/templates.md "version=previous").
SECRET_KEY_FALLBACKS = [key for key in [_ENV.get("SECRET_KEY_FALLBACKS")] if key]
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "api.urls"
WSGI_APPLICATION = "api.wsgi.application"

_db = _CONFIG["database"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": _db["host"],
        "PORT": int(_db["port"]),
        "USER": _db["user"],
        "PASSWORD": _db["password"],
        "NAME": _db["name"],
        "CONN_MAX_AGE": 60,
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://redis:6379/0",
        "OPTIONS": {"password": _CONFIG["redis"]["password"]},
    }
}

# The exchanges the api-server trades on; config.json carries them as JSON strings.
EXCHANGES = {
    name: {"api_key": creds["api_key"], "api_secret": creds["api_secret"], "testnet": creds.get("testnet") == "true"}
    for name, creds in _CONFIG["exchanges"].items()
}

SENTRY_DSN = _ENV.get("SENTRY_DSN") or None
SLACK_WEBHOOK_URL = _ENV.get("SLACK_WEBHOOK_URL") or None

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
