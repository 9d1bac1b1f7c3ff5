package io.outboxkit.relay;

import io.nats.client.Options;
import io.nats.client.impl.SocketDataPortWithWriteTimeout;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * The relay's NATS socket, fenced: before any bytes go to the server, it asks the relay's lease
 * ({@link Leadership#confirm()}); when the lease is over, the write fails and the connection closes
 * (it never reconnects), so what the NATS client still buffered is dropped instead of being sent.
 * This matters for a relay that was frozen (SIGSTOP, a VM pause): its client's buffer would
 * otherwise reach the stream when it wakes, after the new leader's messages, and later than the
 * stream's duplicate window can catch. It keeps the client's socket write timeout. Public only
 * because the NATS client creates it by class name ({@code Options.Builder.dataPortType}); the
 * fence is looked up by connection name.
 */
public final class FencedDataPort extends SocketDataPortWithWriteTimeout {
  private static final Map<String, BooleanSupplier> FENCES = new ConcurrentHashMap<>();

  private volatile BooleanSupplier fence = () -> true;

  public FencedDataPort() {}

  /** The fence of the connections named {@code connectionName}. */
  static void register(String connectionName, BooleanSupplier fence) {
    FENCES.put(connectionName, fence);
  }

  private void fenceFor(Options options) {
    if (options != null && options.getConnectionName() != null) {
      fence = FENCES.getOrDefault(options.getConnectionName(), () -> true);
    }
  }

  /** Called by the NATS client with the connection's options, before it connects. */
  @Override
  public void afterConstruct(Options options) {
    super.afterConstruct(options);
    fenceFor(options);
  }

  @Override
  public void write(byte[] src, int toWrite) throws IOException {
    if (!fence.getAsBoolean()) {
      throw new IOException("this relay's lease on the slot is over: nothing more goes to NATS");
    }
    super.write(src, toWrite);
  }
}
