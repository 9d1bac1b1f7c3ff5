package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The status page's list of recent errors: bounded, newest first, repeats counted, cleaned. */
class RecentErrorsTest {
  @Test
  void newestFirstBoundedAndRepeatsCounted() {
    RecentErrors errors = new RecentErrors();
    for (int i = 0; i < RecentErrors.CAPACITY + 5; i++) {
      errors.add("relay", "failure " + i);
    }
    errors.add("publish", "timeout");
    errors.add("publish", "timeout");
    errors.add("publish", "timeout");
    List<RecentErrors.Entry> list = errors.list();
    assertThat(list).hasSize(RecentErrors.CAPACITY);
    assertThat(list.get(0).message()).isEqualTo("timeout");
    assertThat(list.get(0).count()).isEqualTo(3);
    assertThat(list.get(1).message()).isEqualTo("failure " + (RecentErrors.CAPACITY + 4));
    assertThat(list.get(1).count()).isEqualTo(1);
    // the same text from another source is another entry
    errors.add("relay", "timeout");
    assertThat(errors.list().get(0).source()).isEqualTo("relay");
    assertThat(errors.list().get(1).count()).isEqualTo(3);
  }

  @Test
  void credentialsInUrlsAreRedactedControlsReplacedAndLongTextsCut() {
    assertThat(RecentErrors.clean("cannot connect to nats://relay:s3cret@nats:4222 (refused)"))
        .isEqualTo("cannot connect to nats://***@nats:4222 (refused)")
        .doesNotContain("s3cret");
    assertThat(RecentErrors.clean("line one\r\nline two\u0000")).isEqualTo("line one  line two ");
    String emoji = "\uD83D\uDE00"; // one character, two chars
    String cut = RecentErrors.clean("x".repeat(RecentErrors.MAX_LENGTH - 1) + emoji + "tail");
    assertThat(cut).endsWith("…").hasSizeLessThanOrEqualTo(RecentErrors.MAX_LENGTH + 1);
    assertThat(Character.isHighSurrogate(cut.charAt(cut.length() - 2))).isFalse();
    assertThat(RecentErrors.clean(null)).isEqualTo("(no description)");
    assertThat(RecentErrors.clean("Zähler ⚡ ok")).isEqualTo("Zähler ⚡ ok");
  }
}
