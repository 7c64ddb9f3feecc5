# gunicorn settings of the example api-server. No preload: each worker imports app.py, and so reads the
# rendered files, when it boots; SIGHUP (from secrets-agent) makes the master replace its workers.
bind = "0.0.0.0:8000"
workers = 2
preload_app = False
pidfile = "/run/app/gunicorn.pid"   # on the app-run volume, which the agent mounts read-only
worker_tmp_dir = "/run/app"         # the root filesystem is read-only
graceful_timeout = 20
accesslog = "-"
