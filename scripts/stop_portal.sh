#!/usr/bin/env bash
# Stop what `make run` started (web, beat, worker, and Redis if it started one).
set -uo pipefail
run_dir=$1
for name in web beat worker redis; do
  pid_file="$run_dir/$name.pid"
  [ -f "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  if kill "$pid" 2>/dev/null; then echo "stopped $name (pid $pid)"; fi
  rm -f "$pid_file"
done
