#!/usr/bin/env bash
# Start the Celery worker, beat and daphne in the background; pids go to the run dir.
set -euo pipefail
run_dir=$1 host=$2 port=$3
venv=.venv/bin

start() {
  local name=$1; shift
  if [ -f "$run_dir/$name.pid" ] && kill -0 "$(cat "$run_dir/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$run_dir/$name.pid"))"; return
  fi
  nohup "$@" >"$run_dir/$name.log" 2>&1 &
  echo $! >"$run_dir/$name.pid"
  echo "started $name (pid $!, log $run_dir/$name.log)"
}

start worker "$venv/celery" -A mlops_portal worker -l info -Q "${CELERY_QUEUE:-portal}" --concurrency 2
start beat "$venv/celery" -A mlops_portal beat -l info \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler --pidfile=
start web "$venv/daphne" -b "$host" -p "$port" mlops_portal.asgi:application

for _ in $(seq 1 60); do
  curl -fsS "http://$host:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5
done
cat <<MSG

MLOps Portal is running at http://$host:$port/
Sign in as alice (data scientist), bob or dan (reviewers), carol (platform admin) or eve
(outsider) with DEMO_PASSWORD, or with the password seed_demo printed when it created them.
Stop everything with: make stop
MSG
