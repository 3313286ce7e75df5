#!/usr/bin/env bash
# Runs every test in Sagas.sln.
#
# PostgreSQL and RabbitMQ: when SAGAS_TEST_POSTGRES / SAGAS_TEST_RABBITMQ are set they are used as given;
# otherwise throwaway servers are started from the Debian packages (installed first when missing and
# running as root) on free loopback ports inside a temporary folder, and stopped again on every exit path.
# A system-wide PostgreSQL or RabbitMQ is never touched.
# Amazon SQS/SNS (and S3): the specs start the npm fauxqs emulator themselves, one per test class; the package is
# installed here into its cache (SAGAS_FAUXQS_CACHE, else ~/.cache/sagas-tests/fauxqs-VERSION) when missing, before
# any test assembly starts, so parallel assemblies never race on npm. Needs node 20+ and npm.
#
# Usage: tests/run-tests.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Scheduling]
#        tests/run-tests.sh --exec COMMAND [ARGS...]   runs COMMAND instead of the tests, with the same servers
#                                                      (benchmarks: --exec dotnet run -c Release --project tests/Sagas.Benchmarks -- ...)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/sagas-tests.XXXXXX")
chmod 755 "$work"
pg_bin=""
pg_data=""
rabbit_node=""

log() { printf '[run-tests] %s\n' "$*" >&2; }

stop_servers() {
  local status=$?
  set +e
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    log "stopping throwaway PostgreSQL"
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [ -n "$rabbit_node" ]; then
    log "stopping throwaway RabbitMQ"
    rabbitmq_env /usr/lib/rabbitmq/bin/rabbitmqctl -n "$rabbit_node" shutdown >/dev/null 2>&1 \
      || { [ -f "$work/rabbit/pid" ] && kill -9 "$(cat "$work/rabbit/pid")" 2>/dev/null; }
  fi
  rm -rf "$work"
  exit $status
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 30000 ))
    if port_is_free "$port"; then echo "$port"; return 0; fi
  done
  log "no free loopback port found"; return 1
}

wait_for_port() {
  local port=$1 what=$2 seconds=${3:-60}
  for _ in $(seq 1 $(( seconds * 4 ))); do
    if ! port_is_free "$port"; then return 0; fi
    sleep 0.25
  done
  log "$what did not open 127.0.0.1:$port within ${seconds}s"; return 1
}

install_packages() {
  local missing=()
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  # The dashboard's browser specs drive Debian's Chromium; Playwright never downloads a browser here.
  [ -x "${SAGAS_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
  # The OCR specs run the real Tesseract (with its English data) and poppler's pdftoppm.
  command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
  [ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || missing+=(tesseract-ocr-eng)
  command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root to install them, or set SAGAS_TEST_POSTGRES and SAGAS_TEST_RABBITMQ)"
    return 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # policy-rc.d keeps the package scripts from starting a system-wide server as a side effect.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pg_data="$work/pg"
  local port; port=$(free_port)
  mkdir -p "$pg_data" "$work/pgsock"
  echo sagas > "$work/pgpass"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pg_data" "$work/pgsock" "$work/pgpass"
  as_pg "$pg_bin/initdb" -D "$pg_data" -U sagas --pwfile="$work/pgpass" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log" >&2; return 1; }
  # fsync off: a throwaway cluster that only has to survive process restarts, not power loss.
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 \
    -o "-p $port -k $work/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  export SAGAS_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=sagas;Password=sagas;Database=postgres"
  export SAGAS_TEST_POSTGRES_DATA="$pg_data"
  export SAGAS_TEST_POSTGRES_BIN="$pg_bin"
  log "PostgreSQL on 127.0.0.1:$port"
}

rabbitmq_env() {
  env RABBITMQ_NODENAME="$rabbit_node" \
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT="$rabbit_port" \
      RABBITMQ_DIST_PORT="$rabbit_dist_port" \
      RABBITMQ_CONFIG_FILE="$work/rabbit/rabbitmq" \
      RABBITMQ_ADVANCED_CONFIG_FILE="$work/rabbit/advanced.config" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$work/rabbit/enabled_plugins" \
      RABBITMQ_MNESIA_BASE="$work/rabbit/mnesia" \
      RABBITMQ_LOG_BASE="$work/rabbit/log" \
      RABBITMQ_PID_FILE="$work/rabbit/pid" \
      RABBITMQ_CONF_ENV_FILE="$work/rabbit/rabbitmq-env.conf" \
      "$@"
}

start_rabbitmq() {
  rabbit_port=$(free_port)
  rabbit_dist_port=$(free_port)
  rabbit_node="sagas-test-$$@localhost"
  mkdir -p "$work/rabbit/mnesia" "$work/rabbit/log"
  printf 'loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%s\n' "$rabbit_port" > "$work/rabbit/rabbitmq.conf"
  echo '[].' > "$work/rabbit/advanced.config"
  echo '[].' > "$work/rabbit/enabled_plugins"
  : > "$work/rabbit/rabbitmq-env.conf"
  rabbitmq_env /usr/lib/rabbitmq/bin/rabbitmq-server >"$work/rabbit/console.log" 2>&1 &
  # await_startup fails at once while the Erlang node itself is still booting, so ask until it answers.
  local started=""
  for _ in $(seq 1 90); do
    if rabbitmq_env /usr/lib/rabbitmq/bin/rabbitmqctl -n "$rabbit_node" --timeout 60 await_startup >/dev/null 2>&1; then
      started=yes; break
    fi
    sleep 1
  done
  if [ -z "$started" ]; then
    log "RabbitMQ did not start"; tail -n 40 "$work/rabbit/console.log" >&2; return 1
  fi
  wait_for_port "$rabbit_port" RabbitMQ 30
  export SAGAS_TEST_RABBITMQ="amqp://guest:guest@127.0.0.1:$rabbit_port/"
  export SAGAS_TEST_RABBITMQ_NODE="$rabbit_node"
  # Lets fault tests stop and start the broker application with the same environment.
  export SAGAS_TEST_RABBITMQ_CTL="$work/rabbit/ctl"
  { echo '#!/usr/bin/env bash'; declare -p rabbit_node rabbit_port rabbit_dist_port work; declare -f rabbitmq_env;
    echo 'rabbitmq_env /usr/lib/rabbitmq/bin/rabbitmqctl -n "$rabbit_node" "$@"'; } > "$SAGAS_TEST_RABBITMQ_CTL"
  chmod +x "$SAGAS_TEST_RABBITMQ_CTL"
  log "RabbitMQ on 127.0.0.1:$rabbit_port (node $rabbit_node)"
}

# The version the specs pin (FauxqsServer.Version) is read from there, so the two never disagree.
fauxqs_source=tests/Sagas.Integration.Tests/Storage/FauxqsServer.cs

install_fauxqs() {
  local version cache installed
  version=$(sed -n 's/^ *public const string Version = "\([0-9][0-9.]*\)";.*/\1/p' "$fauxqs_source")
  [ -n "$version" ] || { log "no fauxqs version found in $fauxqs_source"; return 1; }
  cache=${SAGAS_FAUXQS_CACHE:-$HOME/.cache/sagas-tests/fauxqs-$version}
  if ! command -v node >/dev/null 2>&1; then
    log "node is missing: the Amazon SQS and S3 specs are skipped (with CI=true they fail)"
    return 0
  fi
  installed() { [ "$(node -p "require('$cache/node_modules/fauxqs/package.json').version" 2>/dev/null)" = "$version" ]; }
  installed && return 0
  if ! command -v npm >/dev/null 2>&1; then
    log "npm is missing and fauxqs $version is not in $cache: the Amazon SQS and S3 specs cannot run"
    return 0
  fi
  mkdir -p "$(dirname "$cache")"
  # The same lock file the specs take when they install it themselves (another worktree's run, a plain dotnet test).
  exec 9>"$cache.lock"
  flock -w 300 9 || { log "waited 5 minutes for $cache.lock"; return 1; }
  if ! installed; then
    log "installing fauxqs $version into $cache"
    local staging="$cache.staging-$$"
    rm -rf "$staging" && mkdir -p "$staging"
    printf '{ "name": "sagas-fauxqs", "private": true, "type": "module" }\n' > "$staging/package.json"
    if ! (cd "$staging" && npm install "fauxqs@$version" --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1); then
      cat "$work/npm.log" >&2; rm -rf "$staging"; exec 9>&-
      log "npm install fauxqs@$version failed"; return 1
    fi
    rm -rf "$cache" && mv "$staging" "$cache"
  fi
  exec 9>&-
}

if [ -z "${SAGAS_TEST_POSTGRES:-}" ] || [ -z "${SAGAS_TEST_RABBITMQ:-}" ]; then
  install_packages
fi
[ -n "${SAGAS_TEST_POSTGRES:-}" ] || start_postgres
[ -n "${SAGAS_TEST_RABBITMQ:-}" ] || start_rabbitmq
install_fauxqs

if command -v docker-compose >/dev/null 2>&1; then
  log "validating compose/docker-compose.yml"
  docker-compose -f compose/docker-compose.yml config -q
else
  log "docker-compose not installed: compose file not validated"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ "${1:-}" = "--exec" ]; then
  shift
  set +e
  "$@"
  status=$?
  set -e
  exit "$status"
fi

results="$work/results"
# A test that stops making progress for 15 minutes is stopped and named (blame), instead of holding the run until
# CI's own limit says nothing. The longest spec takes about 3 minutes on a loaded 2-core machine.
hang_guard=(--blame-hang-timeout 15m --blame-hang-dump-type none)
set +e
if [ $# -gt 0 ]; then
  dotnet test Sagas.sln -c Release --results-directory "$results" --logger "trx" "${hang_guard[@]}" "$@" 2>&1 | tee "$work/test.log"
  status=${PIPESTATUS[0]}
else
  # The fault suite restarts the shared broker and the benchmark smoke run loads both cores: they run in a second pass,
  # alone, so no other test assembly sees a broker restart or a starved machine.
  exclusive='FullyQualifiedName~Sagas.Integration.Tests.Faults|FullyQualifiedName~Sagas.Integration.Tests.Benchmarks'
  dotnet test Sagas.sln -c Release --results-directory "$results" --logger "trx" "${hang_guard[@]}" \
    --filter "FullyQualifiedName!~Sagas.Integration.Tests.Faults&FullyQualifiedName!~Sagas.Integration.Tests.Benchmarks&FullyQualifiedName!~Sagas.Browser.Tests" 2>&1 | tee "$work/test.log"
  status=${PIPESTATUS[0]}
  # The browser specs wait on a real Chromium with timeouts; beside three other assemblies on 2 cores they starve.
  log "browser pass"
  dotnet test tests/Sagas.Browser.Tests -c Release --no-build --results-directory "$results" --logger "trx" "${hang_guard[@]}" 2>&1 | tee -a "$work/test.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  log "exclusive pass: fault suite and benchmark smoke run"
  dotnet test tests/Sagas.Integration.Tests -c Release --no-build --results-directory "$results" --logger "trx" "${hang_guard[@]}" \
    --filter "$exclusive" 2>&1 | tee -a "$work/test.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
set -e

# One closing line over all assemblies, in the plain form CI reads.
awk '/(Passed|Failed|Skipped)! +- Failed: /{ gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     /The active test run was aborted/ { a++ }
     END { if (a) printf "%d test run(s) aborted (a hang or a crash: the blame lines above name the test)\n", a; printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$work/test.log"
exit "$status"
