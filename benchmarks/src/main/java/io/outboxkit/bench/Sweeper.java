package io.outboxkit.bench;

import io.nats.client.JetStreamManagement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes what an earlier harness left behind when it was killed (kill -9, power loss): processes
 * carrying its {@link Names#OWNER_ENV}, databases, slots, publications, schemas and streams named
 * after its pid. Only things whose harness process no longer exists are touched.
 */
final class Sweeper {
  private static final Logger log = LoggerFactory.getLogger("bench");

  private Sweeper() {}

  static void sweep(PgAdmin admin, JetStreamManagement jsm, String workDatabase) {
    processes();
    for (String db : admin.databases()) {
      if (db.startsWith("obkbench_") && Names.orphaned(db)) {
        log.info("removing database {} left by an earlier run", db);
        admin.dropDatabase(db);
      }
    }
    for (String slot : admin.slots()) {
      if (slot.startsWith("obkb") && Names.orphaned(slot)) {
        log.info("removing replication slot {} left by an earlier run", slot);
        admin.dropSlot(slot);
      }
    }
    if (workDatabase != null) {
      for (String pub : admin.strings(workDatabase, "SELECT pubname FROM pg_publication")) {
        if (pub.startsWith("obkb") && Names.orphaned(pub)) {
          admin.dropPublication(workDatabase, pub);
        }
      }
      for (String schema :
          admin.strings(
              workDatabase, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'obkb%'")) {
        if (Names.orphaned(schema)) {
          log.info("removing schema {} left by an earlier run", schema);
          admin.dropSchema(workDatabase, schema);
        }
      }
    }
    for (String stream : Streams.names(jsm)) {
      if (stream.startsWith("OBKB_") && Names.orphaned(stream)) {
        log.info("removing stream {} left by an earlier run", stream);
        Streams.delete(jsm, stream);
      }
    }
  }

  /** Relays and peers started by a harness that is gone. */
  private static void processes() {
    String me = Long.toString(ProcessHandle.current().pid());
    List<ProcessHandle> all = ProcessHandle.allProcesses().toList();
    for (ProcessHandle p : all) {
      String owner = owner(p.pid());
      if (owner == null || owner.equals(me)) {
        continue;
      }
      boolean ownerAlive =
          ProcessHandle.of(Long.parseLong(owner)).map(ProcessHandle::isAlive).orElse(false);
      if (!ownerAlive) {
        log.info(
            "stopping pid {} ({}) left by an earlier run (harness pid {})",
            p.pid(),
            p.info().command().orElse("?"),
            owner);
        p.destroy();
        try {
          p.onExit().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
          p.destroyForcibly();
        }
      }
    }
  }

  private static String owner(long pid) {
    try {
      byte[] env = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
      String key = Names.OWNER_ENV + "=";
      for (String kv : new String(env, java.nio.charset.StandardCharsets.UTF_8).split("\0")) {
        if (kv.startsWith(key) && kv.substring(key.length()).matches("\\d+")) {
          return kv.substring(key.length());
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone, or not ours to read
    }
    return null;
  }
}
