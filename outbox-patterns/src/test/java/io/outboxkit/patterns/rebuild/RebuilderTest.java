package io.outboxkit.patterns.rebuild;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.OutboxException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RebuilderTest {

  @Test
  void buildNamesEverySettingThatIsMissingOrWrong() {
    assertThatThrownBy(
            () ->
                Rebuilder.builder().model("Bills-v2").tables("bill usage").stream("OUT.BOX")
                    .filterSubject("a..b")
                    .handoverLag(-1)
                    .handoverTimeout(Duration.ofMillis(10))
                    .build())
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("model is 'Bills-v2'")
        .hasMessageContaining("table 'bill usage'")
        .hasMessageContaining("handler is missing")
        .hasMessageContaining("liveConsumer is 'null'")
        .hasMessageContaining("pauseLive and resumeLive are required")
        .hasMessageContaining("jdbi is missing")
        .hasMessageContaining("connection is missing")
        .hasMessageContaining("stream is 'OUT.BOX'")
        .hasMessageContaining("filterSubject 'a..b'")
        .hasMessageContaining("handoverLag is -1")
        .hasMessageContaining("handoverTimeout is PT0.01S");
  }

  @Test
  void theShadowAndRetiredSchemasAndTheRebuildConsumersAreNamedAfterTheModel() {
    RebuildSettings s =
        new RebuildSettings(
            "bills", null, "public", null, "billing", null, null, null, null, "OUTBOX", null, null,
            null, 0, null, null);
    assertThat(s.shadowSchema()).isEqualTo("outboxkit_rebuild_bills");
    assertThat(s.retiredSchema()).isEqualTo("outboxkit_retired_bills");
    assertThat(s.consumerPrefix()).isEqualTo("billing-rebuild-");
  }

  @Test
  void anUnusedRebuilderIsIdle() {
    assertThat(RebuildProgress.Phase.IDLE.ended()).isTrue();
    assertThat(RebuildProgress.Phase.BUILDING.ended()).isFalse();
    assertThat(RebuildProgress.Phase.DONE.ended()).isTrue();
  }
}
