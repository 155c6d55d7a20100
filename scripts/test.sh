#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: installs what is missing, then runs pytest.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh tests/test_demo.py -x
#
# Needs Python 3.11+. The suite talks to real parts only: a PostgreSQL at 127.0.0.1:5432
# (or STREAMSRV_TEST_PG), a redis-server it starts itself, and a headless Chromium for the
# browser tests. Missing PostgreSQL and Chromium are installed with apt-get when run as root.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PG_URL="${STREAMSRV_TEST_PG:-postgresql://postgres@127.0.0.1:5432/test}"
PG_DATA="${STREAMSRV_TEST_PG_DATA:-/tmp/streamsrv-test-pg}"

say() { printf '>> %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = "0" ]; }

apt_install() {
    if ! is_root || ! command -v apt-get >/dev/null; then
        say "please install: $* (apt-get needs root)"
        return 1
    fi
    if [ -z "${APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_venv() {
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv"
        "$PYTHON" -m venv .venv
    fi
    # Quick when everything is already there; keeps the editable install in step with pyproject.
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
}

ensure_chromium() {
    if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
        return 0
    fi
    say "installing chromium for the browser tests"
    apt_install chromium
}

pg_reachable() {
    .venv/bin/python - "$PG_URL" <<'PY' 2>/dev/null
import sys

import psycopg

with psycopg.connect(sys.argv[1], connect_timeout=3):
    pass
PY
}

ensure_postgres() {
    if pg_reachable; then
        return 0
    fi
    if [ -n "${STREAMSRV_TEST_PG:-}" ]; then
        say "STREAMSRV_TEST_PG=$STREAMSRV_TEST_PG is not reachable"
        return 1
    fi
    # A private, trust-auth cluster on 127.0.0.1:5432 for tests only; nothing else uses it.
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$bin" ]; then
        say "installing postgresql for the database tests"
        apt_install postgresql
        bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    local run=()
    if is_root; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DATA" postgres
        run=(runuser -u postgres --)
    fi
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        say "initialising a test PostgreSQL cluster in $PG_DATA"
        mkdir -p "$PG_DATA"
        is_root && chown postgres "$PG_DATA"
        "${run[@]}" "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust >/dev/null
    fi
    say "starting the test PostgreSQL on 127.0.0.1:5432"
    "${run[@]}" "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p 5432 -k /tmp" start >/dev/null
    "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p 5432 -U postgres test 2>/dev/null || true
    pg_reachable
}

ensure_venv
ensure_chromium || say "chromium is missing: the browser tests will fail"
ensure_postgres
exec .venv/bin/python -m pytest "$@"
