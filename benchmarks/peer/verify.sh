#!/usr/bin/env bash
# End-to-end check of the peer against the shared PostgreSQL and NATS servers:
#   prepare db -> start peer -> 10,000 outbox rows (verify-load.sql) -> stream holds exactly
#   those 10,000 ids as Nats-Msg-Id -> stop (slot kept) -> 100 rows while down -> restart on the
#   same offsets -> 10,100, still exactly the outbox ids -> clean up (stream, slot, db).
# Everything it creates is removed at the end, also on failure.
#
#   verify.sh [--poll-interval-ms N] [--http-port P] [--heap 512m|none] [--keep]
#
# Env: VERIFY_DB (peer_verify), VERIFY_STREAM (PEER_VERIFY), VERIFY_PREFIX (peerverify),
#      VERIFY_NATS (nats://127.0.0.1:4222), VERIFY_DATA (/tmp/peer-verify).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
P="$HERE/peer.sh"
DB="${VERIFY_DB:-peer_verify}"
STREAM="${VERIFY_STREAM:-PEER_VERIFY}"
PREFIX="${VERIFY_PREFIX:-peerverify}"
NATS="${VERIFY_NATS:-nats://127.0.0.1:4222}"
DATA="${VERIFY_DATA:-/tmp/peer-verify}"
POLL=500 HTTP=18083 HEAP=none KEEP=false
while (( $# )); do
  case "$1" in
    --poll-interval-ms) POLL="$2"; shift 2 ;;
    --http-port) HTTP="$2"; shift 2 ;;
    --heap) HEAP="$2"; shift 2 ;;
    --keep) KEEP=true; shift ;;   # leave db, stream and data dir for inspection (peer is stopped)
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
now_ms() { date +%s%3N; }
say() { echo "== $*"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
rss_kb() { ps -o rss= -p "$(cat "$DATA/pid")" | tr -d ' '; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$(cat "$DATA/pid")/status"; }

cleanup() {
  local rc=$?
  [[ -f "$DATA/pid" ]] && "$P" stop --data "$DATA" || true
  if [[ "$KEEP" == false ]]; then
    "$P" stream delete --nats "$NATS" --stream "$STREAM" >/dev/null || true
    "$P" teardown --db "$DB" || true
  fi
  (( rc == 0 )) && say "VERIFY PASSED" || say "VERIFY FAILED (rc=$rc); log: $DATA/server.log"
}
trap cleanup EXIT

say "install"
"$P" install >/dev/null
say "prepare $DB, fresh stream $STREAM"
"$P" stream delete --nats "$NATS" --stream "$STREAM"
"$P" prepare --db "$DB"
rm -rf "$DATA"

say "start (poll.interval.ms=$POLL, heap=$HEAP)"
start_out=$("$P" start --db "$DB" --nats "$NATS" --stream "$STREAM" --subject-prefix "$PREFIX" \
            --poll-interval-ms "$POLL" --http-port "$HTTP" --heap "$HEAP" --data "$DATA")
echo "$start_out"
ready_ms=${start_out#ready_ms=}
rss_ready=$(rss_kb)
sleep 5   # idle measurement window, not a readiness wait
rss_idle=$(rss_kb)
"$P" stream info --nats "$NATS" --stream "$STREAM"

say "load: 10,000 rows (6,000 in one tx, 20 tx x 100, 2,000 single-row tx)"
t0=$(now_ms)
q -f "$HERE/verify-load.sql" >/dev/null
t_loaded=$(now_ms)
"$P" stream wait --nats "$NATS" --stream "$STREAM" --expect 10000 --timeout-s 120
t_drained=$(now_ms)
rss_after=$(rss_kb); hwm=$(hwm_kb)
q -c "SELECT id FROM outbox" > "$DATA/ids.txt"

say "verify stream content against the outbox ids"
"$P" stream verify --nats "$NATS" --stream "$STREAM" --expect 10000 --ids "$DATA/ids.txt"
say "example messages"
"$P" stream show --nats "$NATS" --stream "$STREAM" --n 2

say "restart on the same offsets: stop (slot kept), 100 rows while down, start again"
"$P" stop --data "$DATA" --keep-slot
q -c "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
      SELECT gen_random_uuid(), 'order', 'late-' || g, 'Created', jsonb_build_object('n', g)
      FROM generate_series(1, 100) g"
restart_out=$("$P" start --db "$DB" --nats "$NATS" --stream "$STREAM" --subject-prefix "$PREFIX" \
              --poll-interval-ms "$POLL" --http-port "$HTTP" --heap "$HEAP" --data "$DATA")
echo "$restart_out"
"$P" stream wait --nats "$NATS" --stream "$STREAM" --expect 10100 --timeout-s 60
q -c "SELECT id FROM outbox" > "$DATA/ids.txt"
"$P" stream verify --nats "$NATS" --stream "$STREAM" --expect 10100 --ids "$DATA/ids.txt"
"$P" stop --data "$DATA"

say "figures"
cat <<EOF
ready_ms_first_start=$ready_ms
ready_ms_restart=${restart_out#ready_ms=}
rss_kb_at_ready=$rss_ready
rss_kb_idle_5s=$rss_idle
load_ms_psql=$(( t_loaded - t0 ))
commit_of_first_row_to_10000_in_stream_ms<=$(( t_drained - t0 ))
rss_kb_after_load=$rss_after
peak_rss_kb_vmhwm=$hwm
EOF
