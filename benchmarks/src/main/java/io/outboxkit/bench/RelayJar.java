package io.outboxkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipFile;

/** What the relay jar under test can do, read from its entries. */
final class RelayJar {
  /** outbox-core's envelope of WAL-message events; a relay that relays messages carries it. */
  static final String ENVELOPE_CLASS = "io/outboxkit/OutboxEnvelope.class";

  private RelayJar() {}

  /**
   * Whether the relay at {@code jar} relays WAL-message events (message mode). A jar that is not
   * there yet counts as able: the run stops at its start anyway, naming the missing jar.
   */
  static boolean relaysMessages(Path jar) {
    if (!Files.isRegularFile(jar)) {
      return true;
    }
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      return zip.getEntry(ENVELOPE_CLASS) != null;
    } catch (IOException e) {
      throw new BenchException("cannot read the relay jar " + jar + ": " + e.getMessage(), e);
    }
  }
}
