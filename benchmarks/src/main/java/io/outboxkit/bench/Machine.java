package io.outboxkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Facts about the machine and the versions under test, for the report's header. */
final class Machine {
  private Machine() {}

  static Map<String, Object> describe(String pgVersion, String natsVersion) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpus", Runtime.getRuntime().availableProcessors());
    m.put("cpu_model", firstValue("/proc/cpuinfo", "model name"));
    m.put("memory", firstValue("/proc/meminfo", "MemTotal"));
    m.put("kernel", read("/proc/sys/kernel/osrelease"));
    m.put("load_average_at_start", read("/proc/loadavg"));
    m.put("postgresql", pgVersion);
    m.put("nats_server", natsVersion);
    m.put(
        "java_relay_and_harness",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("debezium", "3.6.1.Final (embedded in outbox-relay; Debezium Server for the peer)");
    return m;
  }

  private static String read(String path) {
    try {
      return Files.readString(Path.of(path)).trim();
    } catch (IOException e) {
      return "?";
    }
  }

  private static String firstValue(String path, String key) {
    try {
      for (String line : Files.readAllLines(Path.of(path))) {
        if (line.startsWith(key)) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // below
    }
    return "?";
  }
}
