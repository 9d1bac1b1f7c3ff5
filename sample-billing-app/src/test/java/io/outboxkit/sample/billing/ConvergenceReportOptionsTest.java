package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConvergenceReportOptionsTest {

  @Test
  void defaultsAndTheDemosCommandLine() {
    ConvergenceReport.Options d = ConvergenceReport.parse();
    assertThat(d.meterUrl).isEqualTo(URI.create("http://127.0.0.1:8080"));
    assertThat(d.billingUrl).isEqualTo(URI.create("http://127.0.0.1:8081"));
    assertThat(d.timeout).isEqualTo(Duration.ofSeconds(120));

    ConvergenceReport.Options o =
        ConvergenceReport.parse(
            "--meter-url", "http://127.0.0.1:28080",
            "--billing-url", "http://127.0.0.1:28081",
            "--timeout", "180s");
    assertThat(o.meterUrl.getPort()).isEqualTo(28080);
    assertThat(o.billingUrl.getPort()).isEqualTo(28081);
    assertThat(o.timeout).isEqualTo(Duration.ofSeconds(180));
    assertThat(ConvergenceReport.parse("--timeout=90").timeout).isEqualTo(Duration.ofSeconds(90));
    assertThat(ConvergenceReport.parse("--timeout", "PT2M").timeout)
        .isEqualTo(Duration.ofMinutes(2));
    assertThat(ConvergenceReport.parse("--help")).isNull();
  }

  @Test
  void errorsNameTheOption() {
    assertThatThrownBy(() -> ConvergenceReport.parse("--timeoutt", "1s"))
        .hasMessageContaining("--timeoutt");
    assertThatThrownBy(() -> ConvergenceReport.parse("--timeout", "soon"))
        .hasMessageContaining("--timeout")
        .hasMessageContaining("soon");
    assertThatThrownBy(() -> ConvergenceReport.parse("--meter-url"))
        .hasMessageContaining("--meter-url");
  }
}
