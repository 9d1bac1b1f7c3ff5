package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.outboxkit.testing.Command;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The Prometheus alert rules (infra/prometheus/alerts.yml) and the Grafana dashboard
 * (infra/grafana/outboxkit-dashboard.json), checked by Prometheus's own promtool: the rules load,
 * each alert fires on the synthetic series of alerts-test.yml where it must and stays quiet where
 * it must not, and every dashboard query is valid PromQL.
 */
class AlertRulesTest {
  static final Path PROMETHEUS = Path.of("..", "infra", "prometheus");
  static final Path ALERTS = PROMETHEUS.resolve("alerts.yml");
  static final Path ALERTS_TEST = PROMETHEUS.resolve("alerts-test.yml");
  static final Path DASHBOARD = Path.of("..", "infra", "grafana", "outboxkit-dashboard.json");

  static Command promtool() {
    return Command.onPath(
        "promtool",
        "apt-get install prometheus (Debian's package brings promtool; .ci/run installs it)");
  }

  @Test
  void rulesPassPromtoolCheck() {
    Command.Result r = promtool().run(PROMETHEUS, "check", "rules", "alerts.yml");
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS: " + alertNames().size() + " rules found");
  }

  @Test
  void everyAlertBehavesOnItsSyntheticSeries() {
    Command.Result r = promtool().run(PROMETHEUS, "test", "rules", "alerts-test.yml");
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS");
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyAlertIsTestedFiringAndQuiet() throws IOException {
    Map<String, Object> tests = new Yaml().load(Files.readString(ALERTS_TEST));
    assertThat((List<String>) tests.get("rule_files")).containsExactly("alerts.yml");
    Set<String> fires = new TreeSet<>();
    Set<String> quiet = new TreeSet<>();
    for (Map<String, Object> test : (List<Map<String, Object>>) tests.get("tests")) {
      for (Map<String, Object> check : (List<Map<String, Object>>) test.get("alert_rule_test")) {
        List<?> expected = (List<?>) check.get("exp_alerts");
        (expected == null || expected.isEmpty() ? quiet : fires)
            .add((String) check.get("alertname"));
      }
    }
    assertThat(fires).as("alerts with a case where they fire").isEqualTo(alertNames());
    assertThat(quiet).as("alerts with a case where they stay quiet").isEqualTo(alertNames());
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyAlertHasASeverityAndASummary() {
    for (Map<String, Object> rule : rules()) {
      assertThat(rule)
          .as(rule.get("alert").toString())
          .containsKeys("expr", "labels", "annotations");
      assertThat((Map<String, Object>) rule.get("labels")).containsKey("severity");
      assertThat((Map<String, Object>) rule.get("annotations")).containsKey("summary");
    }
  }

  @Test
  void dashboardQueriesAreValidPromQl(@TempDir Path dir) throws IOException {
    Map<String, String> queries = dashboardQueries();
    assertThat(queries).hasSizeGreaterThan(20);
    // Each query becomes a recording rule, so promtool parses it as Prometheus would; Grafana's
    // variables get values first.
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    for (Map.Entry<String, String> q : queries.entrySet()) {
      String expr =
          q.getValue()
              .replace("$__rate_interval", "5m")
              .replace("$job", ".*")
              .replace("$consumer", ".*");
      assertThat(expr).as(q.getKey() + " uses only known variables").doesNotContain("$");
      rules
          .append("      - record: ")
          .append(q.getKey())
          .append("\n        expr: ")
          .append(new ObjectMapper().writeValueAsString(expr))
          .append('\n');
    }
    Files.writeString(dir.resolve("dashboard-rules.yml"), rules);
    Command.Result r = promtool().run(dir, "check", "rules", "dashboard-rules.yml");
    assertThat(r.exitCode()).as(r.output() + "\n" + rules).isZero();
  }

  @Test
  void dashboardPanelsAreLaidOutAndDescribed() throws IOException {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    assertThat(dashboard.path("uid").asText()).isEqualTo("outboxkit");
    Set<Integer> ids = new HashSet<>();
    for (JsonNode panel : dashboard.path("panels")) {
      assertThat(ids.add(panel.path("id").asInt())).as("unique id " + panel.path("id")).isTrue();
      JsonNode grid = panel.path("gridPos");
      assertThat(grid.path("x").asInt() + grid.path("w").asInt())
          .as(panel.path("title").asText() + " fits the 24 columns")
          .isLessThanOrEqualTo(24);
      if (!panel.path("type").asText().equals("row")) {
        assertThat(panel.path("description").asText())
            .as(panel.path("title").asText())
            .isNotBlank();
        assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
      }
    }
  }

  /** Every target of every panel: {@code dashboard:panel_<id>_<refId>} → its query. */
  static Map<String, String> dashboardQueries() throws IOException {
    Map<String, String> queries = new LinkedHashMap<>();
    for (JsonNode panel : new ObjectMapper().readTree(DASHBOARD.toFile()).path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        queries.put(
            "dashboard:panel_" + panel.path("id").asInt() + "_" + target.path("refId").asText(),
            target.path("expr").asText());
      }
    }
    return queries;
  }

  /** The expression of every alert rule. */
  static List<String> alertExpressions() {
    List<String> exprs = new ArrayList<>();
    for (Map<String, Object> rule : rules()) {
      exprs.add((String) rule.get("expr"));
    }
    return exprs;
  }

  static Set<String> alertNames() {
    Set<String> names = new TreeSet<>();
    for (Map<String, Object> rule : rules()) {
      names.add((String) rule.get("alert"));
    }
    return names;
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> rules() {
    try {
      Map<String, Object> file = new Yaml().load(Files.readString(ALERTS));
      List<Map<String, Object>> rules = new ArrayList<>();
      for (Map<String, Object> group : (List<Map<String, Object>>) file.get("groups")) {
        rules.addAll((List<Map<String, Object>>) group.get("rules"));
      }
      return rules;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
