package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The plain SQL file (io/outboxkit/sql/outbox.sql) is the Flyway migration with the placeholders
 * filled in for public.outbox, statement for statement: a change to the migration that is not made
 * to the file fails here. (PlainOutboxSqlIT applies both and compares the catalogs.)
 */
class PlainOutboxSqlTest {

  @Test
  void plainFileIsTheMigrationForPublicOutbox() throws IOException {
    String migration = resource("io/outboxkit/migration/outbox/V1__outbox.sql");
    String plain = resource("io/outboxkit/sql/outbox.sql");
    assertThat(migration).contains("${schema}", "${table}");
    assertThat(plain).doesNotContain("${");
    assertThat(afterHeader(plain))
        .as("outbox.sql after its header comment; regenerate it from V1__outbox.sql")
        .isEqualTo(
            afterHeader(migration).replace("${schema}", "public").replace("${table}", "outbox"));
  }

  /** The text after the file's first paragraph (its header comment). */
  private static String afterHeader(String sql) {
    int end = sql.indexOf("\n\n");
    assertThat(end).as("a header paragraph").isPositive();
    assertThat(sql.substring(0, end).lines()).allMatch(line -> line.startsWith("--"));
    return sql.substring(end + 2);
  }

  private static String resource(String path) throws IOException {
    try (InputStream in = PlainOutboxSqlTest.class.getClassLoader().getResourceAsStream(path)) {
      assertThat(in).as(path).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
