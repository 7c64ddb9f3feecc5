"""The example api-server: a small WSGI app that reads /secrets/app.env and /secrets/config.json when its
worker boots (gunicorn imports this module in every worker) and never again.

GET /healthz   200 "ok"
GET /          which settings this worker loaded: names, the database endpoint, and a short SHA-256
               fingerprint of each secret (to see a rotation arrive) -- never a value.
"""
import hashlib
import json
import os
import time

from dotenv import dotenv_values

SECRETS_DIR = os.environ.get("SECRETS_DIR", "/secrets")

ENV = dotenv_values(os.path.join(SECRETS_DIR, "app.env"))
with open(os.path.join(SECRETS_DIR, "config.json"), encoding="utf-8") as config_file:
    CONFIG = json.load(config_file)
BOOTED = time.time()


def fingerprint(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12] if value else None


def describe():
    database = CONFIG["database"]
    return {
        "worker": os.getpid(),
        "booted": BOOTED,
        "settings": sorted(ENV),
        "fingerprints": {name: fingerprint(value) for name, value in sorted(ENV.items())},
        "database": {"host": database["host"], "port": int(database["port"]), "name": database["name"],
                     "password": fingerprint(database["password"])},
    }


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        body, content_type, status = b"ok\n", "text/plain", "200 OK"
    elif path == "/":
        body, content_type, status = json.dumps(describe()).encode("utf-8"), "application/json", "200 OK"
    else:
        body, content_type, status = b"not found\n", "text/plain", "404 Not Found"
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
