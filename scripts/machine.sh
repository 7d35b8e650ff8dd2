#!/usr/bin/env bash
# What `make test`, `make run-prod` and `make prod-test` need from the machine (Debian): installs nginx and Chromium
# when missing, starts PostgreSQL and Redis when installed but down, says clearly what is missing otherwise.
# Usage: scripts/machine.sh [nginx] [chromium] [postgres] [redis]   (no argument: all four)
set -euo pipefail

apt_install() {  # apt_install PACKAGE: apt-get install, with apt-get update once if the package is unknown
  local tries
  for tries in 1 2 3 4 5 6; do  # another apt may hold the dpkg lock for a while
    if apt-get install -y -q "$1" || { apt-get update -q && apt-get install -y -q "$1"; }; then
      return 0
    fi
    echo "machine: apt-get failed (attempt $tries); retrying in 20 s" >&2
    sleep 20
  done
  echo "machine: could not install $1; install it and run make again" >&2
  return 1
}

need_nginx() {
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || apt_install nginx-light
}

need_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

need_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return 0; fi
  if [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "machine: PostgreSQL is not installed (apt-get install postgresql) and nothing answers on 127.0.0.1:5432" >&2
    return 1
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -1)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && return 0; sleep 1; done
  echo "machine: PostgreSQL did not come up on 127.0.0.1:5432" >&2
  return 1
}

need_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "machine: Redis is not installed (apt-get install redis-server) and nothing answers on 127.0.0.1:6379" >&2
    return 1
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "machine: Redis did not come up on 127.0.0.1:6379" >&2
  return 1
}

[ "$#" -gt 0 ] || set -- nginx chromium postgres redis
for need in "$@"; do
  "need_$need"
done
