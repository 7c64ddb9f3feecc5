# gunicorn settings of the example api-server. No preload: each worker imports app.py, and so reads the
# rendered files, when it boots; SIGHUP makes the master replace its workers.
import os
import signal
import threading

bind = "0.0.0.0:8000"
workers = 2
preload_app = False
pidfile = "/run/app/gunicorn.pid"   # on the app-run volume (the one-UID variant's agent reads it)
worker_tmp_dir = "/run/app"         # the root filesystem is read-only
graceful_timeout = 20
accesslog = "-"

# The marker secrets-agent's `touch` notifier sets once every file of a cycle is written (compose.yaml; the
# one-UID variant signals instead and sets RELOAD_MARKER=""). Only its mtime is read: the agent creates it mode
# 0600 under its own UID, and stat needs no read permission.
RELOAD_MARKER = os.environ.get("RELOAD_MARKER", "/run/reload/secrets-changed")
RELOAD_POLL_SECONDS = float(os.environ.get("RELOAD_POLL_SECONDS", "1"))


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def when_ready(server):
    """In the master: watch the marker; a new mtime sends SIGHUP to the master itself (same UID, same process)."""
    if not RELOAD_MARKER:
        return
    seen = _mtime(RELOAD_MARKER)

    def watch():
        nonlocal seen
        while True:
            threading.Event().wait(RELOAD_POLL_SECONDS)
            now = _mtime(RELOAD_MARKER)
            if now is not None and now != seen:
                seen = now
                server.log.info("%s changed: reloading workers", RELOAD_MARKER)
                os.kill(os.getpid(), signal.SIGHUP)

    threading.Thread(target=watch, name="reload-marker", daemon=True).start()
