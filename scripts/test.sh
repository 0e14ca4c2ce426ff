#!/usr/bin/env bash
# The whole suite, twice: on SQLite, then on a throwaway PostgreSQL cluster.
#
# Installs what the suite needs when it is absent and this user may install
# (root with apt-get): Debian's chromium for the browser tests, PostgreSQL's
# server binaries for the second run, and the Nu HTML checker (npm's vnu-jar, run
# with Java) for tests/http/test_html_valid.py. With CI=true a missing component fails
# the run; elsewhere it is reported and that part is skipped.
#
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/http -x`.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
CI="${CI:-}"
strict() { [ "$CI" = "true" ] || [ "${PORTAL_TEST_STRICT:-}" = "1" ]; }
say() { printf '\n== %s\n' "$*"; }

apt_updated=""
apt_install() {
  [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null || return 1
  if [ -z "$apt_updated" ]; then apt-get update -qq >/dev/null && apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- Chromium ---------------------------------------------------------------
CHROMIUM="${PORTAL_TEST_CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$CHROMIUM" ]; then
  say "Installing Debian's chromium for the browser tests"
  apt_install chromium && CHROMIUM=$(command -v chromium || true)
fi
pytest_extra=()
if [ -z "$CHROMIUM" ]; then
  if strict; then echo "FAIL: chromium is missing and could not be installed" >&2; exit 1; fi
  echo "WARNING: no chromium; browser tests are skipped (CI would fail)" >&2
  pytest_extra+=(-m "not browser")
fi
export PORTAL_TEST_CHROMIUM="$CHROMIUM"

# --- The Nu HTML checker ------------------------------------------------------
# vnu.jar from the npm registry, kept under .venv (ignored by git); Java runs it. Its
# postinstall script would download a JRE from GitHub: --ignore-scripts, Java from apt.
VNU_VERSION=26.9.27
VNU_DIR=.venv/vnu
VNU="${PORTAL_TEST_VNU:-$VNU_DIR/node_modules/vnu-jar/build/dist/vnu.jar}"
if ! command -v java >/dev/null; then
  say "Installing Java for the HTML checker"
  apt_install default-jre-headless
fi
if [ ! -f "$VNU" ] && [ -z "${PORTAL_TEST_VNU:-}" ]; then
  command -v npm >/dev/null || { say "Installing npm for the HTML checker"; apt_install npm; }
  if command -v npm >/dev/null; then
    say "Installing the Nu HTML checker (npm vnu-jar@$VNU_VERSION)"
    mkdir -p "$VNU_DIR"
    npm install --prefix "$VNU_DIR" --ignore-scripts --no-audit --no-fund --silent \
      "vnu-jar@$VNU_VERSION" >/dev/null
  fi
fi
if [ -f "$VNU" ] && command -v java >/dev/null && java -jar "$VNU" --version >/dev/null 2>&1; then
  PORTAL_TEST_VNU=$(cd "$(dirname "$VNU")" && pwd)/$(basename "$VNU")
  export PORTAL_TEST_VNU
else
  if strict; then echo "FAIL: the Nu HTML checker (vnu.jar with Java) is missing and could not be installed" >&2; exit 1; fi
  echo "WARNING: no Nu HTML checker; tests/http/test_html_valid.py is skipped (CI would fail)" >&2
  unset PORTAL_TEST_VNU
fi

# --- PostgreSQL ---------------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
PG_BIN="${PORTAL_TEST_PG_BIN:-$(pg_bin)}"
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  say "Installing PostgreSQL server binaries"
  apt_install postgresql && PG_BIN=$(pg_bin)
fi
PG_URL=""
PG_DIR=""
stop_pg() {
  if [ -n "$PG_DIR" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$PG_DIR"
  fi
}
trap stop_pg EXIT
as_pg() {
  # PostgreSQL refuses to run as root: use the postgres system user then.
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
  PG_DIR=$(mktemp -d /tmp/portal-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  [ "$(id -u)" = "0" ] && chown postgres "$PG_DIR"
  PG_PORT=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
    && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
         -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" \
         start >/dev/null; then
    PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  else
    cat "$PG_DIR"/*.log >&2
  fi
fi
if [ -z "$PG_URL" ]; then
  if strict; then echo "FAIL: PostgreSQL could not be installed or started" >&2; exit 1; fi
  echo "WARNING: no PostgreSQL; only the SQLite run happens (CI would fail)" >&2
fi

# --- The suite, once per database -------------------------------------------------
status=0
say "ruff"
$BIN/ruff check src tests bench || status=1
say "pytest on SQLite"
PORTAL_TEST_DATABASE=sqlite $BIN/pytest "${pytest_extra[@]}" "$@" || status=1
if [ -n "$PG_URL" ]; then
  say "pytest on PostgreSQL"
  PORTAL_TEST_DATABASE="$PG_URL" $BIN/pytest "${pytest_extra[@]}" "$@" || status=1
fi
exit $status
