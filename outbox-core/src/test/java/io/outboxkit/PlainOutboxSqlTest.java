package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The plain SQL file (io/outboxkit/sql/outbox.sql) is the Flyway migration with the placeholders
 * filled in for public.outbox, statement for statement: a change to the migration that is not made
 * to the file fails here. (PlainOutboxSqlIT applies both and compares the catalogs.)
 */
class PlainOutboxSqlTest {
  static final Path MIGRATIONS = Path.of("src/main/resources/io/outboxkit/migration/outbox");

  @Test
  void plainFileIsTheMigrationsForPublicOutbox() throws IOException {
    // Every migration in version order: the first without its header comment, the rest whole.
    List<Path> migrations;
    try (Stream<Path> files = Files.list(MIGRATIONS)) {
      migrations =
          files
              .filter(f -> f.getFileName().toString().matches("V\\d+__.*\\.sql"))
              .sorted(Comparator.comparingInt(PlainOutboxSqlTest::version))
              .toList();
    }
    assertThat(migrations).hasSizeGreaterThanOrEqualTo(2);
    StringBuilder expected = new StringBuilder();
    for (Path migration : migrations) {
      String sql = Files.readString(migration, StandardCharsets.UTF_8);
      expected.append(expected.length() == 0 ? afterHeader(sql) : "\n" + sql);
    }
    String plain = resource("io/outboxkit/sql/outbox.sql");
    assertThat(plain).doesNotContain("${");
    assertThat(afterHeader(plain))
        .as("outbox.sql after its header comment; regenerate it from " + migrations)
        .isEqualTo(
            expected.toString().replace("${schema}", "public").replace("${table}", "outbox"));
  }

  private static int version(Path migration) {
    String name = migration.getFileName().toString();
    return Integer.parseInt(name.substring(1, name.indexOf("__")));
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
