package io.outboxkit.bench;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names of everything the harness creates. Each carries the harness's process id, so that a later
 * run can recognise what a killed run left behind (its pid no longer exists) and remove it, without
 * touching anything of a harness that still runs.
 */
record Names(long pid) {
  /** Any database, schema, slot, publication or stream the harness made: group 1 is the pid. */
  static final Pattern OWNED = Pattern.compile("(?i)^obkb(?:ench)?_?(\\d+)(?:_.*|[a-z].*)?$");

  /** Environment variable set on every child process; the sweeper finds orphans by it. */
  static final String OWNER_ENV = "OUTBOXKIT_BENCH_OWNER";

  static Names ofThisProcess() {
    return new Names(ProcessHandle.current().pid());
  }

  /** The harness's own database (outboxkit and raw limits), unless --database is given. */
  String database() {
    return "obkbench_" + pid;
  }

  /** The peer's database of run {@code run} (peer.sh prepare makes public.outbox there). */
  String peerDatabase(int run) {
    return "obkbench_" + pid + "_p" + run;
  }

  /** Schema of one run: {@code kind} is "k" (outboxkit) or "raw". */
  String schema(String kind, int run) {
    return "obkb_" + pid + "_" + kind + run;
  }

  /** Replication slot and publication of the relay in run {@code run}: {@code kind} "k", "km". */
  String slot(String kind, int run) {
    return "obkb_" + pid + "_" + kind + run;
  }

  /** JetStream stream: {@code kind} is "k", "p" or "raw". */
  String stream(String kind, int run) {
    return ("OBKB_" + pid + "_" + kind + run).toUpperCase(Locale.ROOT);
  }

  /** First subject token; the stream captures {@code prefix.>}. */
  String subjectPrefix(String kind, int run) {
    return "obkb" + pid + kind + run;
  }

  /** The pid in a name the harness made, or -1. */
  static long ownerPid(String name) {
    Matcher m = OWNED.matcher(name);
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  /** Whether the harness that made {@code name} is gone (its pid is not a live process). */
  static boolean orphaned(String name) {
    long pid = ownerPid(name);
    return pid > 0
        && pid != ProcessHandle.current().pid()
        && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
  }
}
