#!/usr/bin/env bash
# Benchmark peer: Debezium Server 3.6.1.Final (Outbox Event Router + NATS JetStream sink).
#
#   peer.sh install
#   peer.sh prepare --db NAME
#   peer.sh start   --db NAME --nats URL --stream NAME --subject-prefix PREFIX
#                   --poll-interval-ms N --http-port P --data DIR
#                   [--heap 512m|none] [--max-batch-size N] [--max-queue-size N]
#                   [--heartbeat-ms N] [--create-stream true|false] [--ready-timeout S]
#                   [--extended-headers true|false] [--header-values string|json]
#   peer.sh stop    --data DIR [--timeout S] [--keep-slot]
#   peer.sh status  --data DIR
#   peer.sh teardown --db NAME            # drop the database, its slots and publication
#   peer.sh stream  info|count|show|verify|wait|delete --nats URL --stream NAME [...]
#                   (tools/PeerStream.java on jnats; see its header)
#
# Environment: OUTBOXKIT_BENCH_CACHE (default ~/.cache/outboxkit-bench),
#              PEER_JAVA_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64),
#              PGHOST/PGPORT/PGUSER (default 127.0.0.1/5432/postgres).
# See README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DBZ_VERSION="3.6.1.Final"
JNATS_VERSION="2.26.2"
CACHE="${OUTBOXKIT_BENCH_CACHE:-$HOME/.cache/outboxkit-bench}"
DIST_TGZ="$CACHE/debezium-server-dist-$DBZ_VERSION.tar.gz"
DIST_ROOT="$CACHE/debezium-server-$DBZ_VERSION"
DIST="$DIST_ROOT/debezium-server"
PEER_JAVA_HOME="${PEER_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER

die() { echo "peer.sh: $*" >&2; exit 1; }
log() { echo "peer.sh: $*" >&2; }
now_ms() { date +%s%3N; }

psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -v ON_ERROR_STOP=1 -q -At -d postgres "$@"; }

check_ident() { # database / stream names go into SQL and file names: keep them plain
  [[ "$1" =~ ^[a-z_][a-z0-9_]{0,40}$ ]] || die "invalid name '$1' (want [a-z_][a-z0-9_]*, max 41 chars)"
}

# ---------------------------------------------------------------------------------------
cmd_install() {
  if [[ -f "$DIST_ROOT/.complete" ]]; then
    echo "$DIST"; return 0
  fi
  mkdir -p "$CACHE"
  if [[ ! -f "$DIST_TGZ" ]]; then
    log "downloading io.debezium:debezium-server-dist:$DBZ_VERSION:tar.gz from Maven Central (~780 MB)"
    # run outside any project so the standalone goal is used; the artifact also lands in ~/.m2
    (cd "$CACHE" && mvn -q -B dependency:copy \
        "-Dartifact=io.debezium:debezium-server-dist:$DBZ_VERSION:tar.gz" \
        "-DoutputDirectory=$CACHE" >&2) || die "maven download failed"
  fi
  [[ -f "$DIST_TGZ" ]] || die "missing $DIST_TGZ after download"
  log "unpacking into $DIST_ROOT"
  local tmp="$DIST_ROOT.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  tar -xzf "$DIST_TGZ" -C "$tmp"
  [[ -f "$tmp/debezium-server/run.sh" ]] || die "unexpected archive layout"
  rm -rf "$DIST_ROOT"
  mv "$tmp" "$DIST_ROOT"
  touch "$DIST_ROOT/.complete"
  echo "$DIST"
}

ensure_installed() {
  [[ -f "$DIST_ROOT/.complete" ]] || die "distribution not installed: run '$0 install' first"
}

# ---------------------------------------------------------------------------------------
drop_slot() { # $1 slot name; waits (deadline) for an active slot to go inactive
  local slot="$1" deadline=$(( $(now_ms) + ${2:-15000} )) active
  while :; do
    active=$(psql_admin -c "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'")
    [[ -z "$active" ]] && return 0
    if [[ "$active" == "f" ]]; then
      psql_admin -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null && { log "dropped slot $slot"; return 0; }
    fi
    if (( $(now_ms) > deadline )); then
      log "slot $slot still active after deadline; terminating its walsender"
      psql_admin -c "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '$slot' AND active_pid IS NOT NULL" >/dev/null
      deadline=$(( $(now_ms) + 5000 ))
    fi
    sleep 0.2
  done
}

drop_db_and_slots() { # $1 db name
  local db="$1" s
  # every slot bound to this database blocks DROP DATABASE; the peer's slot is "<db>_slot"
  for s in $(psql_admin -c "SELECT slot_name FROM pg_replication_slots WHERE database = '$db' OR slot_name = '${db}_slot'"); do
    drop_slot "$s"
  done
  psql_admin -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
}

cmd_prepare() {
  local db=""
  while (( $# )); do
    case "$1" in
      --db) db="$2"; shift 2 ;;
      *) die "prepare: unknown option $1" ;;
    esac
  done
  [[ -n "$db" ]] || die "prepare: --db NAME required"
  check_ident "$db"
  drop_db_and_slots "$db"
  psql_admin -c "CREATE DATABASE \"$db\""
  PGOPTIONS="-c client_min_messages=warning" psql -X -v ON_ERROR_STOP=1 -q -d "$db" <<SQL
CREATE TABLE public.outbox (
  id            uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid   varchar(255) NOT NULL,
  type          varchar(255) NOT NULL,
  payload       jsonb
);
CREATE PUBLICATION ${db}_pub FOR TABLE public.outbox;
SQL
  log "prepared database $db (table public.outbox, publication ${db}_pub; slot ${db}_slot is created by the peer)"
}

cmd_teardown() {
  local db=""
  while (( $# )); do
    case "$1" in
      --db) db="$2"; shift 2 ;;
      *) die "teardown: unknown option $1" ;;
    esac
  done
  [[ -n "$db" ]] || die "teardown: --db NAME required"
  check_ident "$db"
  drop_db_and_slots "$db"
  log "dropped database $db and its slots"
}

# ---------------------------------------------------------------------------------------
proc_running() { # $1 pid: exists and is not a zombie waiting to be reaped
  kill -0 "$1" 2>/dev/null && [[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

pid_alive() { # $1 pid: alive and really a Debezium Server JVM (guards against pid reuse)
  [[ -n "$1" ]] && proc_running "$1" && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q 'io.debezium.server.Main'
}

cmd_start() {
  local db="" nats="" stream="" prefix="" poll="" http="" heap="none" data="" \
        max_batch="" max_queue="" heartbeat="" create_stream="true" ready_timeout=120 \
        header_values="string" extended_headers=""
  while (( $# )); do
    case "$1" in
      --db) db="$2"; shift 2 ;;
      --nats) nats="$2"; shift 2 ;;
      --stream) stream="$2"; shift 2 ;;
      --subject-prefix) prefix="$2"; shift 2 ;;
      --poll-interval-ms) poll="$2"; shift 2 ;;
      --http-port) http="$2"; shift 2 ;;
      --heap) heap="$2"; shift 2 ;;
      --data) data="$2"; shift 2 ;;
      --max-batch-size) max_batch="$2"; shift 2 ;;
      --max-queue-size) max_queue="$2"; shift 2 ;;
      --heartbeat-ms) heartbeat="$2"; shift 2 ;;
      --create-stream) create_stream="$2"; shift 2 ;;
      --header-values) header_values="$2"; shift 2 ;;
      --extended-headers) extended_headers="$2"; shift 2 ;;
      --ready-timeout) ready_timeout="$2"; shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  local v var
  for v in db:db nats:nats stream:stream prefix:subject-prefix poll:poll-interval-ms http:http-port data:data; do
    var="${v%%:*}"
    [[ -n "${!var}" ]] || die "start: --${v#*:} is required (see the header of $0)"
  done
  check_ident "$db"
  [[ "$stream" =~ ^[A-Za-z0-9_-]+$ ]] || die "start: invalid stream name '$stream'"
  [[ "$prefix" =~ ^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$ ]] || die "start: invalid subject prefix '$prefix'"
  [[ "$poll" =~ ^[0-9]+$ && "$http" =~ ^[0-9]+$ ]] || die "start: --poll-interval-ms and --http-port must be integers"
  [[ -z "$max_batch" || "$max_batch" =~ ^[0-9]+$ ]] || die "start: bad --max-batch-size"
  [[ -z "$max_queue" || "$max_queue" =~ ^[0-9]+$ ]] || die "start: bad --max-queue-size"
  [[ -z "$heartbeat" || "$heartbeat" =~ ^[0-9]+$ ]] || die "start: bad --heartbeat-ms"
  [[ "$create_stream" == true || "$create_stream" == false ]] || die "start: --create-stream true|false"
  [[ -z "$extended_headers" || "$extended_headers" == true || "$extended_headers" == false ]] || die "start: --extended-headers true|false"
  [[ "$header_values" == string || "$header_values" == json ]] || die "start: --header-values string|json"
  [[ "$heap" == none || "$heap" =~ ^[0-9]+[kKmMgG]$ ]] || die "start: --heap like 512m, or none"
  ensure_installed
  [[ -x "$PEER_JAVA_HOME/bin/java" ]] || die "no java at $PEER_JAVA_HOME (Debezium Server needs 21+)"

  mkdir -p "$data"
  data="$(cd "$data" && pwd)"
  if [[ -f "$data/pid" ]] && pid_alive "$(cat "$data/pid")"; then
    die "a peer is already running from $data (pid $(cat "$data/pid"))"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null; then
    die "http port $http is already in use"
  fi

  # -- work dir: symlinks to the shared distribution, private config/ and offsets ------
  local f
  for f in lib lib_opt lib_metrics jmx connectors "debezium-server-dist-$DBZ_VERSION-runner.jar" run.sh; do
    ln -sfn "$DIST/$f" "$data/$f"
  done
  rm -rf "$data/config"
  cp -r "$DIST/config" "$data/config"
  mkdir -p "$data/config.examples"
  mv "$data"/config/*.example "$data/config.examples/" 2>/dev/null || true
  rm -f "$data/pid" "$data/ready_ms"

  local slot="${db}_slot" pub="${db}_pub" props="$data/config/application.properties"
  local header_line="debezium.format.header.class=org.apache.kafka.connect.storage.StringConverter"
  [[ "$header_values" == json ]] && header_line="# (--header-values json: header values are JSON-encoded)"
  sed -e "s|@NATS_URL@|$nats|g" \
      -e "s|@STREAM@|$stream|g" \
      -e "s|@SUBJECT_PREFIX@|$prefix|g" \
      -e "s|@DATA_DIR@|$data|g" \
      -e "s|@PGHOST@|$PGHOST|g" \
      -e "s|@PGPORT@|$PGPORT|g" \
      -e "s|@PGUSER@|$PGUSER|g" \
      -e "s|@PGPASSWORD@|${PGPASSWORD:-unused}|g" \
      -e "s|@DB@|$db|g" \
      -e "s|@SLOT@|$slot|g" \
      -e "s|@PUBLICATION@|$pub|g" \
      -e "s|@POLL_INTERVAL_MS@|$poll|g" \
      -e "s|@HEADER_CONVERTER_LINE@|$header_line|g" \
      -e "s|@HTTP_PORT@|$http|g" \
      "$HERE/application.properties.template" > "$props"
  {
    echo
    echo "# ---- options given to peer.sh start -------------------------------------------------"
    echo "debezium.sink.nats-jetstream.create-stream=$create_stream"
    [[ -n "$max_batch" ]] && echo "debezium.source.max.batch.size=$max_batch"
    [[ -n "$extended_headers" ]] && echo "debezium.source.extended.headers.enabled=$extended_headers"
    [[ -n "$max_queue" ]] && echo "debezium.source.max.queue.size=$max_queue"
    if [[ -n "$heartbeat" ]]; then
      echo "debezium.source.heartbeat.interval.ms=$heartbeat"
      echo "debezium.source.heartbeat.action.query=SELECT pg_logical_emit_message(false,'heartbeat',now()::varchar)"
    fi
    true
  } >> "$props"
  grep -q '@[A-Z_]*@' "$props" && die "unsubstituted token in $props"

  cat > "$data/run.env" <<EOF
DB=$db
SLOT=$slot
PUBLICATION=$pub
NATS_URL=$nats
STREAM=$stream
SUBJECT_PREFIX=$prefix
HTTP_PORT=$http
POLL_INTERVAL_MS=$poll
HEAP=$heap
MAX_BATCH_SIZE=$max_batch
MAX_QUEUE_SIZE=$max_queue
HEARTBEAT_MS=$heartbeat
EOF

  local java_opts="--add-opens=java.base/java.lang=ALL-UNNAMED"
  [[ "$heap" != none ]] && java_opts="-Xmx$heap $java_opts"

  # -- launch: own session, pid written by the process itself (run.sh execs java) -------
  local t0; t0=$(now_ms)
  (
    cd "$data"
    exec env -u JMX_HOST -u JMX_PORT -u JMX_EXPORTER_PORT -u OTEL_ENABLED -u EXTRA_CONNECTOR \
         -u ENABLE_DEBEZIUM_SCRIPTING -u ENABLE_CHRONICLE_QUEUE -u DEBEZIUM_OPTS \
         JAVA_HOME="$PEER_JAVA_HOME" JAVA_OPTS="$java_opts" \
         setsid bash -c 'echo $$ > pid; exec ./run.sh' </dev/null >"$data/server.log" 2>&1
  ) &
  local deadline=$(( t0 + ready_timeout * 1000 )) pid="" health="" slot_active=""
  while :; do
    [[ -z "$pid" && -s "$data/pid" ]] && pid=$(cat "$data/pid")
    if [[ -n "$pid" ]] && ! proc_running "$pid"; then
      tail -n 40 "$data/server.log" >&2
      die "Debezium Server exited during start-up (see $data/server.log)"
    fi
    if grep -qE 'Connector completed: success = .false' "$data/server.log" 2>/dev/null; then
      tail -n 40 "$data/server.log" >&2
      die "connector failed during start-up (see $data/server.log)"
    fi
    # ready = Quarkus health says UP (the debezium liveness check included)
    #         and the connector streams from its slot (slot active, streaming logged)
    health=$(curl -s -m 2 "http://127.0.0.1:$http/q/health" 2>/dev/null || true)
    if [[ "$health" == *'"status": "UP"'* || "$health" == *'"status":"UP"'* ]]; then
      slot_active=$(psql_admin -c "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'" 2>/dev/null || true)
      if [[ "$slot_active" == t ]] && grep -q 'Processing messages' "$data/server.log"; then
        break
      fi
    fi
    if (( $(now_ms) > deadline )); then
      tail -n 40 "$data/server.log" >&2
      die "not ready after ${ready_timeout}s (pid ${pid:-?}; server still running, stop it with: $0 stop --data $data)"
    fi
    sleep 0.1
  done
  local ready_ms=$(( $(now_ms) - t0 ))
  echo "$ready_ms" > "$data/ready_ms"
  log "Debezium Server ready: pid $pid, http :$http, slot $slot, stream $stream, subjects $prefix.>"
  echo "ready_ms=$ready_ms"
}

cmd_stop() {
  local data="" timeout=30 keep_slot=false
  while (( $# )); do
    case "$1" in
      --data) data="$2"; shift 2 ;;
      --timeout) timeout="$2"; shift 2 ;;
      --keep-slot) keep_slot=true; shift ;;
      *) die "stop: unknown option $1" ;;
    esac
  done
  [[ -n "$data" && -d "$data" ]] || die "stop: --data DIR required (an existing run dir)"
  local pid="" slot=""
  [[ -f "$data/pid" ]] && pid=$(cat "$data/pid")
  [[ -f "$data/run.env" ]] && slot=$(sed -n 's/^SLOT=//p' "$data/run.env")
  if pid_alive "$pid"; then
    local t0; t0=$(now_ms)
    kill -TERM "$pid"
    local deadline=$(( t0 + timeout * 1000 ))
    while proc_running "$pid" && (( $(now_ms) < deadline )); do sleep 0.05; done
    if proc_running "$pid"; then
      log "pid $pid ignored SIGTERM for ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while proc_running "$pid"; do sleep 0.05; done
    fi
    log "stopped pid $pid in $(( $(now_ms) - t0 )) ms"
  else
    log "no running peer in $data"
  fi
  rm -f "$data/pid"
  if [[ -n "$slot" && "$keep_slot" == false ]]; then
    drop_slot "$slot"
  fi
}

cmd_status() {
  local data=""
  while (( $# )); do
    case "$1" in
      --data) data="$2"; shift 2 ;;
      *) die "status: unknown option $1" ;;
    esac
  done
  [[ -n "$data" ]] || die "status: --data DIR required"
  local pid=""; [[ -f "$data/pid" ]] && pid=$(cat "$data/pid")
  if pid_alive "$pid"; then
    echo "running pid=$pid rss_kb=$(ps -o rss= -p "$pid" | tr -d ' ')"
  else
    echo "stopped"; return 1
  fi
}

# ---------------------------------------------------------------------------------------
# stream helper: a single-file Java program (tools/PeerStream.java) on the jnats jar
cmd_stream() {
  local jar="$HOME/.m2/repository/io/nats/jnats/$JNATS_VERSION/jnats-$JNATS_VERSION.jar"
  if [[ ! -f "$jar" ]]; then
    (cd /tmp && mvn -q -B dependency:get "-Dartifact=io.nats:jnats:$JNATS_VERSION" >&2) || die "cannot fetch jnats"
  fi
  java -cp "$jar" "$HERE/tools/PeerStream.java" "$@"
}

main() {
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    install) cmd_install "$@" ;;
    prepare) cmd_prepare "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    teardown) cmd_teardown "$@" ;;
    stream) cmd_stream "$@" ;;
    *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; [[ -z "$cmd" || "$cmd" == -h || "$cmd" == --help ]] || exit 2 ;;
  esac
}
main "$@"
