#!/usr/bin/env bash
# Soak variant of InterleavedCrashIT (issue 9 item 3), outside CI: eight writers with interleaving
# multi-statement transactions, the relay killed with SIGKILL at random moments KILLS times (default
# 100) and restarted each time; then every committed id must be in the stream exactly once.
#
#   outbox-relay/soak/interleaved-kills.sh [KILLS]
#
# Servers as for ./mvnw verify (OUTBOXKIT_PG_URL / OUTBOXKIT_NATS_URL, else local binaries).
# SOAK_MAVEN_ARGS adds Maven flags (e.g. -o offline). Prints one line:
#   kills=… events=… lost=… duplicated=… rolledBackPublished=… …
# and exits with the test's status. The full Maven log is kept; its path is printed.
set -euo pipefail

kills="${1:-100}"
if ! [[ "$kills" =~ ^[0-9]+$ ]] || (( kills < 1 )); then
  echo "usage: $0 [KILLS]   (KILLS: a positive number, default 100)" >&2
  exit 64
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
log="$(mktemp -t interleaved-kills.XXXXXX.log)"
started=$(date +%s)
echo "soak: InterleavedCrashIT with $kills kills; log: $log"

status=0
# shellcheck disable=SC2086 # SOAK_MAVEN_ARGS is a list of flags
(cd "$root" && ./mvnw -B ${SOAK_MAVEN_ARGS:-} -pl outbox-relay -am verify \
  -Dit.test=InterleavedCrashIT -Dinterleaved.kills="$kills" \
  -Dtest=None -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false \
  -Dspotless.check.skip=true) >"$log" 2>&1 || status=$?

line="$(grep -a '^INTERLEAVED-CRASH ' "$log" | tail -n 1 || true)"
if [[ -z "$line" ]]; then
  echo "soak: no result line (the test did not get to the end); tail of the log:" >&2
  tail -n 60 "$log" >&2
  exit "$(( status == 0 ? 1 : status ))"
fi
echo "soak: ${line#INTERLEAVED-CRASH } wallSeconds=$(( $(date +%s) - started ))"
if (( status != 0 )); then
  echo "soak: FAILED (exit $status); failures:" >&2
  grep -a -A3 '<<< FAILURE\|AssertionError' "$log" | head -n 40 >&2 || true
fi
exit "$status"
