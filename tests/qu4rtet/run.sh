#!/usr/bin/env bash
# A real QU4RTET site server on loopback, for the interoperability test
# (tests/qu4rtet_site_server.rs): SerialBox for serial numbers and
# quartet-capture/quartet-epcis for EPCIS 1.2 capture, in a Django project with
# SQLite (qu4rtet_site/).
#
#   run.sh install      create target/qu4rtet-venv with the pinned packages
#                       (requirements.txt); cached: a second run does nothing
#   run.sh start DIR    fresh database in DIR, migrate, create the user, its DRF
#                       token, a sequential and a randomized SerialBox pool and
#                       the "EPCIS" capture rule, start the server on a free
#                       port, wait until it answers, and write DIR/env:
#                       QU4RTET_URL, QU4RTET_TOKEN, QU4RTET_SEQUENTIAL_POOL,
#                       QU4RTET_RANDOM_POOL, QU4RTET_SSCC_POOL, QU4RTET_PID
#   run.sh stop DIR     stop the server started in DIR
#   run.sh epcs DIR     print every EPC QU4RTET has captured, one per line, sorted
#
# Needs python3 with venv and pip (and PyPI reachable on the first install).
set -euo pipefail
# No __pycache__ inside the source tree.
export PYTHONDONTWRITEBYTECODE=1
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/qu4rtet-venv"
py="$venv/bin/python"

install() {
  if [ -x "$py" ] && [ "$(cat "$venv/.requirements" 2>/dev/null)" = "$(cat "$here/requirements.txt")" ]; then
    return 0
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/.requirements"
}

django() {
  local dir="$1"
  shift
  QU4RTET_HOME="$dir" PYTHONPATH="$here" DJANGO_SETTINGS_MODULE=qu4rtet_site.settings "$py" "$@"
}

start() {
  local dir="$1"
  install
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  rm -f "$dir/qu4rtet.sqlite3" "$dir/env"
  django "$dir" -m django migrate --no-input >"$dir/migrate.log" 2>&1 || {
    cat "$dir/migrate.log" >&2
    exit 1
  }
  django "$dir" "$here/setup_site.py" serialstation-seq serialstation-rnd serialstation-sscc >"$dir/site.env"
  local port
  port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # setsid: the server gets its own process group, so that stop ends it whole.
  QU4RTET_HOME="$dir" PYTHONPATH="$here" DJANGO_SETTINGS_MODULE=qu4rtet_site.settings \
    setsid "$py" -m django runserver --noreload "127.0.0.1:$port" >"$dir/server.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/server.pid"
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    if "$py" - "$url" <<'PY' 2>/dev/null; then
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/serialbox/", timeout=2)
except urllib.error.HTTPError:
    pass  # 401/403: it answers
PY
      {
        echo "QU4RTET_URL=$url"
        cat "$dir/site.env"
        echo "QU4RTET_PID=$pid"
      } >"$dir/env"
      echo "QU4RTET on $url (pid $pid); settings in $dir/env"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the QU4RTET server exited at start:" >&2
      cat "$dir/server.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "the QU4RTET server did not answer within 60 s:" >&2
  cat "$dir/server.log" >&2
  kill -- "-$pid" 2>/dev/null || true
  exit 1
}

stop() {
  local dir="$1"
  [ -f "$dir/server.pid" ] || return 0
  local pid
  pid="$(cat "$dir/server.pid")"
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  rm -f "$dir/server.pid"
}

epcs() {
  local dir
  dir="$(cd "$1" && pwd)"
  django "$dir" -c '
import django
django.setup()
from quartet_epcis.models.entries import Entry
for identifier in sorted(Entry.objects.values_list("identifier", flat=True)):
    print(identifier)
'
}

# Each aggregated entry with its parent, one "child parent" pair a line.
tree() {
  local dir
  dir="$(cd "$1" && pwd)"
  django "$dir" -c '
import django
django.setup()
from quartet_epcis.models.entries import Entry
for child, parent in sorted(Entry.objects.filter(parent_id__isnull=False).values_list("identifier", "parent_id__identifier")):
    print(child, parent)
'
}

case "${1:-}" in
  install) install ;;
  tree) tree "${2:?usage: run.sh tree DIR}" ;;
  start) start "${2:?usage: run.sh start DIR}" ;;
  stop) stop "${2:?usage: run.sh stop DIR}" ;;
  epcs) epcs "${2:?usage: run.sh epcs DIR}" ;;
  *)
    echo "usage: run.sh install | start DIR | stop DIR | epcs DIR | tree DIR" >&2
    exit 2
    ;;
esac
