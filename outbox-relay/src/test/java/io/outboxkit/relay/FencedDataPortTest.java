package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nats.client.Options;
import io.nats.client.impl.DataPort;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class FencedDataPortTest {
  @Test
  void theNatsClientBuildsItWithTheFenceOfItsConnectionNameAndAClosedFenceStopsEveryWrite() {
    FencedDataPort.register("fenced-data-port-test", () -> false);
    DataPort port =
        new Options.Builder()
            .connectionName("fenced-data-port-test")
            .dataPortType(FencedDataPort.class.getName())
            .build()
            .buildDataPort();
    assertThatThrownBy(() -> port.write(new byte[] {'P', 'U', 'B'}, 3))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("lease on the slot is over");
  }
}
