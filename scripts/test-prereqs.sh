#!/bin/sh
# npm's `pretest` (runs before `npm test`, before the build): the Debian packages the tests use as real consumers.
#   python3-dotenv  /usr/bin/python3 reads rendered .env files back with it (test/template/, test/e2e/run.test.ts)
#   gunicorn        /usr/bin/gunicorn serves the WSGI app of test/ship/gunicorn.test.ts
# Missing ones are installed when this runs as root on a machine with apt-get (a fresh Debian, CI); otherwise it
# stops here with one line naming the packages and the command that installs them. Nothing else is installed.
set -eu

missing() {
  packages=''
  /usr/bin/python3 -c 'import dotenv' >/dev/null 2>&1 || packages="$packages python3-dotenv"
  [ -x /usr/bin/gunicorn ] || packages="$packages gunicorn"
  echo "${packages# }"
}

packages=$(missing)
[ -z "$packages" ] && exit 0
install="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages"

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-prereqs: installing $packages (Debian packages the tests need): $install" >&2
  log=$(mktemp)
  # shellcheck disable=SC2086 # $packages is a space-separated list of package names
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages; } >"$log" 2>&1; then
    rm -f "$log"
    still=$(missing)
    [ -z "$still" ] && exit 0
    echo "npm test needs the Debian packages $packages; apt-get installed them, yet $still still cannot be used (/usr/bin/python3 -c 'import dotenv', /usr/bin/gunicorn)" >&2
    exit 1
  fi
  why=$(grep -E '^(E|W|Err):' "$log" | tail -n 1 || true)
  rm -f "$log"
  echo "npm test needs the Debian packages $packages, and installing them failed (${why:-apt-get failed}); install them as root with: $install" >&2
  exit 1
fi

echo "npm test needs the Debian packages $packages, which are missing; install them as root with: $install" >&2
exit 1
